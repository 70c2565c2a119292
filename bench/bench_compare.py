"""Benchmark: `compare.compare` on N synthetic Jinyuan secretaries, against just running both policies.

    .venv/bin/python bench/bench_compare.py                         # N = 100,000 and 1,000,000
    .venv/bin/python bench/bench_compare.py --sizes 20000           # a quick look
    .venv/bin/python bench/bench_compare.py --keep-data /tmp/cmp    # keep (and reuse) the generated CSVs

What is measured, for each N:

  * **compare**: `compare.compare([policies/jinyuan/star_rating.policy,
    policies/variants/jinyuan_1500_per_star.policy], csv, detail_limit=…)` — loading the CSV, evaluating both
    policies, per-record differences, totals, structure. Wall time (time.perf_counter), records/second and the
    process's peak RSS (resource.getrusage(RUSAGE_SELF).ru_maxrss). With `--report`, the time to render the
    Markdown and JSON reports is reported separately (not included in the compare time).
  * **baseline**: the same records loaded and evaluated by each policy on its own, without any comparison:
    `api.run_file(policy, csv)` for the baseline policy, then for the variant (the first result is dropped before
    the second run). The ratio compare / baseline is what the comparison itself costs on top of running both.

Every measurement runs in a fresh child process (this script with `--child …`), so that each peak RSS is that
measurement's own and not the parent's or the previous size's. The CSV is written by `data/generate.py`'s
`jinyuan()` (also in a child process) with `--scale` = ceil(N / 76), then cut to its first N records; the same seed
always gives the same file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BASE = REPO / "policies" / "jinyuan" / "star_rating.policy"
VARIANT = REPO / "policies" / "variants" / "jinyuan_1500_per_star.policy"
GENERATOR = REPO / "data" / "generate.py"
PER_SCALE = 76  # data/generate.py writes 76 × scale Jinyuan secretaries


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# ------------------------------------------------------------------------------------------------ children

def child_generate(n: int, seed: int, out: Path) -> dict:
    spec = importlib.util.spec_from_file_location("policydsl_data_generate", GENERATOR)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        gen.jinyuan(Path(tmp), seed, math.ceil(n / PER_SCALE))
        written = Path(tmp) / "jinyuan" / "secretaries.csv"
        with written.open(encoding="utf-8", newline="") as src, out.open("w", encoding="utf-8", newline="") as dst:
            for i, line in enumerate(src):
                if i > n:  # the header, then n records
                    break
                dst.write(line)
    return {"seconds": time.perf_counter() - started, "bytes": out.stat().st_size}


def child_compare(csv_path: Path, detail_limit: int, report: bool) -> dict:
    from policydsl import api, compare
    policies = [api.load_policy(str(BASE)), api.load_policy(str(VARIANT))]  # parsing is not timed
    started = time.perf_counter()
    c = compare.compare(policies, csv_path, detail_limit=detail_limit)
    seconds = time.perf_counter() - started
    out = {"seconds": seconds, "records": c.records_total, "compared": c.records_compared,
           "differing": c.records_differing, "kept": len(c.diffs), "peak_rss_mib": peak_rss_mib(),
           "problems": len(compare.problems(c))}
    if report:
        started = time.perf_counter()
        # the reports an official gets: the page, Markdown, JSON and every changed record as CSV (and .xlsx
        # with POLICYDSL_BENCH_XLSX=1: openpyxl streams the rows, but slowly); explanations are not written
        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for suffix in (".html", ".md", ".json", ".csv") + ((".xlsx",) if os.environ.get("POLICYDSL_BENCH_XLSX")
                                                               else ()):
                files += c.write(Path(tmp) / f"report{suffix}", explanations=False)
            out["report_seconds"] = time.perf_counter() - started
            out["report_bytes"] = sum(p.stat().st_size for p in files)
        out["peak_rss_mib_with_report"] = peak_rss_mib()
    return out


def child_baseline(csv_path: Path) -> dict:
    from policydsl import api
    policies = [api.load_policy(str(BASE)), api.load_policy(str(VARIANT))]
    started = time.perf_counter()
    counts = []
    for policy in policies:
        result = api.run_file(policy, csv_path)
        counts.append(len(result.loaded.records))
        del result
    return {"seconds": time.perf_counter() - started, "records": counts, "peak_rss_mib": peak_rss_mib()}


def run_child(*args: str) -> dict:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", *args],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"child {args[0]} failed with status {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------ main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated record counts")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--detail-limit", type=int, default=1000, help="compare(detail_limit=…); default 1000")
    parser.add_argument("--keep-data", type=Path, help="write (and reuse) the CSVs in this folder")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run_file baseline")
    parser.add_argument("--report", action="store_true", help="also time rendering the Markdown + JSON reports")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, rest = args.child[0], args.child[1:]
        if kind == "generate":
            result = child_generate(int(rest[0]), int(rest[1]), Path(rest[2]))
        elif kind == "compare":
            result = child_compare(Path(rest[0]), int(rest[1]), rest[2] == "1")
        else:
            result = child_baseline(Path(rest[0]))
        print(json.dumps(result))
        return 0

    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes: comma-separated integers")
    if not sizes or min(sizes) < 1:
        parser.error("--sizes: at least one record")

    print(f"machine: {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}")
    tmp = None
    folder = args.keep_data
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_compare_")
        folder = Path(tmp.name)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for n in sizes:
            csv_path = folder / f"jinyuan_{n}_seed{args.seed}.csv"
            if not csv_path.exists():
                g = run_child("generate", str(n), str(args.seed), str(csv_path))
                print(f"N={n:,}: generated {csv_path} ({g['bytes'] / 2**20:.0f} MiB) in {g['seconds']:.1f} s",
                      flush=True)
            c = run_child("compare", str(csv_path), str(args.detail_limit), "1" if args.report else "0")
            line = (f"N={n:,}: compare {c['seconds']:.1f} s, {c['records'] / c['seconds']:,.0f} records/s, "
                    f"peak RSS {c['peak_rss_mib']:,.0f} MiB; {c['compared']:,} compared, {c['differing']:,} differ, "
                    f"{c['kept']:,} kept in detail")
            if args.report:
                line += (f"; reports (html + md + json + csv) {c['report_seconds']:.1f} s, {c['report_bytes'] / 2**20:.1f} MiB, "
                         f"peak RSS then {c['peak_rss_mib_with_report']:,.0f} MiB")
            print(line, flush=True)
            b = None
            if not args.no_baseline:
                b = run_child("baseline", str(csv_path))
                print(f"N={n:,}: baseline (run_file × 2) {b['seconds']:.1f} s, "
                      f"{n / b['seconds']:,.0f} records/s, peak RSS {b['peak_rss_mib']:,.0f} MiB; "
                      f"compare / baseline = {c['seconds'] / b['seconds']:.2f}×", flush=True)
            rows.append((n, c, b))
    finally:
        if tmp is not None:
            tmp.cleanup()

    print()
    print("| N | compare wall | compare records/s | compare peak RSS | run_file × 2 wall | run_file × 2 peak RSS | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, c, b in rows:
        base = (f"{b['seconds']:.1f} s | {b['peak_rss_mib']:,.0f} MiB | {c['seconds'] / b['seconds']:.2f}×"
                if b else "— | — | —")
        print(f"| {n:,} | {c['seconds']:.1f} s | {c['records'] / c['seconds']:,.0f} | {c['peak_rss_mib']:,.0f} MiB | "
              + base + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
