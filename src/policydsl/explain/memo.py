"""Sentences memoised by the values they read.

A node's sentences (its reasons, an outcome's headline) are a function of the values the node reads — its fields,
the facts it reads, the params in force and the evaluation date — and of what the author's templates on it name.
Records of a batch read the same values again and again (a star count of 0 to 7, an assessment grade, a post), so
the sentences are made once per combination of those values and shared, as the same immutable objects, by every
record that reads them.

Two values that are equal but read differently are kept apart: a decimal by its digits (0.1 is not 0.10), a list
of related records by its contents, each in its `repr`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from operator import itemgetter

from jinja2 import meta

from .. import ir
from ..types import BOOL, DATE, INT, TEXT, EnumType

#: Entries kept before the memo starts again (a long batch of very varied records must not grow without bound).
MAX_ENTRIES = 50_000

_PLAIN = (INT, BOOL, DATE, TEXT)


class ReadsMemo:
    """For each node, a dict of what was made for it keyed by the values it reads (see the module)."""

    def __init__(self, policy: ir.Policy, slots: dict[str, int], env, enabled: bool = True):
        self.policy, self.slots, self.env = policy, slots, env
        self.enabled = enabled
        self._caches: dict[str, dict] = {}
        self._keys: dict[str, object] = {}
        self.entries = 0   # kept now
        self.lookups = 0   # asked for, hit or miss (how much the memo saves: 1 − made / lookups)
        self.made = 0

    def lookup(self, name: str, v: list) -> tuple[dict | None, object]:
        """(the node's dict, the key of the values it reads in `v`); (None, None) when memoising is off."""
        if not self.enabled:
            return None, None
        keyer = self._keys.get(name)
        if keyer is None:
            keyer = self._keys[name] = self._keyer(name)
            self._caches[name] = {}
        self.lookups += 1
        return self._caches[name], keyer(v)

    def store(self, cache: dict, key, made) -> None:
        """Keep what was made for `key` in a node's dict (from `lookup`); all start again past MAX_ENTRIES."""
        if self.entries >= MAX_ENTRIES:
            for each in self._caches.values():
                each.clear()
            self.entries = 0
        cache[key] = made
        self.entries += 1
        self.made += 1

    def _keyer(self, name: str):
        node = self.policy.nodes[name]
        names = {name, "<as_of>", *node.reads, *self._template_names(node)}
        plain, shown = [], []
        for n in sorted(names, key=lambda n: self.slots.get(n, -1)):
            if n not in self.slots:
                continue
            (plain if self._type_of(n) in _PLAIN or isinstance(self._type_of(n), EnumType) else shown).append(
                self.slots[n])
        get_plain = itemgetter(*plain, plain[0])  # two or more: always a tuple
        if not shown:
            return get_plain

        def key(v: list) -> tuple:
            return get_plain(v), tuple([repr(v[s]) for s in shown])
        return key

    def _type_of(self, name: str):
        p = self.policy
        if name in p.nodes:
            return p.nodes[name].type
        if name in p.params:
            return p.params[name].type
        if name in p.subject.field_names:
            return p.subject.field(name)
        return DATE if name == "<as_of>" else None

    def _template_names(self, node: ir.Node) -> set[str]:
        """Every value an author template on the node, its rows or its conditions names (`value` is the node)."""
        notes = [node.notes]
        if isinstance(node.body, ir.TableBody):
            notes += [row.notes for row in node.body.rows]
        if isinstance(node.body, ir.EligibilityBody):
            notes += [cond.notes for cond in node.body.conditions]
        names: set[str] = set()
        for n in notes:
            for ex in n.explains:
                names |= meta.find_undeclared_variables(self.env.parse(ex.template))
        names.discard("value")
        return {"<as_of>" if n == "as_of" else n for n in names}


def value_key(value) -> tuple:
    """A value as a memo key that keeps apart what reads differently (True and 1, 0.1 and 0.10)."""
    return (type(value), value if type(value) in (int, bool, str, date) else repr(value))


class ByIdentity:
    """What was made from an object, kept per object (by identity: the memoised sentences, sections and suggestions
    are the same objects from page to page); it starts again past `limit` entries. The object is kept with what
    was made from it, so its id cannot be reused while the entry lives."""

    def __init__(self, limit: int):
        self.limit = limit
        self._made: dict[int, tuple[object, object]] = {}

    def get(self, obj: object, make: Callable[[object], object]):
        found = self._made.get(id(obj))
        if found is None or found[0] is not obj:
            if len(self._made) > self.limit:
                self._made.clear()
            found = self._made[id(obj)] = (obj, make(obj))
        return found[1]
