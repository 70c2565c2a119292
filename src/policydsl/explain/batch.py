"""Batch output (`explain --all`): one page per record named by an unguessable token, the office's mapping of
tokens to records, and an index that holds no personal figures unless asked for."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import pickle
import re
import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .. import ir
from ..engines.row import Engine
from .explainer import Explainer
from .model import ExplainError, Explanation
from .render import EXTENSIONS, render, stream_index


@dataclass(frozen=True)
class IndexOutcome:
    """An outcome as an index lists it."""

    label: str
    value_text: str


@dataclass(frozen=True)
class IndexEntry:
    """What an index needs of one explanation (kept on disk between the pages and the index)."""

    ok: bool
    error: str | None
    record_label: str | None
    outcomes: tuple[IndexOutcome, ...]


@dataclass(frozen=True)
class BatchWritten:
    """What `write_all` wrote: pages, how many of them explain an evaluation error, and the records not loaded."""

    pages: int
    errors: int
    not_loaded: int


def _summary(x: Explanation) -> IndexEntry:
    """The explanation as an index lists it (its first four outcomes' values, or its error)."""
    return IndexEntry(x.ok, x.error, x.record_label, tuple(IndexOutcome(o.label, o.value_text)
                                                           for o in x.outcomes[:4]))


def file_name(record_id: str, fmt: str) -> str:
    """A safe file name for a record id (letters, digits, Chinese, . _ - kept); a long id is shortened to a prefix
    and a hash of the whole id, since file systems refuse names beyond 255 bytes."""
    safe = re.sub(r"[^\w.-]", "_", record_id).strip(".") or "record"
    if len(safe.encode("utf-8")) > MAX_NAME_BYTES:
        import hashlib
        digest = hashlib.sha256(record_id.encode("utf-8")).hexdigest()[:12]
        prefix = safe.encode("utf-8")[:MAX_NAME_BYTES - 13].decode("utf-8", "ignore")
        safe = f"{prefix}-{digest}"
    return f"{safe}.{EXTENSIONS[fmt]}"


#: Bytes of a file name made from a record id, before its extension (file systems allow 255).
MAX_NAME_BYTES = 100


# ------------------------------------------------------------------------------------------------ files

def load_inputs(policy: ir.Policy, records_path: str | Path, related: dict[str, str | Path] | None = None):
    """Load the records of a data file (a `records.LoadResult`: good records, errors, failed ids)."""
    from ..engines.records import load_records  # the data layer is needed only when files are explained
    return load_records(records_path, policy.subject, policy.records, related or {})


#: How an index lists the records: `summary` (no personal data: files and their status only) or `full`.
INDEX_MODES = ("summary", "full")
#: The office's file linking each record to its page (it holds the record ids and names: keep it private).
MAPPING_FILE = "mapping.csv"


def page_token(key: bytes, record_id: str) -> str:
    """The unguessable name of a record's page: an HMAC of its id under the batch's secret key (26 letters and
    digits, 128 bits). The same key gives the same names, so a rerun can replace the pages it wrote."""
    digest = hmac.new(key, record_id.encode("utf-8"), hashlib.sha256).digest()[:16]
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()


def write_all(policy: ir.Policy, records, out_dir: str | Path, *, lang: str = "zh", fmt: str = "html",
              as_of: date | None = None, why_not: bool = True, engine: Engine | None = None,
              progress: Callable[[int], None] | None = None,
              explainer: Explainer | None = None, failed: Iterable[tuple[str, str]] = (),
              index: str = "summary", key: bytes | None = None) -> BatchWritten:
    """Write one explanation file per (id, values) record into `out_dir`, an index and the office's mapping;
    returns how many pages it wrote. `records` is read once, so it may be a stream: nothing grows with it.

    Files are named by an unguessable token (`page_token`, under `key`, by default a fresh secret), so that a page
    handed to one person does not lead to their neighbour's; `mapping.csv` links each token to its record for the
    office. The index lists no personal figures unless `index="full"`; records that failed to load (`failed`:
    (record id, error[, the error without the value it quotes])) are listed in it with their error — the short
    form in a summary index, the whole in mapping.csv.

    One `Explainer` (compiled engine, checked author templates, why-not analysis) serves every record: pass the
    one you already have, or it is built once here."""
    if index not in INDEX_MODES:
        raise ExplainError(f"unknown index '{index}': choose one of {', '.join(INDEX_MODES)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if explainer is None or explainer.lang != lang or explainer.why_not != why_not:
        explainer = Explainer(policy, engine, lang, why_not)
    key = key if key is not None else secrets.token_bytes(32)
    pages = ok = 0
    # the mapping is written as the pages are, and the index's entries wait on disk: memory stays flat however
    # many records there are
    with open(out / MAPPING_FILE, "w", encoding="utf-8", newline="") as mapping, tempfile.TemporaryFile() as spool:
        writer = csv.writer(mapping)
        writer.writerow(["record_id", "name", "file", "status", "error"])
        for record_id, values in records:
            x = explainer.explain_values(values, record_id, as_of)
            name = f"{page_token(key, record_id)}.{EXTENSIONS[fmt]}"
            (out / name).write_text(render(x, fmt), encoding="utf-8")
            pickle.dump((name, record_id, _summary(x)), spool)
            writer.writerow((record_id, x.record_label or "", name, "ok" if x.ok else "error", x.error or ""))
            pages += 1
            ok += x.ok
            if progress:
                progress(1)
        failures = [(f[0], f[1], f[2] if len(f) > 2 else f[1]) for f in failed]
        writer.writerows((record_id, "", "", "not loaded", error) for record_id, error, _ in failures)
        spool.seek(0)
        with open(out / f"index.{EXTENSIONS[fmt]}", "w", encoding="utf-8") as index_file:
            index_file.writelines(stream_index(
                _spooled(spool), pages, ok, fmt, lang, policy,
                failed=[(rid, error if index == "full" else short) for rid, error, short in failures],
                full=index == "full"))
    return BatchWritten(pages, pages - ok, len(failures))


def _spooled(spool) -> Iterator[tuple[str, str, IndexEntry]]:
    """The entries `write_all` spooled, read back one at a time (our own file, written just before)."""
    while True:
        try:
            yield pickle.load(spool)  # noqa: S301 - the batch's own temporary file, never user input
        except EOFError:
            return
