"""Opening a store: the database engines, migrations on open, and errors a user can read.

`open_store()` with no URL uses the SQLite file `policydsl.db` in the working directory, in WAL mode (readers never
wait for a writer). A PostgreSQL store is opened by URL (`postgresql+psycopg://user@host/db`). Either way the
shipped Alembic migrations are applied first, so a new file or an empty database is ready at once.

SQLite allows one writer at a time; its default "deferred" transactions would let two writers read the same chain
head and then fail on upgrade to a write lock. Writes therefore go through a second engine whose transactions
begin with `BEGIN IMMEDIATE` (they queue for the lock, up to `busy_timeout`), while reads stay deferred and
concurrent. On PostgreSQL one engine serves both; the ledger locks its chain head with `SELECT … FOR UPDATE`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

DEFAULT_URL = "sqlite:///policydsl.db"
MIGRATIONS = Path(__file__).parent / "migrations"
KEY_ENV = "POLICYDSL_SECRET_KEY"
BUSY_TIMEOUT_MS = 30_000


class StoreError(Exception):
    """The store cannot be opened or used (bad URL, database down, schema from a newer version); for users."""


@dataclass(frozen=True)
class Store:
    """An open store: `read` for queries, `write` for transactions that append; `key` signs codes and sessions."""

    url: str
    read: Engine
    write: Engine
    key: bytes

    @property
    def dialect(self) -> str:
        return self.read.dialect.name

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction (committed on leaving, rolled back on any error)."""
        try:
            with self.write.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"the store at {self.display_url} could not be written: {_reason(exc)}") from exc

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only connection."""
        try:
            with self.read.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"the store at {self.display_url} could not be read: {_reason(exc)}") from exc

    @property
    def display_url(self) -> str:
        """The URL with any password hidden (for messages and logs)."""
        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.read.dispose()
        if self.write is not self.read:
            self.write.dispose()


def open_store(url: str | None = None, *, key: bytes | None = None, migrate: bool = True) -> Store:
    """Open (and migrate) the store at `url` (default: ./policydsl.db). Raises StoreError with a readable reason."""
    url = url or os.environ.get("POLICYDSL_DB") or DEFAULT_URL
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"'{url}' is not a database URL (e.g. sqlite:///decisions.db or "
                         "postgresql+psycopg://user@localhost/policydsl)") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            read, write = _sqlite_engines(url)
        else:
            read = write = create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=30)
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreError(f"no database driver for '{parsed.drivername}': {exc}") from None
    store = Store(url, read, write, b"")
    if migrate:
        upgrade(store)
    # The key only once the database answered: an unreachable store leaves no key file behind.
    return replace(store, key=key or _key(parsed))


def _sqlite_engines(url: str) -> tuple[Engine, Engine]:
    """Two engines on one SQLite file: deferred reads, `BEGIN IMMEDIATE` writes; WAL and foreign keys on."""
    database = make_url(url).database
    if database and database != ":memory:":
        parent = Path(database).parent
        if not parent.exists():
            raise StoreError(f"the folder {parent} for the store {database} does not exist")
        if not Path(database).exists():  # personal data: readable by the service's own user only
            try:
                os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                pass
            except OSError as exc:
                raise StoreError(f"the store {database} cannot be created: {exc.strerror}") from None
    engines = []
    for immediate in (False, True):
        # The service runs requests on up to 40 threads: enough pooled connections that none waits for one.
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
                               pool_size=20, max_overflow=30)
        _sqlite_pragmas(engine, immediate)
        engines.append(engine)
    return engines[0], engines[1]


def _sqlite_pragmas(engine: Engine, immediate: bool) -> None:
    """WAL, foreign keys and the busy timeout on every connection; the writer's transactions BEGIN IMMEDIATE."""
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (pysqlite's own is deferred)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, never corrupt
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def upgrade(store: Store) -> None:
    """Apply the shipped migrations up to the newest (a no-op when the schema is current)."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with store.write.begin() as conn:
            current = _current_revision(conn)
            heads = ScriptDirectory.from_config(config).get_heads()
            if current is not None and current not in {s.revision for s in ScriptDirectory.from_config(config)
                                                      .walk_revisions()}:
                raise StoreError(f"the store at {store.display_url} has schema revision {current}, newer than this "
                                 f"policydsl knows ({', '.join(heads)}); upgrade policydsl")
            if current not in heads:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"the store at {store.display_url} cannot be opened: {_reason(exc)}") from exc


def _current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext
    return MigrationContext.configure(conn).get_current_revision()


def _key(url) -> bytes:
    """The secret that derives access codes and signs sessions: $POLICYDSL_SECRET_KEY, else a key file.

    The key file sits beside a SQLite store (`policydsl.db.key`) or in the working directory (`policydsl.key`),
    created with a random key, readable by its owner only. Codes printed on letters depend on it: back it up with
    the database, and keep it out of the database (a stolen database alone then reveals no code).
    """
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode("utf-8")
    database = url.database if url.get_backend_name() == "sqlite" else None
    path = Path(f"{database}.key") if database and database != ":memory:" else Path("policydsl.key")
    if url.get_backend_name() == "sqlite" and database == ":memory:":
        return secrets.token_bytes(32)
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process opening the same store made it a moment ago
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def _reason(exc: SQLAlchemyError) -> str:
    """The database's own words, without SQLAlchemy's statement dump and links."""
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
