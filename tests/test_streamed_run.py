"""The DuckDB engine's streamed run (`DuckRun._stream`): a clean CSV file is read, checked, evaluated and written in
one pass; anything it cannot write (a bad cell, a duplicate key, a blank row, a failed evaluation) stops it, and the
careful run gives exactly the row engine's results and report. Keys need not be in any order."""

import textwrap

import pytest

from policydsl import api
from policydsl.engines.sql import runner

POLICY = """
policy 星级 "stars" subject 书记 effective 2024-01-01
enum 考核等次 { 优秀, 称职, 基本称职, 不称职 }
record 书记 key 编号 { 编号: text, 年度考核: 考核等次, 上年星级: int, 月绩效: money, 在岗: bool }
param 每星奖励: money = 1000 元
outcome 星级: int = clamp(上年星级 + match 年度考核 { 优秀 -> 1, 不称职 -> -1, else -> 0 }, 0, 5)
outcome 星级奖励: money = max(0, 星级 - 上年星级) * 每星奖励
outcome 人均: money = 月绩效 / (上年星级 - 9)
outcome 说明: text = if 在岗 then "=在岗" else "离岗"
"""

HEADER = "编号,年度考核,上年星级,月绩效,在岗\n"
CLEAN = [f"S{i:03d},{['优秀', '称职', '不称职'][i % 3]},{i % 5},{1000 + i}.50,{'true' if i % 2 else 'FALSE'}"
         for i in range(1, 200)]

VARIANTS = {
    "clean": CLEAN,
    "a bad cell": CLEAN[:150] + ["S150,优秀,two,1000,true"] + CLEAN[151:],
    "a bad cell in the first row": ["S001,忧秀,1,1000,true"] + CLEAN[1:],
    "a duplicate key next to it": CLEAN[:50] + [CLEAN[49]] + CLEAN[50:],
    "a duplicate key far from it": CLEAN + [CLEAN[3]],
    "keys out of order": CLEAN[100:] + CLEAN[:100],
    "text keys not in byte order": [f"A{i}" + c[4:] for i, c in enumerate(CLEAN, start=1)],  # A9 before A10
    "a duplicate key with other cells": CLEAN + ["S120,称职,4,1000.00,FALSE"],
    "a duplicate key at the start and the end": ["S199,称职,4,1000.00,FALSE"] + CLEAN,
    "a duplicate key written with a space": CLEAN[:30] + [" S005,称职,1,1000.00,true"] + CLEAN[30:],
    "a key written with a space, not a duplicate": CLEAN[:30] + [" S500,称职,1,1000.00,true"] + CLEAN[30:],
    "a blank row": CLEAN[:20] + [",,,,"] + CLEAN[20:],
    "a failed evaluation": CLEAN + ["S999,称职,9,1000,true"],  # in key order: only the division stops it
    "a cell in another form": CLEAN[:10] + ["S010a,称职,03,1000,true"] + CLEAN[10:],  # Python reads 03 as 3
}
#: The variants written in one pass: every record canonical, no key twice (in whatever order).
STREAMED = {"clean", "keys out of order", "text keys not in byte order"}


@pytest.fixture
def policy(tmp_path):
    path = tmp_path / "p.policy"
    path.write_text(textwrap.dedent(POLICY), encoding="utf-8")
    return api.load_policy(path)


def runs(policy, tmp_path, lines, monkeypatch, header=HEADER):
    """Each engine's output and report on the records `lines`, and whether DuckDB took the careful path."""
    records = tmp_path / "r.csv"
    records.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    careful = []
    original = runner.DuckRun.load_and_evaluate
    monkeypatch.setattr(runner.DuckRun, "load_and_evaluate",
                        lambda self, *a, **k: careful.append(1) or original(self, *a, **k))
    found = {}
    for engine in ("row", "duckdb"):
        out = tmp_path / f"{engine}.csv"
        batch = api.run_batch(policy, records, out=out, engine=engine)
        found[engine] = (out.read_bytes(), batch.ok_count, [e.render() for e in batch.data_errors],
                         batch.failed_ids, [(f.record_id, f.message) for f in batch.evaluation_failures])
    return found, bool(careful)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_streamed_or_not_the_results_and_report_are_the_row_engines(policy, tmp_path, monkeypatch, variant):
    found, careful = runs(policy, tmp_path, VARIANTS[variant], monkeypatch)
    assert found["duckdb"] == found["row"]
    assert careful == (variant not in STREAMED)


def test_a_results_file_from_an_earlier_run_is_replaced_whole(policy, tmp_path, monkeypatch):
    (tmp_path / "duckdb.csv").write_text("old,contents\n" * 1000, encoding="utf-8")
    found, careful = runs(policy, tmp_path, VARIANTS["a bad cell"], monkeypatch)
    assert careful and found["duckdb"] == found["row"]


def test_a_policy_with_summaries_is_not_streamed(tmp_path, monkeypatch):
    path = tmp_path / "p.policy"
    path.write_text(textwrap.dedent(POLICY) + "summary 总奖励: money = sum(records, 星级奖励)\n", encoding="utf-8")
    policy = api.load_policy(path)
    found, careful = runs(policy, tmp_path, CLEAN, monkeypatch)
    assert careful and found["duckdb"] == found["row"]


INT_KEYED = """
policy 编号 "int keys" subject 人员 effective 2024-01-01
record 人员 key 编号 { 编号: int, 分数: int }
outcome 加倍: int = 分数 * 2
"""


@pytest.mark.parametrize("keys, streamed", [(range(1, 120), True),
                                             ([*range(1, 60), 59, *range(60, 120)], False),
                                             ([*range(60, 120), *range(1, 60)], True)])  # in any order
def test_an_int_key_is_streamed_unless_a_value_repeats(tmp_path, monkeypatch, keys, streamed):
    path = tmp_path / "p.policy"
    path.write_text(textwrap.dedent(INT_KEYED), encoding="utf-8")
    policy = api.load_policy(path)
    found, careful = runs(policy, tmp_path, [f"{k},{k % 7}" for k in keys], monkeypatch, header="编号,分数\n")
    assert found["duckdb"] == found["row"]
    assert careful == (not streamed)
