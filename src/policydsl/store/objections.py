"""Objections (申诉, appeal; 复核, review) a person files against their decision, and officials' answers.

Append-only like everything recorded: an answer is a new row, and an objection's status is that of its latest
answer ("received" while it has none). Both are chained into the ledger.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from . import models as m
from .access import log
from .ledger import now, record_row

KINDS = ("appeal", "review")                       # 申诉, 复核
STATUSES = ("in_review", "upheld", "changed", "rejected")
MAX_TEXT = 4000


class ObjectionError(Exception):
    """An objection or answer cannot be recorded (empty, too long, unknown kind or status); for users."""


@dataclass(frozen=True)
class Answer:
    status: str
    text: str
    answered_by: str
    answered_at: str


@dataclass(frozen=True)
class Objection:
    id: int
    uid: str
    decision_id: int
    batch_id: int
    record_id: str
    label: str | None
    kind: str
    text: str
    contact: str | None
    lang: str
    filed_at: str
    answers: tuple[Answer, ...]

    @property
    def status(self) -> str:
        return self.answers[-1].status if self.answers else "received"


def _clean(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ObjectionError(f"the {what} is empty")
    if len(text) > MAX_TEXT:
        raise ObjectionError(f"the {what} is longer than {MAX_TEXT} characters")
    return text


def file(store, decision, kind: str, text: str, contact: str | None, lang: str, client: str | None = None) -> str:
    """Record an objection to `decision` (a `batches.Decision`); returns its uid."""
    if kind not in KINDS:
        raise ObjectionError(f"unknown kind of objection '{kind}' (choose {', '.join(KINDS)})")
    body = _clean(text, "objection")
    contact = (contact or "").strip()[:200] or None
    uid = str(uuid.uuid4())
    with store.writing() as conn:
        record_row(conn, m.objections, {"uid": uid, "decision_id": decision.id, "kind": kind, "text": body,
                                        "contact": contact, "lang": lang if lang in ("zh", "en") else "zh",
                                        "filed_at": now()})
        log(conn, "citizen", decision.record_id, "objection.file", batch_id=decision.batch_id,
            record_id=decision.record_id, client=client)
    return uid


def answer(store, objection_id: int, status: str, text: str, by: str, client: str | None = None) -> None:
    """Record an official's answer to an objection."""
    if status not in STATUSES:
        raise ObjectionError(f"unknown status '{status}' (choose {', '.join(STATUSES)})")
    body = _clean(text, "answer")
    found = get(store, objection_id)
    if found is None:
        raise ObjectionError(f"there is no objection {objection_id}")
    with store.writing() as conn:
        record_row(conn, m.objection_answers, {"objection_id": objection_id, "status": status, "text": body,
                                               "answered_by": by, "answered_at": now()})
        log(conn, "official", by, "objection.answer", batch_id=found.batch_id, record_id=found.record_id,
            client=client, detail=status)


def _query():
    d = m.decisions
    return (select(m.objections, d.c.batch_id, d.c.record_id, d.c.label)
            .join(d, d.c.id == m.objections.c.decision_id))


def _build(conn, rows) -> list[Objection]:
    ids = [r.id for r in rows]
    answers: dict[int, list[Answer]] = {i: [] for i in ids}
    if ids:
        for a in conn.execute(select(m.objection_answers).where(m.objection_answers.c.objection_id.in_(ids))
                              .order_by(m.objection_answers.c.id)):
            answers[a.objection_id].append(Answer(a.status, a.text, a.answered_by, a.answered_at))
    return [Objection(r.id, r.uid, r.decision_id, r.batch_id, r.record_id, r.label, r.kind, r.text, r.contact,
                      r.lang, r.filed_at, tuple(answers[r.id])) for r in rows]


def of_decision(store, decision_id: int) -> list[Objection]:
    """The objections filed against one decision, oldest first."""
    with store.reading() as conn:
        rows = conn.execute(_query().where(m.objections.c.decision_id == decision_id)
                            .order_by(m.objections.c.id)).all()
        return _build(conn, rows)


def of_batch(store, batch_id: int | None = None) -> list[Objection]:
    """Every objection (of one batch, or of all), newest first."""
    query = _query().order_by(m.objections.c.id.desc())
    if batch_id is not None:
        query = query.where(m.decisions.c.batch_id == batch_id)
    with store.reading() as conn:
        return _build(conn, conn.execute(query).all())


def get(store, objection_id: int) -> Objection | None:
    with store.reading() as conn:
        rows = conn.execute(_query().where(m.objections.c.id == objection_id)).all()
        found = _build(conn, rows)
    return found[0] if found else None
