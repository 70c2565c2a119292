"""The streaming row engine (`run_batch(..., engine="row")`): it reads, converts, evaluates and writes one record at
a time, and must give exactly what the load-everything path gives (`api.run_file` + `write_results`): the same
bytes in every results file, the same bad-record report and counts, the same summaries.

Also: the fast converter agrees with `convert_value` on canonical and non-canonical texts; Parquet in and out; the
keys-seen store; what stays in memory; start-up (no networkx for --help, lark's tables cached)."""

from __future__ import annotations

import csv
import gc
import io
import json
import re
import subprocess
import sys
import tempfile
import textwrap
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from engine_runs import BAD_RUNS, RUNS, parquet_copy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policydsl import api, syntax
from policydsl.engines.base import run_batch
from policydsl.engines.records import (
    DataSetupError,
    RecordStream,
    ResultWriter,
    _KeysSeen,
    convert_value,
    fast_value_converter,
    load_records,
    write_results,
)
from policydsl.engines.row import Engine, _BatchSummaries
from policydsl.types import BOOL, DATE, DECIMAL, DURATION, INT, MONEY, PERCENT, TEXT, Duration, EnumType, RecordType, list_of

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = (".csv", ".json", ".jsonl")
_POLICIES: dict[str, object] = {}


def _policy(name: str):
    if name not in _POLICIES:
        _POLICIES[name] = api.load_policy(str(ROOT / "policies" / f"{name}.policy"))
    return _POLICIES[name]


def _rooted(related: dict) -> dict:
    return {k: ROOT / v for k, v in related.items()}


# ------------------------------------------------------------------------------------------------ shipped data

def _run_id(run) -> str:
    return f"{run[0]}:{Path(run[1]).stem}"


@pytest.mark.parametrize("name,records,related,as_of", RUNS + BAD_RUNS, ids=[_run_id(r) for r in RUNS + BAD_RUNS])
def test_streaming_run_matches_load_everything(tmp_path, name, records, related, as_of):
    policy = _policy(name)
    outcome = api.run_file(policy, ROOT / records, as_of, _rooted(related))
    for suffix in SUFFIXES:
        reference, streamed = tmp_path / f"reference{suffix}", tmp_path / f"streamed{suffix}"
        write_results(reference, outcome.rows(), api.output_types(policy))
        batch = run_batch(policy, ROOT / records, related=_rooted(related), as_of=as_of, out=streamed, engine="row")
        assert streamed.read_bytes() == reference.read_bytes(), suffix
        assert [e.render() for e in batch.data_errors] == [e.render() for e in outcome.data_errors]
        assert batch.failed_ids == outcome.loaded.failed_ids
        assert [(f.record_id, f.message) for f in batch.evaluation_failures] == [
            (r.record_id, r.error) for r in outcome.evaluation_failures]
        assert (batch.ok_count, batch.failed_count) == (outcome.ok_count, outcome.failed_count)
        assert batch.summaries == outcome.report.summaries
        assert list(batch.summaries) == list(outcome.report.summaries)  # file order too
    assert sorted(tmp_path.iterdir()) == sorted(tmp_path / f"{k}{s}" for k in ("reference", "streamed")
                                                for s in SUFFIXES)  # no partial files left behind


def test_every_bad_file_is_checked():
    shipped = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("data/*/bad_*.csv"))
    assert shipped == sorted(records for _, records, _, _ in BAD_RUNS)


def test_bad_records_are_reported_and_counted():
    batch = run_batch(_policy("jinyuan/star_rating"), ROOT / "data/jinyuan/bad_secretaries.csv", engine="row")
    outcome = api.run_file(_policy("jinyuan/star_rating"), ROOT / "data/jinyuan/bad_secretaries.csv")
    assert batch.failed_count == outcome.failed_count > 0 and batch.ok_count == outcome.ok_count > 0
    assert len(batch.failed_ids) == len(set(batch.failed_ids))  # one entry per failed record
    assert all(e.record_id in batch.failed_ids for e in batch.data_errors)


