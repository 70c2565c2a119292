"""The compile cache (`policydsl.cache`): a repeated `policydsl run` skips the check, and never gives another result.

Every test has its own cache folder (XDG_CACHE_HOME in a temporary directory), so nothing here reads or writes the
user's cache.
"""

import pickle
import textwrap

import pytest
from click.testing import CliRunner

from policydsl import api, cache, syntax
from policydsl.cli import main

BASE = """
enum 考核等次 { 优秀, 称职, 不称职 }
record 书记 key 编号 { 编号: text, 年度考核: 考核等次, 上年星级: int, 荣誉数: int }
"""

POLICY = """
policy 星级 "stars" subject 书记 effective 2024-01-01
import "base.policy"
list 奖励表 from "rewards.csv" key 等次 { 等次: text, 奖励: money }
param 封顶: int = 5
outcome 星级: int = clamp(上年星级 + match 年度考核 { 优秀 -> 1, 不称职 -> -1, else -> 0 }, 0, 封顶)
outcome 奖励: money = if "A" in 奖励表 then 奖励表["A"].奖励 else 0 元
"""

RECORDS = "编号,年度考核,上年星级,荣誉数\nS1,优秀,2,0\nS2,称职,5,1\nS3,不称职,0,4\n"


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(cache.OFF_ENV, raising=False)
    (tmp_path / "base.policy").write_text(textwrap.dedent(BASE), encoding="utf-8")
    (tmp_path / "p.policy").write_text(textwrap.dedent(POLICY), encoding="utf-8")
    (tmp_path / "rewards.csv").write_text("等次,奖励\nA,100.00\n", encoding="utf-8")
    (tmp_path / "r.csv").write_text(RECORDS, encoding="utf-8")
    return tmp_path


def run(files, engine="duckdb"):
    out = files / f"out-{engine}.csv"
    result = CliRunner().invoke(main, ["run", str(files / "p.policy"), "--records", str(files / "r.csv"),
                                       "--out", str(out), "--engine", engine])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def entries(files, kind="policy"):
    folder = files / "cache" / "policydsl" / "compiled"
    return sorted(folder.glob(f"{kind}-*.pickle")) if folder.exists() else []


def no_parsing(monkeypatch):
    """Make any parse of a policy fail loudly: a run that still succeeds used the cache."""
    def refuse(*args, **kwargs):
        raise AssertionError("the policy was parsed again")
    monkeypatch.setattr(syntax, "parse_module", refuse)
    monkeypatch.setattr("policydsl.semantics.parse_module", refuse)


def test_a_repeated_run_uses_the_cached_policy_and_gives_the_same_bytes(files, monkeypatch):
    first = run(files)
    assert len(entries(files)) == 1 and entries(files, "reorder")
    no_parsing(monkeypatch)
    assert run(files) == first
    assert run(files, "row") == first  # the row engine from the same cached policy: the same results


def test_editing_the_policy_an_import_or_a_list_gives_the_new_results(files):
    first = run(files)
    assert "S1,3,100.00" in first
    (files / "p.policy").write_text(textwrap.dedent(POLICY).replace("封顶: int = 5", "封顶: int = 2"),
                                    encoding="utf-8")
    assert "S1,2,100.00" in run(files)
    (files / "base.policy").write_text(textwrap.dedent(BASE).replace("不称职 }", "不称职, 优良 }"), encoding="utf-8")
    (files / "r.csv").write_text(RECORDS + "S4,优良,1,0\n", encoding="utf-8")  # a label only the edited import has
    assert "S4,1,100.00" in run(files)
    (files / "rewards.csv").write_text("等次,奖励\nA,250.00\n", encoding="utf-8")
    assert "S1,2,250.00" in run(files)
    # the same content again is the same entry (the check is keyed by what the files hold, not when they changed)
    (files / "rewards.csv").write_text("等次,奖励\nA,100.00\n", encoding="utf-8")
    assert "S1,2,100.00" in run(files)


def test_a_corrupt_or_foreign_entry_is_ignored_and_replaced(files, monkeypatch):
    first = run(files)
    (entry,) = entries(files)
    entry.write_bytes(b"\x80\x05 not a pickle")
    assert run(files) == first
    entry.write_bytes(pickle.dumps({"format": cache.FORMAT, "files": [], "policy": "not a policy", "order": []}))
    assert run(files) == first
    entry.write_bytes(entry.read_bytes()[:100])  # cut short
    assert run(files) == first
    no_parsing(monkeypatch)  # rewritten whole by the runs above: usable again
    assert run(files) == first


def test_a_policy_with_errors_is_never_cached(files):
    (files / "p.policy").write_text(textwrap.dedent(POLICY).replace("上年星级 +", "上年星极 +"), encoding="utf-8")
    for _ in range(2):
        result = CliRunner().invoke(main, ["run", str(files / "p.policy"), "--records", str(files / "r.csv")])
        assert result.exit_code == 1 and "undefined name '上年星极'" in result.output
    assert entries(files) == []


def test_the_cache_can_be_turned_off(files, monkeypatch):
    monkeypatch.setenv(cache.OFF_ENV, "1")
    first = run(files)
    assert entries(files) == [] and entries(files, "reorder") == []
    calls = []
    parse = syntax.parse_module
    monkeypatch.setattr("policydsl.semantics.parse_module", lambda *a, **k: calls.append(a) or parse(*a, **k))
    assert run(files) == first and calls  # parsed again


