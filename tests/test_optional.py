"""Optional fields (issue 11): an empty cell is "absent", not a bad record; reading an optional value without saying
what happens when it is absent is a check error; present()/absent() guard it in if/and/or; explanations say 无记录."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from policydsl import api, explain
from policydsl.engines.base import run_batch
from policydsl.explain.formatting import fullwidth

POLICY = """\
policy 可选
  subject 人
  effective 2024-01-01

record 人 key 编号 { 编号: text, 党员: bool, 转正日期: optional date, 备注: optional text }

fact 党龄: int = if present(转正日期) then years_between(转正日期, as_of) else 0
outcome 满一年: bool = 党员 and present(转正日期) and years_between(转正日期, as_of) >= 1
outcome 无日期: bool = absent(转正日期) or years_between(转正日期, as_of) < 1
outcome 年数: int = 党龄
outcome 有备注: bool = not absent(备注)

example "no date at all" {
  given 人 { 编号: "A", 党员: false }
  expect 党龄 = 0, 满一年 = false, 无日期 = true, 有备注 = false
}
"""


def _policy(tmp_path: Path, text: str = POLICY):
    path = tmp_path / "p.policy"
    path.write_text(text, encoding="utf-8")
    report = api.check([str(path)])
    return report, str(path)


@pytest.mark.parametrize("engine", ["row", "duckdb"])
@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_empty_cells_are_absent_on_every_engine(tmp_path, engine, suffix):
    report, path = _policy(tmp_path)
    assert report.ok, report.render()
    records = tmp_path / f"people{suffix}"
    if suffix == ".csv":
        records.write_text("编号,党员,转正日期,备注\nA,false,,\nB,true,2020-01-01,有\nC,true,2023-06-01,\n",
                           encoding="utf-8")
    else:
        records.write_text(json.dumps([{"编号": "A", "党员": False, "转正日期": None},
                                       {"编号": "B", "党员": True, "转正日期": "2020-01-01", "备注": "有"},
                                       {"编号": "C", "党员": True, "转正日期": "2023-06-01", "备注": ""}],
                                      ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out.csv"
    batch = run_batch(report.policies[path], records, out=out, as_of=None, engine=engine)
    assert (batch.ok_count, batch.data_errors) == (3, [])
    assert out.read_text(encoding="utf-8").splitlines() == [
        "编号,满一年,无日期,年数,有备注", "A,false,true,0,false", "B,true,false,4,true", "C,false,true,0,false"]


@pytest.mark.parametrize("engine", ["row", "duckdb"])
def test_examples_may_leave_an_optional_field_out(tmp_path, engine):
    report, path = _policy(tmp_path)
    assert [(o.passed, o.error) for o in api.run_examples(report.policies[path], on=engine)] == [(True, None)]


@pytest.mark.parametrize("rule, message", [
    ("outcome x: int = years_between(转正日期, as_of)", "'转正日期' is optional (a record may not have it): say what "
                                                     "happens when it is absent"),
    ("outcome x: bool = present(转正日期) or years_between(转正日期, as_of) > 1", "'转正日期' is optional"),
    ("outcome x: bool = present(党员)", "'党员' is not an optional field: it is always there"),
])
def test_an_unguarded_optional_value_is_a_check_error(tmp_path, rule, message):
    report, _ = _policy(tmp_path, POLICY.split("example")[0] + rule + "\n")
    assert any(d.message.startswith(message) for d in report.errors), report.render()


def test_a_key_cannot_be_optional(tmp_path):
    report, _ = _policy(tmp_path, textwrap.dedent("""\
        record 人 key 编号 { 编号: optional text }
    """))
    assert "'编号' is the key: it cannot be optional" in [d.message for d in report.errors]


def test_the_explanation_says_not_recorded(tmp_path):
    report, path = _policy(tmp_path)
    values = {"编号": "A", "党员": True, "转正日期": None, "备注": None}
    zh = explain.render(explain.explain_record(report.policies[path], values, record_id="A", lang="zh"), "text")
    en = explain.render(explain.explain_record(report.policies[path], values, record_id="A", lang="en"), "text")
    assert fullwidth("转正日期 有记录?否") in zh and "not recorded" in explain.render(
        explain.explain_record(report.policies[path], values, record_id="A", lang="en"), "html")
    assert "转正日期 is recorded? no" in en
