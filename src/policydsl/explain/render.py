"""Rendering: the explanation laid out by the page templates under `templates/` (text, Markdown, HTML)."""

from __future__ import annotations

from pathlib import Path

import jinja2

from .. import ir
from ..limits import printable_lines
from .model import ExplainError, Explanation

FORMATS = ("text", "md", "html")
TEMPLATE_DIR = Path(__file__).parent.parent / "templates"


LABELS = {
    "zh": {"title": "结果说明", "record": "记录", "as_of": "评估日期", "policy": "政策", "source": "依据",
           "value": "结果", "reasons": "理由", "figures": "使用的参数", "name": "名称", "effective": "生效日期",
           "citation": "出处", "assumed": "本政策文件的假定(非原文规定)", "assumed_short": "假定",
           "why_not": "怎样会改变结果", "inputs": "记录中的数据", "field": "项目", "error": "无法计算",
           "always": "一直有效", "from": "自 {d} 起生效", "index": "结果说明索引", "not_applied": "不适用", "outcomes": "结果",
           "no_source": "原文未给出", "colon": ":", "lparen": "(", "rparen": ")"},
    "en": {"title": "Explanation", "record": "Record", "as_of": "Evaluated on", "policy": "Policy",
           "source": "Source", "value": "Result", "reasons": "Reasons", "figures": "Parameters used", "name": "Name",
           "effective": "In force from", "citation": "Source", "assumed":
           "an assumption of this policy file, not of the source", "assumed_short": "assumed",
           "why_not": "What would change it", "inputs": "Data in the record", "field": "Field",
           "error": "Could not be computed", "always": "in force throughout", "from": "in force from {d}", "index": "Explanations", "not_applied":
           "does not apply", "outcomes": "Outcomes", "no_source": "not given in the source", "colon": ": ",
           "lparen": " (", "rparen": ")"},
}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                             autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined, auto_reload=False)
    return env


_ENV: jinja2.Environment | None = None
EXTENSIONS = {"text": "txt", "md": "md", "html": "html"}


_TEMPLATES: dict[str, jinja2.Template] = {}


def _env() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


def _template(name: str) -> jinja2.Template:
    """A page template, compiled once per process (the templates ship with the package and do not change)."""
    found = _TEMPLATES.get(name)
    if found is None:
        found = _TEMPLATES[name] = _env().get_template(name)
    return found


def render(explanation: Explanation, fmt: str = "text") -> str:
    """The explanation as plain text, Markdown or a self-contained HTML page (every value escaped)."""
    if fmt not in FORMATS:
        raise ExplainError(f"unknown format '{fmt}': choose one of {', '.join(FORMATS)}")
    template = _template(f"explanation.{EXTENSIONS[fmt]}")
    page = template.render(x=explanation, t=LABELS[explanation.lang])
    return page if fmt == "html" else printable_lines(page)  # a record's escape codes never reach a terminal


def render_index(entries: list[tuple[str, str, Explanation]], fmt: str, lang: str, policy: ir.Policy) -> str:
    """An index of many explanations: (file name, record id, explanation) per entry."""
    template = _template(f"index.{EXTENSIONS[fmt]}")
    return template.render(entries=entries, t=LABELS[lang], lang=lang, policy=policy)
