"""The stated limits that keep hostile or careless inputs from crashing, hanging or exhausting policydsl.

Each limit is reached only by input no county writes (the largest shipped policy is 17 kB, its deepest expression
a dozen levels); reaching one gives a diagnostic in words, never a traceback, a hang or silent truncation.

Files a policy names (`import`, `extends`, `list … from`) are read only when they are regular files (not a FIFO,
a device such as /dev/zero, or a directory), below a size limit, with the expected suffix, and inside an allowed
directory tree: the tree of the policy file being checked or of the current directory, or one given with
`policydsl --allow-dir DIR`. A refused file's content is never read, so it is never echoed in a message.
"""

from __future__ import annotations

import os
import stat
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

#: Nesting of one expression (each `not`, unary minus, `if`, operator of a chain or call around another). Every
#: stage works recursively on expressions; this bound keeps them far below Python's stack limit.
MAX_NESTING = 100
#: A policy file (and each file it imports or extends).
MAX_POLICY_BYTES = 1_000_000
#: A list file (`list … from "x.csv"`).
MAX_LIST_BYTES = 50_000_000
#: Digits of a number written in a policy: 28 significant digits is the exact range of every engine.
MAX_LITERAL_DIGITS = 28
#: Identifiers longer than this are refused (a 1M-character name would otherwise be quoted in every message).
MAX_NAME_CHARS = 200
#: Characters of a quoted value in a message; longer values are shortened with "…".
MAX_SHOWN_CHARS = 200

#: Characters that make a spreadsheet read a cell as a formula (OWASP's CSV-injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: `run --raw-cells`: write text cells of CSV results as they are, formulas and all.
RAW_CELLS: ContextVar[bool] = ContextVar("RAW_CELLS", default=False)

#: Extra directory trees the user allowed (`--allow-dir`), for this run.
ALLOWED_DIRS: ContextVar[tuple[str, ...]] = ContextVar("ALLOWED_DIRS", default=())


@dataclass(frozen=True)
class Refusal:
    """Why a named file was not read: a message and a hint for the drafter."""

    message: str
    hint: str


def nesting_message(limit: int = MAX_NESTING) -> tuple[str, str]:
    """The words for an expression nested too deeply."""
    return (f"this expression is nested deeper than {limit} levels",
            "split it into named facts (fact 小计 = …) and combine their names")


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def allowed_roots(policy_file: str | None) -> list[Path]:
    """The directory trees named files may come from: the checked policy's, the current one, `--allow-dir`s."""
    roots = []
    if policy_file:
        roots.append(Path(os.path.abspath(policy_file)).parent)
    cwd = Path(os.getcwd())
    if cwd != Path(cwd.anchor):  # run from the filesystem root, the current directory would allow everything
        roots.append(cwd)
    roots.extend(Path(os.path.abspath(d)) for d in ALLOWED_DIRS.get())
    return [Path(os.path.realpath(r)) for r in roots]


def refuse_named_file(path: Path, suffixes: tuple[str, ...], max_bytes: int, roots: list[Path],
                      what: str, missing_hint: str = "paths are relative to the referencing file",
                      shown: str | None = None) -> Refusal | None:
    """None when `path` may be read; else why not (naming it `shown`). Checked before anything is read from it."""
    shown = shown or str(path)
    if path.suffix.lower() not in suffixes:
        return Refusal(f"{what} '{shown}' is not a {' or '.join(suffixes)} file",
                       f"a {what} must be a {' or '.join(suffixes)} file")
    real = Path(os.path.realpath(path))
    if roots and not any(_inside(real, r) for r in roots):
        return Refusal(f"{what} '{shown}' is outside the policy's folder",
                       "files are read only from the policy's folder tree or the current one; "
                       "allow another folder with 'policydsl --allow-dir DIR …'")
    try:
        info = os.stat(real)
    except OSError:
        return Refusal(f"{what} '{shown}' cannot be read", missing_hint)
    if not stat.S_ISREG(info.st_mode):
        return Refusal(f"{what} '{shown}' is not a regular file", "name a file, not a folder, device or pipe")
    if info.st_size > max_bytes:
        return Refusal(f"{what} '{shown}' is {info.st_size:,} bytes, more than the limit of {max_bytes:,}",
                       "split it into smaller files")
    return None


def read_limited(path: Path, max_bytes: int) -> bytes:
    """At most `max_bytes` + 1 bytes of a file already checked (a file that grew since is cut, then refused)."""
    with open(path, "rb") as f:
        return f.read(max_bytes + 1)


def shorten(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """`text` cut to `limit` characters with '…' (and its length), so a huge value cannot flood a message."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def neutralise_cell(text: str) -> str:
    """A text cell a spreadsheet will not run: one starting like a formula gets a leading apostrophe (OWASP)."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def printable(text: str) -> str:
    """`text` for a terminal or a tab-separated line: line breaks, tabs, escape codes and other control characters
    are shown as \\n, \\t, \\x1b …, so a value can neither start a new row nor recolour the screen."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def printable_lines(text: str) -> str:
    """`printable` but keeping line breaks (for multi-line reports): escape codes and other controls shown."""
    if text.isprintable():
        return text
    return "\n".join(printable(line) for line in text.split("\n"))
