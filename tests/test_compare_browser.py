"""Comparison reports opened in headless Chromium (Debian's `chromium`, driven by Playwright) at 1280×800: the
headline is on the first screen, no table runs off the right edge, the search and pages of the changed records work;
on a phone (412×915) the page does not scroll sideways; printed, every changed record is on paper and the controls are not.
Regenerate the screenshots kept in docs/ with

    UPDATE_SCREENSHOT=1 .venv/bin/pytest tests/test_compare_browser.py

and look at them: they are there to show what an official sees first.
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from policydsl import compare

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium")
SCREEN = {"width": 1280, "height": 800}
PHONE = {"width": 412, "height": 915}
P, D = REPO / "policies", REPO / "data"
REPORTS = {
    "jiangbei": ([P / "jiangbei/quota.policy", P / "variants/jiangbei_18_per_10k.policy"],
                 D / "jiangbei/communities.csv", {"工作者": D / "jiangbei/workers.csv"}, None),
    "jinyuan": ([P / "jinyuan/star_rating.policy", P / "variants/jinyuan_1500_per_star.policy"],
                D / "jinyuan/secretaries.csv", {}, None),
    "longshan": ([P / "longshan/discipline.policy", P / "variants/longshan_stricter_absences.policy"],
                 D / "longshan/staff.csv", {"擅离": D / "longshan/absences.csv"}, date(2019, 12, 31)),
}

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                "(.ci/run installs it: apt-get install -y chromium fonts-wqy-microhei)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_headline_first_and_nothing_runs_off_the_page(browser, tmp_path, name):
    policies, records, related, as_of = REPORTS[name]
    c = compare.compare([str(p) for p in policies], records, related=related, as_of=as_of)
    page_path = tmp_path / f"{name}.html"
    c.write(page_path, explanations=False)
    page = browser.new_page(viewport=SCREEN)
    page.goto(page_path.as_uri())
    box = page.locator("#headline").bounding_box()
    assert box is not None and box["y"] + box["height"] <= SCREEN["height"]   # within the first screen
    assert page.evaluate("document.documentElement.scrollWidth") <= SCREEN["width"]
    widest = page.evaluate("Math.max(...[...document.querySelectorAll('table')].map("
                           "t => t.getBoundingClientRect().right))")
    assert widest <= SCREEN["width"]
    shown = page.locator("#records tbody tr:not([hidden])")
    assert shown.count() == min(25, c.records_differing)                      # a page of 25
    first = c.diffs[0].record_id
    page.fill("#search", first)
    assert page.locator("#records tbody tr:not([hidden])").count() >= 1
    assert first in page.locator("#records tbody tr:not([hidden])").first.inner_text()
    page.emulate_media(media="print")                                          # printing shows every row
    visible = page.evaluate("[...document.querySelectorAll('#records tbody tr')]"
                            ".filter(r => getComputedStyle(r).display !== 'none').length")
    assert visible == min(c.records_differing, len(c.diffs))
    assert page.locator("#search").is_hidden()
    page.emulate_media(media="screen")
    phone = browser.new_page(viewport=PHONE)
    phone.goto(page_path.as_uri())
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]   # no sideways scrolling
    assert phone.locator("#headline").bounding_box()["y"] < PHONE["height"]
    phone.close()
    if os.environ.get("UPDATE_SCREENSHOT") and name in ("jiangbei", "jinyuan"):
        page.fill("#search", "")
        page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
        page.screenshot(path=str(REPO / "docs" / f"comparison-{name}.png"))
    page.close()
