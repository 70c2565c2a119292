"""Values for a reader in their locale: money, percents, dates, durations, units, sizes of changes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ..engines.row import add_duration, whole_months
from ..types import DATE, DECIMAL, INT, MONEY, PERCENT, Duration, Type

LANGS = ("zh", "en")


class Money(Decimal):
    """A money value inside author templates: prints as ¥1,000.00 / 1,000.00 元 (arithmetic gives plain Decimal)."""


class Percent(Decimal):
    """A percent value inside author templates: prints as 60%."""


WORDS = {
    "zh": {"yes": "是", "no": "否", "met": "符合", "not_met": "不符合", "q": "?", "as_of": "评估日",
           "records": "全部记录", "and": "且", "or": "或", "not": "并非", "then": "则", "else": "否则",
           "if": "若", "in": "属于", "notin": "不属于", "sep": "、", "semi": ";", "records_n": "{n} 条记录",
           "empty": "无", "in_list": "属于", "notin_list": "不属于",
           "approx": "约 "},
    "en": {"yes": "yes", "no": "no", "met": "met", "not_met": "not met", "q": "? ", "as_of": "the evaluation date",
           "records": "all records", "and": "and", "or": "or", "not": "not", "then": "then", "else": "else",
           "if": "if", "in": "is one of", "notin": "is not one of", "sep": ", ", "semi": "; ",
           "records_n": "{n} records", "approx": "≈ ", "empty": "none", "in_list": "is in",
           "notin_list": "is not in"},
}

#: Units of int figures, guessed from the end of the name (the language has no unit on int). zh unit, en (1, many).
UNITS = (("年龄", "岁", ("", "")), ("党龄", "年", ("year", "years")), ("年限", "年", ("year", "years")),
         ("星级", "星", ("star", "stars")), ("星级变化", "星", ("star", "stars")), ("星", "星", ("star", "stars")),
         ("人数", "人", ("person", "people")),
         ("员额", "人", ("person", "people")), ("户数", "户", ("household", "households")))


def format_date(d: date, lang: str) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else d.isoformat()


def format_money(value: Decimal, lang: str) -> str:
    text = f"{abs(value):,.2f}"
    sign = "-" if value < 0 else ""
    return f"{sign}{text} 元" if lang == "zh" else f"{sign}¥{text}"


def format_duration(d: Duration, lang: str) -> str:
    if lang == "zh":
        return str(d)
    parts = []
    if d.months and d.months % 12 == 0:
        parts.append(_plural(d.months // 12, "year", "years"))
    elif d.months:
        parts.append(_plural(d.months, "month", "months"))
    if d.days or not parts:
        parts.append(_plural(d.days, "day", "days"))
    return " ".join(parts)


def _plural(n, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def format_value(value: object, type_: Type | None, lang: str) -> str:
    """A value for a reader: money ¥1,000.00 / 1,000.00 元, dates 2024-01-01 / 2024年1月1日, 是/否 / yes/no."""
    w = WORDS[lang]
    if value is None:
        return "—"
    if isinstance(value, bool):
        return w["yes"] if value else w["no"]
    if (type_ == MONEY or isinstance(value, Money)) and isinstance(value, Decimal):
        return format_money(value, lang)
    if (type_ == PERCENT or isinstance(value, Percent)) and isinstance(value, Decimal):
        pct = (value * 100).normalize()
        return f"{pct:f}%"
    if isinstance(value, date):
        return format_date(value, lang)
    if isinstance(value, Duration):
        return format_duration(value, lang)
    if isinstance(value, Decimal):
        if value.as_tuple().exponent < -4 if isinstance(value.as_tuple().exponent, int) else False:
            return w["approx"] + f"{value.quantize(Decimal('0.0001')).normalize():f}"
        # a plain decimal (a score, a factor) reads without the zeros its arithmetic left: 60, not 60.000
        return f"{value.normalize():f}" if value.is_finite() else f"{value:f}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, (tuple, list)):
        return w["records_n"].format(n=len(value))
    if isinstance(value, dict):
        return str(next(iter(value.values()), ""))
    if value == "":
        return w["empty"]  # an empty text reads as "none", not as nothing after an arrow
    return str(value)


def unit_of(name: str, type_: Type | None, value: object, lang: str) -> str:
    if type_ != INT or not isinstance(value, int) or isinstance(value, bool):
        return ""
    for suffix, zh, (one, many) in UNITS:
        if name.endswith(suffix):
            unit = zh if lang == "zh" else (one if abs(value) == 1 else many)
            return f" {unit}" if unit else ""
    return ""


def with_unit(name: str, value: object, type_: Type | None, lang: str) -> str:
    return format_value(value, type_, lang) + unit_of(name, type_, value, lang)


def _change(old, new, t, lang: str, field: str) -> str:
    """The size of a change in words: "2 more" / "多 2", "1 day later" / "晚 1 天"."""
    zh = lang == "zh"
    if t == DATE:
        later = new > old
        a, b = (old, new) if later else (new, old)
        months = whole_months(a, b)
        days = (b - add_duration(a, Duration(months, 0))).days
        parts = []
        years, months = divmod(months, 12)
        if zh:
            parts = [f"{years} 年" if years else "", f"{months} 个月" if months else "", f"{days} 天" if days else ""]
            return ("晚 " if later else "早 ") + " ".join(p for p in parts if p)
        parts = [_plural(years, "year", "years") if years else "", _plural(months, "month", "months") if months
                 else "", _plural(days, "day", "days") if days else ""]
        return " ".join(p for p in parts if p) + (" later" if later else " earlier")
    if t in (INT, MONEY, PERCENT, DECIMAL):
        diff = abs(new - old)
        shown = format_value(diff, t, lang) + unit_of(field, t, diff, lang)
        if zh:
            return ("多 " if new > old else "少 ") + shown
        return shown + (" more" if new > old else " less")
    return ""


def _same(a, b) -> bool:
    """Equal and indistinguishable when shown (same type; for Decimal the same exponent: 0.1 is not 0.10)."""
    if type(a) is not type(b) or a != b:
        return False
    return not isinstance(a, Decimal) or a.as_tuple().exponent == b.as_tuple().exponent


def _wrap(value, t):
    if t == MONEY and isinstance(value, Decimal):
        return Money(value)
    if t == PERCENT and isinstance(value, Decimal):
        return Percent(value)
    return value
