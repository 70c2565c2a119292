"""Explanations (stage 5): the model, the generated sentences, why-not suggestions, rendering, the sandbox, the CLI.

Golden files under tests/golden/explain/ are the rendered explanations of records built here (runtime values, so
the tests do not depend on the data sets). Regenerate after a deliberate change with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_explain.py

and read the diff: the goldens are reviewed for readability, not only for stability.
"""

from __future__ import annotations

import html.parser
import os
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from click.testing import CliRunner

from policydsl import api, explain
from policydsl.cli import main
from policydsl.diagnostics import PolicyError
from policydsl.engines.row import Engine
from policydsl.semantics import check_file

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "explain"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
AS_OF = date(2022, 12, 31)
LS_AS_OF = date(2019, 3, 1)


@pytest.fixture(scope="module")
def jinyuan():
    return api.load_policy(str(REPO / "policies/jinyuan/star_rating.policy"))


@pytest.fixture(scope="module")
def longshan():
    return api.load_policy(str(REPO / "policies/longshan/eligibility.policy"))


def secretary(**changes):
    base = dict(编号="JY-T1", 姓名="张明", 村社类型="行政村", 年度考核="称职", 荣誉数=1, 任职年限=8,
                集体经济增幅=D("0.05"), 突出贡献=False, 学历="高中", 上年学历="高中", 负面情形数=0, 严重问题=False,
                上年星级=2, 初评星级=1, 年报酬标准=D("50000.00"), 正常离任=False)
    base.update(changes)
    return base


def candidate(**changes):
    base = dict(编号="LS-T1", 姓名="李红", 出生日期=date(1983, 3, 1), 学历="中专", 党员=False,
                入党日期=date(2019, 3, 1), 转正日期=date(2020, 3, 1), 拟任岗位="秘书", 连任=False, 特别优秀=False, 来源类别="其他两委成员",
                有十种情形=False, 直系亲属在村任职=True, 联审通过=True, 政治品行差=False, 参与宗教迷信=False,
                受过刑事处罚=False)
    base.update(changes)
    return base


XA_AS_OF, XM_AS_OF, JB_AS_OF = date(2022, 8, 12), date(2024, 5, 27), date(2023, 6, 30)


def applicant(**changes):
    base = dict(编号="XA-T1", 姓名="甲", 学历="本科", 报考社区编码="XA01", 参加统一考试=True, 笔试成绩=D("78.0"),
                面试成绩=D("84.0"), 考试组织单位="翔安区委组织部", 聘用单位="新店街道", 两委干部近亲属=False)
    base.update(changes)
    return base


def task(**changes):
    base = dict(编号="XM-T1", 名称="村民反映购买假冒农资", 来源部门="市市场监督管理局", 事项类型="依法履职",
                职责编号="45", 属地="曲梁镇", 拟派基层=True)
    base.update(changes)
    return base


def item(**changes):
    base = dict(编号="JB-T1", 名称="居民议事协商", 来源部门="区民政局", 事项类型="自治事项", 来源层级="区级部门",
                已列入清单=True, 依据已修订废止=False, 有法律法规规章依据=True, 有上级规范性文件要求=True,
                有实际工作需要=True, 属于部门自身职责=False, 联席会议审核="未审核", 职责交接完成=False)
    base.update(changes)
    return base


