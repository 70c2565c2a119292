"""Differential tests: the DuckDB engine and the row evaluator give the same results files, the same bad-record
reports and the same summaries on every shipped data set (the row evaluator is the reference semantics)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from policydsl import api
from policydsl.engines.base import run_batch
from policydsl.engines.records import write_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "data"))
from run_all import RUNS  # noqa: E402  (the README's main job: every county policy on its sample data)

BAD_RUNS = [
    ("jinyuan/star_rating", "data/jinyuan/bad_secretaries.csv", {}, None),
    ("longshan/eligibility", "data/longshan/bad_candidates.csv", {}, None),
    ("longshan/pay", "data/longshan/bad_staff.csv", {}, None),
    ("jiangbei/classification", "data/jiangbei/bad_communities.csv", {}, None),
    ("xinmi/routing", "data/xinmi/bad_tasks.csv", {}, None),
    ("xiangan/entry", "data/xiangan/bad_candidates.csv", {}, None),
]


def _row_reference(policy, records, related, as_of, out: Path):
    outcome = api.run_file(policy, ROOT / records, as_of, {k: ROOT / v for k, v in related.items()})
    write_results(out, outcome.rows(), api.output_types(policy))
    failures = [(f.record_id, f.error) for f in outcome.evaluation_failures]
    return outcome, failures


@pytest.mark.parametrize("name,records,related,as_of", RUNS + BAD_RUNS, ids=[r[0] + ":" + Path(r[1]).stem
                                                                               for r in RUNS + BAD_RUNS])
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_duckdb_matches_row_engine(tmp_path, name, records, related, as_of, suffix):
    policy = api.load_policy(str(ROOT / "policies" / f"{name}.policy"))
    outcome, failures = _row_reference(policy, records, related, as_of, tmp_path / f"row{suffix}")
    batch = run_batch(policy, ROOT / records, related={k: ROOT / v for k, v in related.items()}, as_of=as_of,
                      out=tmp_path / f"sql{suffix}", engine="duckdb")
    assert (tmp_path / f"sql{suffix}").read_bytes() == (tmp_path / f"row{suffix}").read_bytes()
    assert [e.render() for e in batch.data_errors] == [e.render() for e in outcome.data_errors]
    assert batch.failed_ids == outcome.loaded.failed_ids
    assert [(f.record_id, f.message) for f in batch.evaluation_failures] == failures
    assert batch.ok_count == outcome.ok_count
    assert batch.summaries == outcome.report.summaries