def test_rows_go_to_the_sink_without_an_output_file(tmp_path):
    policy = _policy("jiangbei/grids")
    related = _rooted({"网格": "data/jiangbei/grids.csv"})
    got: list[tuple[str, ...]] = []
    ticks: list[int] = []
    batch = run_batch(policy, ROOT / "data/jiangbei/communities.csv", related=related, engine="row",
                      on_row=got.append, progress=ticks.append)
    write_results(tmp_path / "r.csv", api.run_file(policy, ROOT / "data/jiangbei/communities.csv", None,
                                                   related).rows(), api.output_types(policy))
    expected = [tuple(row) for row in csv.reader(io.StringIO((tmp_path / "r.csv").read_text(encoding="utf-8")))]
    assert got == expected and got[0][0] == "编码"  # the header first
    assert sum(ticks) == batch.total == 137


def test_a_file_with_no_good_record_writes_what_write_results_writes(tmp_path):
    policy = _policy("jinyuan/star_rating")
    only_bad = tmp_path / "bad.csv"
    lines = (ROOT / "data/jinyuan/bad_secretaries.csv").read_text(encoding="utf-8").splitlines()
    only_bad.write_text(lines[0] + "\nX1,甲,行政村,优秀,abc,1,1%,true,本科,本科,0,false,1,1,1.00,false\n",
                        encoding="utf-8")
    for suffix in SUFFIXES:
        write_results(tmp_path / f"ref{suffix}", [], api.output_types(policy))
        batch = run_batch(policy, only_bad, out=tmp_path / f"out{suffix}", engine="row")
        assert batch.ok_count == 0 and batch.failed_ids == ["X1"]
        assert (tmp_path / f"out{suffix}").read_bytes() == (tmp_path / f"ref{suffix}").read_bytes()


# ------------------------------------------------------------------------------------------------ summaries

SUMMARY_POLICY = """\
policy 汇总测试 "streamed and kept summaries"
  subject 人
  effective 2024-01-01

record 人 key 编号 {
  编号: text
  分数: int
  工资: money
  比例: percent
  日期: date
  类别: enum 类别 { 甲, 乙 }
}

param 门槛: int = 60

fact 商: decimal = 100 / 分数
outcome 及格: bool = 分数 >= 门槛
outcome 奖金: money = 工资 * 比例 + 商 * 0 元

summary 总分: int = sum(records, 分数)
summary 平均分: decimal = 总分 / count(records)
summary 高于平均: int = count(records where 分数 > 平均分)
summary 最高分: int = max(records, 分数)
summary 最早: date = min(records, 日期 where 类别 == 乙)
summary 无人: int = max(records, 分数 where 分数 > 1000)
summary 任一甲: bool = any(records, 类别 == 甲)
summary 全部及格: bool = all(records, 及格)
summary 类别数: int = distinct(records, 类别)
summary 奖金合计: money = sum(records, 奖金 where 及格)
summary 除零: decimal = sum(records, 100 / (分数 - 分数))
summary 条件除零: int = count(records where 100 / (分数 - 分数) > 1)
summary 混合: int = count(records where 分数 > 平均分) + count(records)
"""
SUMMARY_ROWS = """\
编号,分数,工资,比例,日期,类别
P1,75,1000.00,12.5%,2024-03-01,甲
P2,0,2000.00,10%,2024-01-01,乙
P3,40,1500.50,33.3%,2023-12-31,乙
P4,90,999.99,7%,2024-02-29,甲
P5,abc,1,1%,2024-01-01,甲
P6,60,0.01,50%,2022-05-05,乙
"""


def test_summaries_stream_and_give_engine_run_results(tmp_path):
    policy_file, records = tmp_path / "s.policy", tmp_path / "s.csv"
    policy_file.write_text(SUMMARY_POLICY, encoding="utf-8")
    records.write_text(SUMMARY_ROWS, encoding="utf-8")
    policy = api.load_policy(str(policy_file))
    outcome = api.run_file(policy, records)
    batch = run_batch(policy, records, engine="row")
    assert batch.summaries == outcome.report.summaries
    assert list(batch.summaries) == list(outcome.report.summaries)
    # P2 divides by zero (an evaluation failure), P5 does not load: four records count
    assert batch.summaries["总分"] == 75 + 40 + 90 + 60 and batch.summaries["最早"] == date(2022, 5, 5)
    assert batch.summaries["高于平均"] == 2 and batch.summaries["混合"] == 6
    assert batch.summaries["无人"].startswith("error: max of no records")
    assert batch.summaries["除零"].startswith("error:") and batch.summaries["条件除零"].startswith("error:")
    assert batch.summaries["任一甲"] is True and batch.summaries["全部及格"] is False
    assert batch.summaries["类别数"] == 2 and batch.summaries["奖金合计"] == Decimal("195.01")  # 125 + 70.00 + 0.01 (a half fen, rounded up)


