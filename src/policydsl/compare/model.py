"""The results of a comparison: each policy's run, per-record differences and their causes, totals."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from .. import ir
from ..engines.records import DataError
from ..types import DECIMAL, INT, MONEY, PERCENT, Type

NUMERIC_TYPES = (MONEY, INT, DECIMAL, PERCENT)
REPORT_SUFFIXES = (".html", ".md", ".json", ".xlsx", ".csv")
LANGS = ("zh", "en")
MAX_CHARTS = 4


# ------------------------------------------------------------------------------------------------ results

@dataclass(frozen=True)
class MissingField:
    """A field a policy needs that the records do not carry at all."""

    policy: str  # the policy's label
    field: str   # "常住人口", or "工作者[].岗位" for a field of related records
    type: str
    hint: str = ""

    @property
    def message(self) -> str:
        text = f"policy {self.policy} needs field {self.field} ({self.type}) which the records lack"
        return text + (f"; {self.hint}" if self.hint else "")


@dataclass
class PolicyRun:
    """One policy's side of a comparison: what it needed, what failed, what it is compared on."""

    label: str
    path: str
    policy: ir.Policy
    as_of: date
    missing: list[MissingField] = field(default_factory=list)
    setup_error: str | None = None
    data_errors: list[DataError] = field(default_factory=list)
    failed_ids: list[str] = field(default_factory=list)             # records that did not load
    evaluation_errors: list[tuple[str, str]] = field(default_factory=list)  # (record id, message)
    loaded: int = 0

    @property
    def runnable(self) -> bool:
        return not self.missing and self.setup_error is None


@dataclass(frozen=True)
class PathStep:
    """A param or node on an outcome's dependency path whose value differs in one record (baseline vs other)."""

    kind: str            # 'param' or the node kind ('fact', 'table', …, 'outcome')
    name: str
    values: tuple[object, object]
    type: Type
    rows: tuple[int | None, int | None] = (None, None)  # tables: the deciding row in each policy


@dataclass(frozen=True)
class Cause:
    """Why one outcome of one record differs between the baseline and one other policy."""

    policy: str
    changed: tuple[str, ...]          # structurally different declarations upstream ("param 每星奖励")
    path: tuple[PathStep, ...] | None  # None when traces were not computed (beyond detail_limit)


@dataclass(frozen=True)
class OutcomeDiff:
    outcome: str
    type: Type
    values: tuple[object, ...]  # one per compared policy, baseline first
    causes: tuple[Cause, ...]


@dataclass(frozen=True)
class RecordDiff:
    record_id: str
    outcomes: tuple[OutcomeDiff, ...]


@dataclass(frozen=True)
class NumericTotals:
    """A numeric outcome over the records compared: baseline vs one other policy."""

    outcome: str
    type: Type
    policy: str
    count: int
    total_base: object
    total_other: object
    change: object
    mean_change: Decimal | None
    median_change: object
    min_change: object
    max_change: object
    gain: int
    lose: int
    same: int
    distribution: tuple[tuple[object, int, int], ...] = ()  # int outcomes: (value, count baseline, count other)
    change_counts: tuple[tuple[object, int], ...] = ()        # each distinct change (other − baseline), how often

    @property
    def gained(self) -> object:
        """The sum of the increases (records whose value rose)."""
        return sum((d * n for d, n in self.change_counts if d > 0), 0 if self.type == INT else Decimal(0))

    @property
    def lost(self) -> object:
        """The sum of the decreases (negative)."""
        return sum((d * n for d, n in self.change_counts if d < 0), 0 if self.type == INT else Decimal(0))

    @property
    def moved(self) -> object:
        """The sum of the absolute changes: how much this outcome moves, whichever way."""
        return self.gained - self.lost


@dataclass(frozen=True)
class Crosstab:
    """An enum/bool/text outcome: how many records had each (baseline value, other value) pair."""

    outcome: str
    type: Type
    policy: str
    cells: tuple[tuple[object, object, int], ...]

    def margins(self) -> tuple[dict, dict, list]:
        """How many records had each value under the baseline and under the other policy, and every value seen
        (the baseline's first)."""
        before: dict = {}
        after: dict = {}
        for a, b, n in self.cells:
            before[a] = before.get(a, 0) + n
            after[b] = after.get(b, 0) + n
        return before, after, list(dict.fromkeys(list(before) + list(after)))


