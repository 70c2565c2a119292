"""The service in a real browser: Playwright drives Debian's `chromium` (Playwright's own browser download is not
available here; .ci/run installs chromium and a CJK font) against uvicorn on a free localhost port.

An official signs in and publishes the Jinyuan batch through the form; a citizen looks up their decision with the
code from their letter, switches to English, files an objection; the official reads and answers it; the citizen
sees the answer; the same citizen cannot open a neighbour's decision. Screenshots of every page are taken at a
phone's size; regenerate the ones kept under docs/ with

    UPDATE_SCREENSHOTS=1 .venv/bin/python -m pytest tests/test_web_browser.py

and look at them: they show how the pages read.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from store_support import REPO

CHROMIUM = shutil.which("chromium")
PHONE = {"width": 412, "height": 915}
DOCS = REPO / "docs"
PASSWORD = "a long enough password"

pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                 "(.ci/run installs it: apt-get install -y chromium fonts-wqy-microhei)")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """(base URL, store) of a running service with an official account and no batch yet."""
    import uvicorn

    from policydsl.store import accounts, open_store
    from policydsl.web.app import Settings, create_app
    store = open_store(f"sqlite:///{tmp_path / 'service.db'}")
    accounts.add_user(store, "wangke", PASSWORD, ["publisher", "reviewer"], display_name="组织部 王科长")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(store, Settings(policies_dir=str(REPO / "policies"), office="太原市晋源区委组织部",
                                     base_url=base, why_not=True))
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield base, store
    srv.should_exit = True
    thread.join(10)
    store.close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def shot(page, tmp_path: Path, name: str) -> Path:
    """A full-page screenshot; also kept under docs/ when UPDATE_SCREENSHOTS is set."""
    out = tmp_path / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    if os.environ.get("UPDATE_SCREENSHOTS"):
        shutil.copy(out, DOCS / f"service-{name}.png")
    return out


def test_publish_look_up_switch_language_object_answer_and_no_neighbour(server, browser, tmp_path):
    from policydsl.store import batches
    from policydsl.store.codes import code_for
    base, store = server
    official = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    official.goto(f"{base}/official/login")
    official.fill("#name", "wangke")
    official.fill("#password", PASSWORD)
    official.click("button[type=submit]")
    official.select_option("#policy", "jinyuan/star_rating.policy")
    official.set_input_files("#records", str(REPO / "data/jinyuan/secretaries.csv"))
    official.fill("#as_of", "2024-12-31")
    official.click("form[action='/official/publish'] button")
    official.wait_for_url("**/official/batches/*", timeout=120_000)
    assert "成功 76 条" in official.inner_text("body")
    shot(official, tmp_path, "official-batch")
    batch = batches.list_batches(store)[0]

    # The citizen opens the address on their letter and types the code printed on it.
    citizen = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    citizen.goto(f"{base}/?batch={batch.id}")
    assert citizen.input_value("#batch") == str(batch.id)
    shot(citizen, tmp_path, "lookup")
    citizen.fill("#record", "JY004")
    citizen.fill("#code", code_for(store.key, batch.uid, "JY004"))
    citizen.click("button[type=submit]")
    citizen.wait_for_url("**/my")
    body = citizen.inner_text("body")
    assert "肖芳飞" in body and "决定结果" in body and "太原市晋源区委组织部" in body
    shot(citizen, tmp_path, "decision-zh")
    citizen.click("text=English")
    citizen.wait_for_url("**/my")
    assert "Your decision" in citizen.inner_text("body")
    shot(citizen, tmp_path, "decision-en")
    citizen.select_option("#kind", "review")
    citizen.fill("#text", "My 2023 county award was not counted as an honour star.")
    citizen.click("form[action='/my/objections'] button")
    citizen.wait_for_url("**/my?filed=*")
    assert "Received, not yet handled" in citizen.inner_text("#objections")

    # The official sees it and answers.
    official.goto(f"{base}/official")
    official.click("a[href^='/official/objections/']")
    assert "county award" in official.inner_text("body")
    official.select_option("#status", "changed")
    official.fill("#text", "经核实，您 2023 年获县级表彰属实，已补计荣誉星一颗，星级调整为 3 星。")
    official.click("form[action$='/answer'] button")
    official.wait_for_load_state()
    assert "已更正决定" in official.inner_text("body")
    shot(official, tmp_path, "official-objection")

    citizen.reload()
    assert "Decision corrected" in citizen.inner_text("#objections") and "补计荣誉星" in citizen.inner_text("body")
    shot(citizen, tmp_path, "objection-answered")

    # The same citizen tries the neighbour's id with their own code: refused, and their own page is unchanged.
    citizen.goto(f"{base}/")
    citizen.fill("#batch", str(batch.id))
    citizen.fill("#record", "JY005")
    citizen.fill("#code", code_for(store.key, batch.uid, "JY004"))
    citizen.click("button[type=submit]")
    assert "not right" in citizen.inner_text("body") or "不正确" in citizen.inner_text("body")
    neighbour = batches.get_decision(store, batch.id, "JY005")
    citizen.goto(f"{base}/my")
    assert neighbour.label not in citizen.inner_text("body")

    # The letter, printed on A4 by the same browser.
    letter = browser.new_context(viewport=PHONE).new_page()
    from policydsl.web.letters import letter_html
    letter.set_content(letter_html(store, batch, batches.get_decision(store, batch.id, "JY004"), base,
                                   office="太原市晋源区委组织部"))
    assert letter.locator("svg").count() == 1
    shot(letter, tmp_path, "letter")
    pdf = letter.pdf(format="A4") if hasattr(letter, "pdf") else b""
    assert not pdf or pdf[:4] == b"%PDF"
