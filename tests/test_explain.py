"""Explanations (stage 5): the model, the generated sentences, why-not suggestions, rendering, the sandbox, the CLI.

Golden files under tests/golden/explain/ are the rendered explanations of records built here (runtime values, so
the tests do not depend on the data sets). Regenerate after a deliberate change with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_explain.py

and read the diff: the goldens are reviewed for readability, not only for stability.
"""

from __future__ import annotations

import html.parser
import os
from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from click.testing import CliRunner
from explain_support import AS_OF, LS_AS_OF, POLICY_FILES, RECORDS, Better, candidate, fw, glossed, secretary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policydsl import api, explain
from policydsl.cli import main
from policydsl.diagnostics import PolicyError
from policydsl.engines.row import Engine
from policydsl.semantics import check_file

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "explain"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def jinyuan():
    return api.load_policy(str(REPO / "policies/jinyuan/star_rating.policy"))


@pytest.fixture(scope="module")
def longshan():
    return api.load_policy(str(REPO / "policies/longshan/eligibility.policy"))


def _explained(policies, name, lang):
    which, values, as_of = RECORDS[name]
    policy = policies[which]
    return explain.explain_record(policy, values, record_id=values["编号"], lang=lang, as_of=as_of)


@pytest.fixture(scope="module")
def policies(jinyuan, longshan):
    loaded = {key: api.load_policy(str(REPO / path)) for key, path in POLICY_FILES.items()
              if key not in ("jinyuan", "longshan")}
    return {"jinyuan": jinyuan, "longshan": longshan, **loaded}


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
    assert failed == [fw("秘书年龄:拟任岗位 为 秘书,故须:年龄 36 ≤ 秘书适用年龄上限 35?否"),
                      fw("秘书学历:拟任岗位 为 秘书,故须:学历 中专 ≥ 大专?否"),
                      fw("亲属回避:直系亲属在村(社区)任职?是(须为“否”)")]
    en = _explained(policies, "longshan_refused", "en").outcomes[0]
    assert [r.text for r in en.reasons if r.kind == "fail"][0] == \
        "age limit of a clerk: post applied for is full-time clerk, so: age 36 ≤ age limit applying to the clerk 35? no"


def test_a_comparison_reads_as_a_question(longshan):
    x = explain.explain_record(longshan, candidate(拟任岗位="书记", 出生日期=date(1961, 3, 1), 党员=True,
                                                   入党日期=date(2000, 1, 1), 转正日期=date(2001, 1, 1),
                                                   直系亲属在村任职=False),
                               lang="zh", as_of=LS_AS_OF)
    texts = [r.text for r in x.outcomes[0].reasons]
    assert fw("书记年龄:拟任岗位 为 书记,故须:年龄 58 ≤ 书记年龄上限 57?否") in texts
    assert fw("书记年龄上限:连任?否 → 新任书记年龄上限(57 岁)") in texts
    # the conditions for a clerk, an auxiliary police officer do not concern a secretary: one line
    assert fw("不适用(另一情形的条件):秘书年龄、秘书学历、辅警年龄、辅警学历") in texts


def test_params_used_carry_value_date_citation_and_assumption(policies):
    x = _explained(policies, "jinyuan_gained", "en")
    stars = next(o for o in x.outcomes if o.name == "星级奖励")
    (per_star,) = stars.figures
    assert per_star.name == "每星奖励" and per_star.value == "CNY 1,000.00" and per_star.assumed is None
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
    assert [r.text for r in leave.reasons] == ["left office normally? no → CNY 0.00"]  # the false operand of `and`
    assert leave.figures == ()  # the departure figures are on the branch not taken


def test_first_hit_table_shows_rows_above_the_chosen_one(policies):
    x = _explained(policies, "jinyuan_threshold", "zh")
    star = next(o for o in x.outcomes if o.name == "星级")
    rows = [r.text for r in star.reasons if r.node == "任职年限星"]
    assert rows == [fw("任职年限星 第 1 行:任职年限 10 ≥ 任职年限两星门槛 10?是 → 2 星")]
    lost = _explained(policies, "jinyuan_lost", "zh")
    rows = [(r.kind, r.text) for o in lost.outcomes if o.name == "星级" for r in o.reasons if r.node == "任职年限星"]
    assert rows == [("skipped-row", fw("任职年限星 第 1 行:任职年限 4 ≥ 任职年限两星门槛 10?否(不适用)")),
                    ("skipped-row", fw("任职年限星 第 2 行:任职年限 4 ≥ 任职年限一星门槛 5?否(不适用)")),
                    ("row", fw("任职年限星 第 3 行:其余情形 → 0 星"))]


