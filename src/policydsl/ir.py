"""The typed intermediate representation produced by `semantics` and compiled by `evaluation`.

Every expression carries its type and span; names are resolved to what they refer to. The IR is backend-neutral:
nothing here knows about closures, so a columnar (SQL) backend can compile the same tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .diagnostics import NO_SPAN, Span
from .notes import Annotations, Citation
from .types import RecordType, Type


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class IExpr:
    """Base of typed expressions."""

    type: Type


@dataclass(frozen=True)
class Const(IExpr):
    value: object
    span: Span = _span()


@dataclass(frozen=True)
class Ref(IExpr):
    """A subject field (`kind` 'field'), param, fact/outcome/table/eligibility ('node'), or list ('list')."""

    name: str
    kind: str
    span: Span = _span()


@dataclass(frozen=True)
class ElemRef(IExpr):
    """A field (or, in summaries, a node value) of the current element inside an aggregate."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class AsOf(IExpr):
    span: Span = _span()


@dataclass(frozen=True)
class RecordsRef(IExpr):
    """All evaluated records (only inside summaries)."""

    span: Span = _span()


@dataclass(frozen=True)
class UnaryOp(IExpr):
    op: str  # 'neg' | 'not'
    operand: IExpr
    span: Span = _span()


@dataclass(frozen=True)
class BinaryOp(IExpr):
    """op: add sub mul div | eq ne lt le gt ge | and or | in notin. `operand_type` drives comparisons."""

    op: str
    left: IExpr
    right: IExpr
    operand_type: Type
    span: Span = _span()


@dataclass(frozen=True)
class If(IExpr):
    cond: IExpr
    then: IExpr
    otherwise: IExpr
    span: Span = _span()


@dataclass(frozen=True)
class Match(IExpr):
    subject: IExpr
    arms: tuple[tuple[tuple[str, ...], IExpr], ...]
    default: IExpr | None
    span: Span = _span()


@dataclass(frozen=True)
class Builtin(IExpr):
    """min max clamp abs round floor ceil years_between … text; `mode` for round."""

    func: str
    args: tuple[IExpr, ...]
    mode: str | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Aggregate(IExpr):
    """count sum min max any all distinct over a collection; `element` and `where` see the element's fields."""

    func: str
    source: IExpr
    element: IExpr | None
    where: IExpr | None
    span: Span = _span()


@dataclass(frozen=True)
class OrderKey:
    """One key of an ordering across records; ties on every key fall to the record key (or the input position)."""

    expr: IExpr
    descending: bool


@dataclass(frozen=True)
class Across(IExpr):
    """A value of each record computed across the records: ranks, top/bottom, shares of a total, pools, aggregates.

    `func` is rank | percent_rank | top | bottom | apportion | grant, or an aggregate (count sum min max any all
    distinct) over the other records. The per-record parts — `value` (the aggregate's element, apportion's weight,
    grant's request), `where`, the `order` keys and `within` (records are grouped by it; a record's value is computed
    in its own group) — are evaluated in each record's own scope. `amount` is the same for every record (top/bottom's
    N or p%, apportion's total, grant's pool): it reads only params, summaries and constants. `ties`, `method` and
    `rounding` are the words the policy chose. `index` numbers the policy's Across expressions (their slots).
    """

    func: str
    value: IExpr | None
    where: IExpr | None
    amount: IExpr | None
    order: tuple[OrderKey, ...]
    within: IExpr | None
    ties: str | None
    method: str | None
    rounding: str | None
    index: int
    span: Span = _span()

    def parts(self) -> tuple[IExpr, ...]:
        """The per-record expressions, in a fixed order (what each record contributes)."""
        found = [self.value, self.where, self.within] + [k.expr for k in self.order]
        return tuple(x for x in found if x is not None)


