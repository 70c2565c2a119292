"""The compile cache: what a run works out from the policy alone, kept between runs like Python's `__pycache__`.

`policydsl run` checks the policy (parse, names, types, cycles, templates: about half a second and networkx, lark
and jinja2 to import) and, on the DuckDB engine, asks DuckDB to plan the compiled query to see whether its rows
keep the file's order. Neither depends on the records, so both are kept here and a repeated run skips them:

* **a checked policy** (`load_policy` / `save_policy`): the `ir.Policy` and its evaluation order, stored only for
  a policy that checked without errors. The entry names every file the check read (the policy, its imports and
  bases, its CSV lists) with its size and SHA-256; it is used only while every one of them still has exactly those
  bytes at the same real path, so editing any of them (or a symlink now pointing elsewhere) means a fresh check.
* **facts about compiled SQL** (`lookup` / `store`): small values keyed by the SQL text itself (e.g. "DuckDB's plan
  for this query may reorder rows"), so they can never be applied to another query.
* **compiled statements** (also `lookup` / `store`): the text of the evaluation and output statements of a policy
  that came through the cache, keyed by its `policy_digest`, the as-of date, the dialect and everything else the
  statement is built from (the records file's path and header, the columns kept, the results' types), so a
  repeated run does not rebuild them with sqlglot.

Every key also holds a fingerprint of policydsl's own code (the bytes of every module and the grammar), the
Python version and the versions of lark and DuckDB, so a changed install never reads another's entries. An entry
that cannot be read, is cut short or does not match is ignored (and rewritten); a cache folder that cannot be
written is done without. The cache never changes a result: a hit gives what the check or the plan would give.

Where: `$XDG_CACHE_HOME/policydsl/compiled/` (default `~/.cache/policydsl/compiled/`), made readable only by its
owner. `POLICYDSL_NO_CACHE=1` turns it off (nothing is read or written). The entries are pickles written by this
process's user into that user's own cache folder, as the parser tables next to them are (`syntax.parser`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import stat
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import ir

#: Bumped when the layout of an entry changes.
FORMAT = 1
#: Set to anything but "" or "0" to turn the cache off.
OFF_ENV = "POLICYDSL_NO_CACHE"


def enabled() -> bool:
    """Whether the cache is on (`POLICYDSL_NO_CACHE` unset, empty or "0") and has a folder."""
    return os.environ.get(OFF_ENV, "") in ("", "0") and folder() is not None


def folder() -> Path | None:
    """$XDG_CACHE_HOME/policydsl/compiled (default ~/.cache/…); None when no cache directory can be named."""
    root = os.environ.get("XDG_CACHE_HOME")
    if not root:
        home = os.path.expanduser("~")
        if home == "~":
            return None
        root = os.path.join(home, ".cache")
    return Path(root) / "policydsl" / "compiled"


@functools.cache
def code_fingerprint() -> str:
    """A digest of everything a cached value was computed by: policydsl's modules and grammar (their bytes, so an
    edited checkout counts as another version), Python's version, and the installed lark (parsing)."""
    import importlib.util
    h = hashlib.sha256(repr((FORMAT, sys.version)).encode())
    package = Path(__file__).resolve().parent
    files = sorted(p for p in package.rglob("*") if p.suffix in (".py", ".lark") and "__pycache__" not in p.parts)
    grammar = package.parents[1] / "grammar" / "policydsl.lark"  # a source checkout keeps the grammar outside
    for path in files + ([grammar] if grammar.is_file() else []):
        h.update(str(path.relative_to(package.parents[1]) if path == grammar else path.relative_to(package)).encode())
        h.update(path.read_bytes())
    spec = importlib.util.find_spec("lark")  # its version, without importing it (a cache hit needs no parser)
    if spec is not None and spec.origin:
        h.update(Path(spec.origin).read_bytes())
    return h.hexdigest()