def test_summaries_keep_only_what_they_cannot_total_as_they_go(tmp_path):
    policy_file = tmp_path / "s.policy"
    policy_file.write_text(SUMMARY_POLICY, encoding="utf-8")
    plan = _BatchSummaries(Engine(api.load_policy(str(policy_file))))
    # the two counts comparing with 平均分 (another summary) need the records; they keep one column, 分数
    assert plan._kept.names == ["分数"] and plan._keep
    assert len(plan._running) == 12
    for name, *_ in RUNS:  # every shipped summary totals as the records go by: nothing kept per record
        policy = _policy(name)
        if policy.summaries:
            shipped = _BatchSummaries(Engine(policy))
            assert not shipped._keep and shipped._kept.names == [], name


# ------------------------------------------------------------------------------------------------ streaming

GRADE = EnumType("考核等次", ("优秀", "称职", "基本称职", "不称职"), ordered=True)
ALL = RecordType("全", (("编号", TEXT), ("整", INT), ("小", DECIMAL), ("钱", MONEY), ("比", PERCENT), ("真", BOOL),
                        ("日", DATE), ("期", DURATION), ("级", GRADE), ("文", TEXT)), key="编号")
ABSENCE = RecordType("缺勤", (("书记编号", TEXT), ("天数", INT), ("日期", DATE)))
SECRETARY = RecordType("书记", (("编号", TEXT), ("姓名", TEXT), ("缺勤记录", list_of("缺勤", by="书记编号"))), key="编号")
GRID = RecordType("网格", (("名称", TEXT), ("人口", INT)))
COMMUNITY = RecordType("社区", (("编号", TEXT), ("网格", list_of("网格", by="社区"))), key="编号")
TYPES = {t.name: t for t in (ALL, ABSENCE, SECRETARY, GRID, COMMUNITY)}


def _streamed(path, subject, related=None):
    stream = RecordStream(path, subject, TYPES, related)
    good = [(rid, dict(zip(subject.field_names, values))) for rid, values in stream if values is not None]
    return good, stream.errors, stream.failed_ids


def _errors(errors) -> list[tuple]:
    return [(e.location, e.record_id, e.field, repr(e.value), e.message) for e in errors]


