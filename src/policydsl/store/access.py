"""The access log: who read or did what, when — every citizen look-up, official action and API call.

Each entry is hash-chained (chain `access`), so the log itself is evidence: `audit verify` finds an edited or
deleted entry. A failed look-up is logged too (with the client's address), which is how a county sees guessing.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from . import models as m
from .ledger import now, record_row


def log(conn: Connection, actor_kind: str, actor: str, action: str, *, batch_id: int | None = None,
        record_id: str | None = None, ok: bool = True, client: str | None = None, detail: str | None = None) -> None:
    """Append one entry inside the caller's write transaction."""
    record_row(conn, m.access_log, {"at": now(), "actor_kind": actor_kind, "actor": actor, "action": action,
                                    "batch_id": batch_id, "record_id": record_id, "ok": ok, "client": client,
                                    "detail": detail}, chain="access")


def record(store, actor_kind: str, actor: str, action: str, **kwargs) -> None:
    """Append one entry in its own transaction."""
    with store.writing() as conn:
        log(conn, actor_kind, actor, action, **kwargs)


def recent(store, limit: int = 200, batch_id: int | None = None) -> list[dict]:
    """The latest entries, newest first."""
    query = select(m.access_log).order_by(m.access_log.c.id.desc()).limit(limit)
    if batch_id is not None:
        query = query.where(m.access_log.c.batch_id == batch_id)
    with store.reading() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