def test_check_cached_reports_like_check(files):
    report = api.check_cached(files / "p.policy")
    assert report.ok and list(report.policies) == [str(files / "p.policy")]
    again = api.check_cached(files / "p.policy")  # from the cache
    assert again.policies[str(files / "p.policy")] == report.policies[str(files / "p.policy")]


def test_facts_about_sql_are_kept_for_the_very_text(files):
    cache.store("reorder", "SELECT 1", True, "v1")
    assert cache.lookup("reorder", "SELECT 1", "v1") is True
    assert cache.lookup("reorder", "SELECT 2", "v1") is None
    assert cache.lookup("reorder", "SELECT 1", "v2") is None  # another DuckDB version
    (entry,) = entries(files, "reorder")
    entry.write_bytes(b"garbage")
    assert cache.lookup("reorder", "SELECT 1", "v1") is None


def test_the_folder_stays_bounded(files, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 10)
    for i in range(25):
        cache.store("reorder", f"SELECT {i}", False)
    assert len(entries(files, "reorder")) <= 10
    assert cache.lookup("reorder", "SELECT 24") is False  # the newest is kept


def test_the_same_records_file_with_another_header_gets_its_own_statement(files, monkeypatch):
    first = run(files)
    assert entries(files, "statement")
    no_parsing(monkeypatch)
    # same path, two int columns swapped (a stale statement would read one for the other, and every cell would
    # still look canonical), then one column more
    (files / "r.csv").write_text("编号,年度考核,荣誉数,上年星级\nS1,优秀,0,2\nS2,称职,1,5\nS3,不称职,4,0\n", encoding="utf-8")
    assert run(files) == first
    (files / "r.csv").write_text("上年星级,备注,编号,年度考核,荣誉数\n2,x,S1,优秀,0\n5,,S2,称职,1\n0,y,S3,不称职,4\n",
                                 encoding="utf-8")
    assert run(files) == first
    (files / "r.csv").write_text(RECORDS.replace("S2,称职,5", "S2,称职,1"), encoding="utf-8")
    assert "S2,1,100.00" in run(files)


def test_a_foreign_statement_entry_is_rebuilt(files):
    first = run(files)
    for entry in entries(files, "statement"):
        context, _ = pickle.loads(entry.read_bytes())
        entry.write_bytes(pickle.dumps((context, 42)))  # the right key, a value that is not a statement
    assert run(files) == first


def test_a_clean_file_run_again_streams_from_the_cached_statements(files, monkeypatch):
    """The second run of a clean CSV file runs the cached statements without building the plan (sqlglot)."""
    from policydsl.engines.sql import plan
    first = run(files)
    assert entries(files, "statement")

    def refuse(*args, **kwargs):
        raise AssertionError("the plan was built again")
    monkeypatch.setattr(plan.PolicyPlan, "__init__", refuse)
    assert run(files) == first


@pytest.mark.parametrize("records", [RECORDS + "S2,优秀,1,0\n",  # a key twice: the key query stops it
                                     RECORDS + "S4,优秀,x,0\n",  # a bad cell: the guard stops it
                                     RECORDS + "S4, 优秀,1,0\n"])  # another form Python accepts
def test_a_cached_streamed_run_that_stops_takes_the_careful_way_once(files, monkeypatch, records):
    """The same path and header with a record the streamed pass cannot write: the row engine's bytes and report,
    and the streamed pass is tried once (from the cache), not again by the runner."""
    from policydsl.engines.sql import runner, streamed
    run(files)
    (files / "r.csv").write_text(records, encoding="utf-8")
    tried = []
    original = streamed.stream
    monkeypatch.setattr(streamed, "stream", lambda *a: tried.append("from the cache") or original(*a))
    monkeypatch.setattr(runner, "stream", lambda *a: tried.append("by the runner") or original(*a))
    found = {}
    for engine in ("row", "duckdb"):
        out = files / f"out-{engine}.csv"
        result = CliRunner().invoke(main, ["run", str(files / "p.policy"), "--records", str(files / "r.csv"),
                                           "--out", str(out), "--engine", engine])
        found[engine] = (result.exit_code, result.output.replace(str(out), "OUT"), out.read_bytes())
    assert found["duckdb"] == found["row"]
    assert tried == ["from the cache"]


def test_a_cached_streamed_run_imports_neither_sqlglot_nor_the_row_engine(files):
    """What a repeated clean run loads: not sqlglot and the compiler, the syntax tree, the row engine or the
    comparison package (the summary lines of a run without summaries need none of it)."""
    import subprocess
    import sys
    first = run(files)
    heavy = ("sqlglot", "policydsl.engines.sql.runner", "policydsl.ast", "policydsl.engines.row", "policydsl.compare")
    code = ("import sys\nfrom policydsl.cli import main\ntry:\n    main()\nfinally:\n"
            f"    print('LOADED', [m for m in {heavy!r} if m in sys.modules])\n")
    out = files / "out-sub.csv"
    done = subprocess.run([sys.executable, "-c", code, "run", str(files / "p.policy"), "--records",
                           str(files / "r.csv"), "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout
    assert out.read_text(encoding="utf-8") == first
