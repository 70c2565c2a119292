"""Comparisons: variants, per-record diffs and their causes, totals, missing fields, reports, the CLI command."""

from __future__ import annotations

import json
import os
import re
import tempfile
import textwrap
from decimal import Decimal
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policydsl import api, compare
from policydsl.cli import main
from policydsl.engines.row import Engine
from policydsl.graph import build

REPO = Path(__file__).resolve().parents[1]
JINYUAN = REPO / "policies" / "jinyuan" / "star_rating.policy"
VARIANT = REPO / "policies" / "variants" / "jinyuan_1500_per_star.policy"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------ the shipped variant

def test_shipped_variant_checks_and_its_examples_pass():
    policy = api.load_policy(str(VARIANT))
    assert policy.extends and policy.extends.endswith("star_rating.policy")
    assert policy.params["每星奖励"].values[0].value == Decimal("1500")
    assert policy.params["星级上限"].values[0].value == 6
    outcomes = api.run_examples(policy)
    assert outcomes and all(o.passed for o in outcomes)


def test_shipped_variant_structural_diff_names_exactly_the_two_params():
    c = compare.compare([str(JINYUAN), str(VARIANT)], REPO / "data" / "jinyuan" / "secretaries.csv")
    assert [(d.kind, d.name) for d in c.structure] == [("param", "星级上限"), ("param", "每星奖励")]
    assert c.structure[1].texts[0].startswith("param 每星奖励: money = 1000 元")
    assert c.structure[1].texts[1].startswith("override param 每星奖励: money = 1500 元")
    assert not c.missing_fields and c.records_compared == c.records_total > 0


# ------------------------------------------------------------------------------------------------ one param changed

RECORD = st.fixed_dictionaries({
    "编号": st.just("X"),
    "姓名": st.just("某"),
    "村社类型": st.sampled_from(["行政村", "城镇社区"]),
    "年度考核": st.sampled_from(["优秀", "称职", "基本称职", "不称职"]),
    "荣誉数": st.integers(0, 4),
    "任职年限": st.integers(0, 20),
    "集体经济增幅": st.sampled_from(["-5%", "0%", "4.9%", "5%", "9.99%", "10%", "30%"]),
    "突出贡献": st.booleans(),
    "学历": st.sampled_from(["初中", "高中", "大专", "本科"]),
    "上年学历": st.sampled_from(["初中", "高中", "大专", "本科"]),
    "负面情形数": st.integers(0, 4),
    "严重问题": st.booleans(),
    "上年星级": st.integers(0, 7),
    "初评星级": st.integers(0, 7),
    "年报酬标准": st.sampled_from(["40000.00", "45000.50", "50580.00", "60000"]),
    "正常离任": st.booleans(),
})

ONE_PARAM_VARIANTS = {
    "每星奖励": "override param 每星奖励: money = 1500 元",
    "任职年限一星门槛": "override param 任职年限一星门槛: int = 3",
    "增收致富门槛": "override param 增收致富门槛: percent = 5%",
    "星级上限": "override param 星级上限: int = 5",
    "离任月补贴基数": "override param 离任月补贴基数: money = 333.33 元",
}


@pytest.fixture(scope="module")
def one_param_variants(tmp_path_factory):
    folder = tmp_path_factory.mktemp("variants")
    base = api.load_policy(str(JINYUAN))
    out = {}
    for param, line in ONE_PARAM_VARIANTS.items():
        rel = os.path.relpath(JINYUAN, folder).replace(os.sep, "/")
        path = _write(folder / f"{param}.policy", f'extends "{rel}"\n{line}\n')
        out[param] = api.load_policy(str(path))
    return base, out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(param=st.sampled_from(sorted(ONE_PARAM_VARIANTS)), rows=st.lists(RECORD, min_size=1, max_size=12))
