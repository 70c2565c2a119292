"""Publishing a batch (one run of one policy on one input as of one date) and reading it back.

`publish` checks the policy, keeps the text of every file it read (the policy, what it imports or extends, the
lists it looks up), records the parameter values in force with their dates and `assumed` flags, loads the records,
and for each record stores its inputs, outcomes, a trace summary and the explanation pages in Chinese and English.
Records are written in chunks, each its own short transaction, so readers and other publishers are never held up
for long; the batch stays invisible until its seal row is inserted, in one last transaction that also chains it
into the ledger. A run killed half way therefore leaves no visible batch (only unsealed rows, which no query
returns and `discard_unsealed` removes); two officials publishing at once get two whole batches.

Evaluation is by the row evaluator, the reference semantics, which also gives the traces the explanations need.
"""

from __future__ import annotations

import os
import uuid
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, delete, insert, select

from .. import __version__, ir
from ..types import BOOL, DECIMAL, INT, MONEY, PERCENT, EnumType
from . import models as m
from .canonical import dumps, jsonable, row_digest, sha256
from .ledger import RunningHash, append, batch_digest, now

CHUNK = 250  # records per write transaction: a few hundred milliseconds of lock at most
NUMERIC = (MONEY, INT, DECIMAL, PERCENT)
MAX_CATEGORIES = 30  # values of an enum/text outcome counted in the totals; the rest are "others"


class PublishError(Exception):
    """A batch cannot be published (policy errors, unreadable records, no param in force); for users."""


@dataclass(frozen=True)
class BatchInfo:
    """A sealed batch as officials and programs see it."""

    id: int
    uid: str
    policy_name: str
    policy_title: str | None
    policy_file: str
    policy_hash: str
    as_of: str
    input_name: str
    input_hash: str
    engine: str
    engine_version: str
    created_by: str
    created_at: str
    sealed_at: str
    record_count: int
    ok_count: int
    failed_count: int
    data_errors: tuple[str, ...]
    summaries: dict
    totals: dict
    params: tuple[dict, ...]
    related: dict
    options: dict


@dataclass(frozen=True)
class Decision:
    """One person's stored decision."""

    id: int
    batch_id: int
    position: int
    record_id: str
    label: str | None
    ok: bool
    error: str | None
    inputs: dict
    outcomes: dict
    trace: dict

    def explanation(self, store, lang: str) -> str:
        """The stored explanation page (HTML) in `lang`."""
        with store.reading() as conn:
            column = m.decisions.c.explanation_zh if lang == "zh" else m.decisions.c.explanation_en
            data = conn.execute(select(column).where(m.decisions.c.id == self.id)).scalar_one()
        return zlib.decompress(bytes(data)).decode("utf-8")


# ------------------------------------------------------------------------------------------------ publishing

def check(path: str | Path, allow: tuple[str | Path, ...] = ()):
    """(policy or None, error diagnostics, loader) of a policy file: syntax, names, types and cycles, as
    `policydsl check` finds them (the store sits below `api`, so it checks with the stages themselves).

    Files a policy imports must lie in its folder tree, the working directory or an allowed folder (`limits`);
    `allow` adds folders for this check — the service's policies folder, a stored batch's checked-out files."""
    from .. import graph
    from ..limits import ALLOWED_DIRS
    from ..semantics import Loader
    loader = Loader()
    token = ALLOWED_DIRS.set(ALLOWED_DIRS.get() + tuple(str(a) for a in allow))
    try:
        policy = loader.load(str(path))
    finally:
        ALLOWED_DIRS.reset(token)
    errors = [d for d in loader.diags.items if d.severity == "error"]
    if policy is not None:
        errors += graph.cycle_diagnostics(policy, graph.build(policy))
    return (policy if not errors else None), errors, loader


