"""What keeps one person's decision from anyone else: rate limits, CSRF tokens, headers, upload limits, masking.

* **Guessing** an access code is limited per person (5 wrong codes for one batch and id in 15 minutes lock that
  id for the rest of the window) and per client address (20 failures in 15 minutes); the limits are kept in the
  process (one uvicorn worker; a county running several behind a proxy puts the limit in the proxy too). With 60
  bits per code, 5 tries a quarter hour leave a guesser no chance.
* **CSRF**: every session holds a random token; every form carries it and every POST is refused without it.
* **Cookies**: the signed session cookie is HttpOnly and SameSite=Lax (Secure behind TLS with
  `--secure-cookies`); a citizen's session ends after 30 minutes without use.
* **Headers**: a Content-Security-Policy with no script source at all (the pages have no JavaScript), no framing,
  no referrer, no MIME sniffing, no caching of personal pages.
* **Uploads** are refused past a size limit while they are being received, kept in memory until then, and written
  only into the store's own upload folder under a generated name.
* **Logs** never carry a personal field: ids are masked (`JY0**`) in the server log; the full id is only in the
  store's access log, which only officials read.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


@dataclass(frozen=True)
class Limit:
    attempts: int
    window_s: float


PER_RECORD = Limit(5, 15 * 60)
PER_CLIENT = Limit(20, 15 * 60)
PER_LOGIN = Limit(5, 15 * 60)


class RateLimiter:
    """Counts failures per key in a sliding window; `blocked(key)` once the limit is reached."""

    def __init__(self):
        self._failures: dict[tuple, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple, limit: Limit, now: float) -> deque[float]:
        found = self._failures.setdefault(key, deque())
        while found and now - found[0] > limit.window_s:
            found.popleft()
        return found

    def blocked(self, key: tuple, limit: Limit) -> bool:
        with self._lock:
            return len(self._recent(key, limit, time.monotonic())) >= limit.attempts

    def fail(self, key: tuple, limit: Limit) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(key, limit, now).append(now)
            if len(self._failures) > 100_000:  # bounded memory under a flood of distinct keys
                self._failures = {k: v for k, v in self._failures.items() if v and now - v[-1] < limit.window_s}

    def clear(self, key: tuple) -> None:
        with self._lock:
            self._failures.pop(key, None)


def csrf_token(session: dict) -> str:
    """The session's CSRF token (made on first use)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(session: dict, given: str | None) -> bool:
    """Whether a submitted token is the session's (constant-time)."""
    expected = session.get("csrf")
    return bool(expected and given) and hmac.compare_digest(str(expected).encode(), str(given).encode())


def mask(value: str | None) -> str:
    """A personal value as the server log may show it: the first three characters, the rest as '*'."""
    if not value:
        return ""
    return value[:3] + "*" * max(0, len(value) - 3)


class BodyLimit:
    """ASGI middleware: a request body past `max_bytes` is refused with 413 while it is still arriving."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await _too_large(send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await _too_large(send)


class _TooLarge(Exception):
    pass


async def _too_large(send) -> None:
    body = "上传的文件过大。The upload is too large.".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """ASGI middleware adding `HEADERS` to every response, and no-store caching to every page."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
