"""Typed records from raw text cells, in SQL: the strict fast path of `engines.records`' conversions.

Each field's cell is accepted here only in its canonical written form ("12", "35600.00", "12.5%", "true",
"2024-01-05", an enum label, text without surrounding whitespace). A cell in any other form — "1,234.50", "3.5万元",
"是", full-width digits, a blank, garbage — makes the record a *suspect*: the runner hands it to the careful Python
converter, which either accepts it (it is then evaluated like the others) or reports exactly the errors the row
engine reports. So the SQL engine accepts, refuses and words records exactly as the row engine does.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlglot import exp

from ...types import BOOL, DATE, DECIMAL, DURATION, INPUT_PLACES, INT, MONEY, PERCENT, TEXT, EnumType, ListOf, RecordType, Type
from . import durations
from .compile import cast, decimal_type, text

#: Whitespace Python's str.strip() removes (RE2 and Java regex syntax alike).
SPACE = r"[\s\x{1c}-\x{1f}\x{85}\p{Z}]"
_TRUE = ("true", "1", "是", "yes", "y")
_FALSE = ("false", "0", "否", "no", "n")


def stripped(raw: exp.Expression) -> exp.Expression:
    """`raw.strip()` as Python does it (all Unicode whitespace), for keys and links; the regular expression
    runs only on the rare cells that need it."""
    strip = exp.RegexpReplace(this=raw.copy(), expression=text(f"^{SPACE}+|{SPACE}+$"), replacement=text(""),
                              modifiers=text("g"))
    return exp.Case(ifs=[exp.If(this=_no_outer_space(raw), true=raw.copy())], default=strip)


def blank(raw: exp.Expression) -> exp.Expression:
    """Python's blank cell: missing, or nothing but whitespace."""
    return exp.or_(exp.Is(this=raw, expression=exp.null()), exp.EQ(this=raw.copy(), expression=text("")),
                   exp.and_(exp.not_(_no_outer_space(raw)),
                            exp.RegexpLike(this=raw.copy(), expression=text(f"^{SPACE}*$"))))


def filled(raw: exp.Expression) -> exp.Expression:
    """Not `blank(raw)`, as a CASE: a cell whose first character is not whitespace (nearly every one) is decided
    by that character alone."""
    first = exp.Unicode(this=raw.copy())
    return exp.Case(ifs=[exp.If(this=exp.Is(this=raw.copy(), expression=exp.null()), true=exp.false()),
                         exp.If(this=exp.not_(_may_be_space(first)), true=exp.true())],
                    default=exp.not_(exp.RegexpLike(this=raw.copy(), expression=text(f"^{SPACE}*$"))))


def blank_row(cells: list[exp.Expression]) -> exp.Expression:
    """Whether every cell is blank, as a CASE that stops at the first filled cell (a projection evaluates every
    operand of an OR on every row; a CASE tests each condition only on the rows still undecided)."""
    if not cells:
        return exp.true()
    return exp.Case(ifs=[exp.If(this=filled(c), true=exp.false()) for c in cells], default=exp.true())


def _full(value: exp.Expression, pattern: str) -> exp.Expression:
    return exp.RegexpLike(this=value, expression=text(f"^(?:{pattern})$"))


#: Code points above U+0084 that str.strip() removes, U+2000–U+200A aside (tested as a range). Written out: working
#: them out scans every code point, a tenth of a second at each start (tests/test_engines_agree.py checks the list).
HIGH_SPACES = (0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000)


def _may_be_space(code: exp.Expression) -> exp.Expression:
    """Whether the code point `code` may be one str.strip() removes: exact above U+0020, true at or below it
    (controls, and an empty cell's -1 or 0), which only sends those cells to the exact (regular expression) path.
    A CASE whose first WHEN decides the common characters, CJK (above U+3000) and printable ASCII (U+0021–U+0084),
    in one or two comparisons: DuckDB runs each WHEN as a pass over the rows still undecided."""
    n = exp.Literal.number
    rare = exp.or_(*[exp.EQ(this=code.copy(), expression=n(c)) for c in HIGH_SPACES],
                   exp.Between(this=code.copy(), low=n(0x2000), high=n(0x200A)))
    common = exp.or_(exp.GT(this=code.copy(), expression=n(max(HIGH_SPACES))),
                     exp.Between(this=code.copy(), low=n(0x21), high=n(0x84)))
    return exp.Case(ifs=[exp.If(this=common, true=exp.false()),
                         exp.If(this=exp.GTE(this=code.copy(), expression=n(0x85)), true=rare)],
                    default=exp.true())


def _no_outer_space(cell: exp.Expression) -> exp.Expression:
    """Whether the cell neither starts nor ends with a character str.strip() removes (false for an empty cell)."""
    first = exp.Unicode(this=cell.copy())
    # the last code point: SUBSTRING(cell, -1, 1) is RIGHT(cell, 1) (both count code points), and cheaper in DuckDB
    last = exp.Unicode(this=exp.Substring(this=cell.copy(), start=exp.Literal.number(-1), length=exp.Literal.number(1)))
    return exp.Case(ifs=[exp.If(this=_may_be_space(first), true=exp.false())],
                    default=exp.not_(_may_be_space(last)))


def _round_trip(cell: exp.Expression, to: str, *forms: str, value: exp.Expression | None = None
                ) -> tuple[exp.Expression, exp.Expression]:
    """TRY_CAST, accepted only when the value prints back as the cell (optionally with a suffix: "12" → "12.00").
    `value` is the already computed value (a column), so that the cast runs once."""
    cast_value = exp.TryCast(this=cell, to=exp.DataType.build(to))
    printed = cast(value if value is not None else cast_value.copy(), "VARCHAR")
    value = cast_value
    ok = exp.EQ(this=printed, expression=cell.copy())
    if forms:  # a CASE: the other forms are built and compared only for the cells the first did not match
        ok = exp.Case(ifs=[exp.If(this=ok, true=exp.true())] + [
            exp.If(this=exp.EQ(this=printed.copy(), expression=exp.DPipe(this=cell.copy(), expression=text(suffix),
                                                                         safe=True)), true=exp.true())
            for suffix in forms], default=exp.false())
    return value, ok


