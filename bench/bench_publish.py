"""Publishing a large batch: time and peak memory of `store.publish` with explanations in Chinese and English.

    .venv/bin/python bench/bench_publish.py [--records 100000] [--why-not] [--db URL]

Makes a records file of N Jinyuan secretaries (the shipped 76, repeated with distinct ids), publishes it into a
fresh SQLite store (or --db), and prints records/s and the peak resident memory at 10%, 50% and 100% of the run —
which must stay flat: records are streamed, evaluated, explained and written in chunks, never held whole.
Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_records(path: Path, n: int) -> None:
    lines = (ROOT / "data/jinyuan/secretaries.csv").read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    with path.open("w", encoding="utf-8") as out:
        out.write(header + "\n")
        for i in range(n):
            out.write(rows[i % len(rows)].replace("JY", f"J{i // len(rows):05d}Y", 1) + "\n")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--why-not", action="store_true", help="with the 'what would change it' suggestions")
    parser.add_argument("--db", help="a database URL (default: a SQLite file in a temporary folder)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from policydsl.store import open_store, publish
    with tempfile.TemporaryDirectory(prefix="policydsl-bench-") as tmp:
        records = Path(tmp) / "secretaries.csv"
        make_records(records, args.records)
        store = open_store(args.db or f"sqlite:///{tmp}/bench.db")
        marks, done = {}, [0]
        started = time.perf_counter()

        def progress(n: int) -> None:
            done[0] += n
            for share in (0.1, 0.5):
                if share not in marks and done[0] >= share * args.records:
                    marks[share] = peak_mb()

        batch = publish(store, ROOT / "policies/jinyuan/star_rating.policy", records, as_of=date(2024, 12, 31),
                        why_not=args.why_not, progress=progress)
        took = time.perf_counter() - started
        size = Path(f"{tmp}/bench.db").stat().st_size / 2**20 if not args.db else float("nan")
    print(f"published {batch.ok_count} records{' with why-not' if args.why_not else ''} in {took:.1f} s "
          f"({batch.ok_count / took:.0f} records/s, explanations zh+en); peak RSS {marks.get(0.1, 0):.0f} MB at 10%, "
          f"{marks.get(0.5, 0):.0f} MB at 50%, {peak_mb():.0f} MB at the end; store {size:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
