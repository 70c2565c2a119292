"""Tests of reading data files, converting values, and writing results (policydsl.engines.records)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policydsl.engines.records import DataError, DataSetupError, convert_record, convert_value, load_records, read_rows, write_results
from policydsl.types import BOOL, DATE, DECIMAL, DURATION, INT, MONEY, PERCENT, TEXT, Duration, EnumType, RecordType, format_value, list_of

GRADE = EnumType("考核等次", ("优秀", "称职", "基本称职", "不称职"), ordered=True)
WORKER = RecordType("工作人员", (("编号", TEXT), ("姓名", TEXT), ("年龄", INT), ("工资", MONEY), ("等次", GRADE)),
                    key="编号")
ABSENCE = RecordType("缺勤", (("书记编号", TEXT), ("天数", INT), ("日期", DATE)))
SECRETARY = RecordType("书记", (("编号", TEXT), ("姓名", TEXT), ("缺勤记录", list_of("缺勤", by="书记编号"))), key="编号")
GRID = RecordType("网格", (("名称", TEXT), ("人口", INT)))
COMMUNITY = RecordType("社区", (("编号", TEXT), ("网格", list_of("网格", by="社区"))), key="编号")
TYPES = {t.name: t for t in (WORKER, ABSENCE, SECRETARY, GRID, COMMUNITY)}


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def conv(raw, type_):
    return convert_value(raw, type_, TYPES)


def conv_error(raw, type_) -> str:
    with pytest.raises(ValueError) as info:
        conv(raw, type_)
    return str(info.value)


# --------------------------------------------------------------------------- conversion rules

@pytest.mark.parametrize("raw, expected", [(12, 12), ("12", 12), (" 12 ", 12), (12.0, 12), ("-3", -3),
                                           ("１２", 12), (Decimal("7.0"), 7)])
def test_int_good(raw, expected):
    assert conv(raw, INT) == expected and type(conv(raw, INT)) is int


@pytest.mark.parametrize("raw", ["12.5", "abc", True, False, 12.5, "1_000", "1e3", float("nan")])
def test_int_bad(raw):
    assert "expected an integer" in conv_error(raw, INT)


@pytest.mark.parametrize("raw, expected", [(3, Decimal(3)), ("1.25", Decimal("1.25")), (0.1, Decimal("0.1")),
                                           (" -2.5 ", Decimal("-2.5")), (Decimal("3.14"), Decimal("3.14"))])
def test_decimal_good(raw, expected):
    assert conv(raw, DECIMAL) == expected


@pytest.mark.parametrize("raw", ["NaN", "inf", float("nan"), float("inf"), "1.2.3", "", True, "Infinity"])
def test_decimal_bad(raw):
    with pytest.raises(ValueError):
        conv(raw, DECIMAL)


@pytest.mark.parametrize("raw, expected", [
    ("1234.50", "1234.50"), ("1,234.50", "1234.50"), ("1000元", "1000"), ("1000 元", "1000"),
    ("3.5万元", "35000"), ("3.5万", "35000"), ("-20.5", "-20.5"), (1500, "1500"), (99.9, "99.9"),
    ("¥12", "12"), ("１，２３４元", "1234"), (Decimal("0.10"), "0.1"), ("1234.500", "1234.5"),
])
def test_money_good(raw, expected):
    value = conv(raw, MONEY)
    assert value == Decimal(expected) and isinstance(value, Decimal)


def test_money_keeps_fen_scale():
    assert str(conv("1000元", MONEY)) == "1000.00"


@pytest.mark.parametrize("raw", ["12.345", "0.0000001万元", 0.1 + 0.2])
def test_money_too_precise(raw):
    assert "more precise than a fen" in conv_error(raw, MONEY)


@pytest.mark.parametrize("raw", ["abc", "12,34", "1000美元", "元", True, "1,2345.00"])
def test_money_bad(raw):
    assert "expected an amount of money" in conv_error(raw, MONEY)


@pytest.mark.parametrize("raw, expected", [("30%", "0.3"), ("30％", "0.3"), (" 12.5 % ", "0.125"), ("0.3", "0.3"),
                                           (0.3, "0.3"), (1, "1"), ("-5%", "-0.05")])
def test_percent_good(raw, expected):
    assert conv(raw, PERCENT) == Decimal(expected)


@pytest.mark.parametrize("raw", ["abc%", "%", "thirty", True])
def test_percent_bad(raw):
    assert "expected a percentage" in conv_error(raw, PERCENT)


@pytest.mark.parametrize("raw, expected", [
    (True, True), (False, False), ("true", True), ("FALSE", False), ("1", True), ("0", False), (1, True),
    (0, False), ("是", True), ("否", False), ("Yes", True), ("no", False), ("Y", True), ("n", False), (1.0, True),
])
def test_bool_good(raw, expected):
    assert conv(raw, BOOL) is expected


@pytest.mark.parametrize("raw", ["maybe", 2, "对", "10"])
def test_bool_bad(raw):
    assert "expected yes or no" in conv_error(raw, BOOL)


@pytest.mark.parametrize("raw", ["2024-01-05", "2024/1/5", "2024年1月5日", " 2024-1-05 ", "2024.01.05",
                                 date(2024, 1, 5), datetime(2024, 1, 5)])
def test_date_good(raw):
    assert conv(raw, DATE) == date(2024, 1, 5) and type(conv(raw, DATE)) is date


def test_date_bad():
    assert "no such date" in conv_error("2024-02-30", DATE)
    assert "expected a date" in conv_error("05/01/2024", DATE)
    assert "expected a date" in conv_error(45000, DATE)
    assert "time of day" in conv_error(datetime(2024, 1, 5, 9, 30), DATE)


@pytest.mark.parametrize("raw, expected", [
    ("3 年", Duration(36, 0)), ("6 个月", Duration(6, 0)), ("6月", Duration(6, 0)), ("2 季度", Duration(6, 0)),
    ("10 天", Duration(0, 10)), ("1 周", Duration(0, 7)), ("1 年 2 个月", Duration(14, 0)),
    ("1 个月 3 天", Duration(1, 3)), ("2 years", Duration(24, 0)), ("0 天", Duration(0, 0)),
])
def test_duration_good(raw, expected):
    assert conv(raw, DURATION) == expected


@pytest.mark.parametrize("raw", ["3", 3, "1.5 年", "3 年 abc", "年", "three years"])
def test_duration_bad(raw):
    assert "duration" in conv_error(raw, DURATION)


@pytest.mark.parametrize("raw, expected", [("张三", "张三"), (" 张三 ", "张三"), (123.0, "123"), (42, "42"),
                                           (12.5, "12.5")])
def test_text_good(raw, expected):
    assert conv(raw, TEXT) == expected


@pytest.mark.parametrize("raw", [True, datetime(2024, 1, 1), [1]])
def test_text_bad(raw):
    assert "expected text" in conv_error(raw, TEXT)


def test_enum():
    assert conv(" 优秀 ", GRADE) == "优秀"
    message = conv_error("忧秀", GRADE)
    assert message == ("unknown label '忧秀' for enum 考核等次 (labels: 优秀, 称职, 基本称职, 不称职); "
                       "did you mean '优秀'?")
    assert "did you mean" not in conv_error("zzz", GRADE)


@pytest.mark.parametrize("type_", [INT, TEXT, MONEY, GRADE, DATE])
@pytest.mark.parametrize("raw", [None, "", "   "])
def test_missing_is_an_error_not_a_default(raw, type_):
    assert conv_error(raw, type_) == "missing field"


def test_list_value_in_convert_value():
    assert conv([{"名称": "一网格", "人口": "30"}], list_of("网格")) == ({"名称": "一网格", "人口": 30},)
    assert "[0].人口: expected an integer" in conv_error([{"名称": "一网格", "人口": "x"}], list_of("网格"))


# --------------------------------------------------------------------------- records and errors

def test_record_with_two_bad_fields_reports_both():
    raw = {"编号": "S017", "姓名": "李四", "年龄": "abc", "工资": "12.345", "等次": "优秀", "备注": "ignored"}
    record, errors = convert_record(raw, WORKER, TYPES, "data/x.csv:17")
    assert record is None
    assert [(e.record_id, e.field, e.value) for e in errors] == [("S017", "年龄", "abc"), ("S017", "工资", "12.345")]
    assert errors[0].render() == "data/x.csv:17: record S017: field 年龄: expected an integer, got 'abc'"


def test_good_record_ignores_extra_columns():
    raw = {"编号": "S1", "姓名": "王五", "年龄": "40", "工资": "5,000元", "等次": "称职", "extra": "?"}
    record, errors = convert_record(raw, WORKER, TYPES, "f.csv:2")
    assert errors == []
    assert record.id == "S1" and record.location == "f.csv:2"
    assert record.values == {"编号": "S1", "姓名": "王五", "年龄": 40, "工资": Decimal("5000"), "等次": "称职"}


def test_record_id_falls_back_to_row_number():
    record, errors = convert_record({"姓名": "x"}, WORKER, TYPES, "f.csv:9", row_number=8)
    assert record is None and {e.record_id for e in errors} == {"#8"}
    assert errors[0] == DataError("f.csv:9", "#8", "编号", None, "missing field")
    assert errors[0].render() == "f.csv:9: record #8: field 编号: missing field"


def test_enum_error_render_does_not_repeat_value():
    error = DataError("f.csv:3", "S1", "等次", "忧秀", "unknown label '忧秀' for enum 考核等次 (labels: 优秀)")
    assert error.render().count("忧秀") == 1


CSV_TEXT = """编号,姓名,年龄,工资,等次,备注
S001,张三,35,"1,234.50",优秀,x
S002,李四,abc,3000,优秀,
S003,王五,41,3.5万元,称职,
S004,赵六,29,2000元,忧秀,
S005,钱七,50,1000,基本称职,
"""


def test_csv_three_good_two_bad(tmp_path):
    result = load_records(write(tmp_path / "w.csv", CSV_TEXT), WORKER, TYPES)
    assert [r.id for r in result.records] == ["S001", "S003", "S005"]
    assert result.failed_ids == ["S002", "S004"]
    assert result.total == 5
    name = str(tmp_path / "w.csv")
    assert [(e.location, e.record_id, e.field, e.value) for e in result.errors] == [
        (f"{name}:3", "S002", "年龄", "abc"), (f"{name}:5", "S004", "等次", "忧秀")]
    assert "did you mean '优秀'?" in result.errors[1].message
    assert result.records[1].values["工资"] == Decimal("35000")


def test_csv_bom_blank_rows_short_rows_and_multiline_cells(tmp_path):
    text = "\ufeff编号,姓名,年龄,工资,等次\n\nS1,\"多\n行\",30,1,优秀\n,,,,\nS2,乙,31\n"
    result = load_records(write(tmp_path / "w.csv", text), WORKER, TYPES)
    assert [r.values["姓名"] for r in result.records] == ["多\n行"]
    # S2 starts on line 6 (the quoted cell spans lines 3-4); its missing cells are missing fields
    assert {(e.location.rsplit(":", 1)[1], e.field, e.message) for e in result.errors} == {
        ("6", "工资", "missing field"), ("6", "等次", "missing field")}


def test_duplicate_key_is_reported(tmp_path):
    text = "编号,姓名,年龄,工资,等次\nS1,甲,30,1,优秀\nS1,乙,31,1,优秀\n"
    result = load_records(write(tmp_path / "w.csv", text), WORKER, TYPES)
    assert [r.values["姓名"] for r in result.records] == ["甲"]
    assert result.failed_ids == ["S1"] and "duplicate key" in result.errors[0].message


def test_json_nested_relation_with_bad_field(tmp_path):
    data = {"records": [
        {"编号": "C1", "网格": [{"名称": "一", "人口": 10}, {"名称": "二", "人口": "20"}]},
        {"编号": "C2", "网格": [{"名称": "一", "人口": 1}, {"名称": "二", "人口": 2}, {"名称": "三", "人口": "many"}]},
        {"编号": "C3", "网格": []},
        {"编号": "C4"},
        "not an object",
    ]}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = load_records(path, COMMUNITY, TYPES)
    assert [(r.id, r.values["网格"]) for r in result.records] == [
        ("C1", ({"名称": "一", "人口": 10}, {"名称": "二", "人口": 20})), ("C3", ())]
    assert result.failed_ids == ["C2", "C4", "#5"]
    bad = result.errors[0]
    assert (bad.location, bad.record_id, bad.field, bad.value) == (f"{path}:[1]", "C2", "网格[2].人口", "many")
    assert result.errors[1].message == "missing field"  # an absent list is not an empty list


def test_json_numbers_stay_exact(tmp_path):
    path = write(tmp_path / "w.json", '[{"编号": 7, "姓名": "甲", "年龄": 30, "工资": 1234.10, "等次": "优秀"}]')
    result = load_records(path, WORKER, TYPES)
    assert result.records[0].id == "7" and str(result.records[0].values["工资"]) == "1234.10"


def test_jsonl(tmp_path):
    text = '{"编号": "S1", "姓名": "甲", "年龄": 30, "工资": "1", "等次": "优秀"}\n\n{"编号": "S2", "年龄": true}\n'
    result = load_records(write(tmp_path / "w.jsonl", text), WORKER, TYPES)
    assert [r.id for r in result.records] == ["S1"] and result.failed_ids == ["S2"]
    assert result.errors[0].location.endswith("w.jsonl:3")
    assert ("年龄", True) in [(e.field, e.value) for e in result.errors]


SECRETARIES = "编号,姓名\nB1,甲\nB2,乙\nB3,丙\n"
ABSENCES = "书记编号,天数,日期\nB1,2,2024-01-05\nB3,x,2024-02-01\nB1,1,2024/3/1\nB9,1,2024-01-01\n,1,2024-01-01\n"


def test_csv_with_related_csv(tmp_path):
    main = write(tmp_path / "s.csv", SECRETARIES)
    absences = write(tmp_path / "a.csv", ABSENCES)
    result = load_records(main, SECRETARY, TYPES, {"缺勤记录": absences})
    ok = {r.id: r.values["缺勤记录"] for r in result.records}
    assert ok == {"B1": ({"书记编号": "B1", "天数": 2, "日期": date(2024, 1, 5)},
                         {"书记编号": "B1", "天数": 1, "日期": date(2024, 3, 1)}),
                  "B2": ()}  # no absences is legitimate
    assert result.failed_ids == ["B3"]
    nested, orphan, keyless = result.errors
    assert (nested.location, nested.record_id, nested.field, nested.value) == (f"{absences}:3", "B3", "缺勤记录[0].天数", "x")
    assert (orphan.location, orphan.record_id, orphan.field, orphan.value) == (f"{absences}:5", "#4", "书记编号", "B9")
    assert orphan.render().endswith("field 书记编号: matches no 书记 record (编号), got 'B9'")
    assert (keyless.location, keyless.field, keyless.value) == (f"{absences}:6", "书记编号", None)
    assert keyless.message.startswith("missing field")
    assert result.total == 3


def test_flat_file_relation_needs_related_file(tmp_path):
    main = write(tmp_path / "s.csv", SECRETARIES)
    with pytest.raises(DataSetupError, match="--related 缺勤记录=FILE"):
        load_records(main, SECRETARY, TYPES)
    with pytest.raises(DataSetupError, match="did you mean '缺勤记录'"):
        load_records(main, SECRETARY, TYPES, {"缺勤记": main})


def test_xlsx_round_trip(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "人员"
    sheet.append(["编号", "姓名", "年龄", "工资", "等次", None])
    sheet.append([1001, "张三", 35, 1234.5, "优秀", "ignored"])
    sheet.append([None, None, None, None, None])  # a fully empty row is skipped
    sheet.append(["S2", "李四", 30.0, "3.5万元", "称职"])
    sheet.append(["S3", "王五", "abc", 100, "称职"])
    sheet.append(["S4", "日期", 1, 1, "称职"])
    path = tmp_path / "w.xlsx"
    book.save(path)
    rows = list(read_rows(path))
    assert [loc for loc, _ in rows] == [f"{path}:人员!2", f"{path}:人员!4", f"{path}:人员!5", f"{path}:人员!6"]
    result = load_records(path, WORKER, TYPES)
    assert [r.id for r in result.records] == ["1001", "S2", "S4"]
    assert result.records[0].values == {"编号": "1001", "姓名": "张三", "年龄": 35, "工资": Decimal("1234.5"),
                                        "等次": "优秀"}
    assert result.records[1].values["年龄"] == 30
    assert [(e.location, e.record_id, e.field) for e in result.errors] == [(f"{path}:人员!5", "S3", "年龄")]


def test_xlsx_dates(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["书记编号", "天数", "日期"])
    book.active.append(["B1", 1, datetime(2024, 1, 5)])
    path = tmp_path / "a.xlsx"
    book.save(path)
    result = load_records(path, ABSENCE, TYPES)
    assert result.records[0].values["日期"] == date(2024, 1, 5)


def test_xlsx_formula_without_a_computed_value_is_named_not_missing(tmp_path):
    """openpyxl (like most scripts) saves formulas without their values: such a cell is reported as a formula that
    was never computed, not as a missing field; a truly empty cell is still a missing field."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["编号", "姓名", "年龄", "工资", "等次"])
    book.active.append(["S1", "张三", "=30+5", 100, "优秀"])
    book.active.append(["S2", "李四", None, 100, "优秀"])
    book.active.append(["S3", "王五", 40, 100, "称职"])
    path = tmp_path / "f.xlsx"
    book.save(path)
    result = load_records(path, WORKER, TYPES)
    assert [r.id for r in result.records] == ["S3"]
    formula, empty = result.errors
    assert (formula.record_id, formula.field, formula.location) == ("S1", "年龄", f"{path}:Sheet!2")
    assert "holds the formula =30+5 but no computed value" in formula.message
    assert formula.render().endswith("got '=30+5'")
    assert (empty.record_id, empty.field) == ("S2", "年龄") and empty.message.startswith("missing field")


