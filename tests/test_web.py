"""The web service through Starlette's TestClient: a person sees only their own decision; guessing is refused and
limited; objections go from citizen to official and back; officials' roles; the JSON API; faults."""

from __future__ import annotations

import logging
import re
import warnings
from datetime import date

import pytest
from sqlalchemy import create_engine
from store_support import REPO, TEST_KEY, fresh_database, postgres_url  # noqa: F401  (a fixture)

from policydsl.store import accounts, batches, open_store, publish
from policydsl.store.codes import code_for
from policydsl.store.db import Store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx versions
    from fastapi.testclient import TestClient

from policydsl.web.app import Settings, create_app  # noqa: E402

JINYUAN = REPO / "policies/jinyuan/star_rating.policy"
SECRETARIES = REPO / "data/jinyuan/secretaries.csv"
PASSWORD = "a long enough password"


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request, tmp_path):
    """(store, app, batch) with one Jinyuan batch and an account per role, on both databases."""
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'service.db'}")
    else:
        s = open_store(fresh_database(request.getfixturevalue("postgres_url"),
                                      f"w{abs(hash(request.node.name)) % 10**8}"), key=TEST_KEY)
    for role in ("admin", "publisher", "reviewer", "viewer"):
        accounts.add_user(s, role, PASSWORD, [role], display_name=f"{role} 科员")
    batch = publish(s, JINYUAN, SECRETARIES, as_of=date(2024, 12, 31), why_not=False)
    app = create_app(s, Settings(policies_dir=str(REPO / "policies"), office="太原市晋源区委组织部",
                                 upload_dir=str(tmp_path / "uploads"), max_upload_bytes=2_000_000, why_not=False))
    yield s, app, batch
    s.close()


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def look_up(client, batch_id, record, code):
    token = csrf_of(client.get("/").text)
    return client.post("/lookup", data={"batch": str(batch_id), "record": record, "code": code, "csrf": token},
                       follow_redirects=False)


def signed_in(app, role: str) -> TestClient:
    client = TestClient(app)
    token = csrf_of(client.get("/official/login").text)
    r = client.post("/official/login", data={"name": role, "password": PASSWORD, "csrf": token},
                    follow_redirects=False)
    assert r.status_code == 303
    return client


# ------------------------------------------------------------------------------------------------ citizens

def test_a_citizen_with_id_and_code_sees_only_their_own_decision(service):
    s, app, batch = service
    client = TestClient(app)
    r = look_up(client, batch.id, "JY004", code_for(s.key, batch.uid, "JY004"))
    assert r.status_code == 303 and r.headers["location"] == "/my"
    page = client.get("/my").text
    assert "肖芳飞" in page and "JY004" in page and "决定结果" in page
    others = [d.label for d in batches.decisions_of(s, batch.id) if d.record_id != "JY004" and d.label]
    assert not any(name in page for name in others)
    assert client.get("/my?record=JY005").text.count("JY005") == 0  # nothing in a URL chooses the person
    english = client.get("/lang/en?back=/my", follow_redirects=True).text
    assert "Your decision" in english and 'lang="en"' in english and "肖芳飞" in english


@pytest.mark.parametrize("who, code_of", [
    ("JY005", "JY004"),      # another person's id with my code
    ("JY004", "JY005"),      # my id with a neighbour's code
    ("JY077", "JY004"),      # the next id in sequence, which does not exist
    ("JY004", None),         # a guessed code
])
def test_wrong_codes_and_other_ids_are_refused(service, who, code_of):
    s, app, batch = service
    client = TestClient(app)
    code = code_for(s.key, batch.uid, code_of) if code_of else "K3M9-Q2TX-7HBD"
    r = look_up(client, batch.id, who, code)
    assert r.status_code == 401 and "不正确" in r.text
    assert client.get("/my").status_code == 403


