"""Stage 6 — compare: the same records through two or more policies, and what differs.

    from policydsl import compare
    c = compare.compare(["policies/jinyuan/star_rating.policy", "policies/variants/jinyuan_1500_per_star.policy"],
                        "data/jinyuan/secretaries.csv")
    c.headline("zh")                  # the paragraph an official reads first
    c.write("report.html")            # or .md / .json / .xlsx / .csv, lang="en"; same inputs → the same bytes

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

* **For the official** (`story.py`, `report.py`): a headline per policy in Chinese or English (the figures that move,
  who is affected, the rule changes that cause it), the primary outcome records are ranked by, the groups the
  records carry, each changed record's why in words, its explanations under both policies linked.

Memory: records are loaded once and shared by every policy whose record schemas agree (once per policy otherwise);
totals are running sums plus a count of each distinct change (the median stays exact), so no list of one value per
record is kept. On DuckDB (the default) every figure is an aggregate query; the changed records stream out largest
change first into a temporary file (`spool.py`) that the CSV and Excel reports read back, and only the
`detail_limit` largest are kept, with their traces. Benchmark: bench/bench_compare.py, figures in
docs/performance.md. Reports (HTML, Markdown, JSON, .xlsx, .csv) are deterministic byte for byte: no timestamps,
fixed SVG ids and hash salt, stable ordering everywhere.

Modules: `model` (the results), `core` (running the policies, both engines), `causes` (why a value differs),
`groups` (primary outcome, groups), `spool`, `formatting` (figures per locale, Babel), `story` (sentences),
`report` (the content, once), `markdown`, `html`, `charts`, `xlsx` (.xlsx and .csv), `report_json`,
`explanations` (pages linked from the report), `terminal` (the summary `run` prints), `text` (shared helpers).
"""

from __future__ import annotations

from .core import compare
from .model import (
    LANGS,
    MAX_CHARTS,
    NUMERIC_TYPES,
    REPORT_SUFFIXES,
    Cause,
    Comparison,
    Crosstab,
    DeclDiff,
    GroupRow,
    GroupTotals,
    MissingField,
    NumericTotals,
    OutcomeDiff,
    PathStep,
    PolicyRun,
    RecordDiff,
)
from .text import problems

__all__ = [
    "LANGS", "MAX_CHARTS", "NUMERIC_TYPES", "REPORT_SUFFIXES", "Cause", "Comparison", "Crosstab", "DeclDiff",
    "GroupRow", "GroupTotals", "MissingField", "NumericTotals", "OutcomeDiff", "PathStep", "PolicyRun", "RecordDiff",
    "compare", "problems",
]
