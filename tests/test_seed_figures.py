"""The county policies reproduce the sources' own figures (domain.md) from aggregate inputs."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from policydsl import api
from policydsl.engines.row import Engine

POLICIES = Path(__file__).resolve().parents[1] / "policies"


def engine(relative: str) -> Engine:
    return Engine(api.load_policy(str(POLICIES / relative)))


def test_xiangan_consolidation_38_to_12_posts_and_7042_to_2008_person_posts():
    policy = api.load_policy(str(POLICIES / "xiangan/consolidation.policy"))
    run = api.run_file(policy, POLICIES / "xiangan/old_posts.csv")
    assert run.failed_count == 0
    s = run.report.summaries
    assert (s["整合前岗位数"], s["整合后岗位数"]) == (38, 12)
    assert (s["整合前人次合计"], s["整合后人次合计"]) == (7042, 2008)
    assert s["岗位降幅"] == Decimal("0.684")        # seed: −68.4%
    assert s["人次降幅合计"] == Decimal("0.7149")    # seed: −71.49%


def test_jiangbei_745_places_at_21_4_per_10000():
    e = engine("jiangbei/quota.policy")
    community = {"编码": "JB", "名称": "全区", "常住人口": 348130, "上年常住人口": 348130, "周转情形": "无周转情形",
                 "申请周转员额": 0, "工作者": ()}
    (r,) = e.run([("JB", community)]).results  # the district as one community: it gets all 745
    assert r.ok, r.error
    assert r.values["基础员额"] == 745


def _village(i: int) -> dict:
    return {"编码": f"V{i:03d}", "名称": f"村{i}", "类型": "行政村", "实现十无": False, "班子考核得分": Decimal(1000 - i) / 10,
            "在岗": (), "荣誉": ()}


@pytest.mark.parametrize("as_of, per_village", [(date(2020, 6, 30), 3), (date(2018, 10, 1), 1)])
def test_longshan_full_time_posts_across_397_villages(as_of, per_village):
    e = engine("longshan/village.policy")
    report = e.run(((f"V{i}", _village(i)) for i in range(1, 398)), as_of=as_of)
    assert not report.failed
    assert report.summaries["全县全职岗位员额"] == 397 * per_village  # transition phase: 3 × 397 = 1,191
    # 每年按10%的比例评选一类班子: 10% of 397 is 39.7, rounded down: the 39 best scores, 10,000 yuan each
    assert report.summaries["一类班子数"] == 39
    assert {r.record_id for r in report.results if r.values["一类班子"]} == {f"V{i}" for i in range(1, 40)}


@pytest.mark.parametrize("absences, action, deduction, admonish, removed", [
    (0, "无处理", Decimal("0.00"), False, False),
    (1, "扣当月三成绩效", Decimal("600.00"), False, False),          # 30% of 2,000
    (2, "扣当月绩效并诫勉谈话", Decimal("2000.00"), True, False),     # the whole month
    (3, "扣当季绩效并免去职务", Decimal("6000.00"), True, True),      # the quarter (3 months)
])
def test_longshan_absence_penalty_ladder(absences, action, deduction, admonish, removed):
    e = engine("longshan/discipline.policy")
    cadre = {"编号": "C1", "姓名": "张三", "岗位": "书记", "月绩效工资": Decimal("2000"), "年度培训天数": 5,
             "擅离": tuple({"记录编号": f"A{i}", "干部编号": "C1", "发现日期": date(2024, 3, 1 + i)}
                         for i in range(absences))}
    r = e.evaluate(cadre, as_of=date(2024, 12, 31))
    assert r.ok, r.error
    assert r.values["擅离处理"] == action
    assert r.values["本次扣减"] == deduction
    assert (r.values["诫勉谈话"], r.values["免去职务"]) == (admonish, removed)


def test_jinyuan_1000_yuan_per_star_gained():
    policy = api.load_policy(str(POLICIES / "jinyuan/star_rating.policy"))
    assert policy.params["每星奖励"].values[0].value == Decimal(1000)
    e = Engine(policy)
    assert len(policy.examples) >= 3
    for ex in policy.examples:
        values = e.all_values(ex.given, ex.as_of)
        gained = max(0, values["星级"] - ex.given["上年星级"])
        assert values["星级奖励"] == Decimal(1000) * gained, ex.title
