"""The service's routes: citizens (`/`, `/my…`), officials (`/official…`) and programs (`/api/v1…`).

    from policydsl.store import open_store
    from policydsl.web.app import Settings, create_app
    app = create_app(open_store(), Settings(policies_dir="policies", office="太原市晋源区委组织部"))

A citizen proves who they are with batch number + id + access code; the session then holds that one decision
and nothing else, so no URL names a person and no page can be asked for someone else's decision. Officials sign
in with an account whose roles decide what they may do. Programs call the JSON API with a bearer token; its
OpenAPI description is at /openapi.json. Every access — granted or refused — goes to the store's access log.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
import re
import secrets
import shutil
import tempfile
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from markupsafe import Markup
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.middleware.sessions import SessionMiddleware

from ..store import access, accounts, batches, objections
from ..store.codes import matches
from ..store.db import Store, StoreError
from . import security
from .texts import KIND_WORDS, TEXTS
from .view import local_time, render

LOG = logging.getLogger("policydsl.web")
CITIZEN_IDLE_S = 30 * 60
RECORD_SUFFIXES = (".csv", ".json", ".jsonl", ".parquet", ".xlsx")


@dataclass(frozen=True)
class Settings:
    """How the service runs; every field has a default, so `policydsl serve` needs no configuration."""

    policies_dir: str = "policies"
    office: str | None = None
    base_url: str = "http://localhost:8000"
    secure_cookies: bool = False
    max_upload_bytes: int = 64 * 1024 * 1024
    upload_dir: str | None = None          # default: policydsl-uploads beside the SQLite file, else here
    why_not: bool = True


class _Refused(Exception):
    """A request answered with an error page (status, text key)."""

    def __init__(self, status: int, key: str):
        self.status, self.key = status, key


def create_app(store: Store, settings: Settings | None = None) -> FastAPI:
    """The ASGI application over `store`."""
    settings = settings or Settings()
    cache_dir = tempfile.mkdtemp(prefix="policydsl-serve-")

    @asynccontextmanager
    async def lifespan(_app):
        yield
        shutil.rmtree(cache_dir, ignore_errors=True)  # the stored policies checked out for the API

    app = FastAPI(title="policydsl decisions", version="1", docs_url="/api/docs", redoc_url=None,
                  openapi_url="/openapi.json", lifespan=lifespan,
                  description="Evaluate records against published policies, explain them, and read batch "
                              "summaries. Every call needs an API token (`policydsl tokens add NAME`).")
    app.state.store, app.state.settings = store, settings
    app.state.limiter = security.RateLimiter()
    app.state.cache_dir = cache_dir
    app.state.policies, app.state.policies_lock = {}, threading.Lock()
    app.state.batches = {}
    app.state.jobs = {}
    app.state.upload_dir = _upload_dir(store, settings)
    _spool_in_memory(settings.max_upload_bytes)
    key = hmac.new(store.key, b"session-cookie", "sha256").hexdigest()
    app.add_middleware(SessionMiddleware, secret_key=key, session_cookie="policydsl_session", max_age=8 * 3600,
                       same_site="lax", https_only=settings.secure_cookies)
    app.add_middleware(security.SecurityHeaders)
    app.add_middleware(security.BodyLimit, max_bytes=settings.max_upload_bytes + 64 * 1024)
    _error_handlers(app)
    _citizen_routes(app)
    _official_routes(app)
    _api_routes(app)
    return app


def _upload_dir(store: Store, settings: Settings) -> Path:
    """Where uploads are kept while a batch is published: inside the store's own folder, never elsewhere."""
    if settings.upload_dir:
        folder = Path(settings.upload_dir)
    elif store.dialect == "sqlite" and store.read.url.database not in (None, "", ":memory:"):
        folder = Path(store.read.url.database).resolve().parent / "policydsl-uploads"
    else:
        folder = Path("policydsl-uploads").resolve()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _spool_in_memory(limit: int) -> None:
    """Keep multipart uploads in memory up to the limit, so none is spooled to the system's temp folder."""
    from starlette.formparsers import MultiPartParser
    MultiPartParser.spool_max_size = limit


# ------------------------------------------------------------------------------------------------ helpers