def policy_files(policy_path: str | Path, allow: tuple[str | Path, ...] = ()
                 ) -> tuple[ir.Policy, list[tuple[str, str, bytes]], str]:
    """Check a policy; (policy, [(role, relative path, content)], main file's relative path). Raises PublishError."""
    from ..diagnostics import render_all
    policy, errors, loader = check(policy_path, allow)
    if policy is None:
        raise PublishError(f"{policy_path} has errors:\n" + render_all(errors, loader.sources))
    main = os.path.abspath(os.path.normpath(str(policy_path)))
    files = [("policy" if os.path.abspath(p) == main else "import", os.path.abspath(p)) for p in loader.modules]
    for lst in policy.lists.values():
        files.append(("list", os.path.abspath(Path(lst.span.file).parent / lst.path)))
    root = os.path.commonpath([os.path.dirname(p) for _, p in files])
    out = []
    for role, path in sorted(set(files), key=lambda f: (f[0] != "policy", f[1])):
        out.append((role, Path(os.path.relpath(path, root)).as_posix(), Path(path).read_bytes()))
    return policy, out, Path(os.path.relpath(main, root)).as_posix()


def params_record(policy: ir.Policy, as_of: date) -> list[dict]:
    """Every param: its value in force on `as_of`, that value's start date, citation and `assumed` reason, and
    every dated value it has."""
    from ..engines.row import SetupError, params_in_force
    try:
        chosen = params_in_force(policy, as_of)
    except SetupError as exc:
        raise PublishError(str(exc)) from None
    out = []
    for name, param in policy.params.items():
        pv = chosen[name]
        assumed = pv.notes.assumed
        out.append({"name": name, "type": str(param.type), "value": jsonable(pv.value),
                    "effective": pv.start.isoformat() if pv.start else None,
                    "assumed": assumed.text if assumed else None, "sources": list(pv.notes.sources),
                    "values": [{"from": v.start.isoformat() if v.start else None, "value": jsonable(v.value)}
                               for v in param.values]})
    return out


def publish(store, policy_path: str | Path, records_path: str | Path, *, as_of: date | None = None,
            related: dict[str, str | Path] | None = None, created_by: str = "cli", why_not: bool = True,
            input_name: str | None = None, progress: Callable[[int], None] | None = None,
            allow: tuple[str | Path, ...] = ()) -> BatchInfo:
    """Evaluate `policy_path` on `records_path` and keep the whole batch; returns it once sealed.

    `allow`: folders besides the policy's own tree its imports may come from (the service's policies folder)."""
    from ..engines.records import DataSetupError, RecordStream
    from ..engines.row import Engine
    from ..explain import Explainer, ExplainError
    policy, files, main = policy_files(policy_path, allow)
    engine = Engine(policy)
    when = as_of or engine.default_as_of()
    params = params_record(policy, when)
    related = {k: str(v) for k, v in (related or {}).items()}
    try:
        # Records are read one at a time (bounded memory whatever the file's size), validated as `run` does.
        stream = RecordStream(records_path, policy.subject, policy.records, related)
        explainers = {lang: Explainer(policy, engine, lang, why_not) for lang in ("zh", "en")}
    except (DataSetupError, ExplainError) as exc:
        raise PublishError(str(exc)) from None
    batch_id, uid, parts = _begin(store, policy, files, main, when, records_path, related, params, created_by,
                                  why_not, input_name)
    totals = _Totals(policy)
    position, pending = 0, []
    try:
        for record, result in _evaluated(stream, policy, engine, when):
            pending.append(_decision_row(batch_id, position, record, result, explainers, totals))
            position += 1
            if len(pending) == CHUNK:
                _write_chunk(store, pending, parts, progress)
                pending = []
    except DataSetupError as exc:
        raise PublishError(str(exc)) from None
    _write_chunk(store, pending, parts, progress)
    if position == 0:  # a batch of nobody would only hide the mistake (a wrong file, a wrong policy)
        shown = [_renamed(e.render(), {str(records_path): input_name} if input_name else {})
                 for e in stream.errors[:20]]
        more = f"\n… and {len(stream.errors) - 20} more" if len(stream.errors) > 20 else ""
        raise PublishError(f"no record of {input_name or Path(records_path).name} could be loaded, so nothing was "
                           "published:\n" + "\n".join(shown) + more)
    # Errors name the file as the official knows it, not where an upload was kept on the server.
    shown_as = {str(records_path): input_name} if input_name else {}
    errors = [_renamed(e.render(), shown_as) for e in stream.errors]
    _seal(store, batch_id, parts, total=position + len(stream.failed_ids), ok=totals.ok, errors=errors,
          summaries=_summaries(policy, records_path, related, when), totals=totals.result())
    return get_batch(store, batch_id)


