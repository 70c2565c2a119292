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

from ...types import BOOL, DATE, DECIMAL, DECIMAL_PLACES, INT, MONEY, PERCENT, TEXT, EnumType, ListOf, RecordType, Type
from .compile import cast, decimal_type, text

#: Whitespace Python's str.strip() removes (RE2 and Java regex syntax alike).
SPACE = r"[\s\x{1c}-\x{1f}\x{85}\p{Z}]"
_TRUE = ("true", "1", "是", "yes", "y")
_FALSE = ("false", "0", "否", "no", "n")


def stripped(raw: exp.Expression) -> exp.Expression:
    """`raw.strip()` as Python does it (all Unicode whitespace), for keys and links."""
    return exp.RegexpReplace(this=raw, expression=text(f"^{SPACE}+|{SPACE}+$"), replacement=text(""),
                             modifiers=text("g"))


def _full(value: exp.Expression, pattern: str) -> exp.Expression:
    return exp.RegexpLike(this=value, expression=text(f"^(?:{pattern})$"))


def typed_cell(raw: exp.Expression, t: Type) -> tuple[exp.Expression, exp.Expression]:
    """(typed value or NULL, whether the cell is in canonical form) for one raw VARCHAR cell."""
    cell = exp.Trim(this=raw)
    present = exp.Not(this=exp.Is(this=raw, expression=exp.null()))
    if isinstance(t, EnumType):
        ok = exp.In(this=cell, expressions=[text(label) for label in t.labels])
        return exp.Case(ifs=[exp.If(this=ok, true=cell)]), exp.and_(present, ok)
    if t == TEXT:
        ok = exp.and_(present, exp.NEQ(this=cell, expression=text("")),
                      exp.Not(this=exp.RegexpLike(this=cell, expression=text(f"^{SPACE}|{SPACE}$"))))
        return cell, ok
    if t == INT:
        ok = _full(cell, "[+-]?[0-9]{1,18}")
        return exp.Case(ifs=[exp.If(this=ok, true=cast(cell, "BIGINT"))]), exp.and_(present, ok)
    if t == MONEY:
        ok = _full(cell, r"[+-]?[0-9]{1,20}(?:\.[0-9]{1,2})?")
        return exp.Case(ifs=[exp.If(this=ok, true=cast(cell, decimal_type(2)))]), exp.and_(present, ok)
    if t == DECIMAL:
        return _fraction(cell, present)
    if t == PERCENT:
        pct = _full(cell, rf"[+-]?[0-9]{{1,20}}(?:\.[0-9]{{1,{DECIMAL_PLACES - 2}}})?%")
        number = exp.func("RTRIM", cell, text("%"))
        scaled = cast(exp.Mul(this=cast(number, decimal_type(DECIMAL_PLACES - 2)),
                                  expression=cast(text("0.01"), decimal_type(2))), decimal_type(DECIMAL_PLACES))
        fraction, fraction_ok = _fraction(cell, present)
        value = exp.Case(ifs=[exp.If(this=pct, true=scaled)], default=fraction)
        return value, exp.or_(exp.and_(present, pct), fraction_ok)
    if t == BOOL:
        lowered = exp.Lower(this=cell)
        yes = exp.In(this=lowered, expressions=[text(v) for v in _TRUE])
        no = exp.In(this=lowered, expressions=[text(v) for v in _FALSE])
        value = exp.Case(ifs=[exp.If(this=yes, true=exp.true()), exp.If(this=no, true=exp.false())])
        return value, exp.and_(present, exp.or_(yes, no))
    if t == DATE:
        shape = _full(cell, "[0-9]{4}-[0-9]{2}-[0-9]{2}")
        value = exp.Case(ifs=[exp.If(this=shape, true=exp.TryCast(this=cell, to=exp.DataType.build("DATE")))])
        return value, exp.and_(present, shape, exp.Not(this=exp.Is(this=value.copy(), expression=exp.null())))
    raise ValueError(f"no SQL reading for {t}")


def _fraction(cell: exp.Expression, present: exp.Expression) -> tuple[exp.Expression, exp.Expression]:
    ok = _full(cell, rf"[+-]?[0-9]{{1,27}}(?:\.[0-9]{{1,{DECIMAL_PLACES}}})?")
    return (exp.Case(ifs=[exp.If(this=ok, true=cast(cell, decimal_type(DECIMAL_PLACES)))]),
            exp.and_(present, ok))


def scalar_fields(rtype: RecordType) -> list[tuple[str, Type]]:
    """The fields a flat file holds (relations come from their own files)."""
    return [(n, t) for n, t in rtype.fields if not isinstance(t, ListOf)]


def canonical(value: object, t: Type) -> str:
    """A runtime value written in the canonical form `typed_cell` accepts (for records Python converted)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