def test_formatting_follows_the_language():
    assert explain.format_value(D("74172"), explain.MONEY, "zh") == "74,172.00 元"
    assert explain.format_value(D("74172"), explain.MONEY, "en") == "CNY 74,172.00"  # ¥ is also the yen
    assert explain.format_value(D("-0.5"), explain.MONEY, "en") == "-CNY 0.50"
    assert explain.format_value(date(2024, 1, 1), explain.DATE, "zh") == "2024年1月1日"
    assert explain.format_value(date(2024, 1, 1), explain.DATE, "en") == "1 January 2024"
    assert explain.format_value(D("0.6"), explain.PERCENT, "en") == "60%"
    assert explain.format_value(D("0.156"), explain.PERCENT, "zh") == "15.6%"
    assert explain.format_value(D("1234567.5"), explain.DECIMAL, "en") == "1,234,567.5"
    # a difference of two percents is in percentage points, not a percent of a percent
    from policydsl.explain.formatting import _change
    assert _change(D("0.05"), D("0.206"), explain.PERCENT, "zh", "增幅") == "多 15.6 个百分点"
    assert _change(D("0.05"), D("0.06"), explain.PERCENT, "en", "增幅") == "1 percentage point more"
    # full-width punctuation where it touches Chinese; figures and formulas keep theirs
    assert fw("严重问题?否,按下式计算") == "严重问题\uff1f否\uff0c按下式计算"
    assert fw("赵伟(JY-T3):74,172.00 元;min(0, 2)") == "赵伟\uff08JY-T3\uff09\uff1a74,172.00 元\uff1bmin(0, 2)"
    assert explain.format_value(True, explain.BOOL, "zh") == "是"
    assert explain.with_unit("星级", 3, explain.INT, "zh") == "3 星"
    assert explain.with_unit("星级", 1, explain.INT, "en") == "1 star"


def test_author_template_renders_with_formatted_values(policies):
    x = _explained(policies, "jinyuan_gained", "zh")
    reward = next(o for o in x.outcomes if o.name == "星级奖励")
    assert reward.author and reward.headline == fw("比上年增加 2 星,每星 1,000.00 元")
    en = next(o for o in _explained(policies, "jinyuan_gained", "en").outcomes if o.name == "星级奖励")
    assert not en.author and en.headline == "reward for stars gained: CNY 2,000.00"  # no English template: generated


# ------------------------------------------------------------------------------------------------ why not

def test_why_not_never_suggests_what_the_person_cannot_change(longshan):
    """A clerk refused for age, education and a relative serving in the village: only education is a thing they
    can change; being born later, or a relative leaving post, is never suggested — not even when a policy marks a
    date field actionable."""
    policy = glossed(longshan, 学历={"actionable": True}, 出生日期={"actionable": True})
    x = explain.explain_record(policy, candidate(), lang="zh", as_of=LS_AS_OF)
    elig = x.outcomes[0]
    fields = {f for s in elig.suggestions for f in s.fields}
    assert fields == {"学历"}
    (education,) = [s for s in elig.suggestions if s.fields == ("学历",)]
    assert education.text == fw("若 学历 为 大专(现为 中专),条件“秘书学历”将满足;人选资格 仍不符合(还有其他条件未满足)")
    # without a glossary nothing is actionable: no suggestion at all
    bare = replace(longshan, glossary={})
    assert explain.explain_record(bare, candidate(), lang="zh", as_of=LS_AS_OF).suggestions == ()