RECORDS = {
    # an ordinary secretary who gained stars: 称职 1 + honour 1 + tenure 1 + growth 1 = 4, last year 2
    "jinyuan_gained": ("jinyuan", secretary(编号="JY-T1", 集体经济增幅=D("0.12")), AS_OF),
    # exactly at the 10-year tenure threshold (row 1 of 任职年限星 holds) and at the 10% growth threshold
    "jinyuan_threshold": ("jinyuan", secretary(编号="JY-T2", 姓名="王强", 任职年限=10, 集体经济增幅=D("0.10"),
                                               上年星级=4), AS_OF),
    # lost a star: one negative situation, 基本称职, 4 years → 1 star after 2
    "jinyuan_lost": ("jinyuan", secretary(编号="JY-T3", 姓名="赵伟", 年度考核="基本称职", 荣誉数=0, 任职年限=4,
                                          负面情形数=1, 上年星级=2), AS_OF),
    # a clerk refused for age (36 > 35), for education (中专 < 大专) and for a relative serving in the village
    "longshan_refused": ("longshan", candidate(), LS_AS_OF),
    # an ordinary clerk candidate, 28, bachelor's degree, no relative in the village: every condition met
    "longshan_ordinary": ("longshan", candidate(编号="LS-T2", 姓名="周敏", 出生日期=date(1990, 5, 1), 学历="本科",
                                                直系亲属在村任职=False), LS_AS_OF),
    # a new secretary exactly 57 (57周岁以下 includes 57) with exactly one year of membership: eligible at the edge
    "longshan_threshold": ("longshan", candidate(编号="LS-T3", 姓名="吴刚", 出生日期=date(1962, 3, 1), 学历="高中",
                                                 党员=True, 入党日期=date(2017, 3, 1), 转正日期=date(2018, 3, 1),
                                                 拟任岗位="书记",
                                                 直系亲属在村任职=False), LS_AS_OF),
    # Xiang'an entry of community workers: 81 points, every condition met
    "xiangan_ordinary": ("xiangan", applicant(), XA_AS_OF),
    # exactly at the pass mark: 58 × 0.5 + 62 × 0.5 = 60 ≥ 60 passes
    "xiangan_threshold": ("xiangan", applicant(编号="XA-T2", 姓名="乙", 学历="大专", 报考社区编码="XA02",
                                                 笔试成绩=D("58.0"), 面试成绩=D("62.0"), 聘用单位="香山街道"), XA_AS_OF),
    # 59.9 points, and a close relative of a two-committee member: two conditions fail
    "xiangan_failed": ("xiangan", applicant(编号="XA-T3", 姓名="丙", 学历="大专", 报考社区编码="XA02",
                                              笔试成绩=D("59.8"), 面试成绩=D("60.0"), 聘用单位="香山街道",
                                              两委干部近亲属=True), XA_AS_OF),
    # Xinmi routing: duty No. 45, the town is main-responsible, so the town handles the task itself
    "xinmi_ordinary": ("xinmi", task(), XM_AS_OF),
    # the edge between main and cooperating duty: No. 47 (the town only cooperates) goes to the commerce bureau
    "xinmi_cooperating": ("xinmi", task(编号="XM-T2", 名称="村里缺少便民超市", 来源部门="12345热线",
                                        事项类型="协助配合", 职责编号="47", 属地="来集镇", 拟派基层=True), XM_AS_OF),
    # a code not on the duty list: returned to the sender, and the community may refuse it
    "xinmi_returned": ("xinmi", task(编号="XM-T3", 名称="某部门要求社区代为开展企业统计普查", 来源部门="市某局",
                                     事项类型="上级交办", 职责编号="999", 属地="新华路街道"), XM_AS_OF),
    # Jiangbei admission: an item on the published list is admitted
    "jiangbei_admitted": ("jiangbei", item(), JB_AS_OF),
    # the joint meeting approved a new item but the duties are not yet handed over: one step from admission
    "jiangbei_handover": ("jiangbei", item(编号="JB-T2", 名称="社区养老服务信息采集", 来源部门="区卫健局",
                                           事项类型="协助配合", 已列入清单=False, 联席会议审核="审核通过"), JB_AS_OF),
    # an assisting item without a legal basis fails the three standards: refused, and may be reported
    "jiangbei_refused": ("jiangbei", item(编号="JB-T3", 名称="协助开展某项台账填报", 来源部门="区某局",
                                          事项类型="协助配合", 已列入清单=False, 有法律法规规章依据=False), JB_AS_OF),
}


def _explained(policies, name, lang):
    which, values, as_of = RECORDS[name]
    policy = policies[which]
    return explain.explain_record(policy, values, record_id=values["编号"], lang=lang, as_of=as_of)


@pytest.fixture(scope="module")
def policies(jinyuan, longshan):
    return {"jinyuan": jinyuan, "longshan": longshan,
            "xiangan": api.load_policy(str(REPO / "policies/xiangan/entry.policy")),
            "xinmi": api.load_policy(str(REPO / "policies/xinmi/routing.policy")),
            "jiangbei": api.load_policy(str(REPO / "policies/jiangbei/admission.policy"))}


# ------------------------------------------------------------------------------------------------ goldens

@pytest.mark.parametrize("fmt", ["text", "html"])
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", sorted(RECORDS))
def test_golden(policies, name, lang, fmt):
    text = explain.render(_explained(policies, name, lang), fmt)
    path = GOLDEN / f"{name}.{lang}.{explain.EXTENSIONS[fmt]}"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {path}; run with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------ the model

