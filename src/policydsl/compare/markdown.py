"""The comparison as Markdown: the headline first, then who is affected, why, each changed record, details."""

from __future__ import annotations

from .model import Comparison
from .report import Report, Table, build
from .text import _md_cell, _md_table


def markdown(c: Comparison, lang: str = "zh", charts_prefix: str | None = None, max_records: int = 200,
             charts: list[tuple[str, str]] | None = None,
             links: dict[str, list[tuple[str, str]]] | None = None) -> str:
    """The report as Markdown; charts are linked as `<charts_prefix>.chartN.svg`, explanations by `links`
    (record id → [(policy, relative path)])."""
    r = build(c, lang, max_records)
    w = r.words
    out = [f"# {_md_cell(r.title)}", "", _md_cell(r.intro)]
    if r.headlines:
        out += ["", f"## {w['headline']}", ""]
        for h in r.headlines:
            out += [_md_cell(h), ""]
        out.pop()
    if r.affected:
        out += ["", f"## {_md_cell(r.affected_title)}"]
        for t in r.affected:
            out += _table(t, 3)
    if len(c.compared) > 1:
        out += ["", f"## {w['why']}", ""]
        if r.reasons:
            out += [f"- {_md_cell(text)}" + ((f"（{_md_cell(src)}）" if lang == "zh" else f" ({_md_cell(src)})")
                                             if src else "") for text, src in r.reasons]
        else:
            out.append(_md_cell(w["no_reason"]))
        out += ["", f"## {_md_cell(r.records_title)}", ""]
        out += _records(r, links)
    if charts and charts_prefix:
        out += ["", f"## {w['charts']}", ""]
        out += [f"![{_md_cell(title)}]({charts_prefix}.chart{i}.svg)" for i, (title, _) in enumerate(charts, 1)]
    out += ["", f"## {_md_cell(r.details_title)}"]
    for d in r.details:
        if isinstance(d, Table):
            out += _table(d, 3)
        else:
            out += ["", _md_cell(d)]
    return "\n".join(out) + "\n"


def _table(t: Table, level: int) -> list[str]:
    out = ["", "#" * level + " " + _md_cell(t.title), ""]
    if t.note:
        out += [_md_cell(t.note), ""]
    return out + _md_table(t.header, t.rows)


def _records(r: Report, links: dict[str, list[tuple[str, str]]] | None) -> list[str]:
    w = r.words
    if not r.records:
        return [_md_cell(w["none"])]
    header = list(r.records_header) + ([w["explain"]] if links else [])
    rows = []
    for row in r.records:
        cells = [_md_cell(x) for x in row.cells] + [_md_cell(row.why)]
        if links:
            cells.append(" ".join(f"[{_md_cell(label)}]({path})" for label, path in links.get(row.record_id, [])))
        rows.append(cells)
    out = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    if r.records_more:
        out += ["", _md_cell(r.records_more)]
    return out


__all__ = ["markdown"]
