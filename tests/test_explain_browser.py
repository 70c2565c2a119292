"""An HTML explanation opened in headless Chromium (Debian's `chromium`; .ci/run installs it with a CJK font).

The page is rendered from the model, written to a temporary file and loaded by the browser twice: `--dump-dom`
gives the document as the browser parsed it, which must show the outcome and every reason; `--screenshot` at a
phone's size (412×915) must show the page, with the refusal in the page's red. Regenerate the screenshot kept in
docs/ with

    UPDATE_SCREENSHOT=1 .venv/bin/pytest tests/test_explain_browser.py

and look at it: it is there to show that the page reads well on a phone.
"""

from __future__ import annotations

import html.parser
import os
import shutil
import struct
import subprocess
from datetime import date
from pathlib import Path

import pytest

from policydsl import api, explain

REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "docs" / "explain-screenshot.png"
CHROMIUM = shutil.which("chromium")
PHONE = (412, 915)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                "(.ci/run installs it: apt-get install -y chromium fonts-wqy-microhei)")


@pytest.fixture(scope="module")
def refused():
    """A clerk candidate refused for age, education and a relative serving in the village (as in the goldens)."""
    policy = api.load_policy(str(REPO / "policies/longshan/eligibility.policy"))
    values = dict(编号="LS-T1", 姓名="李红", 出生日期=date(1983, 3, 1), 学历="中专", 党员=False,
                  入党日期=date(2019, 3, 1), 转正日期=date(2020, 3, 1), 拟任岗位="秘书", 连任=False, 特别优秀=False, 来源类别="其他两委成员",
                  有十种情形=False, 直系亲属在村任职=True, 联审通过=True, 政治品行差=False, 参与宗教迷信=False,
                  受过刑事处罚=False)
    return {lang: explain.explain_record(policy, values, record_id="LS-T1", lang=lang, as_of=date(2019, 3, 1))
            for lang in ("zh", "en")}


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run",
                           f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180)


class _Text(html.parser.HTMLParser):
    """The visible text of a document (not <style>, <title> or <head>), whitespace collapsed."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script", "title"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script", "title"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)

    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def _squash(s: str) -> str:
    return " ".join(s.split())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_chromium_renders_the_outcome_and_its_reasons(refused, tmp_path, lang):
    x = refused[lang]
    page = tmp_path / f"explanation.{lang}.html"
    page.write_text(explain.render(x, "html"), encoding="utf-8")
    done = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert dom.lstrip().lower().startswith("<!doctype html>") or "<html" in dom[:200], dom[:500]
    parser = _Text()
    parser.feed(dom)
    shown = parser.text()
    elig = x.outcomes[0]
    assert elig.name == "人选资格" and elig.value is False
    assert elig.value_text in shown                      # 不符合 / not met
    failed = [r for r in elig.reasons if r.kind == "fail"]
    assert len(failed) == 3
    for r in elig.reasons:                                # every reason, failed conditions first, as the browser shows it
        assert _squash(r.text) in shown, r.text
    for s in elig.suggestions:
        assert _squash(s.text) in shown, s.text
    # the failed conditions are marked as such in the rendered document
    assert dom.count('class="fail"') == len(failed)


def test_chromium_screenshot_at_phone_size(refused, tmp_path):
    from PIL import Image  # matplotlib's dependency, installed with policydsl

    page = tmp_path / "explanation.html"
    page.write_text(explain.render(refused["zh"], "html"), encoding="utf-8")
    shot = tmp_path / "shot.png"
    done = chromium(tmp_path, f"--screenshot={shot}", f"--window-size={PHONE[0]},{PHONE[1]}", page.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    head = shot.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == PHONE
    with Image.open(shot) as img:
        rgb = img.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
    # the refusal (不符合) is drawn in the page's red, #b42318: the styles applied and the outcome is on screen
    red = sum(n for n, (r, g, b) in colours if r > 150 and g < 80 and b < 80)
    dark = sum(n for n, (r, g, b) in colours if r < 90 and g < 90 and b < 90)
    assert red > 200, "the refusal is not shown in red"
    assert dark > 2000, "hardly any text on the page"
    # no horizontal overflow at phone width: a copy of the page with a script that turns the page magenta when the
    # laid-out document is wider than the window, screenshot at the same size (the page itself has no script)
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace(
        "</body>", "<script>if (document.documentElement.scrollWidth > window.innerWidth) "
                   "document.body.style.background = '#ff00ff';</script></body>"), encoding="utf-8")
    probe_shot = tmp_path / "probe.png"
    done = chromium(tmp_path, f"--screenshot={probe_shot}", f"--window-size={PHONE[0]},{PHONE[1]}", probe.as_uri())
    assert done.returncode == 0 and probe_shot.exists(), done.stderr[-2000:]
    with Image.open(probe_shot) as img:
        magenta = sum(n for n, c in (img.convert("RGB").getcolors(maxcolors=1 << 20) or []) if c == (255, 0, 255))
    assert magenta == 0, "the page is wider than a phone's screen (it scrolls sideways)"
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOT)
    assert SCREENSHOT.exists(), f"missing {SCREENSHOT}; run with UPDATE_SCREENSHOT=1 and look at it"