def typed_cell(raw: exp.Expression, t: Type, empty_text: bool = False, value: exp.Expression | None = None
               ) -> tuple[exp.Expression, exp.Expression]:
    """(typed value or NULL, whether the cell is in canonical form) for one raw VARCHAR cell.

    `empty_text` accepts an empty text (records Python converted, e.g. an example's ""). `value` is the typed
    value already computed from this cell (a column): the check then reuses it instead of converting again.
    Canonical means what a careful export writes: "12", "35600.00" (or "35600"), "12.5%" or "0.125", "true",
    "2024-01-05", an enum label, text without surrounding whitespace. Everything else is left to Python.
    """
    cell = raw
    if isinstance(t, EnumType):  # a simple CASE: DuckDB runs an IN list of five or more constants as a join
        ok = exp.Case(this=cell, ifs=[exp.If(this=text(label), true=exp.true()) for label in t.labels],
                      default=exp.false())
        return cell, ok
    if t == TEXT:
        if empty_text:  # records Python already converted: any text it produced is the value
            return cell, exp.Not(this=exp.Is(this=cell, expression=exp.null()))
        return cell, exp.and_(exp.NEQ(this=cell, expression=text("")), _no_outer_space(cell))
    if t == INT:
        return _round_trip(cell, "BIGINT", value=value)
    if t == MONEY:
        return _round_trip(cell, decimal_type(2), ".00", "0", value=value)
    if t == DATE:
        return _round_trip(cell, "DATE", value=value)
    if t == DECIMAL:
        fraction, ok = _fraction(cell)
        return fraction, _known(value) if value is not None else ok
    if t == PERCENT:
        pct = _full(cell, rf"[+-]?[0-9]{{1,12}}(?:\.[0-9]{{1,{INPUT_PLACES - 2}}})?%")
        # the cell without its one final % (only cells `pct` matched are read so): DuckDB's RTRIM(cell, '%') tests
        # every code point against the set of characters to trim, four times the cost of a substring
        number = exp.Substring(this=cell.copy(), start=exp.Literal.number(1),
                               length=exp.Sub(this=exp.Length(this=cell.copy()), expression=exp.Literal.number(1)))
        scaled = cast(exp.Mul(this=cast(number, decimal_type(INPUT_PLACES - 2)),
                              expression=cast(text("0.01"), decimal_type(2))), decimal_type(INPUT_PLACES))
        fraction, fraction_ok = _fraction(cell)
        typed = exp.Case(ifs=[exp.If(this=pct, true=scaled)], default=fraction)
        ok = _known(value) if value is not None else exp.or_(pct, fraction_ok)
        if not empty_text:  # a bare number above 1 in a file ("12") goes to Python, which refuses it in words
            written = value if value is not None else typed.copy()
            # ENDS_WITH compares bytes; RIGHT(cell, 1) would count the cell's code points to find the last one
            bare_above_one = exp.and_(exp.not_(exp.EndsWith(this=cell.copy(), expression=text("%"))),
                                      exp.GT(this=exp.Abs(this=written.copy()), expression=exp.Literal.number(1)))
            ok = exp.and_(ok, exp.not_(bare_above_one))
        return typed, ok
    if t == DURATION:
        return durations.from_text(cell)
    if t == BOOL:
        # a simple CASE (DuckDB runs an IN list of five or more constants as a join) on the words as written in
        # their usual cases, not on LOWER(cell) (a new string per cell); "tRUE" and the like go to Python, which
        # reads them the same
        typed = exp.Case(this=cell, ifs=[exp.If(this=text(w), true=exp.true() if truth else exp.false())
                                          for w, truth in _bool_words()])
        return typed, _known(value if value is not None else typed.copy())
    raise ValueError(f"no SQL reading for {t}")


def _bool_words() -> list[tuple[str, bool]]:
    """The bool words as written, each with its value: true and false first (a CASE tests its WHENs in turn, so the
    usual words decide a cell in one or two comparisons), then the others, then as titles and in capitals
    (spreadsheets write TRUE), without repeats."""
    pairs = [p for pair in zip(((w, True) for w in _TRUE), ((w, False) for w in _FALSE)) for p in pair]
    return list(dict.fromkeys(pairs + [(w.title(), v) for w, v in pairs] + [(w.upper(), v) for w, v in pairs]))


def _known(value: exp.Expression) -> exp.Expression:
    """For the types whose reading is NULL exactly when the cell is not canonical: whether it was."""
    return exp.Not(this=exp.Is(this=value.copy(), expression=exp.null()))


def _fraction(cell: exp.Expression) -> tuple[exp.Expression, exp.Expression]:
    ok = _full(cell, rf"[+-]?[0-9]{{1,{18 - INPUT_PLACES}}}(?:\.[0-9]{{1,{INPUT_PLACES}}})?")
    return exp.Case(ifs=[exp.If(this=ok, true=cast(cell, decimal_type(INPUT_PLACES)))]), ok


def scalar_fields(rtype: RecordType) -> list[tuple[str, Type]]:
    """The fields a flat file holds (relations come from their own files)."""
    return [(n, t) for n, t in rtype.fields if not isinstance(t, ListOf)]


def canonical(value: object, t: Type) -> str:
    """A runtime value written in the canonical form `typed_cell` accepts (for records Python converted); an absent
    optional value is an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
