"""Evaluation: tables and hit policies, money and rounding, dates and params, aggregates, eligibility, traces."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policydsl import api
from policydsl.engines.row import Engine

STAR_POLICY = """
policy 星级 "stars" subject 书记 effective 2022-01-01
enum 考核等次 { 优秀, 称职, 基本称职, 不称职 }
record 书记 key 编号 {
  编号: text
  年度考核: 考核等次
  任职年限: int
  负面情形: int
  上年星级: int
  基础年薪: money
}
param 每星奖励: money = 1000 元  source "seed 002: 每增加一个星级……1000元"
param 任职年限星门槛: int = 5  assumed "seed gives no threshold"
fact 考核星: int = match 年度考核 { 优秀 -> 2, 称职 -> 1, else -> 0 }
table 任职年限星: int (first hit) {
  when 任职年限 >= 10 -> 2
  when 任职年限 >= 任职年限星门槛 -> 1
  otherwise -> 0
}
outcome 星级: int = clamp(考核星 + 任职年限星 - 负面情形, 0, 5)
outcome 星级奖励: money = max(0, 星级 - 上年星级) * 每星奖励
outcome 绩效工资: money = 基础年薪 * 40%
"""


def secretary(**over):
    base = dict(编号="S1", 年度考核="优秀", 任职年限=12, 负面情形=0, 上年星级=1, 基础年薪=Decimal("30000"))
    base.update(over)
    return base


def test_star_rating_follows_the_source_figures(engine):
    e = engine(STAR_POLICY)
    r = e.evaluate(secretary())
    assert r.ok, r.error
    assert r.values["星级"] == 4                       # 2 (优秀) + 2 (≥ 10 years)
    assert r.values["星级奖励"] == Decimal("3000.00")    # 3 stars gained × 1,000 yuan
    assert r.values["绩效工资"] == Decimal("12000.00")   # 40% of 30,000


def test_star_count_never_goes_below_zero(engine):
    r = engine(STAR_POLICY).evaluate(secretary(年度考核="不称职", 任职年限=1, 负面情形=4))
    assert r.values["星级"] == 0
    assert r.values["星级奖励"] == Decimal("0.00")


@pytest.mark.parametrize("years, row, stars", [(10, 1, 2), (9, 2, 1), (5, 2, 1), (4, 3, 0)])
def test_first_hit_table_takes_the_first_matching_row(engine, years, row, stars):
    r = engine(STAR_POLICY).evaluate(secretary(任职年限=years), trace=True)
    step = r.trace.steps["任职年限星"]
    assert (step.row, step.value) == (row, stars)


def test_trace_records_inputs_and_match_branch(engine):
    r = engine(STAR_POLICY).evaluate(secretary(年度考核="称职"), trace=True)
    step = r.trace.steps["考核星"]
    assert dict(step.inputs) == {"年度考核": "称职"}
    assert step.decisions == ("match: 称职",)
    assert r.trace.params["每星奖励"].value == Decimal(1000)
    # traces off and on give the same values
    assert engine(STAR_POLICY).evaluate(secretary(年度考核="称职")).values == r.values


UNIQUE = """
policy u subject 社区
record 社区 key 编码 { 编码: text, 人口: int }
outcome table 规模: text (unique) {
  when 人口 < 3000 -> "一般"
  when 人口 >= 3000 and 人口 <= 8000 -> "较大"
  when 人口 >= 8000 -> "特大"
}
"""


def test_unique_table_with_two_matching_rows_names_both(engine):
    e = engine(UNIQUE)
    assert e.evaluate({"编码": "A", "人口": 5000}).values["规模"] == "较大"
    r = e.evaluate({"编码": "B", "人口": 8000}, record_id="B")
    assert not r.ok
    assert "rows 2 (line 6) and 3 (line 7) both apply" in r.error and "规模" in r.error


def test_table_without_matching_row_fails_that_record_only(engine):
    e = engine("""
    policy t subject R
    record R key id { id: text, x: int }
    outcome table y: int (first) { when x > 0 -> 1 }
    """)
    report = e.run([("a", {"id": "a", "x": 1}), ("b", {"id": "b", "x": -1})])
    assert [r.ok for r in report.results] == [True, False]
    assert "no row of the table applies" in report.results[1].error


def test_money_is_exact_and_rounded_half_up_to_the_fen(engine):
    e = engine("""
    policy m subject R
    record R key id { id: text, 工资: money }
    outcome 三分之一: money = 工资 / 3
    outcome 半分: money = 工资 * 0.5
    outcome 整元: money = round(工资 / 3, 0)
    outcome 银行家: decimal = round(2.5, 0, half_even) + 0.0
    """)
    r = e.evaluate({"id": "a", "工资": Decimal("100.01")})
    assert r.values["三分之一"] == Decimal("33.34")      # 33.33666… → 33.34
    assert r.values["半分"] == Decimal("50.01")          # 50.005 → 50.01 (half up, not banker's)
    assert r.values["整元"] == Decimal("33")
    assert r.values["银行家"] == Decimal("2")
    assert all(isinstance(v, Decimal) for v in r.values.values())


def test_dated_params_follow_the_evaluation_date(engine):
    e = engine("""
    policy d subject R effective 2023-01-01
    record R key id { id: text }
    param 平均工资: money {
      from 2023-01-01 = 100000 元 assumed "not in the seed"
      from 2024-01-01 = 110000 元 assumed "not in the seed"
    }
    outcome 下限: money = 平均工资 * 1.6
    """)
    rec = {"id": "a"}
    assert e.evaluate(rec).values["下限"] == Decimal("160000.00")   # default: the effective date
    assert e.evaluate(rec, as_of=date(2023, 12, 31)).values["下限"] == Decimal("160000.00")
    assert e.evaluate(rec, as_of=date(2024, 1, 1)).values["下限"] == Decimal("176000.00")
    from policydsl.engines.row import SetupError
    with pytest.raises(SetupError, match="no value in force on 2022-06-01"):
        e.evaluate(rec, as_of=date(2022, 6, 1))


RELATIONS = """
policy g subject 社区
record 网格 key 编号 { 编号: text, 社区编码: text, 人口: int, 专职人员: int }
record 社区 key 编码 { 编码: text, 网格: list of 网格 by 社区编码 }
outcome 网格数: int = count(网格)
outcome 超标网格: int = count(网格 where 人口 > 2000)
outcome 总人口: int = sum(网格, 人口)
outcome 最少人员: int = min(网格, 专职人员)
outcome 缺员网格: bool = any(网格, 专职人员 < 1)
outcome 全部达标: bool = all(网格, 人口 >= 1000 and 人口 <= 2000)
outcome 人员缺口: int = sum(网格, max(0, 1 - 专职人员))
"""


def test_aggregates_over_related_records(engine):
    grids = ({"编号": "g1", "社区编码": "c", "人口": 1500, "专职人员": 1},
             {"编号": "g2", "社区编码": "c", "人口": 2500, "专职人员": 0},
             {"编号": "g3", "社区编码": "c", "人口": 900, "专职人员": 2})
    r = engine(RELATIONS).evaluate({"编码": "c", "网格": grids})
    assert r.values == {"网格数": 3, "超标网格": 1, "总人口": 4900, "最少人员": 0, "缺员网格": True,
                        "全部达标": False, "人员缺口": 1}


def test_min_of_no_related_records_is_an_error_for_that_record(engine):
    r = engine(RELATIONS).evaluate({"编码": "c", "网格": ()})
    assert not r.ok and "min of no records" in r.error


ELIGIBILITY = """
policy e subject 候选人 effective 2024-01-01
enum 学历 ordered { 初中, 高中, 大专, 本科 }
record 候选人 key 编号 { 编号: text, 出生日期: date, 入党日期: date, 学历: 学历, 受过刑事处罚: bool }
fact 年龄: int = years_between(出生日期, as_of)
outcome eligibility 新任书记资格 {
  年龄上限: 年龄 <= 57          source "新任村(社区)党组织书记年龄必须在57周岁以下"
  党龄: years_between(入党日期, as_of) >= 1   source "必须具有一年以上党龄"
  学历: 学历 >= 高中             assumed "illustration"
  无刑事处罚: not 受过刑事处罚
}
"""


def test_eligibility_reports_every_failed_condition_with_values(engine):
    e = engine(ELIGIBILITY)
    person = {"编号": "p", "出生日期": date(1966, 1, 1), "入党日期": date(2023, 6, 1), "学历": "初中",
              "受过刑事处罚": False}
    r = e.evaluate(person, trace=True)
    assert r.values["新任书记资格"] is False
    failed = [c for c in r.trace.steps["新任书记资格"].conditions if not c.passed]
    assert [c.name for c in failed] == ["年龄上限", "党龄", "学历"]
    assert dict(failed[0].inputs)["年龄"] == 58


@pytest.mark.parametrize("born, ok", [(date(1967, 1, 1), True), (date(1966, 1, 2), True), (date(1966, 1, 1), False)])
def test_age_57_passes_and_58_fails(engine, born, ok):
    person = {"编号": "p", "出生日期": born, "入党日期": date(2020, 1, 1), "学历": "大专", "受过刑事处罚": False}
    assert engine(ELIGIBILITY).evaluate(person).values["新任书记资格"] is ok


def test_absences_counted_within_the_year_escalate(engine):
    e = engine("""
    policy p subject 干部 effective 2024-12-31
    record 缺岗 key 编号 { 编号: text, 干部编号: text, 日期: date }
    record 干部 key 编号 { 编号: text, 月绩效: money, 缺岗记录: list of 缺岗 by 干部编号 }
    fact 次数: int = count(缺岗记录 where same_year(日期, as_of))
    outcome 扣除绩效: money = if 次数 >= 3 then 月绩效 * 3 else if 次数 == 2 then 月绩效 else if 次数 == 1 then 月绩效 * 30% else 0 元
    outcome 免职: bool = 次数 >= 3
    """)
    def absences(n, year=2024):
        return tuple({"编号": f"a{i}", "干部编号": "x", "日期": date(year, 3, i + 1)} for i in range(n))
    pay = Decimal("2000")
    got = [e.evaluate({"编号": "x", "月绩效": pay, "缺岗记录": absences(n)}).values for n in (0, 1, 2, 3)]
    assert [g["扣除绩效"] for g in got] == [Decimal("0.00"), Decimal("600.00"), Decimal("2000.00"), Decimal("6000.00")]
    assert [g["免职"] for g in got] == [False, False, False, True]
    old = e.evaluate({"编号": "x", "月绩效": pay, "缺岗记录": absences(3, year=2023)}).values
    assert old["扣除绩效"] == Decimal("0.00")


def test_external_list_lookup_and_membership(engine, write, tmp_path):
    (tmp_path / "duties.csv").write_text("编号,事项,责任\n45,负责做好农民消费权益保护工作,主责\n47,配合做好发展基本便民商业服务,配合\n",
                                         encoding="utf-8")
    e = engine("""
    policy x subject 任务
    list 清单 from "duties.csv" key 编号 { 编号: text, 事项: text, 责任: enum 责任类型 { 主责, 配合 } }
    record 任务 key id { id: text, 事项编号: text }
    outcome 在清单内: bool = 事项编号 in 清单
    outcome 主责: bool = 事项编号 in 清单 and 清单[事项编号].责任 == 主责
    outcome 主责事项数: int = count(清单 where 责任 == 主责)
    """)
    assert e.evaluate({"id": "t", "事项编号": "45"}).values == {"在清单内": True, "主责": True, "主责事项数": 1}
    assert e.evaluate({"id": "t", "事项编号": "47"}).values["主责"] is False
    assert e.evaluate({"id": "t", "事项编号": "99"}).values["在清单内"] is False


def test_summaries_over_all_records(engine):
    e = engine("""
    policy s subject 旧岗位
    record 旧岗位 key 名称 { 名称: text, 新岗位: text, 人次: int }
    summary 整合前岗位数: int = count(records)
    summary 整合后岗位数: int = distinct(records, 新岗位)
    summary 岗位减幅: decimal = round((1 - distinct(records, 新岗位) / count(records)) * 100, 1)
    """)
    recs = [(f"p{i}", {"名称": f"p{i}", "新岗位": f"n{i % 12}", "人次": 1}) for i in range(38)]
    report = e.run(recs)
    assert report.summaries == {"整合前岗位数": 38, "整合后岗位数": 12, "岗位减幅": Decimal("68.4")}


def test_extends_with_override_changes_only_that_value(write):
    base = write(STAR_POLICY, "jinyuan.policy")
    variant = write("""
    policy 晋源变体 "1,500 yuan per star" extends "jinyuan.policy"
    override param 每星奖励: money = 1500 元 assumed "variant under study"
    """, "variant.policy")
    a, b = Engine(api.load_policy(base)), Engine(api.load_policy(variant))
    ra, rb = a.evaluate(secretary()), b.evaluate(secretary())
    assert ra.values["星级奖励"] == Decimal("3000.00") and rb.values["星级奖励"] == Decimal("4500.00")
    assert {k: v for k, v in ra.values.items() if k != "星级奖励"} == \
           {k: v for k, v in rb.values.items() if k != "星级奖励"}


def test_override_of_a_table_may_name_the_enum_its_base_declared_inline(write):
    """`override outcome table T: E …` where E is the base's inline enum of T (a KeyError traceback once)."""
    base = Path(__file__).parent / "golden" / "diagnostics" / "support" / "discipline_base.policy"
    variant = write(f"""
    policy 变体 "removal from the second absence" extends "{base.as_posix()}"
    override outcome table 处理: 处理等级 (first hit) {{
      when 次数 >= 2 -> 免职
      otherwise -> 无处理
    }}
    """)
    engine = Engine(api.load_policy(variant))
    assert [engine.evaluate({"编号": "A", "次数": n}).values["扣减"] for n in (0, 1, 2)] == [0, 0, 3]