def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _lang(request: Request) -> str:
    lang = request.session.get("lang", "zh")
    return lang if lang in TEXTS else "zh"


def _page(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    """A page with the context every template needs (texts, language, CSRF token, settings)."""
    lang = context.pop("lang", None) or _lang(request)
    html = render(template, t=TEXTS[lang], lang=lang, csrf=security.csrf_token(request.session),
                  settings=request.app.state.settings, **context)
    return HTMLResponse(html, status_code=status)


def _check_csrf(request: Request, token: str | None) -> None:
    if not security.csrf_ok(request.session, token):
        raise _Refused(403, "csrf")


def _store(request: Request) -> Store:
    return request.app.state.store


def _sealed_batch(request: Request, batch_id: int):
    """A published batch, read once per process: a sealed batch never changes (append-only), so it is cached."""
    cache = request.app.state.batches
    found = cache.get(batch_id)
    if found is None:
        found = batches.get_batch(_store(request), batch_id)
        if found is not None:
            cache[batch_id] = found
    return found


def _log(request: Request, kind: str, actor: str, action: str, **kwargs) -> None:
    """One access-log entry in the store, and a line in the server log with personal fields masked."""
    access.record(_store(request), kind, actor, action, client=_client(request), **kwargs)
    LOG.info("%s %s %s batch=%s record=%s ok=%s", kind, security.mask(actor) if kind == "citizen" else actor,
             action, kwargs.get("batch_id"), security.mask(kwargs.get("record_id")), kwargs.get("ok", True))


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(_Refused)
    async def refused(request: Request, exc: _Refused):
        if exc.key == "official_login":
            return RedirectResponse("/official/login", status_code=303)
        return _page(request, "error.html", exc.status, message_key=exc.key)

    @app.exception_handler(StoreError)
    async def unavailable(request: Request, exc: StoreError):
        LOG.error("store unavailable: %s", exc)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "the decision store is unavailable"}, status_code=503)
        return _page(request, "error.html", 503, message_key="unavailable")

    @app.exception_handler(404)
    async def not_found(request: Request, exc):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": getattr(exc, "detail", "not found")}, status_code=404)
        return _page(request, "error.html", 404, message_key="not_found")

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception):
        LOG.exception("request failed: %s %s", request.method, request.url.path)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "internal error"}, status_code=500)
        return _page(request, "error.html", 500, message_key="server_error")

    @app.get("/healthz", include_in_schema=False)
    def health(request: Request):
        """200 when the store answers, 503 otherwise (for the load balancer and monitoring)."""
        try:
            with _store(request).reading() as conn:
                conn.exec_driver_sql("SELECT 1")
        except StoreError:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})


# ------------------------------------------------------------------------------------------------ citizens

def _citizen(request: Request):
    """(batch, decision) of the signed-in citizen, or refuse. The session names exactly one decision."""
    held = request.session.get("citizen")
    if not held:
        raise _Refused(403, "forbidden")
    if time.time() - held.get("seen", 0) > CITIZEN_IDLE_S:
        request.session.pop("citizen", None)
        raise _Refused(403, "session_expired")
    batch = _sealed_batch(request, held["batch"])
    decision = batches.get_decision(_store(request), held["batch"], held["record"]) if batch else None
    if decision is None:
        request.session.pop("citizen", None)
        raise _Refused(403, "forbidden")
    held["seen"] = time.time()
    request.session["citizen"] = held
    return batch, decision