# --------------------------------------------------------------------------- file-level problems

def test_setup_errors(tmp_path):
    with pytest.raises(DataSetupError, match="no such file"):
        load_records(tmp_path / "none.csv", WORKER, TYPES)
    with pytest.raises(DataSetupError, match="unsupported file type '.txt'"):
        load_records(write(tmp_path / "w.txt", "x"), WORKER, TYPES)
    with pytest.raises(DataSetupError, match=r"w\.json:2:11: malformed JSON"):
        load_records(write(tmp_path / "w.json", '[\n    {"a": }]'), WORKER, TYPES)
    broken_line = load_records(write(tmp_path / "w.jsonl", '{}\n{"a"\n'), WORKER, TYPES)  # one bad record, not all
    assert [(e.location, e.record_id) for e in broken_line.errors][-1] == (f"{tmp_path / 'w.jsonl'}:2", "#2")
    assert "malformed JSON at column" in broken_line.errors[-1].message and broken_line.total == 2
    with pytest.raises(DataSetupError, match="expected a JSON array"):
        load_records(write(tmp_path / "o.json", '{"a": 1}'), WORKER, TYPES)
    with pytest.raises(DataSetupError, match="empty file"):
        load_records(write(tmp_path / "e.csv", ""), WORKER, TYPES)
    with pytest.raises(DataSetupError, match="header row missing"):
        load_records(write(tmp_path / "h.csv", "S1,甲,30,1,优秀\nS2,乙,31,1,优秀\n"), WORKER, TYPES)
    with pytest.raises(DataSetupError, match="appears twice"):
        load_records(write(tmp_path / "d.csv", "编号,编号\n1,2\n"), WORKER, TYPES)
    (tmp_path / "g.csv").write_bytes("编号\n张三\n".encode("gbk"))
    with pytest.raises(DataSetupError, match="not UTF-8"):
        load_records(tmp_path / "g.csv", WORKER, TYPES)
    with pytest.raises(DataSetupError, match="not a readable .xlsx"):
        load_records(write(tmp_path / "x.xlsx", "not a zip"), WORKER, TYPES)


