"""Values across records, computed in Python: ranks, top/bottom, apportionment, pools, aggregates over the records.

The row engine evaluates each record's parts (`ir.Across.parts`) and hands them here as `Entry`s; this module
groups them (`within`), orders them (`by`, then the record key), and gives each record its value, the figures an
explanation shows (`Figures`) or the error that stops it. The SQL engines compute the same with window functions;
the differential tests hold them to these results.

The rules, stated once (docs/language.md repeats them for drafters):
* a record takes part if no rule failed for it before the value is computed; its group is the records with the
  same `within` value;
* ordering is by the `by` keys in turn (`desc` reverses one), then by the record key ascending (the input position
  when the subject has no key); `bottom` is `top` of the reversed order (every key and the record key reversed);
* ranks: `standard` 1, 2, 2, 4; `dense` 1, 2, 2, 3; `ordinal` 1, 2, 3, 4 (ties fall to the record key);
  `percent_rank` is (standard rank − 1) / (records − 1), 0 for a group of one;
* top/bottom N holds the records whose rank (by the ties rule) is at most N; of P% it holds P% of the group's
  records, rounded as stated (`up`, `down`, `half_up`);
* apportion T by weights w (whole numbers ≥ 0): largest remainder gives each ⌊T·w/W⌋ and the places left over one
  each to the largest remainders T·w − ⌊T·w/W⌋·W (ties by the order); D'Hondt gives the places one at a time to
  the largest w / (places so far + 1) (ties by the order); the parts add up to T exactly;
* grant requests r (whole numbers ≥ 0) from a pool P in the order: `partial` gives each min(r, what is left);
  `whole` gives r while the requests so far (this one included) fit in P, and nothing to it and every later one
  once they do not.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from fractions import Fraction

from .. import ir
from ..types import INT, EnumType, divide

COUNT_ROUNDING = {"up": ROUND_CEILING, "down": ROUND_FLOOR, "half_up": ROUND_HALF_UP}


@dataclass(frozen=True)
class Entry:
    """One record's part in a value across records: its position, its evaluated parts and its tie-break."""

    position: int
    value: object
    selected: bool
    group: object
    keys: tuple
    tiebreak: object


@dataclass(frozen=True)
class Figures:
    """What one record's value across records was computed from (for its explanation).

    `items` holds the figures by name: rank (from the top), place (top/bottom: the rank counted from that end),
    size, count (how many top/bottom holds), total, weights, weight, quota, request, before (what was left of the
    pool before this record), value.
    """

    func: str
    group: object
    items: tuple[tuple[str, object], ...]

    def get(self, name: str, default: object = None) -> object:
        return dict(self.items).get(name, default)


@dataclass
class Outcome:
    """Per record position: the value, its figures, or an error."""

    values: dict[int, object]
    figures: dict[int, Figures]
    errors: dict[int, str]


def compute(a: ir.Across, entries: list[Entry], amount: object) -> Outcome:
    """The value of `a` for every entry (grouped by `within`)."""
    out = Outcome({}, {}, {})
    groups: dict[object, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.group, []).append(entry)
    for group, members in groups.items():
        _GROUP_FUNCS.get(a.func, _aggregate)(a, members, amount, out, group if a.within is not None else None)
    return out


# ------------------------------------------------------------------------------------------------ ordering

def _ordered(a: ir.Across, members: list[Entry], reverse: bool = False) -> list[Entry]:
    directions = [k.descending != reverse for k in a.order]
    ranks = [_rank_of(k.expr.type) for k in a.order]

    def compare(x: Entry, y: Entry) -> int:
        for i, (descending, rank) in enumerate(zip(directions, ranks)):
            p, q = rank(x.keys[i]), rank(y.keys[i])
            if p != q:
                return (1 if p > q else -1) * (-1 if descending else 1)
        if x.tiebreak != y.tiebreak:
            return (1 if x.tiebreak > y.tiebreak else -1) * (-1 if reverse else 1)
        return 0
    return sorted(members, key=functools.cmp_to_key(compare))


def _rank_of(t) -> Callable[[object], object]:
    if isinstance(t, EnumType):
        index = {label: i for i, label in enumerate(t.labels)}
        return index.__getitem__
    return lambda x: x


def _ranks(a: ir.Across, ordered: list[Entry], rule: str) -> list[int]:
    """The rank of each entry of `ordered` by the ties rule (equal `by` keys are ties)."""
    ranks: list[int] = []
    dense = 0
    for i, entry in enumerate(ordered):
        tied = i > 0 and entry.keys == ordered[i - 1].keys
        if not tied:
            dense += 1
        if rule == "ordinal":
            ranks.append(i + 1)
        elif rule == "dense":
            ranks.append(dense)
        else:
            ranks.append(ranks[-1] if tied else i + 1)
    return ranks


# ------------------------------------------------------------------------------------------------ functions

def _rank(a: ir.Across, members, amount, out: Outcome, group) -> None:
    ordered = _ordered(a, members)
    rule = a.ties or "standard"
    ranks = _ranks(a, ordered, rule)
    size = len(ordered)
    for entry, rank in zip(ordered, ranks):
        if a.func == "percent_rank":
            value = Decimal(0) if size == 1 else divide(rank - 1, size - 1)
        else:
            value = rank
        out.values[entry.position] = value
        out.figures[entry.position] = Figures(a.func, group, (("rank", rank), ("size", size), ("value", value)))


