"""Figures for people, in Chinese or English: separators, 元 / 万元, percentages, 是 / 否, signed changes.

Every report of a comparison (and the terminal summary of `run`) formats through this module, so that one place
decides how a county official reads a figure: `5,068.55 万元`, `+60,000 元`, `68.4%`, `是`, `−118`. Numbers are
formatted from their exact Decimal values by Babel's locale data (zh_CN, en_GB); nothing passes through float.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date
from babel.numbers import format_decimal

from .. import naming
from ..naming import LOCALES
from ..types import DECIMAL, MONEY, PERCENT, EnumType, Type

MINUS = "\u2212"  # a true minus sign: −118 reads better than -118 and does not break from its number
#: from this amount on, money reads in 万元 (Chinese) or millions (English)
LARGE_MONEY = Decimal(1_000_000)
WORDS = {
    "zh": {"yes": "是", "no": "否", "none": "—", "yuan": "元", "wan": "万元", "records": "条记录"},
    "en": {"yes": "yes", "no": "no", "none": "—", "yuan": "yuan", "wan": "million yuan", "records": "records"},
}


def number(value: int | Decimal, lang: str, places: int | None = None) -> str:
    """An exact number with the locale's separators: 348,130 / 21.4; `places` fixes the decimals."""
    if isinstance(value, Decimal) and places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    pattern = None
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        shown = places if places is not None else max(0, -exponent) if isinstance(exponent, int) else 0
        pattern = "#,##0" + ("." + "0" * shown if shown else "")
    text = format_decimal(value, format=pattern, locale=LOCALES[lang], decimal_quantization=False)
    return text.replace("-", MINUS)


def money(value: Decimal | int, lang: str) -> str:
    """Money for a reader: `60,000 元`, `789.47 元`, `5,068.55 万元`; English `60,000 yuan`, `50.69 million yuan`."""
    value = Decimal(value)
    w = WORDS[lang]
    if abs(value) >= LARGE_MONEY:
        scaled = value / (Decimal(10_000) if lang == "zh" else Decimal(1_000_000))
        return f"{number(scaled, lang, 2)} {w['wan']}"
    whole = value == value.to_integral_value()
    return f"{number(value, lang, 0 if whole else 2)} {w['yuan']}"


def percent(value: Decimal, lang: str) -> str:
    """A share as a percentage with one decimal: 0.684 → 68.4%."""
    return number(Decimal(value) * 100, lang, 1) + "%"


def boolean(value: bool, lang: str) -> str:
    return WORDS[lang]["yes" if value else "no"]


def value(v: object, t: Type | None, lang: str, policy=None, name: str | None = None, unit: bool = True) -> str:
    """A value of an outcome (or field, summary) `name` of type `t`, with its unit where the policy has one."""
    if v is None:
        return WORDS[lang]["none"]
    if isinstance(v, bool):
        return boolean(v, lang)
    if t == MONEY and isinstance(v, (Decimal, int)):
        return money(v, lang)
    if t == PERCENT and isinstance(v, Decimal):
        return percent(v, lang)
    if t == DECIMAL and isinstance(v, Decimal) and is_share(name, v):
        return percent(v, lang)
    if isinstance(v, (int, Decimal)):
        if isinstance(v, Decimal) and not _long(v) and v == v.to_integral_value():
            v = int(v)  # 18.0 per 10,000 reads as 18
        text = number(v, lang, 2 if t == DECIMAL and isinstance(v, Decimal) and _long(v) else None)
        return text + (_unit(policy, name, v, lang) if unit else "")
    if isinstance(t, EnumType) and policy is not None:
        return naming.member_label(policy, t.name, str(v), lang)
    if isinstance(v, date):
        return f"{v.year}年{v.month}月{v.day}日" if lang == "zh" else v.isoformat()
    return str(v)


#: a decimal named like a share (岗位降幅 0.684) reads as a percentage (68.4%) — the policy computed a fraction
SHARE_SUFFIXES = ("降幅", "增幅", "占比", "比例", "比重", "比率")


def is_share(name: str | None, v: Decimal) -> bool:
    """Whether a decimal is a share of a whole: its name says so and it lies between −1 and 1."""
    return bool(name) and any(s in name for s in SHARE_SUFFIXES) and abs(v) <= 1


def change(v: int | Decimal, t: Type | None, lang: str, policy=None, name: str | None = None) -> str:
    """A signed change: +60,000 元, −118 人, ±0."""
    if v == 0:
        return "±0"
    text = value(abs(v), t, lang, policy, name)
    return ("+" if v > 0 else MINUS) + text


def plain_change(v: int | Decimal, t: Type | None, lang: str) -> str:
    """A signed change without a unit (table cells whose column names the unit)."""
    if v == 0:
        return "0"
    if t == MONEY:
        text = number(abs(Decimal(v)), lang, 2)
    elif t == PERCENT:
        text = percent(abs(Decimal(v)), lang)
    else:
        text = number(abs(v), lang)
    return ("+" if v > 0 else MINUS) + text


def plain(v: object, t: Type | None, lang: str, policy=None) -> str:
    """A value without its unit (table cells): money with two decimals and separators."""
    if t == MONEY and isinstance(v, (Decimal, int)) and not isinstance(v, bool):
        return number(Decimal(v), lang, 2)
    return value(v, t, lang, policy, unit=False)


def unit_of(policy, name: str | None, t: Type | None, lang: str, v: object = 2) -> str:
    """The unit a column of `name` is counted in: 元 for money, the policy's unit for counts, else ""."""
    if t == MONEY:
        return WORDS[lang]["yuan"]
    if t == PERCENT:
        return "%"
    if policy is None or name is None:
        return ""
    return naming.unit(policy, name, v, lang)


def _unit(policy, name: str | None, v: object, lang: str) -> str:
    if policy is None or name is None:
        return ""
    u = naming.unit(policy, name, v, lang)
    if not u:
        return ""
    return (" " if lang == "en" else " ") + u


def _long(v: Decimal) -> bool:
    exponent = v.as_tuple().exponent
    return isinstance(exponent, int) and exponent < -4


def date_text(d: date, lang: str) -> str:
    """A date in full, as the explanations write it: 2022年12月31日 / 31 December 2022."""
    return format_date(d, "long", locale=LOCALES[lang])


def count(n: int, lang: str) -> str:
    """A count of people or things: 1,198."""
    return number(n, lang)


__all__ = ["LOCALES", "SHARE_SUFFIXES", "is_share", "MINUS", "boolean", "change", "count", "date_text", "money", "number", "percent",
           "plain", "plain_change", "unit_of", "value"]