def test_a_code_from_another_batch_is_refused(service):
    s, app, batch = service
    second = publish(s, JINYUAN, SECRETARIES, as_of=date(2025, 12, 31), why_not=False)
    client = TestClient(app)
    assert look_up(client, second.id, "JY004", code_for(s.key, batch.uid, "JY004")).status_code == 401
    assert look_up(client, second.id, "JY004", code_for(s.key, second.uid, "JY004")).status_code == 303


def test_codes_are_forgiving_of_case_dashes_and_full_width_but_not_of_digits(service):
    s, app, batch = service
    code = code_for(s.key, batch.uid, "JY010")
    typed = "  " + code.replace("-", " ").lower().replace("0", "o") + " "
    assert look_up(TestClient(app), batch.id, "JY010", typed).status_code == 303
    wrong = code[:-1] + ("1" if code[-1] != "1" else "2")
    assert look_up(TestClient(app), batch.id, "JY010", wrong).status_code == 401


def test_guessing_is_rate_limited_per_person_even_with_the_right_code_afterwards(service):
    s, app, batch = service
    client = TestClient(app)
    for i in range(5):
        assert look_up(client, batch.id, "JY004", f"AAAA-BBBB-CCC{i}").status_code == 401
    blocked = look_up(client, batch.id, "JY004", code_for(s.key, batch.uid, "JY004"))
    assert blocked.status_code == 429 and "15 分钟" in blocked.text
    # Another person is not locked out by it.
    assert look_up(client, batch.id, "JY005", code_for(s.key, batch.uid, "JY005")).status_code == 303


def test_spelling_the_batch_number_differently_buys_no_extra_guesses(service):
    s, app, batch = service
    client = TestClient(app)
    for spelling in ("1", "01", "001", "0001", "00001"):
        assert look_up(client, spelling, "JY004", "AAAA-BBBB-CCCC").status_code == 401
    assert look_up(client, "000001", "JY004", code_for(s.key, batch.uid, "JY004")).status_code == 429


def test_guessing_across_many_ids_is_rate_limited_per_client(service):
    s, app, batch = service
    client = TestClient(app)
    for i in range(20):
        look_up(client, batch.id, f"JY{i:03d}", "AAAA-BBBB-CCCC")
    assert look_up(client, batch.id, "JY050", code_for(s.key, batch.uid, "JY050")).status_code == 429


def test_forms_need_the_csrf_token_and_cookies_are_httponly_samesite(service):
    s, app, batch = service
    client = TestClient(app)
    client.get("/")
    r = client.post("/lookup", data={"batch": str(batch.id), "record": "JY004",
                                     "code": code_for(s.key, batch.uid, "JY004"), "csrf": "forged"})
    assert r.status_code == 403 and "页面已过期" in r.text
    cookie = TestClient(app).get("/").headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


def test_headers_forbid_scripts_framing_and_caching(service):
    _, app, _ = service
    r = TestClient(app).get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    assert "<script" not in r.text.lower()


def test_the_session_expires_and_a_forged_cookie_gives_nothing(service, monkeypatch):
    s, app, batch = service
    client = TestClient(app)
    look_up(client, batch.id, "JY004", code_for(s.key, batch.uid, "JY004"))
    assert client.get("/my").status_code == 200
    import policydsl.web.app as web
    monkeypatch.setattr(web, "CITIZEN_IDLE_S", -1)
    assert "超时" in client.get("/my").text
    forged = TestClient(app, cookies={"policydsl_session": "eyJjaXRpemVuIjp7ImJhdGNoIjoxLCJyZWNvcmQiOiJKWTAwNSJ9fQ=="})
    assert forged.get("/my").status_code == 403