def test_override_errors(write, errors):
    write(STAR_POLICY, "base.policy")
    msgs = errors("""
    policy v extends "base.policy"
    override param 每星将励: money = 1500 元
    param 每星奖励: money = 2 元
    override fact 星级: int = 1
    override param 任职年限星门槛: money = 5 元
    """)
    assert any("'每星将励' overrides nothing" in m for m in msgs)
    assert any("'每星奖励' is already defined in" in m for m in msgs)
    assert any("'任职年限星门槛'" in m and "should be int" in m for m in msgs) or \
           any("任职年限星门槛" in m for m in msgs)


def test_cycles_are_reported_with_the_full_path(errors):
    msgs = errors("""
    policy c subject R
    record R key id { id: text }
    fact a: int = b + 1
    fact b: int = c + 1
    fact c: int = a + 1
    outcome d: int = a
    """)
    assert msgs == ["circular definition: a → b → c → a"]


def test_durations_and_dates(engine):
    e = engine("""
    policy d subject R effective 2024-03-31
    record R key id { id: text, 任职日期: date, 出生日期: date }
    outcome 任期届满: date = 任职日期 + 5 年
    outcome 试用期满: date = 任职日期 + 6 个月
    outcome 季度: int = quarter(as_of)
    outcome 满一年: bool = 任职日期 + 1 年 <= as_of
    outcome 年龄: int = years_between(出生日期, as_of)
    """)
    r = e.evaluate({"id": "a", "任职日期": date(2023, 8, 31), "出生日期": date(1990, 4, 1)})
    assert r.values == {"任期届满": date(2028, 8, 31), "试用期满": date(2024, 2, 29), "季度": 1,
                        "满一年": False, "年龄": 33}


