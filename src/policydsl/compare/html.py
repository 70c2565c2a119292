"""The comparison as one self-contained HTML page: inline CSS (with a print stylesheet), inline SVG charts, and a
little inline JavaScript that searches and pages the table of changed records. No external assets."""

from __future__ import annotations

from markupsafe import Markup

from .model import Comparison
from .report import Table, build

_CSS = """
:root { --ink: #1d2733; --muted: #5b6675; --line: #d9dee5; --up: #1a7f37; --down: #b42318; --accent: #1f5fad; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", sans-serif;
       margin: 0; color: var(--ink); line-height: 1.55; background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 1.2rem 1.2rem 3rem; }
h1 { font-size: 1.45rem; margin: 0 0 .3rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; padding-bottom: .25rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1rem; margin: 1.3rem 0 .4rem; }
.intro { color: var(--muted); margin: 0 0 .8rem; font-size: .92rem; overflow-wrap: anywhere; }
.headline { background: #f1f6fc; border-left: 5px solid var(--accent); padding: .7rem 1rem; margin: .6rem 0 1rem; }
.headline p { margin: .3rem 0; font-size: 1.08rem; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: .3rem 0 1rem; font-size: .88rem; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .55rem; vertical-align: top; text-align: left; }
th { background: #f4f6f8; font-weight: 600; }
/* 凤后村, 周转情形 stay whole words, not a column of characters: on a phone the table scrolls sideways instead */
th, td:not(.why):not(.more) { word-break: keep-all; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.why { min-width: 16rem; max-width: 30rem; }
td.more { max-width: 18rem; color: var(--muted); }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(460px, 100%), 1fr)); gap: 0 1.5rem; }
figure { margin: .5rem 0 1rem; } figure svg { width: 100%; height: auto; }
figcaption { font-size: .85rem; color: var(--muted); }
ul.reasons li { margin: .25rem 0; } .source { color: var(--muted); font-size: .88rem; }
.controls { display: flex; flex-wrap: wrap; gap: .6rem; align-items: center; margin: .4rem 0; }
.controls input { font: inherit; padding: .3rem .5rem; min-width: 14rem; border: 1px solid var(--line); }
.controls button { font: inherit; padding: .2rem .7rem; }
pre { background: #f7f7f7; padding: .5rem; margin: 0; white-space: pre-wrap; font-size: .8rem; max-width: 36rem; }
details summary { cursor: pointer; font-weight: 600; margin: 1rem 0; }
.problem { color: var(--down); }
@media (max-width: 640px) { main { padding: .8rem; } .headline p { font-size: 1rem; } }
@media print {
  body { font-size: 10.5pt; } main { max-width: none; padding: 0; }
  .controls, .pager { display: none !important; }
  #records tbody tr { display: table-row !important; }
  details > * { display: block; } details summary { display: none; }
  h2 { break-after: avoid; } tr, figure { break-inside: avoid; }
  .scroll { overflow: visible; } a { color: inherit; text-decoration: none; }
}
"""

# Searches the rows of #records by their text and shows them a page at a time; printing shows every row.
_JS = """
(function () {
  var table = document.getElementById("records");
  if (!table) return;
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var box = document.getElementById("search"), info = document.getElementById("page-info");
  var size = 25, page = 0, shown = rows;
  function draw() {
    var pages = Math.max(1, Math.ceil(shown.length / size));
    page = Math.min(page, pages - 1);
    rows.forEach(function (r) { r.hidden = true; });
    shown.slice(page * size, page * size + size).forEach(function (r) { r.hidden = false; });
    info.textContent = info.dataset.format.replace("{n}", shown.length).replace("{p}", page + 1)
      .replace("{pages}", pages);
  }
  box.addEventListener("input", function () {
    var q = box.value.trim().toLowerCase();
    shown = rows.filter(function (r) { return !q || r.textContent.toLowerCase().indexOf(q) >= 0; });
    page = 0; draw();
  });
  document.getElementById("prev").addEventListener("click", function () { if (page > 0) { page--; draw(); } });
  document.getElementById("next").addEventListener("click", function () { page++; draw(); });
  draw();
})();
"""

_WORDS = {
    "zh": {"search": "搜索编号、名称、原因……", "prev": "上一页", "next": "下一页",
           "info": "共 {n} 条，第 {p} / {pages} 页"},
    "en": {"search": "Search id, name, reason…", "prev": "Previous", "next": "Next",
           "info": "{n} records, page {p} of {pages}"},
}