def _digest(parts: object) -> str:
    return hashlib.sha256(repr((code_fingerprint(), parts)).encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _read(name: str) -> object | None:
    base = folder()
    if base is None:
        return None
    try:
        with open(base / name, "rb") as f:
            return pickle.load(f)
    except Exception:  # noqa: BLE001 — missing, cut short, from another version: as if absent
        return None


#: At most this many entries are kept; writing one more removes the least recently written ones.
MAX_ENTRIES = 400


def _write(name: str, value: object) -> None:
    """Write an entry atomically (a reader sees the old file or the whole new one); failures are ignored."""
    base = folder()
    if base is None:
        return
    try:
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        _prune(base)
        fd, tmp = tempfile.mkstemp(dir=base, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, base / name)
        except BaseException:
            os.unlink(tmp)
            raise
    except Exception:  # noqa: BLE001 — read-only or full cache folder: run without
        pass


def _prune(base: Path) -> None:
    """Keep the folder bounded (one entry per policy and per compiled query text, which names the records file)."""
    entries = [e for e in os.scandir(base) if e.name.endswith(".pickle")]
    if len(entries) < MAX_ENTRIES:
        return
    entries.sort(key=lambda e: e.stat().st_mtime)
    for e in entries[:len(entries) - MAX_ENTRIES // 2]:
        with contextlib.suppress(OSError):
            os.unlink(e.path)


# ------------------------------------------------------------------------------------------------ checked policies

def _policy_key(path: str) -> str:
    from .limits import ALLOWED_DIRS, allowed_roots
    # what decides how the check resolves and may read the files: the path as given, where it is run from, the
    # folders files may come from
    return "policy-" + _digest(("policy", path, os.path.abspath(path), os.getcwd(), ALLOWED_DIRS.get(),
                                [str(r) for r in allowed_roots(os.path.normpath(path))])) + ".pickle"


def _file_state(path: str) -> tuple[str, int, str] | None:
    """(real path, size, SHA-256) of a regular file, or None."""
    try:
        real = os.path.realpath(path)
        info = os.stat(real)
        if not stat.S_ISREG(info.st_mode):
            return None
        with open(real, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return real, len(data), hashlib.sha256(data).hexdigest()


def load_policy(path: str) -> ir.Policy | None:
    """The checked policy cached for `path` if every file its check read is unchanged, else None."""
    if not enabled():
        return None
    entry = _read(_policy_key(path))
    if not isinstance(entry, dict) or entry.get("format") != FORMAT:
        return None
    try:
        files, policy, order = entry["files"], entry["policy"], entry["order"]
        if any(_file_state(name) != tuple(state) for name, state in files):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    from . import graph, ir
    if not isinstance(policy, ir.Policy):
        return None
    graph.remember_order(policy, order)
    _remember_digest(policy, files)
    return policy


def save_policy(path: str, policy: ir.Policy, files: list[str]) -> None:
    """Keep a policy that checked without errors, with the files its check read (`files`: as the check named them)."""
    if not enabled():
        return
    from .graph import evaluation_order
    states = []
    for name in dict.fromkeys([path, *files]):
        state = _file_state(name)
        if state is None:  # a file that is gone already: nothing to check a later run against
            return
        states.append((name, state))
    _write(_policy_key(path), {"format": FORMAT, "files": states, "policy": policy,
                               "order": evaluation_order(policy)})
    _remember_digest(policy, states)


#: The content digest of each policy that came through the cache (by id, with the policy itself, so that the id
#: stays its own): compiled statements are cached only for these.
_DIGESTS: dict[int, tuple[ir.Policy, str]] = {}


def _remember_digest(policy: ir.Policy, files: list) -> None:
    _DIGESTS[id(policy)] = (policy, _digest(("files", [(name, tuple(state)) for name, state in files])))
    while len(_DIGESTS) > 8:
        del _DIGESTS[next(iter(_DIGESTS))]


def policy_digest(policy: ir.Policy) -> str | None:
    """A digest of what `policy` was checked from (its files' bytes and policydsl's code), if it came through the
    cache in this process; None otherwise (a policy built another way has no files to name it by)."""
    known = _DIGESTS.get(id(policy))
    return known[1] if known is not None and known[0] is policy else None


# ------------------------------------------------------------------------------------------------ facts about SQL

def lookup(kind: str, text: str, *context: object) -> object | None:
    """A value stored for this kind of fact about this (SQL) text, or None."""
    if not enabled():
        return None
    entry = _read(_fact_key(kind, text, context))
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == text:  # the very text, not a hash collision
        return entry[1]
    return None


def store(kind: str, text: str, value: object, *context: object) -> None:
    """Keep `value` for this kind of fact about `text` (`context`: what else it depends on, e.g. DuckDB's version)."""
    if enabled():
        _write(_fact_key(kind, text, context), (text, value))


def _fact_key(kind: str, text: str, context: tuple) -> str:
    return f"{kind}-" + _digest((kind, text, context)) + ".pickle"
