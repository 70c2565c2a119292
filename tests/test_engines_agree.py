"""Differential tests: the DuckDB engine and the row evaluator give the same results files, the same bad-record
reports and the same summaries on every shipped data set (the row evaluator is the reference semantics)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from policydsl import api
from policydsl.engines.base import run_batch
from policydsl.engines.records import write_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "data"))
from run_all import RUNS  # noqa: E402  (the README's main job: every county policy on its sample data)

BAD_RUNS = [
    ("jinyuan/star_rating", "data/jinyuan/bad_secretaries.csv", {}, None),
    ("longshan/eligibility", "data/longshan/bad_candidates.csv", {}, None),
    ("longshan/pay", "data/longshan/bad_staff.csv", {}, None),
    ("jiangbei/classification", "data/jiangbei/bad_communities.csv", {}, None),
    ("xinmi/routing", "data/xinmi/bad_tasks.csv", {}, None),
    ("xiangan/entry", "data/xiangan/bad_candidates.csv", {}, None),
]


def _row_reference(policy, records, related, as_of, out: Path):
    outcome = api.run_file(policy, ROOT / records, as_of, {k: ROOT / v for k, v in related.items()})
    write_results(out, outcome.rows(), api.output_types(policy))
    failures = [(f.record_id, f.error) for f in outcome.evaluation_failures]
    return outcome, failures


@pytest.mark.parametrize("name,records,related,as_of", RUNS + BAD_RUNS, ids=[r[0] + ":" + Path(r[1]).stem
                                                                               for r in RUNS + BAD_RUNS])
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_duckdb_matches_row_engine(tmp_path, name, records, related, as_of, suffix):
    policy = api.load_policy(str(ROOT / "policies" / f"{name}.policy"))
    outcome, failures = _row_reference(policy, records, related, as_of, tmp_path / f"row{suffix}")
    batch = run_batch(policy, ROOT / records, related={k: ROOT / v for k, v in related.items()}, as_of=as_of,
                      out=tmp_path / f"sql{suffix}", engine="duckdb")
    assert (tmp_path / f"sql{suffix}").read_bytes() == (tmp_path / f"row{suffix}").read_bytes()
    assert [e.render() for e in batch.data_errors] == [e.render() for e in outcome.data_errors]
    assert batch.failed_ids == outcome.loaded.failed_ids
    assert [(f.record_id, f.message) for f in batch.evaluation_failures] == failures
    assert batch.ok_count == outcome.ok_count
    assert batch.summaries == outcome.report.summaries


POLICIES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "policies").glob("*/*.policy"))


@pytest.mark.parametrize("path", POLICIES)
def test_every_example_passes_on_duckdb(path):
    policy = api.load_policy(str(ROOT / path))
    outcomes = api.run_examples(policy, on="duckdb")
    assert outcomes, f"{path} has no examples"
    failed = [(o.example.title, o.error, o.mismatches) for o in outcomes if not o.passed]
    assert failed == []


def test_sql_engine_reports_the_row_engines_evaluation_errors(tmp_path):
    """A unique table whose rows overlap for a record: both engines name the same two rows, for that record only."""
    source = tmp_path / "overlap.policy"
    source.write_text('''policy 重叠 "overlap"
  subject 人

record 人 key 编号 {
  编号: text
  分数: int
}

table 档次: int (unique) {
  when 分数 >= 60 -> 1
  when 分数 >= 80 -> 2
  otherwise -> 0
}

outcome 结果: decimal = 档次 * 10 / 分数 * 0 + 档次
''', encoding="utf-8")
    records = tmp_path / "people.csv"
    records.write_text("编号,分数\nA,50\nB,70\nC,90\nD,0\n", encoding="utf-8")
    policy = api.load_policy(str(source))
    row = api.run_file(policy, records)
    batch = run_batch(policy, records, out=tmp_path / "out.csv", engine="duckdb")
    expected = [(f.record_id, f.error) for f in row.evaluation_failures]
    assert [(f.record_id, f.message) for f in batch.evaluation_failures] == expected
    assert expected == [("C", "档次: unique table: rows 1 (line 10) and 2 (line 11) both apply"),
                        ("D", "结果: division by zero")]
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == "编号,结果\nA,0\nB,1\n"


COMPARISONS = [
    (["jinyuan/star_rating", "variants/jinyuan_1500_per_star"], "data/jinyuan/secretaries.csv", {}),
    (["jinyuan/star_rating", "variants/jinyuan_1500_per_star"], "data/jinyuan/bad_secretaries.csv", {}),
    (["jiangbei/quota", "variants/jiangbei_18_per_10k", "xinmi/staffing"], "data/jiangbei/communities.csv",
     {"工作者": "data/jiangbei/workers.csv"}),
]


@pytest.mark.parametrize("names,records,related", COMPARISONS, ids=["jinyuan", "jinyuan-bad", "jiangbei-3"])
@pytest.mark.parametrize("detail_limit", [1000, 3])
def test_compare_on_duckdb_matches_the_row_engine(names, records, related, detail_limit):
    """Every figure, difference, cause and report byte of a comparison is the same on both engines."""
    from policydsl import compare
    paths = [str(ROOT / "policies" / f"{n}.policy") for n in names]
    rel = {k: ROOT / v for k, v in related.items()}
    row = compare.compare(paths, ROOT / records, related=rel, engine="row", detail_limit=detail_limit)
    sql = compare.compare(paths, ROOT / records, related=rel, engine="duckdb", detail_limit=detail_limit)
    assert sql.records_compared == row.records_compared > 0
    assert sql.to_json() == row.to_json()
    assert sql.to_markdown() == row.to_markdown()


@pytest.mark.parametrize("name,records,related,as_of", [RUNS[0], RUNS[9]], ids=["jinyuan", "jiangbei-quota"])
def test_parquet_in_and_out(tmp_path, name, records, related, as_of):
    """Parquet inputs (typed or all text) give the CSV's results; Parquet outputs hold the row engine's values."""
    import duckdb
    policy = api.load_policy(str(ROOT / "policies" / f"{name}.policy"))
    outcome, _ = _row_reference(policy, records, related, as_of, tmp_path / "row.csv")
    con = duckdb.connect()

    def to_parquet(src: str, typed: bool) -> Path:
        out = tmp_path / (Path(src).stem + (".typed" if typed else "") + ".parquet")
        con.execute(f"COPY (SELECT * FROM read_csv('{ROOT / src}', all_varchar={not typed})) TO '{out}' "
                    "(FORMAT parquet)")
        return out
    for typed in (False, True):
        batch = run_batch(policy, to_parquet(records, typed),
                          related={k: to_parquet(v, typed) for k, v in related.items()}, as_of=as_of,
                          out=tmp_path / "sql.csv", engine="duckdb")
        assert batch.data_errors == [] and batch.ok_count == outcome.ok_count
        assert (tmp_path / "sql.csv").read_bytes() == (tmp_path / "row.csv").read_bytes()
    run_batch(policy, ROOT / records, related={k: ROOT / v for k, v in related.items()}, as_of=as_of,
              out=tmp_path / "out.parquet", engine="duckdb")
    rows = con.execute(f"SELECT * FROM '{tmp_path / 'out.parquet'}'").fetchall()
    expected = [tuple(r.values()) for r in outcome.rows()]
    assert rows == expected


def test_durations_agree(tmp_path):
    """Duration fields, arithmetic, ordering (and the error for a duration mixing months and days), date shifts
    clamped to the month's end, and duration results: the same on both engines."""
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
    policy = api.load_policy(str(source))
    outcome, failures = _row_reference(policy, str(records), {}, None, tmp_path / "row.csv")
    for suffix in (".csv", ".jsonl", ".parquet"):
        batch = run_batch(policy, records, out=tmp_path / f"sql{suffix}", engine="duckdb")
        assert [(f.record_id, f.message) for f in batch.evaluation_failures] == failures
        assert [e.render() for e in batch.data_errors] == [e.render() for e in outcome.data_errors]
    assert (tmp_path / "sql.csv").read_bytes() == (tmp_path / "row.csv").read_bytes()
    assert failures == [("D", "长试用: cannot order the duration 1 个月 3 天: it mixes months and days")]
    written = (tmp_path / "sql.csv").read_text(encoding="utf-8")
    assert "A,2024-02-29,2024-03-30,false,13 个月,试用1 个月\nB,2024-05-30,2024-11-29,true,18 个月," in written
    assert [e.record_id for e in batch.data_errors] == ["F"]