def test_every_failed_condition_is_listed_with_threshold_and_value(policies):
    x = _explained(policies, "longshan_refused", "zh")
    (elig, _) = x.outcomes
    assert elig.value is False and elig.value_text == "不符合"
    failed = [r.text for r in elig.reasons if r.kind == "fail"]
    assert failed == ["秘书年龄:拟任岗位 为 秘书,故须:年龄 36 ≤ 秘书适用年龄上限 35?否",
                      "秘书学历:拟任岗位 为 秘书,故须:学历 中专 ≥ 大专?否",
                      "亲属回避:直系亲属在村任职?是(须为“否”)"]
    en = _explained(policies, "longshan_refused", "en").outcomes[0]
    assert [r.text for r in en.reasons if r.kind == "fail"][0] == \
        "秘书年龄: 拟任岗位 is 秘书, so: 年龄 36 ≤ 秘书适用年龄上限 35? no"


def test_a_comparison_reads_as_a_question(longshan):
    x = explain.explain_record(longshan, candidate(拟任岗位="书记", 出生日期=date(1961, 3, 1), 党员=True,
                                                   入党日期=date(2000, 1, 1), 转正日期=date(2001, 1, 1),
                                                   直系亲属在村任职=False),
                               lang="zh", as_of=LS_AS_OF)
    texts = [r.text for r in x.outcomes[0].reasons]
    assert "书记年龄:拟任岗位 为 书记,故须:年龄 58 ≤ 书记年龄上限 57?否" in texts
    assert "书记年龄上限:连任?否 → 新任书记年龄上限(57)" in texts


def test_params_used_carry_value_date_citation_and_assumption(policies):
    x = _explained(policies, "jinyuan_gained", "en")
    stars = next(o for o in x.outcomes if o.name == "星级奖励")
    (per_star,) = stars.figures
    assert per_star.name == "每星奖励" and per_star.value == "¥1,000.00" and per_star.assumed is None
    # the clause of the source article that gives 1,000 yuan a star (the Chinese clause, or its English text)
    assert "1000元" in per_star.sources[0] or "1,000 yuan" in per_star.sources[0]
    star = next(o for o in x.outcomes if o.name == "星级")
    assumed = {f.name: f.assumed for f in star.figures}
    assert "任职年限星" in assumed["任职年限一星门槛"] or "tenure star" in assumed["任职年限一星门槛"]
    html = explain.render(x, "html")
    assert "an assumption of this policy file, not of the source" in html


def test_only_the_branch_taken_is_explained(policies):
    x = _explained(policies, "jinyuan_gained", "en")
    leave = next(o for o in x.outcomes if o.name == "离任月补贴")
    assert [r.text for r in leave.reasons] == ["正常离任? no → ¥0.00"]  # the false operand of `and`
    assert leave.figures == ()  # the departure figures are on the branch not taken


def test_first_hit_table_shows_rows_above_the_chosen_one(policies):
    x = _explained(policies, "jinyuan_threshold", "zh")
    star = next(o for o in x.outcomes if o.name == "星级")
    rows = [r.text for r in star.reasons if r.node == "任职年限星"]
    assert rows == ["任职年限星 第 1 行:任职年限 10 ≥ 任职年限两星门槛 10?是 → 2 星"]
    lost = _explained(policies, "jinyuan_lost", "zh")
    rows = [(r.kind, r.text) for o in lost.outcomes if o.name == "星级" for r in o.reasons if r.node == "任职年限星"]
    assert rows == [("skipped-row", "任职年限星 第 1 行:任职年限 4 ≥ 任职年限两星门槛 10?否(不适用)"),
                    ("skipped-row", "任职年限星 第 2 行:任职年限 4 ≥ 任职年限一星门槛 5?否(不适用)"),
                    ("row", "任职年限星 第 3 行:其余情形 → 0 星")]


def test_formatting_follows_the_language():
    assert explain.format_value(D("74172"), explain.MONEY, "zh") == "74,172.00 元"
    assert explain.format_value(D("74172"), explain.MONEY, "en") == "¥74,172.00"
    assert explain.format_value(date(2024, 1, 1), explain.DATE, "zh") == "2024年1月1日"
    assert explain.format_value(date(2024, 1, 1), explain.DATE, "en") == "2024-01-01"
    assert explain.format_value(D("0.6"), explain.PERCENT, "en") == "60%"
    assert explain.format_value(True, explain.BOOL, "zh") == "是"
    assert explain.with_unit("星级", 3, explain.INT, "zh") == "3 星"
    assert explain.with_unit("星级", 1, explain.INT, "en") == "1 star"