def test_objection_flow_citizen_to_official_and_back(service):
    s, app, batch = service
    citizen = TestClient(app)
    look_up(citizen, batch.id, "JY004", code_for(s.key, batch.uid, "JY004"))
    page = citizen.get("/my").text
    r = citizen.post("/my/objections", data={"kind": "review", "text": "我2023年获得过县级表彰，未计入荣誉星。",
                                             "contact": "13800000000", "csrf": csrf_of(page)})
    assert r.status_code == 200 and "已于" in r.text and "已收到，待处理" in r.text
    empty = citizen.post("/my/objections", data={"kind": "appeal", "text": "  ", "csrf": csrf_of(page)})
    assert empty.status_code == 400
    reviewer = signed_in(app, "reviewer")
    home = reviewer.get("/official").text
    link = re.search(r'href="/official/objections/(\d+)"', home)
    assert link and "肖芳飞" in home
    detail = reviewer.get(f"/official/objections/{link.group(1)}").text
    assert "未计入荣誉星" in detail and "13800000000" in detail
    answered = reviewer.post(f"/official/objections/{link.group(1)}/answer",
                             data={"status": "changed", "text": "经核实，已补计荣誉星一颗。", "csrf": csrf_of(detail)})
    assert answered.status_code == 200 and "已更正决定" in answered.text
    mine = citizen.get("/my").text
    assert "已更正决定" in mine and "经核实，已补计荣誉星一颗。" in mine
    # Another citizen sees none of it.
    neighbour = TestClient(app)
    look_up(neighbour, batch.id, "JY005", code_for(s.key, batch.uid, "JY005"))
    assert "未计入荣誉星" not in neighbour.get("/my").text


def test_the_letter_download_masks_the_code(service):
    s, app, batch = service
    client = TestClient(app)
    code = code_for(s.key, batch.uid, "JY004")
    look_up(client, batch.id, "JY004", code)
    r = client.get("/my/letter")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert "决定通知书" in r.text and code not in r.text and code[-4:] in r.text and "<svg" in r.text


# ------------------------------------------------------------------------------------------------ officials

def test_official_roles(service):
    _, app, batch = service
    anonymous = TestClient(app)
    assert anonymous.get("/official", follow_redirects=False).headers["location"] == "/official/login"
    viewer = signed_in(app, "viewer")
    assert viewer.get(f"/official/batches/{batch.id}").status_code == 200
    home = viewer.get("/official").text
    assert "发布新批次" not in home
    with SECRETARIES.open("rb") as f:
        r = viewer.post("/official/publish", data={"policy": "jinyuan/star_rating.policy", "csrf": csrf_of(home)},
                        files={"records": ("s.csv", f, "text/csv")})
    assert r.status_code == 403 and "没有此项操作的权限" in r.text
    assert viewer.get("/official/objections/1").status_code == 403
    assert viewer.get(f"/official/batches/{batch.id}/letters").status_code == 403
    assert viewer.get("/official/access").status_code == 403
    admin = signed_in(app, "admin")
    assert "lookup" in admin.get("/official/access").text or admin.get("/official/access").status_code == 200


def test_a_disabled_account_is_signed_out_and_cannot_sign_in(service):
    from click.testing import CliRunner

    from policydsl import cli
    s, app, _ = service
    viewer = signed_in(app, "viewer")
    assert viewer.get("/official").status_code == 200
    env = {"POLICYDSL_SECRET_KEY": TEST_KEY.decode()}  # a PostgreSQL store's key, not a file in the working dir
    result = CliRunner().invoke(cli.main, ["users", "disable", "viewer", "--db", s.url], env=env)
    assert result.exit_code == 0, result.output
    assert viewer.get("/official", follow_redirects=False).headers["location"] == "/official/login"
    token = csrf_of(viewer.get("/official/login").text)
    assert viewer.post("/official/login", data={"name": "viewer", "password": PASSWORD, "csrf": token}
                       ).status_code == 401
    changed = CliRunner().invoke(cli.main, ["users", "password", "admin", "--password", "another long password",
                                            "--db", s.url], env=env)
    assert changed.exit_code == 0 and accounts.authenticate(s, "admin", "another long password") is not None


