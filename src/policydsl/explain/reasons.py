"""Choosing reasons: for each outcome the branch taken, the row chosen, the conditions that decided, and the facts
those read, recursively."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from .. import ir, naming
from ..engines.row import Step
from ..types import BOOL
from .formatting import _plural, format_date, fullwidth
from .memo import ByIdentity
from .model import Figure, OutcomeExplanation, Reason, Suggestion
from .sentences import _Tracker
from .tree import _case_guard, _flatten, _guard_field, _is_condition


def _detailed(r: Reason) -> Reason:
    """The reason folded below the plain sentences (a formula, a row, a branch); built directly, as
    dataclasses.replace costs more than the sentence."""
    return Reason(r.text, r.kind, r.node, r.depth, r.sources, r.assumed, r.passed, True)


@dataclass(frozen=True)
class _Block:
    """A node's sentences (reasons, and `_Expand` marks), the nodes they read and the params they name."""

    lines: tuple
    refs: tuple[str, ...]
    params: tuple[str, ...]
    plain: bool                       # a line is a plain sentence (not folded below)


@dataclass(frozen=True)
class _Head:
    """An outcome's value in words and its headline, with what marks it (see `ReasonsMixin._head`)."""

    name: str
    kind: str
    type: str
    value: object
    value_text: str
    headline: str
    author: bool
    sources: tuple[str, ...]
    assumed: str | None
    label: str
    serious: bool
    applies: bool


_HEAD_FIELDS = tuple(_Head.__dataclass_fields__)


class _Part:
    """One outcome of one record while its page is made: the parts of its section, and the head's fields (name,
    value, headline, serious …) that the page's conclusion and suggestions ask of an `OutcomeExplanation`, copied
    from the head (they are read a hundred times a page; a part explained by a few nodes is shared between
    records, so it is made far less often than read)."""

    __slots__ = ("head", "blocks", "reasons", "figures", "suggestions", "incidents", "plain", "done", *_HEAD_FIELDS)

    def __init__(self, head: _Head, blocks: list[_Block], reasons: tuple, figures: tuple, suggestions: tuple,
                 incidents: tuple):
        self.head, self.blocks, self.reasons, self.figures = head, blocks, reasons, figures
        self.suggestions, self.incidents = suggestions, incidents
        self.plain = any(b.plain for b in blocks)
        self.done: list[OutcomeExplanation | None] = [None, None]  # finished, by whether it leads the page
        for name in _HEAD_FIELDS:
            setattr(self, name, getattr(head, name))


#: Sections kept before the memo of finished sections starts again.
MAX_SECTIONS = 25_000


def _same_text(text: str) -> str:
    return text


def _polished_suggestion(s: Suggestion, fix) -> Suggestion:
    """A suggestion in the reader's punctuation."""
    return s if fix is _same_text else replace(s, text=fix(s.text), effect=fix(s.effect), change=fix(s.change))


_POLISHED = ByIdentity(MAX_SECTIONS)


def _shared_polished_suggestion(s: Suggestion, fix) -> Suggestion:
    """`_polished_suggestion` once per suggestion (an outcome's suggestions are shared between records)."""
    return s if fix is _same_text else _POLISHED.get(s, lambda s: _polished_suggestion(s, fix))


def _polished(r: Reason) -> Reason:
    """A Chinese reason with full-width punctuation."""
    text = fullwidth(r.text)
    return r if text == r.text else Reason(text, r.kind, r.node, r.depth, r.sources, r.assumed, r.passed, r.detail)


@dataclass(frozen=True)
class _Expand:
    """A place in a node's sentences where the nodes read so far are explained (after a failed condition)."""

    names: tuple[str, ...]


