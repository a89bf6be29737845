"""The roles table of the Data page as data: building it from a report and a config, and
turning edits back into config fields, including the page under streamlit.testing."""

from __future__ import annotations

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from mtl_core.config import config_from_dict
from mtl_core.data.editing import apply_roles_table, roles_table
from mtl_core.data.inspect import inspect_source
from tests.conftest import REPO


def _penguins():
    data = {
        "source": "sample_data/penguins",
        "tasks": [
            {"name": "species", "column": "species"},
            {"name": "mass", "column": "body_mass_g", "kind": "regression", "weight": 2.0},
        ],
    }
    return inspect_source("sample_data/penguins"), data


def test_an_unedited_table_gives_back_the_same_config():
    report, data = _penguins()
    fields = apply_roles_table(roles_table(report, data), report, data)
    assert fields["tasks"] == data["tasks"]
    assert fields["inputs"] == "auto" and fields["ignore"] == [] and fields["column_types"] == {}


def test_edits_become_config_fields_that_validate():
    report, data = _penguins()
    rows = roles_table(report, data)
    by = {r["column"]: r for r in rows}
    by["sex"].update(role="target", **{"task kind": "binary"})
    by["island"]["role"] = "ignore"
    by["year"]["type"] = "categorical"
    by["species"]["role"] = "input"
    fields = apply_roles_table(rows, report, data)
    assert [t["name"] for t in fields["tasks"]] == ["mass", "sex"]
    assert fields["tasks"][0]["weight"] == 2.0 and fields["tasks"][1]["kind"] == "binary"
    assert fields["ignore"] == ["island"] and fields["column_types"] == {"year": "categorical"}
    config = config_from_dict({"data": {**data, **fields}})
    assert config.data.ignore == ["island"]


def test_an_ignored_column_made_an_input_lists_inputs(tmp_path):
    n = 60
    pd.DataFrame(
        {
            "row_id": np.arange(n),
            "x": np.random.default_rng(0).normal(size=n),
            "y": np.arange(n) % 2,
        }
    ).to_csv(tmp_path / "t.csv", index=False)
    report = inspect_source(str(tmp_path / "t.csv"))
    data = {"source": str(tmp_path / "t.csv"), "tasks": [{"name": "y", "column": "y"}]}
    rows = roles_table(report, data)
    next(r for r in rows if r["column"] == "row_id")["role"] = "input"
    assert apply_roles_table(rows, report, data)["inputs"] == ["row_id", "x"]


def _data_page(source_kind: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.radio(key="source_kind").set_value(source_kind).run()
    return at


def test_page_shows_roles_and_task_statistics_for_a_local_csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 80
    pd.DataFrame(
        {"x": rng.normal(size=n), "a": rng.choice(["p", "q"], n), "b": rng.normal(size=n)}
    ).to_csv(tmp_path / "t.csv", index=False)
    at = _data_page("Local file or folder")
    at.text_input(key="local_path").input(str(tmp_path / "t.csv")).run()
    assert not at.exception and not at.error
    assert at.warning and "Mark at least one column" in at.warning[0].value
    at.session_state.experiment["data"]["tasks"] = [
        {"name": "a", "column": "a"},
        {"name": "b", "column": "b"},
    ]
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Input: **tabular**" in " ".join(m.value for m in at.markdown)


def test_page_says_the_hub_cannot_be_reached_offline():
    at = _data_page("Hugging Face hub")
    at.text_input(key="hub_id").input("someone/no-such-dataset").run()
    assert not at.exception
    assert any("cannot reach the Hugging Face hub" in e.value for e in at.error)


def test_page_reports_a_bad_file(tmp_path):
    (tmp_path / "semi.csv").write_text("a;b;c\n1;2;3\n4;5;6\n")
    at = _data_page("Local file or folder")
    at.text_input(key="local_path").input(str(tmp_path / "semi.csv")).run()
    assert not at.exception
    assert any("semicolons" in e.value for e in at.error)