def test_wrong_passwords_are_refused_and_limited(service):
    _, app, _ = service
    client = TestClient(app)
    for _ in range(5):
        token = csrf_of(client.get("/official/login").text)
        assert client.post("/official/login", data={"name": "admin", "password": "nope", "csrf": token}
                           ).status_code == 401
    token = csrf_of(client.get("/official/login").text)
    assert client.post("/official/login", data={"name": "admin", "password": PASSWORD, "csrf": token}
                       ).status_code == 429


def test_a_publisher_publishes_and_sees_the_comparison_with_the_previous_batch(service, tmp_path):
    s, app, batch = service
    publisher = signed_in(app, "publisher")
    home = publisher.get("/official").text
    assert "jinyuan/star_rating.policy" in home
    # libraries that only other files import decide nothing: they are not offered for publishing
    assert "base.policy" not in home and "jiangbei_common.policy" not in home
    with SECRETARIES.open("rb") as f:
        r = publisher.post("/official/publish", data={"policy": "variants/jinyuan_1500_per_star.policy",
                                                      "as_of": "2024-12-31", "csrf": csrf_of(home)},
                           files={"records": ("secretaries.csv", f, "text/csv")})
    assert r.status_code == 200 and "批次 2" in r.text and "成功 76 条" in r.text
    assert list((tmp_path / "uploads").iterdir()) == []  # the upload is gone once published
    # The variant is another policy: its previous batch is none; publish the base again to compare.
    with SECRETARIES.open("rb") as f:
        r = publisher.post("/official/publish", data={"policy": "jinyuan/star_rating.policy", "as_of": "2025-06-30",
                                                      "csrf": csrf_of(home)},
                           files={"records": ("secretaries.csv", f, "text/csv")})
    assert "上一批次" in r.text and f'href="/official/batches/{batch.id}"' in r.text
    compare = publisher.get("/official/batches/3/compare")
    assert compare.status_code == 200 and "<html" in compare.text
    letters = publisher.get("/official/batches/3/letters")
    assert letters.headers["content-type"] == "application/zip" and letters.content[:2] == b"PK"


def test_uploads_are_checked_and_size_limited(service):
    _, app, _ = service
    publisher = signed_in(app, "publisher")
    token = csrf_of(publisher.get("/official").text)
    bad = publisher.post("/official/publish", data={"policy": "../../etc/passwd", "csrf": token},
                         files={"records": ("s.csv", b"a,b\n", "text/csv")})
    assert bad.status_code == 400 and "请从列表中选择" in bad.text
    wrong = publisher.post("/official/publish", data={"policy": "jinyuan/star_rating.policy", "csrf": token},
                           files={"records": ("s.exe", b"MZ", "application/octet-stream")})
    assert wrong.status_code == 400 and "格式之一" in wrong.text
    huge = publisher.post("/official/publish", data={"policy": "jinyuan/star_rating.policy", "csrf": token},
                          files={"records": ("s.csv", b"x" * 3_000_000, "text/csv")})
    assert huge.status_code == 413
    broken = publisher.post("/official/publish", data={"policy": "jinyuan/star_rating.policy", "csrf": token},
                            files={"records": ("s.csv", "编号\nJY1\n".encode(), "text/csv")})
    assert broken.status_code == 400 and "未能发布" in broken.text and "Traceback" not in broken.text


def test_values_are_escaped(service, tmp_path):
    s, app, _ = service
    hostile = tmp_path / "hostile.csv"
    text = SECRETARIES.read_text(encoding="utf-8").replace("肖芳飞", "<script>alert(1)</script>", 1)
    hostile.write_text(text, encoding="utf-8")
    b = publish(s, JINYUAN, hostile, as_of=date(2024, 12, 31), why_not=False)
    client = TestClient(app)
    look_up(client, b.id, "JY004", code_for(s.key, b.uid, "JY004"))
    page = client.get("/my").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    letter = client.get("/my/letter").text
    assert "<script>" not in letter
    mine = client.get("/my").text
    client.post("/my/objections", data={"kind": "appeal", "text": "<img src=x onerror=alert(1)>",
                                        "csrf": csrf_of(mine)})
    assert "<img src=x" not in client.get("/my").text
    reviewer = signed_in(app, "reviewer")
    link = re.search(r'href="/official/objections/(\d+)"', reviewer.get("/official").text).group(1)
    detail = reviewer.get(f"/official/objections/{link}").text
    assert "<img src=x" not in detail and "&lt;img src=x onerror=alert(1)&gt;" in detail


