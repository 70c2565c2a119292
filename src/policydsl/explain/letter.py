"""The printable decision letter (`explain --format pdf`): an A4 page with the deciding office, the date, the
conclusion, the reasons, what would change the result, the recourse and a QR code (segno) linking to the online
version, laid out by an HTML print stylesheet and printed to PDF by headless Chromium (through Playwright)."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import segno
from markupsafe import Markup

from .model import ExplainError, Explanation
from .render import LABELS, _template


def qr_svg(url: str) -> Markup:
    """An inline SVG QR code of `url` (segno draws it; our own markup, so it is marked safe)."""
    return Markup(segno.make(url, error="m").svg_inline(scale=3, border=2, dark="#111"))


def letter_html(x: Explanation, url: str) -> str:
    """The decision letter as an HTML page with an A4 print stylesheet (every value escaped)."""
    return _template("letter.html", x.lang).render(x=x, t=LABELS[x.lang], url=url, qr=qr_svg(url))


def letter_pdf(x: Explanation, url: str, chromium: str | None = None) -> bytes:
    """The decision letter printed to an A4 PDF by headless Chromium (`chromium` on the PATH unless given)."""
    executable = chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise ExplainError("--format pdf needs Chromium (apt-get install chromium) to print the letter")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise ExplainError("--format pdf needs Playwright (pip install playwright)") from None
    page_html = letter_html(x, url)
    # in a thread of its own: Playwright's sync API refuses to run where an event loop is running (the web
    # service, a test's browser)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_print, page_html, executable, Error, sync_playwright).result()


def _print(page_html: str, executable: str, error, sync_playwright) -> bytes:
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page()
                page.set_content(page_html, wait_until="load")
                return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
            finally:
                browser.close()
    except error as exc:
        raise ExplainError(f"Chromium could not print the letter: {exc}") from None
