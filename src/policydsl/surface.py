"""The two keyword surfaces of the language: English and Chinese, word for word.

The parser reads either (the grammar lists both forms of every keyword) and the syntax tree always holds the English
words, so a file means the same whatever its surface. `to_surface` rewrites canonical text into one surface token by
token, with the parser's own tokens (a name that merely looks like a keyword is left alone); `surface_of` tells which
surface a file mostly uses, so that `policydsl fmt` keeps it.
"""

from __future__ import annotations

from collections.abc import Iterator

#: keyword → its Chinese form (docs/language.md prints this table)
KEYWORDS = {
    "policy": "政策", "subject": "主体", "source": "依据", "effective": "生效", "assumed": "假定", "import": "导入",
    "extends": "继承", "enum": "枚举", "ordered": "有序", "record": "记录", "key": "主键", "list": "清单",
    "from": "自", "param": "参数", "fact": "事实", "outcome": "结果", "table": "表", "first": "首条",
    "unique": "唯一", "hit": "命中", "when": "当", "otherwise": "其余", "eligibility": "资格", "summary": "汇总",
    "override": "覆盖", "explain": "说明", "example": "示例", "given": "给定", "expect": "期望", "if": "如果",
    "then": "则", "else": "否则", "match": "匹配", "or": "或", "and": "且", "not": "非", "in": "属于",
    "where": "其中", "within": "分组", "by": "按", "asc": "升序", "desc": "降序", "ties": "并列", "method": "方法",
    "rounding": "取舍", "as": "记为", "true": "是", "false": "否", "exception": "例外", "map": "映射", "optional": "可选", "between": "介于",
    "languages": "语言", "zh": "中文", "en": "英文", "glossary": "术语", "unit": "单位", "actionable": "可改变",
    "better": "有利", "higher": "较高", "lower": "较低", "serious": "严重", "document": "文件", "issuer": "发文机关",
    "date": "日期", "published": "刊载", "number": "文号", "url": "网址", "recourse": "救济", "office": "决定机关",
    "review": "复核", "appeal": "申诉", "contact": "联系方式",
}
#: keywords written as one Chinese word for two English ones
PHRASES = {("as", "of"): "截至", ("not", "in"): "不属于", ("list", "of"): "列表", ("first", "hit"): "首条命中",
           ("unique", "hit"): "唯一命中", ("given", "records"): "给定 各记录"}
#: where a keyword's Chinese form depends on the declaration it is in
LIST_FROM = "来自"  # list 清单 … 来自 "file.csv" (a dated param value is 自 2024-01-01)
RECOURSE_WITHIN = "期限"  # a review's deadline in a recourse block (inside a call, `within` is 分组)

#: built-in functions and aggregates
FUNCTIONS = {
    "count": "计数", "sum": "合计", "min": "最小", "max": "最大", "any": "任一", "all": "全都", "distinct": "不同数",
    "rank": "排名", "percent_rank": "百分位", "top": "前列", "bottom": "末列", "apportion": "分配",
    "grant": "依次批给", "clamp": "限定", "abs": "绝对值", "round": "舍入", "floor": "向下取整",
    "ceil": "向上取整", "years_between": "周年数", "months_between": "整月数", "days_between": "天数",
    "year": "年份", "quarter": "季度数", "month": "月份", "same_year": "同年", "same_quarter": "同季",
    "same_month": "同月", "text": "转文本", "percent": "转百分比", "decimal": "转小数",
    "present": "有值", "absent": "无值",
}
#: built-in names
NAMES = {"as_of": "评估日", "records": "全体记录"}
#: the words after ties / method / rounding, and the rounding modes of round()
OPTION_WORDS = {
    "standard": "标准", "dense": "密集", "ordinal": "序号", "largest_remainder": "最大余数", "dhondt": "最高平均数",
    "partial": "余额批给", "whole": "整额批给", "up": "进一", "down": "去尾", "half_up": "四舍五入",
}
ROUND_MODES = {"half_up": "四舍五入", "half_even": "四舍六入五成双", "down": "去尾", "up": "进一", "floor": "向下",
               "ceiling": "向上"}

_ENGLISH = {**{zh: en for en, zh in KEYWORDS.items()}, "来自": "from", "期限": "within", "截至": "as", "不属于": "not", "列表": "list",
            "首条命中": "first", "唯一命中": "unique", "各记录": "records"}


