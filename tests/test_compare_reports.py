"""Comparison reports as an official reads them: the headline's figures are the domain's, the shipped comparisons'
Markdown reports are goldens, the workbook reads back with its number formats, dates compare like policies.

Regenerate the goldens after an intended change with `UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_compare_reports.py`
and read the diff.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from policydsl import compare
from policydsl.cli import main

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "compare"
P, D = REPO / "policies", REPO / "data"

COMPARISONS = {
    "jiangbei_vs_18_per_10k": dict(
        policies=[P / "jiangbei/quota.policy", P / "variants/jiangbei_18_per_10k.policy", P / "xinmi/staffing.policy"],
        records=D / "jiangbei/communities.csv", related={"工作者": D / "jiangbei/workers.csv"}, as_of=None),
    "jinyuan_1500_per_star": dict(
        policies=[P / "jinyuan/star_rating.policy", P / "variants/jinyuan_1500_per_star.policy"],
        records=D / "jinyuan/secretaries.csv", related={}, as_of=None),
    "longshan_stricter_absences": dict(
        policies=[P / "longshan/discipline.policy", P / "variants/longshan_stricter_absences.policy"],
        records=D / "longshan/staff.csv", related={"擅离": D / "longshan/absences.csv"}, as_of=date(2019, 12, 31)),
}


def _compare(name: str, engine: str = "duckdb") -> compare.Comparison:
    spec = COMPARISONS[name]
    return compare.compare([str(p) for p in spec["policies"]], spec["records"], related=spec["related"],
                           as_of=spec["as_of"], engine=engine)


@pytest.fixture(scope="module")
def reports():
    return {name: _compare(name) for name in COMPARISONS}


def _relative(text: str) -> str:
    return text.replace(str(REPO) + "/", "")


@pytest.mark.parametrize("name", sorted(COMPARISONS))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_markdown_reports_match_their_goldens(reports, name, lang):
    text = _relative(reports[name].to_markdown(lang=lang))
    golden = GOLDEN / f"{name}.{lang}.md"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_jiangbei_headline_is_the_domains_figures(reports):
    c = reports["jiangbei_vs_18_per_10k"]
    summaries = {n: vs for n, _, vs in c.summaries}
    assert summaries["全区员额"] == (745, 627)          # 348,130 residents × 21.4 / 10,000 vs × 18 / 10,000
    (headline,) = c.headline("zh")
    assert headline.index("全区员额 745 → 627 名（−118）") < headline.index("原因：")
    assert "44 个江北社区核定员额减少 1–2 名（不利），无一增加" in headline  # the glossary: better higher and "每万人员额 21.4" in headline
    assert c.affected == {"jiangbei_18_per_10k": 53} and c.primary == "核定员额"
    first = c.diffs[0]                                  # the largest change first: two places
    (o,) = [o for o in first.outcomes if o.outcome == "核定员额"]
    assert o.values[0] - o.values[1] == 2
    assert all(d.outcomes for d in c.diffs) and len(c.diffs) == c.records_differing == 53
    # groups the records carry: the town (街道代码) adds up to the district's change
    (town,) = [g for g in c.groups if g.field == "街道代码"]
    assert sum(r.records for r in town.rows) == 137
    assert sum(r.total_other - r.total_base for r in town.rows) == -49


def test_jinyuan_headline_money_and_stars(reports):
    c = reports["jinyuan_1500_per_star"]
    (headline,) = c.headline("zh")
    assert "44 名党组织书记受影响（共 76）" in headline
    assert "+60,000 元" in headline and "2 名党组织书记星级减少 1 星" in headline
    assert headline.endswith("原因：星级上限 7 星 → 6 星；每星奖励 1,000 元 → 1,500 元。")
    (en,) = c.headline("en")
    assert "+60,000 yuan" in en and "Why: " in en


def test_longshan_headline_counts_removals(reports):
    c = reports["longshan_stricter_absences"]
    (headline,) = c.headline("zh")
    assert "25 名全职干部受影响（共 1,198）" in headline
    assert "免去职务 9 → 25 名" in headline and "本年累计扣减 +26,702.07 元" in headline
    # why, in the explanations' words: the variant's new ladder, not "the table changed"
    assert "原因：擅离处理改为：本年擅离次数 ≥ 2 → 扣当季绩效并免去职务（另有 3 行改变）" in headline
    why = {r.name: r for r in compare.story.reasons(c, 1, "zh")}
    assert why["擅离处理"].text.startswith("擅离处理改为：本年擅离次数 ≥ 2 → 扣当季绩效并免去职务；本年擅离次数 = 1 → "
                                         "扣当月三成绩效；其余情形 → 无处理")
    assert "一年内第二次擅离即免去职务（龙山县为第三次）" in why["擅离处理"].source
    assert why["免去职务"].text == "免去职务改为：本年擅离次数 ≥ 2"


def test_row_engine_gives_the_same_report():
    assert _compare("jinyuan_1500_per_star", "row").to_markdown() == _compare("jinyuan_1500_per_star").to_markdown()


def test_workbook_reads_back_with_values_and_number_formats(reports, tmp_path):
    from openpyxl import load_workbook
    c = reports["jinyuan_1500_per_star"]
    path = tmp_path / "r.xlsx"
    c.write(path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["摘要", "有变化的记录"]
    summary = [[cell.value for cell in row] for row in wb["摘要"].iter_rows()]
    assert summary[0][0].startswith("政策比较")
    totals = next(row for row in wb["摘要"].iter_rows() if row[0].value == "星级奖励")
    assert [totals[2].value, totals[3].value, totals[4].value] == [126000, 186000, 60000]
    assert totals[2].number_format == "#,##0.00"
    sheet = wb["有变化的记录"]
    rows = list(sheet.iter_rows())
    header = [cell.value for cell in rows[0]]
    assert header[:2] == ["编号", "名称"] and "年度报酬合计 变化" in header
    assert len(rows) - 1 == c.records_differing == 44
    k = header.index("年度报酬合计 变化")
    changes = [row[k].value or 0 for row in rows[1:]]   # a record whose total did not move: empty
    assert changes == sorted(changes, key=lambda v: -abs(v))          # the largest change first
    assert rows[1][k].number_format == "#,##0.00" and Decimal(str(sum(changes))) == Decimal("60000")


def test_csv_lists_every_changed_record(reports, tmp_path):
    c = reports["jiangbei_vs_18_per_10k"]
    path = tmp_path / "r.csv"
    c.write(path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1 + 53 and lines[0].startswith("编号,名称,")


def test_one_policy_at_two_dates(tmp_path):
    pay = str(P / "jiangbei/pay.policy")
    c = compare.compare([pay, pay], D / "jiangbei/workers.csv", as_of=[date(2023, 6, 30), date(2024, 6, 30)])
    assert [r.label for r in c.compared] == ["pay@2023-06-30", "pay@2024-06-30"]
    assert c.structure == [] and c.records_differing > 0
    (headline,) = c.headline("zh")
    assert "上年城市平均工资 110,000 元 → 116,000 元" in headline   # the wage base from 2024-01-01
    assert "（截至2024年6月30日）" in headline


def test_cli_as_of_per_policy_and_a_repeated_date_is_an_error(tmp_path):
    pay = str(P / "jiangbei/pay.policy")
    runner = CliRunner()
    args = ["compare", pay, pay, "--records", str(D / "jiangbei/workers.csv")]
    result = runner.invoke(main, args + ["--as-of", "1=2023-06-30", "--as-of", "2=2024-06-30"])
    assert result.exit_code == 0, result.output
    assert "上年城市平均工资 110,000 元 → 116,000 元" in result.output
    result = runner.invoke(main, args + ["--as-of", "1=2023-06-30", "--as-of", "1=2024-06-30"])
    assert result.exit_code == 2 and "policy 1" in result.output and "two dates" in result.output
    result = runner.invoke(main, args + ["--as-of", "2023-06-30", "--as-of", "2024-06-30"])
    assert result.exit_code == 2 and "given twice" in result.output
    result = runner.invoke(main, args + ["--as-of", f"{pay}=2023-06-30"])
    assert result.exit_code == 2 and "more than one" in result.output
    result = runner.invoke(main, args + ["--as-of", "2024-06-30", "--lang", "en", "--out", str(tmp_path / "r.md")])
    assert result.exit_code == 0 and "# Policy comparison" in (tmp_path / "r.md").read_text(encoding="utf-8")


def test_figures_for_people():
    from policydsl.compare import formatting as fm
    from policydsl.types import DECIMAL, MONEY
    assert fm.value(Decimal("50685500.00"), MONEY, "zh") == "5,068.55 万元"
    assert fm.value(Decimal("50685500.00"), MONEY, "en") == "50.69 million yuan"
    assert fm.change(Decimal("60000.00"), MONEY, "zh") == "+60,000 元" and fm.change(-118, None, "zh") == "−118"
    assert fm.value(Decimal("0.684"), DECIMAL, "zh", name="岗位降幅") == "68.4%"
    assert fm.value(True, None, "zh") == "是" and fm.value(False, None, "en") == "no"


def test_run_prints_every_summary_wrapped_and_decisions_for_a_policy_without_summaries():
    from policydsl import api
    from policydsl.compare.terminal import summary_lines, width_of
    policy = api.load_policy(str(P / "xiangan/consolidation.policy"))
    batch = api.run_batch(policy, P / "xiangan/old_posts.csv", related={}, as_of=None, out=None, engine="duckdb",
                          on_row=lambda cells: None)
    lines = summary_lines(policy, batch.summaries, None, width=60, first="汇总：")
    assert all(width_of(line) <= 60 for line in lines) and len(lines) > 3
    text = "".join(lines)
    assert "岗位降幅 = 68.4%" in text and "整合前人次合计 = 7,042 人次" in text
    assert text.count(" = ") == len(policy.summaries)                  # every summary, none cut
    result = CliRunner().invoke(main, ["run", str(P / "jinyuan/star_rating.policy"), "--records",
                                       str(D / "jinyuan/secretaries.csv")])
    assert result.exit_code == 0 and "星级运用：可推荐事业编 10，常规管理 56，诫勉督促 10" in result.output


def test_each_listed_record_links_to_its_explanation_under_both_policies(reports, tmp_path):
    c = reports["jinyuan_1500_per_star"]
    written = c.write(tmp_path / "r.html", explanations=3)
    pages = sorted(p.relative_to(tmp_path).as_posix() for p in written if p.parent != tmp_path)
    first = [d.record_id for d in c.diffs[:3]]
    assert pages == sorted(f"r.explain/{k}/{rid}.html" for k in (1, 2) for rid in first)
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    for rid in first:
        assert f'href="r.explain/1/{rid}.html"' in page and f'href="r.explain/2/{rid}.html"' in page
    # the baseline's explanation gives the baseline's reward, the variant's its own
    (o,) = [o for o in c.diffs[0].outcomes if o.outcome == "星级奖励"]
    base = (tmp_path / f"r.explain/1/{first[0]}.html").read_text(encoding="utf-8")
    other = (tmp_path / f"r.explain/2/{first[0]}.html").read_text(encoding="utf-8")
    assert f"{o.values[0]:,.2f}" in base and f"{o.values[1]:,.2f}" in other
