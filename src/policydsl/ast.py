"""The abstract syntax tree: small frozen dataclasses, each with the span it was parsed from.

Nodes hold exactly what the source said (names unresolved, types unchecked); `semantics` turns them into typed IR.
Spans are excluded from equality so that `parse(format(ast)) == ast` compares meaning, not positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .diagnostics import NO_SPAN, Span
from .notes import Annotations, Citation, Explain  # noqa: F401  (part of the tree; defined apart, see notes)


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


# ------------------------------------------------------------------------------------------------ expressions

@dataclass(frozen=True)
class Expr:
    """Base of all expression nodes."""


@dataclass(frozen=True)
class Literal(Expr):
    """A constant. `kind` is one of int, decimal, percent, money, duration, date, text, bool.

    `value` is int, Decimal (decimal, percent as a fraction, money in yuan), date, str, bool, or for durations a
    (amount, unit) pair. `text` keeps the literal as written, for the formatter and explanations.
    """

    kind: str
    value: object
    text: str = field(compare=False)  # how it was written (3.5 万元): kept for the formatter, not part of meaning
    span: Span = _span()


@dataclass(frozen=True)
class Name(Expr):
    """A reference to a field, fact, param, list, enum label or builtin value, resolved by `semantics`."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Attr(Expr):
    """`obj.name`: a field of a record value."""

    obj: Expr
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Index(Expr):
    """`list[key]`: lookup of a row by key."""

    obj: Expr
    key: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Unary(Expr):
    """`-x` or `not x`."""

    op: str
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Binary(Expr):
    """Arithmetic (+ - * /), comparison (== != < <= > >=), logic (and or), membership (in, not in)."""

    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class IfExpr(Expr):
    """`if cond then a else b`."""

    cond: Expr
    then: Expr
    otherwise: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Label:
    """An enum label as written in a match arm."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class MatchArm:
    """`label | label -> value`."""

    labels: tuple[Label, ...]
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class MatchExpr(Expr):
    """`match subject { arms… else -> default }`."""

    subject: Expr
    arms: tuple[MatchArm, ...]
    default: Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class OrderKey:
    """One key of a `by` clause: an expression and its direction."""

    expr: Expr
    descending: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class Call(Expr):
    """A builtin function, an aggregate or a function across records, with the clauses written inside it.

    `where` (aggregates), `within` (the group a value across records is computed in), `order` (the `by` keys of
    rank/top/bottom/apportion/grant) and `options` (`ties`, `method`, `rounding` and the word chosen), in the order
    they were written; `alias` names the element of an aggregate.
    """

    func: str
    args: tuple[Expr, ...]
    where: Expr | None
    span: Span = _span()
    within: Expr | None = None
    order: tuple[OrderKey, ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    alias: str | None = None  # `sum(薪级表 as 行, …)`: the element's name inside the aggregate


@dataclass(frozen=True)
class ListLit(Expr):
    """`[a, b, c]`."""

    items: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class FieldInit:
    """`name: value` inside a record literal."""

    name: str
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class RecordLit(Expr):
    """`{ name: value, … }` — records in examples."""

    fields: tuple[FieldInit, ...]
    span: Span = _span()


# ------------------------------------------------------------------------------------------------ types

@dataclass(frozen=True)
class TypeRef:
    """Base of type expressions."""


@dataclass(frozen=True)
class NamedType(TypeRef):
    """`int`, `money`, an enum or record name …"""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class ListType(TypeRef):
    """`list of R [by FIELD]`: related records."""

    element: str
    by: str | None
    span: Span = _span()


@dataclass(frozen=True)
class InlineEnum(TypeRef):
    """`enum [Name] [ordered] { labels }` written in a field's type."""

    name: str | None
    ordered: bool
    labels: tuple[Label, ...]
    span: Span = _span()


# ------------------------------------------------------------------------------------------------ annotations

# ------------------------------------------------------------------------------------------------ declarations

