"""The whole flow in a real browser: data -> model -> train -> stop -> runs -> affinity ->
explain, with a screenshot of every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, wait_idle

pytestmark = pytest.mark.browser


def goto(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    wait_idle(page)
    expect(page.get_by_role("heading", name=title, exact=True).first).to_be_visible()


def test_every_page_renders_without_an_exception(app_url, page):
    page.goto(app_url)
    wait_idle(page)
    for title in ["Data", "Model", "Train", "Affinity", "Explain", "Runs", "Lessons"]:
        goto(page, title)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        screenshot(page, f"page-{title.lower()}")


def test_train_from_the_browser_then_find_the_run_after_a_reload(app_url, page):
    page.goto(f"{app_url}/?epochs=8")  # a shared link: the default setup with fewer epochs
    wait_idle(page)
    goto(page, "Train")
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text(re.compile(r"Run .*: completed"))).to_be_visible(timeout=180_000)
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    screenshot(page, "train-finished")
    table_text = page.get_by_test_id("stDataFrame").first.inner_text()
    assert "species" in table_text or page.get_by_test_id("stDataFrame").count() > 0

    page.reload()
    wait_idle(page)
    goto(page, "Runs")
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    screenshot(page, "runs-after-reload")
