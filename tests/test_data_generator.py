"""The synthetic data set in data/: deterministic, sized like the sources, clean where it should be, bad where documented."""

from __future__ import annotations

import csv
import importlib.util
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from policydsl import api

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
POLICIES = REPO / "policies"


def _generator():
    spec = importlib.util.spec_from_file_location("data_generate", DATA / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


# ------------------------------------------------------------------------------------------------ determinism

def test_same_seed_gives_identical_bytes(tmp_path):
    gen = _generator()
    gen.generate(tmp_path / "a", seed=2026, scale=1)
    gen.generate(tmp_path / "b", seed=2026, scale=1)
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert a and a == b


def test_committed_files_are_the_default_run(tmp_path):
    _generator().generate(tmp_path, seed=2026, scale=1)
    generated = _tree(tmp_path)
    committed = {name: data for name, data in _tree(DATA).items() if name in generated}
    assert committed.keys() == generated.keys(), "run: python data/generate.py"
    changed = [name for name in generated if committed[name] != generated[name]]
    assert not changed, f"stale committed data (run: python data/generate.py): {changed}"


def test_other_seed_differs_and_scale_multiplies(tmp_path):
    gen = _generator()
    gen.generate(tmp_path / "s", seed=7, scale=2)
    assert (tmp_path / "s" / "jinyuan" / "secretaries.csv").read_bytes() != (DATA / "jinyuan" / "secretaries.csv").read_bytes()
    assert len(_rows(tmp_path / "s" / "jinyuan" / "secretaries.csv")) == 2 * 76
    assert len(_rows(tmp_path / "s" / "longshan" / "villages.csv")) == 2 * 397
    assert len(_rows(tmp_path / "s" / "longshan" / "staff.csv")) == 2 * 1198
    people = sum(int(r["常住人口"]) for r in _rows(tmp_path / "s" / "jiangbei" / "communities.csv"))
    assert people == 2 * 348130
    ids = [r["编号"] for r in _rows(tmp_path / "s" / "xiangan" / "workers.csv")]
    assert len(ids) == len(set(ids))


# ------------------------------------------------------------------------------------------------ sizes

def test_sizes_match_the_sources():
    assert len(_rows(DATA / "jinyuan" / "secretaries.csv")) == 76
    assert len(_rows(DATA / "longshan" / "villages.csv")) == 397
    staff = _rows(DATA / "longshan" / "staff.csv")
    assert len(staff) == 1198
    jiangbei = _rows(DATA / "jiangbei" / "communities.csv")
    assert len(jiangbei) == 137
    residents = sum(int(r["常住人口"]) for r in jiangbei)
    places = (Decimal(residents) * Decimal("21.4") / 10000).quantize(Decimal(1), rounding="ROUND_HALF_UP")
    assert places == 745
    xiangan = _rows(DATA / "xiangan" / "communities.csv")
    assert len(xiangan) == 128 and sum(r["类型"] == "城镇社区" for r in xiangan) == 98
    assert sum(int(r["常住人口"]) for r in xiangan) == 610000
    assert len(_rows(DATA / "xiangan" / "grids.csv")) >= 550
    assert sum(r["岗位"] == "专职工作者" for r in _rows(DATA / "xiangan" / "workers.csv")) == 733
    tancheng = _rows(DATA / "tancheng" / "communities.csv")
    assert sum(int(r["专职社区工作者数"]) for r in tancheng) == 51
    assert sum(int(r["专职网格员数"]) for r in tancheng) == 108


def test_values_are_plausible():
    as_of = date(2019, 3, 1)
    for r in _rows(DATA / "longshan" / "staff.csv"):
        born = date.fromisoformat(r["出生日期"])
        age = as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))
        assert 22 <= age <= 62, r
        assert re.fullmatch(r"[0-9]+\.[0-9]{2}", r["月绩效工资"]), r
    for r in _rows(DATA / "jiangbei" / "communities.csv"):
        assert 1000 <= int(r["常住人口"]) <= 8000, r
        assert r["拆迁安置户占比"].endswith("%"), r
    xinmi_codes = {r["编号"] for r in _rows(POLICIES / "xinmi" / "duties.csv")}
    tasks = _rows(DATA / "xinmi" / "tasks.csv")
    on_list = sum(t["职责编号"] in xinmi_codes for t in tasks)
    assert 0 < on_list < len(tasks)  # most on the duty list, some not


# ------------------------------------------------------------------------------------------------ good files run clean

AS_OF_2019_END = date(2019, 12, 31)