def _citizen_routes(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, batch: str = "", lang: str | None = None):
        if lang in TEXTS:
            request.session["lang"] = lang
        return _page(request, "lookup.html", batch=batch if batch.isdigit() else "", record="", error=None)

    @app.get("/lang/{lang}", include_in_schema=False)
    def switch(request: Request, lang: str, back: str = "/"):
        if lang in TEXTS:
            request.session["lang"] = lang
        return RedirectResponse("/my" if back == "/my" else "/", status_code=303)

    @app.post("/lookup", response_class=HTMLResponse, include_in_schema=False)
    def lookup(request: Request, batch: str = Form(""), record: str = Form(""), code: str = Form(""),
               csrf: str = Form("")):
        _check_csrf(request, csrf)
        return _lookup(request, batch.strip(), record.strip(), code)

    @app.get("/my", response_class=HTMLResponse, include_in_schema=False)
    def mine(request: Request, filed: str | None = None):
        batch, decision = _citizen(request)
        lang = _lang(request)
        _log(request, "citizen", decision.record_id, "decision.read", batch_id=batch.id,
             record_id=decision.record_id, detail=lang)
        return _decision_page(request, batch, decision, lang, filed)

    @app.get("/my/letter", include_in_schema=False)
    def letter(request: Request):
        from .letters import letter_html
        batch, decision = _citizen(request)
        lang = _lang(request)
        settings = request.app.state.settings
        html = letter_html(_store(request), batch, decision, settings.base_url, lang, show_code=False,
                           office=settings.office)
        _log(request, "citizen", decision.record_id, "letter.download", batch_id=batch.id,
             record_id=decision.record_id)
        name = f"decision-{batch.id}-{lang}.html"
        return HTMLResponse(html, headers={"content-disposition": f'attachment; filename="{name}"'})

    @app.post("/my/objections", include_in_schema=False)
    def object_(request: Request, kind: str = Form(...), text: str = Form(""), contact: str = Form(""),
                csrf: str = Form("")):
        _check_csrf(request, csrf)
        batch, decision = _citizen(request)
        try:
            uid = objections.file(_store(request), decision, kind, text, contact, _lang(request), _client(request))
        except objections.ObjectionError as exc:
            return _decision_page(request, batch, decision, _lang(request), None, error=str(exc), status=400)
        return RedirectResponse(f"/my?filed={uid}#objections", status_code=303)

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: str = Form("")):
        _check_csrf(request, csrf)
        lang = _lang(request)
        request.session.clear()
        request.session["lang"] = lang
        return RedirectResponse("/", status_code=303)


def _lookup(request: Request, batch_text: str, record: str, code: str) -> HTMLResponse:
    """Check batch + id + code under the rate limits; on success the session holds that one decision."""
    limiter: security.RateLimiter = request.app.state.limiter
    # "01" and "1" are one batch: the key uses the number, so spelling it differently buys no extra guesses.
    number = str(int(batch_text)) if batch_text.isdigit() and len(batch_text) < 10 else batch_text
    client_key, record_key = ("client", _client(request)), ("record", number, record)
    t = TEXTS[_lang(request)]
    if limiter.blocked(client_key, security.PER_CLIENT) or limiter.blocked(record_key, security.PER_RECORD):
        _log(request, "citizen", record or "?", "lookup.limited", record_id=record or None, ok=False,
             batch_id=int(batch_text) if batch_text.isdigit() and len(batch_text) < 10 else None)
        message = t["rate_limited"].format(minutes=security.PER_RECORD.window_s // 60)
        return _page(request, "lookup.html", 429, batch=batch_text, record=record, error=message)
    batch = _sealed_batch(request, int(batch_text)) if batch_text.isdigit() and len(batch_text) < 10 else None
    decision = batches.get_decision(_store(request), batch.id, record) if batch and record else None
    # The code is checked even when there is no such person, so that time does not tell which ids exist.
    good = matches(_store(request).key, batch.uid if batch else "-", record, code) and decision is not None
    if not good:
        limiter.fail(client_key, security.PER_CLIENT)
        limiter.fail(record_key, security.PER_RECORD)
        _log(request, "citizen", record or "?", "lookup.failed", batch_id=batch.id if batch else None,
             record_id=record or None, ok=False)
        return _page(request, "lookup.html", 401, batch=batch_text, record=record, error=t["lookup_failed"])
    limiter.clear(record_key)
    lang = _lang(request)
    request.session.clear()  # a new identity gets a new session (and a new CSRF token)
    request.session.update(lang=lang, citizen={"batch": batch.id, "record": decision.record_id, "seen": time.time()})
    _log(request, "citizen", decision.record_id, "lookup.ok", batch_id=batch.id, record_id=decision.record_id)
    return RedirectResponse("/my", status_code=303)


_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S)
_STYLE = re.compile(r"<style>.*?</style>", re.S)


def _explanation_parts(page: str) -> tuple[Markup, Markup]:
    """(style, body) of a stored explanation page, to show inside the decision page.

    The page was rendered by `explain`'s own autoescaped templates at publish time (every value escaped there),
    so its markup is trusted as it is; nothing typed by a user is in it."""
    style = _STYLE.search(page)
    body = _BODY.search(page)
    return Markup(style.group(0) if style else ""), Markup(body.group(1) if body else page)


