"""Searching for suggestions: the smallest change of an input, re-evaluated, that changes a decision."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from .. import ir, naming
from ..engines.row import EvaluationError
from ..types import BOOL, DATE, DECIMAL, INT, MONEY, PERCENT, EnumType, Type
from .memo import value_key
from .model import Suggestion
from .tree import _children, _decides, _decision_exprs, _flatten, _guard_field, _refs

_MISSING = object()
_STEPS = {INT: 1, MONEY: Decimal("0.01"), PERCENT: Decimal("0.0001"), DECIMAL: Decimal("0.01"), DATE: 1}


def _searchable(t: Type | None) -> bool:
    return t in _STEPS or t == BOOL or isinstance(t, EnumType)


def _candidates(old, t) -> list[list]:
    """Changes tried one by one (bools and unordered enums); numbers and ordered enums are bisected instead."""
    if t == BOOL:
        return [[not old]]
    if isinstance(t, EnumType) and not t.ordered:
        rank = t.rank(old)
        return [list(t.labels[:rank][::-1]), list(t.labels[rank + 1:])]
    return []


def _move(old, t, k: int):
    if t == DATE:
        try:
            return old + timedelta(days=k)
        except OverflowError:
            return None
    if t == INT:
        new = old + k
        return None if old >= 0 > new else new
    step = _STEPS[t]
    new = old + step * k
    if t == MONEY and old >= 0 > new:
        return None
    return new


#: Threshold crossings tried per field and direction for "what would change it" (the nearest first).
MAX_CROSSINGS = 64


def _crossings(old, t, step, direction: int, thresholds) -> list[int]:
    """The step counts k ≥ 1 at which `old` moved by k steps in `direction` first reaches, and first passes, each
    threshold on that side (in increasing order)."""
    ks = set()
    for th in thresholds:
        try:
            diff = (th - old) if direction > 0 else (old - th)
            if t == DATE:
                diff, unit = diff.days, 1
            else:
                unit = step
            if diff < 0:
                continue
            q, r = divmod(diff, unit)
        except (TypeError, ArithmeticError):
            continue
        q = int(q)
        ks.add(q if r == 0 else q + 1)
        ks.add(q + 1)
    return sorted(k for k in ks if k >= 1)


#: Suggestions shown on a page, and the effects said for each.
MAX_SUGGESTIONS = 3
MAX_EFFECTS = 1
_NUMBERS = ("int", "money", "decimal", "percent")
#: Pairs of changes tried, easiest first, when no single change is enough.
MAX_PAIRS = 48


def _improves(better, t, old, new) -> bool:
    """Whether `new` is better for the person than `old`, the way the policy declares (`naming.favourable`)."""
    if better.direction in ("higher", "lower"):
        if isinstance(t, EnumType):
            old, new = t.rank(old), t.rank(new)
        try:
            return new > old if better.direction == "higher" else new < old
        except TypeError:
            return False
    if isinstance(t, EnumType) and better.value in t.labels:
        # the labels of an outcome are declared in order (可推荐事业编, 常规管理, 诫勉督促): a label nearer the
        # favourable one is better — from 诫勉督促 to 常规管理 is a step up though not the top
        best = t.rank(better.value)
        return abs(t.rank(new) - best) < abs(t.rank(old) - best)
    return new == better.value and old != better.value


def _ease(policy, changes, olds: dict) -> tuple:
    """How hard a change is, smallest first: the number of changes, then their size (an enum step or a flipped bool
    counts 1; a number its change relative to its value)."""
    size = 0.0
    for field, new in changes:
        t = policy.subject.field(field)
        old = olds.get(field)
        if isinstance(t, EnumType):
            size += abs(t.rank(new) - t.rank(old))
        elif t == BOOL or old is None:
            size += 1
        else:
            try:
                size += float(abs(new - old)) / max(float(abs(old)), 1.0)
            except (TypeError, ArithmeticError):
                size += 1
    return (len(changes), round(size, 6))


#: Sentences of suggestions kept for the records after this one.
MAX_SENTENCES = 25_000


def _same(a, b) -> bool:
    """Equal and indistinguishable when shown (same type; for Decimal the same exponent: 0.1 is not 0.10)."""
    if type(a) is not type(b) or a != b:
        return False
    return not isinstance(a, Decimal) or a.same_quantum(b)


class SuggestionsMixin:
    """Searching for the changes of the record that would change a decision (a part of `Explainer`)."""

    def _page_suggestions(self, outcomes) -> tuple[Suggestion, ...]:
        """What the person can do: every outcome's suggestions, one change said once with all it would bring,
        the easiest first (fewest changes, then the smallest), at most MAX_SUGGESTIONS."""
        merged: dict[tuple, list[Suggestion]] = {}
        for o in outcomes:
            for s in o.suggestions:
                merged.setdefault((s.fields, s.new), []).append(s)
        out = []
        sep = ";" if self.lang == "zh" else "; "
        for group in merged.values():
            first = group[0]
            head = first.text[:len(first.text) - len(first.effect)]
            # what the change brings, said for the outcomes that matter most: those the conclusion names first,
            # then the others in the policy's order, at most MAX_EFFECTS of them
            group.sort(key=lambda s: not any(s.effect.startswith(name + " ") for name in self._leading))
            effect = sep.join(list(dict.fromkeys(s.effect for s in group))[:MAX_EFFECTS])
            out.append(replace(first, effect=effect, text=head + effect))
        out.sort(key=lambda s: s.ease)
        shown = out[:MAX_SUGGESTIONS]
        # a decision (诫勉督促 → 常规管理, refused → met) is not crowded out by easier changes of sums of money:
        # the easiest change of each decision is kept
        for o in outcomes:
            if o.type not in _NUMBERS and o.suggestions and not any(
                    s.fields == o.suggestions[0].fields and s.new == o.suggestions[0].new for s in shown):
                first = next(s for s in out if s.fields == o.suggestions[0].fields and s.new == o.suggestions[0].new)
                shown.append(first)
        return tuple(shown)

    # -------------------------------------------------------------------------------------------- why not
    def _suggestions(self, node: ir.Node, v: list, values: dict, as_of: date) -> tuple[Suggestion, ...]:
        """Changes the person can make (fields the policy declares actionable), each re-evaluated, that move this
        outcome the way the policy declares favourable; when no single change does, the smallest pair that does;
        for a condition that only time can meet, the date from which it is met."""
        if isinstance(node.body, ir.EligibilityBody):
            return self._eligibility_suggestions(node, self._step(node.name), v, values, as_of)
        better = naming.favourable(self.policy, node.name)
        if better is None:
            return ()  # the policy does not say which way is good for the person: nothing to suggest
        decides = self._decides.get(node.name)
        if decides is None:
            decides = self._decides[node.name] = _decides(node.body) or bool(self._decision_fields_of(node.name))
        if not decides or not self._node_can_change(node.name, v):
            return ()
        slot = self.engine.slots[node.name]
        live = self._live_node(node.name, v)
        # every field the outcome depends on, in the record's order: a formula's input helps as much as a test's
        fields = [f for f in self._suggestable_cone(node.name) if f in live]
        current = v[slot]

        def improves(vv) -> bool:
            return vv[slot] != current and _improves(better, node.type, current, vv[slot])

        found = [self._outcome_suggestion(node, current, new_v, ((field, new_value),), values)
                 for field, new_value, new_v in self._search(fields, values, as_of, improves, flip_only=True)]
        if not found and node.type not in (INT, MONEY, DECIMAL, PERCENT):
            # a decision (an enum, a yes/no) no single change moves: the smallest pair that does; a number moves
            # with almost any single input, so a pair would only add to the list
            found = [self._outcome_suggestion(node, current, new_v, changes, values)
                     for changes, new_v in self._pairs(fields, values, improves)]
        return tuple(found)

    def _eligibility_suggestions(self, node, step, v, values, as_of) -> tuple[Suggestion, ...]:
        found: list[Suggestion] = []
        slot = self.engine.slots[node.name]
        failed = [(cond, res) for cond, res in zip(node.body.conditions, step.conditions) if not res.passed]
        changeable = [self._can_change(cond.expr, v) for cond, _ in failed]
        for (cond, _), can_change in zip(failed, changeable):
            if not can_change:  # no change the person may make passes it: only time can
                if not self.engine.cross and self._reads_date(cond.expr):
                    found += self._waiting(node, cond, values, as_of)
                continue
            guards = {_guard_field(p) for p in _flatten(cond.expr, "or")} - {None}
            live = self._live(cond.expr, v)
            fields = [f for f in self._fields_of_expr(cond.expr) if f not in guards and f in live and
                      self._may_suggest(f)]

            def passes(vv, cond=cond):
                return bool(self._eval(cond.expr, vv))

            for field, new_value, new_v in self._search(fields, values, as_of, passes):
                effect = self._cond_effect(node, cond, new_v[slot], v, new_v)
                found.append(self._suggestion(((field, values[field], new_value),), effect))
            if not self.engine.cross and self._reads_date(cond.expr):
                found += self._waiting(node, cond, values, as_of)
        if failed and all(changeable) and not any(self._whole_marker in s.effect for s in found):
            fields = [f for f in self._decision_fields_of(node.name) if self._may_suggest(f)]
            for changes, _ in self._pairs(fields, values, lambda vv: bool(vv[slot])):
                effect = self._n(node.name) + (" 将为符合" if self.lang == "zh" else " would be met")
                found.append(self._suggestion(tuple((f, values[f], new) for f, new in changes), effect))
        return tuple(found)

    @property
    def _whole_marker(self) -> str:
        return "将为符合" if self.lang == "zh" else "would be met"

    def _may_suggest(self, field: str) -> bool:
        """Only what the person concerned can change (the policy says so), never a date: a birth date, the day a
        violation was found or a resignation are facts; time passing is said as a date instead."""
        found = self._suggestable.get(field)
        if found is None:
            found = self._suggestable[field] = naming.actionable(self.policy, field) and \
                self.policy.subject.field(field) != DATE
        return found

    def _may_step(self, field: str) -> bool:
        """A field a suggestion may change and the search can step."""
        return self._may_suggest(field) and _searchable(self.policy.subject.field(field))

    def _suggestable_cone(self, name: str) -> tuple[str, ...]:
        """The fields of a node's cone a suggestion may change and the search can step, in the record's order."""
        found = self._cone_order.get(name)
        if found is None:
            order = self.policy.subject.field_names
            found = self._cone_order[name] = tuple(
                f for f in sorted(self._field_cone(name), key=order.index)
                if self._may_suggest(f) and _searchable(self.policy.subject.field(f)))
        return found

    def _outcome_suggestion(self, node, current, new_v, changes, values) -> Suggestion:
        value = new_v[self.engine.slots[node.name]]
        key = ("effect", node.name, value_key(current), value_key(value))
        effect = self._sentences.get(key)
        if effect is None:
            new = self._wu(node.name, value, node.type, self.lang)
            diff = self._size(current, value, node.type, self.lang, node.name) \
                if node.type in (INT, MONEY, DECIMAL, PERCENT) else ""
            if diff:
                new += f"({diff})" if self.lang == "zh" else f" ({diff})"
            effect = f"{self._n(node.name)} 将为 {new}" if self.lang == "zh" else \
                f"{self._n(node.name)} would be {new}"
            self._remember(key, effect)
        return self._suggestion(tuple((f, values[f], n) for f, n in changes), effect)

    def _remember(self, key: tuple, made) -> None:
        """Keep a sentence for the records after this one (the words of a change and of its effect are the same
        for every record with the same figures); the memo starts again once it holds MAX_SENTENCES."""
        if len(self._sentences) > MAX_SENTENCES:
            self._sentences.clear()
        self._sentences[key] = made

    def _pairs(self, fields, values, flipped) -> list:
        """The easiest combination of two changes (each a step of one actionable field) for which `flipped`
        holds, re-evaluated; [] when none does. Pairs are tried easiest first, so the first that flips is it."""
        moves = [(f, new, _ease(self.policy, ((f, new),), values)[1]) for f in fields
                 for new in self._moves(f, values.get(f))]
        pairs = sorted(((e1 + e2, (f1, n1), (f2, n2)) for i, (f1, n1, e1) in enumerate(moves)
                        for f2, n2, e2 in moves[i + 1:] if f2 != f1), key=lambda p: p[0])
        for _, first, second in pairs[:MAX_PAIRS]:
            changes = (first, second)
            new_v = self._rerun_pair(changes)
            if new_v is not None and flipped(new_v):
                return [(changes, new_v)]
        return []

    def _rerun_pair(self, changes) -> list | None:
        """The record with two fields changed (memoised per record: every outcome's search shares them); only
        the nodes either field reaches are re-evaluated."""
        key = tuple((f, type(n), n) for f, n in changes)
        found = self._runs.get(key, _MISSING)
        if found is _MISSING:
            found = self._runs[key] = self._rerun_many(changes)
        return found

    def _moves(self, field: str, old) -> list:
        """A few single steps of a field for combinations: the neighbouring labels, a flipped bool, a number
        moved to the figures it is compared with."""
        t = self.policy.subject.field(field)
        if old is None:
            return []
        if t == BOOL:
            return [not old]
        if isinstance(t, EnumType):
            rank = t.rank(old)
            return [label for label in (t.labels[rank - 1] if rank else None,
                                        t.labels[rank + 1] if rank + 1 < len(t.labels) else None) if label]
        step = _STEPS.get(t)
        if step is None:
            return []
        thresholds = self._saturation(field)[2]
        out = []
        for direction in (1, -1):
            # to the figures it is compared with; a field in a formula (min(荣誉数, 2)): one, two, four steps
            ks = _crossings(old, t, step, direction, thresholds)[:2] if thresholds else [1, 2, 4]
            for k in ks:
                new = _move(old, t, k * direction)
                if new is not None:
                    out.append(new)
        return out

    def _rerun_many(self, changes) -> list | None:
        """The record's values with several fields changed ((field, new value) pairs); a node is re-evaluated
        when something it reads changed, the others keep the record's own values."""
        e = self.engine
        fields = tuple(f for f, _ in changes)
        chain = self._downstream.get(fields)
        if chain is None:
            slots = e.slots
            chain = self._downstream[fields] = tuple(
                (slot, fn, frozenset(slots[r] for r in self.policy.nodes[name].reads if r in slots))
                for slot, name, fn in e.fast if any(f in self._field_cone(name) for f in fields))
        v = self._v.copy()
        changed = set()
        for field, new in changes:
            v[e.slots[field]] = new
            changed.add(e.slots[field])
        try:
            for slot, fn, reads in chain:
                if changed.isdisjoint(reads):
                    continue
                value = fn(v, None)
                if not _same(value, v[slot]):
                    changed.add(slot)
                v[slot] = value
        except (EvaluationError, ArithmeticError, InvalidOperation, KeyError, TypeError, ValueError, OverflowError,
                AttributeError):  # (AttributeError: an absent optional value read where a guard no longer holds)
            return None
        return v

    def _waiting(self, node, cond, values, as_of) -> list[Suggestion]:
        """For a condition on time (years of membership, of service): the first day, within ten years, from which
        it is met with the record unchanged — said as a date, not as a change of the record."""
        def passes(day: int) -> bool:
            v = self._run(values, as_of + timedelta(days=day))
            return v is not None and self._maybe(cond.expr, v) is True

        lo, hi = 0, 1
        while hi <= 3660 and not passes(hi):
            lo, hi = hi, hi * 2
        if hi > 3660:
            return []
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if passes(mid) else (mid, hi)
        day = as_of + timedelta(days=hi)
        when = self._val(day, DATE)
        name = self._m(node.name, cond.name)
        if self.lang == "zh":
            text = f"{when}起,条件“{name}”将满足,届时可再申请"
        else:
            text = f"From {when} the condition {name} will be met, and you may apply again"
        return [Suggestion("", "", when, "", text, text, (), (1, hi / 365))]

    def _reads_date(self, x) -> bool:
        """Whether a condition reads the evaluation date, itself or through the facts it reads (a length of
        membership, of service): time alone can then meet it."""
        seen: set[str] = set()
        stack = [x]
        while stack:
            for e in ir.walk(stack.pop()):
                if isinstance(e, ir.AsOf):
                    return True
                if isinstance(e, ir.Ref) and e.kind == "node" and e.name not in seen:
                    seen.add(e.name)
                    stack.append(self.policy.nodes[e.name].body)
        return False

    def _cond_effect(self, node, cond, whole: bool, v, new_v) -> str:
        zh = self.lang == "zh"
        outcome, name = self._n(node.name), self._m(node.name, cond.name)
        reads = [r for r in cond.reads if r in self.policy.nodes and new_v[self.engine.slots[r]] !=
                 v[self.engine.slots[r]]]
        changes = ", ".join(
            f"{self._n(r)} {'将为' if zh else 'would be'} "
            f"{self._wu(r, new_v[self.engine.slots[r]], self.policy.nodes[r].type, self.lang)}" for r in reads)
        if zh:
            text = (f"{changes}," if changes else "") + f"条件“{name}”将满足"
            return text + (f",{outcome} 将为符合" if whole else f";{outcome} 仍不符合(还有其他条件未满足)")
        text = (f"{changes}; " if changes else "") + f"condition {name} would pass"
        return text + (f" and {outcome} would be met" if whole else f"; {outcome} would still not be met "
                                                                      f"(other conditions fail)")

    def _suggestion(self, changes: tuple, effect: str) -> Suggestion:
        """A suggestion of one or more changes ((field, old, new), …) and what they would bring (made once for
        the same changes and effect, and shared)."""
        key = ("suggestion", effect, *((f, value_key(old), value_key(new)) for f, old, new in changes))
        found = self._sentences.get(key)
        if found is None:
            found = self._make_suggestion(changes, effect)
            self._remember(key, found)
        return found

    def _make_suggestion(self, changes: tuple, effect: str) -> Suggestion:
        heads, olds, news, sizes = [], [], [], []
        for field, old, new in changes:
            key = (field, type(new), new)
            said = self._said.get(key)  # the same change is usually suggested for several outcomes
            if said is None:
                t = self.policy.subject.field(field)
                old_t, new_t = self._wu(field, old, t, self.lang), self._wu(field, new, t, self.lang)
                change = self._size(old, new, t, self.lang, field)
                zh = self.lang == "zh"
                now = f"现为 {old_t}" if zh else f"now {old_t}"
                detail = f"{now}, {change}" if change and not zh else (f"{now},{change}" if change else now)
                head = f"{self._n(field)} 为 {new_t}({detail})" if zh else f"{self._n(field)} were {new_t} ({detail})"
                said = self._said[key] = (old_t, new_t, change, head)
            old_t, new_t, change, head = said
            heads.append(head)
            olds.append(old_t)
            news.append(new_t)
            sizes.append(change)
        if self.lang == "zh":
            lead = "若 " + ",且 ".join(heads) + ","
        else:
            lead = "If " + ", and ".join(heads) + ", "
        ease = _ease(self.policy, tuple((f, n) for f, _, n in changes), {f: o for f, o, _ in changes})
        return Suggestion(changes[0][0], "; ".join(olds), "; ".join(news), "; ".join(s for s in sizes if s), effect,
                          lead + effect, tuple(f for f, _, _ in changes), ease, tuple((f, n) for f, _, n in changes))

    def _search(self, fields: Iterable[str], values: dict, as_of: date, flipped: Callable[[list], bool],
                flip_only: bool = False):
        """For each field, the smallest change up and down (re-evaluated) for which `flipped(v)` holds."""
        for field in fields:
            t = self.policy.subject.field(field)
            old = values.get(field)
            if old is None:
                continue
            best = []
            for candidates in _candidates(old, t):
                for new in candidates:
                    new_v = self._changed(values, field, new, as_of)
                    if new_v is not None and flipped(new_v):
                        best.append((field, new, new_v))
                        break
            if isinstance(t, EnumType) and not t.ordered or t == BOOL:
                yield from best
                continue
            for direction in (1, -1):
                hit = self._bisect(field, old, t, direction, values, as_of, flipped)
                if hit is not None:
                    yield hit

    def _bisect(self, field, old, t, direction, values, as_of, flipped):
        step = _STEPS.get(t)
        if step is None and not (isinstance(t, EnumType) and t.ordered):
            return None
        if isinstance(t, EnumType):
            rank = t.rank(old)
            order = t.labels[rank + 1:] if direction > 0 else tuple(reversed(t.labels[:rank]))
            for label in order:
                new_v = self._changed(values, field, label, as_of)
                if new_v is not None and flipped(new_v):
                    return field, label, new_v
            return None

        def moved(k: int):
            new = _move(old, t, k * direction)
            if new is None:
                return None, None
            return new, self._changed(values, field, new, as_of)

        thresholds = self._saturation(field)[2]
        if thresholds is not None:
            # Only comparisons read the field: the record's values are the same for every change that leaves it on
            # the same side of each threshold, so the steps that reach or pass one are the only ones to try, in
            # order — the smallest change that flips, found exactly, without probing.
            key = (field, direction, "crossings")
            probes = self._ladders.get(key)
            if probes is None:
                probes = self._ladders[key] = []
                # the nearest crossings only: a 10,000-row table would otherwise cost 20,000 evaluations a field
                for k in _crossings(old, t, step, direction, thresholds)[:MAX_CROSSINGS]:
                    new, new_v = moved(k)
                    if new is None:
                        break
                    probes.append((new, new_v))
            for new, new_v in probes:
                if new_v is not None and flipped(new_v):
                    return field, new, new_v
            return None

        lo, hi = 0, None
        for k, _new, new_v in self._ladder(field, old, t, direction, values, as_of):
            if new_v is not None and flipped(new_v):
                hi = k
                break
            lo = k
        if hi is None:
            return None
        while hi - lo > 1:
            mid = (lo + hi) // 2
            new, new_v = moved(mid)
            if new is not None and new_v is not None and flipped(new_v):
                hi = mid
            else:
                lo = mid
        new, new_v = moved(hi)
        return field, new, new_v

    def _ladder(self, field, old, t, direction, values, as_of) -> list:
        """The exponential probe of a field, (k, new value, values) for k = 1, 2, 4, … 2**24 while the change is
        possible; computed once per record and direction, then read by every outcome's search."""
        key = (field, direction)
        ladder = self._ladders.get(key)
        if ladder is None:
            ladder = self._ladders[key] = []
            low, high, _ = self._saturation(field)
            k = 1
            while k <= 1 << 24:
                new = _move(old, t, k * direction)
                if new is None:
                    break
                ladder.append((k, new, self._changed(values, field, new, as_of)))
                if (direction > 0 and high is not None and new > high) or \
                        (direction < 0 and low is not None and new < low):
                    break  # past every threshold the field meets: further probes would all give these values
                k *= 2
        return ladder

    def _saturation(self, field: str) -> tuple:
        """(low, high, thresholds): no node of the record changes while the field moves above `high` (or below
        `low`); None where there is no such bound. Known only for a field that every expression uses solely as a
        side of a comparison or membership test, or as an argument of min/max/clamp, against constants, params
        and the evaluation date: its value matters only through which side of those figures it falls on.
        `thresholds` (None unless every use is a comparison or membership test) are those figures: the record's
        values can change only where the field reaches or passes one of them."""
        key = (field, self._v[self.engine.slots["<as_of>"]])
        found = self._bounds.get(key)
        if found is None:
            found = self._bounds[key] = self._find_saturation(field)
        return found

    def _find_saturation(self, field: str) -> tuple:
        uses = [(parent, child) for parent, child in self._field_uses() if child.name == field]
        lows, highs, pure = [], [], True
        for parent, child in uses:
            if parent is None:
                return None, None, None
            if isinstance(parent, ir.BinaryOp) and parent.op in ("eq", "ne", "lt", "le", "gt", "ge", "in",
                                                                   "notin"):
                others = [parent.right if parent.left is child else parent.left]
                if parent.op in ("in", "notin"):
                    if parent.left is not child or not isinstance(parent.right, ir.ListItems):
                        return None, None, None
                    others = list(parent.right.items)
                if not all(self._fixed(o) for o in others):
                    return None, None, None
                figures = [self._eval(o, self._v) for o in others]
                lows += figures
                highs += figures
            elif isinstance(parent, ir.Builtin) and parent.func in ("min", "max", "clamp"):
                others = [a for a in parent.args if a is not child]
                if len(others) != len(parent.args) - 1 or not all(self._fixed(o) for o in others):
                    return None, None, None
                figures = [self._eval(o, self._v) for o in others]
                pure = False
                if parent.func == "clamp":
                    if parent.args[0] is not child:
                        return None, None, None
                    lows.append(figures[0])
                    highs.append(figures[1])
                elif parent.func == "min":  # min(F, c) is c for every F above c; below c it follows F
                    highs += figures
                    lows.append(None)
                else:
                    lows += figures
                    highs.append(None)
            else:
                return None, None, None
        try:
            low = None if None in lows or not lows else min(lows)
            high = None if None in highs or not highs else max(highs)
        except TypeError:
            return None, None, None
        return low, high, (tuple(sorted(set(lows))) if pure else None)

    def _fixed(self, x: ir.IExpr) -> bool:
        """A constant for the whole record: a literal, a param or the evaluation date."""
        return isinstance(x, (ir.Const, ir.AsOf)) or (isinstance(x, ir.Ref) and x.kind == "param")

    def _field_uses(self) -> list:
        """(parent expression, Ref) for every reference to a field in the record's nodes (parent None: the
        reference is a whole node body, row value or condition)."""
        if self._uses is None:
            uses = []

            def walk(x, parent):
                if isinstance(x, ir.Ref) and x.kind == "field":
                    uses.append((parent, x))
                for c in _children(x):
                    walk(c, x)
            for node in self.policy.nodes.values():
                body = node.body
                if isinstance(body, ir.TableBody):
                    for row in body.rows:
                        if row.condition is not None:
                            walk(row.condition, None)
                        walk(row.value, None)
                elif isinstance(body, ir.EligibilityBody):
                    for c in body.conditions:
                        walk(c.expr, None)
                else:
                    walk(body, None)
            self._uses = uses
        return self._uses

    def _changed(self, values: dict, field: str, new, as_of: date) -> list | None:
        key = (field, type(new), new)
        found = self._runs.get(key, _MISSING)
        if found is _MISSING:
            found = self._runs[key] = self._rerun(field, new)
        return found

    def _rerun(self, field: str, new) -> list | None:
        """The record's values with one field changed. Only what the change reaches is re-evaluated: a node is
        recomputed when something it reads has a new value (the others keep their values from the record's own
        evaluation), so a change that a `min` or a table absorbs stops there."""
        return self._rerun_many(((field, new),))

    def _run(self, values: dict, as_of: date) -> list | None:
        """The record re-evaluated from scratch (all nodes): the reference `_rerun` is tested against."""
        e = self.engine
        v = e.base_values(as_of)
        for slot, name in e.field_slots:
            v[slot] = values.get(name)
        try:
            for slot, _, fn in e.fast:
                v[slot] = fn(v, None)
        except (EvaluationError, ArithmeticError, InvalidOperation, KeyError, TypeError, ValueError, OverflowError,
                AttributeError):  # (AttributeError: an absent optional value read where a guard no longer holds)
            return None
        return v

    def _can_change(self, x: ir.IExpr, v: list) -> bool:
        """False only where it is certain that no change of the fields the person may change can change `x` on
        this record: a false `and` needs every false operand to change, a true `or` every true one, and an
        operand without such a field among its live fields cannot. True otherwise (the search then decides)."""
        if isinstance(x, ir.UnaryOp) and x.op == "not":
            return self._can_change(x.operand, v)
        if isinstance(x, ir.Ref) and x.kind == "node":
            found = self._change_memo.get(x.name)
            if found is None:
                found = self._change_memo[x.name] = self._node_can_change(x.name, v)
            return found
        if isinstance(x, ir.BinaryOp) and x.op in ("and", "or"):
            parts = _flatten(x, x.op)
            results = [self._maybe(p, v) for p in parts]
            if None in results:
                return True
            deciding = [p for p, r in zip(parts, results) if r == (x.op == "or")]
            if deciding:  # these alone decide the whole: each of them has to change
                return all(self._can_change(p, v) for p in deciding)
            return any(self._can_change(p, v) for p in parts)
        return any(self._may_step(f) for f in self._live(x, v))

    def _node_can_change(self, name: str, v: list) -> bool:
        body = self.policy.nodes[name].body
        if isinstance(body, ir.EligibilityBody):
            failed = [c.expr for c in body.conditions if not self._maybe(c.expr, v)]
            if failed:
                return all(self._can_change(c, v) for c in failed)
            return any(self._can_change(c.expr, v) for c in body.conditions)
        if isinstance(body, ir.TableBody):
            return any(self._may_step(f) for f in self._live_node(name, v))
        return self._can_change(body, v)

    def _live_node(self, name: str, v: list) -> frozenset[str]:
        """The input fields whose change can change this node's value, given the record's branches (memoised
        per record; the node's own part, which reads only what the node reads, is shared between records)."""
        found = self._live_memo.get(name)
        if found is None:
            self._live_memo[name] = frozenset()  # cycles are rejected by check; this only guards recursion
            found = self._live_memo[name] = self._expand(self._node_live_here(name, v), v)
        return found

    def _node_live_here(self, name: str, v: list) -> frozenset[str]:
        """The fields and nodes (by name) through which this node's value can change on this record."""
        cache, key = self._memo(name, v)
        key = ("live", key)
        found = cache.get(key) if cache is not None else None
        if found is not None:
            return found
        body = self.policy.nodes[name].body
        if isinstance(body, ir.EligibilityBody):
            conds = [c.expr for c in body.conditions]
            failed = [x for x in conds if not self._eval(x, v)]
            found = self._here_union(failed or conds, v)  # while one condition fails, passing ones can't help
        elif isinstance(body, ir.TableBody):
            parts = []
            for row in body.rows:
                if row.condition is None:
                    parts.append(row.value)
                    if body.hit != "unique":
                        break
                    continue
                parts.append(row.condition)
                if self._eval(row.condition, v):
                    parts.append(row.value)
                    if body.hit != "unique":
                        break  # rows below the chosen one are never reached unless a condition above flips
            found = self._here_union(parts, v)
        else:
            found = self._live_here(body, v)
        if cache is not None:
            self._memo_store(cache, key, found)
        return found

    def _live(self, x: ir.IExpr, v: list) -> frozenset[str]:
        """The input fields whose change can change `x`'s value on this record: an if/match only through its
        condition and the branch taken, a false `and` only through its false operands (a true `or` likewise).
        Any other field is left unchanged by a change of the record that keeps these, so searching it is
        wasted: restricting the why-not search to live fields changes no suggestion, it only skips probes."""
        return self._expand(self._live_here(x, v), v)

    def _expand(self, names: frozenset[str], v: list) -> frozenset[str]:
        """Fields and nodes → the fields, each node replaced by its live fields."""
        nodes = self.policy.nodes
        if not any(n in nodes for n in names):
            return names
        out: set[str] = set()
        for n in names:
            if n in nodes:
                out |= self._live_node(n, v)
            else:
                out.add(n)
        return frozenset(out)

    def _here_union(self, xs, v) -> frozenset[str]:
        out: frozenset[str] = frozenset()
        for x in xs:
            out |= self._live_here(x, v)
        return out

    def _live_here(self, x: ir.IExpr, v: list) -> frozenset[str]:
        """`_live` one node deep: the fields, and the nodes (by name), `x` reads live."""
        if isinstance(x, ir.Ref):
            return frozenset((x.name,)) if x.kind in ("field", "node") else frozenset()
        if isinstance(x, ir.If):
            branch = x.then if self._eval(x.cond, v) else x.otherwise
            return self._live_here(x.cond, v) | self._live_here(branch, v)
        if isinstance(x, ir.Match):
            label = self._eval(x.subject, v)
            branch = next((val for labels, val in x.arms if label in labels), x.default)
            return self._here_union([x.subject] + ([branch] if branch is not None else []), v)
        if isinstance(x, ir.BinaryOp) and x.op in ("and", "or"):
            parts = _flatten(x, x.op)
            decisive = x.op == "or"  # the operand value that alone decides the whole: true for or, false for and
            keep = [p for p in parts if self._maybe(p, v) == decisive]
            return self._here_union(keep or parts, v)
        if isinstance(x, ir.Aggregate):  # its parts see the element, not the record: every field it names
            return self._here_union(_refs(x), v)
        return self._here_union(_children(x), v)

    def _fields_of_expr(self, x: ir.IExpr) -> tuple[str, ...]:
        fields: list[str] = []
        for ref in _refs(x):
            if ref.kind == "field":
                fields.append(ref.name)
            elif ref.kind == "node":  # in the record's field order (a set's order would vary between runs)
                order = self.policy.subject.field_names
                fields.extend(sorted(self._field_cone(ref.name), key=order.index))
        return tuple(f for f in dict.fromkeys(fields) if _searchable(self.policy.subject.field(f)))

    def _field_cone(self, name: str) -> frozenset[str]:
        """Every input field a node depends on, transitively."""
        if name not in self._cone:
            self._cone[name] = frozenset()  # cycles are rejected by check; this only guards recursion
            node = self.policy.nodes[name]
            found = set()
            for r in node.reads:
                if r in self.policy.nodes:
                    found |= self._field_cone(r)
                elif r in self.policy.subject.field_names:
                    found.add(r)
            self._cone[name] = frozenset(found)
        return self._cone[name]

    def _decision_fields_of(self, name: str) -> tuple[str, ...]:
        """The input fields that feed a comparison, membership test, if condition or match in a node's cone."""
        if name in self._decision_fields:
            return self._decision_fields[name]
        self._decision_fields[name] = ()
        node = self.policy.nodes[name]
        fields: list[str] = []
        for x in _decision_exprs(node.body):
            fields.extend(self._fields_of_expr(x))
        for r in node.reads:
            if r in self.policy.nodes:
                fields.extend(self._decision_fields_of(r))
        order = self.policy.subject.field_names
        result = tuple(sorted(dict.fromkeys(fields), key=order.index))
        self._decision_fields[name] = result
        return result