def _renamed(message: str, names: dict[str, str]) -> str:
    for path, name in names.items():
        message = message.replace(path, name)
    return message


def _seal(store, batch_id: int, parts: RunningHash, *, total: int, ok: int, errors: list[str], summaries: dict,
          totals: dict) -> None:
    """The row that makes the batch visible, chained into the ledger in the same transaction."""
    seal = {"batch_id": batch_id, "record_count": total, "ok_count": ok, "failed_count": total - ok,
            "data_errors_json": dumps(errors), "summaries_json": dumps(summaries), "totals_json": dumps(totals),
            "sealed_at": now()}
    digest = batch_digest(parts, seal)
    with store.writing() as conn:
        row_hash = row_digest({**seal, "digest": digest})
        conn.execute(insert(m.batch_seals).values(**seal, digest=digest, row_hash=row_hash))
        append(conn, "record", "batch_seals", batch_id, digest)


@dataclass(frozen=True)
class _Record:
    id: str
    values: dict


def _write_chunk(store, rows: list[dict], parts: RunningHash, progress) -> None:
    """Insert a chunk of decision rows in one short transaction and note their hashes for the seal."""
    if not rows:
        return
    with store.writing() as conn:
        conn.execute(insert(m.decisions), rows)
    parts.extend(r["row_hash"] for r in rows)
    if progress:
        progress(len(rows))


def _begin(store, policy, files, main, when, records_path, related, params, created_by, why_not, input_name):
    """Insert the (still invisible) batch row and its files; returns (id, uid, the row hashes so far)."""
    uid = str(uuid.uuid4())
    related_info = {k: {"name": Path(v).name, "sha256": _file_hash(v)} for k, v in sorted(related.items())}
    main_text = next(c for role, _, c in files if role == "policy")
    values = {"uid": uid, "policy_name": policy.name, "policy_title": policy.title, "policy_file": main,
              "policy_hash": sha256(main_text), "as_of": when.isoformat(),
              "input_name": input_name or Path(records_path).name, "input_hash": _file_hash(records_path),
              "related_json": dumps(related_info), "params_json": dumps(params), "engine": "row",
              "engine_version": f"policydsl {__version__}", "options_json": dumps({"why_not": why_not}),
              "created_by": created_by, "created_at": now()}
    parts = RunningHash()
    with store.writing() as conn:
        digest = row_digest(values)
        batch_id = conn.execute(insert(m.batches).values(**values, row_hash=digest)).inserted_primary_key[0]
        parts.append(digest)
        for role, path, content in files:
            row = {"batch_id": batch_id, "role": role, "path": path, "sha256": sha256(content), "content": content}
            file_digest = row_digest(row)
            conn.execute(insert(m.batch_files).values(**row, row_hash=file_digest))
            parts.append(file_digest)
    return batch_id, uid, parts


def _file_hash(path: str | Path) -> str:
    """SHA-256 of a file, read in blocks (records files can be large)."""
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _evaluated(stream, policy: ir.Policy, engine, when: date):
    """(record, traced result) of every record that loaded, in file order.

    Records are streamed one at a time, except for a policy whose rules compare records with each other (ranks,
    shares, apportionments): its values across records need every record first (`Engine.context`), so its records
    are held for the run."""
    names = policy.subject.field_names
    records = (_Record(rid, dict(zip(names, values))) for rid, values in stream if values is not None)
    if not engine.cross:
        for record in records:
            yield record, engine.evaluate(record.values, when, trace=True, record_id=record.id)
        return
    from ..engines.row import Result
    held = list(records)
    context = engine.context([r.values for r in held], when)
    for position, record in enumerate(held):
        if position in context.errors:
            yield record, Result(record.id, {}, error=context.errors[position])
        else:
            yield record, engine.evaluate(record.values, when, trace=True, record_id=record.id,
                                          known=context.known[position], figures=context.figures[position])