def _decision_page(request: Request, batch, decision, lang: str, filed: str | None, error: str | None = None,
                   status: int = 200) -> HTMLResponse:
    style, body = _explanation_parts(decision.explanation(_store(request), lang))
    mine = objections.of_decision(_store(request), decision.id)
    notice = None
    if filed:
        just = next((o for o in mine if o.uid == filed), None)
        if just is not None:
            notice = TEXTS[lang]["objection_filed"].format(kind=KIND_WORDS[lang][just.kind],
                                                           time=local_time(just.filed_at), uid=just.uid[:8])
    headlines = decision.trace.get("headlines", {}).get(lang, [])
    return _page(request, "decision.html", status, lang=lang, batch=batch, decision=decision, style=style,
                 explanation=body, objections=mine, notice=notice, error=error, headlines=headlines)


# ------------------------------------------------------------------------------------------------ officials

def _official(request: Request, role: str | None = None) -> accounts.User:
    """The signed-in official (holding `role`, if given), else refuse."""
    user_id = request.session.get("official")
    user = accounts.get_user(_store(request), user_id) if user_id else None
    if user is None:
        raise _Refused(401, "official_login")
    if role is not None and not user.can(role):
        _log(request, "official", user.name, f"refused.{role}", ok=False, detail=request.url.path)
        raise _Refused(403, "official_forbidden")
    return user


def _official_page(request: Request, template: str, user, status: int = 200, **context) -> HTMLResponse:
    return _page(request, template, status, lang="zh", user=user, **context)


def _policy_choices(settings: Settings) -> list[str]:
    """The policy files officials may publish: every *.policy under the configured folder with a `policy` header
    (libraries such as base.policy, which only other files import, decide nothing), as relative paths."""
    root = Path(settings.policies_dir)
    if not root.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.policy") if _has_header(p))


_HEADER = re.compile(r"^(?:policy|政策)\s", re.MULTILINE)


def _has_header(path: Path) -> bool:
    try:
        return _HEADER.search(path.read_text(encoding="utf-8", errors="replace")) is not None
    except OSError:
        return False


