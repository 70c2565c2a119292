"""Load test: many citizens looking up their decisions at once, against `policydsl serve` on localhost.

    .venv/bin/python bench/load_citizens.py [--clients 200] [--seconds 30] [--max-requests 300000]

Publishes the Jinyuan batch into a fresh SQLite store in a temporary folder, starts `policydsl serve` on a free
localhost port (one uvicorn process, as the service is run), then runs `--clients` concurrent citizens for
`--seconds`: each opens the look-up page, submits its batch, id and code, and reads its decision page, over and
over, with its own session. Prints requests per second, p50 / p95 latency and the number of errors (any status but
the expected one, or a failed connection; it must be 0). Bounded in time and count; talks to 127.0.0.1 only.
Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(folder: Path, key: str) -> tuple[str, int, list[tuple[str, str]]]:
    """A store with the Jinyuan batch; (db URL, batch id, [(record id, code)])."""
    os.environ["POLICYDSL_SECRET_KEY"] = key
    from policydsl.store import batches, open_store, publish
    from policydsl.store.codes import code_for
    url = f"sqlite:///{folder / 'load.db'}"
    store = open_store(url)
    batch = publish(store, ROOT / "policies/jinyuan/star_rating.policy", ROOT / "data/jinyuan/secretaries.csv",
                    as_of=date(2024, 12, 31), why_not=True)
    people = [(d.record_id, code_for(store.key, batch.uid, d.record_id)) for d in batches.decisions_of(store, batch.id)]
    store.close()
    return url, batch.id, people


async def _citizen(base: str, batch_id: int, person: tuple[str, str], deadline: float, budget: list[int],
                   latencies: list[float], errors: list[str]) -> None:
    record, code = person
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while time.monotonic() < deadline and budget[0] > 0:
            budget[0] -= 3
            try:
                started = time.perf_counter()
                page = await client.get("/")
                latencies.append(time.perf_counter() - started)
                token = CSRF.search(page.text).group(1)
                started = time.perf_counter()
                found = await client.post("/lookup", data={"batch": str(batch_id), "record": record, "code": code,
                                                           "csrf": token})
                latencies.append(time.perf_counter() - started)
                started = time.perf_counter()
                mine = await client.get("/my")
                latencies.append(time.perf_counter() - started)
                if page.status_code != 200 or found.status_code != 303 or mine.status_code != 200 \
                        or record not in mine.text:
                    errors.append(f"{page.status_code}/{found.status_code}/{mine.status_code}")
            except (httpx.HTTPError, AttributeError) as exc:
                errors.append(type(exc).__name__)


async def _load(base: str, batch_id: int, people, clients: int, seconds: float, max_requests: int):
    latencies: list[float] = []
    errors: list[str] = []
    budget = [max_requests]
    deadline = time.monotonic() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(_citizen(base, batch_id, people[i % len(people)], deadline, budget, latencies, errors)
                           for i in range(clients)))
    return time.perf_counter() - started, latencies, errors


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), the steadier figure on a shared machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_until_up(base: str, proc: subprocess.Popen) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the service stopped while starting")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the service did not start within 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--max-requests", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="policydsl-load-") as tmp:
        key = secrets.token_hex(32)
        url, batch_id, people = _prepare(Path(tmp), key)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "POLICYDSL_SECRET_KEY": key, "PYTHONPATH": str(ROOT / "src")}
        proc = subprocess.Popen([sys.executable, "-m", "policydsl.cli", "serve", "--db", url, "--port", str(port),
                                 "--policies", str(ROOT / "policies")], env=env, cwd=tmp)
        try:
            _wait_until_up(base, proc)
            cpu_before = _cpu_seconds(proc.pid)
            took, latencies, errors = asyncio.run(_load(base, batch_id, people, args.clients, args.seconds,
                                                        args.max_requests))
            cpu = _cpu_seconds(proc.pid) - cpu_before
        finally:
            proc.terminate()
            proc.wait(30)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    print(f"{args.clients} concurrent citizens for {took:.1f} s: {len(latencies)} requests, "
          f"{len(latencies) / took:.0f} requests/s, p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, "
          f"errors {len(errors)}" + (f" ({', '.join(sorted(set(errors))[:5])})" if errors else "")
          + f"; the service used {cpu:.1f} s of CPU ({cpu / max(len(latencies), 1) * 1000:.1f} ms a request)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