def english_word(word: str) -> str:
    """The English form of a keyword token as written (value_kind, hit policy, direction, boolean)."""
    return _ENGLISH.get(word, word)


def english_function(name: str) -> str:
    return _FUNCTIONS_EN.get(name, name)


def english_name(name: str) -> str:
    return _NAMES_EN.get(name, name)


def english_option(word: str) -> str:
    return _OPTIONS_EN.get(word, word)


def english_round_mode(word: str) -> str:
    return _ROUND_EN.get(word, word)


_FUNCTIONS_EN = {zh: en for en, zh in FUNCTIONS.items()}
_NAMES_EN = {zh: en for en, zh in NAMES.items()}
_OPTIONS_EN = {zh: en for en, zh in OPTION_WORDS.items()}
_ROUND_EN = {zh: en for en, zh in ROUND_MODES.items()}
_CHINESE_KEYWORDS = set(_ENGLISH)


# ------------------------------------------------------------------------------------------------ tokens

def _tokens(text: str) -> Iterator:
    """The parser's tokens of `text` (a keyword is a keyword only where the grammar expects one)."""
    from .syntax import parser
    yield from parser().parse_interactive(text).iter_parse()


def _is_keyword(tok) -> bool:
    return tok.type not in ("NAME", "STRING", "NUMBER", "DATE", "PERCENT") and (
        str(tok) in KEYWORDS or str(tok) in ("of", "records") or str(tok) in _CHINESE_KEYWORDS)


def surface_of(text: str) -> str:
    """'zh' when most keywords of a (parsable) file are Chinese, else 'en'."""
    chinese = english = 0
    for tok in _tokens(text):
        if _is_keyword(tok):
            if str(tok) in _CHINESE_KEYWORDS:
                chinese += 1
            else:
                english += 1
    return "zh" if chinese > english else "en"


def to_surface(text: str, surface: str) -> str:
    """Canonical English text (what the formatter writes) in the other surface: keywords, built-in functions and
    names, option words; strings, comments and the drafter's names are left as they are."""
    if surface == "en":
        return text
    toks = list(_tokens(text))
    edits: list[tuple[int, int, str]] = []
    calls: list[str | None] = []  # the function of each open parenthesis (None: grouping)
    in_recourse = False  # a recourse block holds no braces of its own: it ends at the first '}'
    i = 0
    while i < len(toks):
        tok, nxt = toks[i], toks[i + 1] if i + 1 < len(toks) else None
        word = str(tok)
        if _is_keyword(tok):
            pair = (word, str(nxt)) if nxt is not None and _is_keyword(nxt) else None
            if pair in PHRASES:
                edits.append((tok.start_pos, nxt.end_pos, PHRASES[pair]))
                i += 2
                continue
            chinese = KEYWORDS.get(word, word)
            if word == "from" and _in_list_header(toks, i):
                chinese = LIST_FROM
            elif word == "within" and in_recourse:
                chinese = RECOURSE_WITHIN
            in_recourse = in_recourse or word == "recourse"
            edits.append((tok.start_pos, tok.end_pos, chinese))
        elif tok.type == "NAME":
            previous = str(toks[i - 1]) if i else ""
            after = str(toks[i + 2]) if i + 2 < len(toks) else ""
            if nxt is not None and str(nxt) in ("(", "（") and word in FUNCTIONS and after not in ("first", "unique"):
                edits.append((tok.start_pos, tok.end_pos, FUNCTIONS[word]))
            elif previous in ("ties", "method", "rounding") and word in OPTION_WORDS:
                edits.append((tok.start_pos, tok.end_pos, OPTION_WORDS[word]))
            elif calls and calls[-1] == "round" and word in ROUND_MODES:
                edits.append((tok.start_pos, tok.end_pos, ROUND_MODES[word]))
            elif word in NAMES:
                edits.append((tok.start_pos, tok.end_pos, NAMES[word]))
        if word == "}":
            in_recourse = False
        if word in ("(", "（"):
            previous = toks[i - 1] if i else None
            calls.append(str(previous) if previous is not None and previous.type == "NAME" else None)
        elif word in (")", "）") and calls:
            calls.pop()
        i += 1
    for start, end, replacement in reversed(edits):
        text = text[:start] + replacement + text[end:]
    return text


def _in_list_header(toks: list, i: int) -> bool:
    """Whether the `from` at toks[i] is a list's (`list NAME from "file"`), not a dated value's."""
    return i >= 2 and str(toks[i - 2]) == "list"