def _decision_row(batch_id: int, position: int, record, result, explainers, totals) -> dict:
    """Explain one evaluated record in both languages and build its row (with its hash)."""
    from ..explain import render
    pages = {lang: explainers[lang].explain(result, record.values) for lang in ("zh", "en")}
    totals.add(result)
    row = {"batch_id": batch_id, "position": position, "record_id": record.id, "label": pages["zh"].record_label,
           "ok": result.ok, "error": result.error, "inputs_json": dumps(record.values),
           "outcomes_json": dumps(result.values),
           "trace_json": dumps({**_trace_summary(result), "headlines": _headlines(pages)}),
           "explanation_zh": zlib.compress(render(pages["zh"], "html").encode("utf-8"), 1),
           "explanation_en": zlib.compress(render(pages["en"], "html").encode("utf-8"), 1)}
    row["row_hash"] = row_digest(row)
    return row


def _headlines(pages) -> dict:
    """Per language, each outcome's (name, value in words, headline): what a letter states as the conclusion."""
    return {lang: [[o.name, o.value_text, o.headline] for o in x.outcomes] for lang, x in pages.items()}


def _trace_summary(result) -> dict:
    """For each fact and outcome: its value, the deciding table row, the branches taken, failed conditions."""
    if result.trace is None:
        return {}
    steps = {}
    for name, step in result.trace.steps.items():
        entry: dict[str, object] = {"kind": step.kind, "value": step.value}
        if step.row is not None:
            entry["row"] = step.row
        if step.decisions:
            entry["decisions"] = list(step.decisions)
        if step.conditions:
            entry["failed"] = [c.name for c in step.conditions if not c.passed]
        steps[name] = entry
    return {"as_of": result.trace.as_of, "steps": steps,
            "params": {n: {"value": pv.value, "from": pv.start} for n, pv in result.trace.params.items()}}


def _summaries(policy, records_path, related, when) -> dict:
    """The policy's own summaries (district totals and the like), computed as `policydsl run` does."""
    if not policy.summaries:
        return {}
    from ..engines.base import run_batch
    batch = run_batch(policy, records_path, related=related, as_of=when, engine="row", on_row=lambda _cells: None)
    return dict(batch.summaries)


class _Totals:
    """Running totals of each outcome over the records that evaluated: sums of numbers, counts of decisions."""

    def __init__(self, policy: ir.Policy):
        self.types = {n.name: n.type for n in policy.outcomes}
        self.ok = 0
        self.sums: dict[str, Decimal] = {n: Decimal(0) for n, t in self.types.items() if t in NUMERIC}
        self.counts: dict[str, Counter] = {n: Counter() for n, t in self.types.items()
                                           if t == BOOL or isinstance(t, EnumType)}

    def add(self, result) -> None:
        if not result.ok:
            return
        self.ok += 1
        for name in self.sums:
            self.sums[name] += Decimal(result.values[name])
        for name, counter in self.counts.items():
            counter[str(result.values[name]).lower() if isinstance(result.values[name], bool)
                    else result.values[name]] += 1

    def result(self) -> dict:
        out: dict[str, dict] = {}
        for name, total in self.sums.items():
            out[name] = {"type": str(self.types[name]), "sum": total}
        for name, counter in self.counts.items():
            out[name] = {"type": str(self.types[name]), "counts": dict(counter.most_common(MAX_CATEGORIES))}
        return out


# ------------------------------------------------------------------------------------------------ reading

def _sealed_query():
    return select(m.batches, m.batch_seals).join(m.batch_seals, m.batch_seals.c.batch_id == m.batches.c.id)


def _info(row) -> BatchInfo:
    import json
    r = row._mapping
    return BatchInfo(r["id"], r["uid"], r["policy_name"], r["policy_title"], r["policy_file"], r["policy_hash"],
                     r["as_of"], r["input_name"], r["input_hash"], r["engine"], r["engine_version"],
                     r["created_by"], r["created_at"], r["sealed_at"], r["record_count"], r["ok_count"],
                     r["failed_count"], tuple(json.loads(r["data_errors_json"])), json.loads(r["summaries_json"]),
                     json.loads(r["totals_json"]), tuple(json.loads(r["params_json"])),
                     json.loads(r["related_json"]), json.loads(r["options_json"]))


