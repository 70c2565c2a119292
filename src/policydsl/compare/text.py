"""Text helpers shared by the reports: values, causes, totals rows, Markdown cells."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..limits import printable_lines
from ..types import INT, Type, format_value
from .model import Cause, Comparison, PathStep, PolicyRun

# ------------------------------------------------------------------------------------------------ text helpers

def _fmt(value: object, t: Type | None) -> str:
    if value is None:
        return "—"
    return format_value(value, t)


def _signed(value: object, t: Type | None) -> str:
    if value is None:
        return "—"
    text = format_value(value, t)
    return text if text.startswith("-") or value == 0 else "+" + text


def _step_text(s: PathStep) -> str:
    text = f"{s.kind} {s.name}: {_fmt(s.values[0], s.type)} → {_fmt(s.values[1], s.type)}"
    if s.rows != (None, None) and s.rows[0] != s.rows[1]:
        text += f" (row {s.rows[0] or '—'} → row {s.rows[1] or '—'})"
    return text


def _cause_text(cause: Cause) -> str:
    parts = []
    if cause.path:
        parts.append("; ".join(_step_text(s) for s in cause.path))
    if cause.changed:
        parts.append("differs in definition: " + ", ".join(cause.changed))
    if not parts:
        parts.append("no declaration upstream differs (inputs read differently?)")
    return (f"[{cause.policy}] " if cause.policy else "") + " — ".join(parts)


def _total_rows(c: Comparison) -> list[tuple[str, ...]]:
    rows = []
    for t in c.numeric:
        rows.append((t.outcome, str(t.type), t.policy, str(t.count), _fmt(t.total_base, t.type),
                     _fmt(t.total_other, t.type), _signed(t.change, t.type), _signed(t.mean_change, None),
                     _signed(t.median_change, t.type if t.type != INT else None),
                     _signed(t.min_change, t.type), _signed(t.max_change, t.type),
                     str(t.gain), str(t.lose), str(t.same)))
    return rows


TOTAL_HEADER = ("outcome", "type", "vs baseline", "records", "total (baseline)", "total (other)", "change",
                "mean change", "median change", "min change", "max change", "gain", "lose", "same")


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
