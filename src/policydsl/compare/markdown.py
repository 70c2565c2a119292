"""The comparison as Markdown."""

from __future__ import annotations

from ..types import INT
from .model import Comparison, PolicyRun
from .text import TOTAL_HEADER, _cause_text, _fmt, _md_cell, _md_table, _total_rows


def _markdown(c: Comparison, charts_prefix: str | None, max_records: int,
              charts: list[tuple[str, str]] | None = None) -> str:
    out = ["# Policy comparison", ""]
    out.append(f"Records: `{c.records_path}` — {c.records_total} record(s), {c.records_compared} compared under "
               f"every policy, {c.records_differing} with at least one differing outcome.")
    out += ["", "## Policies", ""]
    out += _md_table(("label", "file", "policy", "evaluated as of", "status"), [
        (r.label + (" (baseline)" if c.compared and r is c.compared[0] else ""), r.path,
         f"{r.policy.name}" + (f" — {r.policy.title}" if r.policy.title else ""), r.as_of.isoformat(),
         _status(r)) for r in c.runs])
    notes = problems(c)
    if notes:
        out += ["", "## Not compared", ""] + [f"- {_md_cell(n)}" for n in notes]
    if c.only_in or c.type_mismatch:
        extra = [f"- outcome {n} only in {label}" for label, names in c.only_in.items() for n in names]
        extra += [f"- outcome {n} has different types: {', '.join(ts)}" for n, ts in c.type_mismatch]
        if extra:
            out += ["", "## Outcomes not in every policy", ""] + extra
    out += ["", "## Structural differences", ""]
    if not c.structure and not c.field_differences:
        out.append("The policies define the same params and rules.")
    for d in c.structure:
        out += [f"### {d.kind} {d.name}", ""]
        if d.notes:
            out += [f"- {_md_cell(n)}" for n in d.notes] + [""]
        for label, text in zip(c.labels, d.texts):
            out.append(f"**{label}**" + ("" if text is not None else ": not defined"))
            if text is not None:
                out += ["", "```", text, "```"]
            out.append("")
    if c.field_differences:
        out += ["### subject fields", ""]
        out += _md_table(("field",) + tuple(c.labels), [(n,) + tuple(t or "—" for t in ts)
                                                         for n, ts in c.field_differences])
    if c.numeric:
        out += ["", "## Totals (numbers)", "",
                "Changes are other − baseline per record; means are rounded half up to 2 places (4 for "
                "decimal/percent); everything else is exact.", ""]
        out += _md_table(TOTAL_HEADER, _total_rows(c))
        for t in c.numeric:
            if t.distribution and t.change != 0 and len(t.distribution) <= 40:
                out += ["", f"Distribution of {t.outcome} (baseline vs {t.policy}):", ""]
                out += _md_table(("value", "baseline", t.policy), [(str(v), str(a), str(b))
                                                                   for v, a, b in t.distribution])
    if c.summaries:
        out += ["", "## Summaries over the records compared", ""]
        out += _md_table(("summary",) + tuple(c.labels), [(n,) + tuple(_fmt(v, t) for v in vs)
                                                          for n, t, vs in c.summaries])
    if c.crosstabs:
        out += ["", "## Decisions (crosstabs)", ""]
        for x in c.crosstabs:
            out += [f"{x.outcome} — baseline → {x.policy}:", ""]
            out += _md_table(("baseline", x.policy, "records"), [(_fmt(a, x.type), _fmt(b, x.type), str(n))
                                                                 for a, b, n in x.cells])
            out.append("")
    if c.per_record_values and any(t.change != 0 for t in c.numeric if t.type == INT):
        moved = [t.outcome for t in c.numeric if t.type == INT and t.change != 0 and t.policy == c.labels[1]]
        if moved:
            out += ["", "## Per record (int outcomes that moved)", ""]
            header = ("record",) + tuple(f"{n} ({label})" for n in moved for label in c.labels)
            rows = []
            for rid, vals in c.per_record_values.items():
                d = dict(vals)
                rows.append((rid,) + tuple(str(d[n][k]) for n in moved for k in range(len(c.labels))))
            out += _md_table(header, rows)
    charts = charts if charts is not None else []
    if charts and charts_prefix:
        out += ["", "## Charts", ""]
        out += [f"![{_md_cell(title)}]({charts_prefix}.chart{i}.svg)" for i, (title, _) in enumerate(charts, 1)]
    out += ["", "## Records that differ", ""]
    if not c.diffs:
        out.append("No outcome differs for any record.")
    shown = c.diffs[:max_records]
    rows = []
    for d in shown:
        for o in d.outcomes:
            rows.append((d.record_id, o.outcome) + tuple(_fmt(v, o.type) for v in o.values)
                        + ("<br>".join(_cause_text(x) for x in o.causes),))
    if rows:
        out += _md_table(("record", "outcome") + tuple(c.labels) + ("why",), rows)
    if len(c.diffs) > len(shown):
        out += ["", f"… and {len(c.diffs) - len(shown)} more record(s); the JSON report lists all of them."]
    return "\n".join(out) + "\n"


def _status(r: PolicyRun) -> str:
    if r.missing:
        return "not compared: needs fields the records lack"
    if r.setup_error:
        return "not compared: " + r.setup_error
    bad = len(r.failed_ids) + len(r.evaluation_errors)
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


