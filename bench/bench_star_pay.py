"""Benchmark: the compiled engine against a hand-written Python function for the same star-and-pay rules.

    .venv/bin/python bench/bench_star_pay.py                  # N = 100,000 and 1,000,000
    .venv/bin/python bench/bench_star_pay.py --quick          # N = 20,000 only
    .venv/bin/python bench/bench_star_pay.py --sizes 100000 --repeat 3
    .venv/bin/python bench/bench_star_pay.py --quick --profile   # + cProfile of the engine (not timed)

The rules are `bench/star_pay.policy` (a self-contained copy of policies/jinyuan/star_rating.policy). `baseline`
below implements the same rules in plain Python with the same money arithmetic (Decimal, every money outcome
rounded to the fen half up). Before anything is timed, the engine's outcomes must equal the baseline's on the first
10,000 records — same names, same types, and for money the same Decimal text (so "30000.00", not "3E+4") — or the
script exits with status 1. Then, in this one process, with time.perf_counter:

  * the baseline over all N records;
  * engine.evaluate(record) (trace=False) over all N records;
  * engine.evaluate(record, trace=True) over all N records, or over the first --trace-limit records (default
    200,000) when N is larger — the rate is what is compared, and the output says when a slice was timed.

Records are generated once (random.Random(seed)), already in runtime form (int, Decimal money and percent, enum
labels as str, bool), and reused by every size and every timing; every result is discarded as soon as it is made.
After generation the records are moved out of the garbage collector's way (gc.freeze) so that neither side pays
for re-scanning a million dicts that never change.

Exit status: 0 when verification passed (whether or not the ratio targets were met — missing a target is a finding,
not a crash), 1 when the engine and the baseline disagree or a record fails, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import platform
import pstats
import random
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from policydsl.engines.row import Engine
from policydsl.semantics import Loader

HERE = Path(__file__).resolve().parent
POLICY = HERE / "star_pay.policy"
JINYUAN = HERE.parent / "policies" / "jinyuan" / "star_rating.policy"

VERIFY_COUNT = 10_000
TARGET_PLAIN = 5.0    # engine without traces: at most 5x the hand-written time per record
TARGET_TRACED = 15.0  # engine with traces: at most 15x

# ------------------------------------------------------------------------------------------------ synthetic data

EDUCATION = ("初中", "高中", "中专", "大专", "本科", "研究生")      # ordered, lowest first
ASSESSMENT = ("优秀", "称职", "基本称职", "不称职")
UNIT_KIND = ("行政村", "城镇社区")


def generate(n: int, seed: int) -> list[dict]:
    """n secretary records in runtime form; the same seed always gives the same records (and a prefix of a
    longer run is the shorter run)."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        education = rng.choices(EDUCATION, weights=(5, 20, 10, 35, 25, 5))[0]
        rank = EDUCATION.index(education)
        # most secretaries kept their education; ~15% moved up one or two levels since the last rating
        previous = EDUCATION[max(0, rank - rng.choice((1, 1, 2)))] if rng.random() < 0.15 else education
        last_stars = rng.randint(0, 7)
        # 30,000.00 .. 70,000.00 yuan in fen; one in five carries a tenth of a fen (a standard derived upstream),
        # without which no 60%/40%/band product ever lands exactly on half a fen and ROUND_HALF_UP would go untested
        if rng.random() < 0.2:
            standard = Decimal(rng.randint(30_000_000, 70_000_000)).scaleb(-3)
        else:
            standard = Decimal(rng.randint(3_000_000, 7_000_000)).scaleb(-2)
        records.append({
            "编号": f"S{i:07d}",
            "村社类型": UNIT_KIND[0] if rng.random() < 0.7 else UNIT_KIND[1],
            "年度考核": rng.choices(ASSESSMENT, weights=(25, 60, 10, 5))[0],
            "荣誉数": rng.choices((0, 1, 2, 3, 4), weights=(50, 25, 15, 7, 3))[0],
            "任职年限": rng.randint(0, 20),
            "集体经济增幅": Decimal(rng.randint(-200, 400)).scaleb(-3),     # -20.0% .. 40.0%, 0.1% steps
            "突出贡献": rng.random() < 0.2,
            "学历": education,
            "上年学历": previous,
            "负面情形数": rng.choices((0, 1, 2, 3), weights=(80, 12, 5, 3))[0],
            "严重问题": rng.random() < 0.02,
            "上年星级": last_stars,
            "初评星级": rng.randint(0, last_stars),
            "年报酬标准": standard,
            "正常离任": rng.random() < 0.1,
        })
    return records