def test_author_template_renders_with_formatted_values(policies):
    x = _explained(policies, "jinyuan_gained", "zh")
    reward = next(o for o in x.outcomes if o.name == "星级奖励")
    assert reward.author and reward.headline == "比上年增加 2 星，每星 1,000.00 元"
    en = next(o for o in _explained(policies, "jinyuan_gained", "en").outcomes if o.name == "星级奖励")
    assert not en.author and en.headline == "星级奖励 = ¥2,000.00"  # no English template: generated


# ------------------------------------------------------------------------------------------------ why not

def test_why_not_for_an_age_refused_candidate_is_computed(longshan):
    values = candidate(直系亲属在村任职=False, 学历="大专")   # refused for age only: 36 > 35
    x = explain.explain_record(longshan, values, lang="en", as_of=LS_AS_OF)
    elig = x.outcomes[0]
    assert [r.text.split(":")[0] for r in elig.reasons if r.kind == "fail"] == ["秘书年龄"]
    by_field = {s.field: s for s in elig.suggestions}
    born = by_field["出生日期"]
    # born one day later the candidate is 35 on 2019-03-01: the smallest change, and it makes them eligible
    assert born.new == "1983-03-02" and born.change == "1 day later"
    assert "年龄 would be 35" in born.text and "人选资格 would be met" in born.text
    assert by_field["特别优秀"].new == "yes"   # an exceptional clerk may be 40
    assert "拟任岗位" not in by_field          # applying for another post is not a remedy
    # the suggestion really flips the outcome when the engine re-evaluates it
    engine = Engine(longshan)
    assert engine.evaluate({**values, "出生日期": date(1983, 3, 2)}, LS_AS_OF).values["人选资格"] is True
    assert engine.evaluate(values, LS_AS_OF).values["人选资格"] is False


def test_why_not_for_stars_names_the_next_grade(policies):
    x = _explained(policies, "jinyuan_gained", "zh")
    star = next(o for o in x.outcomes if o.name == "星级")
    texts = [s.text for s in star.suggestions]
    assert "若 年度考核 为 优秀(现为 称职),星级 将为 5 星(多 1 星)" in texts
    assert "若 任职年限 为 10 年(现为 8 年,多 2 年),星级 将为 5 星(多 1 星)" in texts
    en = next(o for o in _explained(policies, "jinyuan_gained", "en").outcomes if o.name == "星级")
    assert "if 年度考核 were 优秀 (now 称职), 星级 would be 5 stars (1 star more)" in [s.text for s in en.suggestions]


def _probes(policy, values):
    """(field, new value) changes to try on a record: small and large steps both ways, every other enum label."""
    from policydsl.types import BOOL, EnumType
    out = []
    for name, t in policy.subject.fields:
        old = values[name]
        if t == BOOL:
            out.append((name, not old))
        elif isinstance(t, EnumType):
            out += [(name, label) for label in t.labels if label != old]
        elif t in explain._STEPS:
            for k in (1, 2, 3, 7, 100, 5000):
                for d in (1, -1):
                    new = explain._move(old, t, k * d)
                    if new is not None:
                        out.append((name, new))
    return out


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_the_partial_rerun_equals_a_full_evaluation(policies, name):
    """Why-not re-evaluates only the nodes a changed field reaches; that must equal evaluating the whole record."""
    which, values, as_of = RECORDS[name]
    ex = explain.Explainer(policies[which], lang="zh")
    ex.explain_values(values, values["编号"], as_of)
    nodes = [slot for slot, _, _ in ex.engine.fast]
    for field, new in _probes(policies[which], values):
        fast, full = ex._rerun(field, new), ex._run({**values, field: new}, as_of)
        assert (fast is None) == (full is None), (field, new)
        if full is not None:
            assert [fast[s] for s in nodes] == [full[s] for s in nodes], (field, new)