def _top(a: ir.Across, members, amount, out: Outcome, group) -> None:
    size = len(members)
    if isinstance(amount, int):
        count = amount
    else:
        count = int((Decimal(amount) * size).to_integral_value(COUNT_ROUNDING[a.rounding]))
    if count < 0:
        for entry in members:
            out.errors[entry.position] = f"{a.func}: the number of records, {count}, is negative"
        return
    ordered = _ordered(a, members, reverse=a.func == "bottom")
    ranks = _ranks(a, ordered, a.ties)
    in_order = _ordered(a, members)  # the rank an explanation shows counts from the top, for bottom too
    forward = {e.position: r for e, r in zip(in_order, _ranks(a, in_order, a.ties))}
    for entry, rank in zip(ordered, ranks):
        inside = rank <= count
        out.values[entry.position] = inside
        out.figures[entry.position] = Figures(a.func, group, (
            ("rank", forward[entry.position]), ("place", rank), ("size", size), ("count", count), ("value", inside)))


def _apportion(a: ir.Across, members, total, out: Outcome, group) -> None:
    members = _whole_numbers(a, members, out, "weight")
    if not members:
        return
    weights = sum(e.value for e in members)
    problem = None
    if total < 0:
        problem = f"apportion: the total {total} is negative"
    elif weights == 0 and total > 0:
        problem = f"apportion: the weights add up to 0, so {total} cannot be shared"
    if problem:
        for entry in members:
            out.errors[entry.position] = problem
        return
    ordered = _ordered(a, members)
    parts = {e.position: 0 for e in members}
    remainders: dict[int, int] = {}
    if a.method == "dhondt":
        heap = [(_neg_quotient(e.value, 0), place, e.position) for place, e in enumerate(ordered)]
        heapq.heapify(heap)
        for _ in range(total):
            _, place, position = heapq.heappop(heap)
            parts[position] += 1
            heapq.heappush(heap, (_neg_quotient(ordered[place].value, parts[position]), place, position))
    elif weights:
        for e in members:
            parts[e.position], remainders[e.position] = divmod(total * e.value, weights)
        left = total - sum(parts.values())
        by_remainder = sorted(range(len(ordered)), key=lambda i: (-remainders[ordered[i].position], i))
        for i in by_remainder[:left]:
            parts[ordered[i].position] += 1
    for e in members:
        items = [("total", total), ("weights", weights), ("weight", e.value), ("size", len(members)),
                 ("value", parts[e.position])]
        if e.position in remainders and weights:
            items.append(("quota", divide(total * e.value, weights)))
        out.values[e.position] = parts[e.position]
        out.figures[e.position] = Figures(a.func, group, tuple(items))


def _neg_quotient(weight: int, places: int) -> Fraction:
    return -Fraction(weight, places + 1)


def _grant(a: ir.Across, members, pool, out: Outcome, group) -> None:
    members = _whole_numbers(a, members, out, "request")
    if pool < 0:
        for entry in members:
            out.errors[entry.position] = f"grant: the pool {pool} is negative"
        return
    left, asked, stopped = pool, 0, False
    for entry in _ordered(a, members):
        before = left
        asked += entry.value
        if a.method == "partial":
            granted = min(entry.value, left)
        else:
            stopped = stopped or asked > pool
            granted = 0 if stopped else entry.value
        left -= granted
        out.values[entry.position] = granted
        out.figures[entry.position] = Figures(a.func, group, (
            ("total", pool), ("request", entry.value), ("before", before), ("value", granted), ("size", len(members))))


def _whole_numbers(a: ir.Across, members: list[Entry], out: Outcome, what: str) -> list[Entry]:
    """The entries whose weight/request is not negative; the others fail."""
    kept = []
    for entry in members:
        if entry.value < 0:
            out.errors[entry.position] = f"{a.func}: the {what} {entry.value} is negative"
        else:
            kept.append(entry)
    return kept


def _aggregate(a: ir.Across, members, amount, out: Outcome, group) -> None:
    chosen = [e for e in members if e.selected]
    f = a.func
    value: object
    if f == "count":
        value = len(chosen)
    elif f == "distinct":
        value = len({e.value for e in chosen})
    elif f == "any":
        value = any(e.value for e in chosen)
    elif f == "all":
        value = all(e.value for e in chosen)
    elif f == "sum":
        value = sum((e.value for e in chosen), 0 if a.type == INT else Decimal(0))
    elif not chosen:
        for entry in members:
            out.errors[entry.position] = f"{f} of no records ({a.span})"
        return
    else:
        value = (min if f == "min" else max)(e.value for e in chosen)
    for entry in members:
        out.values[entry.position] = value
        out.figures[entry.position] = Figures(f, group, (("size", len(chosen)), ("value", value)))


_GROUP_FUNCS = {"rank": _rank, "percent_rank": _rank, "top": _top, "bottom": _top, "apportion": _apportion,
                "grant": _grant}
