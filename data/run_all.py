"""Run every county policy on its shipped sample data and print one line per run (the README's main job).

    .venv/bin/python data/run_all.py [--out DIR]

Each run is `policydsl run` through the Python API (`api.run_batch`, the DuckDB engine unless `--engine row|spark`):
records are validated, evaluated, summaries computed. With `--out DIR`, each run's results are written to
DIR/<county>_<policy>.csv. Exit code 1 if any good record failed.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from policydsl import api
from policydsl.compare.terminal import DecisionCounter, items

ROOT = Path(__file__).resolve().parents[1]
D = "data"

# (policy, records, {relation field: related file}, as-of date or None for the policy's effective date)
RUNS = [
    ("jinyuan/star_rating", f"{D}/jinyuan/secretaries.csv", {}, date(2024, 12, 31)),
    ("jinyuan/tancheng_funds", f"{D}/tancheng/communities.csv", {}, None),
    ("longshan/eligibility", f"{D}/longshan/candidates.csv", {}, None),
    ("longshan/discipline", f"{D}/longshan/staff.csv", {"擅离": f"{D}/longshan/absences.csv"}, date(2019, 12, 31)),
    ("longshan/office_hours", f"{D}/longshan/office_hours.csv", {}, None),
    ("longshan/pay", f"{D}/longshan/staff.csv", {}, None),
    ("longshan/village", f"{D}/longshan/villages.csv",
     {"在岗": f"{D}/longshan/staff.csv", "荣誉": f"{D}/longshan/honours.csv"}, date(2019, 12, 31)),
    ("jiangbei/classification", f"{D}/jiangbei/communities.csv", {}, None),
    ("jiangbei/grids", f"{D}/jiangbei/communities.csv", {"网格": f"{D}/jiangbei/grids.csv"}, None),
    ("jiangbei/quota", f"{D}/jiangbei/communities.csv", {"工作者": f"{D}/jiangbei/workers.csv"}, None),
    ("jiangbei/admission", f"{D}/jiangbei/tasks.csv", {}, None),
    ("jiangbei/pay", f"{D}/jiangbei/workers.csv", {}, None),
    ("xinmi/routing", f"{D}/xinmi/tasks.csv", {}, None),
    ("xinmi/staffing", f"{D}/xinmi/communities.csv", {"工作者": f"{D}/xinmi/workers.csv"}, None),
    ("xiangan/consolidation", "policies/xiangan/old_posts.csv", {}, None),
    ("xiangan/grid_quota", f"{D}/xiangan/communities.csv",
     {"网格": f"{D}/xiangan/grids.csv", "工作者": f"{D}/xiangan/workers.csv"}, None),
    ("xiangan/assessment", f"{D}/xiangan/workers.csv", {"季度考核": f"{D}/xiangan/quarterly_scores.csv"}, None),
    ("xiangan/entry", f"{D}/xiangan/candidates.csv", {}, None),
    # a neighbour's rule on Xiang'an's records: Henan's floor as Xinmi encodes it, through a field mapping
    ("variants/henan_18_on_xiangan", f"{D}/xiangan/communities.csv", {"工作者": f"{D}/xiangan/workers.csv"}, None),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write each run's results to this folder")
    parser.add_argument("--engine", default="duckdb", choices=("duckdb", "row", "spark"),
                        help="the engine that evaluates (default duckdb, as `policydsl run`)")
    args = parser.parse_args()
    console = Console()
    table = Table(title="policydsl: every county policy on its sample data")
    for column in ("policy", "records", "ok", "failed"):
        table.add_column(column, no_wrap=column != "policy", overflow="fold")
    table.add_column("summaries", ratio=1, overflow="fold")
    failures = 0
    for name, records, related, as_of in RUNS:
        policy = api.load_policy(str(ROOT / "policies" / f"{name}.policy"))
        out = args.out / f"{name.replace('/', '_')}.csv" if args.out else None
        if out:
            args.out.mkdir(parents=True, exist_ok=True)
        decisions = DecisionCounter(policy)
        batch = api.run_batch(policy, ROOT / records, related={k: ROOT / v for k, v in related.items()}, as_of=as_of,
                              out=out, engine=args.engine, on_row=decisions)
        failures += batch.failed_count
        for error in batch.data_errors:
            console.print(error.render(), style="red", markup=False)
        for failure in batch.evaluation_failures:
            console.print(f"{records}: record {failure.record_id}: {failure.message}", style="red", markup=False)
        # every summary, formatted for people; rich wraps the cell to the terminal's width instead of cutting it
        sums = "\n".join(items(policy, batch.summaries, decisions.counts))
        table.add_row(name, records, str(batch.ok_count), str(batch.failed_count), sums)
    console.print(table)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