@dataclass(frozen=True)
class Decl:
    """Base of declarations."""


@dataclass(frozen=True)
class PolicyHeader(Decl):
    """`policy NAME "标题" en "Title" subject … source … effective … assumed … languages zh en`.

    `source` and `assumed` are the notes' (Chinese) texts; `source_note` and `assumed_note` hold the whole notes
    where they say more than that (a cited document, the English text), else None — `citation()` and
    `assumption()` give the notes either way."""

    name: str
    title: str | None
    subject: str | None
    source: str | None
    effective: date | None
    assumed: str | None = None  # why the header's figures (e.g. the effective date) are the file's own choice
    span: Span = _span()
    title_en: str | None = None
    languages: tuple[str, ...] = ()  # as written ("zh", "en"); () when the header says nothing
    source_note: Citation | None = None
    assumed_note: Citation | None = None

    def citation(self) -> Citation | None:
        """The header's `source` as a note, or None."""
        if self.source_note is not None or self.source is None:
            return self.source_note
        return Citation("source", self.source, self.span)

    def assumption(self) -> Citation | None:
        """The header's `assumed` as a note, or None."""
        if self.assumed_note is not None or self.assumed is None:
            return self.assumed_note
        return Citation("assumed", self.assumed, self.span)


@dataclass(frozen=True)
class Import(Decl):
    path: str
    span: Span = _span()


@dataclass(frozen=True)
class Extends(Decl):
    path: str
    span: Span = _span()


@dataclass(frozen=True)
class EnumDecl(Decl):
    name: str
    ordered: bool
    labels: tuple[Label, ...]
    span: Span = _span()


@dataclass(frozen=True)
class FieldDecl:
    """`name: [optional] type`; an optional field may be absent (an empty cell), and a rule says what then."""

    name: str
    type: TypeRef
    span: Span = _span()
    optional: bool = False
    bounds: tuple[Expr, Expr] | None = None  # `between LOW and HIGH`: a value outside is a bad record


@dataclass(frozen=True)
class RecordDecl(Decl):
    """A record type; with `override` (in a variant) its fields are added to the base's record of that name, or
    replace the type of the base's field of the same name."""

    name: str
    key: str | None
    fields: tuple[FieldDecl, ...]
    span: Span = _span()
    override: bool = False


@dataclass(frozen=True)
class MapDecl(Decl):
    """`map FIELD = EXPR` in a variant: the base's input field FIELD is no longer read from the records but
    computed from the variant's own fields (a neighbour's rule run on this county's records)."""

    field: str
    expr: Expr
    notes: Annotations
    span: Span = _span()


@dataclass(frozen=True)
class ListDecl(Decl):
    """An external list loaded from CSV: `list 名 from "file.csv" key 编号 { fields }`."""

    name: str
    path: str
    key: str | None
    fields: tuple[FieldDecl, ...]
    notes: Annotations
    span: Span = _span()


@dataclass(frozen=True)
class DatedValue:
    """One value of a parameter; `start` None means 'always'."""

    start: date | None
    value: Expr
    notes: Annotations
    span: Span = _span()


@dataclass(frozen=True)
class ParamDecl(Decl):
    name: str
    type: TypeRef
    values: tuple[DatedValue, ...]
    override: bool
    span: Span = _span()


@dataclass(frozen=True)
class ValueDecl(Decl):
    """`fact` or `outcome NAME [: type] = expr`."""

    name: str
    type: TypeRef | None
    expr: Expr
    is_outcome: bool
    override: bool
    notes: Annotations
    span: Span = _span()


@dataclass(frozen=True)
class TableRow:
    """`when cond -> value` (cond None for `otherwise`)."""

    condition: Expr | None
    value: Expr
    notes: Annotations
    span: Span = _span()


@dataclass(frozen=True)
class TableDecl(Decl):
    name: str
    type: TypeRef | None
    hit: str
    rows: tuple[TableRow, ...]
    is_outcome: bool
    override: bool
    notes: Annotations
    span: Span = _span()


