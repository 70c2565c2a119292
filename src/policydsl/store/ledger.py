"""The hash chain over every recorded row, and `verify`, which recomputes it all.

Each recorded row (a batch seal, an objection, an answer, an access-log entry) gets one ledger entry:

    hash = sha256(prev_hash ‖ chain ‖ kind ‖ ref ‖ digest ‖ at)

where `digest` is the hash of the row's content (`canonical.row_digest`). A seal's digest covers its batch row,
every file of the batch and every decision in order, so one seal entry vouches for a whole batch. Two chains:
`record` (batches, objections, answers) and `access` (the access log), so that citizens reading their decisions do
not queue behind an official publishing.

`verify` recomputes every content hash from the rows as they are now and walks both chains: an edited, deleted or
inserted row, an edited ledger entry or a broken link is reported with the table and row id. (Someone able to
rewrite the whole database can rebuild a consistent chain; the head hash `verify` prints is what a county keeps
elsewhere — in a signed report, with its auditor — to rule that out.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, update

from . import models as m
from .canonical import row_digest, sha256

GENESIS = "0" * 64
CHAINS = ("record", "access")


def now() -> str:
    """The current time in UTC, ISO 8601 to the microsecond (how every time is stored)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def content_of(table, row) -> dict[str, object]:
    """The fields of a row that its hash covers: all but its id and its own stored hash."""
    skip = {"row_hash"} | ({"id"} if "id" in table.c else set())
    return {c.name: row._mapping[c.name] for c in table.columns if c.name not in skip}


def link(prev: str, chain: str, kind: str, ref: int, digest: str, at: str) -> str:
    """The hash of one ledger entry."""
    return sha256(f"{prev}|{chain}|{kind}|{ref}|{digest}|{at}")


def append(conn: Connection, chain: str, kind: str, ref: int, digest: str) -> str:
    """Add one entry to `chain` inside the caller's transaction (the head row is locked until it commits)."""
    head = conn.execute(select(m.chain_heads).where(m.chain_heads.c.chain == chain).with_for_update()).first()
    if head is None:  # the migration creates both heads; only a chain added later starts here
        conn.execute(insert(m.chain_heads).values(chain=chain, seq=0, hash=GENESIS))
        head = conn.execute(select(m.chain_heads).where(m.chain_heads.c.chain == chain).with_for_update()).first()
    at = now()
    entry_hash = link(head.hash, chain, kind, ref, digest, at)
    seq = conn.execute(insert(m.ledger).values(chain=chain, kind=kind, ref=ref, digest=digest, prev_hash=head.hash,
                                               hash=entry_hash, at=at)).inserted_primary_key[0]
    conn.execute(update(m.chain_heads).where(m.chain_heads.c.chain == chain).values(seq=seq, hash=entry_hash))
    return entry_hash


def record_row(conn: Connection, table, values: dict[str, object], chain: str = "record") -> int:
    """Insert a row with its content hash and chain it; returns the new row's id."""
    digest = row_digest(values)
    row_id = conn.execute(insert(table).values(**values, row_hash=digest)).inserted_primary_key[0]
    append(conn, chain, table.name, row_id, digest)
    return row_id


# ------------------------------------------------------------------------------------------------ verifying

@dataclass
class VerifyReport:
    """What `verify` found: every problem in words, and the head of each chain."""

    problems: list[str] = field(default_factory=list)
    entries: int = 0
    batches: int = 0
    decisions: int = 0
    heads: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(store) -> VerifyReport:
    """Recompute every recorded row's hash and walk both chains."""
    report = VerifyReport()
    with store.reading() as conn:
        digests = _recomputed(conn, report)
        for chain in CHAINS:
            _walk(conn, chain, digests, report)
        _unchained(conn, digests, report)
    return report


def _recomputed(conn: Connection, report: VerifyReport) -> dict[tuple[str, int], str]:
    """(table, id) → the digest the row's content has now; rows whose stored hash differs are reported."""
    found: dict[tuple[str, int], str] = {}
    for name in ("objections", "objection_answers", "access_log"):
        table = m.RECORDED[name]
        for row in conn.execute(select(table).order_by(table.c.id)):
            found[(name, row.id)] = _checked(table, row, row.id, report)
    for seal in conn.execute(select(m.batch_seals).order_by(m.batch_seals.c.batch_id)):
        report.batches += 1
        found[("batch_seals", seal.batch_id)] = seal_digest(conn, seal.batch_id, report, seal)
    return found