_STAR_ENGINE = None  # compiled once for all hypothesis examples


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["优秀", "称职", "基本称职", "不称职"]), st.integers(0, 40), st.integers(0, 6),
       st.integers(0, 5), st.decimals(min_value=0, max_value=200000, places=2))
def test_traced_and_untraced_evaluation_agree(tmp_path_factory, grade, years, negatives, last, pay):
    global _STAR_ENGINE
    if _STAR_ENGINE is None:
        path = tmp_path_factory.mktemp("star") / "star.policy"
        path.write_text(STAR_POLICY, encoding="utf-8")
        _STAR_ENGINE = Engine(api.load_policy(str(path)))
    record = secretary(年度考核=grade, 任职年限=years, 负面情形=negatives, 上年星级=last, 基础年薪=pay)
    fast, traced = _STAR_ENGINE.evaluate(record), _STAR_ENGINE.evaluate(record, trace=True)
    assert fast.values == traced.values
    assert {name: step.value for name, step in traced.trace.steps.items() if name in fast.values} == fast.values
    assert 0 <= fast.values["星级"] <= 5


def test_a_summary_can_read_earlier_and_later_summaries(engine):
    e = engine("""
    policy s subject R
    record R key id { id: text, 人次: int }
    summary 降幅: decimal = round(1 - 整合后 / 整合前, 4)
    summary 整合前: int = sum(records, 人次)
    summary 整合后: int = 2008
    """)
    report = e.run([("a", {"id": "a", "人次": 7000}), ("b", {"id": "b", "人次": 42})])
    assert report.summaries == {"整合前": 7042, "整合后": 2008, "降幅": Decimal("0.7149")}