def test_threshold_search_finds_the_smallest_flip_exactly(jinyuan):
    """For a field read only by comparisons the search tries the threshold crossings only; a linear scan of
    every step must find no smaller change that alters an outcome (money/percent in their smallest units)."""
    values = secretary(编号="JY-S", 任职年限=3, 集体经济增幅=D("0.1234"), 荣誉数=0)
    ex = explain.Explainer(jinyuan, lang="en")
    x = ex.explain_values(values, "JY-S", AS_OF)
    assert ex._saturation("任职年限")[2] == (5, 10) and ex._saturation("集体经济增幅")[2] == (D("0.1"),)
    engine = Engine(jinyuan)
    base = engine.evaluate(values, AS_OF).values
    for field, t, limit in (("任职年限", explain.INT, 30), ("集体经济增幅", explain.PERCENT, 400)):
        for direction in (1, -1):
            first = {}  # outcome → the smallest change (in steps) that alters it
            for k in range(1, limit):
                new = explain._move(values[field], t, k * direction)
                if new is None:
                    break
                got = engine.evaluate({**values, field: new}, AS_OF).values
                for o, val in got.items():
                    if val != base[o] and o not in first:
                        first[o] = new
            for o in x.outcomes:
                found = [s for s in o.suggestions if s.field == field and
                         (s.change.endswith("more") if direction > 0 else s.change.endswith("less"))]
                if o.name in first:
                    want = explain.with_unit(field, first[o.name], jinyuan.subject.field(field), "en")
                    assert len(found) == 1 and found[0].new == want, (o.name, field, direction)
                elif len(o.suggestions) < 8:
                    assert not found, (o.name, field, direction)


# ------------------------------------------------------------------------------------------------ safety

class _Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_a_name_with_script_renders_inert_in_html(policies):
    x = explain.explain_record(policies["jinyuan"], secretary(姓名="<script>alert(1)</script>", 编号="<b>x</b>"),
                               record_id="<b>x</b>", lang="en", as_of=AS_OF)
    page = explain.render(x, "html")
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    parsed = _Collector()
    parsed.feed(page)
    assert "script" not in parsed.tags and "b" not in parsed.tags
    assert "<script>alert(1)</script>" in "".join(parsed.text)


def test_html_is_self_contained_and_accessible(policies):
    page = explain.render(_explained(policies, "longshan_refused", "zh"), "html")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in page
    assert 'name="viewport"' in page and "<style>" in page
    for external in ("<link", "src=", "http://", "https://", "@import"):
        assert external not in page
    assert "<h1>" in page and "<h2" in page and '<th scope="col">' in page


MALICIOUS = [
    "{{ ''.__class__.__mro__ }}",
    "{{ 星级.__class__ }}",
    "{{ 星级['__class__'] }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
]


@pytest.mark.parametrize("template", MALICIOUS)
def test_a_malicious_author_template_is_refused(write, template):
    path = write(f'''
        policy 测试 "t"
        record 人 key 编号 {{ 编号: text, 星: int }}
        outcome 星级: int = 星 + 1
          explain zh "{template}"
    ''')
    # `check` refuses it (so does every command that loads the policy) ...
    with pytest.raises(PolicyError, match="refused: it reaches for Python internals"):
        api.load_policy(path)
    # ... and so does the explainer itself, given the policy without that check
    policy, _ = check_file(path)
    with pytest.raises(explain.ExplainError, match="refused: it reaches for Python internals"):
        explain.explain_record(policy, {"编号": "A", "星": 1})
    # the English explanation does not use the zh template, but the policy is still refused as a whole
    with pytest.raises(explain.ExplainError):
        explain.Explainer(policy, lang="en")


def test_a_template_naming_something_unknown_is_refused(write):
    path = write('''
        policy 测试 "t"
        record 人 key 编号 { 编号: text, 星: int }
        outcome 星级: int = 星 + 1
          explain en "{{ cycler }} {{ 星星 }}"
    ''')
    with pytest.raises(PolicyError, match="uses 'cycler'"):
        api.load_policy(path)
    with pytest.raises(explain.ExplainError, match="uses 'cycler'"):
        explain.Explainer(check_file(path)[0], lang="en")


def test_the_sandbox_refuses_at_render_time_too():
    env = explain._author_env("zh")
    with pytest.raises(Exception) as info:
        env.from_string("{{ x.mro() }}").render(x=int)
    assert "unsafe" in str(info.value) or "not safely callable" in str(info.value)


def test_row_and_condition_templates_are_used(write):
    path = write('''
        policy 测试 "t"
        record 人 key 编号 { 编号: text, 年龄: int }
        table 档: int (first hit) {
          when 年龄 >= 60 -> 2  explain zh "{{ 年龄 }} 岁已到退休年龄"
          otherwise -> 1
        }
        outcome eligibility 可报名 {
          年龄条件: 年龄 < 50  explain en "aged {{ 年龄 }}, the limit is under 50"
        }
        outcome 结果: int = 档
    ''')
    policy = api.load_policy(path)
    zh = explain.explain_record(policy, {"编号": "A", "年龄": 61}, lang="zh")
    assert "档 第 1 行:61 岁已到退休年龄 → 2" in [r.text for o in zh.outcomes for r in o.reasons]
    en = explain.explain_record(policy, {"编号": "A", "年龄": 61}, lang="en")
    assert en.outcomes[0].reasons[0].text == "年龄条件: aged 61, the limit is under 50"