@dataclass(frozen=True)
class ListItems(IExpr):
    items: tuple[IExpr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Lookup(IExpr):
    """`清单[key]`: the row of an external list."""

    list_name: str
    key: IExpr
    span: Span = _span()


@dataclass(frozen=True)
class GetField(IExpr):
    obj: IExpr
    name: str
    span: Span = _span()


# ------------------------------------------------------------------------------------------------ node bodies

@dataclass(frozen=True)
class Row:
    """A table row; `condition` None is `otherwise`. `number` counts rows from 1. A fact with exceptions is a
    unique table whose rows are the exceptions (`label` their names) and whose `otherwise` is the definition."""

    number: int
    condition: IExpr | None
    value: IExpr
    notes: Annotations
    span: Span = _span()
    label: str | None = None


def both_apply(a: Row, b: Row) -> str:
    """The error of a record for which two rows of a unique table (two exceptions) hold — on every engine."""
    if a.label is not None and b.label is not None:
        return f"exceptions “{a.label}” (line {a.span.line}) and “{b.label}” (line {b.span.line}) both apply"
    return f"unique table: rows {a.number} (line {a.span.line}) and {b.number} (line {b.span.line}) both apply"


@dataclass(frozen=True)
class TableBody:
    hit: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Cond:
    name: str
    expr: IExpr
    reads: tuple[str, ...]
    notes: Annotations
    span: Span = _span()


@dataclass(frozen=True)
class EligibilityBody:
    conditions: tuple[Cond, ...]


@dataclass(frozen=True)
class Node:
    """A fact, outcome, table or eligibility: one vertex of the dependency graph.

    `kind` is 'fact', 'table' or 'eligibility'; `is_outcome` says whether results report it. `reads` names the
    fields, params and nodes its body refers to directly.
    """

    name: str
    kind: str
    type: Type
    body: IExpr | TableBody | EligibilityBody
    reads: tuple[str, ...]
    is_outcome: bool
    notes: Annotations
    origin: str  # the file that defined (or last overrode) it
    span: Span = _span()


@dataclass(frozen=True)
class ParamValue:
    start: date | None
    value: object
    notes: Annotations
    span: Span = _span()


@dataclass(frozen=True)
class Param:
    name: str
    type: Type
    values: tuple[ParamValue, ...]
    origin: str
    span: Span = _span()

    def value_at(self, when: date) -> ParamValue | None:
        """The value in force on `when`: the latest `from` date on or before it."""
        chosen = None
        for v in sorted(self.values, key=lambda v: v.start or date.min):
            if v.start is None or v.start <= when:
                chosen = v
        return chosen


@dataclass(frozen=True)
class ExternalList:
    name: str
    path: str
    row_type: RecordType
    rows: tuple[dict, ...]
    notes: Annotations
    span: Span = _span()

    @property
    def by_key(self) -> dict:
        key = self.row_type.key
        return {row[key]: row for row in self.rows} if key else {}


@dataclass(frozen=True)
class Summary:
    """A value over all records; `reads` names the fields, nodes, params and summaries it reads."""

    name: str
    type: Type
    expr: IExpr
    notes: Annotations
    span: Span = _span()
    reads: tuple[str, ...] = ()


@dataclass(frozen=True)
class Expect:
    """An expected value; `record` is the key of the given record it is about (None: the only one, or a summary)."""

    name: str
    value: object
    span: Span = _span()
    record: str | None = None


@dataclass(frozen=True)
class Example:
    """An `example` block, checked: the given records in runtime form (`records`, with their ids) and the expected
    values. `given` is the first record (the only one, for examples written with `given`)."""

    title: str
    as_of: date | None
    given: dict
    expects: tuple[Expect, ...]
    span: Span = _span()
    records: tuple[tuple[str, dict], ...] = ()


@dataclass(frozen=True)
class Assumption:
    """A figure the sources do not give, and why the policy chose it."""

    name: str
    reason: str
    span: Span
    reason_en: str | None = None  # the reason in English, where the policy gives it


@dataclass(frozen=True)
class Better:
    """Which way an outcome is favourable to the person concerned: `direction` higher | lower (numbers, ordered
    enums), or the favourable `value` (a bool, an enum label)."""

    direction: str | None = None
    value: object = None


@dataclass(frozen=True)
class Term:
    """A glossary entry: the labels of one name (or `owner.member`) in both languages, its unit, and what it means
    for the person concerned."""

    target: str
    zh: str | None = None
    en: str | None = None
    unit_zh: str | None = None
    unit_en: str | None = None  # "year|years": singular|plural
    actionable: bool = False
    better: Better | None = None
    serious: bool = False
    serious_values: tuple[str, ...] = ()  # the labels that are serious; () = every value but the favourable one
    span: Span = _span()


@dataclass(frozen=True)
class Document:
    """A document a policy cites: what a citizen needs to look it up."""

    name: str
    title: str
    en: str | None = None
    issuer: str | None = None
    issuer_en: str | None = None
    date: date | None = None
    published: str | None = None
    number: str | None = None
    url: str | None = None
    assumed: Citation | None = None
    span: Span = _span()


@dataclass(frozen=True)
class RecourseStep:
    """A review (复核) or appeal (申诉) route, with its deadline."""

    text: str
    en: str | None = None
    within: object = None  # a Duration
    span: Span = _span()


@dataclass(frozen=True)
class Recourse:
    """Who decided, where a person asks for a review or appeals, by when, and whom to contact."""

    office: str | None = None
    office_en: str | None = None
    review: RecourseStep | None = None
    appeal: RecourseStep | None = None
    contact: str | None = None
    contact_en: str | None = None
    assumed: Citation | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Policy:
    """A checked policy: everything evaluation, graph, explanations and comparisons need."""

    name: str
    title: str | None
    source: str | None
    effective: date | None
    path: str
    subject: RecordType
    records: dict[str, RecordType]
    enums: dict[str, Type]
    params: dict[str, Param]
    lists: dict[str, ExternalList]
    nodes: dict[str, Node]
    summaries: dict[str, Summary]
    examples: tuple[Example, ...]
    assumptions: tuple[Assumption, ...]
    extends: str | None = None
    title_en: str | None = None
    languages: tuple[str, ...] = ("zh",)
    glossary: dict[str, Term] = field(default_factory=dict)  # by target: "名称" or "枚举.标签"
    documents: dict[str, Document] = field(default_factory=dict)
    recourse: Recourse | None = None
    source_citation: Citation | None = None  # the header's `source` note whole (a document, its English text)

    @property
    def outcomes(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.is_outcome]

    @property
    def across_records(self) -> bool:
        """Whether some rule reads other records (a summary or a value across records): a run needs every record
        before it can finish any."""
        return any(_reads_across(n.body) for n in self.nodes.values())


def walk(x: object):
    """Every IR expression inside `x` (an expression, a node body, a tuple of them), parents before children."""
    stack = [x]
    while stack:
        item = stack.pop()
        if isinstance(item, IExpr):
            yield item
            stack.extend(getattr(item, f) for f in item.__dataclass_fields__ if f not in ("type", "span"))
        elif isinstance(item, OrderKey):
            stack.append(item.expr)
        elif isinstance(item, (TableBody, EligibilityBody)):
            stack.extend(item.rows if isinstance(item, TableBody) else item.conditions)
        elif isinstance(item, Row):
            stack.extend([item.condition, item.value])
        elif isinstance(item, Cond):
            stack.append(item.expr)
        elif isinstance(item, tuple):
            stack.extend(reversed(item))


def _reads_across(body: object) -> bool:
    return any(isinstance(x, Across) or isinstance(x, Ref) and x.kind == "summary" for x in walk(body))
