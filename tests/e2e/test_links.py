"""Shared links in a real browser: a deep link as the very first request to a fresh server
goes through app.py (navigation, sidebar) and applies the link's settings."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, wait_idle

pytestmark = pytest.mark.browser


def test_deep_link_first_request_uses_the_app_navigation(app_url, page):
    page.goto(f"{app_url}/train?epochs=5&tasks=species,island&teacher=1")
    wait_idle(page)
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_role("link", name="Lessons")).to_be_visible()
    expect(nav.get_by_role("link", name="common")).to_have_count(0)
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible()
    expect(page.get_by_text("species, island")).to_be_visible()
    assert "epochs=5" in page.url and "teacher=1" in page.url
    screenshot(page, "deep-link-train")