# --------------------------------------------------------------------------- writing results

RESULT_ROWS = [
    {"编号": "S1", "姓名": "张三", "工资": Decimal("1234.5"), "比例": Decimal("0.3"), "合格": True,
     "日期": date(2024, 1, 5), "人数": 3, "期限": Duration(6, 0), "备注": None},
    {"编号": "S2", "姓名": "李四", "工资": 1000, "比例": Decimal("0.125"), "合格": False,
     "日期": date(2024, 12, 31), "人数": 0, "期限": Duration(24, 0), "备注": "a,\"b\""},
]
RESULT_TYPES = {"工资": MONEY, "比例": PERCENT, "合格": BOOL, "日期": DATE, "人数": INT, "期限": DURATION}


def test_write_csv(tmp_path):
    path = tmp_path / "out.csv"
    write_results(path, RESULT_ROWS, RESULT_TYPES)
    assert path.read_bytes() == (
        "编号,姓名,工资,比例,合格,日期,人数,期限,备注\n"
        "S1,张三,1234.50,30%,true,2024-01-05,3,6 个月,\n"
        'S2,李四,1000.00,12.5%,false,2024-12-31,0,2 年,"a,""b"""\n').encode()


def test_write_json(tmp_path):
    path = tmp_path / "out.json"
    write_results(path, RESULT_ROWS[:1], RESULT_TYPES)
    assert path.read_bytes() == (
        '[\n  {\n    "编号": "S1",\n    "姓名": "张三",\n    "工资": "1234.50",\n    "比例": "30%",\n'
        '    "合格": true,\n    "日期": "2024-01-05",\n    "人数": 3,\n    "期限": "6 个月",\n    "备注": null\n'
        "  }\n]\n").encode()


