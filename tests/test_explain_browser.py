"""Explanation pages opened in headless Chromium (Debian's `chromium`, driven by Playwright) at a phone's size.

For every county's refused or penalised record, in Chinese and English: the conclusion is inside the first phone
screen (360×640), nothing is wider than the screen, an English page has no Chinese outside `lang="zh"` spans, and
axe-core (vendored under tests/vendor/axe-core, MPL-2.0) run in the page reports no serious or critical
violation. The usual page (each county's ordinary record) is at most two phone screens high with its details
folded. Regenerate the screenshots kept in docs/ with

    UPDATE_SCREENSHOTS=1 .venv/bin/pytest tests/test_explain_browser.py

and look at them: they are there to show that the pages read well on a phone.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from explain_support import POLICY_FILES, RECORDS

from policydsl import api, explain

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
AXE = REPO / "tests" / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium")
PHONE = {"width": 360, "height": 640}

#: Each county's refused or penalised record, and its ordinary one (the usual page).
REFUSED = ["jinyuan_lost", "longshan_refused", "longshan_removed", "xiangan_failed", "xinmi_returned",
           "jiangbei_refused"]
ORDINARY = ["jinyuan_gained", "longshan_ordinary", "xiangan_ordinary", "xinmi_ordinary", "jiangbei_admitted"]
#: The pages kept as screenshots under docs/.
SCREENSHOTS = {("longshan_refused", "zh"): "explain-longshan-refused.zh.png",
               ("jinyuan_lost", "en"): "explain-jinyuan-lost.en.png",
               ("longshan_removed", "zh"): "explain-longshan-removed.zh.png"}

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                "(.ci/run installs it: apt-get install -y chromium fonts-wqy-microhei)")

#: Text nodes with a Chinese character that no `lang="zh"` element encloses (an English page must have none).
_UNMARKED_CHINESE = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (/[\\u3400-\\u9fff\\uff00-\\uffef]/.test(node.data) && !node.parentElement.closest('[lang|="zh"]'))
      out.push(node.data.trim());
  }
  return out;
}"""


@pytest.fixture(scope="module")
def policies():
    return {key: api.load_policy(str(REPO / path)) for key, path in POLICY_FILES.items()}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _page(browser, policies, name: str, lang: str, tmp_path: Path):
    which, values, as_of = RECORDS[name]
    x = explain.explain_record(policies[which], values, record_id=values["编号"], lang=lang, as_of=as_of)
    path = tmp_path / f"{name}.{lang}.html"
    path.write_text(explain.render(x, "html"), encoding="utf-8")
    page = browser.new_context(viewport=PHONE, locale="zh-CN" if lang == "zh" else "en-GB").new_page()
    page.goto(path.as_uri())
    return x, page


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", REFUSED)
def test_a_refusal_reads_well_on_a_phone(browser, policies, tmp_path, name, lang):
    x, page = _page(browser, policies, name, lang, tmp_path)
    conclusion = page.locator("h1.conclusion")
    assert conclusion.inner_text().strip() == x.conclusion
    box = conclusion.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], "the conclusion is below the first screen"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    if lang == "en":
        assert page.evaluate(_UNMARKED_CHINESE) == []
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == []
    shot = SCREENSHOTS.get((name, lang))
    if shot and os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(DOCS / shot), full_page=True)
    page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", ORDINARY)
def test_the_usual_page_fits_two_phone_screens(browser, policies, tmp_path, name, lang):
    _, page = _page(browser, policies, name, lang, tmp_path)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 2 * PHONE["height"], f"{height}px is more than two phone screens"
    page.context.close()


def test_the_screenshots_in_docs_exist():
    for shot in SCREENSHOTS.values():
        assert (DOCS / shot).exists(), f"missing docs/{shot}; run with UPDATE_SCREENSHOTS=1 and look at it"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_decision_letter_is_one_a4_page_with_office_date_conclusion_recourse_and_qr(policies, lang, tmp_path):
    import re

    from click.testing import CliRunner

    from policydsl.cli import main
    which, values, as_of = RECORDS["jinyuan_lost"]
    x = explain.explain_record(policies[which], values, record_id=values["编号"], lang=lang, as_of=as_of)
    url = "https://jinyuan.example.gov.cn/?batch=7"
    page = explain.letter_html(x, url)
    for part in (x.office, x.decided_on, x.conclusion, url, *(text for _, text in x.recourse)):
        assert part and str(part).replace("'", "&#39;").replace('"', "&#34;") in page, part
    assert "<svg" in page and "@page { size: A4" in page
    pdf = explain.letter_pdf(x, url, CHROMIUM)
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1                 # one sheet
    (box,) = set(re.findall(rb"/MediaBox\s*\[([^\]]*)\]", pdf))
    width, height = (float(v) for v in box.split()[2:])
    assert round(width / 72 * 25.4) == 210 and round(height / 72 * 25.4) == 297  # A4, in millimetres
    # and from the command line, for a record of a data file
    out = tmp_path / "letter.pdf"
    res = CliRunner().invoke(main, ["explain", str(REPO / "policies/jinyuan/star_rating.policy"), "--records",
                                    str(REPO / "data/jinyuan/secretaries.csv"), "--id", "JY004", "--format", "pdf",
                                    "--out", str(out), "--lang", lang, "--url", url])
    assert res.exit_code == 0, res.output
    assert out.read_bytes().startswith(b"%PDF-")