_HTML = """<!DOCTYPE html>
<html lang="{{ 'zh-CN' if r.lang == 'zh' else 'en' }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ r.title }}</title>
<style>{{ css }}</style>
</head>
<body>
<main>
<h1>{{ r.title }}</h1>
<p class="intro">{{ r.intro }}</p>
{% if r.headlines %}
<section class="headline" id="headline" aria-label="{{ w.headline }}">
{% for h in r.headlines %}<p>{{ h }}</p>
{% endfor %}
</section>
{% endif %}
{% if r.affected or charts %}
<h2>{{ r.affected_title }}</h2>
{% if charts %}<div class="grid">
{% for title, svg in charts %}<figure>{{ svg }}<figcaption>{{ title }}</figcaption></figure>
{% endfor %}</div>{% endif %}
{% for t in r.affected %}{{ table(t) }}{% endfor %}
{% endif %}
{% if compared > 1 %}
<h2>{{ w.why }}</h2>
{% if r.reasons %}<ul class="reasons">
{% for text, src in r.reasons %}<li>{{ text }}{% if src %} <span class="source">{{ lp }}{{ src }}{{ rp }}</span>{% endif %}</li>
{% endfor %}</ul>{% else %}<p>{{ w.no_reason }}</p>{% endif %}
<h2>{{ r.records_title }}</h2>
{% if not r.records %}<p>{{ w.none }}</p>{% else %}
<div class="controls"><input id="search" type="search" placeholder="{{ ui.search }}" aria-label="{{ ui.search }}">
<span class="pager"><button id="prev" type="button">{{ ui.prev }}</button> <span id="page-info" data-format="{{ ui.info }}"></span>
<button id="next" type="button">{{ ui.next }}</button></span></div>
<div class="scroll"><table id="records">
<thead><tr>{% for h in r.records_header %}<th{% if loop.index0 in r.records_numeric %} class="num"{% endif %}>{{ h }}</th>{% endfor %}{% if links %}<th>{{ w.explain }}</th>{% endif %}</tr></thead>
<tbody>
{% for row in r.records %}<tr id="r-{{ loop.index }}">{% for cell in row.cells[:-1] %}<td{% if loop.index0 in r.records_numeric %} class="num"{% endif %}>{{ cell }}</td>{% endfor %}<td class="more">{{ row.cells[-1] }}</td><td class="why">{{ row.why }}</td>{% if links %}<td>{% for label, href in links.get(row.record_id, []) %}<a href="{{ href }}">{{ label }}</a>{% if not loop.last %} · {% endif %}{% endfor %}</td>{% endif %}</tr>
{% endfor %}</tbody></table></div>
{% if r.records_more %}<p>{{ r.records_more }}</p>{% endif %}
{% endif %}
{% endif %}
<details>
<summary>{{ r.details_title }}</summary>
{% for d in r.details %}{% if d is string %}<p>{{ d }}</p>{% else %}{{ table(d, pre=True) }}{% endif %}{% endfor %}
</details>
</main>
<script>{{ js }}</script>
</body>
</html>
"""  # noqa: E501  (one template line is a whole table row)

_TABLE = """<h3>{{ t.title }}</h3>{% if t.note %}<p>{{ t.note }}</p>{% endif %}
<div class="scroll"><table><thead><tr>{% for h in t.header %}<th{% if loop.index0 in t.numeric %} class="num"{% endif %}>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in t.rows %}<tr>{% for cell in row %}<td{% if loop.index0 in t.numeric %} class="num"{% endif %}>{% if pre and cell and cell.count("\\n") %}<pre>{{ cell }}</pre>{% else %}{{ cell }}{% endif %}</td>{% endfor %}</tr>
{% endfor %}</tbody></table></div>
"""  # noqa: E501


def html(c: Comparison, lang: str = "zh", max_records: int = 1000,
         links: dict[str, list[tuple[str, str]]] | None = None) -> str:
    """The page; `links` maps a record id to its explanations [(policy, relative link)]."""
    from jinja2 import Environment
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    table_template = env.from_string(_TABLE)

    def table(t: Table, pre: bool = False) -> Markup:
        return Markup(table_template.render(t=t, pre=pre))

    r = build(c, lang, max_records)
    charts = [(title, Markup(svg)) for title, svg in c.charts(lang)]  # matplotlib's own SVG output, escaped text
    return env.from_string(_HTML).render(r=r, w=r.words, ui=_WORDS[lang], css=Markup(_CSS), js=Markup(_JS),
                                         charts=charts, table=table, links=links or {},
                                         compared=len(c.compared), lp="（" if lang == "zh" else "(",
                                         rp="）" if lang == "zh" else ")")


__all__ = ["html"]
