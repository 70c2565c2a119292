"""The comparison as one self-contained HTML page."""

from __future__ import annotations

from ..types import INT
from .charts import _charts  # noqa: F401
from .markdown import _status, problems
from .model import Comparison
from .text import TOTAL_HEADER, _cause_text, _fmt, _signed, _total_rows

# ------------------------------------------------------------------------------------------------ HTML

_CSS = """
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; vertical-align: top; text-align: left; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f7f7f7; padding: 0.5em; margin: 0; white-space: pre-wrap; font-size: 0.85em; }
.side { display: grid; gap: 0.5em; }
.problem { color: #a40000; }
figure { margin: 1em 0; } svg { max-width: 100%; height: auto; }
"""


def _html(c: Comparison, max_records: int) -> str:
    from jinja2 import Environment
    from markupsafe import Markup
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = _fmt
    env.filters["signed"] = _signed
    template = env.from_string(_HTML)
    charts = [(title, Markup(svg)) for title, svg in c.charts()]  # matplotlib's own SVG output, not user text
    return template.render(c=c, css=_CSS, problems=problems(c), totals=_total_rows(c), total_header=TOTAL_HEADER,
                           charts=charts, diffs=c.diffs[:max_records], more=max(0, len(c.diffs) - max_records),
                           cause_text=_cause_text, status=_status, INT=INT,
                           moved=[t.outcome for t in c.numeric if t.type == INT and t.change != 0
                                  and len(c.labels) > 1 and t.policy == c.labels[1]])