def _official_routes(app: FastAPI) -> None:
    @app.get("/official/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request):
        return _page(request, "official_login.html", lang="zh", error=None, name="")

    @app.post("/official/login", include_in_schema=False)
    def login(request: Request, name: str = Form(""), password: str = Form(""), csrf: str = Form("")):
        _check_csrf(request, csrf)
        limiter: security.RateLimiter = request.app.state.limiter
        key = ("login", _client(request), name)
        if limiter.blocked(key, security.PER_LOGIN):
            _log(request, "official", name or "?", "login.limited", ok=False)
            return _page(request, "official_login.html", 429, lang="zh", name=name,
                         error="登录失败次数过多，请 15 分钟后再试。")
        user = accounts.authenticate(_store(request), name, password)
        if user is None:
            limiter.fail(key, security.PER_LOGIN)
            _log(request, "official", name or "?", "login.failed", ok=False)
            return _page(request, "official_login.html", 401, lang="zh", name=name, error="用户名或密码不正确。")
        limiter.clear(key)
        request.session.clear()
        request.session.update(official=user.id, lang="zh")
        _log(request, "official", user.name, "login.ok")
        return RedirectResponse("/official", status_code=303)

    @app.post("/official/logout", include_in_schema=False)
    def official_logout(request: Request, csrf: str = Form("")):
        _check_csrf(request, csrf)
        request.session.clear()
        return RedirectResponse("/official/login", status_code=303)

    @app.get("/official", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(request: Request):
        user = _official(request, "viewer")
        return _official_page(request, "official_home.html", user, batches=batches.list_batches(_store(request)),
                              choices=_policy_choices(request.app.state.settings),
                              open_objections=[o for o in objections.of_batch(_store(request))
                                               if o.status in ("received", "in_review")],
                              error=None, today=date.today().isoformat(), related_slots=RELATED_SLOTS)

    @app.post("/official/publish", include_in_schema=False)
    async def publish_batch(request: Request, policy: str = Form(""), as_of: str = Form(""),
                            records: UploadFile = File(...), csrf: str = Form("")):
        _check_csrf(request, csrf)
        user = _official(request, "publisher")
        return await _publish(request, user, policy, as_of, records)

    @app.get("/official/jobs/{job_id}", include_in_schema=False)
    def job_page(request: Request, job_id: str):
        user = _official(request, "publisher")
        job = request.app.state.jobs.get(job_id)
        if job is None or (job.user != user.name and not user.can("admin")):
            raise _Refused(404, "not_found")
        if job.finished.is_set():
            return _job_answer(request, user, job)
        return _official_page(request, "official_job.html", user, job=job, error=None)

    @app.get("/official/batches/{batch_id}", response_class=HTMLResponse, include_in_schema=False)
    def batch_page(request: Request, batch_id: int):
        from ..store.history import diff_batches
        user = _official(request, "viewer")
        batch = _batch_or_404(request, batch_id)
        previous = batches.previous_batch(_store(request), batch)
        diff = diff_batches(_store(request), previous, batch) if previous else None
        _log(request, "official", user.name, "batch.read", batch_id=batch.id)
        return _official_page(request, "official_batch.html", user, batch=batch, previous=previous, diff=diff,
                              objections=objections.of_batch(_store(request), batch.id))

    @app.get("/official/batches/{batch_id}/compare", response_class=HTMLResponse, include_in_schema=False)
    def batch_compare(request: Request, batch_id: int):
        from ..store.replay import compare_batches
        user = _official(request, "viewer")
        batch = _batch_or_404(request, batch_id)
        previous = batches.previous_batch(_store(request), batch)
        if previous is None:
            raise _Refused(404, "not_found")
        _log(request, "official", user.name, "batch.compare", batch_id=batch.id, detail=f"with {previous.id}")
        return HTMLResponse(compare_batches(_store(request), previous.id, batch.id).to_html())

    @app.get("/official/batches/{batch_id}/letters", include_in_schema=False)
    def letters_zip(request: Request, batch_id: int):
        user = _official(request, "publisher")
        batch = _batch_or_404(request, batch_id)
        _log(request, "official", user.name, "letters.download", batch_id=batch.id)
        path = _letters_zip(request, batch)
        return FileResponse(path, media_type="application/zip", filename=f"letters-batch-{batch.id}.zip",
                            background=BackgroundTask(path.unlink, missing_ok=True))

    @app.get("/official/objections/{objection_id}", response_class=HTMLResponse, include_in_schema=False)
    def objection_page(request: Request, objection_id: int):
        user = _official(request, "reviewer")
        return _objection_page(request, user, objection_id)

    @app.post("/official/objections/{objection_id}/answer", include_in_schema=False)
    def answer(request: Request, objection_id: int, status: str = Form(""), text: str = Form(""),
               csrf: str = Form("")):
        _check_csrf(request, csrf)
        user = _official(request, "reviewer")
        try:
            objections.answer(_store(request), objection_id, status, text, user.display_name or user.name,
                              _client(request))
        except objections.ObjectionError as exc:
            return _objection_page(request, user, objection_id, error=str(exc), status=400)
        return RedirectResponse(f"/official/objections/{objection_id}", status_code=303)

    @app.get("/official/access", response_class=HTMLResponse, include_in_schema=False)
    def access_page(request: Request):
        user = _official(request, "admin")
        return _official_page(request, "official_access.html", user, entries=access.recent(_store(request)))


def _batch_or_404(request: Request, batch_id: int):
    batch = batches.get_batch(_store(request), batch_id)
    if batch is None:
        raise _Refused(404, "not_found")
    return batch


def _objection_page(request: Request, user, objection_id: int, error: str | None = None, status: int = 200):
    found = objections.get(_store(request), objection_id)
    if found is None:
        raise _Refused(404, "not_found")
    decision = batches.get_decision(_store(request), found.batch_id, found.record_id)
    style, body = _explanation_parts(decision.explanation(_store(request), "zh"))
    _log(request, "official", user.name, "objection.read", batch_id=found.batch_id, record_id=found.record_id)
    return _official_page(request, "official_objection.html", user, status, objection=found, decision=decision,
                          style=style, explanation=body, error=error, statuses=objections.STATUSES)


RELATED_SLOTS = 3  # related-records files the form offers (a policy with more is published with the CLI)


async def _publish(request: Request, user, policy: str, as_of: str, records: UploadFile):
    """Save the uploads inside the store's folder under generated names, publish, remove the uploads."""
    from starlette.concurrency import run_in_threadpool
    settings: Settings = request.app.state.settings
    store = _store(request)

    def again(message: str, status: int = 400):
        return _official_page(request, "official_home.html", user, status, batches=batches.list_batches(store),
                              choices=_policy_choices(settings), open_objections=[], error=message,
                              today=date.today().isoformat(), related_slots=RELATED_SLOTS)

    if policy not in _policy_choices(settings):
        return again("请从列表中选择一个政策文件。")
    try:
        when = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        return again("评估日期格式应为 2024-12-31。")
    uploads = [("", records)]
    form = await request.form()
    for i in range(1, RELATED_SLOTS + 1):
        field, upload = str(form.get(f"related_field_{i}") or "").strip(), form.get(f"related_file_{i}")
        if field and getattr(upload, "filename", ""):
            uploads.append((field, upload))
        elif field or getattr(upload, "filename", ""):
            return again(f"第 {i} 个关联记录须同时填写字段名并选择文件。")
    for _, upload in uploads:
        if Path(upload.filename or "").suffix.lower() not in RECORD_SUFFIXES:
            return again(f"记录文件须为 {'、'.join(RECORD_SUFFIXES)} 格式之一。")
    saved: list[Path] = []
    try:
        for _, upload in uploads:
            saved.append(await _save(request, upload))
    except BaseException:
        for path in saved:
            path.unlink(missing_ok=True)
        raise
    original = re.sub(r"[^\w.\-]", "_", Path(records.filename or "records").name)[:100]
    job = _Job(secrets.token_urlsafe(12), user.name, policy, saved)
    request.app.state.jobs[job.id] = job
    related = {field: str(path) for (field, _), path in zip(uploads[1:], saved[1:])}
    client = _client(request)
    threading.Thread(target=_run_job, daemon=True, name=f"publish-{job.id}", args=(
        job, store, str(Path(settings.policies_dir) / policy), when, related, settings.why_not, original,
        client, settings.policies_dir)).start()
    # A small batch is done in a moment: show it at once. A large one goes on in the background, and the
    # official follows it on a page that reloads itself (no JavaScript needed).
    await run_in_threadpool(job.finished.wait, PUBLISH_WAIT_S)
    return _job_answer(request, user, job, again)


PUBLISH_WAIT_S = 20


@dataclass
class _Job:
    """A publish running in the background: how far it is, and how it ended."""

    id: str
    user: str
    policy: str
    uploads: list[Path]
    done: int = 0
    batch_id: int | None = None
    error: str | None = None
    finished: threading.Event = dataclasses.field(default_factory=threading.Event)


def _run_job(job: _Job, store: Store, policy_path: str, when, related, why_not: bool, input_name: str,
             client: str, allow: str) -> None:
    """Publish in a thread of its own; the uploads are removed whatever happens."""
    def progress(n: int) -> None:
        job.done += n

    try:
        # The policies folder is allowed as a whole: a county policy imports the shared base beside its folder.
        batch = batches.publish(store, policy_path, str(job.uploads[0]), as_of=when, related=related,
                                created_by=job.user, why_not=why_not, input_name=input_name, progress=progress,
                                allow=(allow,))
        job.batch_id = batch.id
        access.record(store, "official", job.user, "batch.publish", batch_id=batch.id, client=client,
                      detail=job.policy)
    except (batches.PublishError, StoreError) as exc:
        job.error = _paths_hidden(str(exc), job.uploads)
        access.record(store, "official", job.user, "batch.publish", ok=False, client=client, detail=job.error[:500])
    except Exception as exc:  # a bug: logged with its traceback, reported to the official in words
        LOG.exception("publishing failed")
        job.error = f"内部错误（{type(exc).__name__}），请联系系统管理员。"
    finally:
        for path in job.uploads:
            path.unlink(missing_ok=True)
        job.finished.set()


def _job_answer(request: Request, user, job: _Job, again=None):
    """The batch once published, the error if it failed, else the progress page."""
    if job.batch_id is not None:
        return RedirectResponse(f"/official/batches/{job.batch_id}", status_code=303)
    if job.error is not None:
        message = f"未能发布：{job.error}"
        if again is not None:
            return again(message)
        return _official_page(request, "official_job.html", user, 400, job=job, error=message)
    return RedirectResponse(f"/official/jobs/{job.id}", status_code=303)


async def _save(request: Request, upload: UploadFile) -> Path:
    """An upload written into the store's upload folder under a generated name (its own name is never a path)."""
    suffix = Path(upload.filename or "").suffix.lower()
    path = request.app.state.upload_dir / f"upload-{secrets.token_hex(12)}{suffix}"
    with path.open("wb") as handle:
        while chunk := await upload.read(1 << 20):
            handle.write(chunk)
    return path


def _paths_hidden(message: str, saved: list[Path]) -> str:
    """A message about uploaded files without the server's folder names in it."""
    for path in saved:
        message = message.replace(str(path), "上传的文件").replace(path.name, "上传的文件")
    return message


def _letters_zip(request: Request, batch) -> Path:
    """Every letter of a batch (with the codes) in a ZIP written in the store's folder (memory stays small however
    many letters), files named by record id, plus an index; the caller removes it once sent."""
    import zipfile

    from ..explain import file_name
    from .letters import letter_html
    settings: Settings = request.app.state.settings
    path = request.app.state.upload_dir / f"letters-{secrets.token_hex(12)}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        lines = ["file\trecord\tname"]
        for decision in batches.decisions_of(_store(request), batch.id):
            name = file_name(decision.record_id, "html")
            archive.writestr(name, letter_html(_store(request), batch, decision, settings.base_url, "zh",
                                               office=settings.office))
            lines.append(f"{name}\t{decision.record_id}\t{decision.label or ''}")
        archive.writestr("index.tsv", "\n".join(lines) + "\n")
    return path


# ------------------------------------------------------------------------------------------------ the JSON API

_bearer = HTTPBearer(auto_error=False, description="An API token from `policydsl tokens add NAME`.")


def _program(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> str:
    """The name of the calling program's token, else 401."""
    name = accounts.token_name(_store(request), credentials.credentials) if credentials else None
    if name is None:
        raise HTTPException(401, "a valid API token is needed (Authorization: Bearer …)",
                            headers={"WWW-Authenticate": "Bearer"})
    return name


class RecordIn(BaseModel):
    """One record, its fields as a records file would hold them (related records inline as lists)."""

    record: dict = Field(..., examples=[{"编号": "X1", "姓名": "张三", "年度考核": "优秀"}])
    lang: str = Field("zh", pattern="^(zh|en)$")


class BatchOut(BaseModel):
    id: int
    policy_name: str
    policy_title: str | None
    policy_hash: str
    as_of: str
    input_name: str
    input_hash: str
    engine: str
    engine_version: str
    created_at: str
    sealed_at: str
    record_count: int
    ok_count: int
    failed_count: int
    summaries: dict
    totals: dict
    params: list[dict]


class EvaluationOut(BaseModel):
    batch: int
    record_id: str
    ok: bool
    error: str | None
    outcomes: dict


def _batch_out(b) -> BatchOut:
    data = {k: v for k, v in dataclasses.asdict(b).items() if k in BatchOut.model_fields}
    data["params"] = list(b.params)
    return BatchOut(**data)


def _compiled(request: Request, batch_id: int):
    """(batch, policy, engine) of a batch, checked once per process from the stored files."""
    from ..engines.row import Engine
    from ..store.replay import ReplayError, stored_policy
    cache = request.app.state.policies
    with request.app.state.policies_lock:
        if batch_id not in cache:
            try:
                batch, policy = stored_policy(_store(request), batch_id, request.app.state.cache_dir)
            except ReplayError as exc:
                raise HTTPException(404, str(exc)) from None
            cache[batch_id] = (batch, policy, Engine(policy))
        return cache[batch_id]


def _convert(policy, raw: dict):
    from ..engines.records import convert_record
    record, errors = convert_record(raw, policy.subject, policy.records, "request")
    if errors:
        raise HTTPException(422, [e.render() for e in errors])
    return record


def _among_batch(request: Request, batch_id: int, policy, record) -> list[tuple[str, dict]]:
    """For a policy whose rules compare records with each other: the batch's stored records with `record` in
    place of the stored one of the same id (or added at the end) — the people it is evaluated among."""
    from ..engines.records import convert_record
    people = []
    for d in batches.decisions_of(_store(request), batch_id):
        if d.record_id == record.id:
            continue
        stored, errors = convert_record(d.inputs, policy.subject, policy.records, f"batch {batch_id}")
        if not errors:
            people.append((stored.id, stored.values))
    return people + [(record.id, record.values)]


def _api_routes(app: FastAPI) -> None:
    @app.get("/api/v1/batches", response_model=list[BatchOut], tags=["batches"])
    def api_batches(request: Request, program: str = Depends(_program)):
        """Every published batch, newest first."""
        _log(request, "api", program, "api.batches")
        return [_batch_out(b) for b in batches.list_batches(_store(request))]

    @app.get("/api/v1/batches/{batch_id}", response_model=BatchOut, tags=["batches"])
    def api_batch(request: Request, batch_id: int, program: str = Depends(_program)):
        """A batch's summary: counts, totals of each outcome, the policy's summaries, the params in force."""
        batch = batches.get_batch(_store(request), batch_id)
        if batch is None:
            raise HTTPException(404, f"there is no published batch {batch_id}")
        _log(request, "api", program, "api.batch", batch_id=batch_id)
        return _batch_out(batch)

    @app.post("/api/v1/batches/{batch_id}/evaluate", response_model=EvaluationOut, tags=["evaluate"])
    def api_evaluate(request: Request, batch_id: int, body: RecordIn, program: str = Depends(_program)):
        """Evaluate one record against the batch's policy, as of the batch's date (nothing is stored).

        Where the policy compares records with each other (ranks, shares, apportionments), the record is evaluated
        among the batch's records, in place of the stored record with its id."""
        from ..store.canonical import jsonable
        batch, policy, engine = _compiled(request, batch_id)
        record = _convert(policy, body.record)
        when = date.fromisoformat(batch.as_of)
        if engine.cross:  # a rank or a share means something only among the others: the batch's people
            result = engine.run(_among_batch(request, batch_id, policy, record), when).results[-1]
        else:
            result = engine.evaluate(record.values, when, record_id=record.id)
        _log(request, "api", program, "api.evaluate", batch_id=batch_id)
        return EvaluationOut(batch=batch_id, record_id=record.id, ok=result.ok, error=result.error,
                             outcomes=jsonable(result.values))

    @app.post("/api/v1/batches/{batch_id}/explain", tags=["evaluate"])
    def api_explain(request: Request, batch_id: int, body: RecordIn, program: str = Depends(_program)):
        """Evaluate one record and explain every outcome (reasons, figures, what would change it) in zh or en."""
        from ..explain import Explainer
        from ..store.canonical import jsonable
        batch, policy, engine = _compiled(request, batch_id)
        record = _convert(policy, body.record)
        when = date.fromisoformat(batch.as_of)
        with request.app.state.policies_lock:
            # One Explainer per batch and language (building one checks the templates); an Explainer and the
            # traced engine keep state while they work, so one explanation of a batch at a time.
            cache = request.app.state.policies
            if (batch_id, body.lang) not in cache:
                cache[(batch_id, body.lang)] = Explainer(policy, engine, body.lang)
            explainer = cache[(batch_id, body.lang)]
            busy = cache.setdefault((batch_id, "busy"), threading.Lock())  # both languages share the engine
        with busy:
            if engine.cross:  # explained among the batch's people
                explainer.among(_among_batch(request, batch_id, policy, record), when)
            x = explainer.explain_values(record.values, record.id, when)
        _log(request, "api", program, "api.explain", batch_id=batch_id)
        return JSONResponse(json.loads(json.dumps(jsonable(dataclasses.asdict(x)), ensure_ascii=False)))

    @app.get("/api/v1/health", tags=["service"])
    def api_health(request: Request):
        """Whether the decision store answers (no token needed)."""
        with _store(request).reading() as conn:
            conn.exec_driver_sql("SELECT 1")
        return {"status": "ok"}
