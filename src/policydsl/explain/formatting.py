"""Values for a reader in their locale, formatted by Babel: money (`74,172.00 元` / `CNY 74,172.00`), percents,
dates (`2022年12月31日` / `31 December 2022`), numbers, durations, units (from `naming.unit`) and the size of a
change (a difference of percents reads 百分点 / percentage points). Chinese sentences get full-width punctuation
(`fullwidth`); English pages mark Chinese left in them (a name without an English label) `lang="zh"` in HTML.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date as babel_date
from babel.numbers import parse_pattern

from .. import naming
from ..engines.row import add_duration, whole_months
from ..ir import Policy
from ..naming import LOCALES
from ..types import DATE, DECIMAL, INT, MONEY, PERCENT, Duration, Type

LANGS = ("zh", "en")
#: The Babel locale of each language of the pages (British English: the county's letters use it).


class Money(Decimal):
    """A money value inside author templates: prints as 1,000.00 元 / CNY 1,000.00 (arithmetic gives plain Decimal)."""


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

# Babel's locales and number patterns, parsed once: a call given a locale name or a pattern string parses it
# again each time, which is most of the cost of formatting a figure not seen before.
_LOCALE: dict[str, Locale] = {}
_MONEY, _MONEY_EN = parse_pattern("#,##0.00"), parse_pattern("¤¤ #,##0.00")
_PERCENT, _DECIMAL, _WHOLE = parse_pattern("#,##0.####%"), parse_pattern("#,##0.####"), parse_pattern("#,##0")


def _locale(lang: str) -> Locale:
    found = _LOCALE.get(lang)
    if found is None:
        found = _LOCALE[lang] = Locale.parse(LOCALES[lang])
    return found


@lru_cache(maxsize=4096)
def format_date(d: date, lang: str) -> str:
    """A date as the locale writes it in full: 2022年12月31日 / 31 December 2022."""
    return babel_date(d, "long", locale=_locale(lang))


@lru_cache(maxsize=65536)
def _money(value: Decimal, lang: str) -> str:
    if lang == "zh":
        return _MONEY.apply(value, _locale(lang)) + " 元"
    # CNY, not ¥: the yen shares the sign, and an English reader may take it for one
    return _MONEY_EN.apply(value, _locale(lang), currency="CNY", currency_digits=False)


def format_money(value: Decimal, lang: str) -> str:
    """Money in yuan to the fen: 74,172.00 元 / CNY 74,172.00."""
    return _money(Decimal(value), lang)


@lru_cache(maxsize=16384)
def _percent(value: Decimal, lang: str) -> str:
    return _PERCENT.apply(value, _locale(lang))


@lru_cache(maxsize=65536, typed=True)  # typed: 1000 (a count, 1000) is not Decimal 1000 (1,000)
def _number(value: Decimal | int, lang: str) -> str:
    if isinstance(value, int):  # a count or a year: grouped only from 10,000 (2019 is not 2,019)
        return _WHOLE.apply(value, _locale(lang)) if abs(value) >= 10000 else str(value)
    return _DECIMAL.apply(value, _locale(lang))


def format_duration(d: Duration, lang: str) -> str:
    """A duration in words: 1 年 / 1 year, 6 个月 / 6 months."""
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
    """A value for a reader: money 1,000.00 元 / CNY 1,000.00, dates 2024年1月1日 / 1 January 2024, 是/否 / yes/no."""
    w = WORDS[lang]
    if value is None:
        return "—"
    if isinstance(value, bool):
        return w["yes"] if value else w["no"]
    if isinstance(value, Decimal):
        if type_ == MONEY or isinstance(value, Money):
            return _money(Decimal(value), lang)
        if type_ == PERCENT or isinstance(value, Percent):
            return _percent(Decimal(value), lang)
        if not value.is_finite():
            return f"{value:f}"
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -4:
            return w["approx"] + _number(value.quantize(Decimal("0.0001")), lang)
        # a plain decimal (a score, a factor) reads without the zeros its arithmetic left: 60, not 60.000
        return _number(value, lang)
    if isinstance(value, date):
        return format_date(value, lang)
    if isinstance(value, Duration):
        return format_duration(value, lang)
    if isinstance(value, int):
        return _number(value, lang)
    if isinstance(value, (tuple, list)):
        return w["records_n"].format(n=len(value))
    if isinstance(value, dict):
        return str(next(iter(value.values()), ""))
    if value == "":
        return w["empty"]  # an empty text reads as "none", not as nothing after an arrow
    return str(value)


def unit_of(name: str, type_: Type | None, value: object, lang: str, policy: Policy | None = None) -> str:
    """The unit after an int figure (" 岁", " years"), from the policy's glossary or, without one, the name."""
    if type_ != INT or not isinstance(value, int) or isinstance(value, bool):
        return ""
    if policy is not None:
        unit = naming.unit(policy, name, value, lang)
    else:
        unit = naming.guessed_unit(name, value, lang)
    return f" {unit}" if unit else ""


def with_unit(name: str, value: object, type_: Type | None, lang: str, policy: Policy | None = None) -> str:
    """The value formatted, with its unit."""
    return format_value(value, type_, lang) + unit_of(name, type_, value, lang, policy)