def assert_streams_like_load_records(path, subject, related=None):
    """The stream gives load_records' records (same values, same Decimal exponents), errors and failed ids."""
    try:
        loaded = load_records(path, subject, TYPES, related)
    except Exception as exc:  # noqa: BLE001 — a whole-file error (or a crash): the stream must fail the same way
        with pytest.raises(type(exc)) as info:
            _streamed(path, subject, related)
        assert str(info.value) == str(exc)
        return None
    good, errors, failed = _streamed(path, subject, related)
    assert [(r.id, repr(r.values)) for r in loaded.records] == [(i, repr(v)) for i, v in good]
    assert _errors(errors) == _errors(loaded.errors)
    assert failed == loaded.failed_ids
    return loaded


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_hand_made_files_stream_like_load_records(tmp_path):
    csv_text = "编号,整,小,钱,比,真,日,期,级,文\n" \
               "A1,12,35600.00,35600.00,12.5%,true,2024-01-05,3 年,优秀,x\n" \
               "A2, 12 ,1.5,\"1,234.50\",0.3,是,2024年1月5日,6 个月,称职, y \n" \
               "A3,１２,1e3,3.5万元,３０％,否,2024/1/5,2 季度,忧秀,z\n" \
               "\n,,,,,,,,,\n" \
               "A1,1,1,1,1%,false,2024-02-30,1 周,优秀,dup\n" \
               ",1,1,1,1%,false,2024-02-28,1 天,优秀,\n" \
               "A5,1_000,NaN,12.345,1.123456789012%,2,20240105,1.5 年,, \n" \
               "A6,3\n" \
               "\"A\n7\",4,5,6,7%,y,2024-1-5,10 天,基本称职,\"多\n行\"\n"
    assert assert_streams_like_load_records(_write(tmp_path / "a.csv", csv_text), ALL).total == 8
    absences = _write(tmp_path / "ab.csv", "书记编号,天数,日期\nB1,2,2024-01-05\nB3,x,2024-02-01\nB1,1,2024/3/1\n"
                                           "B9,1,2024-01-01\n,1,2024-01-01\nB2,１,2024-05-05\n")
    parents = _write(tmp_path / "s.csv", "编号,姓名\nB1,甲\nB2,乙\nB3,丙\nB2,丁\n ,戊\n")
    assert assert_streams_like_load_records(parents, SECRETARY, {"缺勤记录": absences}).total == 5
    missing_column = _write(tmp_path / "m.csv", "编号,姓名,整\nB1,甲,1\n")
    assert assert_streams_like_load_records(missing_column, ALL).failed_ids == ["B1"]
    data = {"records": [
        {"编号": "C1", "网格": [{"名称": "一", "人口": 10}, {"名称": "二", "人口": "20"}]},
        {"编号": "C2", "网格": [{"名称": "一", "人口": 1}, {"名称": "三", "人口": "many"}]},
        {"编号": "C3", "网格": []}, {"编号": "C4"}, "not an object", {"编号": 7, "网格": [{"名称": " 四 ", "人口": 4.0}]},
    ]}
    nested = tmp_path / "c.json"
    nested.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert assert_streams_like_load_records(nested, COMMUNITY).failed_ids == ["C2", "C4", "#5"]
    jsonl = "\n".join(json.dumps(item, ensure_ascii=False) for item in data["records"][:3])
    jsonl += "\n\n\r\n" + '{"编号": "C9", "网格": []}\r\n\u2028\n{"编号": "C8", "网格": []}'
    assert assert_streams_like_load_records(_write(tmp_path / "c.jsonl", jsonl), COMMUNITY).total == 5
    # str.splitlines() also breaks at U+2028, even inside a JSON string: the same malformed lines either way, each
    # a bad record of its own while the other lines run
    broken = jsonl.replace('"一"', '"一\u2028二"')
    halves = assert_streams_like_load_records(_write(tmp_path / "d.jsonl", broken), COMMUNITY)
    assert halves.failed_ids == ["#1", "#2", "#3", "#4"] and [r.id for r in halves.records] == ["C3", "C9", "C8"]
    for bad in ("", "编号,编号\n1,2\n", "S1,甲,30\nS2,乙,31\n"):
        assert_streams_like_load_records(_write(tmp_path / "bad.csv", bad), ALL)  # same DataSetupError
    assert_streams_like_load_records(_write(tmp_path / "bad.jsonl", '{}\n{"a"\n'), ALL)
    assert_streams_like_load_records(_write(tmp_path / "bad.json", '[\n    {"a": }]'), ALL)
    (tmp_path / "g.csv").write_bytes("编号\nA1\nA2\n张三\n".encode("gbk"))
    assert_streams_like_load_records(tmp_path / "g.csv", ALL)


