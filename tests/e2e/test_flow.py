"""The whole flow in a real browser: every page renders; train from the Train page, check
the numbers against the store, look at Affinity and Explain for that run, reload and find it
in Runs; press Stop during a run. Screenshots of every page go to artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mtl_core.runs import RunStore
from tests.e2e.conftest import screenshot, wait_idle

pytestmark = pytest.mark.browser
FINISHED = re.compile(r"Run (\S+): (completed|stopped)")


def goto(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    wait_idle(page)
    expect(page.get_by_role("heading", name=title, exact=True).first).to_be_visible()


def click_unit_cell(page, row: int, column: int) -> str:
    """Click a cell of the Explain page's unit heatmap; -> the unit label under the cursor,
    read from the figure the browser holds."""
    chart = page.get_by_test_id("stPlotlyChart").first
    chart.scroll_into_view_if_needed()
    figure = chart.locator(".js-plotly-plot").first
    rows = figure.evaluate("plot => plot.data[0].y")
    labels = figure.evaluate("plot => plot.data[0].x")
    area = chart.locator(".nsewdrag").first.bounding_box()
    page.mouse.click(
        area["x"] + (column + 0.5) * area["width"] / len(labels),
        area["y"] + (row + 0.5) * area["height"] / len(rows),
    )
    wait_idle(page)
    return labels[column]


def test_every_page_renders_without_an_exception(app_url, page):
    page.goto(app_url)
    wait_idle(page)
    for title in ["Data", "Model", "Train", "Affinity", "Explain", "Runs", "Lessons"]:
        goto(page, title)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        screenshot(page, f"page-{title.lower()}")


def test_train_check_numbers_analyse_and_find_the_run_after_a_reload(app_url, runs_dir, page):
    page.goto(f"{app_url}/?epochs=8&baselines=0")  # a shared link: the default, shorter
    wait_idle(page)
    goto(page, "Train")
    page.get_by_role("button", name="Train", exact=True).click()
    done = page.get_by_text(FINISHED)
    expect(done).to_be_visible(timeout=180_000)
    run_id = FINISHED.search(done.inner_text()).group(1)
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    screenshot(page, "train-finished")

    stored = RunStore(runs_dir).get_run(run_id)["summary"]["tasks"]
    table = page.get_by_test_id("stDataFrame").first
    mae = stored["body_mass_g"]["metrics"]["mae"]
    expect(table).to_contain_text("body_mass_g")
    shown = re.search(r"body_mass_gregressionmae(\d+(?:\.\d+)?)", table.text_content())
    assert shown, table.text_content()
    assert float(shown.group(1)) == pytest.approx(mae, rel=1e-6)  # the stored number, shown

    goto(page, "Affinity")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.get_by_role("tab", name="Lookahead affinity").click()  # the first tab is the pair table
    expect(page.get_by_test_id("stPlotlyChart").filter(visible=True).first).to_be_visible(
        timeout=60_000
    )
    screenshot(page, "affinity-of-run")

    goto(page, "Explain")
    page.get_by_role("button", name="Explain", exact=True).click()
    expect(page.get_by_text(re.compile(r"examples · \d+ steps"))).to_be_visible(timeout=120_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "explain-of-run")
    clicked = click_unit_cell(page, row=1, column=5)
    expect(page.get_by_text(f"flows through unit {clicked}.")).to_be_visible()

    page.reload()
    wait_idle(page)
    goto(page, "Runs")
    expect(page.get_by_test_id("stDataFrame").first).to_contain_text(run_id)
    screenshot(page, "runs-after-reload")


def test_stop_ends_a_running_job(app_url, page):
    page.goto(f"{app_url}/?epochs=2000&patience=2000&baselines=0")  # long, no early stop
    wait_idle(page)
    goto(page, "Train")
    page.get_by_role("button", name="Train", exact=True).click()
    stop = page.get_by_role("button", name="Stop", exact=True)
    expect(stop).to_be_enabled(timeout=30_000)
    expect(page.get_by_text(re.compile(r"epoch [1-9]\d*/2000"))).to_be_visible(timeout=60_000)
    stop.click()
    expect(page.get_by_text(re.compile(r"Run \S+: stopped"))).to_be_visible(timeout=60_000)
    screenshot(page, "train-stopped")