# ------------------------------------------------------------------------------------------------ hand-written rules

FEN = Decimal("0.01")
ZERO_YUAN = Decimal("0.00")
GROWTH_THRESHOLD = Decimal("0.10")                 # 增收致富门槛 10%
BASE_SHARE, PERFORMANCE_SHARE = Decimal("0.60"), Decimal("0.40")
PER_STAR_REWARD = Decimal("1000")                  # 每星奖励
EDUCATION_REWARD = Decimal("1000")                 # 学历提升星奖励
COLLECTIVE_BONUS = Decimal("2000")                 # 集体经济一次性奖励
PENSION_PER_STAR, PENSION_CAP = Decimal("100"), Decimal("600")
DEPARTURE_BASE, DEPARTURE_PER_STAR, DEPARTURE_EXTRA = Decimal("300"), Decimal("40"), Decimal("50")
STAR_CAP, HIGH_STARS, LOW_STARS, TERM_GAIN = 7, 5, 1, 5
ASSESSMENT_STARS = {"优秀": 2, "称职": 1}
EDUCATION_RANK = {label: i for i, label in enumerate(EDUCATION)}


def money(x: Decimal) -> Decimal:
    return x.quantize(FEN, rounding=ROUND_HALF_UP)


def baseline(r: dict) -> dict:
    """The star-and-pay rules written by hand: what a programmer would write without the DSL."""
    tenure = r["任职年限"]
    tenure_stars = 2 if tenure >= 10 else 1 if tenure >= 5 else 0
    base_stars = ASSESSMENT_STARS.get(r["年度考核"], 0) + min(r["荣誉数"], 2) + tenure_stars
    growth = r["集体经济增幅"] >= GROWTH_THRESHOLD
    education_star = 1 if EDUCATION_RANK[r["学历"]] > EDUCATION_RANK[r["上年学历"]] else 0
    added = (1 if growth else 0) + (1 if r["突出贡献"] else 0) + education_star
    stars = 0 if r["严重问题"] else min(max(base_stars + added - r["负面情形数"], 0), STAR_CAP)
    change = stars - r["上年星级"]

    village = r["村社类型"] == "行政村"
    standard = r["年报酬标准"]
    base_pay = money(standard * BASE_SHARE) if village else money(standard)
    if village:
        factor = Decimal("1") if stars >= 5 else Decimal("0.8") if stars >= 3 else (
            Decimal("0.6") if stars >= 1 else Decimal("0.4"))
        performance_pay = money(standard * PERFORMANCE_SHARE * factor)
    else:
        performance_pay = ZERO_YUAN
    star_reward = money(max(0, change) * PER_STAR_REWARD)
    education_reward = money(education_star * EDUCATION_REWARD)
    collective = money(COLLECTIVE_BONUS) if village and growth else ZERO_YUAN
    total = money(base_pay + performance_pay + star_reward + education_reward + collective)

    term_gain = stars - r["初评星级"]
    leaving = r["正常离任"]
    if village and leaving:
        departure = money(DEPARTURE_BASE + stars * DEPARTURE_PER_STAR
                          + (DEPARTURE_EXTRA if term_gain >= TERM_GAIN else ZERO_YUAN))
    else:
        departure = ZERO_YUAN
    if stars >= HIGH_STARS and r["年度考核"] == "优秀":
        use = "可推荐事业编"
    elif stars <= LOW_STARS:
        use = "诫勉督促"
    else:
        use = "常规管理"
    return {
        "星级": stars,
        "星级变化": change,
        "基础工资": base_pay,
        "绩效工资": performance_pay,
        "星级奖励": star_reward,
        "学历提升奖励": education_reward,
        "集体经济奖励": collective,
        "年度报酬合计": total,
        "养老保险星级补助": money(min(stars * PENSION_PER_STAR, PENSION_CAP)),
        "任期增星": term_gain,
        "离任月补贴": departure,
        "离任保留待遇": (not village) and leaving and stars >= HIGH_STARS,
        "星级运用": use,
    }


