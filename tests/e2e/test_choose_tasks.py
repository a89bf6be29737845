"""Choosing tasks in a real browser: mark a column as a target in the Data page's roles
table, see the sidebar and the task report follow at once, train those tasks from the Train
page and find them in the stored run; a page that stops early keeps the sidebar."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mtl_core.runs import RunStore
from tests.e2e.conftest import screenshot, wait_idle

pytestmark = pytest.mark.browser
ROW_PX, HEADER_PX = 35, 35  # the roles table's row and header heights
FINISHED = re.compile(r"Run (\S+): completed")


def sidebar(page):
    return page.get_by_test_id("stSidebarUserContent")


def set_role(page, row: int, role: str) -> None:
    """Select the table's first cell, move to the role cell of `row` (0-based) with the
    arrow keys, open its editor and pick `role` (the grid is drawn on a canvas)."""
    table = page.get_by_test_id("stDataFrame").first
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    page.mouse.click(box["x"] + 10, box["y"] + HEADER_PX + ROW_PX / 2)
    page.keyboard.press("ArrowRight")
    for _ in range(row):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.get_by_role("option", name=role, exact=True).click()
    page.keyboard.press("Escape")
    wait_idle(page)


def test_choose_a_task_in_the_table_and_train_it(app_url, runs_dir, page):
    page.goto(f"{app_url}/?tasks=species&epochs=3&baselines=0")
    wait_idle(page)
    expect(sidebar(page)).to_contain_text("Tasks: species")
    table = page.get_by_test_id("stDataFrame").first
    table.scroll_into_view_if_needed()
    order = [
        "species",
        "island",
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
        "sex",
        "year",
    ]
    for name in order:  # the rows, in this order (the cell positions below rely on it)
        expect(table).to_contain_text(name)
    text = table.text_content()
    assert [text.index(name) for name in order] == sorted(text.index(name) for name in order)
    set_role(page, order.index("sex"), "target")
    expect(sidebar(page)).to_contain_text("Tasks: species, sex")  # at once, not a click later
    expect(page.get_by_text(re.compile(r"^sex \(binary, \d+ labelled\)"))).to_be_visible()
    screenshot(page, "data-task-chosen")

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Train").click()
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    done = page.get_by_text(FINISHED)
    expect(done).to_be_visible(timeout=180_000)
    run_id = FINISHED.search(done.inner_text()).group(1)
    assert RunStore(runs_dir).get_run(run_id)["tasks"] == "species,sex"


def test_a_page_that_stops_early_keeps_the_sidebar_up_to_date(app_url, page):
    page.goto(f"{app_url}/?tasks=species")
    wait_idle(page)
    set_role(page, 0, "input")  # the only task: the page then stops at its warning
    expect(page.get_by_text("Mark at least one column as a target")).to_be_visible()
    expect(sidebar(page)).to_contain_text("Tasks: none chosen")
    expect(page).to_have_url(re.compile(r"[?&]tasks=(&|$)"))  # the link follows too
    page.get_by_text("Upload a file", exact=True).click()
    wait_idle(page)
    expect(page.get_by_text("Choose a sample, enter a hub id")).to_be_visible()
    expect(sidebar(page)).to_contain_text("Current experiment")
