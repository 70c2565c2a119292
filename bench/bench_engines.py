"""Benchmark: engines end to end (read file → evaluate → write file), one generated file, every system side by side.

    .venv/bin/python bench/bench_engines.py                         # Jinyuan 1M and 10M, Jiangbei 1M communities
    .venv/bin/python bench/bench_engines.py --quick                 # 100,000 records of each: a smoke run
    .venv/bin/python bench/bench_engines.py --records 1000000 --jiangbei 0 --data-dir /tmp/bench-engines
    .venv/bin/python bench/bench_engines.py --check-only            # only the correctness check on the samples

The systems, each run in its own child process so that its wall time and peak RSS are its own:

  row        `policydsl run POLICY --records FILE [--related F=FILE] --out out.csv --engine row`
             (without `--engine` while the command has no such option: today's `policydsl run` is the row engine)
  duckdb     `policydsl run … --engine duckdb`: the policy compiled to SQL (issue 9); "not available yet" until the
             command offers it
  sql        the same rules hand-written as one DuckDB SQL query (bench/handwritten_sql.py)
  openfisca  OpenFisca-Core on the same rules: a minimal tax-benefit system, pandas CSV in and out
             (bench/openfisca_rules.py)
  floor      DuckDB reading every input file and writing the records file back, no rules: the I/O floor

The cases: Jinyuan star-and-pay (policies/jinyuan/star_rating.policy on secretaries) at each `--records` size;
Jiangbei quota (policies/jiangbei/quota.policy, communities with their workers, `--related 工作者=workers.csv`) and
grids (policies/jiangbei/grids.policy, communities with their grids, `--related 网格=grids.csv`) at `--jiangbei`
communities. The files are written by data/generate.py's county functions (`jinyuan`, `jiangbei`: the code behind
`data/generate.py --scale N`, without generating the other counties) into a temporary folder, never into data/;
Jinyuan is cut to exactly N records. `--data-dir DIR` keeps them there and reuses them on the next run.

Before anything is timed, every system runs on a sample (a small generated file with edge cases added: pay
standards with arbitrary fen so that every money product needs rounding, populations at half-place ties, a
community without workers and one without grids, the last community without either) and its output is compared
with the row engine's: same ids in the same order, same header, and the same text in every column; OpenFisca
computes in float32, so its numbers are compared numerically (amounts within 2 fen, counts exactly). A system
whose sample output differs is not timed. After each timed run the output is compared with the row engine's
output of the same file (byte for byte; on a difference, record by record) or, where the row engine did not
finish, with the hand-written SQL's.

Peak RSS is the child's ru_maxrss from os.wait4; a child above `--mem-limit` GiB (checked 4 times a second from
/proc) is killed and reported as such. Nothing here asserts a timing: the targets of issue 9 are printed as met or
missed. Exit status: 0 when every system that ran produced the same results, 1 otherwise, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import math
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
GENERATOR_DIR = ROOT / "data"
SEED = 2026  # data/generate.py's default seed: the committed data/ files

SYSTEMS = ("row", "duckdb", "sql", "openfisca", "floor")
LABELS = {
    "row": "policydsl --engine row",
    "duckdb": "policydsl --engine duckdb",
    "sql": "hand-written DuckDB SQL",
    "openfisca": "OpenFisca-Core",
    "floor": "I/O floor (DuckDB, no rules)",
}
# the order in which the systems are timed: fastest first, the row engine (slowest, largest) last
TIMING_ORDER = ("floor", "sql", "duckdb", "openfisca", "row")

TARGET_SQL = 1.3        # the DuckDB engine within 1.3× of the hand-written SQL
TARGET_OPENFISCA = 2.0  # … and at least 2× faster than OpenFisca, end to end
TARGET_RSS_10M = 1.5e9  # 10M records with peak RSS under 1.5 GB (10⁹ bytes)


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    policy: str                  # relative to the repository
    county: str                  # the generator function in data/generate.py
    per_scale: int               # records it writes per --scale unit
    records: str                 # the records file, relative to the generated folder
    related: tuple[tuple[str, str], ...]  # (relation field, file relative to the generated folder)
    key: str                     # the key column (first column of every output)
    query: str                   # case name in handwritten_sql.py / openfisca_rules.py
    truncate: bool               # cut the records file to exactly N (only when nothing relates to it)
    unit: str = "records"


CASES = {
    "jinyuan": Case("jinyuan", "Jinyuan star-and-pay", "policies/jinyuan/star_rating.policy", "jinyuan", 76,
                    "jinyuan/secretaries.csv", (), "编号", "jinyuan", True, "secretaries"),
    "jiangbei-quota": Case("jiangbei-quota", "Jiangbei quota (communities + workers)", "policies/jiangbei/quota.policy",
                           "jiangbei", 137, "jiangbei/communities.csv", (("工作者", "jiangbei/workers.csv"),), "编码",
                           "quota", False, "communities"),
    "jiangbei-grids": Case("jiangbei-grids", "Jiangbei grids (communities + grids)", "policies/jiangbei/grids.policy",
                           "jiangbei", 137, "jiangbei/communities.csv", (("网格", "jiangbei/grids.csv"),), "编码",
                           "grids", False, "communities"),
}


# ------------------------------------------------------------------------------------------------ the command line

@dataclass
class Cli:
    """What `policydsl run` offers right now (another engineer is adding --engine while this runs)."""

    exe: list[str]
    has_engine_option: bool
    engines: tuple[str, ...]

    @classmethod
    def detect(cls) -> Cli:
        script = Path(PY).parent / "policydsl"
        exe = [str(script)] if script.exists() else [shutil.which("policydsl") or "policydsl"]
        try:
            text = subprocess.run(exe + ["run", "--help"], capture_output=True, text=True, timeout=120,
                                  check=False).stdout
        except (OSError, subprocess.TimeoutExpired):
            text = ""
        has = "--engine" in text
        engines: tuple[str, ...] = ()
        if has:
            m = re.search(r"--engine\s+\[([^\]]+)\]", text)
            engines = tuple(e.strip() for e in m.group(1).split("|")) if m else ("duckdb", "spark", "row")
        return cls(exe, has, engines)

    def available(self, engine: str) -> str | None:
        """None when `--engine ENGINE` can be asked for, else why not."""
        if engine == "row":
            return None
        if not self.has_engine_option:
            return "not available yet (`policydsl run` has no --engine option)"
        if engine not in self.engines:
            return f"not available yet (--engine offers {', '.join(self.engines)})"
        return None


def command(system: str, case: Case, records: Path, related: dict[str, Path], out: Path, cli: Cli) -> list[str]:
    rel_args = [a for f, p in related.items() for a in ("--related", f"{f}={p}")]
    if system in ("row", "duckdb"):
        cmd = cli.exe + ["run", str(ROOT / case.policy), "--records", str(records), *rel_args, "--out", str(out)]
        if cli.has_engine_option:
            cmd += ["--engine", system]
        return cmd
    if system == "sql":
        return [PY, str(HERE / "handwritten_sql.py"), case.query, "--records", str(records), *rel_args,
                "--out", str(out)]
    if system == "floor":
        return [PY, str(HERE / "handwritten_sql.py"), "floor", "--records", str(records), *rel_args, "--out", str(out)]
    if system == "openfisca":
        return [PY, str(HERE / "openfisca_rules.py"), case.query, "--records", str(records), *rel_args,
                "--out", str(out)]
    raise ValueError(system)


def unavailable(system: str, cli: Cli) -> str | None:
    if system in ("row", "duckdb"):
        return cli.available(system)
    modules = {"sql": ["duckdb"], "floor": ["duckdb"], "openfisca": ["openfisca_core", "pandas"]}[system]
    import importlib.util
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return f"not installed ({', '.join(missing)}; pip install -e '.[bench]')" if missing else None


# ------------------------------------------------------------------------------------------------ measuring

@dataclass
class Run:
    wall: float
    peak_rss: int          # bytes
    returncode: int
    killed: str = ""       # why the watchdog killed it
    log: str = ""          # the child's last lines of output
    cpu: float = 0.0       # user + system seconds of the child (less sensitive to a busy machine than wall time)

    @property
    def phases(self) -> str:
        """What a child said about its phases ("phases: read 1.2 s, …": bench/openfisca_rules.py), if anything."""
        found = [line for line in self.log.splitlines() if line.startswith("phases: ")]
        return found[-1][len("phases: "):] if found else ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.killed


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def measure(cmd: list[str], log_path: Path, mem_limit: int) -> Run:
    """Run `cmd` in a child process: wall time, the child's own peak RSS (os.wait4), killed above `mem_limit`."""
    done = threading.Event()
    killed: list[str] = []
    with open(log_path, "wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, "PYTHONHASHSEED": "0"})

        def watch() -> None:
            while not done.wait(0.25):
                rss = _rss(proc.pid)
                if rss > mem_limit:
                    killed.append(f"killed at {rss / 2**30:.1f} GiB RSS (limit {mem_limit / 2**30:.0f} GiB) "
                                  f"after {time.perf_counter() - t0:.0f} s")
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, signal.SIGKILL)
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        done.set()
        watcher.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-6:]
    return Run(wall, usage.ru_maxrss * 1024, proc.returncode, killed[0] if killed else "", "\n".join(tail),
               usage.ru_utime + usage.ru_stime)