def test_write_jsonl(tmp_path):
    path = tmp_path / "out.jsonl"
    write_results(path, RESULT_ROWS, RESULT_TYPES)
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 3
    assert lines[1] == ('{"编号": "S2", "姓名": "李四", "工资": "1000.00", "比例": "12.5%", "合格": false, '
                        '"日期": "2024-12-31", "人数": 0, "期限": "2 年", "备注": "a,\\"b\\""}')


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl"])
def test_write_is_deterministic_and_reloadable(tmp_path, suffix):
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    write_results(first, RESULT_ROWS, RESULT_TYPES)
    write_results(second, [dict(r) for r in RESULT_ROWS], dict(RESULT_TYPES))
    assert first.read_bytes() == second.read_bytes()
    schema = RecordType("结果", (("编号", TEXT), ("工资", MONEY), ("比例", PERCENT), ("日期", DATE), ("期限", DURATION)),
                        key="编号")
    result = load_records(first, schema, {})
    assert [r.values["工资"] for r in result.records] == [Decimal("1234.5"), Decimal("1000")]
    assert [r.values["比例"] for r in result.records] == [Decimal("0.3"), Decimal("0.125")]
    assert [r.values["期限"] for r in result.records] == [Duration(6, 0), Duration(24, 0)]


def test_write_unsupported_suffix(tmp_path):
    with pytest.raises(DataSetupError):
        write_results(tmp_path / "out.xlsx", [], {})


