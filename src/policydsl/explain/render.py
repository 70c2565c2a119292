"""Rendering: the explanation laid out by the page templates under `templates/` (Markdown, HTML) or, as text,
by `text.render_text`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from .. import ir, naming
from ..limits import printable_lines
from .formatting import chinese_runs, fullwidth
from .memo import ByIdentity
from .model import ExplainError, Explanation
from .text import MAX_LINES, render_text

FORMATS = ("text", "md", "html")
TEMPLATE_DIR = Path(__file__).parent.parent / "templates"


_LABELS_ZH = {
    "title": "结果说明", "record": "记录", "as_of": "评估日期", "policy": "政策", "source": "依据",
    "value": "结果", "reasons": "理由", "figures": "使用的参数", "name": "名称", "effective": "生效日期",
    "citation": "出处", "assumed": "本政策文件的假定(非原文规定)", "assumed_short": "假定", "recourse_note": "注:本文件的假定",
    "others": "其余各项结果({n} 项)",
    "why_not": "怎样可以改变结果", "inputs": "记录中的数据", "field": "项目", "error": "无法计算",
    "always": "一直有效", "from": "自 {d} 起生效", "index": "结果说明索引", "not_applied": "不适用",
    "outcomes": "各项结果", "no_source": "原文未给出", "details": "计算过程", "office": "决定机关",
    "no_office": "本政策文件未载明", "decided_on": "决定日期", "recourse": "复核与申诉", "serious": "严重",
    "incidents": "计入的情形", "not_applying": "与本人情形无关", "failed_records": "未能读取的记录",
    "online": "在线查看", "letter": "决定通知书", "letter_online": "扫码或访问以下地址查看完整说明:", "file": "文件", "status": "状态",
    "ok": "已生成", "counts": "共 {n} 条记录:已生成 {ok} 份说明,{errors} 条无法计算,{failed} 条未能读取。",
    "not_loaded": "未能读取", "private": "本索引不含个人信息;文件与记录的对应关系见 mapping.csv(仅供经办机关使用)。",
    "colon": "\uff1a", "lparen": "\uff08", "rparen": "\uff09", "sep": "、"}
_LABELS_EN = {
    "title": "Explanation", "record": "Record", "as_of": "Evaluated on", "policy": "Policy", "source": "Source",
    "value": "Result", "reasons": "Reasons", "figures": "Parameters used", "name": "Name",
    "effective": "In force from", "citation": "Source", "assumed": "an assumption of this policy file, not of "
    "the source", "assumed_short": "assumed", "recourse_note": "Note: what this file assumes",
    "others": "The other results ({n})", "why_not": "What would change the result",
    "inputs": "Data in the record", "field": "Field", "error": "Could not be computed",
    "always": "in force throughout", "from": "in force from {d}", "index": "Explanations",
    "not_applied": "does not apply", "outcomes": "Results", "no_source": "not given in the source",
    "details": "Details", "office": "Decided by", "no_office": "not stated in "
    "this policy file", "decided_on": "Date of decision", "recourse": "Review and appeal", "serious": "serious",
    "incidents": "Incidents counted", "not_applying": "Not concerning your case", "failed_records":
    "Records that could not be read", "online": "Online version", "letter": "Decision letter", "letter_online": "The full explanation is online "
    "(scan the code or visit):", "file": "File", "status": "Status",
    "ok": "written", "counts": "{n} records: {ok} explanations written, {errors} could not be computed, {failed} could "
    "not be read.", "not_loaded": "could not be read", "private": "This index holds no personal data; which file "
    "belongs to whom is in mapping.csv, for the office only.",
    "colon": ": ", "lparen": " (", "rparen": ")", "sep": ", "}
LABELS = {"zh": {k: fullwidth(v) for k, v in _LABELS_ZH.items()}, "en": _LABELS_EN}


def _marked(value) -> object:
    """An English page's text with any Chinese in it (a name the policy gives no English label) marked
    `<span lang="zh">`, escaped; screen readers and fonts then treat it as Chinese."""
    if isinstance(value, Markup) or not isinstance(value, str) or value.isascii():
        return value
    return Markup("").join(Markup('<span lang="zh">{}</span>').format(part) if zh else escape(part)
                           for part, zh in chinese_runs(value))


def _environment(lang: str = "zh") -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                             autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined, auto_reload=False)
    env.filters["zh"] = _marked if lang == "en" else (lambda v: v)
    env.globals["section"] = _sections(env, lang)
    return env


def _sections(env: jinja2.Environment, lang: str):
    """`section(o)` for the page templates: an outcome's section, rendered once per section object (the memoised
    sections are shared between records' pages, explain/reasons.py)."""
    made = ByIdentity(MAX_LINES)

    def section(o) -> Markup:
        return made.get(o, lambda o: Markup(env.get_template("_outcome.html").render(o=o, t=LABELS[lang])))
    return section


EXTENSIONS = {"text": "txt", "md": "md", "html": "html"}
_ENVS: dict[str, jinja2.Environment] = {}
_TEMPLATES: dict[tuple[str, str], jinja2.Template] = {}


def _template(name: str, lang: str = "zh") -> jinja2.Template:
    """A page template, compiled once per process and language (the templates ship with the package)."""
    found = _TEMPLATES.get((name, lang))
    if found is None:
        env = _ENVS.get(lang)
        if env is None:
            env = _ENVS[lang] = _environment(lang)
        found = _TEMPLATES[(name, lang)] = env.get_template(name)
    return found


def render(explanation: Explanation, fmt: str = "text") -> str:
    """The explanation as plain text, Markdown or a self-contained HTML page (every value escaped)."""
    if fmt not in FORMATS:
        raise ExplainError(f"unknown format '{fmt}': choose one of {', '.join(FORMATS)}")
    if fmt == "text":  # laid out in Python: a batch's pages share most of their lines (explain/text.py)
        return render_text(explanation, LABELS[explanation.lang])
    template = _template(f"explanation.{EXTENSIONS[fmt]}", explanation.lang)
    page = template.render(x=explanation, t=LABELS[explanation.lang])
    return page if fmt == "html" else printable_lines(page)  # a record's escape codes never reach a terminal


def render_index(entries: list[tuple[str, str, Explanation]], fmt: str, lang: str, policy: ir.Policy,
                 failed: list[tuple[str, str]] = (), full: bool = False) -> str:
    """An index of many explanations: (file name, record id, explanation) per entry, and the records that failed
    to load with their errors. Without `full` it holds no personal data: the files, their status, the counts."""
    entries = list(entries)
    return "".join(stream_index(entries, len(entries), sum(1 for _, _, x in entries if x.ok), fmt, lang, policy,
                                failed, full))


def stream_index(entries: Iterable[tuple[str, str, object]], pages: int, ok: int, fmt: str, lang: str,
                 policy: ir.Policy, failed: list[tuple[str, str]] = (), full: bool = False) -> Iterator[str]:
    """`render_index` in pieces, reading `entries` once (a batch spools them to disk): `pages` entries, `ok` of
    them without an error. Each entry's third element needs only `ok`, `error`, `record_label` and `outcomes`."""
    template = _template(f"index.{EXTENSIONS[fmt]}", lang)
    return template.generate(entries=entries, t=LABELS[lang], lang=lang, policy=policy, failed=list(failed),
                             full=full, ok=ok, pages=pages, title=naming.title(policy, lang),
                             outcomes=[(o.name, naming.label(policy, o.name, lang)) for o in policy.outcomes[:4]])
