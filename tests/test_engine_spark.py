"""The Spark engine against the row evaluator: every shipped example, a sample of the shipped data sets (the same
results bytes, bad-record reports, evaluation errors and summaries), paths through Hadoop's file systems, Parquet in
and out, exact division, and a construct Spark cannot compute exactly named as such.

One Spark session serves the whole module (starting one takes ~20 s). Skipped without pyspark or Java.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# The markers, registered here so that this file runs clean on its own (pyproject.toml may declare them too).
_config = getattr(pytest.mark, "_config", None)
if _config is not None:
    for _line in ("spark: needs pyspark and Java (the Spark engine)", "slow: takes more than a few seconds"):
        if _line.split(":")[0] not in {m.split(":")[0] for m in _config.getini("markers")}:
            _config.addinivalue_line("markers", _line)

pytestmark = [pytest.mark.spark, pytest.mark.slow]

pytest.importorskip("pyspark", reason="the Spark engine needs pyspark (pip install '.[spark]')")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("the Spark engine needs Java 17+ (Debian: apt-get install openjdk-17-jre-headless)",
                allow_module_level=True)

from engine_runs import parquet_copy, row_reference  # noqa: E402

from policydsl import api  # noqa: E402
from policydsl.engines.base import EngineUnavailable, run_batch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

POLICIES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "policies").glob("*/*.policy"))

# A bounded sample of data/run_all.py's RUNS and the bad files: a flat file, its bad twin, related workers,
# related quarterly scores, and a bad file whose suspects the converter accepts in part.
SAMPLE = [
    ("jinyuan/star_rating", "data/jinyuan/secretaries.csv", {}, "2024-12-31", ".csv"),
    ("jinyuan/star_rating", "data/jinyuan/secretaries.csv", {}, "2024-12-31", ".jsonl"),
    ("jinyuan/star_rating", "data/jinyuan/bad_secretaries.csv", {}, None, ".csv"),
    ("jiangbei/quota", "data/jiangbei/communities.csv", {"工作者": "data/jiangbei/workers.csv"}, None, ".csv"),
    ("xiangan/assessment", "data/xiangan/workers.csv", {"季度考核": "data/xiangan/quarterly_scores.csv"}, None,
     ".csv"),
]


@pytest.fixture(scope="module", autouse=True)
def spark():
    from policydsl.engines.sql.spark import spark_session
    try:
        session = spark_session()
    except EngineUnavailable as exc:
        pytest.skip(str(exc))
    yield session
    session.stop()


def _date(text):
    from datetime import date
    return date.fromisoformat(text) if text else None


def _same_as_row(tmp_path, policy, records, related, as_of, suffix, **paths):
    """Run the row reference and Spark (on `spark_records`, writing `spark_out`, if given); compare the files, the
    reports (`rename` maps Spark's locations to the row engine's), failures, counts and summaries."""
    outcome, failures = row_reference(policy, records, related, as_of, tmp_path / f"row{suffix}")
    out = paths.get("spark_out", tmp_path / f"spark{suffix}")
    batch = run_batch(policy, paths.get("spark_records", ROOT / records),
                      related=paths.get("related", {k: ROOT / v for k, v in related.items()}), as_of=as_of,
                      out=out, engine="spark")
    assert (tmp_path / f"spark{suffix}").read_bytes() == (tmp_path / f"row{suffix}").read_bytes()
    rename = paths.get("rename", lambda text: text)
    assert [rename(e.render()) for e in batch.data_errors] == [e.render() for e in outcome.data_errors]
    assert batch.failed_ids == outcome.loaded.failed_ids
    assert [(f.record_id, f.message) for f in batch.evaluation_failures] == failures
    assert batch.ok_count == outcome.ok_count
    assert batch.summaries == outcome.report.summaries
    assert batch.engine == "spark"
    return outcome, batch


@pytest.mark.parametrize("path", POLICIES)
def test_every_example_passes_on_spark(path):
    policy = api.load_policy(str(ROOT / path))
    outcomes = api.run_examples(policy, on="spark")
    assert outcomes, f"{path} has no examples"
    assert [(o.example.title, o.error, o.mismatches) for o in outcomes if not o.passed] == []


@pytest.mark.parametrize("name,records,related,as_of,suffix", SAMPLE,
                         ids=[f"{s[0]}:{Path(s[1]).stem}{s[4]}" for s in SAMPLE])
def test_spark_matches_row_engine(tmp_path, name, records, related, as_of, suffix):
    policy = api.load_policy(str(ROOT / "policies" / f"{name}.policy"))
    _same_as_row(tmp_path, policy, records, related, _date(as_of), suffix)


def test_urls_go_through_hadoop_file_systems(tmp_path):
    """file:// URLs take the path a cluster's hdfs:// or s3a:// inputs take: the header and the records read by
    Spark, the suspects' file copied to the driver for the careful converter, reports naming the URL, the results
    moved into place by the Hadoop file system."""
    policy = api.load_policy(str(ROOT / "policies/jinyuan/star_rating.policy"))
    source = ROOT / "data/jinyuan/bad_secretaries.csv"
    url = source.as_uri()
    _, batch = _same_as_row(tmp_path, policy, "data/jinyuan/bad_secretaries.csv", {}, None, ".csv",
                            spark_records=url, spark_out=(tmp_path / "spark.csv").as_uri(),
                            rename=lambda text: text.replace(url, str(source)))
    assert batch.data_errors and all(e.location.startswith(url + ":") for e in batch.data_errors)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["row.csv", "spark.csv"]  # no part files, no .crc


def test_parquet_in_and_out(tmp_path):
    """Parquet inputs (typed or all text, with related rows; a file or a directory of part files) give the CSV's
    results; Parquet results hold the row engine's values."""
    import duckdb
    name, records, related = "xinmi/staffing", "data/xinmi/communities.csv", {"工作者": "data/xinmi/workers.csv"}
    policy = api.load_policy(str(ROOT / "policies" / f"{name}.policy"))
    outcome, _ = row_reference(policy, records, related, None, tmp_path / "row.csv")
    con = duckdb.connect()

    def to_parquet(src: str, typed: bool) -> Path:
        return parquet_copy(ROOT / src, tmp_path / (Path(src).stem + (".typed" if typed else "") + ".parquet"), typed)
    for typed in (False, True):
        batch = run_batch(policy, to_parquet(records, typed),
                          related={k: to_parquet(v, typed) for k, v in related.items()},
                          out=tmp_path / "spark.csv", engine="spark")
        assert batch.data_errors == [] and batch.ok_count == outcome.ok_count
        assert (tmp_path / "spark.csv").read_bytes() == (tmp_path / "row.csv").read_bytes()
    # A directory of part files (as Spark writes a data set), numbered in file-name order whatever Spark's packing.
    parts = tmp_path / "parts.parquet"
    parts.mkdir()
    table = f"read_csv('{ROOT / records}', all_varchar=true)"
    (total,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    for i, start in enumerate(range(0, total, total // 3 + 1)):
        con.execute(f"COPY (SELECT * FROM {table} LIMIT {total // 3 + 1} OFFSET {start}) TO "
                    f"'{parts / f'part-{i:05d}.parquet'}' (FORMAT parquet)")
    batch = run_batch(policy, parts, related={k: ROOT / v for k, v in related.items()}, out=tmp_path / "spark.csv",
                      engine="spark")
    assert batch.data_errors == [] and batch.ok_count == outcome.ok_count
    assert (tmp_path / "spark.csv").read_bytes() == (tmp_path / "row.csv").read_bytes()
    run_batch(policy, ROOT / records, related={k: ROOT / v for k, v in related.items()},
              out=tmp_path / "out.parquet", engine="spark")
    rows = con.execute(f"SELECT * FROM '{tmp_path / 'out.parquet'}'").fetchall()
    assert rows == [tuple(r.values()) for r in outcome.rows()]


DIVISION = '''policy 除法 "division"
  subject 人

record 人 key 编号 {
  编号: text
  分数: int
  金额: money
  除数: decimal
}

table 档次: int (unique) {
  when 分数 >= 60 -> 1
  when 分数 >= 80 -> 2
  otherwise -> 0
}

outcome 结果: decimal = 档次 * 10 / 分数 * 0 + 档次
outcome 份额: money = 金额 / 除数
outcome 人均: money = 金额 / 3
'''


def test_evaluation_errors_and_exact_quotients(tmp_path):
    """Overlapping unique rows and division by zero name the same record and words as the row engine; quotients
    of large and tied values round half up exactly as `types.divide` does; CSV quoting and JSON escapes of text."""
    source = tmp_path / "division.policy"
    source.write_text(DIVISION, encoding="utf-8")
    records = tmp_path / "people.csv"
    records.write_text("编号,分数,金额,除数\n"
                       'A,50,1234567.89,0.03\n"B,""乙""",70,0.01,2\nC,90,5,1\nD,0,5,1\n'
                       "E,65,99999999.99,7\nF,61,-0.05,-4\n,,,,,,beyond the header\n", encoding="utf-8")
    policy = api.load_policy(str(source))
    for suffix in (".csv", ".jsonl", ".json"):
        outcome, batch = _same_as_row(tmp_path, policy, str(records), {}, None, suffix, spark_records=records)
    assert [(f.record_id, f.message) for f in batch.evaluation_failures] == [
        ("C", "档次: unique table: rows 1 (line 12) and 2 (line 13) both apply"), ("D", "结果: division by zero")]
    assert 'B,"乙"' not in (tmp_path / "spark.csv").read_text(encoding="utf-8")
    assert '"B,""乙"""' in (tmp_path / "row.csv").read_text(encoding="utf-8")


def test_a_divisor_spark_cannot_divide_by_exactly_is_named(tmp_path):
    """Spark has no 128-bit integers: a quotient by a divisor of 21 digits or more (scaled to the operands' places)
    is refused with the construct named, never computed inexactly."""
    source = tmp_path / "division.policy"
    source.write_text(DIVISION + "param 大数: decimal = 12345678901234567.123456\n"
                                 "outcome 大份额: money = 金额 / 大数\n", encoding="utf-8")
    records = tmp_path / "people.csv"
    records.write_text("编号,分数,金额,除数\nA,50,1.00,2\n", encoding="utf-8")
    policy = api.load_policy(str(source))
    outcome, _ = row_reference(policy, str(records), {}, None, tmp_path / "row.csv")
    assert outcome.ok_count == 1  # the row engine divides it
    with pytest.raises(EngineUnavailable, match="大份额: division .*: the spark engine cannot divide exactly"):
        run_batch(policy, records, out=tmp_path / "out.csv", engine="spark")


def test_durations(tmp_path):
    """Durations (months and days apart, date shifts clamped to the month's end, the ordering error) on Spark."""
    source = tmp_path / "periods.policy"
    source.write_text('''policy 期限 "durations"
  subject 人
  effective 2024-06-30

record 人 key 编号 {
  编号: text
  入职: date
  试用: duration
}

fact 两倍试用: duration = 试用 * 2
outcome 转正日: date = 入职 + 试用
outcome 两倍日: date = 入职 + 两倍试用 - 1 天
outcome 长试用: bool = 试用 > 3 个月
outcome 合计: duration = 试用 + 1 年
outcome 说明: text = "试用" + text(试用)
''', encoding="utf-8")
    records = tmp_path / "people.csv"
    records.write_text("编号,入职,试用\nA,2024-01-31,1 个月\nB,2023-11-30,6 个月\nC,2024-02-29,1 年\n"
                       "D,2024-01-31,1 个月 3 天\nE,2024-03-01,10 天\nF,2024-01-31,三个月\nG,2024-01-31,18 个月\n",
                       encoding="utf-8")
    _, batch = _same_as_row(tmp_path, api.load_policy(str(source)), str(records), {}, None, ".csv",
                            spark_records=records)
    assert [f.record_id for f in batch.evaluation_failures] == ["D"] and batch.failed_ids == ["F"]


def test_a_directory_of_parquet_parts_with_bad_records(tmp_path):
    """Bad records in a directory of part files are reported from the parts (the careful converter reads them in
    part-file order, the order Spark numbers them in), locally and through a file:// URL, as the row engine
    reports them on the same directory."""
    import duckdb
    source = ROOT / "data/jinyuan/bad_secretaries.csv"
    parts = tmp_path / "parts.parquet"
    parts.mkdir()
    con = duckdb.connect()
    table = f"read_csv('{source}', all_varchar=true)"
    (total,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    size = total // 3 + 1
    for i in range(3):
        con.execute(f"COPY (SELECT * FROM {table} LIMIT {size} OFFSET {i * size}) TO "
                    f"'{parts / f'part-{i:05d}.parquet'}' (FORMAT parquet)")
    policy = api.load_policy(str(ROOT / "policies/jinyuan/star_rating.policy"))
    row = run_batch(policy, parts, out=tmp_path / "row.csv", engine="row")
    assert row.data_errors and all(e.location.startswith(f"{parts}:[") for e in row.data_errors)
    for given in (parts, parts.as_uri()):
        batch = run_batch(policy, given, out=tmp_path / "spark.csv", engine="spark")
        assert [e.render() for e in batch.data_errors] == [e.render().replace(str(parts), str(given))
                                                           for e in row.data_errors]
        assert batch.failed_ids == row.failed_ids and batch.ok_count == row.ok_count
        assert (tmp_path / "spark.csv").read_bytes() == (tmp_path / "row.csv").read_bytes()
ACROSS = "tests/data/across"


@pytest.mark.parametrize("policy_file,records,related", [
    ("r.policy", "r.csv", {}),
    ("failures.policy", "failures.csv", {"items": "items.csv"})],
    ids=["ranks", "failures"])
def test_values_across_records(tmp_path, policy_file, records, related):
    """Ranks, top/bottom, apportion, grant, aggregates within groups, summaries read by rules, records failing in an
    earlier pass and suspects (converted in Python) in the same windows: as the row engine computes them."""
    policy = api.load_policy(str(ROOT / ACROSS / policy_file))
    _same_as_row(tmp_path, policy, f"{ACROSS}/{records}", {k: f"{ACROSS}/{v}" for k, v in related.items()}, None,
                 ".csv")


def test_examples_across_records_on_spark():
    policy = api.load_policy(str(ROOT / ACROSS / "examples.policy"))
    assert [(o.example.title, o.error, o.mismatches) for o in api.run_examples(policy, on="spark")] == [
        ("two workers", None, ()), ("a tie", None, ()), ("one worker alone", None, ())]


def test_distinct_and_any_within_groups(tmp_path):
    """The window forms Spark has no DISTINCT for (the size of the set of values) and BOOL_OR / BOOL_AND."""
    source = tmp_path / "p.policy"
    source.write_text('policy p\n  subject R\n  effective 2024-01-01\nrecord R key id { id: text, s: int, g: text }\n'
                      'outcome 种数 = distinct(records, s within g)\noutcome 有大 = any(records, s > 2 within g)\n'
                      'outcome 全正 = all(records, s > 0 where s != 3 within g)\n', encoding="utf-8")
    (tmp_path / "r.csv").write_text("id,s,g\na,1,x\nb,1,x\nc,3,x\nd,0,y\ne,2,y\n", encoding="utf-8")
    policy = api.load_policy(str(source))
    _same_as_row(tmp_path, policy, str(tmp_path / "r.csv"), {}, None, ".csv", spark_records=tmp_path / "r.csv")


def test_dhondt_is_refused_on_spark_in_words(tmp_path):
    """D'Hondt compares quotients in 128-bit integers, which Spark lacks: refused, naming the rule and the way out."""
    policy = api.load_policy(str(ROOT / ACROSS / "dhondt.policy"))
    with pytest.raises(EngineUnavailable, match=r"席位: the spark engine cannot run apportion by D'Hondt .*--engine"):
        run_batch(policy, ROOT / ACROSS / "dhondt.csv", out=tmp_path / "spark.csv", engine="spark")


def test_steps_across_records_are_computed_once_on_spark():
    """Spark inlines a CTE at every reference: the relation below a summary that several rules read (with the
    related records' subquery in it) was expanded at each reading, and the analyser ran out of heap. The Spark plan
    is steps computed in order; the final query reads the summaries and the relation so far by name."""
    from datetime import date

    from sqlglot import exp

    from policydsl.engines.sql.plan import PolicyPlan
    policy = api.load_policy(str(ROOT / ACROSS / "failures.policy"))
    steps, final = PolicyPlan(policy, date(2024, 1, 1), "spark").evaluation_steps(exp.to_table("records"))
    assert [(s.name, s.view) for s in steps] == [("__chain0", False), ("__stage0", True), ("__sum0", False),
                                                 ("__sum1", False)]
    text = final.sql(dialect="spark")
    assert "WITH" not in text and "__rel_items" not in text and "__chain0" in text
    assert all("__rel_items" not in s.query.sql(dialect="spark") for s in steps[1:])


def test_aggregates_whose_element_reads_the_record(tmp_path):
    """Spark refused an aggregate whose element reads both the related row and the record (`any(items, q > n)`:
    "aggregate function in a correlated predicate with outer and local references"), and a nested subquery reading
    the record (any/all's deciding element). The record's values now come from a one-row table of their own, and
    any/all's error is the first element's that fails or decides. Found with the differential strategy on Spark."""
    source = tmp_path / "p.policy"
    source.write_text('policy 相关 "correlated"\n  subject R\n  effective 2024-06-30\n'
                      'record Item key iid { iid: text, owner: text, q: int, m: money }\n'
                      'record R key k { k: text, n: int, t: money, items: list of Item by owner }\n'
                      'outcome 有大: bool = any(items, q > n)\n'
                      'outcome 全大: bool = all(items, q > n where m > t)\n'
                      'outcome 积和: money = sum(items, m * n where q != n)\n'
                      'outcome 差大: money = max(items, m - t where m > t or q == 0)\n'
                      'outcome 商大: bool = any(items, 10 / q > n)\n', encoding="utf-8")
    (tmp_path / "r.csv").write_text("k,n,t\nA,2,1.00\nB,3,2.50\nD,2,0.00\nE,2,0.00\n", encoding="utf-8")
    (tmp_path / "i.csv").write_text("iid,owner,q,m\ni1,A,1,2.00\ni2,A,5,0.50\ni3,B,3,3.00\ni4,B,0,1.00\n"
                                    "i5,D,0,1.00\ni6,D,1,1.00\ni7,E,1,1.00\ni8,E,0,1.00\n", encoding="utf-8")
    policy = api.load_policy(str(source))
    _, batch = _same_as_row(tmp_path, policy, str(tmp_path / "r.csv"), {"items": str(tmp_path / "i.csv")}, None,
                            ".csv")
    # D fails on its first item (10 / 0) before any item decides; B and E decide before their item with q = 0
    assert [(f.record_id, f.message) for f in batch.evaluation_failures] == [("D", "商大: division by zero")]
    assert (tmp_path / "spark.csv").read_text(encoding="utf-8").splitlines() == [
        "k,有大,全大,积和,差大,商大", "A,true,false,5.00,1.00,true", "B,false,false,3.00,0.50,true",
        "E,false,false,4.00,1.00,true"]