def _checked(table, row, row_id: int, report: VerifyReport | None) -> str:
    digest = row_digest(content_of(table, row))
    if report is not None and digest != row.row_hash:
        report.problems.append(f"{table.name} row {row_id}: its content does not match its recorded hash "
                               "(the row was edited)")
    return digest


def seal_digest(conn: Connection, batch_id: int, report: VerifyReport | None, seal=None) -> str:
    """The digest of a sealed batch as its rows are now: batch row, files, decisions in order, seal fields."""
    parts = RunningHash()
    batch = conn.execute(select(m.batches).where(m.batches.c.id == batch_id)).first()
    if batch is None:
        if report is not None:
            report.problems.append(f"batch {batch_id}: sealed but its batch row is missing")
        return GENESIS
    parts.append(_checked(m.batches, batch, batch_id, report))
    for f in conn.execute(select(m.batch_files).where(m.batch_files.c.batch_id == batch_id)
                          .order_by(m.batch_files.c.id)):
        parts.append(_checked(m.batch_files, f, f.id, report))
        if report is not None and sha256(bytes(f.content)) != f.sha256:
            report.problems.append(f"batch_files row {f.id} ({f.path}): content does not match its sha256")
    for d in conn.execute(select(m.decisions).where(m.decisions.c.batch_id == batch_id)
                          .order_by(m.decisions.c.position)):
        if report is not None:
            report.decisions += 1
        parts.append(_checked(m.decisions, d, d.id, report))
    return batch_digest(parts, _seal_fields(seal) if seal is not None else None)


class RunningHash:
    """sha256 of the row hashes joined by '|', fed one at a time (a batch of 100,000 keeps no list of them)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self._first = True

    def append(self, part: str) -> None:
        self._h.update((part if self._first else "|" + part).encode("ascii"))
        self._first = False

    def extend(self, parts: Iterable[str]) -> None:
        for part in parts:
            self.append(part)

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def batch_digest(parts: RunningHash, seal_fields: dict | None) -> str:
    """Hash of the batch's row hashes in order, then of the seal's own fields (None while sealing)."""
    running = parts.hexdigest()
    return sha256(running + "|" + row_digest(seal_fields)) if seal_fields is not None else running


def _seal_fields(seal) -> dict[str, object]:
    return {k: v for k, v in content_of(m.batch_seals, seal).items() if k != "digest"}


def _walk(conn: Connection, chain: str, digests: dict[tuple[str, int], str], report: VerifyReport) -> None:
    """Follow one chain from the genesis, checking each link and each entry's digest against the row."""
    prev = GENESIS
    for entry in conn.execute(select(m.ledger).where(m.ledger.c.chain == chain).order_by(m.ledger.c.seq)):
        report.entries += 1
        where = f"ledger entry {entry.seq} ({entry.kind} {entry.ref})"
        if entry.prev_hash != prev:
            report.problems.append(f"{where}: does not follow the entry before it (an entry was removed or edited)")
        if link(entry.prev_hash, chain, entry.kind, entry.ref, entry.digest, entry.at) != entry.hash:
            report.problems.append(f"{where}: its own hash is wrong (the entry was edited)")
        now_digest = digests.get((entry.kind, entry.ref))
        if now_digest is None:
            report.problems.append(f"{where}: the row it records is missing (deleted)")
        elif now_digest != entry.digest:
            report.problems.append(f"{where}: the row no longer has the content that was recorded (edited)")
        prev = entry.hash
    head = conn.execute(select(m.chain_heads.c.hash).where(m.chain_heads.c.chain == chain)).scalar()
    report.heads[chain] = prev
    if head is not None and head != prev:
        report.problems.append(f"chain {chain}: its head {head[:12]}… is not its last entry {prev[:12]}…")


def _unchained(conn: Connection, digests: dict[tuple[str, int], str], report: VerifyReport) -> None:
    """Rows with no ledger entry: inserted behind the service's back."""
    chained = {(e.kind, e.ref) for e in conn.execute(select(m.ledger.c.kind, m.ledger.c.ref))}
    for key in sorted(set(digests) - chained):
        report.problems.append(f"{key[0]} row {key[1]}: not in the ledger (inserted outside policydsl)")