def test_a_condition_on_time_is_said_as_a_date(longshan):
    """A new secretary with under a year of full membership: the date from which the condition is met."""
    values = candidate(编号="LS-W", 拟任岗位="书记", 出生日期=date(1970, 1, 1), 学历="高中", 党员=True,
                       入党日期=date(2017, 11, 7), 转正日期=date(2018, 11, 7), 直系亲属在村任职=False)
    x = explain.explain_record(longshan, values, lang="zh", as_of=LS_AS_OF)
    texts = [s.text for s in x.outcomes[0].suggestions]
    assert fw("2019年11月7日起,条件“书记党龄”将满足,届时可再申请") in texts
    # and on that day the engine agrees
    assert Engine(longshan).evaluate(values, date(2019, 11, 7)).values["人选资格"] is True
    assert Engine(longshan).evaluate(values, date(2019, 11, 6)).values["人选资格"] is False


def test_why_not_for_stars_goes_only_the_favourable_way(policies):
    policy = glossed(policies["jinyuan"], 年度考核={"actionable": True}, 荣誉数={"actionable": True},
                     星级={"better": Better("higher")})
    x = explain.explain_record(policy, RECORDS["jinyuan_gained"][1], lang="zh", as_of=AS_OF)
    star = next(o for o in x.outcomes if o.name == "星级")
    texts = [s.text for s in star.suggestions]
    assert fw("若 年度考核 为 优秀(现为 称职),星级 将为 5 星(多 1 星)") in texts
    assert fw("若 荣誉数 为 2 项(现为 1 项,多 1 项),星级 将为 5 星(多 1 星)") in texts
    assert not any("少" in s for s in texts)   # never a change that costs the person a star
    assert "任职年限" not in {f for s in star.suggestions for f in s.fields}  # time in post: not a choice
    en = explain.explain_record(policy, RECORDS["jinyuan_gained"][1], lang="en", as_of=AS_OF)
    assert any(s.text.startswith("If annual assessment were excellent (now competent), star rating would be 5 stars "
                                 "(1 star more)") for s in en.suggestions)