# ------------------------------------------------------------------------------------------------ data

def _generate(county: str, scale: int, out: Path, seed: int = SEED) -> None:
    """data/generate.py's county function at `scale`, in a child process (it holds every row in memory)."""
    code = (f"import sys; sys.path.insert(0, {str(GENERATOR_DIR)!r}); import generate; from pathlib import Path; "
            f"generate.{county}(Path({str(out)!r}), {seed}, {scale})")
    subprocess.run([PY, "-c", code], check=True, cwd=ROOT)


def _truncate(path: Path, n: int) -> int:
    """Keep the header and the first n records; returns the number kept."""
    tmp = path.with_suffix(".part")
    kept = 0
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        dst.write(src.readline())
        for line in src:
            if kept == n:
                break
            dst.write(line)
            kept += 1
    tmp.replace(path)
    return kept


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            n += chunk.count(b"\n")
    return n - 1  # the header


def dataset(case: Case, n: int, data_dir: Path, seed: int = SEED) -> tuple[Path, int]:
    """The generated folder for `case` at n records (generated once, reused), and its exact record count."""
    folder = data_dir / f"{case.county}-{n}-seed{seed}"
    marker = folder / ".complete"
    if not marker.exists():
        scale = math.ceil(n / case.per_scale)
        t0 = time.perf_counter()
        print(f"  generating {case.county} × {scale:,} (data/generate.py {case.county}(), seed {seed}) …", flush=True)
        if folder.exists():
            shutil.rmtree(folder)
        _generate(case.county, scale, folder, seed)
        if case.truncate:
            _truncate(folder / case.records, n)
        marker.write_text(f"{case.county} seed {seed} scale {scale} n {n}\n", encoding="utf-8")
        print(f"  … {time.perf_counter() - t0:.0f} s", flush=True)
    return folder, count_lines(folder / case.records)


