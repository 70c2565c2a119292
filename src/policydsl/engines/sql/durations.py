"""Durations in SQL: a STRUCT of whole months and whole days, as `types.Duration` keeps them.

Months and days are never converted into each other (a month has no fixed number of days), so SQL's INTERVAL,
which compares 1 month equal to 30 days, is not used as a value: only to move a date, months first (clamped to the
month's last day), then days — what `row.add_duration` does.
"""

from __future__ import annotations

from sqlglot import exp

from ...types import Duration

PARTS = ("months", "days")


def literal(value: Duration) -> exp.Expression:
    return make(exp.Literal.number(value.months), exp.Literal.number(value.days))


def make(months: exp.Expression, days: exp.Expression) -> exp.Expression:
    return exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier("months"), expression=_big(months)),
                                   exp.PropertyEQ(this=exp.to_identifier("days"), expression=_big(days))])


def _big(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build("BIGINT"))


def part(d: exp.Expression, name: str) -> exp.Expression:
    return exp.Dot(this=exp.Paren(this=d.copy()), expression=exp.to_identifier(name))


def negate(d: exp.Expression) -> exp.Expression:
    return make(exp.Neg(this=part(d, "months")), exp.Neg(this=part(d, "days")))


def combine(a: exp.Expression, b: exp.Expression, sign: int) -> exp.Expression:
    """a + b (sign 1) or a − b (sign −1), part by part."""
    cls = exp.Add if sign > 0 else exp.Sub
    return make(*(cls(this=part(a, p), expression=part(b, p)) for p in PARTS))


def scale(d: exp.Expression, n: exp.Expression) -> exp.Expression:
    return make(*(exp.Mul(this=part(d, p), expression=n.copy()) for p in PARTS))


def shift(day: exp.Expression, d: exp.Expression, sign: int) -> exp.Expression:
    """The date moved by the duration: whole months first (clamped to the month's end), then days."""
    months, days = part(d, "months"), part(d, "days")
    if sign < 0:
        months, days = exp.Neg(this=months), exp.Neg(this=days)
    moved = exp.Cast(this=exp.AddMonths(this=day, expression=months), to=exp.DataType.build("DATE"))
    return exp.Cast(this=exp.DateAdd(this=moved, expression=days, unit=exp.var("DAY")),
                    to=exp.DataType.build("DATE"))


def mixes(d: exp.Expression) -> exp.Expression:
    """Whether the duration has both months and days (such a duration cannot be ordered)."""
    zero = exp.Literal.number(0)
    return exp.and_(exp.NEQ(this=part(d, "months"), expression=zero), exp.NEQ(this=part(d, "days"), expression=zero))


def less(a: exp.Expression, b: exp.Expression, or_equal: bool) -> exp.Expression:
    """(months, days) of a before (or equal to) those of b."""
    ma, mb, da, db = part(a, "months"), part(b, "months"), part(a, "days"), part(b, "days")
    last = (exp.LTE if or_equal else exp.LT)(this=da, expression=db)
    return exp.Paren(this=exp.or_(exp.LT(this=ma, expression=mb), exp.and_(exp.EQ(this=ma.copy(), expression=mb.copy()),
                                                                         last)))


def text(d: exp.Expression) -> exp.Expression:
    """The duration as `str(Duration)` writes it: "3 年", "6 个月", "10 天", "1 个月 5 天"."""
    months, days = part(d, "months"), part(d, "days")
    zero = exp.Literal.number(0)

    def s(e: exp.Expression) -> exp.Expression:
        return exp.Cast(this=e, to=exp.DataType.build("VARCHAR"))

    def cat(*items: exp.Expression) -> exp.Expression:
        out = items[0]
        for item in items[1:]:
            out = exp.DPipe(this=out, expression=item, safe=True)
        return out
    whole_years = exp.and_(exp.NEQ(this=months, expression=zero),
                           exp.EQ(this=exp.Mod(this=months.copy(), expression=exp.Literal.number(12)),
                                  expression=zero.copy()),
                           exp.EQ(this=days, expression=zero.copy()))
    years = cat(s(exp.IntDiv(this=months.copy(), expression=exp.Literal.number(12))), exp.Literal.string(" 年"))
    month_text = cat(s(months.copy()), exp.Literal.string(" 个月"))
    day_text = cat(s(days.copy()), exp.Literal.string(" 天"))
    has_months = exp.NEQ(this=months.copy(), expression=zero.copy())
    has_days = exp.NEQ(this=days.copy(), expression=zero.copy())
    return exp.Case(ifs=[
        exp.If(this=whole_years, true=years),
        exp.If(this=exp.and_(has_months, has_days), true=cat(month_text, exp.Literal.string(" "), day_text.copy())),
        exp.If(this=has_months.copy(), true=month_text.copy()),
    ], default=day_text.copy())


def from_text(cell: exp.Expression) -> tuple[exp.Expression, exp.Expression]:
    """(value, canonical?) of a cell such as "3 年", "6 个月", "10 天" or "1 个月 5 天"."""
    number = "([0-9]{1,9})"
    shapes = [f"{number} 年", f"{number} 个月", f"{number} 天", f"{number} 个月 {number} 天"]
    ok = exp.RegexpLike(this=cell, expression=exp.Literal.string("^(?:" + "|".join(shapes) + ")$"))

    def group(pattern: str, index: int = 1) -> exp.Expression:
        found = exp.RegexpExtract(this=cell.copy(), expression=exp.Literal.string(pattern),
                                  group=exp.Literal.number(index))
        return exp.Coalesce(this=exp.TryCast(this=exp.Nullif(this=found, expression=exp.Literal.string("")),
                                             to=exp.DataType.build("BIGINT")),
                            expressions=[exp.Literal.number(0)])
    years = group(f"^{number} 年$")
    months = exp.Add(this=exp.Mul(this=years, expression=exp.Literal.number(12)),
                     expression=group(f"^{number} 个月"))
    days = group(f"{number} 天$")
    return exp.Case(ifs=[exp.If(this=ok, true=make(months, days))]), ok