# ------------------------------------------------------------------------------------------------ API and CLI

def test_explain_an_existing_result(policies):
    policy = policies["longshan"]
    result = Engine(policy).evaluate(candidate(), LS_AS_OF, trace=True, record_id="LS-T1")
    x = explain.explain(policy, result, "en")
    assert x.ok and x.outcomes[0].value is False and x.outcomes[0].suggestions == ()
    assert x.record_label is None  # 姓名 is read by no rule: without the values it is unknown


def test_an_evaluation_error_is_explained_as_such(write):
    path = write('''
        policy 测试 "t"
        record 人 key 编号 { 编号: text, n: int }
        outcome r: decimal = 1 / n
    ''')
    x = explain.explain_record(api.load_policy(path), {"编号": "A", "n": 0}, record_id="A", lang="en")
    assert not x.ok and "division by zero" in x.error
    assert "Could not be computed" in explain.render(x, "text")


def _csv(tmp_path, rows):
    header = list(rows[0])
    lines = [",".join(header)] + [",".join(_cell(r[h]) for h in header) for r in rows]
    path = tmp_path / "candidates.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _cell(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def test_cli_explain_one_record(tmp_path):
    records = _csv(tmp_path, [candidate(), candidate(编号="LS-T2", 学历="大专", 直系亲属在村任职=False,
                                                      出生日期=date(1990, 1, 1))])
    runner = CliRunner()
    policy = str(REPO / "policies/longshan/eligibility.policy")
    res = runner.invoke(main, ["explain", policy, "--records", records, "--id", "LS-T1", "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "人选资格: not met (3 conditions failed)" in res.output
    res = runner.invoke(main, ["explain", policy, "--records", records, "--id", "nobody"])
    assert res.exit_code == 1 and "record nobody is not in" in res.output
    res = runner.invoke(main, ["explain", policy, "--records", records])
    assert res.exit_code == 2 and "--id ID or --all" in res.output


def test_cli_explain_all_writes_one_file_per_record_and_an_index(tmp_path):
    records = _csv(tmp_path, [candidate(), candidate(编号="LS/T2", 学历="大专", 直系亲属在村任职=False,
                                                      出生日期=date(1990, 1, 1))])
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["explain", str(REPO / "policies/longshan/eligibility.policy"), "--records",
                                    records, "--all", "--out", str(out), "--format", "html", "--as-of",
                                    "2019-03-01"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["LS-T1.html", "LS_T2.html", "index.html"]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="LS-T1.html"' in index and 'href="LS_T2.html"' in index and "不符合" in index
    assert "2 explanation(s) written" in res.output


# ------------------------------------------------------------------------------------------------ among other records

AMONG = {
    # eliminated: in the district's bottom 5% by average quarterly score this year and last year (末位淘汰)
    "xiangan_bottom": ("policies/xiangan/assessment.policy", "data/xiangan/workers.csv",
                       {"季度考核": "data/xiangan/quarterly_scores.csv"}, "XAW0002"),
    # a community's share of the district's 745 places (largest remainder) and its draw on the revolving pool
    "jiangbei_share": ("policies/jiangbei/quota.policy", "data/jiangbei/communities.csv",
                       {"工作者": "data/jiangbei/workers.csv"}, "JB004"),
}


@pytest.mark.parametrize("fmt", ["text", "html"])
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", sorted(AMONG))
def test_golden_among_records(name, lang, fmt):
    """A rank, a group and its size, the line and the tie rule; a share with its part and its whole."""
    policy_path, records, related, record_id = AMONG[name]
    policy = api.load_policy(str(REPO / policy_path))
    loaded = explain.load_inputs(policy, str(REPO / records), {k: str(REPO / v) for k, v in related.items()})
    explainer = explain.Explainer(policy, lang=lang)
    explainer.among([(r.id, r.values) for r in loaded.records])
    record = next(r for r in loaded.records if r.id == record_id)
    text = explain.render(explainer.explain_values(record.values, record.id), fmt)
    path = GOLDEN / f"{name}.{lang}.{explain.EXTENSIONS[fmt]}"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {path}; run with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8")