def test_xlsx_streams_like_load_records(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "人员"
    book.active.append(["编号", "整", "小", "钱", "比", "真", "日", "期", "级", "文"])
    book.active.append([1001, 35.0, 1.5, 1234.5, 0.3, True, datetime(2024, 1, 5), "3 年", "优秀", "x"])
    book.active.append([None] * 10)
    book.active.append(["S2", "12", "1", "3.5万元", "12%", "是", "2024-01-05", "1 年", "称职", 123.0])
    book.active.append(["S3", "abc", 1, 1, 1, 1, datetime(2024, 1, 5, 12), "1 年", "称职", "y"])
    book.save(tmp_path / "w.xlsx")
    assert assert_streams_like_load_records(tmp_path / "w.xlsx", ALL).failed_ids == ["S3"]


def test_the_subject_file_is_read_as_it_goes(tmp_path):
    """The first record comes before the rest of the file is read: a bad byte near the end surfaces later,
    worded as the whole-file reader words it."""
    rows = "".join(f"A{i},{i},1,1,1%,true,2024-01-05,1 年,优秀,x\n" for i in range(20000))
    path = tmp_path / "big.csv"
    path.write_bytes(("编号,整,小,钱,比,真,日,期,级,文\n" + rows).encode() + "A,张三\n".encode("gbk"))
    stream = iter(RecordStream(path, ALL, TYPES))
    assert next(stream)[0] == "A0"
    with pytest.raises(DataSetupError) as info:
        list(stream)
    with pytest.raises(DataSetupError) as whole:
        load_records(path, ALL, TYPES)
    assert str(info.value) == str(whole.value) == f"{path}:20002: file is not UTF-8 text (from Excel, save as 'CSV UTF-8')"


def test_a_failed_run_leaves_the_results_file_alone(tmp_path):
    policy = _policy("jinyuan/star_rating")
    good = (ROOT / "data/jinyuan/secretaries.csv").read_bytes()
    broken = tmp_path / "broken.csv"
    broken.write_bytes(good + "JY999,张三".encode("gbk") + b"\n")
    out = tmp_path / "results.csv"
    out.write_text("keep me\n", encoding="utf-8")
    with pytest.raises(DataSetupError, match="not UTF-8"):
        run_batch(policy, broken, out=out, engine="row")
    assert out.read_text(encoding="utf-8") == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.csv", "results.csv"]
    assert gc.isenabled() and gc.get_freeze_count() == 0  # the collector is back as it was


def test_garbage_collector_is_restored_after_a_run():
    assert gc.isenabled()
    batch = run_batch(_policy("longshan/office_hours"), ROOT / "data/longshan/office_hours.csv", engine="row")
    assert batch.ok_count == 5558 and gc.isenabled() and gc.get_freeze_count() == 0


# ------------------------------------------------------------------------------------------------ fast converter

FULL_WIDTH = str.maketrans("0123456789.%-,", "０１２３４５６７８９．％－，")


def _texts(canonical: st.SearchStrategy, special: list[str]) -> st.SearchStrategy:
    """Canonical texts, the same with padding or in full-width digits, known tricky forms, and garbage."""
    return st.one_of(
        canonical,
        canonical.map(lambda s: f" {s} "),
        canonical.map(lambda s: s.translate(FULL_WIDTH)),
        canonical.map(lambda s: s + "x"),
        st.sampled_from(special + ["", "  ", "\t", "abc", "-", ".", "%", "١٢", "1_000", "12²", "NaN", "Infinity"]),
        st.text(max_size=8),
    )


fen = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2, allow_nan=False,
                  allow_infinity=False)
places = st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e6"), places=4, allow_nan=False,
                     allow_infinity=False)
CANONICAL = {  # the texts files usually hold: the fast path converts these itself
    INT: st.integers(-10**9, 10**9).map(str),
    MONEY: fen.map(lambda d: f"{d:.2f}"),
    DECIMAL: places.map(str),
    PERCENT: places.map(lambda d: f"{d}%"),
    BOOL: st.sampled_from(["true", "false", "1", "0", "是", "否", "yes", "no", "y", "n"]),
    DATE: st.dates(min_value=date(1000, 1, 1)).map(str),
    TEXT: st.text(min_size=1, max_size=6),
    DURATION: st.sampled_from(["3 年", "6 个月", "2 季度", "1 周", "10 天", "1 年 6 个月"]),
    GRADE: st.sampled_from(GRADE.labels),
}
SPECIAL = {
    INT: ["+5", "007", "12.0", "1e3", "1" * 40, "-0", " -3 "],
    MONEY: ["1,234.50", "3.5万元", "1000元", "¥12", "12.345", "5.", ".5", "-.5", "-0.00", "1e3", "12,34",
            "1,234,567.8", "+1.00", "1" * 30, "35600.000"],
    DECIMAL: ["1e-3", "0.12345678901", "-0", "5.", ".25", "1" * 30 + ".5", "+1"],
    PERCENT: ["12.5%", "30%", "0.3", "12.5 %", "-3.5%", "1.123456789%", "abc%", "%5", "5%%", "1e2%"],
    BOOL: ["True", "FALSE", "Y", "2", "对"],
    DATE: ["2024/1/5", "2024年1月5日", "2024-02-30", "2024-1-5", "20240105", "2024-W01-1", "2024.01.05",
           "2024-01-05T00:00", "0000-01-01"],
    TEXT: [" a ", "全角", "\u3000"],
    DURATION: ["1.5 年", "3"],
    GRADE: [" 优秀", "忧秀", "1", "优秀 "],
}
TEXTS = {t: _texts(CANONICAL[t], SPECIAL[t]) for t in CANONICAL}
RAW_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                       st.decimals(allow_nan=True, places=3), st.dates(), st.datetimes(),
                       st.lists(st.integers(), max_size=2))


