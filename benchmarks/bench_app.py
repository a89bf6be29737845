"""App responsiveness in headless Chromium: start until the first page is interactive, a
page switch, and a rerun of the Data page with its dataset cached. Each is reported in
seconds and as a ratio against the same action on a two-page reference Streamlit app served
the same way in the same run.

Run: `python benchmarks/bench_app.py` or `python -m mtl_core bench app`."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REFERENCE_APP = """
import streamlit as st
def one():
    st.title("Data")
    st.toggle("Teacher mode (hide advanced controls)", key="teacher")
def two():
    st.title("Model")
st.navigation([st.Page(one, title="Data", default=True), st.Page(two, title="Model")]).run()
"""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(script: Path, cwd: Path, env: dict) -> tuple[subprocess.Popen, str]:
    port = _port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                return server, url
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("server did not start")


def _idle(page) -> None:
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000
    )


def _measure(browser, script: Path, cwd: Path, env: dict) -> dict[str, float]:
    started = time.perf_counter()
    server, url = _serve(script, cwd, env)
    try:
        page = browser.new_page()
        page.goto(url)
        page.get_by_role("heading", name="Data").first.wait_for(timeout=120_000)
        _idle(page)
        start = time.perf_counter() - started

        began = time.perf_counter()
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Model").click()
        page.get_by_role("heading", name="Model").first.wait_for(timeout=60_000)
        _idle(page)
        switch = time.perf_counter() - began

        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Data").click()
        page.get_by_role("heading", name="Data").first.wait_for(timeout=60_000)
        _idle(page)
        began = time.perf_counter()
        page.get_by_text("Teacher mode (hide advanced controls)").click()
        page.wait_for_timeout(50)
        _idle(page)
        rerun = time.perf_counter() - began
        page.close()
        return {"start_s": start, "page_switch_s": switch, "rerun_s": rerun}
    finally:
        server.terminate()
        server.wait(timeout=10)


def run(quick: bool = False) -> dict:
    chromium = shutil.which("chromium")
    if chromium is None:
        return {"skipped": "Debian's chromium is not installed"}
    from playwright.sync_api import sync_playwright

    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "MTL_RUNS_DIR": tempfile.mkdtemp(prefix="bench-app-runs-"),
    }
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        reference_script = Path(folder) / "reference_app.py"
        reference_script.write_text(REFERENCE_APP)
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        reference = _measure(browser, reference_script, Path(folder), env)
        app = _measure(browser, REPO / "app.py", REPO, env)
        browser.close()
    result = {f"app_{k}": round(v, 2) for k, v in app.items()}
    result |= {f"reference_{k}": round(v, 2) for k, v in reference.items()}
    result |= {f"{k.removesuffix('_s')}_ratio": round(app[k] / reference[k], 2) for k in app}
    return result


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
