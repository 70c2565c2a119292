"""Stage 6 — compare: the same records through two or more policies, and what differs.

    from policydsl import compare
    c = compare.compare(["policies/jinyuan/star_rating.policy", "policies/variants/jinyuan_1500_per_star.policy"],
                        "data/jinyuan/secretaries.csv")
    c.write("report.html")            # or .md / .json; same inputs → the same bytes

The first policy is the **baseline**; every other policy is compared with it.

* **Records.** Each policy validates the records against its *own* subject schema. A field a policy needs that the
  records do not carry at all (no such column) is reported per policy — "policy B needs field X which the records
  lack" — and that policy is left out of the comparison instead of guessing a value. Records that fail to load or to
  evaluate under one policy are listed and not compared; none is dropped silently.
* **Outcomes** are matched by name. Outcomes present in only some policies, or with different types, are listed.
* **Per record**, every outcome whose value differs, with the values under each policy and why: the params and
  nodes on the outcome's dependency path whose *value* differs in this record (from the traces, with the deciding
  table rows), and the declarations upstream of it that differ *structurally* between the policies.
* **Totals** over the records compared: numbers (money, int, decimal, percent) — sums, total/mean/median/min/max
  change, how many gain / lose / stay (exact Decimal arithmetic; means are rounded half up and say so); int
  outcomes also get the distribution of values; enum / bool / text outcomes a crosstab of decisions.
* **Structure**: params, facts, outcomes, tables and eligibility blocks whose definitions differ (compared on the
  typed IR, ignoring citations and positions), with each policy's source text side by side; subject fields that
  differ.

Memory: records are loaded once and shared by every policy whose record schemas agree (once per policy otherwise),
evaluated in lock-step without traces; totals are running sums plus a count of each distinct change (the median stays
exact), so no list of one value per record is kept. Only records that differ are kept; traces are recomputed for the
first `detail_limit` differing records (the rest keep values and the structural causes, one shared `Cause` per policy
and outcome). Benchmark: bench/bench_compare.py, figures in docs/performance.md. Reports (JSON, Markdown,
self-contained HTML with SVG charts drawn by matplotlib) are deterministic byte for
byte: no timestamps, fixed SVG ids and hash salt, stable ordering everywhere.
"""

from __future__ import annotations

from .core import compare
from .model import (
    MAX_CHARTS,
    NUMERIC_TYPES,
    REPORT_SUFFIXES,
    Cause,
    Comparison,
    Crosstab,
    DeclDiff,
    MissingField,
    NumericTotals,
    OutcomeDiff,
    PathStep,
    PolicyRun,
    RecordDiff,
)
from .text import problems

__all__ = [
    "MAX_CHARTS", "NUMERIC_TYPES", "REPORT_SUFFIXES", "Cause", "Comparison", "Crosstab", "DeclDiff", "MissingField",
    "NumericTotals", "OutcomeDiff", "PathStep", "PolicyRun", "RecordDiff", "compare", "problems",
]