def _change(old, new, t, lang: str, field: str, policy: Policy | None = None) -> str:
    """The size of a change in words: "2 more" / "多 2", "1 day later" / "晚 1 天"; a difference of two percents is
    in percentage points (百分点), not a percent of a percent."""
    zh = lang == "zh"
    if t == DATE:
        later = new > old
        a, b = (old, new) if later else (new, old)
        months = whole_months(a, b)
        days = (b - add_duration(a, Duration(months, 0))).days
        years, months = divmod(months, 12)
        if zh:
            parts = [f"{years} 年" if years else "", f"{months} 个月" if months else "", f"{days} 天" if days else ""]
            return ("晚 " if later else "早 ") + " ".join(p for p in parts if p)
        parts = [_plural(years, "year", "years") if years else "", _plural(months, "month", "months") if months
                 else "", _plural(days, "day", "days") if days else ""]
        return " ".join(p for p in parts if p) + (" later" if later else " earlier")
    if t == PERCENT:
        points = _number(abs(new - old) * 100, lang)
        if zh:
            return ("多 " if new > old else "少 ") + f"{points} 个百分点"
        return f"{points} percentage {'point' if points == '1' else 'points'}" + (" more" if new > old else " less")
    if t in (INT, MONEY, DECIMAL):
        diff = abs(new - old)
        shown = format_value(diff, t, lang) + unit_of(field, t, diff, lang, policy)
        if zh:
            return ("多 " if new > old else "少 ") + shown
        return shown + (" more" if new > old else " less")
    return ""


def _wrap(value, t):
    if t == MONEY and isinstance(value, Decimal):
        return Money(value)
    if t == PERCENT and isinstance(value, Decimal):
        return Percent(value)
    return value


# ------------------------------------------------------------------------------------------------ punctuation

_CJK = "\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef“”‘’《》"
_HALF = {",": "\uff0c", ":": "\uff1a", ";": "\uff1b", "?": "\uff1f", "!": "\uff01", "(": "\uff08", ")": "\uff09"}
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_PUNCT = re.compile(r" ?([,:;?!]) ?|([()])")


@lru_cache(maxsize=65536)
def fullwidth(text: str) -> str:
    """A Chinese sentence with full-width punctuation where it touches Chinese text: `严重问题?否,按下式计算`
    becomes `严重问题？否，按下式计算` and a bracket opened next to Chinese closes full width; figures keep theirs
    (74,172.00; 10:00; min(0, 2))."""
    if text.isascii() or not _PUNCT.search(text):
        return text
    return _fullwidth(text)


@lru_cache(maxsize=65536)
def _fullwidth(text: str) -> str:
    out: list[str] = []
    opened: list[bool] = []
    at = 0
    for m in _PUNCT.finditer(text):
        out.append(text[at:m.start()])
        before = (text[at:m.start()].rstrip() or (out[-2] if len(out) > 1 else ""))[-1:]
        after = text[m.end():].lstrip()[:1]
        near = bool(_CJK_CHAR.match(before) or _CJK_CHAR.match(after))
        at = m.end()
        if m.group(1):
            digits = before.isdigit() and after.isdigit() and m.group(0) == m.group(1)
            out.append(_HALF[m.group(1)] if near and not digits else m.group(0))
        elif m.group(2) == "(":
            opened.append(near)
            out.append(_HALF["("] if near else "(")
        else:
            full = opened.pop() if opened else near
            out.append(_HALF[")"] if full or near else ")")
    out.append(text[at:])
    return "".join(out)


def _inert(name: str) -> bool:
    """A name `_fullwidth` leaves as it is and sees only by its first and last characters: non-empty, none of the
    punctuation it changes, no space at either end."""
    return bool(name) and not name[0].isspace() and not name[-1].isspace() and not any(c in ",:;?!()" for c in name)


def _stand_in(name: str) -> str:
    return name if len(name) <= 2 else name[0] + name[-1]


def fullwidth_led_by(label: str | None, record_id: str, rest: str) -> str:
    """`fullwidth` of a sentence that opens with the person, `{label}({record_id}){rest}` (or `{record_id}{rest}`
    without a label). A name and an id differ on every page, so the sentence is punctuated with each of them
    replaced by its first and last characters — all `_fullwidth` reads of a name with no punctuation of its own —
    (a stand-in many pages share, memoised) and the name put back; any other name is punctuated as it is."""
    if label:
        if not (_inert(label) and _inert(record_id)):
            return fullwidth(f"{label}({record_id}){rest}")
        lead, key = label[-1], _stand_in(record_id)
        out = fullwidth(f"{lead}({key}){rest}")
        opened, closed = len(lead), len(lead) + 1 + len(key)  # each bracket becomes exactly one character
        return label + out[opened] + record_id + out[closed] + out[closed + 1:]
    if not _inert(record_id):
        return fullwidth(record_id + rest)
    key = _stand_in(record_id)
    return record_id + fullwidth(key + rest)[len(key):]


_CJK_RUN = re.compile(rf"[{_CJK}](?:[{_CJK}0-9·.\-%/ ]*[{_CJK}])?")


def chinese_runs(text: str) -> list[tuple[str, bool]]:
    """`text` cut into (part, is Chinese) pieces, for an English page to mark Chinese with `lang="zh"`."""
    out, at = [], 0
    for m in _CJK_RUN.finditer(text):
        if m.start() > at:
            out.append((text[at:m.start()], False))
        out.append((m.group(0), True))
        at = m.end()
    if at < len(text):
        out.append((text[at:], False))
    return out
