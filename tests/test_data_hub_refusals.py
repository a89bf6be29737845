"""The hub's refusals reach the user as one line each. A local stand-in answers the hub's
HTTP requests the way the hub refuses them (status code plus `X-Error-Code`), and the real
`datasets` and `huggingface_hub` stack sits between it and the CLI, run as a user runs it:
a gated dataset, a revision that does not exist and an unknown dataset, for `inspect` and
for `train` (a config's `data.revision`)."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading

import pytest
import yaml

from mtl_core.data.sources import load_source
from mtl_core.errors import UserError
from tests.conftest import REPO


class _RefusingHub(http.server.BaseHTTPRequestHandler):
    """401 GatedRepo for datasets named `gated`, 404 RevisionNotFound for revision `nope`,
    404 RepoNotFound for anything else."""

    requests: list[str] = []

    def _refuse(self) -> None:
        type(self).requests.append(self.path)
        if "/gated/" in self.path:
            status, code = 401, "GatedRepo"
        elif "/resolve/nope/" in self.path or "/revision/nope" in self.path:
            status, code = 404, "RevisionNotFound"
        else:
            status, code = 404, "RepoNotFound"
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = _refuse

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def hub_endpoint(tmp_path_factory):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RefusingHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path_factory.mktemp("hf_home")
    server.shutdown()


def _cli(hub_endpoint, *args, cwd=REPO):
    endpoint, home = hub_endpoint
    env = {
        **os.environ,
        "HF_ENDPOINT": endpoint,
        "HF_HUB_OFFLINE": "0",
        "HF_DATASETS_OFFLINE": "0",
        "HF_HOME": str(home),
    }
    return subprocess.run(
        [sys.executable, "-m", "mtl_core", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["owner/gated"],
            "error: 'owner/gated' is a gated dataset: accept its terms on its page "
            "on the hub, then log in here with `hf auth login`",
        ),
        (
            ["owner/data", "--revision", "nope"],
            "error: 'owner/data' has no revision 'nope' on the "
            "Hugging Face hub: check the branch, tag or commit",
        ),
        (
            ["owner/missing"],
            "error: 'owner/missing' is neither a local file or folder nor a dataset "
            "on the Hugging Face hub",
        ),
    ],
)
@pytest.mark.slow
def test_inspect_names_each_refusal_in_one_line(hub_endpoint, args, message):
    _RefusingHub.requests.clear()
    done = _cli(hub_endpoint, "inspect", *args)
    assert done.returncode == 2
    assert done.stderr.startswith(message), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert _RefusingHub.requests, "the stand-in hub was asked"


@pytest.mark.slow
def test_train_asks_the_hub_for_the_configs_revision(hub_endpoint, tmp_path):
    config = {
        "data": {
            "source": "owner/data",
            "revision": "nope",
            "tasks": [{"name": "y", "column": "y"}],
        },
        "train": {"epochs": 1, "device": "cpu", "baselines": False},
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(config))
    _RefusingHub.requests.clear()
    done = _cli(hub_endpoint, "train", str(path), "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 2, done.stderr
    assert "has no revision 'nope'" in done.stderr and "Traceback" not in done.stderr
    assert any("/nope/" in path for path in _RefusingHub.requests)


@pytest.mark.parametrize("source", ["sample_data/penguins", str(REPO / "examples/penguins.yaml")])
def test_a_revision_of_a_local_source_is_refused(source):
    with pytest.raises(UserError, match="only applies to datasets on the Hugging Face hub"):
        load_source(source, revision="v1")