def test_personal_fields_are_masked_in_the_server_log_and_kept_in_the_access_log(service, caplog):
    from policydsl.store import access
    s, app, batch = service
    with caplog.at_level(logging.INFO, logger="policydsl.web"):
        client = TestClient(app)
        look_up(client, batch.id, "JY004", code_for(s.key, batch.uid, "JY004"))
        client.get("/my")
    assert caplog.records and "JY004" not in caplog.text and "JY0**" in caplog.text
    actions = [(e["action"], e["record_id"]) for e in access.recent(s)]
    assert ("lookup.ok", "JY004") in actions and ("decision.read", "JY004") in actions


# ------------------------------------------------------------------------------------------------ the JSON API

def test_the_api_needs_a_token_and_evaluates_explains_and_summarises(service):
    s, app, batch = service
    client = TestClient(app)
    assert client.get("/api/v1/batches").status_code == 401
    assert client.get("/api/v1/batches", headers={"authorization": "Bearer pdt_wrong"}).status_code == 401
    token = accounts.add_token(s, "payroll")
    auth = {"authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/batches", headers=auth).json()
    assert listed[0]["id"] == batch.id and listed[0]["ok_count"] == 76
    summary = client.get(f"/api/v1/batches/{batch.id}", headers=auth).json()
    assert summary["totals"]["星级奖励"]["sum"] == batch.totals["星级奖励"]["sum"]
    stored = batches.get_decision(s, batch.id, "JY004")
    evaluated = client.post(f"/api/v1/batches/{batch.id}/evaluate", headers=auth, json={"record": stored.inputs})
    assert evaluated.status_code == 200 and evaluated.json()["outcomes"] == stored.outcomes
    explained = client.post(f"/api/v1/batches/{batch.id}/explain", headers=auth,
                            json={"record": stored.inputs, "lang": "en"}).json()
    assert explained["lang"] == "en" and explained["record_id"] == "JY004" and explained["outcomes"]
    bad = client.post(f"/api/v1/batches/{batch.id}/evaluate", headers=auth,
                      json={"record": {**stored.inputs, "年度考核": "忧秀"}})
    assert bad.status_code == 422 and "忧秀" in str(bad.json())
    assert client.get("/api/v1/batches/999", headers=auth).status_code == 404
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/batches", "/api/v1/batches/{batch_id}/evaluate", "/api/v1/batches/{batch_id}/explain"} \
        <= set(spec["paths"])
    assert "HTTPBearer" in str(spec["components"]["securitySchemes"])


# ------------------------------------------------------------------------------------------------ faults

def test_an_unavailable_database_gives_an_error_page_and_a_failing_health_check(tmp_path):
    working = open_store(f"sqlite:///{tmp_path / 'ok.db'}")
    dead_engine = create_engine(f"sqlite:///{tmp_path / 'gone' / 'x.db'}")
    dead = Store(working.url, dead_engine, dead_engine, working.key)
    client = TestClient(create_app(dead, Settings(upload_dir=str(tmp_path / "u"))), raise_server_exceptions=False)
    assert client.get("/healthz").status_code == 503
    token = csrf_of(client.get("/").text)
    r = client.post("/lookup", data={"batch": "1", "record": "JY004", "code": "x", "csrf": token})
    assert r.status_code == 503 and "服务暂时不可用" in r.text and "Traceback" not in r.text
    assert TestClient(create_app(working, Settings(upload_dir=str(tmp_path / "u")))).get("/healthz").json() == \
        {"status": "ok"}


# ------------------------------------------------------------------------------------------------ start-up and load