def _rewrite(path: Path, edit) -> None:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    body = edit(header, body)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(body)


def add_edge_cases(county: str, folder: Path, seed: int = SEED) -> None:
    """Edge cases the generated data does not reach, so that the check can tell a careless baseline apart."""
    rng = random.Random(f"{seed}:bench-engines")
    if county == "jinyuan":
        def edit(header, body):
            pay, growth = header.index("年报酬标准"), header.index("集体经济增幅")
            for i, row in enumerate(body):
                if i % 2:  # arbitrary fen: every 60 %, 24 %, 32 %, 16 % product needs rounding to the fen
                    fen = rng.randint(3_000_000, 9_999_999)
                    row[pay] = f"{fen // 100}.{fen % 100:02d}"
            for i, text in zip(range(10, len(body), 97), ("10%", "9.9%", "10.0%", "-0.5%", "0%", "300%")):
                body[i][growth] = text  # the 10 % threshold written every way the data allows
            return body
        _rewrite(folder / "jinyuan" / "secretaries.csv", edit)
        return
    if county == "jiangbei":
        without_workers: set[str] = set()
        without_grids: set[str] = set()

        def communities(header, body):
            pop, prev = header.index("常住人口"), header.index("上年常住人口")
            ties = [(25000, 75000), (75000, 25000), (2570, 2570), (0, 0), (125000, 24999)]
            for i, (a, b) in zip(range(3, len(body), max(1, len(body) // 8)), ties):
                body[i][pop], body[i][prev] = str(a), str(b)  # 25,000 × 21.4 / 10,000 = 53.5: a half-up tie
            key = header.index("编码")
            without_workers.update({body[5][key], body[-1][key]})
            without_grids.update({body[6][key], body[-1][key]})
            return body

        def drop(which: set[str]):
            def edit(header, body):
                col = header.index("社区编码")
                return [r for r in body if r[col] not in which]
            return edit

        _rewrite(folder / "jiangbei" / "communities.csv", communities)
        _rewrite(folder / "jiangbei" / "workers.csv", drop(without_workers))
        _rewrite(folder / "jiangbei" / "grids.csv", drop(without_grids))
        return
    raise ValueError(county)


def sample(case: Case, data_dir: Path, size: int, seed: int = SEED) -> tuple[Path, int]:
    """A small generated file (about `size` records) with the edge cases added."""
    scale = max(1, math.ceil(size / case.per_scale))
    folder = data_dir / f"sample-{case.county}-{scale}-seed{seed}"
    marker = folder / ".complete"
    if not marker.exists():
        if folder.exists():
            shutil.rmtree(folder)
        _generate(case.county, scale, folder, seed)
        add_edge_cases(case.county, folder, seed)
        marker.write_text("sample\n", encoding="utf-8")
    return folder, count_lines(folder / case.records)


def shipped_sample(case: Case, dst: Path) -> Path:
    """The shipped data/ files of `case` with the edge cases added (what tests/test_bench_engines.py checks)."""
    for rel in [case.records] + [p for _, p in case.related]:
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "data" / rel, target)
    if case.county == "jiangbei":  # add_edge_cases rewrites both related files
        for rel in ("jiangbei/workers.csv", "jiangbei/grids.csv"):
            if not (dst / rel).exists():
                shutil.copyfile(ROOT / "data" / rel, dst / rel)
    add_edge_cases(case.county, dst)
    return dst


# ------------------------------------------------------------------------------------------------ comparing outputs

def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _cells_equal(a: str, b: str, numeric: bool) -> bool:
    if a == b:
        return True
    if not numeric:
        return False
    x, y = _number(a), _number(b)
    if x is None or y is None:
        return False
    if "." not in a:  # an integer column (counts, stars): exactly
        return x == y
    # money from floats: OpenFisca's float variables are float32 (about 7 significant digits), so an amount near
    # a half fen can round a fen the other way, and a total of such amounts two fen: equal within 2 fen (or 1e-6
    # of larger amounts). A wrong formula is off by far more.
    return abs(x - y) <= max(Decimal("0.02"), abs(x) * Decimal("1e-6"))


def compare_outputs(reference: Path, other: Path, *, numeric: bool = False,
                    show: int = 5) -> tuple[int, list[str], int]:
    """Walk both CSVs in step: same header, same ids in the same order, same cells (numerically if asked).

    Returns (records compared, problems, records whose text differs but whose numbers are equal); no problems
    means the same results.
    """
    problems: list[str] = []
    differing = inexact = 0
    n = 0
    with open(reference, encoding="utf-8", newline="") as fa, open(other, encoding="utf-8", newline="") as fb:
        ra, rb = csv.reader(fa), csv.reader(fb)
        ha, hb = next(ra, None), next(rb, None)
        if ha != hb:
            return 0, [f"header differs: row engine {ha}, this system {hb}"], 0
        for a, b in zip(ra, rb):
            n += 1
            if a[0] != b[0]:
                problems.append(f"record {n}: id {b[0]!r} where the row engine has {a[0]!r} (order or ids differ)")
                return n, problems, inexact
            if numeric and a != b:
                inexact += 1
            wrong = [f"{c}: row {x!r}, this {y!r}" for c, x, y in zip(ha[1:], a[1:], b[1:])
                     if not _cells_equal(x, y, numeric)]
            if len(a) != len(b):
                wrong.append(f"{len(b)} cells where the row engine has {len(a)}")
            if wrong:
                differing += 1
                if differing <= show:
                    problems.append(f"{a[0]}: " + "; ".join(wrong))
        extra_a, extra_b = sum(1 for _ in ra), sum(1 for _ in rb)
    if extra_a or extra_b:
        problems.append(f"record counts differ: row engine {n + extra_a:,}, this system {n + extra_b:,}")
    if differing > show:
        problems.append(f"… {differing:,} records differ in all")
    return n, problems, inexact


def same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 22), fb.read(1 << 22)
            if x != y:
                return False
            if not x:
                return True


def same_rows_any_order(a: Path, b: Path) -> tuple[int, int]:
    """(rows only in a, rows only in b), comparing whole rows as text in any order (DuckDB, so 10M rows fit)."""
    import duckdb
    con = duckdb.connect()
    con.execute("SET threads = 2")

    def src(p: Path) -> str:
        return "read_csv('" + str(p).replace("'", "''") + "', header = true, all_varchar = true)"
    only_a, only_b = con.execute(f"SELECT (SELECT count(*) FROM (FROM {src(a)} EXCEPT ALL FROM {src(b)})), "
                                 f"(SELECT count(*) FROM (FROM {src(b)} EXCEPT ALL FROM {src(a)}))").fetchone()
    con.close()
    return only_a, only_b


ORDER_ONLY = "same rows in another order"


def verdict(system: str, reference: Path, out: Path, records_file: Path,
            ref_name: str = "the row engine") -> tuple[bool, str]:
    """Does `out` hold the same results as `reference` (the row engine's output)? (ok, what was found)."""
    if system == "floor":
        ok = same_bytes(records_file, out)
        return ok, "the records file written back unchanged" if ok else "the copy differs from the records file"
    if same_bytes(reference, out):
        return True, f"byte-identical to {ref_name}'s output"
    n, problems, inexact = compare_outputs(reference, out, numeric=system == "openfisca")
    if not problems:
        if system == "openfisca":
            return True, (f"numerically equal on {n:,} records (float32: {inexact:,} records have an amount a "
                          f"fen or two away)")
        return True, f"same values on {n:,} records, not byte-identical"
    if system != "openfisca" and "order or ids differ" in problems[0]:
        only_ref, only_out = same_rows_any_order(reference, out)
        if not only_ref and not only_out:
            return True, (f"{ORDER_ONLY}: every row equals one of {ref_name}'s, but not in the records file's "
                          f"order ({problems[0].replace('the row engine', ref_name)})")
        problems.append(f"as sets of rows: {only_ref:,} rows only in {ref_name}'s output, {only_out:,} only in "
                        "this one")
    return False, "DIFFERENT: " + " | ".join(problems)


# ------------------------------------------------------------------------------------------------ the benchmark

@dataclass
class Row:
    system: str
    status: str                  # "ok", or why there is no figure
    run: Run | None = None
    check: str = ""
    same: bool = True


@dataclass
class Result:
    case: Case
    n: int
    related_counts: dict[str, int] = field(default_factory=dict)
    rows: dict[str, Row] = field(default_factory=dict)


def check_case(case: Case, folder: Path, systems: list[str], work: Path,
               mem_limit: int = 8 * 2**30) -> dict[str, tuple[bool | None, str]]:
    """Every system on the sample in `folder`, compared with the row engine: system → (same?, note).

    `same` is None when the system could not run (not available, not installed).
    """
    work.mkdir(parents=True, exist_ok=True)
    cli = Cli.detect()  # now, not at start-up: `policydsl run` may have changed under a long run
    records = folder / case.records
    related = {f: folder / p for f, p in case.related}
    ref = work / f"{case.name}-row.csv"
    run = measure(command("row", case, records, related, ref, cli), work / f"{case.name}-row.log", mem_limit)
    if not run.ok:
        raise SystemExit(f"the row engine failed on the sample {records}:\n{run.log}")
    found: dict[str, tuple[bool | None, str]] = {"row": (True, "the reference")}
    for system in systems:
        if system == "row":
            continue
        why = unavailable(system, cli)
        if why:
            found[system] = (None, why)
            continue
        out = work / f"{case.name}-{system}.csv"
        run = measure(command(system, case, records, related, out, cli), work / f"{case.name}-{system}.log",
                      mem_limit)
        if not run.ok:
            found[system] = (False, f"failed on the sample (exit {run.returncode}{', ' + run.killed if run.killed else ''}): "
                                    + run.log.replace("\n", " / ")[-400:])
            continue
        found[system] = verdict(system, ref, out, records)
    return found


def fmt_rss(b: int) -> str:
    return f"{b / 2**30:.2f} GiB" if b >= 2**30 else f"{b / 2**20:.0f} MiB"


def bench_case(case: Case, n: int, systems: list[str], sample_note: dict[str, tuple[bool | None, str]],
               data_dir: Path, work: Path, mem_limit: int, repeat: int) -> Result:
    folder, actual = dataset(case, n, data_dir)
    records = folder / case.records
    related = {f: folder / p for f, p in case.related}
    res = Result(case, actual, {f: count_lines(p) for f, p in related.items()})
    size = records.stat().st_size + sum(p.stat().st_size for p in related.values())
    rel = "".join(f", {c:,} related {f}" for f, c in res.related_counts.items())
    print(f"\n== {case.label}: {actual:,} {case.unit}{rel} ({size / 2**20:,.0f} MiB of CSV) ==", flush=True)
    outs: dict[str, Path] = {}
    for system in [s for s in TIMING_ORDER if s in systems]:
        same, note = sample_note.get(system, (None, "not checked"))
        if same is None:
            res.rows[system] = Row(system, note)
            print(f"  {LABELS[system]:<30} {note}", flush=True)
            continue
        if same is False:
            res.rows[system] = Row(system, "not timed: its sample output differs from the row engine's", same=False)
            print(f"  {LABELS[system]:<30} not timed (sample output differs)", flush=True)
            continue
        out = work / f"{case.name}-{actual}-{system}.csv"
        cli = Cli.detect()  # what `policydsl run` offers right now (the default engine changed during one run)
        if system in ("row", "duckdb") and cli.available(system):
            res.rows[system] = Row(system, cli.available(system) or "")
            print(f"  {LABELS[system]:<30} {res.rows[system].status}", flush=True)
            continue
        best: Run | None = None
        for _ in range(repeat):
            load = os.getloadavg()[0]
            run = measure(command(system, case, records, related, out, cli),
                          work / f"{case.name}-{actual}-{system}.log", mem_limit)
            if not run.ok:
                best = run
                break
            if best is None or run.wall < best.wall:
                best = run
        assert best is not None
        if not best.ok:
            status = best.killed or f"failed (exit {best.returncode}): " + best.log.replace("\n", " / ")[-300:]
            res.rows[system] = Row(system, status, best)
            print(f"  {LABELS[system]:<30} {status}", flush=True)
            out.unlink(missing_ok=True)
            continue
        outs[system] = out
        res.rows[system] = Row(system, "ok", best)
        print(f"  {LABELS[system]:<30} {best.wall:8.1f} s  {actual / best.wall:>10,.0f} {case.unit}/s  "
              f"peak {fmt_rss(best.peak_rss):>9}  cpu {best.cpu:6.1f} s  (load {load:.1f})"
              + (f"  [{best.phases}]" if best.phases else ""), flush=True)
    # the full-size outputs against the row engine's (or, where it did not finish, the hand-written SQL's)
    ref_system = "row" if "row" in outs else "sql" if "sql" in outs else None
    for system, out in outs.items():
        row = res.rows[system]
        if system == ref_system:
            row.check = "the reference"
        elif ref_system is None and system != "floor":
            row.check = "not compared (neither the row engine nor the hand-written SQL finished)"
        else:
            ok, note = verdict(system, outs.get(ref_system, out), out, records,
                               "the row engine" if ref_system == "row" else "the hand-written SQL")
            why = "did not finish" if "row" in systems else "was not run"
            row.same, row.check = ok, note + ("" if ref_system == "row" or system == "floor"
                                              else f" (the row engine {why}: compared with the hand-written SQL)")
        print(f"  check {LABELS[system]:<24} {row.check}", flush=True)
    for out in outs.values():
        out.unlink(missing_ok=True)
    return res


def ratio(a: Row | None, b: Row | None, what: str = "wall") -> float | None:
    if a is None or b is None or a.run is None or b.run is None or a.status != "ok" or b.status != "ok":
        return None
    x, y = (a.run.wall, b.run.wall) if what == "wall" else (a.run.cpu, b.run.cpu)
    return x / y if y else None


def _cpu_note(a: Row | None, b: Row | None) -> str:
    c = ratio(a, b, "cpu")
    return f"; by CPU time {c:.2f}×" if c is not None else ""


def summarize(res: Result) -> list[str]:
    r = res.rows
    lines = [f"\n{res.case.label}, {res.n:,} {res.case.unit}"
             + "".join(f" + {c:,} {f}" for f, c in res.related_counts.items()), "",
             "| system | wall | records/s | peak RSS | CPU (user+sys) | wall vs hand-written SQL | output |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for system in SYSTEMS:
        row = r.get(system)
        if row is None:
            continue
        if row.status != "ok" or row.run is None:
            lines.append(f"| {LABELS[system]} | — | — | — | — | — | {row.status} |")
            continue
        vs = ratio(row, r.get("sql"))
        lines.append(f"| {LABELS[system]} | {row.run.wall:.1f} s | {res.n / row.run.wall:,.0f} | "
                     f"{fmt_rss(row.run.peak_rss)} | {row.run.cpu:.1f} s | {f'{vs:.2f}×' if vs is not None else '—'} | "
                     f"{'DIFFERENT' if not row.same else 'same rows, other order' if ORDER_ONLY in row.check else 'same'} |")
    engine = r.get("duckdb")
    notes = []
    x = ratio(engine, r.get("sql"))
    notes.append(f"duckdb engine / hand-written SQL: {x:.2f}× (target ≤ {TARGET_SQL}×, "
                 f"{'met' if x <= TARGET_SQL else 'missed'}{_cpu_note(engine, r.get('sql'))})" if x is not None else
                 f"duckdb engine / hand-written SQL: n/a ({engine.status if engine else 'not run'})")
    y = ratio(r.get("openfisca"), engine)
    notes.append(f"OpenFisca / duckdb engine: {y:.2f}× (target ≥ {TARGET_OPENFISCA}×, "
                 f"{'met' if y >= TARGET_OPENFISCA else 'missed'}{_cpu_note(r.get('openfisca'), engine)})"
                 if y is not None else
                 "OpenFisca / duckdb engine: n/a")
    z = ratio(r.get("row"), engine)
    notes.append(f"row engine / duckdb engine: {z:.1f}×{_cpu_note(r.get('row'), engine)}" if z is not None
                 else "row engine / duckdb engine: n/a")
    for a, b, what in (("openfisca", "sql", "OpenFisca / hand-written SQL"), ("row", "sql", "row engine / hand-written SQL"),
                       ("sql", "floor", "hand-written SQL / I/O floor")):
        q = ratio(r.get(a), r.get(b))
        if q is not None:
            notes.append(f"{what}: {q:.2f}×{_cpu_note(r.get(a), r.get(b))}")
    if res.n >= 10_000_000 and engine is not None and engine.status == "ok" and engine.run:
        ok = engine.run.peak_rss < TARGET_RSS_10M
        notes.append(f"duckdb engine peak RSS at {res.n:,}: {fmt_rss(engine.run.peak_rss)} (target < 1.5 GB, "
                     f"{'met' if ok else 'missed'})")
    of = r.get("openfisca")
    if of is not None and of.run is not None and of.run.phases:
        notes.append(f"OpenFisca phases: {of.run.phases}")
    lines += [""] + [f"* {n}" for n in notes]
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, nargs="+", default=[1_000_000, 10_000_000], metavar="N",
                    help="Jinyuan sizes (default 1000000 10000000)")
    ap.add_argument("--jiangbei", type=int, default=1_000_000, metavar="N",
                    help="Jiangbei communities (each with ~5.5 workers, ~2.8 grids; default 1000000; 0 = skip)")
    ap.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    ap.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    ap.add_argument("--quick", action="store_true", help="100,000 records of each case (overrides the sizes)")
    ap.add_argument("--check-only", action="store_true", help="only the correctness check on the samples")
    ap.add_argument("--sample", type=int, default=5000, help="records in the check's sample (default 5000)")
    ap.add_argument("--data-dir", type=Path, help="keep generated files here and reuse them (default: a temp dir)")
    ap.add_argument("--mem-limit", type=float, default=12.0, metavar="GiB",
                    help="kill a system whose RSS goes above this (default 12)")
    ap.add_argument("--repeat", type=int, default=1, help="time each system this many times, keep the best")
    args = ap.parse_args(argv)
    if args.quick:
        args.records, args.jiangbei = [100_000], 100_000
    if min(args.records) < 1 or args.jiangbei < 0 or args.sample < 1 or args.repeat < 1 or args.mem_limit <= 0:
        ap.error("sizes, --sample, --repeat and --mem-limit must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli = Cli.detect()
    print(f"machine: {os.cpu_count()} CPU(s), {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} "
          f"GiB RAM, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; Python "
          f"{platform.python_version()}; policydsl run --engine: "
          f"{', '.join(cli.engines) if cli.has_engine_option else 'no such option yet (row engine only)'}")
    versions = []
    from importlib.metadata import PackageNotFoundError, version
    for dist in ("duckdb", "openfisca-core", "pandas", "numpy"):
        try:
            versions.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            versions.append(f"{dist} missing")
    print("versions: " + ", ".join(versions))
    temp = None
    if args.data_dir:
        data_dir = args.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
    else:
        temp = tempfile.mkdtemp(prefix="policydsl-bench-engines-")
        data_dir = Path(temp)
    work = data_dir / "out"
    work.mkdir(parents=True, exist_ok=True)
    mem_limit = int(args.mem_limit * 2**30)
    cases = [CASES[c] for c in args.cases if not (c.startswith("jiangbei") and args.jiangbei == 0)]
    bad = False
    try:
        print("\ncorrectness check on samples (each system against `policydsl run`, the row engine):")
        notes: dict[str, dict[str, tuple[bool | None, str]]] = {}
        for case in cases:
            folder, n = sample(case, data_dir, args.sample)
            notes[case.name] = found = check_case(case, folder, args.systems, work / "sample")
            print(f"  {case.label} ({n:,} {case.unit}, edge cases added):")
            for system in args.systems:
                same, note = found.get(system, (None, "not checked"))
                mark = "ok  " if same else "--  " if same is None else "FAIL"
                print(f"    {mark} {LABELS[system]:<30} {note}")
                bad |= same is False
        if args.check_only:
            return 1 if bad else 0
        results = []
        for case in cases:
            for n in (args.records if case.name == "jinyuan" else [args.jiangbei]):
                res = bench_case(case, n, args.systems, notes[case.name], data_dir, work, mem_limit, args.repeat)
                results.append(res)
                bad |= any(not row.same for row in res.rows.values())
        print("\n" + "=" * 100)
        for res in results:
            print("\n".join(summarize(res)))
        print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (figures are noisy on a "
              "shared machine)")
    finally:
        if temp:
            shutil.rmtree(temp, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
