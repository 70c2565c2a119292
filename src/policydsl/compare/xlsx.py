"""The comparison for spreadsheets: an .xlsx workbook (a summary sheet and a sheet of every changed record, with
number formats) written by openpyxl in write-only mode (rows stream out, memory stays flat), and the same records
as CSV (UTF-8 with a byte-order mark, so that Excel reads the Chinese; formula-like text neutralised)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from .. import naming
from ..limits import neutralise_cell
from ..types import INT, MONEY, PERCENT, Type
from . import formatting as fm
from .model import NUMERIC_TYPES, Comparison
from .report import Table, build


def _sheet_text(text: str) -> str:
    """Text for a workbook cell: openpyxl stores a string starting with = as a formula, so it gets an apostrophe;
    +, − and @ are plain text in a typed cell and stay as written (a change reads +500)."""
    return "'" + text if text.startswith("=") else text


FORMATS = {MONEY: "#,##0.00", INT: "#,##0", PERCENT: "0.0%"}
SHEETS = {"zh": ("摘要", "有变化的记录"), "en": ("Summary", "Changed records")}


def _columns(c: Comparison, lang: str) -> list[tuple[str, str, Type, int | None]]:
    """(header, outcome, type, which value: policy index, or None for the change) of the per-record sheet."""
    policy = c.compared[0].policy
    w = {"zh": ("现行", "方案", "变化"), "en": ("baseline", "policy", "change")}[lang]
    moved = {t.outcome for t in c.numeric if t.moved} | {x.outcome for x in c.crosstabs
                                                         if any(a != b for a, b, _ in x.cells)}
    names = [n for n, _ in c.common_outcomes if n in moved]
    if c.primary in names:
        names.remove(c.primary)
        names.insert(0, c.primary)
    out = []
    types = dict(c.common_outcomes)
    many = len(c.compared) > 2
    for n in names:
        label = naming.label(policy, n, lang)
        for k in range(len(c.compared)):
            which = w[0] if k == 0 else (f"{w[1]} {k}" if many else w[1])
            out.append((f"{label} {which}", n, types[n], k))
        if types[n] in NUMERIC_TYPES:
            out.append((f"{label} {w[2]}", n, types[n], None))
    return out


def _rows(c: Comparison, lang: str) -> Iterator[tuple[list[str], list[tuple[object, Type | None]]]]:
    """The header, then each changed record's cells as (value, type)."""
    policy = c.compared[0].policy
    w = {"zh": ("编号", "名称"), "en": ("record", "name")}[lang]
    columns = _columns(c, lang)
    names = bool(c.record_names)
    header = [w[0]] + ([w[1]] if names else []) + [naming.label(policy, f, lang) for f in c.group_fields]
    yield header + [h for h, _, _, _ in columns], []
    for rid, values, name, groups in c.changed_records():
        cells: list[tuple[object, Type | None]] = [(rid, None)] + ([(name, None)] if names else [])
        cells += [(groups.get(f, ""), None) for f in c.group_fields]
        for _, n, t, k in columns:
            vs = values.get(n)
            if vs is None:
                cells.append((None, t))
            elif k is None:
                cells.append((vs[-1] - vs[0], t))
            else:
                v = vs[k]
                cells.append((v if t in NUMERIC_TYPES or isinstance(v, bool) else fm.value(v, t, lang, policy), t))
        yield [], cells


def write_xlsx(c: Comparison, path: Path, lang: str = "zh") -> None:
    """The workbook: a summary sheet (headline, totals, groups) and a sheet of every changed record."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    wb = Workbook(write_only=True)
    summary = wb.create_sheet(SHEETS[lang][0])
    r = build(c, lang, max_records=0)
    bold = Font(bold=True)
    summary.column_dimensions["A"].width = 28
    for col in "BCDEFGHIJK":
        summary.column_dimensions[col].width = 16

    def text(value: str, font=None, wrap: bool = False) -> WriteOnlyCell:
        cell = WriteOnlyCell(summary, value=_sheet_text(value))
        if font:
            cell.font = font
        if wrap:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        return cell
    summary.append([text(r.title, Font(bold=True, size=14))])
    summary.append([text(r.intro)])
    for h in r.headlines:
        summary.append([text(h, wrap=True)])
    summary.append([])
    for t in _summary_tables(c, lang) + [x for x in r.affected if not _is_totals(x, r)]:
        summary.append([text(t.title, bold)])
        summary.append([text(h, bold) for h in t.header])
        for row in t.rows:
            summary.append([_typed_cell(summary, v) for v in row])
        summary.append([])
    if r.reasons:
        summary.append([text(r.reasons_title, bold)])
        for reason, source in r.reasons:
            summary.append([text(reason), text(source)])
    records = wb.create_sheet(SHEETS[lang][1])
    records.freeze_panes = "B2"
    for header, cells in _rows(c, lang):
        if header:
            records.append([WriteOnlyCell(records, value=h) for h in header])
            continue
        out = []
        for value, t in cells:
            if isinstance(value, str):
                value = _sheet_text(value)
            cell = WriteOnlyCell(records, value=value)
            if t in FORMATS and not isinstance(value, bool) and value is not None:
                cell.number_format = FORMATS[t]
            out.append(cell)
        records.append(out)
    wb.save(path)


def _is_totals(t: Table, r) -> bool:
    return t.title == r.words["totals"]


def _summary_tables(c: Comparison, lang: str) -> list[Table]:
    """The totals table with numbers as numbers (typed cells carry their format)."""
    from .report import W
    w = W[lang]
    policy = c.compared[0].policy if c.compared else None
    rows = []
    for t in c.numeric:
        if not t.moved:
            continue
        rows.append([naming.label(policy, t.outcome, lang), fm.unit_of(policy, t.outcome, t.type, lang),
                     _Typed(t.total_base, t.type), _Typed(t.total_other, t.type), _Typed(t.change, t.type),
                     _Typed(t.gain, INT), _Typed(t.gained, t.type), _Typed(t.lose, INT), _Typed(t.lost, t.type),
                     _Typed(t.same, INT)])
    if not rows:
        return []
    return [Table(w["totals"], [w["outcome"], w["unit"], w["baseline"], w["other"], w["change"], w["gain_n"],
                                w["gain_sum"], w["lose_n"], w["lose_sum"], w["same"]], rows)]


class _Typed:
    """A number and its type, for a summary cell with a number format."""

    def __init__(self, value: object, t: Type):
        self.value, self.type = value, t


def _typed_cell(sheet, v):
    from openpyxl.cell import WriteOnlyCell
    if isinstance(v, _Typed):
        cell = WriteOnlyCell(sheet, value=v.value)
        if v.type in FORMATS:
            cell.number_format = FORMATS[v.type]
        return cell
    return WriteOnlyCell(sheet, value=_sheet_text(str(v)))


def write_csv(c: Comparison, path: Path, lang: str = "zh") -> None:
    """Every changed record, largest change first, as CSV (exact values: 1500.00, 0.0525 for 5.25%)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        for header, cells in _rows(c, lang):
            if header:
                out.writerow(header)
                continue
            out.writerow([_csv_text(v, t) for v, t in cells])


def _csv_text(v: object, t: Type | None) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return f"{v:.2f}" if t == MONEY else f"{v:f}"
    if isinstance(v, int):
        return str(v)  # a number, not text a spreadsheet could take for a formula: −2 stays −2
    return neutralise_cell(str(v))


__all__ = ["write_csv", "write_xlsx"]