def test_when_no_single_change_is_enough_the_smallest_combination_is_given(policies):
    """0 stars and 诫勉督促: no single change reaches 常规管理 (2 stars); two do."""
    policy = glossed(policies["jinyuan"], 荣誉数={"actionable": True}, 学历={"actionable": True},
                     集体经济增幅={"actionable": True}, 星级运用={"better": Better("lower"), "serious": True})
    values = RECORDS["jinyuan_lost"][1]
    x = explain.explain_record(policy, values, lang="zh", as_of=AS_OF)
    use = next(o for o in x.outcomes if o.name == "星级运用")
    assert use.value == "诫勉督促"
    (combined,) = use.suggestions
    assert len(combined.fields) == 2 and combined.text.startswith("若 ") and "且" in combined.text
    changed = {**values, **dict(combined.changes)}
    assert Engine(policy).evaluate(values, AS_OF).values["星级运用"] == "诫勉督促"
    assert Engine(policy).evaluate(changed, AS_OF).values["星级运用"] == "常规管理"
    for field, new in combined.changes:  # neither change alone is enough
        assert Engine(policy).evaluate({**values, field: new}, AS_OF).values["星级运用"] == "诫勉督促"


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
    every step must find no smaller favourable change of an outcome (money/percent in their smallest units)."""
    numeric = [o.name for o in jinyuan.outcomes if o.type in (explain.INT, explain.MONEY)]
    policy = glossed(jinyuan, 任职年限={"actionable": True}, 集体经济增幅={"actionable": True},
                     **{name: {"better": Better("higher")} for name in numeric})
    values = secretary(编号="JY-S", 任职年限=3, 集体经济增幅=D("0.1234"), 荣誉数=0)
    ex = explain.Explainer(policy, lang="en")
    x = ex.explain_values(values, "JY-S", AS_OF)
    assert ex._saturation("任职年限")[2] == (5, 10) and ex._saturation("集体经济增幅")[2] == (D("0.1"),)
    engine = Engine(policy)
    base = engine.evaluate(values, AS_OF).values
    for field, t, limit in (("任职年限", explain.INT, 30), ("集体经济增幅", explain.PERCENT, 400)):
        for direction in (1, -1):
            first = {}  # outcome → the smallest change (in steps) that raises it
            for k in range(1, limit):
                new = explain._move(values[field], t, k * direction)
                if new is None:
                    break
                got = engine.evaluate({**values, field: new}, AS_OF).values
                for o in numeric:
                    if got[o] > base[o] and o not in first:
                        first[o] = new
            for o in x.outcomes:
                found = [s for s in o.suggestions if s.fields == (field,) and
                         (s.change.endswith("more") if direction > 0 else s.change.endswith("less"))]
                if o.name in first:
                    want = explain.with_unit(field, first[o.name], jinyuan.subject.field(field), "en")
                    assert len(found) == 1 and found[0].new == want, (o.name, field, direction)
                else:
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
    assert '<h1 class="conclusion' in page and "<h2" in page and "<details>" in page


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
    assert fw("档 第 1 行:61 岁已到退休年龄 → 2") in [r.text for o in zh.outcomes for r in o.reasons]
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
    assert "李红 (LS-T1): eligible: not met (3 conditions failed, serious)." in res.output
    res = runner.invoke(main, ["explain", policy, "--records", records, "--id", "nobody"])
    assert res.exit_code == 1 and "record nobody is not in" in res.output
    res = runner.invoke(main, ["explain", policy, "--records", records])
    assert res.exit_code == 2 and "--id ID or --all" in res.output


def test_cli_explain_all_names_pages_by_token_keeps_the_index_private_and_lists_bad_records(tmp_path):
    rows = [candidate(), candidate(编号="LS/T2", 学历="大专", 直系亲属在村任职=False, 出生日期=date(1990, 1, 1)),
            candidate(编号="LS-T9", 姓名="孙丽")]
    records = _csv(tmp_path, rows)
    text = Path(records).read_text(encoding="utf-8").replace("1983-03-01", "not a date", 1)  # LS-T1 cannot load
    Path(records).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    policy = str(REPO / "policies/longshan/eligibility.policy")
    res = CliRunner().invoke(main, ["explain", policy, "--records", records, "--all", "--out", str(out),
                                    "--format", "html", "--as-of", "2019-03-01"])
    assert res.exit_code == 1, res.output   # a bad record: the batch is not clean
    names = sorted(p.name for p in out.iterdir())
    pages = [n for n in names if n not in ("index.html", "mapping.csv")]
    assert len(pages) == 2 and all(len(n) == len("x" * 26 + ".html") for n in pages)
    assert not any("LS" in n for n in pages)     # nothing to guess a neighbour's page from
    mapping = (out / "mapping.csv").read_text(encoding="utf-8").splitlines()
    assert mapping[0] == "record_id,name,file,status,error" and len(mapping) == 4
    assert any(line.startswith("LS-T1,,,not loaded,") for line in mapping)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "李红" not in index and "孙丽" not in index and "不符合" not in index and "LS/T2" not in index
    assert "未能读取" in index and "LS-T1" in index            # the bad record, with where its error is ...
    assert "not a date" not in index and "not a date" in "\n".join(mapping)   # ... the value only for the office
    assert all(f'href="{n}"' in index for n in pages)
    assert "2 explanation(s) written" in res.output and "listed in the index: LS-T1" in res.output
    res = CliRunner().invoke(main, ["explain", policy, "--records", records, "--all", "--out", str(tmp_path / "f"),
                                    "--format", "html", "--as-of", "2019-03-01", "--index", "full"])
    full = (tmp_path / "f" / "index.html").read_text(encoding="utf-8")
    assert "孙丽" in full and "不符合" in full


def test_cli_explain_all_streams_the_records_of_a_policy_that_reads_nothing_across_records(tmp_path, monkeypatch):
    """Each Longshan candidate's page needs only their own record: `--all` reads, explains and drops them one at a
    time (the loader that holds every record is never called), with the same pages, mapping and index."""
    import policydsl.explain as explaining
    from policydsl.explain import batch

    rows = [candidate(), candidate(编号="LS-T2", 学历="大专", 直系亲属在村任职=False, 出生日期=date(1990, 1, 1)),
            candidate(编号="LS-T3", 出生日期=date(1991, 2, 3))]
    records = _csv(tmp_path, rows)
    text = Path(records).read_text(encoding="utf-8").replace("1991-02-03", "not a date", 1)  # LS-T3 cannot load
    Path(records).write_text(text, encoding="utf-8")
    policy = str(REPO / "policies/longshan/eligibility.policy")
    assert not api.load_policy(policy).across_records

    def held_in_memory(*args, **kwargs):
        raise AssertionError("explain --all loaded every record at once")
    monkeypatch.setattr(explaining, "load_inputs", held_in_memory)
    seen = []
    real = batch.Explainer.explain_values
    monkeypatch.setattr(batch.Explainer, "explain_values",
                        lambda self, values, rid, as_of=None: seen.append(rid) or real(self, values, rid, as_of))
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["explain", policy, "--records", records, "--all", "--out", str(out),
                                    "--format", "text", "--as-of", "2019-03-01"])
    assert res.exit_code == 1, res.output  # LS-T3 failed to load
    assert seen == ["LS-T1", "LS-T2"]
    mapping = (out / "mapping.csv").read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[0] for line in mapping[1:]] == ["LS-T1", "LS-T2", "LS-T3"]
    assert mapping[3].startswith("LS-T3,,,not loaded,") and "not a date" in mapping[3]
    index = (out / "index.txt").read_text(encoding="utf-8")
    assert "LS-T3" in index and "李红" not in index
    assert "2 explanation(s) written" in res.output and "listed in the index: LS-T3" in res.output
    assert "record LS-T3: field 出生日期" in res.output


def test_page_tokens_are_unguessable_and_stable_under_one_key():
    from policydsl.explain.batch import page_token
    key = bytes(32)
    assert page_token(key, "JY001") == page_token(key, "JY001") != page_token(key, "JY002")
    assert page_token(key, "JY001") != page_token(bytes([1]) * 32, "JY001")
    assert len(page_token(key, "JY001")) == 26


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


# ------------------------------------------------------------------------------------------------ never harmful

_JY_FIELDS = ("年度考核", "荣誉数", "任职年限", "集体经济增幅", "突出贡献", "学历", "上年学历", "负面情形数",
              "严重问题", "正常离任", "村社类型")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_suggestion_proposes_a_field_the_person_cannot_change_or_an_unfavourable_move(jinyuan, data):
    """Whatever the glossary says is actionable and favourable, and whatever the record: every suggestion changes
    only actionable fields, and the engine, re-evaluating it, finds the outcome moved the favourable way."""
    actionable = data.draw(st.sets(st.sampled_from(_JY_FIELDS), min_size=1))
    numeric = [o.name for o in jinyuan.outcomes if o.type in (explain.INT, explain.MONEY)]
    directions = {name: data.draw(st.sampled_from(["higher", "lower"])) for name in numeric}
    policy = glossed(jinyuan, **{f: {"actionable": f in actionable} for f in jinyuan.subject.field_names},
                     **{n: {"better": Better(d)} for n, d in directions.items()})
    assessments = jinyuan.subject.field("年度考核").labels
    degrees = jinyuan.subject.field("学历").labels
    values = secretary(年度考核=data.draw(st.sampled_from(assessments)), 荣誉数=data.draw(st.integers(0, 4)),
                       任职年限=data.draw(st.integers(0, 16)),
                       集体经济增幅=D(data.draw(st.integers(0, 300))) / 1000,
                       学历=data.draw(st.sampled_from(degrees)), 上年学历=data.draw(st.sampled_from(degrees)),
                       负面情形数=data.draw(st.integers(0, 3)), 严重问题=data.draw(st.booleans()),
                       突出贡献=data.draw(st.booleans()), 正常离任=data.draw(st.booleans()),
                       上年星级=data.draw(st.integers(0, 6)), 初评星级=data.draw(st.integers(0, 6)))
    engine = Engine(policy)
    before = engine.evaluate(values, AS_OF).values
    x = explain.explain_record(policy, values, record_id="H", lang="zh", as_of=AS_OF, engine=engine)
    for o in x.outcomes:
        for s in o.suggestions:
            assert set(s.fields) <= actionable, (o.name, s.text)
            after = engine.evaluate({**values, **dict(s.changes)}, AS_OF).values
            if directions.get(o.name) == "higher":
                assert after[o.name] > before[o.name], (o.name, s.text)
            elif directions.get(o.name) == "lower":
                assert after[o.name] < before[o.name], (o.name, s.text)
