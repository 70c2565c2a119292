"""Aggregates that name their element (`sum(薪级表 as 行, 行.月标准 where 行.岗类 == 岗类)`), the error for a name
that could mean the element's field or the record's, and the explicit conversions percent() / decimal() — issue 11."""

from __future__ import annotations

import textwrap

import pytest

from policydsl import api

POLICY = """\
policy 薪级
  subject 工作者
  effective 2024-01-01

list 薪级表 from "薪级表.csv" key 编号 { 编号: text, 岗类: text, 等级: int, 月标准: money }

record 工作者 key 工号 { 工号: text, 岗类: text, 等级: int, 完成率: decimal }

outcome 月标准: money = sum(薪级表 as 行, 行.月标准 where 行.岗类 == 岗类 and 行.等级 == 等级)
outcome 同岗类级数: int = count(薪级表 as 行 where 行.岗类 == 岗类)
outcome 完成比例: percent = percent(完成率)
outcome 完成数: decimal = decimal(完成比例) * 100 + decimal(等级)

example "a 正职 of grade 2 gets that one row, not the whole table" {
  given 工作者 { 工号: "W1", 岗类: "正职", 等级: 2, 完成率: 0.85 }
  expect 月标准 = 5200 元, 同岗类级数 = 2, 完成比例 = 85%, 完成数 = 87
}
"""

TABLE = "编号,岗类,等级,月标准\nA1,正职,1,5000\nA2,正职,2,5200\nB1,副职,1,4000\nB2,副职,2,4200\n"


def _check(tmp_path, text: str):
    (tmp_path / "薪级表.csv").write_text(TABLE, encoding="utf-8")
    path = tmp_path / "p.policy"
    path.write_text(text, encoding="utf-8")
    return api.check([str(path)]), str(path)


@pytest.mark.parametrize("engine", ["row", "duckdb"])
def test_a_named_element_reaches_the_record(tmp_path, engine):
    report, path = _check(tmp_path, POLICY)
    assert report.ok, report.render()
    outcomes = api.run_examples(report.policies[path], on=engine)
    assert [(o.passed, o.error, o.mismatches) for o in outcomes] == [(True, None, ())]


def test_a_name_of_both_the_element_and_the_record_is_an_error(tmp_path):
    shadowed = POLICY.replace("sum(薪级表 as 行, 行.月标准 where 行.岗类 == 岗类 and 行.等级 == 等级)",
                              "sum(薪级表, 月标准 where 岗类 == 岗类 and 等级 == 等级)")
    report, _ = _check(tmp_path, shadowed)
    messages = [d.message for d in report.errors]
    assert "'岗类' is a field of each 薪级表 and also a field of the 工作者: say which one you mean" in messages
    assert any("sum(薪级表 as 行, 行.岗类 …)" in (d.hint or "") for d in report.errors)


@pytest.mark.parametrize("wrong, message", [
    ("outcome x: money = sum(薪级表 as 行, 行)", "'行' is each element of the aggregate, not a value"),
    ("outcome x: money = sum(薪级表 as 行, 行.工资)", "薪级表 has no field '工资'"),
    ("outcome x: int = count(薪级表 as 等级)", "the element's name '等级' is already a name here"),
    ("outcome x: percent = percent(1 元)", "percent() converts decimal or int, not money"),
])
def test_mistakes_with_named_elements_and_conversions(tmp_path, wrong, message):
    report, _ = _check(tmp_path, POLICY.split("example")[0] + textwrap.dedent(wrong) + "\n")
    assert message in [d.message for d in report.errors], report.render()