def _outcome(fn, raw) -> tuple:
    try:
        value = fn(raw)
    except Exception as exc:  # noqa: BLE001 — whatever the careful path raises, the fast one must raise too
        return ("error", type(exc).__name__, str(exc))
    return ("value", type(value).__name__, repr(value))


@pytest.mark.parametrize("type_", list(TEXTS), ids=[str(t) for t in TEXTS])
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fast_converter_agrees_with_convert_value(type_, data):
    raw = data.draw(st.one_of(TEXTS[type_], RAW_VALUES) if data.draw(st.booleans()) else TEXTS[type_])
    fast = fast_value_converter(type_, TYPES)
    assert _outcome(fast, raw) == _outcome(lambda x: convert_value(x, type_, TYPES), raw)


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header] + rows)
    return out.getvalue()


KEYS = st.sampled_from(["K1", "K2", "K3", " K1 ", "", "K4", "#1", "K\x00"])


ROWS = st.one_of(st.tuples(KEYS, *(CANONICAL[t] for _, t in ALL.fields[1:])),   # the fast path takes these
                 st.tuples(KEYS, *(TEXTS[t] for _, t in ALL.fields[1:])))       # and mostly refuses these


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROWS, min_size=1, max_size=8))
def test_whole_csv_files_stream_like_load_records(rows):
    """Every row converter (the per-row C-level tricks included) against the careful path, on whole files."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "w.csv"
        path.write_text(_csv_text(list(ALL.field_names), [list(r) for r in rows]), encoding="utf-8", newline="")
        assert_streams_like_load_records(path, ALL)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(KEYS, TEXTS[TEXT]), min_size=1, max_size=5),
       st.lists(st.one_of(st.tuples(KEYS, CANONICAL[INT], CANONICAL[DATE]), st.tuples(KEYS, TEXTS[INT], TEXTS[DATE])),
                max_size=8))
def test_related_files_stream_like_load_records(parents, absences):
    with tempfile.TemporaryDirectory() as folder:
        main, related = Path(folder) / "s.csv", Path(folder) / "a.csv"
        main.write_text(_csv_text(["编号", "姓名"], [list(r) for r in parents]), encoding="utf-8", newline="")
        related.write_text(_csv_text(["书记编号", "天数", "日期"], [list(r) for r in absences]), encoding="utf-8",
                           newline="")
        assert_streams_like_load_records(main, SECRETARY, {"缺勤记录": related})


# ------------------------------------------------------------------------------------------------ keys seen

@given(st.lists(st.one_of(st.sampled_from(["a", "b", "a\x00", "\x01", "键", "\ud800"]), st.text(max_size=4)),
                max_size=60))
def test_keys_seen_remembers_the_first_position(keys):
    seen, reference = _KeysSeen(), {}
    for position, key in enumerate(keys):
        assert seen.first(key, position) == reference.get(key)
        reference.setdefault(key, position)


def test_keys_seen_grows_and_stays_exact():
    seen = _KeysSeen()
    for i in range(100_000):
        assert seen.first(f"JY{i:07d}", i + 2) is None
    assert seen._mask > 1023  # it grew
    assert [seen.first(f"JY{i:07d}", 0) for i in (0, 4242, 99_999)] == [2, 4244, 100_001]
    assert seen.first("JY0100000", 7) is None and seen.first("JY0100000", 8) == 7


# ------------------------------------------------------------------------------------------------ Parquet

duckdb = pytest.importorskip("duckdb")


def test_parquet_results_are_typed_and_hold_the_same_values(tmp_path):
    policy = _policy("jinyuan/star_rating")
    records = ROOT / "data/jinyuan/secretaries.csv"
    run_batch(policy, records, as_of=date(2024, 12, 31), out=tmp_path / "r.csv", engine="row")
    batch = run_batch(policy, records, as_of=date(2024, 12, 31), out=tmp_path / "r.parquet", engine="row")
    assert batch.ok_count == 76
    result = duckdb.connect().execute(f"SELECT * FROM read_parquet('{tmp_path / 'r.parquet'}')")
    kinds = {d[0]: str(d[1]) for d in result.description}
    assert kinds["编号"] == "VARCHAR" and kinds["星级"] == "BIGINT" and kinds["基础工资"] == "DECIMAL(38,2)"
    assert kinds["离任保留待遇"] == "BOOLEAN" and kinds["星级运用"] == "VARCHAR"
    rows = result.fetchall()
    expected = list(csv.reader(io.StringIO((tmp_path / "r.csv").read_text(encoding="utf-8"))))
    assert [d[0] for d in result.description] == expected[0]
    text = [[("true" if c else "false") if isinstance(c, bool) else f"{c:.2f}" if isinstance(c, Decimal) else str(c)
             for c in row] for row in rows]
    assert text == expected[1:]


def test_parquet_types_for_every_value_type(tmp_path):
    types = {"编号": TEXT, "钱": MONEY, "比": PERCENT, "小": DECIMAL, "整": INT, "真": BOOL, "日": DATE, "期": DURATION,
             "级": GRADE}
    rows = [{"编号": "S1", "钱": Decimal("1234.50"), "比": Decimal("0.125"), "小": Decimal("1.5"), "整": 3, "真": True,
             "日": date(2024, 1, 5), "期": Duration(6, 0), "级": "优秀"},
            {"编号": "S\"2", "钱": 100, "比": Decimal("0.3"), "小": Decimal("-0.000001"), "整": -1, "真": False,
             "日": date(1999, 12, 31), "期": Duration(0, 10), "级": None}]
    write_results(tmp_path / "r.parquet", rows, types)
    result = duckdb.connect().execute(f"SELECT * FROM read_parquet('{tmp_path / 'r.parquet'}')")
    assert [str(d[1]) for d in result.description] == ["VARCHAR", "DECIMAL(38,2)", "DECIMAL(38,10)", "DECIMAL(38,10)",
                                                       "BIGINT", "BOOLEAN", "DATE", "VARCHAR", "VARCHAR"]
    assert result.fetchall() == [
        ("S1", Decimal("1234.50"), Decimal("0.125"), Decimal("1.5"), 3, True, date(2024, 1, 5), "6 个月", "优秀"),
        ('S"2', Decimal("100.00"), Decimal("0.3"), Decimal("-0.000001"), -1, False, date(1999, 12, 31), "10 天", None)]
    # and read back as records, the values are the same
    schema = RecordType("结果", tuple((n, t) for n, t in types.items() if n != "级"), key="编号")
    loaded = load_records(tmp_path / "r.parquet", schema, {})
    assert [r.values["比"] for r in loaded.records] == [Decimal("0.125"), Decimal("0.3")]
    assert [r.values["期"] for r in loaded.records] == [Duration(6, 0), Duration(0, 10)]


@pytest.mark.parametrize("typed", [False, True], ids=["text-columns", "typed-columns"])
def test_parquet_records_give_the_same_results_as_csv(tmp_path, typed):
    policy = _policy("jiangbei/quota")
    related = _rooted({"工作者": "data/jiangbei/workers.csv"})
    source = parquet_copy(ROOT / "data/jiangbei/communities.csv", tmp_path / "c.parquet", typed)
    from_csv = run_batch(policy, ROOT / "data/jiangbei/communities.csv", related=related, out=tmp_path / "a.csv",
                         engine="row")
    from_parquet = run_batch(policy, source, related=related, out=tmp_path / "b.csv", engine="row")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert from_parquet.summaries == from_csv.summaries and from_parquet.ok_count == from_csv.ok_count == 137


def test_bad_parquet_records_are_reported_as_in_csv(tmp_path):
    policy = _policy("jinyuan/star_rating")
    bad = ROOT / "data/jinyuan/bad_secretaries.csv"
    source = parquet_copy(bad, tmp_path / "bad.parquet", typed=False)
    in_csv = run_batch(policy, bad, engine="row")
    in_parquet = run_batch(policy, source, engine="row")
    assert in_parquet.failed_ids == in_csv.failed_ids and in_parquet.ok_count == in_csv.ok_count
    def where_left_out(errors, file):  # a duplicate's message cites where the key was first seen
        return [(e.record_id, e.field, e.value, re.sub(re.escape(str(file)) + r":\S+", "<at>", e.message))
                for e in errors]
    assert where_left_out(in_parquet.data_errors, source) == where_left_out(in_csv.data_errors, bad)
    assert in_parquet.data_errors[0].location.startswith(f"{source}:[")
    assert assert_streams_like_load_records_for(source, policy)


def assert_streams_like_load_records_for(path, policy) -> bool:
    loaded = load_records(path, policy.subject, policy.records)
    stream = RecordStream(path, policy.subject, policy.records)
    good = [(rid, values) for rid, values in stream if values is not None]
    assert [(r.id, [r.values[n] for n in policy.subject.field_names]) for r in loaded.records] == good
    assert _errors(stream.errors) == _errors(loaded.errors)
    return True


def test_unreadable_parquet_is_a_setup_error(tmp_path):
    (tmp_path / "x.parquet").write_text("not parquet", encoding="utf-8")
    with pytest.raises(DataSetupError, match="not a readable Parquet file"):
        RecordStream(tmp_path / "x.parquet", ALL, TYPES)


def test_result_writer_refuses_unknown_suffixes(tmp_path):
    with pytest.raises(DataSetupError, match="cannot write results as '.xlsx'"):
        ResultWriter(tmp_path / "out.xlsx", ["a"], {})
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------ start-up

def test_help_does_not_import_networkx():
    code = textwrap.dedent("""
        import sys
        from policydsl.cli import main
        try:
            main(["--help"])
        except SystemExit as done:
            print("exit", done.code)
        print(sorted(m for m in ("networkx", "policydsl.api", "policydsl.graph") if m in sys.modules))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-2:] == ["exit 0", "[]"]
    assert "check, graph and run" in done.stdout