# ------------------------------------------------------------------------------------------------ verification

def _same(a: object, b: object) -> bool:
    """Exactly equal: same type and value; Decimals also with the same exponent (30000.00 is not 3E+4)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Decimal):
        return a == b and a.as_tuple() == b.as_tuple()
    return a == b


def verify(engine: Engine, records: list[dict]) -> int:
    """Engine outcomes == baseline outcomes on every record, else print the first differences and exit 1."""
    bad = 0
    for r in records:
        result = engine.evaluate(r, record_id=r["编号"])
        expected = baseline(r)
        if result.error:
            problem = f"engine error: {result.error}"
        elif result.values.keys() != expected.keys():
            problem = (f"outcome names differ: engine only {sorted(result.values.keys() - expected.keys())}, "
                       f"baseline only {sorted(expected.keys() - result.values.keys())}")
        else:
            wrong = [f"{k}: engine {result.values[k]!r} baseline {expected[k]!r}"
                     for k in expected if not _same(result.values[k], expected[k])]
            problem = "; ".join(wrong)
        if problem:
            bad += 1
            if bad <= 5:
                print(f"  MISMATCH {r['编号']}: {problem}", file=sys.stderr)
    if bad:
        print(f"verification FAILED: {bad} of {len(records):,} records differ — the ratios would be meaningless",
              file=sys.stderr)
        sys.exit(1)
    return len(expected)


def cross_check_jinyuan(engine: Engine, records: list[dict]) -> str:
    """Soft check that bench/star_pay.policy still says what the Jinyuan policy says (a note, never fatal)."""
    loader = Loader()
    try:
        policy = loader.load(str(JINYUAN))
    except Exception as exc:  # noqa: BLE001 — the Jinyuan file is someone else's work in progress
        return f"not compared ({type(exc).__name__}: {exc})"
    if policy is None:
        return "not compared (the Jinyuan policy does not check cleanly right now)"
    jinyuan = Engine(policy)
    differ = 0
    for r in records:
        ours = engine.evaluate(r).values
        theirs = jinyuan.evaluate({**r, "姓名": "x"}).values
        if any(not _same(ours[k], theirs.get(k)) for k in ours):
            differ += 1
    return "same outcomes" if not differ else f"DIFFERENT outcomes on {differ} records — update star_pay.policy"


# ------------------------------------------------------------------------------------------------ timing

def best_time(fn, records: list[dict], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(records)
        best = min(best, time.perf_counter() - t0)
    return best


def run_baseline(records: list[dict]) -> None:
    f = baseline
    for r in records:
        f(r)


def run_engine(engine: Engine):
    evaluate = engine.evaluate

    def run(records: list[dict]) -> None:
        for r in records:
            evaluate(r)
    return run


def run_engine_traced(engine: Engine):
    evaluate = engine.evaluate

    def run(records: list[dict]) -> None:
        for r in records:
            evaluate(r, trace=True)
    return run


def profile(engine: Engine, records: list[dict], trace: bool, top: int) -> None:
    evaluate = engine.evaluate
    prof = cProfile.Profile()
    prof.enable()
    for r in records:
        evaluate(r, trace=trace)
    prof.disable()
    print(f"\n--- cProfile, engine trace={trace}, {len(records):,} records (tottime = time inside the function) ---")
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated record counts (default 100000,1000000)")
    ap.add_argument("--quick", action="store_true", help="N = 20,000 only (overrides --sizes)")
    ap.add_argument("--seed", type=int, default=20220101)
    ap.add_argument("--repeat", type=int, default=1, help="time each run this many times, keep the best")
    ap.add_argument("--trace-limit", type=int, default=200_000,
                    help="time traced evaluation on at most this many records (default 200,000)")
    ap.add_argument("--profile", action="store_true", help="afterwards, cProfile the engine on 20,000 records")
    args = ap.parse_args(argv)
    try:
        sizes = [20_000] if args.quick else [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error("--sizes takes comma-separated integers")
    if not sizes or min(sizes) <= 0 or args.repeat < 1 or args.trace_limit < 1:
        ap.error("sizes, --repeat and --trace-limit must be positive")

    print(f"machine: {os.cpu_count()} CPU(s) (nproc {len(os.sched_getaffinity(0))}), load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; Python {platform.python_version()} "
          f"({platform.python_implementation()}) on {platform.system()} {platform.machine()}")
    loader = Loader()
    policy = loader.load(str(POLICY))
    if policy is None:
        for d in loader.diags.items:
            print(d, file=sys.stderr)
        print(f"{POLICY} does not check", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    engine = Engine(policy)
    print(f"policy: {POLICY.relative_to(HERE.parent)} — {len(engine.order)} nodes, "
          f"{len(engine.outcome_slots)} outcomes; compiled in {time.perf_counter() - t0:.3f} s")

    n_max = max(sizes)
    t0 = time.perf_counter()
    records = generate(n_max, args.seed)
    gc.collect()
    gc.freeze()
    print(f"data: {n_max:,} synthetic records (seed {args.seed}) generated in {time.perf_counter() - t0:.1f} s")

    sample = records[:VERIFY_COUNT]
    outcomes = verify(engine, sample)
    print(f"verify: engine == baseline on {len(sample):,} records x {outcomes} outcomes (exact: type, value, "
          f"Decimal exponent)")
    print(f"cross-check with {JINYUAN.relative_to(HERE.parent)} on 1,000 records: "
          f"{cross_check_jinyuan(engine, records[:1000])}")

    plain, traced = run_engine(engine), run_engine_traced(engine)
    rows = []
    missed = False
    for n in sizes:
        data = records[:n]
        print(f"\nN = {n:,}" + (f"  (best of {args.repeat})" if args.repeat > 1 else ""))
        tb = best_time(run_baseline, data, args.repeat)
        print(f"  hand-written     : {tb:8.2f} s  {n / tb:>10,.0f} records/s")
        te = best_time(plain, data, args.repeat)
        print(f"  engine, no trace : {te:8.2f} s  {n / te:>10,.0f} records/s")
        tn = min(n, args.trace_limit)
        tt = best_time(traced, data[:tn], args.repeat)
        sliced = f"  (first {tn:,} records only)" if tn < n else ""
        print(f"  engine, traced   : {tt:8.2f} s  {tn / tt:>10,.0f} records/s{sliced}")
        r_plain = te / tb
        r_traced = (tt / tn) / (tb / n)
        ok_plain, ok_traced = r_plain <= TARGET_PLAIN, r_traced <= TARGET_TRACED
        missed |= not (ok_plain and ok_traced)
        print(f"  traces off: {r_plain:.1f}x slower than hand-written (target ≤ {TARGET_PLAIN:g}x)  "
              f"{'met' if ok_plain else 'MISSED'}")
        print(f"  traces on : {r_traced:.1f}x slower than hand-written (target ≤ {TARGET_TRACED:g}x)  "
              f"{'met' if ok_traced else 'MISSED'}")
        rows.append((n, n / tb, n / te, tn / tt, tn, r_plain, r_traced))
        del data

    print("\n| N | hand-written rec/s | engine rec/s | engine traced rec/s | traces off | traces on |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, b, e, t, tn, rp, rt in rows:
        slice_note = f" ({tn:,} slice)" if tn < n else ""
        print(f"| {n:,} | {b:,.0f} | {e:,.0f} | {t:,.0f}{slice_note} | {rp:.1f}x | {rt:.1f}x |")
    if missed:
        print("\nat least one target was missed: run with --profile to see which closures dominate")

    if args.profile:
        profile(engine, records[:20_000], False, 25)
        profile(engine, records[:20_000], True, 30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
