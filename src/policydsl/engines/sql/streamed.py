"""The DuckDB engine's streamed run from the compile cache, without building the plan (no sqlglot).

    batch = run_cached(policy, "secretaries.csv", related={}, as_of=None, out="out.csv")

`runner.DuckRun._stream` writes a clean CSV file's results in one pass: a query over the key column finds whether
any key is written twice, then one COPY reads, checks, evaluates and writes every record, stopping at the first one
it cannot write. The texts of both statements and DuckDB's verdict on whether the COPY's plan keeps the file's order
are kept in the compile cache (`policydsl.cache`), keyed by what they are built from. When all three are there,
`run_cached` runs them directly: building the plan again would import sqlglot and the compiler (a sixth of a second)
to produce the same texts. Anything else — no cache, a policy that did not come through it, a file the statements
were not built for, a run that cannot be streamed, a record that stops the COPY — returns None, and the runner does
what it does without this module (`tried` says whether the streamed pass already ran and failed, so that it is not
run twice).

The keys this module and the runner build must stay the same: both use `statement_context` and the key functions
below.
"""

from __future__ import annotations

import csv
import os
import tempfile
from datetime import date
from pathlib import Path

from .. import records as rec
from ..base import BatchResult, EngineUnavailable

MEMORY_LIMIT = os.environ.get("POLICYDSL_DUCKDB_MEMORY", "1GB")
#: The COPY options of every CSV results file the DuckDB engine writes.
CSV_OPTIONS = "(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"')"


class Database:
    """A private in-memory DuckDB database that spills to its own temporary directory (bounded memory)."""

    def __init__(self):
        try:
            import duckdb
        except ImportError:  # pragma: no cover - duckdb is a dependency
            raise EngineUnavailable("the duckdb engine needs the duckdb package (pip install duckdb)") from None
        self.duckdb = duckdb
        self.tmp = tempfile.TemporaryDirectory(prefix="policydsl-")
        self.folder = Path(self.tmp.name)
        self.db = duckdb.connect(":memory:", config={"memory_limit": MEMORY_LIMIT,
                                                     "temp_directory": str(self.folder / "spill"),
                                                     "preserve_insertion_order": True})

    def close(self) -> None:
        self.db.close()
        self.tmp.cleanup()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def as_of_date(policy, as_of: date | None) -> date:
    """The date a run evaluates at: the one given, else the policy's effective date."""
    return as_of or policy.effective or date(2000, 1, 1)


def duckdb_version(duckdb) -> str:
    return getattr(duckdb, "__version__", "?")


def statement_context(digest: str, as_of: date, dialect: str, schema: str, kind: str, key: tuple) -> str:
    """What a compiled statement's text is cached under (`DuckRun._remembered`)."""
    return repr((digest, as_of, dialect, schema, kind, key))


def stream_key(records: Path, header: list[str], skip: int, safe: bool, version: str) -> tuple:
    """What the streamed COPY's text is built from, besides the policy and the date."""
    return (str(records), tuple(header), skip, safe, version)


def keys_key(records: Path, header: list[str], skip: int) -> tuple:
    """What the duplicate-key query's text is built from, besides the policy and the date."""
    return (str(records), tuple(header), skip)


def can_stream(policy, records: Path, related: dict, out: str | Path | None) -> bool:
    """What `_stream` asks of a run before its plan is known: CSV in and out, no related records, no summaries."""
    return (out is not None and Path(out).suffix.lower() == ".csv" and records.suffix.lower() == ".csv"
            and not related and not policy.summaries)


def stream(db, duckdb, rows: str, keys: str | None, out: Path) -> int | None:
    """Run the streamed pass: the duplicate-key query `keys` (None for records without a key), then the COPY of
    `rows` to `out`; the number of results written, or None when a key is written twice or DuckDB stopped (the
    guard, or anything it cannot read or compute: the careful way says). A results file this pass created and
    left half written is removed (one that was there before is written anew by the careful way)."""
    existed = out.exists()
    try:
        if keys is not None:
            (distinct,) = db.execute(keys).fetchone()
            if not distinct:
                return None
        (written,) = db.execute(f"COPY ({rows}) TO '{quoted_path(out)}' {CSV_OPTIONS}").fetchone()
        return written
    except duckdb.Error:
        if not existed:
            out.unlink(missing_ok=True)
        return None


def run_cached(policy, records: str | Path, *, related: dict, as_of: date | None, out: str | Path | None
               ) -> tuple[BatchResult | None, bool]:
    """(the batch, whether the streamed pass ran): the streamed run from cached statements, or (None, False) when
    they are not all cached (the runner builds them), or (None, True) when the pass ran and stopped (the runner
    takes the careful way)."""
    from ... import cache
    from ...limits import RAW_CELLS
    records = Path(records)
    if not can_stream(policy, records, related, out):
        return None, False
    digest = cache.policy_digest(policy)
    if digest is None:
        return None, False
    subject = policy.subject
    rec._check_related_setup(records, subject, policy.records, related)  # as `_stream` does, first
    header, skip = csv_start(records)
    rec._check_header(records, subject, [(str(records), dict.fromkeys(header, ""))])
    when = as_of_date(policy, as_of)
    try:
        import duckdb
    except ImportError:  # pragma: no cover - a dependency; the runner says so in words
        return None, False
    version = duckdb_version(duckdb)
    rows = cache.lookup("statement", statement_context(digest, when, "duckdb", "main", "stream",
                                                      stream_key(records, header, skip, not RAW_CELLS.get(), version)))
    keys = None
    if subject.key:
        keys = cache.lookup("statement", statement_context(digest, when, "duckdb", "main", "stream-keys",
                                                          keys_key(records, header, skip)))
    if not isinstance(rows, str) or (subject.key and not isinstance(keys, str)):
        return None, False
    if cache.lookup("reorder", rows, version) is not False:  # unknown, or a plan that may reorder
        return None, False
    with Database() as database:
        written = stream(database.db, duckdb, rows, keys, Path(out))
    if written is None:
        return None, True
    batch = BatchResult("duckdb")
    batch.ok_count = written
    return batch, True


def csv_start(path: Path) -> tuple[list[str], int]:
    """The header row as the Python reader finds it, and how many (blank) rows come before it."""
    rec.read_rows(path)  # a missing file or an unknown suffix: the reader's own message
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            for before, cells in enumerate(reader):
                if not all(rec._is_blank(c) for c in cells):
                    return rec._header(cells, f"{path}:{reader.line_num}"), before
    except (UnicodeDecodeError, csv.Error):
        for _ in rec.read_rows(path):  # raises the reader's own message (not UTF-8, malformed CSV)
            pass
        raise
    raise rec.DataSetupError(f"{path}: empty file; expected a header row naming the fields")


def quoted_path(path: Path) -> str:
    return str(path).replace("'", "''")
