"""What changed from one batch to the next, person by person, straight from the stored decisions.

Nothing is re-evaluated: the two batches' stored outcomes are matched by record id. That answers an official's
question "who gets something different this time" whatever changed — the policy, the data or the date — while
`replay.compare_batches` separates out the effect of the policy alone (both policies on the new data).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from . import models as m
from .batches import BatchInfo

MAX_LISTED = 500


@dataclass(frozen=True)
class Change:
    record_id: str
    label: str | None
    outcome: str
    before: object
    after: object


@dataclass
class BatchDiff:
    before: BatchInfo
    after: BatchInfo
    same_policy: bool
    added: list[str] = field(default_factory=list)       # record ids only in the later batch
    removed: list[str] = field(default_factory=list)     # record ids only in the earlier batch
    changed_people: int = 0
    changes: list[Change] = field(default_factory=list)  # the first MAX_LISTED
    by_outcome: dict[str, int] = field(default_factory=dict)
    sums: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # outcome → (before, after, after − before)


@dataclass(frozen=True)
class _Stored:
    record_id: str
    label: str | None
    outcomes: dict


def _outcomes(store, batch_id: int):
    """(record id, label, outcomes) of each decision of a batch: only what a comparison needs."""
    d = m.decisions
    query = (select(d.c.record_id, d.c.label, d.c.outcomes_json).where(d.c.batch_id == batch_id)
             .order_by(d.c.position).execution_options(yield_per=2000))
    with store.reading() as conn:
        for row in conn.execute(query):
            yield _Stored(row.record_id, row.label, json.loads(row.outcomes_json))


def diff_batches(store, before: BatchInfo, after: BatchInfo) -> BatchDiff:
    """Per person and per outcome, what differs between two batches' stored outcomes."""
    diff = BatchDiff(before, after, before.policy_hash == after.policy_hash)
    earlier = {d.record_id: d for d in _outcomes(store, before.id)}
    seen = set()
    for d in _outcomes(store, after.id):
        seen.add(d.record_id)
        old = earlier.get(d.record_id)
        if old is None:
            diff.added.append(d.record_id)
            continue
        differing = [name for name in d.outcomes if name in old.outcomes and old.outcomes[name] != d.outcomes[name]]
        if differing:
            diff.changed_people += 1
        for name in differing:
            diff.by_outcome[name] = diff.by_outcome.get(name, 0) + 1
            if len(diff.changes) < MAX_LISTED:
                diff.changes.append(Change(d.record_id, d.label, name, old.outcomes[name], d.outcomes[name]))
    diff.removed = [r for r in earlier if r not in seen]
    for name, total in after.totals.items():
        if "sum" in total and name in before.totals and "sum" in before.totals[name]:
            try:
                a, b = Decimal(before.totals[name]["sum"]), Decimal(total["sum"])
            except InvalidOperation:
                continue
            diff.sums[name] = (str(a), str(b), str(b - a))
    return diff