_HTML = """<!DOCTYPE html>
<html lang="zh">
<head>
<meta charset="utf-8">
<title>Policy comparison — {{ c.labels | join(" vs ") }}</title>
<style>{{ css }}</style>
</head>
<body>
<h1>Policy comparison</h1>
<p>Records: <code>{{ c.records_path }}</code> — {{ c.records_total }} record(s), {{ c.records_compared }} compared
under every policy, {{ c.records_differing }} with at least one differing outcome.</p>
<h2>Policies</h2>
<table>
<tr><th>label</th><th>file</th><th>policy</th><th>evaluated as of</th><th>status</th></tr>
{% for r in c.runs %}
<tr><td>{{ r.label }}{% if c.compared and r is sameas c.compared[0] %} (baseline){% endif %}</td>
<td><code>{{ r.path }}</code></td><td>{{ r.policy.name }}{% if r.policy.title %} — {{ r.policy.title }}{% endif %}</td>
<td>{{ r.as_of.isoformat() }}</td><td>{{ status(r) }}</td></tr>
{% endfor %}
</table>
{% if problems %}
<h2>Not compared</h2>
<ul>{% for p in problems %}<li class="problem">{{ p }}</li>{% endfor %}</ul>
{% endif %}
{% if c.type_mismatch or (c.only_in.values() | select | list) %}
<h2>Outcomes not in every policy</h2>
<ul>
{% for label, names in c.only_in.items() %}{% for n in names %}<li>outcome {{ n }} only in {{ label }}</li>{% endfor %}{% endfor %}
{% for n, ts in c.type_mismatch %}<li>outcome {{ n }} has different types: {{ ts | join(", ") }}</li>{% endfor %}
</ul>
{% endif %}
<h2>Structural differences</h2>
{% if not c.structure and not c.field_differences %}<p>The policies define the same params and rules.</p>{% endif %}
{% for d in c.structure %}
<h3>{{ d.kind }} {{ d.name }}</h3>
{% if d.notes %}<ul>{% for n in d.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
<table><tr>{% for label in c.labels %}<th>{{ label }}</th>{% endfor %}</tr>
<tr>{% for text in d.texts %}<td>{% if text is none %}<em>not defined</em>{% else %}<pre>{{ text }}</pre>{% endif %}</td>{% endfor %}</tr></table>
{% endfor %}
{% if c.field_differences %}
<h3>subject fields</h3>
<table><tr><th>field</th>{% for label in c.labels %}<th>{{ label }}</th>{% endfor %}</tr>
{% for n, ts in c.field_differences %}<tr><td>{{ n }}</td>{% for t in ts %}<td>{{ t or "—" }}</td>{% endfor %}</tr>{% endfor %}
</table>
{% endif %}
{% if totals %}
<h2>Totals (numbers)</h2>
<p>Changes are other − baseline per record; means are rounded half up to 2 places (4 for decimal/percent);
everything else is exact.</p>
<table><tr>{% for h in total_header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in totals %}<tr>{% for cell in row %}<td{% if loop.index > 3 %} class="num"{% endif %}>{{ cell }}</td>{% endfor %}</tr>{% endfor %}
</table>
{% for t in c.numeric %}{% if t.distribution and t.change != 0 and t.distribution | length <= 40 %}
<p>Distribution of {{ t.outcome }} (baseline vs {{ t.policy }}):</p>
<table><tr><th>value</th><th>baseline</th><th>{{ t.policy }}</th></tr>
{% for v, a, b in t.distribution %}<tr><td class="num">{{ v }}</td><td class="num">{{ a }}</td><td class="num">{{ b }}</td></tr>{% endfor %}
</table>
{% endif %}{% endfor %}
{% endif %}
{% if c.summaries %}
<h2>Summaries over the records compared</h2>
<table><tr><th>summary</th>{% for label in c.labels %}<th>{{ label }}</th>{% endfor %}</tr>
{% for n, t, vs in c.summaries %}<tr><td>{{ n }}</td>{% for v in vs %}<td class="num">{{ v | fmt(t) }}</td>{% endfor %}</tr>{% endfor %}
</table>
{% endif %}
{% if c.crosstabs %}
<h2>Decisions (crosstabs)</h2>
{% for x in c.crosstabs %}
<p>{{ x.outcome }} — baseline → {{ x.policy }}:</p>
<table><tr><th>baseline</th><th>{{ x.policy }}</th><th>records</th></tr>
{% for a, b, n in x.cells %}<tr><td>{{ a | fmt(x.type) }}</td><td>{{ b | fmt(x.type) }}</td><td class="num">{{ n }}</td></tr>{% endfor %}
</table>
{% endfor %}
{% endif %}
{% if charts %}
<h2>Charts</h2>
{% for title, svg in charts %}<figure>{{ svg }}<figcaption>{{ title }}</figcaption></figure>
{% endfor %}
{% endif %}
{% if moved and c.per_record_values %}
<h2>Per record (int outcomes that moved)</h2>
<table><tr><th>record</th>{% for n in moved %}{% for label in c.labels %}<th>{{ n }} ({{ label }})</th>{% endfor %}{% endfor %}</tr>
{% for rid, vals in c.per_record_values.items() %}{% set d = dict(vals) %}<tr><td>{{ rid }}</td>{% for n in moved %}{% for v in d[n] %}<td class="num">{{ v }}</td>{% endfor %}{% endfor %}</tr>
{% endfor %}
</table>
{% endif %}
<h2>Records that differ</h2>
{% if not c.diffs %}<p>No outcome differs for any record.</p>{% else %}
<table><tr><th>record</th><th>outcome</th>{% for label in c.labels %}<th>{{ label }}</th>{% endfor %}<th>why</th></tr>
{% for d in diffs %}{% for o in d.outcomes %}<tr><td>{{ d.record_id }}</td><td>{{ o.outcome }}</td>
{% for v in o.values %}<td class="num">{{ v | fmt(o.type) }}</td>{% endfor %}
<td>{% for x in o.causes %}<div>{{ cause_text(x) }}</div>{% endfor %}</td></tr>
{% endfor %}{% endfor %}
</table>
{% if more %}<p>… and {{ more }} more record(s); the JSON report lists all of them.</p>{% endif %}
{% endif %}
</body>
</html>
"""  # noqa: E501  (one template line is a whole table row)
