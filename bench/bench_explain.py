"""Benchmark: explanations per second (issue 4), against plain traced evaluation in the same process.

    .venv/bin/python bench/bench_explain.py                 # N = 10,000 synthetic Jinyuan secretaries
    .venv/bin/python bench/bench_explain.py --n 100000      # the issue's batch size
    .venv/bin/python bench/bench_explain.py --n 2000 --profile   # + cProfile of explaining 500 records

Records: `data/generate.py`'s `jinyuan()` writes the Jinyuan secretaries CSV at a scale of ceil(N / 76) into a
temporary directory (seed --seed, default 2026: scale 1 is data/jinyuan/secretaries.csv itself); the first N are
loaded with policydsl's own data loader (`explain.load_inputs`), so they are in runtime form exactly as
`policydsl explain --all` sees them. Policy: policies/jinyuan/star_rating.policy (13 outcomes).

Timed with time.perf_counter, one loop each, every result dropped as soon as it is made:

  * baseline — `engine.evaluate(values, trace=True)`: what explaining needs at least (the trace);
  * explain — `Explainer.explain_values` with why-not suggestions on, then with them off (--no-why-not); each
    explainer starts empty, so its memo of sentences (explain/memo.py) fills as the batch goes, as in a real run
    (the share of sentences it did not have to make is printed; --skip-why-not times only the second);
  * render — `explain.render(x, "text")` and `explain.render(x, "html")` of explanations made beforehand.

An explanation's rate for a format is N / (explain time + render time of that format); the ratio divides the
baseline's rate by it (how many times dearer an explanation is than the traced evaluation). Writing files is not
timed here: `policydsl explain --all --out DIR` prints its own rate, files included.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.util
import math
import os
import platform
import pstats
import sys
import tempfile
import time
from pathlib import Path

from policydsl import api, explain

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
POLICY = REPO / "policies" / "jinyuan" / "star_rating.policy"


def records(n: int, seed: int) -> list[tuple[str, dict]]:
    spec = importlib.util.spec_from_file_location("policydsl_data_generate", REPO / "data" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    policy = api.load_policy(str(POLICY))
    with tempfile.TemporaryDirectory() as tmp:
        generate.jinyuan(Path(tmp), seed, max(1, math.ceil(n / 76)))
        loaded = explain.load_inputs(policy, Path(tmp) / "jinyuan" / "secretaries.csv")
    if loaded.errors:
        sys.exit(f"bench: the generated records did not load: {loaded.errors[0].render()}")
    return [(r.id, r.values) for r in loaded.records[:n]]


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="records (default 10,000)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--lang", choices=explain.LANGS, default="zh")
    ap.add_argument("--profile", action="store_true", help="also print a cProfile of explaining 500 records")
    ap.add_argument("--skip-why-not", action="store_true", help="time explanations without suggestions only")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("--n must be at least 1")

    recs = records(args.n, args.seed)
    n = len(recs)
    gc.collect()
    gc.freeze()  # the input dicts never change: keep them out of the collector's way
    policy = api.load_policy(str(POLICY))
    with_why = explain.Explainer(policy, lang=args.lang, why_not=True)
    without = explain.Explainer(policy, lang=args.lang, why_not=False)
    engine = with_why.engine
    as_of = engine.default_as_of()

    def baseline():
        for rid, values in recs:
            engine.evaluate(values, as_of, trace=True, record_id=rid)

    def explaining(explainer):
        def run():
            for rid, values in recs:
                explainer.explain_values(values, rid, as_of)
        return run

    # explanations made beforehand by an explainer of their own (its memo is not the timed ones')
    sampler = explain.Explainer(policy, lang=args.lang, why_not=not args.skip_why_not)
    sample = [sampler.explain_values(values, rid, as_of) for rid, values in recs[:min(n, 2000)]]

    def rendering(fmt):
        def run():
            for i in range(n):
                explain.render(sample[i % len(sample)], fmt)
        return run

    t_base = timed(baseline)
    t_why = math.nan if args.skip_why_not else timed(explaining(with_why))
    t_plain = timed(explaining(without))
    t_text = timed(rendering("text"))
    t_html = timed(rendering("html"))

    print(f"policydsl explain benchmark — {POLICY.relative_to(REPO)}, N = {n:,} records, lang {args.lang}")
    print(f"machine: {os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.system()} {platform.machine()}")
    base_rate = n / t_base
    print(f"{'':34}{'per second':>12}{'per record':>13}{'vs traced evaluation':>23}")
    print(f"{'traced evaluation (baseline)':34}{base_rate:>12,.0f}{t_base / n * 1e6:>10.0f} µs{'1.0×':>23}")
    whys = (("why-not off", t_plain),) if args.skip_why_not else (("why-not on", t_why), ("why-not off", t_plain))
    for why, t in whys:
        label = f"explain, {why}"
        print(f"{label:34}{n / t:>12,.0f}{t / n * 1e6:>10.0f} µs{base_rate / (n / t):>22.1f}×")
    for label, t in (("render text", t_text), ("render html", t_html)):
        print(f"{label:34}{n / t:>12,.0f}{t / n * 1e6:>10.0f} µs")
    print("explanations (explain + render):")
    for why, t_x in whys:
        for fmt, t_r in (("text", t_text), ("html", t_html)):
            rate = n / (t_x + t_r)
            label = f"  {fmt}, {why}"
            print(f"{label:34}{rate:>12,.0f}{(t_x + t_r) / n * 1e6:>10.0f} µs{base_rate / rate:>22.1f}×")
    memo = without._memo.__self__
    print(f"sentences memoised by the values they read (why-not off): {memo.made:,} made for {memo.lookups:,} "
          f"looked up ({1 - memo.made / max(memo.lookups, 1):.1%} shared)")
    if not args.skip_why_not:
        hours = {fmt: 100_000 * (t_why + t_r) / n for fmt, t_r in (("text", t_text), ("html", t_html))}
        print(f"100,000 records with why-not: about {hours['text']:.0f} s (text), {hours['html']:.0f} s (html)")

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for rid, values in recs[:500]:
            explain.render(with_why.explain_values(values, rid, as_of), "html")
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