def test_one_param_moves_exactly_the_outcomes_that_read_it(one_param_variants, param, rows):
    base, variants = one_param_variants
    variant = variants[param]
    downstream = nx.descendants(build(base), param)
    records = [dict(r, 编号=f"R{i}") for i, r in enumerate(rows)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.json"
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        c = compare.compare([base, variant], path)
        engines = Engine(base), Engine(variant)
        loaded = api.run_file(base, path).loaded
    assert c.records_compared == len(records)
    assert [(d.kind, d.name) for d in c.structure] == [("param", param)]
    by_id = {d.record_id: {o.outcome: o for o in d.outcomes} for d in c.diffs}
    for rec in loaded.records:
        a = engines[0].evaluate(rec.values).values
        b = engines[1].evaluate(rec.values).values
        expected = {n for n in a if a[n] != b[n]}
        found = by_id.get(rec.id, {})
        assert set(found) == expected              # exactly the outcomes whose values differ …
        assert expected <= downstream              # … all of which read the param, directly or transitively
        for name, diff in found.items():
            assert diff.values == (a[name], b[name])
            (cause,) = diff.causes
            assert cause.changed == (f"param {param}",)
            assert cause.path[0].kind == "param" and cause.path[0].name == param
            assert {s.name for s in cause.path[1:]} <= downstream
            assert cause.path[-1].name == name


# ------------------------------------------------------------------------------------------------ totals by hand

SMALL = """
policy 小 "small" subject 人 effective 2024-01-01
enum 等次 { 优, 良, 差 }
record 人 key 编号 { 编号: text, 分: int, 底薪: money }
param 每分: money = 10 元
param 优线: int = 90
fact 加分: int = if 分 >= 优线 then 2 else 0
outcome 星: int = 加分 + 1
outcome 奖金: money = 分 * 每分
outcome 合计: money = 底薪 + 奖金
outcome table 评定: 等次 (first hit) {
  when 分 >= 优线 -> 优
  when 分 >= 60 -> 良
  otherwise -> 差
}
outcome 不变: money = 底薪
"""

SMALL_VARIANT = """
policy 小变体 "variant" subject 人 effective 2024-01-01
extends "small.policy"
override param 每分: money = 12.5 元
override param 优线: int = 80
"""

SMALL_CSV = """编号,分,底薪
A,95,1000
B,85,1000.10
C,50,900
D,0,800
"""


@pytest.fixture
def small(tmp_path):
    a = _write(tmp_path / "small.policy", SMALL)
    b = _write(tmp_path / "variant.policy", SMALL_VARIANT)
    r = _write(tmp_path / "r.csv", SMALL_CSV)
    return tmp_path, a, b, r


def test_totals_match_a_hand_computation(small):
    _, a, b, r = small
    c = compare.compare([a, b], r)
    totals = {t.outcome: t for t in c.numeric}
    # 奖金: A 950 → 1187.50 (+237.50), B 850 → 1062.50 (+212.50), C 500 → 625 (+125), D 0 → 0
    t = totals["奖金"]
    assert (t.total_base, t.total_other, t.change) == (Decimal("2300.00"), Decimal("2875.00"), Decimal("575.00"))
    assert t.mean_change == Decimal("143.75")
    assert t.median_change == Decimal("168.75")            # (125 + 212.50) / 2, exact
    assert (t.min_change, t.max_change) == (Decimal("0.00"), Decimal("237.50"))
    assert (t.gain, t.lose, t.same, t.count) == (3, 0, 1, 4)
    assert totals["合计"].total_base == Decimal("6000.10") and totals["合计"].change == Decimal("575.00")
    assert totals["不变"].change == 0 and totals["不变"].same == 4
    # 星: B crosses the lowered line (1 → 3); A stays 3
    s = totals["星"]
    assert (s.total_base, s.total_other, s.change, s.gain, s.median_change) == (6, 8, 2, 1, 0)
    assert s.distribution == ((1, 3, 2), (3, 1, 2))
    (x,) = c.crosstabs
    assert x.outcome == "评定" and x.cells == (("优", "优", 1), ("良", "优", 1), ("差", "差", 2))
    assert [d.record_id for d in c.diffs] == ["A", "B", "C"]
    b_diff = {o.outcome: o for o in c.diffs[1].outcomes}
    assert set(b_diff) == {"星", "奖金", "合计", "评定"}
    steps = {s.name: s for s in b_diff["评定"].causes[0].path}
    assert steps["评定"].rows == (2, 1)                   # the deciding table row moved from 2 to 1
    assert "优线" in steps and "每分" not in steps         # only the param that acted on this outcome


def test_outcomes_only_in_one_policy_and_type_changes_are_listed(tmp_path):
    a = _write(tmp_path / "a.policy", SMALL)
    b = _write(tmp_path / "b.policy", SMALL.replace("outcome 不变: money = 底薪", "outcome 新增: int = 分")
               .replace("policy 小", "policy 乙"))
    r = _write(tmp_path / "r.csv", SMALL_CSV)
    c = compare.compare([a, b], r)
    assert c.only_in == {"a": ["不变"], "b": ["新增"]}
    assert [(d.kind, d.name) for d in c.structure] == [("outcome", "不变"), ("outcome", "新增")]
    kinds = {d.name: d for d in c.structure}
    assert kinds["不变"].texts[1] is None and kinds["新增"].texts[0] is None


# ------------------------------------------------------------------------------------------------ bad overrides

def test_bad_overrides_are_diagnostics_with_positions(tmp_path):
    _write(tmp_path / "small.policy", SMALL)
    bad = _write(tmp_path / "bad.policy", """\
        extends "small.policy"
        override param 每份: money = 12 元
        override param 优线: decimal = 80.5
        override param 星: int = 3
        """)
    report = api.check([str(bad)])
    text = report.render()
    assert not report.ok
    assert re.search(rf"{re.escape(str(bad))}:2:1: error: '每份' overrides nothing", text)
    assert "did you mean '每分'" in text
    assert re.search(rf"{re.escape(str(bad))}:3:\d+: error: override of '优线' changes its type from int to decimal",
                     text)
    assert re.search(rf"{re.escape(str(bad))}:4:1: error: '星' overrides a fact with a param", text)
    assert len(report.errors) == 3


def test_bad_override_of_the_real_jinyuan_policy(tmp_path):
    rel = os.path.relpath(JINYUAN, tmp_path).replace(os.sep, "/")
    bad = _write(tmp_path / "v.policy", f'extends "{rel}"\noverride param 每星奖励: int = 1500\n')
    result = CliRunner().invoke(main, ["check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:2:" in result.output and "changes its type from money to int" in result.output


# ------------------------------------------------------------------------------------------------ missing fields

NEEDS_MORE = """
policy 多 "needs more" subject 人 effective 2024-01-01
record 人 key 编号 { 编号: text, 分: int, 底薪: money, 工龄: int }
outcome 奖金: money = 分 * 10 元 + 工龄 * 1 元
"""


def test_a_policy_needing_a_field_the_records_lack_is_reported_not_guessed(small):
    tmp, a, b, r = small
    c_path = _write(tmp / "more.policy", NEEDS_MORE)
    c = compare.compare([a, b, c_path], r)
    assert [m.message for m in c.missing_fields] == [
        "policy more needs field 工龄 (int) which the records lack"]
    assert [run.label for run in c.compared] == ["small", "variant"]
    assert c.records_compared == 4
    assert "policy more needs field 工龄 (int) which the records lack" in c.to_markdown()
    assert c.to_dict()["policies"][2]["compared"] is False


def test_missing_related_fields_are_reported(tmp_path):
    text = """
    policy 社 "c" subject 社区 effective 2024-01-01
    record 员 key 编号 { 编号: text, 社区编码: text, 岗位: text }
    record 社区 key 编码 { 编码: text, 人口: int, 人员: list of 员 by 社区编码 }
    outcome 人数: int = count(人员)
    outcome 定额: int = ceil(人口 * 18 / 10000)
    """
    a = _write(tmp_path / "a.policy", text)
    b = _write(tmp_path / "b.policy", text.replace("18 /", "21.4 /"))
    r = _write(tmp_path / "c.csv", "编码,人口\nC1,5000\nC2,12000\n")
    w = _write(tmp_path / "w.csv", "编号,社区编码\nW1,C1\n")
    c = compare.compare([a, b], r)
    assert c.missing_fields[0].message.startswith("policy a needs field 人员 (list of 员) which the records lack")
    c = compare.compare([a, b], r, related={"人员": w})
    assert [m.field for m in c.missing_fields] == ["人员[].岗位", "人员[].岗位"]
    _write(tmp_path / "w.csv", "编号,社区编码,岗位\nW1,C1,书记\n")
    c = compare.compare([a, b], r, related={"人员": w})
    assert not c.missing_fields and c.records_differing == 2
    (t,) = [t for t in c.numeric if t.outcome == "定额"]
    assert (t.total_base, t.total_other) == (9 + 22, 11 + 26)
    assert c.per_record_values["C2"] == [("人数", (0, 0)), ("定额", (22, 26))]


# ------------------------------------------------------------------------------------------------ reports

def test_reports_are_byte_for_byte_reproducible(small, tmp_path):
    _, a, b, r = small
    outputs = []
    for run in ("one", "two"):
        folder = tmp_path / run
        folder.mkdir()
        c = compare.compare([a, b], r)
        files = []
        for name in ("report.html", "report.md", "report.json"):
            files += c.write(folder / name)
        outputs.append({p.name: p.read_bytes() for p in files})
    assert outputs[0] == outputs[1]
    assert "report.chart1.svg" in outputs[0]
    html_text = outputs[0]["report.html"].decode()
    assert html_text.count("<svg") >= 2
    # one small inline script (search and pages of the changed records); nothing is fetched from elsewhere
    assert html_text.count("<script>") == 1 and not re.search(r'(src|href)="https?:', html_text)
    ids = re.findall(r'\bid="([^"]+)"', html_text)
    assert len(ids) == len(set(ids))                     # charts embedded side by side never share an id
    data = json.loads(outputs[0]["report.json"])
    assert data["counts"] == {"records": 4, "compared": 4, "differing": 3}


def test_html_escapes_record_text(tmp_path):
    a = _write(tmp_path / "small.policy", SMALL)
    b = _write(tmp_path / "variant.policy", SMALL_VARIANT)
    r = _write(tmp_path / "r.csv", '编号,分,底薪\n"<script>alert(1)</script>",95,1000\n')
    page = compare.compare([a, b], r).to_html()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # the page's own, inline


def test_identical_policies_report_no_differences(small):
    _, a, _, r = small
    c = compare.compare([a, a], r, labels=["x", "y"])
    assert c.diffs == [] and c.structure == [] and c.records_differing == 0
    assert "没有一条记录的结果改变。" in c.to_markdown()
    assert "No outcome differs for any record." in c.to_markdown(lang="en")


# ------------------------------------------------------------------------------------------------ command line

def test_cli_compare_writes_reports_and_exit_codes(small):
    tmp, a, b, r = small
    runner = CliRunner()
    result = runner.invoke(main, ["compare", str(a), str(b), "--records", str(r)])
    assert result.exit_code == 0, result.output
    assert "# 政策比较" in result.output and "4 of 4 record(s) compared, 3 differ" in result.output
    out = tmp / "out.json"
    result = runner.invoke(main, ["compare", str(a), str(b), "--records", str(r), "--out", str(out)])
    assert result.exit_code == 0 and json.loads(out.read_text(encoding="utf-8"))["baseline"] == "small"
    more = _write(tmp / "more.policy", NEEDS_MORE)
    result = runner.invoke(main, ["compare", str(a), str(more), "--records", str(r)])
    assert result.exit_code == 1 and "needs field 工龄 (int) which the records lack" in result.output
    result = runner.invoke(main, ["compare", str(a), "--records", str(r)])
    assert result.exit_code == 2
    result = runner.invoke(main, ["compare", str(a), str(b), "--records", str(r), "--out", str(tmp / "x.pdf")])
    assert result.exit_code == 2


def test_summaries_are_compared_over_the_records_compared(tmp_path):
    text = SMALL + "summary 奖金合计: money = sum(records, 奖金)\nsummary 人均: money = 奖金合计 / count(records)\n"
    a = _write(tmp_path / "small.policy", text)
    b = _write(tmp_path / "variant.policy", SMALL_VARIANT)
    r = _write(tmp_path / "r.csv", SMALL_CSV)
    c = compare.compare([a, b], r)
    assert c.summaries[0][0] == "奖金合计" and c.summaries[0][2] == (Decimal("2300.00"), Decimal("2875.00"))
    assert c.summaries[1][2] == (Decimal("575.00"), Decimal("718.75"))


# ------------------------------------------------------------------------------------------------ large runs

def test_records_are_loaded_once_when_the_schemas_agree(small, monkeypatch):
    tmp, a, b, r = small
    calls = []
    real = compare.core.load_records  # the module that loads the records for the row engine
    monkeypatch.setattr(compare.core, "load_records", lambda *args, **kw: calls.append(args[0]) or real(*args, **kw))
    c = compare.compare([a, b], r, engine="row")
    assert len(calls) == 1 and [run.loaded for run in c.runs] == [4, 4]
    other = _write(tmp / "other.policy", SMALL.replace("底薪: money }", "底薪: money, 备注: text }")
                   .replace("policy 小", "policy 丙"))
    _write(tmp / "r2.csv", "编号,分,底薪,备注\nA,95,1000,x\nB,bad,1,y\n")
    calls.clear()
    c = compare.compare([a, b, other], tmp / "r2.csv", engine="row")
    assert len(calls) == 2                                  # a and b share; the other schema loads its own
    assert [run.failed_ids for run in c.runs] == [["B"], ["B"], ["B"]]
    assert len(compare.problems(c)) == 3                    # the bad record is still reported per policy


def test_running_totals_equal_totals_over_every_record():
    records = REPO / "data" / "jinyuan" / "secretaries.csv"
    c = compare.compare([str(JINYUAN), str(VARIANT)], records)
    loaded = api.run_file(api.load_policy(str(JINYUAN)), records).loaded
    engines = Engine(api.load_policy(str(JINYUAN))), Engine(api.load_policy(str(VARIANT)))
    pairs = [(engines[0].evaluate(r.values).values, engines[1].evaluate(r.values).values) for r in loaded.records]
    assert c.numeric
    for t in c.numeric:
        bases = [a[t.outcome] for a, _ in pairs]
        changes = sorted(b[t.outcome] - a[t.outcome] for a, b in pairs)
        n = len(changes)
        median = changes[n // 2] if n % 2 else (Decimal(changes[n // 2 - 1]) + Decimal(changes[n // 2])) / 2
        assert t.count == n and t.total_base == sum(bases) and t.change == sum(changes)
        assert t.median_change == median and (t.min_change, t.max_change) == (changes[0], changes[-1])
        assert (t.gain, t.lose, t.same) == (sum(x > 0 for x in changes), sum(x < 0 for x in changes),
                                            sum(x == 0 for x in changes))


def test_progress_and_stages_cover_every_record(small):
    _, a, b, r = small
    seen, stages = [], []
    c = compare.compare([a, b], r, progress=seen.append, stage=lambda d, n: stages.append((d, n)), engine="row")
    assert sum(seen) == c.records_total == 4
    assert stages == [("loading records (small)", None), ("comparing", 4)]
    seen, stages = [], []
    c = compare.compare([a, b], r, progress=seen.append, stage=lambda d, n: stages.append((d, n)))
    assert sum(seen) == c.records_total == 4
    assert stages == [("evaluating on DuckDB", None), ("comparing", 4)]