def get_batch(store, batch_id: int) -> BatchInfo | None:
    """A sealed batch by id (None if there is none, or it is not complete)."""
    with store.reading() as conn:
        row = conn.execute(_sealed_query().where(m.batches.c.id == batch_id)).first()
    return _info(row) if row else None


def list_batches(store, policy_name: str | None = None) -> list[BatchInfo]:
    """Every sealed batch, newest first (optionally of one policy)."""
    query = _sealed_query().order_by(m.batches.c.id.desc())
    if policy_name is not None:
        query = query.where(m.batches.c.policy_name == policy_name)
    with store.reading() as conn:
        return [_info(r) for r in conn.execute(query)]


def previous_batch(store, batch: BatchInfo) -> BatchInfo | None:
    """The sealed batch of the same policy published just before `batch`."""
    earlier = [b for b in list_batches(store, batch.policy_name) if b.id < batch.id]
    return earlier[0] if earlier else None


_DECISION_COLUMNS = [m.decisions.c[n] for n in ("id", "batch_id", "position", "record_id", "label", "ok", "error",
                                                "inputs_json", "outcomes_json", "trace_json")]


def _decision(row) -> Decision:
    import json
    return Decision(row.id, row.batch_id, row.position, row.record_id, row.label, row.ok, row.error,
                    json.loads(row.inputs_json), json.loads(row.outcomes_json), json.loads(row.trace_json))


def get_decision(store, batch_id: int, record_id: str) -> Decision | None:
    """One person's decision in a sealed batch (None when the batch is not sealed or has no such record)."""
    query = (select(*_DECISION_COLUMNS).join(m.batch_seals, m.batch_seals.c.batch_id == m.decisions.c.batch_id)
             .where(m.decisions.c.batch_id == batch_id, m.decisions.c.record_id == record_id))
    with store.reading() as conn:
        row = conn.execute(query).first()
    return _decision(row) if row else None


def decisions_of(store, batch_id: int, conn: Connection | None = None):
    """Every decision of a batch in order (a generator over one connection: memory stays small)."""
    query = select(*_DECISION_COLUMNS).where(m.decisions.c.batch_id == batch_id).order_by(m.decisions.c.position)
    if conn is not None:
        for row in conn.execute(query.execution_options(yield_per=1000)):
            yield _decision(row)
        return
    with store.reading() as own:
        for row in own.execute(query.execution_options(yield_per=1000)):
            yield _decision(row)


def batch_files(store, batch_id: int) -> list[tuple[str, str, bytes]]:
    """(role, relative path, content) of every file a batch's policy read."""
    with store.reading() as conn:
        rows = conn.execute(select(m.batch_files).where(m.batch_files.c.batch_id == batch_id)
                            .order_by(m.batch_files.c.id))
        return [(r.role, r.path, bytes(r.content)) for r in rows]


def discard_unsealed(store, older_than_hours: float = 24) -> int:
    """Remove the rows of batches never sealed and started more than `older_than_hours` ago (a publish that was
    killed); returns how many batches. A publish still running is younger, and left alone.

    Only rows no query shows and the ledger never recorded are removed, so this is not an edit of the record."""
    from datetime import UTC, datetime, timedelta
    cutoff = (datetime.now(UTC) - timedelta(hours=older_than_hours)).isoformat(timespec="microseconds")
    with store.writing() as conn:
        stale = [r.id for r in conn.execute(select(m.batches.c.id).where(
            ~m.batches.c.id.in_(select(m.batch_seals.c.batch_id)), m.batches.c.created_at < cutoff))]
        for batch_id in stale:
            conn.execute(delete(m.decisions).where(m.decisions.c.batch_id == batch_id))
            conn.execute(delete(m.batch_files).where(m.batch_files.c.batch_id == batch_id))
            conn.execute(delete(m.batches).where(m.batches.c.id == batch_id))
    return len(stale)