class ReasonsMixin:
    """Choosing the reasons of each outcome (a part of `Explainer`)."""

    # -------------------------------------------------------------------------------------------- one outcome
    def _outcome(self, node: ir.Node, v: list, values: dict, as_of: date) -> "_Part":
        """An outcome's section for this record, before the page decides which outcomes lead it. Without
        suggestions, an outcome explained by a few nodes is made once for the values those nodes read."""
        few = self._explained_by_few(node.name) if not self.why_not else None
        if few is None:
            return self._made_outcome(node, v, values, as_of)
        key = (node.name, *(self._memo(n, v)[1] for n in few))
        found = self._parts.get(key)
        if found is None:
            found = self._made_outcome(node, v, values, as_of)
            if len(self._parts) > MAX_SECTIONS:
                self._parts.clear()
            self._parts[key] = found
        return found

    def _explained_by_few(self, name: str) -> tuple[str, ...] | None:
        """The nodes an outcome's reasons can come from (itself and the facts it reads, not other outcomes),
        when there are at most three and nothing in them depends on the page (the incidents a penalty lists
        once per page); else None."""
        if name not in self._few:
            nodes, found = self.policy.nodes, [name]
            for n in found:
                found += [r for r in nodes[n].reads if r in nodes and not nodes[r].is_outcome and r not in found]
            counts = any(agg.where is not None for agg in self._aggregates(name))
            self._few[name] = tuple(found) if len(found) <= 3 and not counts and self._sections is not None \
                else None
        return self._few[name]

    def _made_outcome(self, node: ir.Node, v: list, values: dict, as_of: date) -> "_Part":
        reasons: list[Reason] = []
        used_params: list[str] = []
        blocks: list[_Block] = []
        seen = {node.name}

        def walk(name: str, depth: int) -> None:
            block = self._block(name, depth, name != node.name, v)
            blocks.append(block)
            used_params.extend(block.params)
            for line in block.lines:
                if isinstance(line, _Expand):
                    for r in line.names:
                        if r not in seen and r in self.policy.nodes and not self.policy.nodes[r].is_outcome:
                            seen.add(r)
                            walk(r, depth + 1)
                else:
                    reasons.append(line)
            for r in block.refs:
                if r not in seen and r in self.policy.nodes and not self.policy.nodes[r].is_outcome:
                    seen.add(r)
                    walk(r, depth + 1)
        walk(node.name, 0)
        figures = tuple(self._figure(p, as_of) for p in dict.fromkeys(used_params))
        suggestions = self._suggestions(node, v, values, as_of) if self.why_not else ()
        return _Part(self._head(node, v), blocks, tuple(reasons), figures, suggestions, self._incidents(node, v))

    def _finished(self, part: "_Part", leading: bool) -> OutcomeExplanation:
        """The outcome's section as the page shows it, in the reader's punctuation. A section made only of
        memoised sentences is itself made once and shared."""
        leading = leading or part.plain or bool(part.incidents) or part.author
        done = part.done[leading]  # a part shared between records keeps what it was finished as
        if done is not None:
            return done
        part.done[leading] = done = self._finish(part, leading)
        return done

    def _finish(self, part: "_Part", leading: bool) -> OutcomeExplanation:
        key = None
        if not part.suggestions and not part.incidents and self._sections is not None:
            # the ids are those of objects the entry keeps alive: equal ids are the same objects
            key = (id(part.head), tuple(map(id, part.blocks)), leading)
            found = self._sections.get(key)
            if found is not None:
                return found[1]
        head, fix = part.head, fullwidth if self.lang == "zh" else _same_text
        out = OutcomeExplanation(head.name, head.kind, head.type, head.value, fix(head.value_text),
                                 fix(head.headline), head.author, part.reasons, part.figures, head.sources,
                                 head.assumed, tuple(_shared_polished_suggestion(s, fix) for s in part.suggestions),
                                 label=head.label, serious=head.serious, applies=head.applies,
                                 incidents=tuple(fix(i) for i in part.incidents), leading=leading)
        if key is not None:
            if len(self._sections) > MAX_SECTIONS:
                self._sections.clear()
            self._sections[key] = ((head, part.blocks), out)
        return out

    def _head(self, node: ir.Node, v: list) -> "_Head":
        """What an outcome's section says before its reasons: its value in words, its headline, whether it is
        serious and whether it concerns the person — a function of what the outcome reads (memoised on that)."""
        cache, key = self._memo(node.name, v)
        key = ("head", key)  # apart from the blocks' keys in the node's dict
        found = cache.get(key) if cache is not None else None
        if found is None:
            value = v[self.engine.slots[node.name]]
            if node.kind == "eligibility":
                value_text = self.w["met"] if value else self.w["not_met"]
            else:
                value_text = self._wu(node.name, value, node.type, self.lang)
            author = self._author(node.notes, node.name)
            found = _Head(node.name, node.kind, str(node.type), value, value_text,
                          author or self._headline(node, value_text),
                          author is not None, self._cites(node.notes), self._assumed(node.notes), self._n(node.name),
                          naming.is_serious(self.policy, node.name, value), self._applies(node, v))
            if cache is not None:
                self._memo_store(cache, key, found)
        return found

    def _block(self, name: str, depth: int, is_dependency: bool, v: list) -> "_Block":
        """A node's sentences at a depth of the chain of reasons, the nodes they read and the params they name.
        They depend only on the values the node reads (and the date), so records that read the same values
        share them (memoised on those values)."""
        cache, key = self._memo(name, v)
        if cache is not None:
            key = (depth, is_dependency, key)
            found = cache.get(key)
            if found is not None:
                return found
        used: list[str] = []
        node = self.policy.nodes[name]
        if isinstance(node.body, (ir.TableBody, ir.EligibilityBody)):
            step = self._step(name)  # the row chosen, each condition's result: as the engine found them
        else:  # a formula's sentences need only its value: no traced evaluation for them
            step = Step(name, node.kind, v[self.engine.slots[name]], node.type, ())
        lines, refs = self._node_reasons(node, step, v, depth, used, is_dependency)
        if self.lang == "zh":
            lines = [line if isinstance(line, _Expand) else _polished(line) for line in lines]
        found = _Block(tuple(lines), tuple(refs), tuple(used),
                       any(isinstance(line, Reason) and not line.detail for line in lines))
        if cache is not None:
            self._memo_store(cache, key, found)
        return found

    def _headline(self, node: ir.Node, value_text: str) -> str:
        label = self._n(node.name)
        if node.kind == "eligibility":
            failed = [c for c in self._step(node.name).conditions if not c.passed]
            if self.lang == "zh":
                return (f"{label}:{value_text}" if not failed else
                        f"{label}:{value_text}({len(failed)} 项条件未满足)")
            return (f"{label}: {value_text}" if not failed else
                    f"{label}: {value_text} ({_plural(len(failed), 'condition', 'conditions')} failed)")
        return f"{label}: {value_text}" if self.lang == "en" else f"{label}:{value_text}"

    def _figure(self, name: str, as_of: date) -> Figure:
        """A param as the page lists it: its value in force, since when, its source (the same for every record
        on the date: made once)."""
        key = (name, as_of)
        found = self._figures.get(key)
        if found is None:
            pv = self.engine.params_at(as_of)[name]
            param = self.policy.params[name]
            effective = format_date(pv.start, self.lang) if pv.start else None
            found = self._figures[key] = Figure(name, self._wu(name, pv.value, param.type, self.lang), effective,
                                                self._cites(pv.notes), self._assumed(pv.notes), label=self._n(name))
        return found

    def _condition_reason(self, c: ir.Cond, status: str, owner: str, depth: int, v, track) -> "Reason":
        """One eligibility condition as a reason line: the author's template, or a generated sentence."""
        text = self._author(c.notes) or self._cond(c.expr, v, track)
        name = self._m(owner, c.name)
        label = f"{name}:{text}" if self.lang == "zh" else f"{name}: {text}"
        return Reason(label, status, owner, depth, self._cites(c.notes),
                      self._assumed(c.notes), status == "pass")

    def _eligibility_reasons(self, node: ir.Node, step, v, depth, track) -> list:
        """Every failed condition as a plain sentence (and the facts it read); the conditions met in one line; the
        conditions for another case (another post, another kind of village) in one line "不适用"."""
        out: list = []
        results = list(zip(node.body.conditions, step.conditions))
        failed = [c for c, r in results if not r.passed]
        other = [c for c, r in results if r.passed and self._other_case(c.expr, v)]
        passed = [c for c, r in results if r.passed and c not in other]
        for c in failed:
            out.append(self._condition_reason(c, "fail", node.name, depth, v, track))
            out.append(_Expand(tuple(track.nodes)))
        names = self.w["sep"].join(self._m(node.name, c.name) for c in passed)
        zh = self.lang == "zh"
        if failed and passed:
            text = (f"其余 {len(passed)} 项条件均满足:{names}" if zh else
                    f"the other {_plural(len(passed), 'condition holds', 'conditions hold')}: {names}")
            out.append(Reason(text, "summary", node.name, depth, (), None, True))
        elif passed:
            text = (f"全部 {len(passed)} 项条件均满足:{names}" if zh else
                    f"{'the condition holds' if len(passed) == 1 else f'all {len(passed)} conditions hold'}: "
                    f"{names}")
            out.append(Reason(text, "summary", node.name, depth, (), None, True))
            for c in passed:
                reason = self._condition_reason(c, "pass", node.name, depth, v, track)
                out.append(_detailed(reason))
                out.append(_Expand(tuple(track.nodes)))
        if other:
            names = self.w["sep"].join(self._m(node.name, c.name) for c in other)
            text = f"不适用(另一情形的条件):{names}" if zh else f"not applicable (conditions for another case): {names}"
            out.append(Reason(text, "na", node.name, depth, (), None, True))
        return out

    def _other_case(self, x: ir.IExpr, v) -> bool:
        """A condition met only because the record is another case: `拟任岗位 != 书记 or …` for a clerk."""
        return isinstance(x, ir.BinaryOp) and x.op == "or" and any(
            _guard_field(p) is not None and self._maybe(p, v) is True for p in _flatten(x, "or"))

    def _applies(self, node: ir.Node, v) -> bool:
        """False for an outcome that concerns another case: `if 拟任岗位 == 秘书 then … else 0` for a secretary,
        `if 正常离任 then … else 0 元` while in post — the condition, about the record's own case, is false and
        the value is the plain default."""
        body = node.body
        if not isinstance(body, ir.If) or not isinstance(body.otherwise, ir.Const):
            return True
        if self._maybe(body.cond, v) is not False:
            return True
        false = [part for part in _flatten(body.cond, "and") if self._maybe(part, v) is False]
        return not (false and all(_case_guard(part) for part in false))

    def _incidents(self, node: ir.Node, v) -> tuple[str, ...]:
        """The related records a count over a list selected (each absence found, with its date), once per page:
        a penalty lists the incidents that counted."""
        found: list[str] = []
        for agg in self._aggregates(node.name):
            if agg.where is None or not isinstance(agg.source, ir.Ref) or agg.source.kind != "field":
                continue
            key = id(agg)
            if key in self._incidents_said:
                continue
            items = v[self.engine.slots[agg.source.name]] or ()
            where = self._element_fn(agg.where)
            chosen = [item for item in items if where(v, item)]
            if chosen:
                self._incidents_said.add(key)
                found += [self._incident(agg.source.name, item) for item in chosen]
        return tuple(found)

    def _incident(self, field: str, item: dict) -> str:
        schema = self.policy.subject.field(field)
        rtype = self.policy.records.get(getattr(schema, "element", ""), None)
        fields = rtype.fields if rtype is not None else [(k, None) for k in item]
        dates = [self._val(item.get(n), t) for n, t in fields if isinstance(item.get(n), date)]
        key = item.get(getattr(rtype, "key", None)) if rtype is not None else None
        what = self._n(rtype_name) if (rtype_name := getattr(schema, "element", None)) else self._n(field)
        head = " ".join(dates) or "—"
        tail = " ".join(p for p in [what, str(key) if key else ""] if p)
        return f"{head}:{tail}" if self.lang == "zh" else f"{head}: {tail}"

    def _aggregates(self, name: str) -> list:
        """The aggregates over a list in a node's cone (memoised per node)."""
        found = self._aggs.get(name)
        if found is None:
            self._aggs[name] = []
            node = self.policy.nodes[name]
            found = [x for x in ir.walk(node.body) if isinstance(x, ir.Aggregate)]
            for r in node.reads:
                if r in self.policy.nodes:
                    found += [a for a in self._aggregates(r) if a not in found]
            self._aggs[name] = found
        return found

    def _element_fn(self, x: ir.IExpr):
        fn = self._fns.get(id(x))
        if fn is None:
            fn = self._fns[id(x)] = self.engine.compile_expression(x)
        return fn

    def _node_reasons(self, node: ir.Node, step, v, depth, used, is_dependency) -> tuple[list[Reason], list]:
        """The sentences for one node and the nodes they read (to explain next)."""
        refs: list[str] = []
        out: list[Reason] = []
        track = _Tracker(used, refs)
        src, assumed = self._cites(node.notes), (self._assumed(node.notes))
        if isinstance(node.body, ir.EligibilityBody):
            return self._eligibility_reasons(node, step, v, depth, track), refs
        author = self._author(node.notes, node.name) if is_dependency else None
        if isinstance(node.body, ir.TableBody):
            rows = node.body.rows
            self._has_exceptions = any(r.label is not None for r in rows)
            chosen = next(r for r in rows if r.number == step.row)
            shown = [r for r in rows if r.number < chosen.number and r.condition is not None]
            if node.body.hit == "unique" and chosen.condition is not None:
                shown = []
            prefix = (f"{self._n(node.name)} " if self.lang == "zh" else f"{self._n(node.name)}, ") if is_dependency else ""
            for r in shown:
                text = self._author(r.notes) or self._cond(r.condition, v, track)
                out.append(Reason(prefix + self._row_text(r, text, None), "skipped-row", node.name, depth, (), None,
                                  False))
            if chosen.condition is None:
                text = "其余情形" if self.lang == "zh" else "otherwise"
            else:
                text = self._cond(chosen.condition, v, track)
            text = self._author(chosen.notes) or text
            value = self._wu(node.name, step.value, node.type, self.lang)
            if isinstance(chosen.value, ir.Ref):  # a param or a fact: name it (a param's source is listed below)
                track(chosen.value)
                value = f"{self._n(chosen.value.name)}({value})" if self.lang == "zh" else f"{self._n(chosen.value.name)} ({value})"
            elif not isinstance(chosen.value, ir.Const):
                value = f"{self._subst(chosen.value, v, track)} = {value}"
            row_src = self._cites(chosen.notes) or (src if is_dependency else ())
            row_assumed = (self._assumed(chosen.notes)) or \
                (assumed if is_dependency else None)
            out.append(Reason(prefix + self._row_text(chosen, text, value), "row", node.name, depth, row_src,
                              row_assumed, True))
            for note in track.branches:
                out.append(Reason(note, "branch", node.name, depth + 1))
            track.branches.clear()
            if author:
                out.append(Reason(author, "formula", node.name, depth))
            return [_detailed(r) for r in out], refs
        # a plain fact/outcome: the branches taken, then the formula of the branch taken with its figures
        own = () if not is_dependency else src
        own_assumed = None if not is_dependency else assumed
        prefix = (f"{self._n(node.name)}:" if self.lang == "zh" else f"{self._n(node.name)}: ") if is_dependency else ""
        expr = node.body
        while True:
            if isinstance(expr, ir.If):
                holds = bool(self._eval(expr.cond, v))
                cond = self._cond(expr.cond, v, track)
                branch = expr.then if holds else expr.otherwise
                out.append(Reason(prefix + f"{cond}{self._branch_value(branch, v, node, track)}", "branch",
                                  node.name, depth, (), None, holds))
                expr = branch
            elif isinstance(expr, ir.Match):
                label = self._eval(expr.subject, v)
                branch = next((val for labels, val in expr.arms if label in labels), expr.default)
                subject = self._side(expr.subject, v, track)
                arrow = self._branch_value(branch, v, node, track)
                if branch is expr.default and expr.default is not None:
                    subject += "(其他情形)" if self.lang == "zh" else " (any other)"
                out.append(Reason(prefix + subject + arrow, "branch", node.name, depth))
                expr = branch
            else:
                break
        value = self._wu(node.name, step.value, node.type, self.lang)
        if author:
            out.append(Reason(author, "formula", node.name, depth))
        elif isinstance(expr, ir.Across):
            out.append(Reason(prefix + self._across_sentence(expr, v, track), "formula", node.name, depth))
        elif node.type == BOOL and _is_condition(expr):
            out.append(Reason(prefix + self._cond(expr, v, track), "formula", node.name, depth))
        elif not out or not isinstance(expr, (ir.Const, ir.Ref)):
            out.append(Reason(self._formula(node.name, expr, v, step.value, node.type, track), "formula",
                              node.name, depth))
        for note in track.branches:
            out.append(Reason(note, "branch", node.name, depth + 1))
        track.branches.clear()
        last = out[-1]
        out[-1] = Reason(last.text, last.kind, last.node, last.depth, own, own_assumed, last.passed)
        return [_detailed(r) for r in out], refs