def test_parser_tables_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text = (ROOT / "policies/jinyuan/star_rating.policy").read_text(encoding="utf-8")
    cache = syntax.parser_cache_file()
    assert cache.parent == tmp_path / "policydsl" and not cache.exists()
    built = syntax.parser.__wrapped__()  # builds the tables and writes the cache
    assert cache.exists() and [p.name for p in cache.parent.iterdir()] == [cache.name]
    loaded = syntax.parser.__wrapped__()  # loads them
    assert loaded.parse(text) == built.parse(text) == syntax.parser().parse(text)
    cache.write_bytes(b"half a file")  # a broken cache is rebuilt, and repaired
    assert syntax.parser.__wrapped__().parse(text) == built.parse(text)
    assert cache.read_bytes() != b"half a file"


def test_parser_works_without_a_writable_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the cache directory cannot be made under a file
    text = (ROOT / "policies/jinyuan/star_rating.policy").read_text(encoding="utf-8")
    assert syntax.parser.__wrapped__().parse(text) == syntax.parser().parse(text)
    assert list(tmp_path.iterdir()) == [blocker]


def test_results_go_through_a_symlink_and_keep_the_file_mode(tmp_path):
    policy = _policy("jinyuan/tancheng_funds")
    real = tmp_path / "real.csv"
    real.write_text("old\n", encoding="utf-8")
    real.chmod(0o640)
    (tmp_path / "link.csv").symlink_to(real)
    run_batch(policy, ROOT / "data/tancheng/communities.csv", out=tmp_path / "link.csv", engine="row")
    assert (tmp_path / "link.csv").is_symlink() and real.read_text(encoding="utf-8").startswith("编码,年度定额经费\n")
    assert real.stat().st_mode & 0o777 == 0o640


def test_a_callers_frozen_objects_stay_frozen():
    # Every object alive now is held, so none of the frozen ones can be freed during the run (a freed frozen object
    # lowers the count too): the count can then change only by the run freezing or unfreezing.
    alive = gc.get_objects()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        run_batch(_policy("jinyuan/tancheng_funds"), ROOT / "data/tancheng/communities.csv", engine="row")
        assert gc.get_freeze_count() == frozen and gc.isenabled()
    finally:
        gc.unfreeze()
        del alive