@pytest.mark.slow
def test_serve_works_with_no_configuration_and_health_says_so(tmp_path):
    """The README's two commands in an empty folder: `users add`, then `serve`; /healthz and `policydsl health`."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "POLICYDSL_PASSWORD": PASSWORD}
    env.pop("POLICYDSL_DB", None)
    env.pop("POLICYDSL_SECRET_KEY", None)
    cli = [sys.executable, "-m", "policydsl.cli"]
    added = subprocess.run([*cli, "users", "add", "wangke", "--role", "admin"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert added.returncode == 0, added.stderr
    for private in ("policydsl.db", "policydsl.db.key"):  # personal data and the codes' key: the owner's only
        assert (tmp_path / private).stat().st_mode & 0o077 == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], cwd=tmp_path, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("policydsl serve did not answer")
        assert "查询本人决定" in httpx.get(base + "/").text
        healthy = subprocess.run([*cli, "health", "--url", base], cwd=tmp_path, env=env, capture_output=True,
                                 text=True, timeout=60)
        assert healthy.returncode == 0 and "healthy" in healthy.stderr
    finally:
        server.terminate()
        server.wait(30)
    down = subprocess.run([*cli, "health", "--url", base], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert down.returncode == 1 and "does not answer" in down.stderr
    broken = subprocess.run([*cli, "health", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1 and "Traceback" not in broken.stderr


@pytest.mark.slow
def test_the_load_script_runs_with_no_errors():
    """bench/load_citizens.py, briefly (the 200-client, 30-second figures are in docs/performance.md)."""
    import subprocess
    import sys
    run = subprocess.run([sys.executable, str(REPO / "bench/load_citizens.py"), "--clients", "20", "--seconds", "3"],
                         capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "PYTHONPATH": str(REPO / "src")})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "errors 0" in run.stdout and "requests/s" in run.stdout


def test_a_policy_with_related_records_is_published_from_the_form(service, tmp_path):
    _, app, _ = service
    publisher = signed_in(app, "publisher")
    token = csrf_of(publisher.get("/official").text)
    communities, grids = REPO / "data/jiangbei/communities.csv", REPO / "data/jiangbei/grids.csv"
    with communities.open("rb") as c:
        missing = publisher.post("/official/publish", data={"policy": "jiangbei/grids.policy", "csrf": token},
                                 files={"records": ("communities.csv", c, "text/csv")})
    assert missing.status_code == 400 and "未能发布" in missing.text and "网格" in missing.text
    assert "upload-" not in missing.text and str(tmp_path) not in missing.text  # no server paths shown
    with communities.open("rb") as c, grids.open("rb") as g:
        r = publisher.post("/official/publish", data={"policy": "jiangbei/grids.policy", "csrf": token,
                                                      "related_field_1": "网格"},
                           files={"records": ("communities.csv", c, "text/csv"),
                                  "related_file_1": ("grids.csv", g, "text/csv")})
    assert r.status_code == 200 and "江北区社区网格" in r.text and "失败 0 条" in r.text
    assert list((tmp_path / "uploads").iterdir()) == []


def test_the_api_evaluates_a_rank_among_the_batchs_people(service):
    """Xiang'an's 末位 is a rank among all workers: the API evaluates a record among the batch's records."""
    s, app, _ = service
    batch = publish(s, REPO / "policies/xiangan/assessment.policy", REPO / "data/xiangan/workers.csv",
                    related={"季度考核": REPO / "data/xiangan/quarterly_scores.csv"}, why_not=False)
    token = accounts.add_token(s, "hr")
    client = TestClient(app)
    for d in list(batches.decisions_of(s, batch.id))[:5]:
        r = client.post(f"/api/v1/batches/{batch.id}/evaluate", headers={"authorization": f"Bearer {token}"},
                        json={"record": d.inputs})
        assert r.status_code == 200 and r.json()["outcomes"] == d.outcomes and r.json()["error"] == d.error


