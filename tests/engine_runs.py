"""The shipped runs and the row engine's reference results the engine tests compare with (test files import these:
`from engine_runs import …`; a module of its own name, so that no other folder's conftest shadows it)."""

from __future__ import annotations

import sys
from pathlib import Path

from policydsl import api
from policydsl.engines.records import write_results

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "data"))
from run_all import RUNS  # noqa: E402, F401  (every county policy on its shipped data: the README's main job)

#: The shipped bad files, each with the policy that reads it: (policy, records, related, as-of).
BAD_RUNS = [
    ("jinyuan/star_rating", "data/jinyuan/bad_secretaries.csv", {}, None),
    ("longshan/eligibility", "data/longshan/bad_candidates.csv", {}, None),
    ("longshan/pay", "data/longshan/bad_staff.csv", {}, None),
    ("jiangbei/classification", "data/jiangbei/bad_communities.csv", {}, None),
    ("xinmi/routing", "data/xinmi/bad_tasks.csv", {}, None),
    ("xiangan/entry", "data/xiangan/bad_candidates.csv", {}, None),
]


def row_reference(policy, records, related, as_of, out: Path):
    """The row engine's run of `records` (relative to the repository, or absolute) written to `out`, and its
    evaluation failures as (record id, message): what every other engine is compared with."""
    outcome = api.run_file(policy, REPO / records, as_of, {k: REPO / v for k, v in related.items()})
    write_results(out, outcome.rows(), api.output_types(policy))
    failures = [(f.record_id, f.error) for f in outcome.evaluation_failures]
    return outcome, failures


def parquet_copy(source: Path, target: Path, typed: bool) -> Path:
    """`source` (a CSV file) written as Parquet to `target`: every column as text, or typed as DuckDB guesses."""
    import duckdb
    duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{source}', header=true, all_varchar={not typed})) "
                             f"TO '{target}' (FORMAT parquet)")
    return target
