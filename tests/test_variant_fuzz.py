"""Any variant a drafter can write checks to diagnostics, never a traceback (issue 11): overrides of tables,
eligibility, records, enums, params, lists and values, schema maps and exceptions, right and wrong, generated."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from policydsl import api
from policydsl.engines.row import Engine

BASE = (Path(__file__).resolve().parents[1] / "policies/longshan/discipline.policy").as_posix()
NAMES = st.sampled_from(["擅离处理", "本次扣减", "免去职务", "全职干部", "擅离处理等级", "首次扣减比例", "步骤扣减",
                         "不存在", "月绩效工资", "本年擅离次数", "擅离记录", "岗位"])
TYPES = st.sampled_from(["int", "money", "bool", "擅离处理等级", "enum 擅离处理等级 { 无处理, 扣当季绩效并免去职务 }",
                         "enum 新等级 { 甲, 乙 }", "text", "date", "岗位"])
VALUES = st.sampled_from(["0 元", "1", "true", "无处理", "甲", "本年擅离次数 >= 2", "月绩效工资 * 2", "\"x\"",
                          "2024-01-01", "扣当季绩效并免去职务", "不存在"])


@st.composite
def declarations(draw) -> str:
    name, type_, value = draw(NAMES), draw(TYPES), draw(VALUES)
    kind = draw(st.sampled_from(["table", "outcome table", "eligibility", "outcome", "fact", "param", "record",
                                 "enum", "list", "map", "exception", "summary"]))
    override = draw(st.sampled_from(["override ", ""]))
    if kind in ("table", "outcome table"):
        hit = draw(st.sampled_from(["first hit", "unique"]))
        return (f"{override}{kind} {name}: {type_} ({hit}) {{\n  when {value} -> {draw(VALUES)}\n"
                f"  otherwise -> {draw(VALUES)}\n}}")
    if kind == "eligibility":
        return f"{override}outcome eligibility {name} {{\n  条件: {value}\n}}"
    if kind in ("outcome", "fact", "summary"):
        return f"{override}{kind} {name}: {type_} = {value}"
    if kind == "param":
        return f"{override}param {name}: {type_} = {value}"
    if kind == "record":
        return f"{override}record {name} {{ {draw(NAMES)}: {type_} }}"
    if kind == "enum":
        return f"{override}enum {name} {{ 甲, 乙 }}"
    if kind == "list":
        return f'{override}list {name} from "missing.csv" {{ 编号: text }}'
    if kind == "map":
        return f"map {name} = {value}"
    return f'exception {name} "例外" when {value} = {draw(VALUES)}'


@settings(max_examples=120, deadline=None)
@given(st.lists(declarations(), min_size=1, max_size=4))
def test_no_generated_variant_ends_in_a_traceback(tmp_path_factory, decls):
    folder = tmp_path_factory.mktemp("variant")
    path = folder / "v.policy"
    path.write_text(f'policy 变体\n  subject 全职干部\n  effective 2019-03-01\nextends "{BASE}"\n\n'
                    + "\n\n".join(decls) + "\n", encoding="utf-8")
    report = api.check([str(path)])  # raises nothing, whatever the variant says
    assert report.ok or all(d.span.line >= 1 for d in report.errors), report.render()
    if report.ok:  # a variant that checks also evaluates its base's examples' records without a traceback
        policy = report.policies[str(path)]
        base = api.load_policy(BASE)
        for example in base.examples:
            Engine(policy).example_results(example)
