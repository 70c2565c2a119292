"""Table analysis for large tables by sorting and sweeping intervals.

The exact analysis of `analysis` compares every pair of rows (and subtracts unions of boxes), which grows with the
square of the rows. A large table is nearly always a lookup: each row a conjunction of comparisons of a few keys with
constants (`when 年龄 >= 30 and 年龄 < 31 -> …`). Such a row is a *box*: one interval per numeric or date key, one
set of labels per enum or bool key. For boxes:

- a row that can never apply is an empty box;
- two rows of a `unique` table overlap when their boxes meet on every key: rows sorted by their lower bound on one
  key and swept with the set of rows still open there find every overlapping pair in O(n log n + pairs);
- a gap (no `otherwise`) and a `first`-hit row that earlier rows shadow are found exactly for tables over one key, by
  merging the rows' intervals in order.

Boxes are built only from rows whose every atom is such a comparison; otherwise `boxes_of` answers None and the
caller says that the table is too large for the exact analysis. Findings are capped (`MAX_FINDINGS` per kind).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from decimal import Decimal

from .types import EnumType

MAX_FINDINGS = 10
#: Pairs compared by the sweep before it stops (all rows overlapping each other is quadratic however swept).
MAX_PAIRS = 2_000_000


@dataclass(frozen=True)
class Interval:
    """Values between `lo` and `hi` (None: unbounded); `lo_open`/`hi_open` exclude the bound itself. Integral keys
    (int, date ordinals) always have closed bounds."""

    lo: object = None
    hi: object = None
    lo_open: bool = False
    hi_open: bool = False

    def meet(self, other: Interval) -> Interval:
        lo, lo_open = _max_low((self.lo, self.lo_open), (other.lo, other.lo_open))
        hi, hi_open = _min_high((self.hi, self.hi_open), (other.hi, other.hi_open))
        return Interval(lo, hi, lo_open, hi_open)

    @property
    def empty(self) -> bool:
        if self.lo is None or self.hi is None:
            return False
        return self.lo > self.hi or (self.lo == self.hi and (self.lo_open or self.hi_open))

    def point(self, integral: bool) -> object:
        """A value inside (the interval is not empty)."""
        if self.lo is not None and not self.lo_open:
            return self.lo
        if self.hi is not None and not self.hi_open:
            return self.hi
        if self.lo is not None and self.hi is not None:
            return (Decimal(self.lo) + Decimal(self.hi)) / 2
        if self.lo is not None:
            return self.lo + 1
        if self.hi is not None:
            return self.hi - 1
        return 0


def _max_low(a: tuple, b: tuple) -> tuple:
    if a[0] is None:
        return b
    if b[0] is None or a[0] > b[0]:
        return a
    if b[0] > a[0]:
        return b
    return (a[0], a[1] or b[1])


def _min_high(a: tuple, b: tuple) -> tuple:
    if a[0] is None:
        return b
    if b[0] is None or a[0] < b[0]:
        return a
    if b[0] < a[0]:
        return b
    return (a[0], a[1] or b[1])


def interval_of(op: str, c: object, integral: bool) -> Interval | None:
    """The values of a key for which `key op c` holds, or None for `!=` (not one interval)."""
    if op == "eq":
        return Interval(c, c)
    if op == "ne":
        return None
    if integral:
        return {"lt": Interval(hi=c - 1), "le": Interval(hi=c), "gt": Interval(lo=c + 1),
                "ge": Interval(lo=c)}[op]
    return {"lt": Interval(hi=c, hi_open=True), "le": Interval(hi=c), "gt": Interval(lo=c, lo_open=True),
            "ge": Interval(lo=c)}[op]


def labels_of(t, op: str, c: object, domain: frozenset) -> frozenset:
    """The labels of an enum or bool key for which `key op c` holds (`c` a label or, for in/notin, a set)."""
    if op in ("in", "notin"):
        inside = domain & c
        return inside if op == "in" else domain - c
    if op in ("eq", "ne"):
        return frozenset({c}) & domain if op == "eq" else domain - {c}
    rank = t.rank  # an ordered enum
    test = {"lt": lambda a: a < rank(c), "le": lambda a: a <= rank(c), "gt": lambda a: a > rank(c),
            "ge": lambda a: a >= rank(c)}[op]
    return frozenset(label for label in domain if test(rank(label)))


def meet(a: dict, b: dict) -> dict | None:
    """The box where both hold, or None if they never both hold."""
    out = dict(a)
    for key, part in b.items():
        if key not in out:
            out[key] = part
            continue
        both = out[key].meet(part) if isinstance(part, Interval) else out[key] & part
        if (both.empty if isinstance(both, Interval) else not both):
            return None
        out[key] = both
    return out


def is_empty(box: dict) -> bool:
    """Whether a box holds no value (some key's interval or label set is empty)."""
    return any(part.empty if isinstance(part, Interval) else not part for part in box.values())


def overlapping_pairs(boxes: list[dict | None], key) -> tuple[list[tuple[int, int, dict]], bool]:
    """Pairs (i, j, where) of rows whose boxes meet, swept along `key`; and whether the sweep stopped early."""
    order = sorted((i for i, b in enumerate(boxes) if b is not None), key=lambda i: _low_key(boxes[i].get(key)))
    found: list[tuple[int, int, dict]] = []
    open_rows: list[int] = []
    compared = 0
    for i in order:
        low = boxes[i].get(key)
        open_rows = [j for j in open_rows if not _ends_before(boxes[j].get(key), low)]
        for j in open_rows:
            compared += 1
            where = meet(boxes[j], boxes[i])
            if where is not None:
                found.append((min(i, j), max(i, j), where))
                if len(found) >= MAX_FINDINGS:
                    return sorted(found), True
            if compared > MAX_PAIRS:
                return sorted(found), True
        open_rows.append(i)
    return sorted(found), False


def _low_key(part: Interval | None) -> tuple:
    if part is None or part.lo is None:
        return (0, 0, 0)
    return (1, part.lo, 1 if part.lo_open else 0)


def _ends_before(part: Interval | None, low: Interval | None) -> bool:
    """Whether an interval ends before another one starts (so it meets no later row on this key)."""
    if part is None or part.hi is None or low is None or low.lo is None:
        return False
    return part.hi < low.lo or (part.hi == low.lo and (part.hi_open or low.lo_open))


class Cover:
    """A union of intervals on one key, kept sorted and disjoint, to which rows are added in order."""

    def __init__(self, integral: bool):
        self.integral = integral
        self.parts: list[Interval] = []
        self._lows: list[tuple] = []  # _low_key of each part, for bisection

    def covers(self, x: Interval) -> bool:
        """Whether every value of `x` is already in the union (parts that touch are merged, so one part must)."""
        i = bisect.bisect_right(self._lows, _low_key(x))
        return i > 0 and _within(x, self.parts[i - 1])

    def add(self, x: Interval) -> None:
        """Add `x`, merging the parts it meets or touches (they lie next to each other in the sorted parts)."""
        i = bisect.bisect_right(self._lows, _low_key(x))
        start = i - 1 if i > 0 and self._joins(self.parts[i - 1], x) else i
        end, merged = start, x
        while end < len(self.parts) and self._joins(self.parts[end], merged):
            part = self.parts[end]
            lo, hi = _lowest(part, merged), _highest(part, merged)
            merged = Interval(lo[0], hi[0], lo[1], hi[1])
            end += 1
        self.parts[start:end] = [merged]
        self._lows[start:end] = [_low_key(merged)]

    def first_gap(self, whole: Interval) -> object | None:
        """The smallest value of `whole` found outside the union, or None if the union covers `whole`."""
        for value in sorted(self._candidates(whole), key=lambda v: (v is not None, v)):
            point = Interval(value, value)
            if not whole.meet(point).empty and not self.covers(point):
                return value
        return None

    def _candidates(self, whole: Interval) -> set:
        """The values next to every bound: a gap, if any, contains one of them."""
        step = 1 if self.integral else Decimal(1)
        out = {v for v in (whole.lo, whole.hi) if v is not None}
        if not self.parts:
            out.add(whole.point(self.integral))
        for k, part in enumerate(self.parts):
            if part.lo is not None:
                out |= {part.lo - step, part.lo}
            if part.hi is not None:
                out |= {part.hi + step, part.hi}
                after = self.parts[k + 1] if k + 1 < len(self.parts) else None
                if not self.integral and after is not None and after.lo is not None:
                    out.add((Decimal(part.hi) + Decimal(after.lo)) / 2)
        return out

    def _joins(self, a: Interval, b: Interval) -> bool:
        if not a.meet(b).empty:
            return True
        if self.integral:
            return (a.hi is not None and b.lo is not None and a.hi + 1 == b.lo) or (
                b.hi is not None and a.lo is not None and b.hi + 1 == a.lo)
        return (a.hi is not None and a.hi == b.lo and not (a.hi_open and b.lo_open)) or (
            b.hi is not None and b.hi == a.lo and not (b.hi_open and a.lo_open))


def _lowest(a: Interval, b: Interval) -> tuple:
    if a.lo is None or b.lo is None:
        return (None, False)
    if a.lo != b.lo:
        return (a.lo, a.lo_open) if a.lo < b.lo else (b.lo, b.lo_open)
    return (a.lo, a.lo_open and b.lo_open)


def _highest(a: Interval, b: Interval) -> tuple:
    if a.hi is None or b.hi is None:
        return (None, False)
    if a.hi != b.hi:
        return (a.hi, a.hi_open) if a.hi > b.hi else (b.hi, b.hi_open)
    return (a.hi, a.hi_open and b.hi_open)


def _within(x: Interval, part: Interval) -> bool:
    low_ok = part.lo is None or (x.lo is not None and (x.lo > part.lo or x.lo == part.lo and (
        x.lo_open or not part.lo_open)))
    high_ok = part.hi is None or (x.hi is not None and (x.hi < part.hi or x.hi == part.hi and (
        x.hi_open or not part.hi_open)))
    return low_ok and high_ok


def domain_labels(t) -> frozenset:
    """Every label of an enum or bool key."""
    return frozenset(t.labels) if isinstance(t, EnumType) else frozenset({True, False})