@dataclass(frozen=True)
class DeclDiff:
    """A declaration that differs between the policies, with each policy's source text (None: not defined)."""

    kind: str
    name: str
    texts: tuple[str | None, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupRow:
    """One group of records (a town, a community type, a post): the primary outcome under both policies."""

    value: str
    records: int
    changed: int
    total_base: object
    total_other: object
    gain: int = 0
    lose: int = 0


@dataclass(frozen=True)
class GroupTotals:
    """The records grouped by one field they carry, baseline vs one other policy, on the primary outcome."""

    field: str
    policy: str
    outcome: str
    type: Type
    rows: tuple[GroupRow, ...]


@dataclass
class Comparison:
    records_path: str
    runs: list[PolicyRun]
    compared: list[PolicyRun]
    common_outcomes: list[tuple[str, Type]] = field(default_factory=list)
    only_in: dict[str, list[str]] = field(default_factory=dict)
    type_mismatch: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    records_total: int = 0
    records_compared: int = 0
    records_differing: int = 0
    diffs: list[RecordDiff] = field(default_factory=list)
    numeric: list[NumericTotals] = field(default_factory=list)
    crosstabs: list[Crosstab] = field(default_factory=list)
    structure: list[DeclDiff] = field(default_factory=list)
    summaries: list[tuple[str, Type, tuple[object, ...]]] = field(default_factory=list)  # over records compared
    field_differences: list[tuple[str, tuple[str | None, ...]]] = field(default_factory=list)
    per_record_values: dict[str, list[tuple[str, tuple[object, ...]]]] = field(default_factory=dict)
    related: dict[str, str] = field(default_factory=dict)
    primary: str | None = None              # the outcome records are sorted by (the largest change first)
    affected: dict[str, int] = field(default_factory=dict)   # label → records with an outcome differing from base
    group_fields: list[str] = field(default_factory=list)    # fields of the records that group them
    groups: list[GroupTotals] = field(default_factory=list)
    record_groups: dict[str, dict[str, str]] = field(default_factory=dict)  # of the records in `diffs`
    record_names: dict[str, str] = field(default_factory=dict)              # a record's name (姓名, 名称), if any
    name_field: str | None = None           # the column that names a record, if the records file has one
    spool: Path | None = None               # every differing record, largest change first (JSON lines)
    dates_differ: bool = False              # the policies are evaluated at different dates

    @property
    def labels(self) -> list[str]:
        return [r.label for r in self.compared]

    @property
    def missing_fields(self) -> list[MissingField]:
        return [m for r in self.runs for m in r.missing]

    def run_of(self, label: str) -> PolicyRun:
        return next(r for r in self.compared if r.label == label)

    def changed_records(self):
        """Every differing record, the largest change of the primary outcome first: (record id, {outcome:
        (value under each policy …)}, name, {group field: value}) — read back from the spool, so no list of them
        is kept in memory."""
        from .spool import read_spool
        return read_spool(self)

    # ------------------------------------------------------------------------------------------ reports
    def to_dict(self) -> dict:
        """The comparison for programs (the JSON report)."""
        from .report_json import _to_dict
        return _to_dict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    def to_markdown(self, charts_prefix: str | None = None, max_records: int = 200, lang: str = "zh") -> str:
        """The report as Markdown (charts linked as `<charts_prefix>.chartN.svg` when given)."""
        from .markdown import markdown
        return markdown(self, lang, charts_prefix, max_records)

    def to_html(self, max_records: int = 1000, lang: str = "zh", explanations: str | None = None) -> str:
        """The report as one self-contained HTML page (inline CSS, SVG charts and a little JavaScript)."""
        from .html import html
        return html(self, lang, max_records, explanations)

    def charts(self, lang: str = "zh") -> list[tuple[str, str]]:
        """(title, SVG text) of every chart, deterministic byte for byte."""
        from .charts import charts
        return charts(self, lang)

    def headline(self, lang: str = "zh") -> list[str]:
        """One paragraph per policy compared with the baseline: the figures an official decides on, and why."""
        from .story import headlines
        return headlines(self, lang)

    def write(self, path: str | Path, lang: str = "zh", explanations: bool | int = True) -> list[Path]:
        """Write the report as .html, .md (plus one .svg per chart beside it), .json, .xlsx or .csv (every
        changed record); with `explanations`, each listed record's explanation under each policy is written
        beside an .html or .md report (`<stem>.explain/`) and linked — for the first 200 records, or for the
        first `explanations` records when it is a number. Returns the files written."""
        from .explanations import write_explanations
        from .markdown import markdown
        path = Path(path)
        suffix = path.suffix.lower()
        if lang not in LANGS:
            raise ValueError(f"unknown report language '{lang}' (use {', '.join(LANGS)})")
        written = [path]
        if suffix == ".xlsx":
            from .xlsx import write_xlsx
            write_xlsx(self, path, lang)
            return written
        if suffix == ".csv":
            from .xlsx import write_csv
            write_csv(self, path, lang)
            return written
        links = None
        if suffix in (".html", ".md") and explanations:
            limit = None if explanations is True else int(explanations)
            links, pages = write_explanations(self, path, lang, limit)
            written += pages
        if suffix == ".json":
            text = self.to_json()
        elif suffix == ".html":
            text = self.to_html(lang=lang, explanations=links)
        elif suffix == ".md":
            stem = path.stem
            charts = self.charts(lang)
            for i, (_, svg) in enumerate(charts, start=1):
                chart = path.with_name(f"{stem}.chart{i}.svg")
                chart.write_text(svg, encoding="utf-8", newline="")
                written.append(chart)
            text = markdown(self, lang, stem, 200, charts, links)
        else:
            raise ValueError(f"{path}: cannot write a report as '{path.suffix}' (use {', '.join(REPORT_SUFFIXES)})")
        path.write_text(text, encoding="utf-8", newline="")
        return written
