"""Test support for the decision store: a throw-away PostgreSQL cluster, and publishing shipped data.

`postgres_url` starts a cluster of Debian's PostgreSQL (initdb + pg_ctl, `.ci/run` installs the package) in a
temporary folder, listening only on a Unix socket there, as the `postgres` system user when run as root (the
server refuses to run as root), and stops it after the tests. Without initdb the tests using it are skipped with
the reason; under CI (`CI=true`) a missing PostgreSQL is a failure instead, so it can never go unnoticed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: The key of PostgreSQL stores in tests (a SQLite store keeps its key file beside it, in the test's folder).
TEST_KEY = b"policydsl test key, not a secret"


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for version in ("17", "16", "15", "14", "13"):
        candidate = Path(f"/usr/lib/postgresql/{version}/bin/{name}")
        if candidate.exists():
            return str(candidate)
    return None


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@pytest.fixture(scope="session")
def postgres_url():
    """A SQLAlchemy URL of a fresh PostgreSQL database, or skip (fail under CI) when PostgreSQL is missing."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; .ci/run installs Debian's postgresql")
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed (apt-get install postgresql; .ci/run does)")
    folder = Path(tempfile.mkdtemp(prefix="policydsl-pg-"))
    data, socket = folder / "data", folder
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    subprocess.run(_as_postgres([initdb, "-D", str(data), "-A", "trust", "-U", "policydsl", "-E", "UTF8",
                                 "--no-locale"]), check=True, capture_output=True)
    port = "54329"
    subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-w", "-l", str(folder / "log"), "-o",
                                 f"-k {socket} -p {port} -c listen_addresses=''", "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://policydsl@/postgres?host={socket}&port={port}"
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(url: str, name: str) -> str:
    """A new empty database `name` on the cluster at `url` (each test its own); returns its URL."""
    from sqlalchemy import create_engine, text
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.replace("/postgres?", f"/{name}?")
