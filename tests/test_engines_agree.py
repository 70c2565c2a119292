"""Differential tests: the DuckDB engine and the row evaluator give the same results files, the same bad-record
reports and the same summaries on every shipped data set (the row evaluator is the reference semantics)."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_runs import BAD_RUNS, RUNS, parquet_copy, row_reference

from policydsl import api
from policydsl.engines.base import run_batch

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name,records,related,as_of", RUNS + BAD_RUNS, ids=[r[0] + ":" + Path(r[1]).stem
                                                                               for r in RUNS + BAD_RUNS])
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_duckdb_matches_row_engine(tmp_path, name, records, related, as_of, suffix):
    policy = api.load_policy(str(ROOT / "policies" / f"{name}.policy"))
    outcome, failures = row_reference(policy, records, related, as_of, tmp_path / f"row{suffix}")
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
    outcome, _ = row_reference(policy, records, related, as_of, tmp_path / "row.csv")
    con = duckdb.connect()

    def to_parquet(src: str, typed: bool) -> Path:
        return parquet_copy(ROOT / src, tmp_path / (Path(src).stem + (".typed" if typed else "") + ".parquet"), typed)
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
    outcome, failures = row_reference(policy, str(records), {}, None, tmp_path / "row.csv")
    for suffix in (".csv", ".jsonl", ".parquet"):
        batch = run_batch(policy, records, out=tmp_path / f"sql{suffix}", engine="duckdb")
        assert [(f.record_id, f.message) for f in batch.evaluation_failures] == failures
        assert [e.render() for e in batch.data_errors] == [e.render() for e in outcome.data_errors]
    assert (tmp_path / "sql.csv").read_bytes() == (tmp_path / "row.csv").read_bytes()
    assert failures == [("D", "长试用: cannot order the duration 1 个月 3 天: it mixes months and days")]
    written = (tmp_path / "sql.csv").read_text(encoding="utf-8")
    assert "A,2024-02-29,2024-03-30,false,13 个月,试用1 个月\nB,2024-05-30,2024-11-29,true,18 个月," in written
    assert [e.record_id for e in batch.data_errors] == ["F"]


def test_ints_beyond_64_bits_fail_their_record_on_every_engine(tmp_path):
    """An int beyond 64 bits in a record is a bad record, a product beyond it fails its record: the same words on
    both engines (the row evaluator used to compute 9000000000³ and DuckDB stop the run); never a traceback."""
    from click.testing import CliRunner

    from policydsl.cli import main
    source = tmp_path / "big.policy"
    source.write_text('policy 大数 "big"\n  subject 人\n\nrecord 人 key 编号 {\n  编号: text\n  数: int\n}\n\n'
                      'outcome 积: int = 数 * 数 * 数\n', encoding="utf-8")
    product = tmp_path / "product.csv"
    product.write_text("编号,数\nA,3\nB,9000000000\n", encoding="utf-8")
    cell = tmp_path / "cell.csv"
    cell.write_text("编号,数\nA,3\nB,90000000000000000000\n", encoding="utf-8")
    for records, words in ((product, "record B: evaluation error: 积: the whole number 729000000000000000000000000000 "
                                     "is beyond the range of int (-9223372036854775808 to 9223372036854775807)"),
                           (cell, "record B: field 数: expected an integer from -9223372036854775808 to "
                                  "9223372036854775807, got '90000000000000000000'")):
        outputs = []
        for engine in ("duckdb", "row"):
            result = CliRunner().invoke(main, ["run", str(source), "--records", str(records), "--engine", engine])
            assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # an exit, not a traceback
            assert words in result.output and "A\t27\n" in result.output
            outputs.append(result.output)
        assert outputs[0] == outputs[1]


@pytest.mark.slow
@pytest.mark.parametrize("bad_row,in_list", [(False, False), (True, False), (False, True)],
                         ids=["clean", "one-bad-record", "in-list"])
def test_large_files_keep_the_records_order(tmp_path, bad_row, in_list):
    """DuckDB reads and evaluates in parallel; the results file must still follow the records file (a plain scan
    keeps the order, anything that joins sorts by the record's position — DuckDB runs `x IN (five or more
    constants)` as a join). 300,000 rows: many parallel chunks. Text results go through the formula guard."""
    import random
    source = tmp_path / "order.policy"
    source.write_text('policy 顺序 "order"\n  subject 人\n\nenum 级 { 甲, 乙, 丙, 丁, 戊, 己 }\n'
                      'record 人 key 编号 {\n  编号: text\n  分: int\n  薪: money\n  级别: 级\n}\n\n'
                      'outcome 档: int = if 分 >= 50 then 1 else 0\n'
                      'outcome 半: money = 薪 * 50%\noutcome 名: text = 编号\noutcome 等: 级 = 级别\n'
                      + ('outcome 小: bool = 分 in [1, 2, 3, 4, 5, 6, 7]\n' if in_list else ''), encoding="utf-8")
    rng = random.Random(7)
    lines = ["编号,分,薪,级别"] + [f"P{i:07d},{rng.randint(0, 100)},{rng.randint(0, 10**6) / 100:.2f},"
                                 f"{'甲乙丙丁戊己'[i % 6]}" for i in range(300_000)]
    if bad_row:
        lines.insert(150_000, "X1,abc,1.00,甲")
    records = tmp_path / "people.csv"
    records.write_text("\n".join(lines) + "\n", encoding="utf-8")
    policy = api.load_policy(str(source))
    batch = run_batch(policy, records, out=tmp_path / "out.csv", engine="duckdb")
    assert batch.ok_count == 300_000 and batch.failed_ids == (["X1"] if bad_row else [])
    ids = [line.split(",", 1)[0] for line in (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()[1:]]
    assert ids == [f"P{i:07d}" for i in range(300_000)]


ROWS_POLICY = '''policy 读行 "rows"
  subject 社区

record 人员 key 编号 {
  编号: text
  社区: text
  分数: int
}

record 社区 key 编码 {
  编码: text
  人口: int
  人员: list of 人员 by 社区
}

outcome 人数: int = count(人员)
outcome 总分: int = sum(人员, 分数)
outcome 大: bool = 人口 >= 100
'''


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_rows_beyond_the_header_and_blank_rows_are_read_as_the_row_engine_reads_them(tmp_path, suffix):
    """Blank lines and rows of empty cells before the header and between records are skipped; a row with content
    beyond the header's columns is a bad record (its extra cells would belong to no field), in the records file
    and in a related file alike: the DuckDB engine reports and numbers every row as the row engine does."""
    source = tmp_path / "rows.policy"
    source.write_text(ROWS_POLICY, encoding="utf-8")
    communities = tmp_path / "communities.csv"
    communities.write_text('\n,\n  ,\n编码,人口\nA,120\n,,beyond the header\n,\n" ", \nB,x\n\nC,80,,\n,,,,,,,far\n'
                           "D,150\n,,\n", encoding="utf-8")
    people = tmp_path / "people.csv"
    people.write_text("\n编号,社区,分数\np1,A,5\n,,,extra\n,,\np2,C,7\np3,D,1\n,\np4,Z,3\np5,D,2\n",
                      encoding="utf-8")
    policy = api.load_policy(str(source))
    related = {"人员": people}
    outcome, failures = row_reference(policy, communities, related, None, tmp_path / f"row{suffix}")
    batch = run_batch(policy, communities, related=related, out=tmp_path / f"sql{suffix}", engine="duckdb")
    assert [e.render() for e in batch.data_errors] == [e.render() for e in outcome.data_errors]
    assert batch.failed_ids == outcome.loaded.failed_ids
    assert [(f.record_id, f.message) for f in batch.evaluation_failures] == failures
    assert (tmp_path / f"sql{suffix}").read_bytes() == (tmp_path / f"row{suffix}").read_bytes()
    # what the row engine reports, so that the comparison is not between two empty reports
    assert len(outcome.data_errors) == 5 and outcome.ok_count == 3
    where = {e.location.rsplit(":", 1)[1] for e in outcome.data_errors if "communities" in e.location}
    assert {"9", "12"} <= where  # B's bad population, the row with content far beyond the header
    assert any("people.csv:4" in e.location for e in outcome.data_errors)  # the related row beyond the header


def test_the_whitespace_the_sql_reading_knows_is_pythons():
    """The code points the SQL reading takes for whitespace above U+0084 are exactly those str.strip() removes."""
    from policydsl.engines.sql.inputs import HIGH_SPACES
    spaces = tuple(c for c in range(0x85, 0x110000) if chr(c).isspace() and not 0x2000 <= c <= 0x200A)
    assert spaces == HIGH_SPACES
    assert all(chr(c).isspace() for c in range(0x2000, 0x200B))


def test_a_directory_of_parquet_parts_with_bad_records(tmp_path):
    """A directory of Parquet part files (as Spark writes a data set) is one records input on the command line:
    its rows numbered in part-file order, its bad records reported from the parts by the careful converter, the
    same report and results on the row and DuckDB engines."""
    import duckdb
    from click.testing import CliRunner

    from policydsl.cli import main
    source = ROOT / "data/jinyuan/bad_secretaries.csv"
    parts = tmp_path / "secretaries.parquet"
    parts.mkdir()
    con = duckdb.connect()
    table = f"read_csv('{source}', all_varchar=true)"
    (total,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    size = total // 3 + 1
    for i in range(3):  # written in reverse so that file-system order is not name order
        con.execute(f"COPY (SELECT * FROM {table} LIMIT {size} OFFSET {(2 - i) * size}) TO "
                    f"'{parts / f'part-{2 - i:05d}.parquet'}' (FORMAT parquet)")
    (parts / "_SUCCESS").write_text("", encoding="utf-8")
    policy = str(ROOT / "policies/jinyuan/star_rating.policy")
    runs = {}
    for engine in ("row", "duckdb"):
        out = tmp_path / f"{engine}.csv"
        result = CliRunner().invoke(main, ["run", policy, "--records", str(parts), "--out", str(out),
                                           "--engine", engine])
        runs[engine] = (result.exit_code, result.output.replace(str(out), "OUT"), out.read_bytes())
    assert runs["duckdb"] == runs["row"]
    exit_code, output, results = runs["row"]
    assert exit_code == 1 and f"{parts}:[" in output  # bad records, located in the directory
    expected = tmp_path / "from-csv.csv"
    CliRunner().invoke(main, ["run", policy, "--records", str(source), "--out", str(expected), "--engine", "row"])
    assert results == expected.read_bytes()
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
    outcome, failures = row_reference(policy, str(ACROSS / records), related, None, tmp_path / f"row{suffix}")
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
    outcome, failures = row_reference(policy, str(records), {}, None, tmp_path / "row.csv")
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
    outcome, failures = row_reference(policy, str(tmp_path / "r.csv"), {}, None, tmp_path / "row.csv")
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
    row_reference(policy, str(tmp_path / "r.csv"), {}, None, tmp_path / "row.csv")
    run_batch(policy, tmp_path / "r.csv", out=tmp_path / "sql.csv", engine="duckdb")
    assert (tmp_path / "sql.csv").read_bytes() == (tmp_path / "row.csv").read_bytes()


def test_examples_across_records_pass_on_duckdb():
    """Each example of a policy across records is its own batch: its records are the whole set ranked."""
    policy = api.load_policy(str(ACROSS / "examples.policy"))
    for on in ("row", "duckdb"):
        outcomes = api.run_examples(policy, on=on)
        assert [(o.example.title, o.error, o.mismatches) for o in outcomes] == [
            ("two workers", None, ()), ("a tie", None, ()), ("one worker alone", None, ())]