@dataclass(frozen=True)
class Condition:
    """A named condition of an eligibility block."""

    name: str
    expr: Expr
    notes: Annotations
    span: Span = _span()


@dataclass(frozen=True)
class EligibilityDecl(Decl):
    name: str
    conditions: tuple[Condition, ...]
    is_outcome: bool
    override: bool
    notes: Annotations
    span: Span = _span()


@dataclass(frozen=True)
class SummaryDecl(Decl):
    name: str
    type: TypeRef | None
    expr: Expr
    override: bool
    notes: Annotations
    span: Span = _span()


@dataclass(frozen=True)
class ExceptionDecl(Decl):
    """`exception TARGET "label" when CONDITION = VALUE`: where the condition holds, the fact or outcome TARGET takes
    this value instead of its own definition."""

    target: str
    label: str
    condition: Expr
    value: Expr
    notes: Annotations
    span: Span = _span()


@dataclass(frozen=True)
class BetterClause:
    """`better higher|lower|VALUE`: `direction` higher or lower, or the favourable `value` (a bool, a label)."""

    direction: str | None
    value: object = None
    span: Span = _span()


@dataclass(frozen=True)
class GlossaryEntry:
    """One entry of a glossary: `TARGET: zh "…" en "…" unit "岁" "years" actionable better higher serious`.

    `target` is a name or `owner.member`; a clause not written is None (False for the two flags), so that a
    variant's entry replaces only the clauses it writes."""

    target: str
    zh: str | None = None
    en: str | None = None
    unit_zh: str | None = None
    unit_en: str | None = None
    actionable: bool = False
    better: BetterClause | None = None
    serious: bool = False
    serious_values: tuple[str, ...] = ()  # `serious (诫勉督促)`: only these labels are serious
    span: Span = _span()

    @property
    def owner(self) -> str:
        return self.target.split(".", 1)[0]

    @property
    def member(self) -> str | None:
        return self.target.split(".", 1)[1] if "." in self.target else None


@dataclass(frozen=True)
class GlossaryDecl(Decl):
    """`glossary { entries }` (术语)."""

    entries: tuple[GlossaryEntry, ...]
    span: Span = _span()


@dataclass(frozen=True)
class DocumentDecl(Decl):
    """`document NAME "标题" { en … issuer … date … published … number … url … assumed … }` (文件)."""

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
    clause_spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False, repr=False)  # for comments


@dataclass(frozen=True)
class RecourseStepDecl:
    """`review "…" en "…" within 30 天` or `appeal …`: a route and its deadline (a duration literal)."""

    text: str
    en: str | None = None
    within: Literal | None = None
    span: Span = _span()


@dataclass(frozen=True)
class RecourseDecl(Decl):
    """`recourse { office … review … appeal … contact … assumed … }` (救济)."""

    office: str | None = None
    office_en: str | None = None
    review: RecourseStepDecl | None = None
    appeal: RecourseStepDecl | None = None
    contact: str | None = None
    contact_en: str | None = None
    assumed: Citation | None = None
    span: Span = _span()
    clause_spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False, repr=False)  # for comments


@dataclass(frozen=True)
class Expectation:
    """`name = value`; `record` is the key of the given record it is about (examples with several records)."""

    name: str
    value: Expr
    span: Span = _span()
    record: str | None = None


@dataclass(frozen=True)
class ExampleDecl(Decl):
    """An example: one given record (`given`), or several (`given records [ … ]`, then `given` is None)."""

    title: str
    as_of: date | None
    record_type: str | None
    given: RecordLit | None
    expects: tuple[Expectation, ...]
    span: Span = _span()
    records: tuple[RecordLit, ...] = ()


@dataclass(frozen=True)
class Module:
    """One parsed file."""

    path: str
    decls: tuple[Decl, ...]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Module) and self.decls == other.decls

    def __hash__(self) -> int:
        return hash(self.decls)