def test_figures_and_dates_are_written_as_an_office_writes_them():
    from policydsl.web.view import amount, day, local_time, param_value
    assert amount("2673696.00", "money") == "2,673,696.00 元" and amount("-1500.5", "money") == "-1,500.50 元"
    assert amount("0.35", "percent") == "35%" and amount("279", "int") == "279"
    assert day("2024-12-31") == "2024年12月31日" and day("2024-12-31", "en") == "31 December 2024"
    assert day("2026-12-01T17:30:00+00:00") == "2026年12月2日"  # stored in UTC, read in Beijing time
    assert local_time("2026-12-01T17:30:00+00:00") == "2026-12-02 01:30"
    assert param_value({"type": "bool", "value": True}) == "是"
    assert param_value({"type": "money", "value": "1000.00"}) == "1,000.00 元"


def test_access_codes_are_derived_checked_and_masked():
    from policydsl.store.codes import code_for, masked, matches, normalise
    code = code_for(b"k" * 32, "batch-uid", "JY004")
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", code)
    assert code == code_for(b"k" * 32, "batch-uid", "JY004") != code_for(b"k" * 32, "other", "JY004")
    assert code != code_for(b"other key", "batch-uid", "JY004")
    assert normalise("ｋ３ｍ９ q2tx-7hbd") == "K3M9-Q2TX-7HBD"
    assert matches(b"k" * 32, "batch-uid", "JY004", code.lower()) and not matches(b"k" * 32, "batch-uid", "JY005", code)
    assert masked(code) == "****-****-" + code[-4:]


def test_a_long_publish_goes_on_in_the_background_with_a_progress_page(service, monkeypatch):
    import time

    import policydsl.web.app as web
    _, app, _ = service
    monkeypatch.setattr(web, "PUBLISH_WAIT_S", 0)
    publisher = signed_in(app, "publisher")
    token = csrf_of(publisher.get("/official").text)
    with SECRETARIES.open("rb") as f:
        r = publisher.post("/official/publish", data={"policy": "jinyuan/star_rating.policy", "csrf": token},
                           files={"records": ("secretaries.csv", f, "text/csv")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/official/jobs/")
    job = r.headers["location"]
    assert signed_in(app, "viewer").get(job).status_code == 403  # a viewer may not follow publishing
    for _ in range(300):
        page = publisher.get(job, follow_redirects=False)
        if page.status_code == 303:
            break
        assert "正在发布" in page.text and 'http-equiv="refresh"' in page.text
        time.sleep(0.1)
    assert page.headers["location"].startswith("/official/batches/")
    assert "成功 76 条" in publisher.get(page.headers["location"]).text


def test_bad_records_are_listed_under_the_name_the_official_uploaded(service):
    _, app, _ = service
    publisher = signed_in(app, "publisher")
    token = csrf_of(publisher.get("/official").text)
    with (REPO / "data/jinyuan/bad_secretaries.csv").open("rb") as f:
        r = publisher.post("/official/publish", data={"policy": "jinyuan/star_rating.policy", "csrf": token},
                           files={"records": ("二季度书记名单.csv", f, "text/csv")})
    assert r.status_code == 200 and "未能读入的记录" in r.text
    assert "二季度书记名单.csv:" in r.text and "upload-" not in r.text


def test_publishing_works_from_any_working_directory(service, tmp_path, monkeypatch):
    """A county policy imports the shared base beside its folder: the service allows its policies folder."""
    _, app, _ = service
    monkeypatch.chdir(tmp_path)
    publisher = signed_in(app, "publisher")
    token = csrf_of(publisher.get("/official").text)
    with SECRETARIES.open("rb") as f:
        r = publisher.post("/official/publish", data={"policy": "jinyuan/star_rating.policy", "csrf": token},
                           files={"records": ("secretaries.csv", f, "text/csv")})
    assert r.status_code == 200 and "成功 76 条" in r.text, r.text[-2000:]
    number = re.search(r"批次 (\d+)：", r.text).group(1)
    from policydsl.store import replay
    assert replay(app.state.store, int(number)).ok