GOOD_RUNS = [
    ("jinyuan/star_rating.policy", "jinyuan/secretaries.csv", {}, None),
    ("jinyuan/tancheng_funds.policy", "tancheng/communities.csv", {}, None),
    ("longshan/village.policy", "longshan/villages.csv",
     {"在岗": "longshan/staff.csv", "荣誉": "longshan/honours.csv"}, AS_OF_2019_END),
    ("longshan/discipline.policy", "longshan/staff.csv", {"擅离": "longshan/absences.csv"}, AS_OF_2019_END),
    ("longshan/discipline.policy", "longshan/staff.csv", {"擅离": "longshan/absences.csv"}, None),
    ("longshan/pay.policy", "longshan/staff.csv", {}, None),
    ("longshan/eligibility.policy", "longshan/candidates.csv", {}, None),
    ("longshan/office_hours.policy", "longshan/office_hours.csv", {}, None),
    ("jiangbei/classification.policy", "jiangbei/communities.csv", {}, None),
    ("jiangbei/grids.policy", "jiangbei/communities.csv", {"网格": "jiangbei/grids.csv"}, None),
    ("jiangbei/quota.policy", "jiangbei/communities.csv", {"工作者": "jiangbei/workers.csv"}, None),
    ("jiangbei/pay.policy", "jiangbei/workers.csv", {}, None),
    ("jiangbei/admission.policy", "jiangbei/tasks.csv", {}, None),
    ("xiangan/grid_quota.policy", "xiangan/communities.csv",
     {"网格": "xiangan/grids.csv", "工作者": "xiangan/workers.csv"}, None),
    ("xiangan/assessment.policy", "xiangan/workers.csv", {"季度考核": "xiangan/quarterly_scores.csv"}, None),
    ("xiangan/entry.policy", "xiangan/candidates.csv", {}, None),
    ("xiangan/consolidation.policy", "../policies/xiangan/old_posts.csv", {}, None),
    ("xinmi/staffing.policy", "xinmi/communities.csv", {"工作者": "xinmi/workers.csv"}, None),
    ("xinmi/routing.policy", "xinmi/tasks.csv", {}, None),
]


def _run(policy: str, records: str, related: dict[str, str], as_of: date | None):
    loaded = api.load_policy(str(POLICIES / policy))
    return api.run_file(loaded, DATA / records, as_of, related={k: DATA / v for k, v in related.items()})


@pytest.mark.parametrize("policy,records,related,as_of", GOOD_RUNS,
                         ids=[f"{p}:{Path(r).name}{'@' + str(a) if a else ''}" for p, r, _, a in GOOD_RUNS])
def test_good_file_runs_with_no_failure(policy, records, related, as_of):
    outcome = _run(policy, records, related, as_of)
    problems = [e.render() for e in outcome.data_errors] + [f"{r.record_id}: {r.error}" for r in outcome.evaluation_failures]
    assert outcome.failed_count == 0, problems[:10]
    assert not outcome.data_errors, problems[:10]  # no orphan related rows either
    assert outcome.ok_count == len(_rows(DATA / records))


def test_every_data_file_is_used_by_a_run():
    used = {r for _, r, _, _ in GOOD_RUNS} | {f for _, _, rel, _ in GOOD_RUNS for f in rel.values()}
    shipped = {str(p.relative_to(DATA)) for p in DATA.rglob("*.csv") if not p.name.startswith("bad_")}
    assert shipped <= used, shipped - used


def test_seed_checks_are_reproduced():
    quota = _run("jiangbei/quota.policy", "jiangbei/communities.csv", {"工作者": "jiangbei/workers.csv"}, None)
    assert quota.report.summaries["全区员额"] == 745
    grids = _run("xiangan/grid_quota.policy", "xiangan/communities.csv",
                 {"网格": "xiangan/grids.csv", "工作者": "xiangan/workers.csv"}, None)
    assert grids.report.summaries["全区核定网格数"] >= 550
    assert grids.report.summaries["全区实有专职工作者"] == 733
    village = _run("longshan/village.policy", "longshan/villages.csv",
                   {"在岗": "longshan/staff.csv", "荣誉": "longshan/honours.csv"}, AS_OF_2019_END)
    assert village.report.summaries["全县在岗全职人数"] == 1198
    assert village.report.summaries["一类班子数"] == 39


# ------------------------------------------------------------------------------------------------ bad files

def _documented_bad_records() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(bad file, policy) → [(record id, field)], from the table in data/README.md."""
    table: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for line in (DATA / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`") and "bad_" in cells[0]:
            table[(cells[0].strip("`"), cells[1].strip("`"))].append((cells[2], cells[3]))
    return table


BAD = _documented_bad_records()


def test_every_bad_file_is_documented():
    shipped = {str(p.relative_to(DATA)) for p in DATA.rglob("bad_*.csv")}
    assert shipped == {f for f, _ in BAD}
    for county in ("jinyuan", "longshan"):
        assert any(f.startswith(county + "/") for f in shipped)
    for (_, _), records in BAD.items():
        assert 5 <= len(records) <= 8


@pytest.mark.parametrize("bad_file,policy", sorted(BAD), ids=[f for f, _ in sorted(BAD)])
def test_bad_file_fails_exactly_the_documented_records(bad_file, policy):
    outcome = _run(policy, bad_file, {}, None)
    documented = BAD[(bad_file, policy)]
    assert outcome.failed_count == len(documented)
    assert not outcome.evaluation_failures  # bad records fail to load; the good ones evaluate
    reported = {(e.record_id, e.field) for e in outcome.data_errors}
    assert reported == set(documented)
    assert outcome.ok_count >= 2  # mixed with good records