# --------------------------------------------------------------------------- round trip property

fen = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2, allow_nan=False, allow_infinity=False)


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_int_round_trip(value):
    assert conv(format_value(value, INT), INT) == value


@given(fen)
def test_money_round_trip(value):
    assert conv(format_value(value, MONEY), MONEY) == value


@given(fen)
def test_decimal_round_trip(value):
    assert conv(format_value(value, DECIMAL), DECIMAL) == value


@given(fen)
def test_percent_round_trip(value):
    assert conv(format_value(value, PERCENT), PERCENT) == value


@given(st.dates())
def test_date_round_trip(value):
    assert conv(format_value(value, DATE), DATE) == value


@given(st.builds(Duration, st.integers(0, 600), st.integers(0, 400)))
def test_duration_round_trip(value):
    assert conv(format_value(value, DURATION), DURATION) == value


@given(st.booleans())
def test_bool_round_trip(value):
    assert conv(format_value(value, BOOL), BOOL) is value


def test_an_amount_beyond_decimal_precision_is_a_bad_record_not_a_traceback():
    """Money with 30 digits would need rounding in Python's 28-digit context (decimal.InvalidOperation once)."""
    from policydsl.types import MONEY
    with pytest.raises(ValueError, match="too large an amount"):
        convert_value("123456789012345678901234567890.00", MONEY, {})
    assert convert_value("12345678901234567890123456.00", MONEY, {}) == Decimal("12345678901234567890123456.00")