def test_values_beyond_sql_are_refused_in_words(tmp_path):
    """An int beyond 64 bits in a record, or a product beyond it: the duckdb engine says so and names --engine row
    (the row evaluator has no such limit); never a traceback, never a wrong number."""
    from click.testing import CliRunner

    from policydsl.cli import main
    source = tmp_path / "big.policy"
    source.write_text('policy 大数 "big"\n  subject 人\n\nrecord 人 key 编号 {\n  编号: text\n  数: int\n}\n\n'
                      'outcome 积: int = 数 * 数 * 数\n', encoding="utf-8")
    product = tmp_path / "product.csv"
    product.write_text("编号,数\nA,3\nB,9000000000\n", encoding="utf-8")
    cell = tmp_path / "cell.csv"
    cell.write_text("编号,数\nA,3\nB,90000000000000000000\n", encoding="utf-8")
    for records, words in ((product, "Overflow"), (cell, "record B holds a value")):
        result = CliRunner().invoke(main, ["run", str(source), "--records", str(records)])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # an exit, not a traceback
        assert words in result.output and "--engine row" in result.output
        row = CliRunner().invoke(main, ["run", str(source), "--records", str(records), "--engine", "row"])
        assert row.exit_code == 0 and "\nB\t729" in row.output


@pytest.mark.slow
@pytest.mark.parametrize("bad_row", [False, True], ids=["clean", "one-bad-record"])
def test_large_files_keep_the_records_order(tmp_path, bad_row):
    """DuckDB reads and evaluates in parallel; the results file must still follow the records file (a plain scan
    keeps the order, anything that joins sorts by the record's position). 300,000 rows: many parallel chunks."""
    import random
    source = tmp_path / "order.policy"
    source.write_text('policy 顺序 "order"\n  subject 人\n\nrecord 人 key 编号 {\n  编号: text\n  分: int\n'
                      '  薪: money\n}\n\noutcome 档: int = if 分 >= 50 then 1 else 0\n'
                      'outcome 半: money = 薪 * 50%\n', encoding="utf-8")
    rng = random.Random(7)
    lines = ["编号,分,薪"] + [f"P{i:07d},{rng.randint(0, 100)},{rng.randint(0, 10**6) / 100:.2f}"
                            for i in range(300_000)]
    if bad_row:
        lines.insert(150_000, "X1,abc,1.00")
    records = tmp_path / "people.csv"
    records.write_text("\n".join(lines) + "\n", encoding="utf-8")
    policy = api.load_policy(str(source))
    batch = run_batch(policy, records, out=tmp_path / "out.csv", engine="duckdb")
    assert batch.ok_count == 300_000 and batch.failed_ids == (["X1"] if bad_row else [])
    ids = [line.split(",", 1)[0] for line in (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()[1:]]
    assert ids == [f"P{i:07d}" for i in range(300_000)]


# ------------------------------------------------------------------------------------------------ across records

ACROSS = ROOT / "tests" / "data" / "across"
ACROSS_RUNS = [("r.policy", "r.csv", {}), ("failures.policy", "failures.csv", {"items": "items.csv"}),
               ("dhondt.policy", "dhondt.csv", {})]


@pytest.mark.parametrize("policy_file,records,related", ACROSS_RUNS, ids=["ranks", "failures", "dhondt"])
@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_values_across_records_match_the_row_engine(tmp_path, policy_file, records, related, suffix):
    """Ranks, top/bottom, apportion, grant, aggregates within groups and summaries read by rules: the same results
    file, bad records, evaluation errors (a record failing in an earlier pass takes no part) and summaries."""
    policy = api.load_policy(str(ACROSS / policy_file))
    related = {k: ACROSS / v for k, v in related.items()}
    outcome, failures = _row_reference(policy, str(ACROSS / records), related, None, tmp_path / f"row{suffix}")
    batch = run_batch(policy, ACROSS / records, related=related, out=tmp_path / f"sql{suffix}", engine="duckdb")
    if suffix == ".parquet":  # the same typed values (the writers' metadata differ)
        import duckdb
        rows = duckdb.connect().execute(f"SELECT * FROM '{tmp_path / 'sql.parquet'}'").fetchall()
        assert rows == [tuple(r.values()) for r in outcome.rows()]
    else:
        assert (tmp_path / f"sql{suffix}").read_bytes() == (tmp_path / f"row{suffix}").read_bytes()
    assert [e.render() for e in batch.data_errors] == [e.render() for e in outcome.data_errors]
    assert [(f.record_id, f.message) for f in batch.evaluation_failures] == failures
    assert batch.summaries == outcome.report.summaries
    if policy_file == "failures.policy":
        assert failures == [("b", "商: division by zero"), ("c", "名额: apportion: the weight -1 is negative")]


def test_suspect_records_take_part_in_the_same_ranks(tmp_path):
    """Cells the SQL reader does not accept as written (' 3', '+2') are converted in Python; those records are
    ranked and counted with the others, not apart."""
    records = tmp_path / "r.csv"
    records.write_text('id,s,g\na,5,x\nb,3,x\nc," 3",y\nd,1,y\ne,8,x\nf,zz,x\ng,+2,y\n', encoding="utf-8")
    policy = api.load_policy(str(ACROSS / "r.policy"))
    outcome, failures = _row_reference(policy, str(records), {}, None, tmp_path / "row.csv")
    batch = run_batch(policy, records, out=tmp_path / "sql.csv", engine="duckdb")
    assert (tmp_path / "sql.csv").read_bytes() == (tmp_path / "row.csv").read_bytes()
    assert batch.summaries == outcome.report.summaries == {"全部": 22, "员额合计": 10}
    assert "\nc,4,false,false,3,6," in (tmp_path / "sql.csv").read_text(encoding="utf-8")
    assert [e.record_id for e in batch.data_errors] == ["f"]


def test_a_failing_summary_read_by_a_rule_stops_every_record(tmp_path):
    source = tmp_path / "p.policy"
    source.write_text('policy p\n  subject R\n  effective 2024-01-01\nrecord R key id { id: text, s: int }\n'
                      'summary 最小: int = min(records, s where s > 100)\noutcome 差: int = s - 最小\n'
                      'outcome 名次 = rank(by s ties dense)\n', encoding="utf-8")
    (tmp_path / "r.csv").write_text("id,s\na,1\nb,2\n", encoding="utf-8")
    policy = api.load_policy(str(source))
    outcome, failures = _row_reference(policy, str(tmp_path / "r.csv"), {}, None, tmp_path / "row.csv")
    batch = run_batch(policy, tmp_path / "r.csv", out=tmp_path / "sql.csv", engine="duckdb")
    assert [(f.record_id, f.message) for f in batch.evaluation_failures] == failures
    assert failures[0][1].startswith("最小: the summary could not be computed (min of no records")
    assert batch.summaries == outcome.report.summaries


@pytest.mark.parametrize("weights,total", [((1, 1, 1), 2), ((0, 0), 0), ((0, 4), 3), ((7,), 5), ((5, 5, 2, 2), 9),
                                           ((100, 80, 30, 20), 8), ((3, 2), 0)])
def test_dhondt_places(tmp_path, weights, total):
    """D'Hondt on DuckDB gives the row engine's places: ties by the order, zero weights, a total of 0, one record."""
    source = tmp_path / "p.policy"
    source.write_text('policy p\n  subject R\n  effective 2024-01-01\nrecord R key id { id: text, s: int }\n'
                      f'outcome 席位 = apportion({total}, s by s desc, id method dhondt)\n', encoding="utf-8")
    (tmp_path / "r.csv").write_text("id,s\n" + "".join(f"r{i},{w}\n" for i, w in enumerate(weights)), encoding="utf-8")
    policy = api.load_policy(str(source))
    _row_reference(policy, str(tmp_path / "r.csv"), {}, None, tmp_path / "row.csv")
    run_batch(policy, tmp_path / "r.csv", out=tmp_path / "sql.csv", engine="duckdb")
    assert (tmp_path / "sql.csv").read_bytes() == (tmp_path / "row.csv").read_bytes()


def test_examples_across_records_pass_on_duckdb():
    """Each example of a policy across records is its own batch: its records are the whole set ranked."""
    policy = api.load_policy(str(ACROSS / "examples.policy"))
    for on in ("row", "duckdb"):
        outcomes = api.run_examples(policy, on=on)
        assert [(o.example.title, o.error, o.mismatches) for o in outcomes] == [
            ("two workers", None, ()), ("a tie", None, ()), ("one worker alone", None, ())]
