"""Text helpers shared by the reports: Markdown cells and tables, each run's status, what was not compared."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..limits import printable_lines
from .model import Comparison, PolicyRun

# ------------------------------------------------------------------------------------------------ Markdown

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]|!#"} | {"<": "&lt;", ">": "&gt;"})


def _md_cell(text: object) -> str:
    """A value inside a Markdown report: no link, image, HTML tag, heading or table cell can start in it."""
    lines = printable_lines(str(text)).translate(_MD_SPECIAL).splitlines() or [""]
    return "<br>".join(lines)


def _md_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_md_cell(x) for x in row) + " |" for row in rows]
    return out




def status(r: PolicyRun, lang: str = "en") -> str:
    """How one policy's run went: loaded / failed counts, or why it was not compared."""
    zh = lang == "zh"
    if r.missing:
        return "未比较：需要记录中没有的字段" if zh else "not compared: needs fields the records lack"
    if r.setup_error:
        return ("未比较：" if zh else "not compared: ") + r.setup_error
    bad = len(r.failed_ids) + len(r.evaluation_errors)
    if zh:
        return f"已读入 {r.loaded:,} 条" + (f"，{bad:,} 条失败" if bad else "")
    return f"{r.loaded} loaded" + (f", {bad} failed" if bad else "")


def problems(c: Comparison) -> list[str]:
    """Every reason something was not compared: missing fields, setup errors, bad records, evaluation errors."""
    out = []
    for r in c.runs:
        out += [m.message for m in r.missing]
        if r.setup_error:
            out.append(f"policy {r.label}: {r.setup_error}")
        out += [f"policy {r.label}: {e.render()}" for e in r.data_errors]
        out += [f"policy {r.label}: record {i}: evaluation error: {e}" for i, e in r.evaluation_errors]
    return out
