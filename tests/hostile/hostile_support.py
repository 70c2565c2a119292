"""Shared machinery of the hostile tests (imported as `hostile_support`, a name no other test folder uses):
every command runs in a subprocess under a memory limit and a timeout,
and every outcome is checked for what issue 15 demands — no traceback, no "bug" line, a located message."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The sources under test (POLICYDSL_SRC runs the corpus against another checkout, e.g. an older one).
SRC = Path(os.environ.get("POLICYDSL_SRC") or Path(__file__).resolve().parents[2] / "src")
#: Address space of one command: far more than any of these inputs needs, far less than the 4-8 GB they once took.
MEMORY_LIMIT = 2 * 1024 ** 3
#: Seconds one command may take (the slowest case, a 1 MB policy, takes ~10 s on one core).
TIME_LIMIT = float(os.environ.get("POLICYDSL_HOSTILE_TIMEOUT", "90"))

#: "file:line:col: error: …", "file:17: record P3: …", "error: file:12:1: …": a message naming its place.
LOCATED = re.compile(r"\S+:\d+(:\d+)?: \S|: record \S+: ")


@dataclass(frozen=True)
class Run:
    """One finished command: exit code, output, and how long it took."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out + self.err

    def counts(self) -> tuple[int, int] | None:
        """(ok, failed) from the last line of a run, if there is one."""
        found = re.findall(r"(\d+) ok, (\d+) failed", self.err)
        return (int(found[-1][0]), int(found[-1][1])) if found else None


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def policydsl(*args: str | Path, cwd: Path | None = None, env: dict | None = None, stdin: bytes | None = None,
              timeout: float = TIME_LIMIT) -> Run:
    """Run `policydsl ARGS…` (this tree's sources) in a subprocess under the memory limit and the timeout."""
    environment = {k: v for k, v in os.environ.items() if k != "POLICYDSL_DEBUG"}
    environment.update({"PYTHONPATH": str(SRC), **(env or {})})
    command = [sys.executable, "-m", "policydsl.cli", *map(str, args)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, cwd=cwd, env=environment, preexec_fn=_limits,
                              timeout=timeout, input=stdin)
    except subprocess.TimeoutExpired:
        pytest.fail(f"policydsl {' '.join(map(str, args))} did not finish within {timeout} s (a hang)")
    took = time.perf_counter() - started
    return Run(tuple(map(str, args)), done.returncode, done.stdout.decode("utf-8", "replace"),
               done.stderr.decode("utf-8", "replace"), took)


def assert_handled(run: Run, *, code: int | tuple[int, ...] = 1, located: bool = True) -> Run:
    """The command ended in words: no traceback, no internal-error line, the exit code, a located message."""
    assert "Traceback" not in run.text, run.text[-3000:]
    assert "internal error" not in run.text, run.text[-3000:]
    assert "MemoryError" not in run.text and "RecursionError" not in run.text, run.text[-3000:]
    codes = code if isinstance(code, tuple) else (code,)
    assert run.code in codes, f"exit {run.code}, expected {codes}:\n{run.text[-3000:]}"
    if located:
        assert LOCATED.search(run.text), f"no file:line[:col] message:\n{run.text[-3000:]}"
    return run


def assert_counted(run: Run, records: int, failed: int | None = None) -> None:
    """count in = ok + failed: no record lost or swallowed."""
    counts = run.counts()
    assert counts is not None, run.text[-2000:]
    assert sum(counts) == records, f"{counts} for {records} records:\n{run.text[-2000:]}"
    if failed is not None:
        assert counts[1] == failed, run.text[-2000:]
