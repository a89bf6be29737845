"""The verdicts in a real browser, on data whose answer is known (tests/tables.py): spend and
churn share a signal, satisfaction stands apart, lucky_number is noise. Trained from the
Train page with MMoE + UPGrad and baselines, every task shows its interval, lucky_number is
unlearnable, no card contradicts a measured gain, and the sweep puts spend with churn and
lucky_number alone."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from mtl_core.runs import RunStore
from tests.e2e.conftest import screenshot, wait_idle
from tests.tables import CUSTOMER_TASKS, customers_csv

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FINISHED = re.compile(r"Run (\S+): completed")
INTERVAL = re.compile(r"[+-]\d+\.\d% \[[+-]\d+\.\d%, [+-]\d+\.\d%\]")


def nav(page, name: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    wait_idle(page)


def test_customers_verdicts_and_grouping_from_the_browser(
    app_url, runs_dir, page, tmp_path_factory
):
    source = customers_csv(tmp_path_factory.mktemp("customers"))
    tasks = ",".join(t["name"] for t in CUSTOMER_TASKS)
    page.goto(f"{app_url}/?source={quote(str(source))}&tasks={tasks}&arch=mmoe&weighting=upgrad")
    wait_idle(page)
    sidebar = page.get_by_test_id("stSidebarUserContent")
    expect(sidebar).to_contain_text("Tasks: spend, churn", timeout=120_000)
    nav(page, "Train")
    train = page.get_by_role("button", name="Train", exact=True)
    expect(train).to_be_enabled(timeout=120_000)
    expect(sidebar).to_contain_text("Architecture: mmoe")
    train.click()
    done = page.get_by_text(FINISHED)
    expect(done).to_be_visible(timeout=600_000)
    run_id = FINISHED.search(done.inner_text()).group(1)
    summary = RunStore(runs_dir).get_run(run_id)["summary"]
    verdicts = {name: task["verdict"] for name, task in summary["tasks"].items()}
    assert verdicts["lucky_number"] == "unlearnable"
    assert verdicts["spend"] in ("helped", "no detectable difference")
    assert verdicts["churn"] in ("helped", "no detectable difference")
    page.get_by_text("Why these verdicts").click()
    for name, verdict in verdicts.items():
        expect(page.get_by_text(f"{name}: {verdict}: ", exact=False).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Δm [+-]\d"))).to_be_visible()
    screenshot(page, "train-verdicts")

    nav(page, "Affinity")
    expect(page.get_by_text("What was measured")).to_be_visible(timeout=120_000)
    measured = page.get_by_test_id("stMain").inner_text()
    assert len(INTERVAL.findall(measured)) >= len(CUSTOMER_TASKS)  # every delta, interval
    helped = [name for name, verdict in verdicts.items() if verdict == "helped"]
    for name in helped:  # no card advises against a measured gain
        for card in page.get_by_test_id("stAlert").all():
            text = card.inner_text()
            assert not (f"'{name}'" in text and text.startswith("signal")), text
    screenshot(page, "affinity-verdicts")

    page.get_by_role("button", name="Start sweep").click()
    suggestion = page.get_by_text(re.compile(r"^Suggested from the sweep: "))
    expect(page.get_by_text(re.compile(r"Sweep finished: 10/10 runs"))).to_be_visible(
        timeout=900_000
    )
    text = suggestion.inner_text()
    shown = re.split(r"\s+\(score", text.split(": ", 1)[1])[0]  # the page collapses spaces
    groups = [set(re.split(r"\s+\+\s+", g.strip())) for g in re.split(r"\s+\|\s+", shown)]
    assert {"lucky_number"} in groups
    assert any({"spend", "churn"} <= group for group in groups), text
    screenshot(page, "affinity-sweep")
