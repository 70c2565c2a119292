"""The small interface every engine offers, and the one thing above the engines calls: `run_batch`.

    batch = run_batch(policy, "data/jinyuan/secretaries.csv", out="results.csv", engine="duckdb")
    batch.ok_count, batch.failed_count, batch.data_errors, batch.evaluation_failures, batch.summaries

An engine reads the records file itself, validates every record (bad ones are reported with their id, field and
value, exactly as `engines.records` words it), evaluates the good ones, writes the results file itself (CSV, JSONL,
JSON or Parquet), and computes the summaries. Nothing above this module knows which engine ran: `api`, `cli` and
`compare` see only a `BatchResult`.

| engine  | what it is for                                                                                 |
|---------|------------------------------------------------------------------------------------------------|
| duckdb  | the default for `run` and `compare`: the policy compiled to SQL, streaming, bounded memory     |
| spark   | the same compiled SQL through pyspark, for data beyond one machine (`pip install '.[spark]'`)  |
| row     | the row evaluator, one record at a time: the reference semantics; traces, `explain`, `test`    |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .. import ir
    from .records import DataError

ENGINES = ("duckdb", "spark", "row")
DEFAULT_ENGINE = "duckdb"
#: Results files every engine writes, by suffix.
OUTPUT_SUFFIXES = (".csv", ".jsonl", ".json", ".parquet")
#: Records files every engine reads (`.xlsx` goes through `engines.records` first).
INPUT_SUFFIXES = (".csv", ".json", ".jsonl", ".parquet", ".xlsx")


class EngineUnavailable(Exception):
    """The chosen engine cannot run here or cannot run this policy (the message names the construct or package)."""


class SetupError(Exception):
    """The run as a whole cannot start (e.g. no value of a param is in force on the evaluation date). Defined here,
    where the command line finds it without importing the row engine; `engines.row` raises it."""


@dataclass(frozen=True)
class EvaluationFailure:
    """A record that loaded but could not be evaluated (no table row applies, division by zero, …)."""

    record_id: str
    message: str  # "任职年限星: no row of the table applies and it has no 'otherwise' row"


@dataclass
class BatchResult:
    """One run of one policy over one records file, as every engine reports it."""

    engine: str
    ok_count: int = 0
    data_errors: list["DataError"] = field(default_factory=list)
    failed_ids: list[str] = field(default_factory=list)  # records that failed to load (one entry per record)
    evaluation_failures: list[EvaluationFailure] = field(default_factory=list)
    summaries: dict[str, object] = field(default_factory=dict)  # in file order; a failed one holds "error: …"

    @property
    def failed_count(self) -> int:
        return len(self.failed_ids) + len(self.evaluation_failures)

    @property
    def total(self) -> int:
        return self.ok_count + self.failed_count


#: Receives the results as text cells, the header first; used when no output file is given.
RowSink = Callable[[tuple[str, ...]], None]


def run_batch(policy: "ir.Policy", records: str | Path, *, related: dict[str, str | Path] | None = None,
              as_of: date | None = None, out: str | Path | None = None, engine: str = DEFAULT_ENGINE,
              on_row: RowSink | None = None, spark_master: str | None = None,
              progress: Callable[[int], None] | None = None) -> BatchResult:
    """Run `policy` on every record of `records` with the chosen engine.

    Results go to `out` (by suffix) or, without one, to `on_row` as text cells (header first). Raises
    `records.DataSetupError` for a problem with a whole file, `row.SetupError` when the run cannot start,
    `EngineUnavailable` when the engine cannot run here or cannot run this policy.
    """
    if engine not in ENGINES:
        raise EngineUnavailable(f"unknown engine '{engine}' (choose one of {', '.join(ENGINES)})")
    if out is not None and Path(out).suffix.lower() not in OUTPUT_SUFFIXES:
        from .records import DataSetupError
        raise DataSetupError(f"{out}: cannot write results as '{Path(out).suffix}' "
                             f"(use {', '.join(OUTPUT_SUFFIXES)})")
    if engine == "row":
        from .row import run_batch as run_rows
        return run_rows(policy, records, related=related or {}, as_of=as_of, out=out, on_row=on_row,
                        progress=progress)
    streamed = False
    if engine == "duckdb":  # a clean CSV file from statements in the compile cache, without building the plan
        from .sql.streamed import run_cached
        batch, streamed = run_cached(policy, records, related=related or {}, as_of=as_of, out=out)
        if batch is not None:
            return batch
    from .sql.runner import run_batch as run_sql
    return run_sql(policy, records, related=related or {}, as_of=as_of, out=out, on_row=on_row, dialect=engine,
                   spark_master=spark_master, streamed=streamed)
