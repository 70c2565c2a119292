"""The decision store: a batch kept whole, on SQLite and PostgreSQL; invisible until complete; edits detected by
`audit verify`; replay from the store alone gives every stored outcome again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from store_support import REPO, TEST_KEY, fresh_database, postgres_url  # noqa: F401  (a fixture)

from policydsl import api, cli
from policydsl.store import batches, objections, open_store, publish, replay, replay_compare, verify
from policydsl.store import models as m
from policydsl.store.canonical import sha256
from policydsl.store.db import StoreError

JINYUAN = REPO / "policies/jinyuan/star_rating.policy"
SECRETARIES = REPO / "data/jinyuan/secretaries.csv"
AS_OF = date(2024, 12, 31)


@pytest.fixture
def sqlite_store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'decisions.db'}")
    yield s
    s.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, tmp_path):
    """The same tests on both databases."""
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'decisions.db'}")
    else:
        url = request.getfixturevalue("postgres_url")
        s = open_store(fresh_database(url, f"t{abs(hash(request.node.name)) % 10**8}"), key=TEST_KEY)
    yield s
    s.close()


def test_round_trip_keeps_the_policy_params_inputs_outcomes_and_explanations(any_store):
    batch = publish(any_store, JINYUAN, SECRETARIES, as_of=AS_OF)
    assert (batch.record_count, batch.ok_count, batch.failed_count) == (76, 76, 0)
    assert batch.policy_hash == sha256(JINYUAN.read_bytes())
    assert batch.input_hash == sha256(SECRETARIES.read_bytes())
    assert batch.as_of == "2024-12-31" and batch.engine == "row" and batch.engine_version.startswith("policydsl ")
    files = {path: (role, content) for role, path, content in batches.batch_files(any_store, batch.id)}
    assert files[batch.policy_file] == ("policy", JINYUAN.read_bytes())
    assert any(role == "import" for role, _ in files.values())  # the shared base schema it imports
    assumed = [p for p in batch.params if p["assumed"]]
    assert assumed and all(p["assumed"].strip() for p in assumed)  # `assumed` reasons are kept with the values
    assert all("effective" in p and "values" in p for p in batch.params)
    # Every stored outcome is what `policydsl run` computes.
    expected = api.run_file(api.load_policy(str(JINYUAN)), SECRETARIES, as_of=AS_OF)
    by_id = {r.record_id: json.loads(json.dumps(r.values, default=str)) for r in expected.report.results}
    for d in batches.decisions_of(any_store, batch.id):
        assert d.outcomes == by_id[d.record_id]
    one = batches.get_decision(any_store, batch.id, "JY004")
    assert one.label == "肖芳飞" and one.inputs["编号"] == "JY004"
    assert one.trace["steps"]["星级"]["value"] == one.outcomes["星级"]
    assert "JY004" in one.explanation(any_store, "zh") and 'lang="en"' in one.explanation(any_store, "en")
    assert verify(any_store).ok


def test_replay_gives_every_stored_outcome_again(any_store):
    batch = publish(any_store, JINYUAN, SECRETARIES, as_of=AS_OF, why_not=False)
    report = replay(any_store, batch.id)
    assert report.records == 76 and report.differing == [] and report.problems == []


def _shipped_runs():
    sys.path.insert(0, str(REPO / "data"))
    try:
        from run_all import RUNS
    finally:
        sys.path.pop(0)
    return RUNS


@pytest.mark.slow
@pytest.mark.parametrize("run", _shipped_runs(), ids=lambda r: r[0])
def test_every_shipped_data_set_replays_with_no_difference(sqlite_store, run):
    policy, records, related, as_of = run
    batch = publish(sqlite_store, REPO / f"policies/{policy}.policy", REPO / records, as_of=as_of,
                    related={k: REPO / v for k, v in related.items()}, why_not=False)
    assert batch.ok_count > 0
    report = replay(sqlite_store, batch.id)
    assert report.records == batch.ok_count + sum(1 for d in batches.decisions_of(sqlite_store, batch.id) if not d.ok)
    assert report.differing == [] and report.problems == []


def test_replay_with_a_new_policy_is_the_comparison_for_the_same_people(sqlite_store):
    from policydsl import compare
    batch = publish(sqlite_store, JINYUAN, SECRETARIES, as_of=AS_OF, why_not=False)
    variant = REPO / "policies/variants/jinyuan_1500_per_star.policy"
    stored = replay_compare(sqlite_store, batch.id, variant)
    direct = compare.compare([str(JINYUAN), str(variant)], SECRETARIES, as_of=AS_OF, engine="row")
    assert stored.records_compared == 76
    assert stored.records_differing == direct.records_differing > 0
    assert {d.record_id for d in stored.diffs} == {d.record_id for d in direct.diffs}


def test_a_publish_that_fails_half_way_leaves_nothing_visible(sqlite_store, monkeypatch):
    real = batches._decision_row

    def failing(batch_id, position, *args):
        if position == 60:
            raise KeyboardInterrupt  # as if the process were stopped here
        return real(batch_id, position, *args)

    monkeypatch.setattr(batches, "CHUNK", 20)
    monkeypatch.setattr(batches, "_decision_row", failing)
    with pytest.raises(KeyboardInterrupt):
        publish(sqlite_store, JINYUAN, SECRETARIES, as_of=AS_OF, why_not=False)
    with sqlite_store.reading() as conn:
        assert conn.execute(select(func.count()).select_from(m.decisions)).scalar() == 60  # rows were written …
    assert batches.list_batches(sqlite_store) == []                                      # … but none is visible
    assert batches.get_batch(sqlite_store, 1) is None and batches.get_decision(sqlite_store, 1, "JY001") is None
    assert verify(sqlite_store).ok
    assert batches.discard_unsealed(sqlite_store, older_than_hours=0) == 1


@pytest.mark.slow
def test_a_publishing_process_killed_mid_way_leaves_no_batch(tmp_path):
    db = tmp_path / "killed.db"
    big = tmp_path / "many.csv"
    lines = SECRETARIES.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    with big.open("w", encoding="utf-8") as out:  # 76 × 20 records with distinct ids
        out.write(header + "\n")
        for k in range(20):
            for row in rows:
                out.write(row.replace("JY", f"J{k:02d}Y", 1) + "\n")
    code = (f"from policydsl import store; s = store.open_store('sqlite:///{db}');"
            f"store.publish(s, {str(JINYUAN)!r}, {str(big)!r}, why_not=False)")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    s = None
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            time.sleep(0.2)
            if db.exists():
                s = s or open_store(f"sqlite:///{db}")
                with s.reading() as conn:
                    if conn.execute(select(func.count()).select_from(m.decisions)).scalar() >= 250:
                        break
        else:
            pytest.fail("the publishing process wrote no decisions in time")
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    s = open_store(f"sqlite:///{db}")
    assert batches.list_batches(s) == [] and verify(s).ok


def test_two_officials_publishing_at_once_get_two_whole_batches(any_store):
    sqlite_store = any_store
    results, errors = [], []

    def one():
        try:
            results.append(publish(sqlite_store, JINYUAN, SECRETARIES, as_of=AS_OF, why_not=False))
        except Exception as exc:  # reported below with the test's failure
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(b.id for b in batches.list_batches(sqlite_store)) == sorted(b.id for b in results)
    assert all(b.ok_count == 76 for b in results)
    assert verify(sqlite_store).ok


def _tamper(store, sql: str) -> None:
    with store.write.begin() as conn:
        conn.exec_driver_sql(sql)


@pytest.mark.parametrize("sql, found", [
    ("UPDATE decisions SET outcomes_json = replace(outcomes_json, '\"星级\":2', '\"星级\":5') "
     "WHERE record_id = 'JY004'", "decisions row"),
    ("UPDATE decisions SET inputs_json = replace(inputs_json, '\"任职年限\":', '\"任职年限\":1') "
     "WHERE record_id = 'JY010'", "decisions row"),
    ("UPDATE batches SET as_of = '2023-12-31'", "batches row"),
    ("UPDATE batch_files SET content = X'00' WHERE role = 'policy'", "batch_files row"),
    ("DELETE FROM decisions WHERE record_id = 'JY020'", "ledger entry"),
    ("UPDATE objections SET text = '我撤回' ", "objections row"),
    ("DELETE FROM access_log WHERE id = 1", "ledger entry"),
    ("UPDATE ledger SET digest = '00' WHERE seq = 1", "ledger entry 1"),
    ("UPDATE batch_seals SET ok_count = 70", "ledger entry"),
])
def test_audit_verify_detects_an_edited_row(any_store, sql, found):
    batch = publish(any_store, JINYUAN, SECRETARIES, as_of=AS_OF, why_not=False)
    decision = batches.get_decision(any_store, batch.id, "JY004")
    objections.file(any_store, decision, "appeal", "任职年限少算了一年。", None, "zh")
    assert verify(any_store).ok
    if any_store.dialect == "postgresql":
        sql = sql.replace("X'00'", "'\\x00'::bytea")
    _tamper(any_store, sql)
    report = verify(any_store)
    assert not report.ok
    assert any(found in p for p in report.problems), report.problems


def test_the_cli_audit_verify_and_replay(tmp_path):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    published = runner.invoke(cli.main, ["publish", str(JINYUAN), "--records", str(SECRETARIES), "--as-of",
                                         "2024-12-31", "--db", db, "--no-why-not", "--letters",
                                         str(tmp_path / "letters")])
    assert published.exit_code == 0, published.output
    assert "batch 1:" in published.output and "76 letter(s)" in published.output
    letters = sorted((tmp_path / "letters").glob("letter-*.html"))
    assert len(letters) == 76 and "JY" not in "".join(p.name for p in letters)  # names reveal no one
    again = runner.invoke(cli.main, ["letters", "1", "--out", str(tmp_path / "again"), "--db", db])
    assert again.exit_code == 0 and "76 letter(s)" in again.output
    first, second = (sorted(p.read_text(encoding="utf-8") for p in (tmp_path / d).glob("letter-*.html"))
                     for d in ("letters", "again"))
    assert first == second  # a reprint gives the same letters, the same codes
    assert runner.invoke(cli.main, ["replay", "1", "--db", db]).exit_code == 0
    ok = runner.invoke(cli.main, ["audit", "verify", "--db", db])
    assert ok.exit_code == 0 and "all intact" in ok.output and "head of chain record:" in ok.output
    s = open_store(db)
    _tamper(s, "UPDATE decisions SET outcomes_json = '{}' WHERE record_id = 'JY001'")
    bad = runner.invoke(cli.main, ["audit", "verify", "--db", db])
    assert bad.exit_code == 1 and "tampered: decisions row" in bad.output
    changed = runner.invoke(cli.main, ["replay", "1", "--db", db])
    assert changed.exit_code == 1 and "record JY001" in changed.output
    compared = runner.invoke(cli.main, ["replay", "1", "--db", db, "--policy",
                                        str(REPO / "policies/variants/jinyuan_1500_per_star.policy")])
    assert compared.exit_code == 0 and "would change" in compared.output


def test_store_errors_are_sentences_not_tracebacks(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    with pytest.raises(StoreError, match="not a database URL"):
        open_store("not a url")
    with pytest.raises(StoreError, match="cannot be opened"):
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    result = CliRunner().invoke(cli.main, ["batches", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 1 and result.output.startswith("error: ") and "Traceback" not in result.output
    missing = CliRunner().invoke(cli.main, ["replay", "9", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert missing.exit_code == 1 and "no complete batch 9" in missing.output


def test_explanations_are_stored_compressed_and_whole(sqlite_store):
    batch = publish(sqlite_store, JINYUAN, SECRETARIES, as_of=AS_OF, why_not=False)
    with sqlite_store.reading() as conn:
        blob = conn.execute(select(m.decisions.c.explanation_zh).where(m.decisions.c.record_id == "JY004")).scalar()
    page = zlib.decompress(blob).decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert len(blob) < len(page.encode("utf-8")) / 2
    assert batch.totals["星级运用"]["counts"] and "sum" in batch.totals["星级奖励"]


def test_a_store_from_a_newer_policydsl_is_refused_not_changed(tmp_path):
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    s = open_store(url)
    with s.write.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    s.close()
    with pytest.raises(StoreError, match="newer than this policydsl knows"):
        open_store(url)


def test_opening_a_store_twice_migrates_once_and_keeps_its_batches(tmp_path):
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    first = open_store(url)
    batch = publish(first, JINYUAN, SECRETARIES, as_of=AS_OF, why_not=False)
    first.close()
    again = open_store(url)
    assert batches.get_batch(again, batch.id).ok_count == 76 and verify(again).ok
