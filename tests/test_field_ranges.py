"""Fields that declare their range (`当前等级: int between 1 and 18`): a value outside is a bad record with its id and
field, on every engine and every reading path — Jiangbei's grades (issue 10), and issue 15's "any value outside a
field's declared range is reported, not guessed"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policydsl import api
from policydsl.engines.base import run_batch

REPO = Path(__file__).resolve().parents[1]
HEADER = "编号,姓名,岗位,社区编码,学历,上年学历,工作年限,年度考核,首次定级,当前等级,职业资格,本年取得职业资格证书,本年获市级以上荣誉"


def _row(key: str, grade: str) -> str:
    return f"{key},甲,书记,JB001,本科,本科,5,称职,false,{grade},无资格证书,false,false"


@pytest.mark.parametrize("engine", ["row", "duckdb"])
@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_a_jiangbei_grade_outside_1_to_18_is_a_bad_record(tmp_path, engine, suffix):
    policy = api.load_policy(str(REPO / "policies/jiangbei/pay.policy"))
    lines = [HEADER, _row("A", "19"), _row("B", "0"), _row("C", "18"), _row("D", "1")]
    records = tmp_path / f"workers{suffix}"
    if suffix == ".csv":
        records.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        names = HEADER.split(",")
        records.write_text(json.dumps([dict(zip(names, line.split(","))) for line in lines[1:]], ensure_ascii=False),
                           encoding="utf-8")
    batch = run_batch(policy, records, out=tmp_path / "out.csv", as_of=None, engine=engine)
    assert batch.ok_count == 2
    assert [(e.record_id, e.field, e.message) for e in batch.data_errors] == [
        ("A", "当前等级", "outside 1–18, the range the policy declares"),
        ("B", "当前等级", "outside 1–18, the range the policy declares")]


@pytest.mark.parametrize("field, message", [
    ("等级: int between 18 and 1", "the range of '等级' goes from 18 down to 1"),
    ("等级: text between 1 and 2", "'等级' is text: only numbers, money, percentages and dates have a range"),
    ("等级: int between 1 and 上限", "a field's range is written with numbers (or dates), not rules"),
])
def test_a_range_is_two_constants_lowest_first(tmp_path, field, message):
    path = tmp_path / "p.policy"
    path.write_text(f"record R key 编号 {{\n  编号: text\n  {field}\n}}\nparam 上限: int = 5\n", encoding="utf-8")
    report = api.check([str(path)])
    assert message in [d.message for d in report.errors], report.render()
