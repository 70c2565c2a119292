"""Stage 2 — semantics: resolve names across a file, its imports and the policy it extends; check types; build IR.

Every problem becomes a diagnostic with a span; checking goes on after an error (the failed expression gets the
`ERROR` type, which matches anything) so that one run reports all mistakes of a file.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from . import ast, ir
from .diagnostics import DiagnosticBag, SourceCache, Span, did_you_mean
from .syntax import SyntaxFailure, parse_module
from .types import (
    BOOL,
    DATE,
    DECIMAL,
    DURATION,
    ERROR,
    INPUT_PLACES,
    INT,
    MONEY,
    PERCENT,
    PRIMITIVES,
    TEXT,
    Duration,
    EnumType,
    ListOf,
    RecordType,
    Type,
    is_numeric,
    list_of,
)

AGGREGATES = {"count", "sum", "min", "max", "any", "all", "distinct"}
ROUND_MODES = {"half_up", "half_even", "down", "up", "floor", "ceiling"}
SCALAR_FUNCS = {"min", "max", "clamp", "abs", "round", "floor", "ceil", "years_between", "months_between",
                "days_between", "year", "quarter", "month", "same_year", "same_quarter", "same_month", "text"}
COMPARE_OPS = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
ARITH_OPS = {"+": "add", "-": "sub", "*": "mul", "/": "div"}


@dataclass
class _Decls:
    """All declarations visible in a policy, by name, each with the file it came from."""

    types: dict[str, tuple[ast.Decl, str]] = field(default_factory=dict)
    values: dict[str, tuple[ast.Decl, str]] = field(default_factory=dict)
    header: ast.PolicyHeader | None = None
    base_header: ast.PolicyHeader | None = None
    examples: list[ast.ExampleDecl] = field(default_factory=list)
    extends: str | None = None


_TYPE_DECLS = (ast.EnumDecl, ast.RecordDecl)
_VALUE_DECLS = (ast.ParamDecl, ast.ValueDecl, ast.TableDecl, ast.EligibilityDecl, ast.SummaryDecl, ast.ListDecl)


class Loader:
    """Reads policy files (and what they import or extend) and checks them into `ir.Policy`."""

    def __init__(self, sources: SourceCache | None = None):
        self.sources = sources or SourceCache()
        self.diags = DiagnosticBag()
        self._modules: dict[str, ast.Module | None] = {}
        self.overridden: dict[str, ast.Decl] = {}  # name → the inherited declaration an override replaced

    # -------------------------------------------------------------------------------------------- files
    def module(self, path: str, span: Span | None = None) -> ast.Module | None:
        """Parse a file once; report it missing or unparsable (at `span`, where it was referenced)."""
        key = os.path.normpath(path)
        if key in self._modules:
            return self._modules[key]
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            where = span or Span(key, 1, 1, 1, 1)
            if isinstance(exc, UnicodeDecodeError):
                self.diags.error(where, f"file '{key}' is not UTF-8 text", "save the file as UTF-8")
            else:
                hint = "paths are relative to the referencing file" if span else "check the file name"
                self.diags.error(where, f"file '{key}' cannot be read", hint)
            self._modules[key] = None
            return None
        return self.parse_text(key, text)

    def parse_text(self, path: str, text: str) -> ast.Module | None:
        """Parse `text` as the file `path` (an editor's unsaved buffer, or the file just read) and remember it."""
        key = os.path.normpath(path)
        self.sources.add(key, text)
        try:
            module = parse_module(text, key)
        except SyntaxFailure as exc:
            self.diags.items.extend(exc.diagnostics)
            module = None
        self._modules[key] = module
        return module

    @property
    def modules(self) -> dict[str, ast.Module]:
        """Every file parsed so far (the policy, its imports and bases), by normalised path."""
        return {k: m for k, m in self._modules.items() if m is not None}

    def load(self, path: str) -> ir.Policy | None:
        """Check one policy file; diagnostics accumulate in `self.diags`. None when it has errors."""
        module = self.module(path)
        if module is None:
            return None
        decls = _Decls()
        self._collect(module, decls, visiting=[])
        policy = _Checker(self, module.path, decls).check()
        return None if self.diags.has_errors() else policy

    def _collect(self, module: ast.Module, into: _Decls, visiting: list[str]) -> None:
        here = Path(module.path).parent
        visiting = visiting + [module.path]
        for decl in module.decls:
            if isinstance(decl, (ast.Import, ast.Extends)):
                target = os.path.normpath(here / decl.path)
                if target in visiting:
                    chain = " → ".join(visiting + [target])
                    self.diags.error(decl.span, f"'{decl.path}' is already being loaded: {chain}",
                                     "files cannot import or extend each other in a circle")
                    continue
                other = self.module(target, decl.span)
                if other is None:
                    continue
                if isinstance(decl, ast.Extends):
                    if into.extends:
                        self.diags.error(decl.span, "a policy can extend only one other policy")
                        continue
                    into.extends = target
                    base = _Decls()
                    self._collect(other, base, visiting)
                    into.types.update(base.types)
                    into.values.update(base.values)
                    into.base_header = base.header or base.base_header
                else:
                    lib = _Decls()
                    self._collect(other, lib, visiting)
                    into.types.update(lib.types)
                    into.values.update(lib.values)
        own_types: dict[str, ast.Decl] = {}
        own_values: dict[str, ast.Decl] = {}
        for decl in module.decls:
            if isinstance(decl, ast.PolicyHeader):
                if into.header is not None and into.header.span.file == module.path:
                    self.diags.error(decl.span, "a file has only one 'policy' header")
                into.header = decl
            elif isinstance(decl, ast.ExampleDecl):
                into.examples.append(decl)
            elif isinstance(decl, _TYPE_DECLS):
                self._define(decl, module.path, into.types, own_types)
            elif isinstance(decl, _VALUE_DECLS):
                self._define(decl, module.path, into.values, own_values)

    def _define(self, decl: ast.Decl, origin: str, table: dict, own: dict) -> None:
        name = decl.name
        is_override = getattr(decl, "override", False)
        if name in own:
            self.diags.error(decl.span, f"'{name}' is defined twice in this file",
                             "rename one of them", related=((own[name].span, "first defined here"),))
            return
        own[name] = decl
        inherited = table.get(name)
        if is_override and inherited is None:
            self.diags.error(decl.span, f"'{name}' overrides nothing: no imported or base definition has that name",
                             did_you_mean(name, table) or "remove 'override' to define a new name")
            return
        if inherited is not None and not is_override and inherited[1] != origin:
            self.diags.error(decl.span, f"'{name}' is already defined in {inherited[1]}",
                             "write 'override' before the declaration to replace it in this variant",
                             related=((inherited[0].span, "defined here"),))
            return
        if is_override and inherited is not None and type(inherited[0]) is not type(decl) and not (
                isinstance(decl, (ast.ValueDecl, ast.TableDecl, ast.EligibilityDecl))
                and isinstance(inherited[0], (ast.ValueDecl, ast.TableDecl, ast.EligibilityDecl))):
            self.diags.error(decl.span, f"'{name}' overrides a {_decl_word(inherited[0])} with a {_decl_word(decl)}",
                             "an override must be the same kind of declaration",
                             related=((inherited[0].span, "overridden definition"),))
            return
        if is_override:
            self.overridden[name] = inherited[0]
        table[name] = (decl, origin)


def _decl_word(decl: ast.Decl) -> str:
    return {ast.ParamDecl: "param", ast.ValueDecl: "fact", ast.TableDecl: "table", ast.EligibilityDecl: "eligibility",
            ast.SummaryDecl: "summary", ast.ListDecl: "list", ast.EnumDecl: "enum",
            ast.RecordDecl: "record"}.get(type(decl), "declaration")


# ------------------------------------------------------------------------------------------------ checking

@dataclass
class _Scope:
    """What names mean inside one expression: the element of an aggregate, if any, and where we are."""

    element: RecordType | None = None
    element_nodes: dict[str, Type] | None = None  # in summaries: facts/outcomes of each record
    in_summary: bool = False


class _Checker:
    def __init__(self, loader: Loader, path: str, decls: _Decls):
        self.loader = loader
        self.diags = loader.diags
        self.path = path
        self.decls = decls
        self.enums: dict[str, EnumType] = {}
        self.records: dict[str, RecordType] = {}
        self.params: dict[str, ir.Param] = {}
        self.lists: dict[str, ir.ExternalList] = {}
        self.nodes: dict[str, ir.Node] = {}
        self.node_types: dict[str, Type] = {}
        self.summaries: dict[str, ir.Summary] = {}
        self._in_progress: set[str] = set()
        self._reads: list[set[str]] = []
        self.subject: RecordType | None = None

    # -------------------------------------------------------------------------------------------- driver
    def check(self) -> ir.Policy | None:
        self._declare_types()
        self._pick_subject()
        self._check_override_types()
        for decl, _ in self.decls.values.values():  # lists first: params may test keys in them
            if isinstance(decl, ast.ListDecl):
                self._check_list(decl)
        for decl, origin in self.decls.values.values():
            if isinstance(decl, ast.ParamDecl):
                self._check_param(decl, origin)
        self._check_shadowing()
        for name, (decl, _) in self.decls.values.items():
            if isinstance(decl, (ast.ValueDecl, ast.TableDecl, ast.EligibilityDecl)):
                self._node(name)
        for name, (decl, _) in self.decls.values.items():
            if isinstance(decl, ast.SummaryDecl):
                self._summary(name)
        summaries = self.summaries
        examples = tuple(self._check_example(ex) for ex in self.decls.examples)
        header = self.decls.header or self.decls.base_header
        if self.subject is None:
            return None
        return ir.Policy(
            name=header.name if header else Path(self.path).stem,
            title=header.title if header else None,
            source=header.source if header else None,
            effective=header.effective if header else None,
            path=self.path, subject=self.subject, records=self.records, enums=dict(self.enums),
            params=self.params, lists=self.lists, nodes=self.nodes, summaries=summaries, examples=examples,
            assumptions=self._assumptions(), extends=self.decls.extends)

    def _check_shadowing(self) -> None:
        """A rule named like an input field or a built-in would silently lose to it: refuse the ambiguity."""
        fields = set(self.subject.field_names) if self.subject else set()
        for name, (decl, _) in self.decls.values.items():
            if name in fields:
                self.diags.error(decl.span, f"'{name}' is also a field of {self.subject.name}",
                                 "give the rule another name, so each name means one thing")
            elif name in ("as_of", "records"):
                self.diags.error(decl.span, f"'{name}' is a built-in name", "choose another name")

    def _check_override_types(self) -> None:
        """An override keeps the type of what it replaces, so everything reading it still type-checks."""
        for name, old in self.loader.overridden.items():
            new = self.decls.values.get(name, (None,))[0]
            if new is None or getattr(new, "type", None) is None or getattr(old, "type", None) is None:
                continue
            new_type, old_type = self._type(new.type, name), self._type(old.type, name)
            if ERROR not in (new_type, old_type) and new_type != old_type:
                self.diags.error(new.type.span, f"override of '{name}' changes its type from {old_type} to {new_type}",
                                 "an override must keep the type of the definition it replaces",
                                 related=((old.span, "the overridden definition"),))

    def _assumptions(self) -> tuple[ir.Assumption, ...]:
        found = []
        header = self.decls.header
        if header is not None and header.assumed is not None:
            found.append(ir.Assumption(f"policy {header.name}", header.assumed, header.span))
        for name, (decl, _) in self.decls.values.items():
            for notes, label in _notes_of(decl):
                if notes.assumed:
                    found.append(ir.Assumption(f"{name}{label}", notes.assumed.text, notes.assumed.span))
        return tuple(sorted(found, key=lambda a: (a.span.file, a.span.line, a.span.col)))

    # -------------------------------------------------------------------------------------------- types
    def _declare_types(self) -> None:
        for name, (decl, _) in self.decls.types.items():
            if isinstance(decl, ast.EnumDecl):
                self._enum(name, decl.labels, decl.ordered, decl.span)
        # inline enums are declared before any expression is checked, so their labels resolve everywhere; those of
        # an overridden definition too, so that a variant can name the type it keeps (`override table T: E …`)
        overridden = [(decl, None) for decl in self.loader.overridden.values()]
        for decl, _ in overridden + list(self.decls.types.values()) + list(self.decls.values.values()):
            for ref in _type_refs(decl):
                if isinstance(ref, ast.InlineEnum) and ref.name:
                    self._enum(ref.name, ref.labels, ref.ordered, ref.span)
        for name, (decl, _) in self.decls.types.items():
            if isinstance(decl, ast.RecordDecl):
                self.records[name] = self._record_type(name, decl.key, decl.fields, decl.span)
        for name, (decl, _) in self.decls.values.items():
            if isinstance(decl, ast.ListDecl):
                self.records[name] = self._record_type(name, decl.key, decl.fields, decl.span)
        for rtype in list(self.records.values()):
            for fname, ftype in rtype.fields:
                if isinstance(ftype, ListOf):
                    self._check_relation(rtype, fname, ftype)

    def _enum(self, name: str, labels: tuple[ast.Label, ...], ordered: bool, span: Span) -> EnumType:
        seen: dict[str, ast.Label] = {}
        for label in labels:
            if label.name in seen:
                self.diags.error(label.span, f"label '{label.name}' appears twice in enum {name}")
            seen[label.name] = label
        enum = EnumType(name, tuple(seen), ordered)
        existing = self.enums.get(name)
        if existing is not None and existing != enum:
            self.diags.error(span, f"enum '{name}' is declared twice with different labels",
                             f"the other declaration has: {', '.join(existing.labels)}")
        self.enums[name] = enum
        return enum

    def _record_type(self, name: str, key: str | None, fields: tuple[ast.FieldDecl, ...], span: Span) -> RecordType:
        resolved: list[tuple[str, Type]] = []
        seen: set[str] = set()
        for f in fields:
            if f.name in seen:
                self.diags.error(f.span, f"field '{f.name}' appears twice in {name}")
                continue
            seen.add(f.name)
            resolved.append((f.name, self._type(f.type, f"{name}.{f.name}")))
        if key is not None and key not in seen:
            self.diags.error(span, f"key '{key}' is not a field of {name}", did_you_mean(key, seen))
        return RecordType(name, tuple(resolved), key)

    def _type(self, ref: ast.TypeRef, owner: str = "") -> Type:
        if isinstance(ref, ast.NamedType):
            if ref.name in PRIMITIVES:
                return PRIMITIVES[ref.name]
            if ref.name in self.enums:
                return self.enums[ref.name]
            names = list(PRIMITIVES) + list(self.enums)
            self.diags.error(ref.span, f"unknown type '{ref.name}'",
                             did_you_mean(ref.name, names) or "types are int, decimal, money, percent, bool, date, "
                                                               "duration, text, an enum name or 'list of RECORD'")
            return ERROR
        if isinstance(ref, ast.ListType):
            if ref.element not in self.decls.types or not isinstance(self.decls.types[ref.element][0], ast.RecordDecl):
                records = [n for n, (d, _) in self.decls.types.items() if isinstance(d, ast.RecordDecl)]
                self.diags.error(ref.span, f"unknown record type '{ref.element}'", did_you_mean(ref.element, records))
                return ERROR
            return list_of(ref.element, ref.by)
        assert isinstance(ref, ast.InlineEnum)
        if ref.name:
            return self.enums[ref.name]
        return EnumType(owner or "enum", tuple(label.name for label in ref.labels), ref.ordered)

    def _check_relation(self, parent: RecordType, fname: str, rel: ListOf) -> None:
        decl = self.decls.types.get(parent.name, self.decls.values.get(parent.name))
        span = next((f.span for f in decl[0].fields if f.name == fname), decl[0].span)
        child = self.records.get(rel.element)
        if child is None or rel.by is None:
            return
        if child.field(rel.by) is None:
            self.diags.error(span, f"relation '{fname}': {rel.element} has no field '{rel.by}'",
                             did_you_mean(rel.by, child.field_names))
        elif parent.key is None:
            self.diags.error(span, f"relation '{fname}' uses 'by {rel.by}' but {parent.name} declares no key",
                             f"write 'record {parent.name} key FIELD {{ … }}'")

    def _pick_subject(self) -> None:
        header = self.decls.header or self.decls.base_header
        wanted = None
        if self.decls.header and self.decls.header.subject:
            wanted = self.decls.header.subject
        elif self.decls.base_header and self.decls.base_header.subject:
            wanted = self.decls.base_header.subject
        lists = {n for n, (d, _) in self.decls.values.items() if isinstance(d, ast.ListDecl)}
        candidates = [n for n in self.records if n not in lists]
        if wanted:
            if wanted in self.records and wanted not in lists:
                self.subject = self.records[wanted]
            else:
                self.diags.error(header.span, f"subject '{wanted}' is not a record type",
                                 did_you_mean(wanted, candidates))
            return
        related = {t.element for r in self.records.values() for _, t in r.fields if isinstance(t, ListOf)}
        top = [n for n in candidates if n not in related]
        if len(top) == 1:
            self.subject = self.records[top[0]]
        elif not candidates:
            span = header.span if header else Span(self.path, 1, 1, 1, 2)
            self.subject = RecordType("<none>", ())
            if any(isinstance(d, (ast.ValueDecl, ast.TableDecl, ast.EligibilityDecl)) for d, _ in
                   self.decls.values.values()):
                self.diags.error(span, "this policy declares no record type to evaluate",
                                 "declare a 'record' (or import one) and name it with 'subject'")
        else:
            span = header.span if header else Span(self.path, 1, 1, 1, 2)
            self.subject = self.records[(top or candidates)[0]]
            if header is not None:
                self.diags.error(span, "which record type does this policy evaluate?",
                                 f"add 'subject NAME' to the policy header; candidates: {', '.join(top or candidates)}")

    # -------------------------------------------------------------------------------------------- lists, params
    def _check_list(self, decl: ast.ListDecl) -> None:
        row_type = self.records[decl.name]
        path = Path(decl.span.file).parent / decl.path
        rows: list[dict] = []
        try:
            with open(path, encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                missing = [f for f in row_type.field_names if f not in (reader.fieldnames or [])]
                if missing:
                    self.diags.error(decl.span, f"list file '{decl.path}' lacks column(s): {', '.join(missing)}",
                                     f"its header has: {', '.join(reader.fieldnames or [])}")
                else:
                    for line_no, raw in enumerate(reader, start=2):
                        row = self._list_row(decl, row_type, raw, f"{path}:{line_no}")
                        if row is not None:
                            rows.append(row)
        except OSError:
            self.diags.error(decl.span, f"list file '{decl.path}' cannot be read", f"looked for {path}")
        if row_type.key:
            seen: set = set()
            for row in rows:
                if row[row_type.key] in seen:
                    self.diags.error(decl.span, f"list '{decl.name}' has key '{row[row_type.key]}' twice")
                seen.add(row[row_type.key])
        self.lists[decl.name] = ir.ExternalList(decl.name, str(path), row_type, tuple(rows), decl.notes, decl.span)

    def _list_row(self, decl, row_type: RecordType, raw: dict, where: str) -> dict | None:
        from .engines.records import convert_value  # data conversion lives with the record loader
        row = {}
        for fname, ftype in row_type.fields:
            if ftype == TEXT and raw.get(fname) == "":
                row[fname] = ""  # reference lists may leave a text cell empty on purpose (e.g. a post abolished)
                continue
            try:
                row[fname] = convert_value(raw.get(fname), ftype, self.records)
            except ValueError as exc:
                self.diags.error(decl.span, f"{where}: field {fname}: {exc}")
                return None
        return row

    def _check_param(self, decl: ast.ParamDecl, origin: str) -> None:
        ptype = self._type(decl.type, decl.name)
        values = []
        starts = set()
        for dv in decl.values:
            if dv.start in starts:
                self.diags.error(dv.span, f"param '{decl.name}' has two values from {dv.start}")
            starts.add(dv.start)
            expr = self._expr(dv.value, _Scope(), expected=ptype)
            if not isinstance(expr, ir.Const):
                self.diags.error(dv.value.span, f"the value of param '{decl.name}' must be a constant",
                                 "params are figures; compute with a fact instead")
                continue
            self._expect_type(expr.type, ptype, dv.value.span, f"param '{decl.name}'")
            values.append(ir.ParamValue(dv.start, _widen(expr.value, expr.type, ptype), dv.notes, dv.span))
        self.params[decl.name] = ir.Param(decl.name, ptype, tuple(values), origin, decl.span)

    # -------------------------------------------------------------------------------------------- nodes
    def _node(self, name: str) -> Type:
        """Check a fact/table/eligibility on first use, so an inferred type is known before its readers."""
        if name in self.node_types:
            return self.node_types[name]
        if name in self._in_progress:
            return ERROR  # a cycle: the graph stage reports it with the whole path
        decl, origin = self.decls.values[name]
        self._in_progress.add(name)
        self._reads.append(set())
        if isinstance(decl, ast.ValueDecl):
            body = self._expr(decl.expr, _Scope())
            declared = self._type(decl.type, name) if decl.type else None
            type_ = self._declared(declared, body.type, decl.expr.span, name)
            kind, is_outcome, notes = "fact", decl.is_outcome, decl.notes
        elif isinstance(decl, ast.TableDecl):
            body, type_ = self._table(decl)
            kind, is_outcome, notes = "table", decl.is_outcome, decl.notes
        else:
            body = self._eligibility(decl)
            type_, kind, is_outcome, notes = BOOL, "eligibility", decl.is_outcome, decl.notes
        reads = self._reads.pop()
        self._in_progress.discard(name)
        self.node_types[name] = type_
        self.nodes[name] = ir.Node(name, kind, type_, body, tuple(sorted(reads)), is_outcome, notes, origin,
                                   decl.span)
        return type_

    def _declared(self, declared: Type | None, actual: Type, span: Span, what: str) -> Type:
        if declared is None:
            return actual
        self._expect_type(actual, declared, span, f"'{what}'")
        return declared

    def _table(self, decl: ast.TableDecl) -> tuple[ir.TableBody, Type]:
        declared = self._type(decl.type, decl.name) if decl.type else None
        rows = []
        result: Type | None = declared
        first_span = None
        for number, row in enumerate(decl.rows, start=1):
            cond = None
            if row.condition is not None:
                cond = self._expr(row.condition, _Scope())
                self._expect_type(cond.type, BOOL, row.condition.span, "a row's condition")
            elif number != len(decl.rows):
                self.diags.error(row.span, "'otherwise' must be the last row", "rows after it could never apply")
            value = self._expr(row.value, _Scope(), expected=result)
            if result is None or result is ERROR:
                result, first_span = value.type, row.value.span
            elif value.type is not ERROR:
                joined = _join(result, value.type)
                if joined is None:
                    related = ((first_span, f"an earlier row gives {result}"),) if first_span else ()
                    what = "the table's declared type is" if declared else "earlier rows give"
                    self.diags.error(row.value.span,
                                     f"table '{decl.name}': row {number} gives {value.type}, but {what} {result}",
                                     "every row of a table must give the same type", related=related)
                else:
                    result = joined if declared is None else declared
            rows.append(ir.Row(number, cond, value, row.notes, row.span))
        return ir.TableBody(decl.hit, tuple(rows)), (result or ERROR)

    def _eligibility(self, decl: ast.EligibilityDecl) -> ir.EligibilityBody:
        conds, seen = [], set()
        for c in decl.conditions:
            if c.name in seen:
                self.diags.error(c.span, f"condition '{c.name}' appears twice in '{decl.name}'")
            seen.add(c.name)
            self._reads.append(set())
            expr = self._expr(c.expr, _Scope())
            reads = self._reads.pop()
            self._reads[-1].update(reads)
            self._expect_type(expr.type, BOOL, c.expr.span, f"condition '{c.name}'")
            conds.append(ir.Cond(c.name, expr, tuple(sorted(reads)), c.notes, c.span))
        return ir.EligibilityBody(tuple(conds))

    def _summary(self, name: str, span: Span | None = None) -> Type:
        """Check a summary on first use; `self.summaries` fills in dependency order (what a summary reads first)."""
        if name in self.summaries:
            return self.summaries[name].type
        if name in self._in_progress:
            self.diags.error(span or self.decls.values[name][0].span, f"summary '{name}' depends on itself",
                             "a summary cannot read itself, directly or through other summaries")
            return ERROR
        decl = self.decls.values[name][0]
        self._in_progress.add(name)
        self._reads.append(set())
        expr = self._expr(decl.expr, _Scope(in_summary=True))
        self._reads.pop()
        self._in_progress.discard(name)
        declared = self._type(decl.type, decl.name) if decl.type else None
        self.summaries[name] = ir.Summary(decl.name, self._declared(declared, expr.type, decl.expr.span, decl.name),
                                          expr, decl.notes, decl.span)
        return self.summaries[name].type

    def _check_example(self, ex: ast.ExampleDecl) -> ir.Example:
        if ex.record_type and self.subject and ex.record_type != self.subject.name:
            self.diags.error(ex.span, f"example '{ex.title}' gives a {ex.record_type}, but the policy evaluates "
                                      f"{self.subject.name}")
        given = self._record_literal(ex.given, self.subject) if self.subject else {}
        expects = []
        for e in ex.expects:
            target = self.node_types.get(e.name)
            if target is None:
                if self.subject and e.name in self.subject.field_names:
                    self.diags.error(e.span, f"'{e.name}' is an input field, not a fact or outcome",
                                     "expect only facts, outcomes, tables or eligibility results")
                else:
                    self.diags.error(e.span, f"example expects '{e.name}', which is not a fact or outcome",
                                     did_you_mean(e.name, self.node_types))
                continue
            value = self._constant(e.value, target, f"'{e.name}'")
            expects.append(ir.Expect(e.name, value, e.span))
        return ir.Example(ex.title, ex.as_of, given, tuple(expects), ex.span)

    def _constant(self, e: ast.Expr, wanted: Type, what: str) -> object:
        value = self._expr(e, _Scope(), expected=wanted)
        if value.type is ERROR:
            return None
        if not isinstance(value, ir.Const):
            self.diags.error(e.span, f"the value of {what} in an example must be written out as a constant")
            return None
        self._expect_type(value.type, wanted, e.span, what)
        return _widen(value.value, value.type, wanted)

    def _record_literal(self, lit: ast.RecordLit, rtype: RecordType) -> dict:
        given = {f.name: f for f in lit.fields}
        values: dict = {}
        for f in lit.fields:
            ftype = rtype.field(f.name)
            if ftype is None:
                self.diags.error(f.span, f"{rtype.name} has no field '{f.name}'", did_you_mean(f.name, rtype.field_names))
                continue
            if isinstance(ftype, ListOf):
                if not isinstance(f.value, ast.ListLit):
                    self.diags.error(f.value.span, f"'{f.name}' is a list of {ftype.element}: write [ {{ … }}, … ]")
                    continue
                items = []
                for item in f.value.items:
                    if isinstance(item, ast.RecordLit):
                        items.append(self._record_literal(item, self.records[ftype.element]))
                    else:
                        self.diags.error(item.span, f"each {ftype.element} is written {{ field: value, … }}")
                values[f.name] = tuple(items)
                continue
            values[f.name] = self._constant(f.value, ftype, f"field '{f.name}'")
            self._check_record_places(values[f.name], ftype, f)
        missing = [n for n, t in rtype.fields if n not in given]
        if missing:
            self.diags.error(lit.span, f"this {rtype.name} lacks field(s): {', '.join(missing)}",
                             "an example gives every field of the record, as real data would")
        return values

    def _check_record_places(self, value: object, ftype: Type, f) -> None:
        """A given value holds no more places than a record's cell may (records refuse finer ones on every
        engine, so an example with one would test what no data can hold)."""
        places = {MONEY: 2, DECIMAL: INPUT_PLACES, PERCENT: INPUT_PLACES}.get(ftype)
        if places is None or not isinstance(value, Decimal) or value.normalize().as_tuple().exponent >= -places:
            return
        shown = "a fen (2 decimal places)" if ftype == MONEY else f"{places} decimal places" + (
            f" ({places - 2} in percent)" if ftype == PERCENT else "")
        self.diags.error(f.value.span, f"field '{f.name}': a record's {ftype} holds at most {shown}; "
                                       f"this value is finer", "records with finer values are refused as bad data")

    # -------------------------------------------------------------------------------------------- expressions
    def _expect_type(self, actual: Type, wanted: Type, span: Span, what: str) -> None:
        if actual is ERROR or wanted is ERROR or actual == wanted:
            return
        if wanted == DECIMAL and actual == INT:
            return
        hint = None
        if wanted == MONEY and is_numeric(actual):
            hint = "amounts of money carry a unit: write e.g. '1000 元'"
        elif isinstance(wanted, EnumType):
            hint = f"{wanted.name} labels: {', '.join(wanted.labels)}"
        self.diags.error(span, f"{what} should be {wanted}, but this is {actual}", hint)

    def _expr(self, e: ast.Expr, scope: _Scope, expected: Type | None = None) -> ir.IExpr:
        method = getattr(self, "_e_" + type(e).__name__)
        return method(e, scope, expected)

    def _e_Literal(self, e: ast.Literal, scope, expected) -> ir.IExpr:
        if e.kind == "duration":
            amount, unit = e.value
            return ir.Const(DURATION, Duration.of(amount, unit), e.span)
        type_ = PRIMITIVES[e.kind] if e.kind != "bool" else BOOL
        if e.kind == "text" and isinstance(expected, EnumType):
            if e.value in expected.labels:
                return ir.Const(expected, e.value, e.span)
            self.diags.error(e.span, f"'{e.value}' is not a label of {expected.name}",
                             did_you_mean(e.value, expected.labels) or f"labels: {', '.join(expected.labels)}")
            return ir.Const(ERROR, None, e.span)
        return ir.Const(type_, e.value, e.span)

    def _e_Name(self, e: ast.Name, scope: _Scope, expected) -> ir.IExpr:
        name = e.name
        if scope.element is not None and scope.element.field(name) is not None:
            return ir.ElemRef(scope.element.field(name), name, e.span)
        if scope.element_nodes is not None and name in scope.element_nodes:
            return ir.ElemRef(scope.element_nodes[name], name, e.span)
        if isinstance(expected, EnumType) and name in expected.labels:
            return ir.Const(expected, name, e.span)
        if self.subject is not None and self.subject.field(name) is not None and not scope.in_summary:
            self._read(name)
            return ir.Ref(self.subject.field(name), name, "field", e.span)
        if name in self.decls.values:
            decl = self.decls.values[name][0]
            if isinstance(decl, ast.ParamDecl):
                self._read(name)
                param = self.params.get(name)
                return ir.Ref(param.type if param else ERROR, name, "param", e.span)
            if isinstance(decl, ast.ListDecl):
                return ir.Ref(list_of(name), name, "list", e.span)
            if isinstance(decl, ast.SummaryDecl):
                if scope.in_summary:
                    return ir.Ref(self._summary(name, e.span), name, "summary", e.span)
                self.diags.error(e.span, f"'{name}' is a summary over all records; a per-record rule cannot read it",
                                 "only another summary can read a summary")
                return ir.Const(ERROR, None, e.span)
            if scope.in_summary:
                self.diags.error(e.span, f"'{name}' is a per-record value; inside a summary read it through "
                                         f"an aggregate over records", f"e.g. sum(records, {name})")
                return ir.Const(ERROR, None, e.span)
            self._read(name)
            return ir.Ref(self._node(name), name, "node", e.span)
        if scope.in_summary and self.subject is not None and self.subject.field(name) is not None:
            self.diags.error(e.span, f"'{name}' is a field of each record; a summary reads it through an aggregate",
                             f"e.g. sum(records, {name}) or count(records where …)")
            return ir.Const(ERROR, None, e.span)
        if name == "as_of":
            return ir.AsOf(DATE, e.span)
        if name == "records":
            if scope.in_summary:
                return ir.RecordsRef(list_of("records"), e.span)
            self.diags.error(e.span, "'records' (all evaluated records) can only be used in a summary")
            return ir.Const(ERROR, None, e.span)
        owners = [enum for enum in self.enums.values() if name in enum.labels]
        if len(owners) == 1:
            return ir.Const(owners[0], name, e.span)
        if len(owners) > 1:
            self.diags.error(e.span, f"'{name}' is a label of several enums ({', '.join(o.name for o in owners)})",
                             "compare it with a field of the enum you mean, so its type is clear")
            return ir.Const(ERROR, None, e.span)
        if isinstance(expected, EnumType):
            self.diags.error(e.span, f"'{name}' is not a label of {expected.name}",
                             did_you_mean(name, expected.labels) or f"labels: {', '.join(expected.labels)}")
            return ir.Const(ERROR, None, e.span)
        self.diags.error(e.span, f"undefined name '{name}'", did_you_mean(name, self._visible(scope)))
        return ir.Const(ERROR, None, e.span)

    def _visible(self, scope: _Scope) -> list[str]:
        names = list(self.decls.values) + ["as_of"]
        if self.subject:
            names += list(self.subject.field_names)
        if scope.element:
            names += list(scope.element.field_names)
        for enum in self.enums.values():
            names += list(enum.labels)
        return names

    def _read(self, name: str) -> None:
        if self._reads:
            self._reads[-1].add(name)

    def _e_Attr(self, e: ast.Attr, scope, expected) -> ir.IExpr:
        obj = self._expr(e.obj, scope)
        if obj.type is ERROR:
            return ir.Const(ERROR, None, e.span)
        rtype = self.records.get(obj.type.name) if isinstance(obj.type, RecordType) else None
        if rtype is None:
            self.diags.error(e.span, f"'.{e.name}' needs a record, but this is {obj.type}")
            return ir.Const(ERROR, None, e.span)
        ftype = rtype.field(e.name)
        if ftype is None:
            self.diags.error(e.span, f"{rtype.name} has no field '{e.name}'", did_you_mean(e.name, rtype.field_names))
            return ir.Const(ERROR, None, e.span)
        return ir.GetField(ftype, obj, e.name, e.span)

    def _e_Index(self, e: ast.Index, scope, expected) -> ir.IExpr:
        obj = self._expr(e.obj, scope)
        if obj.type is ERROR:
            return ir.Const(ERROR, None, e.span)
        if not (isinstance(obj, ir.Ref) and obj.kind == "list"):
            self.diags.error(e.obj.span, "only an external list can be looked up with [key]")
            return ir.Const(ERROR, None, e.span)
        lst = self.lists[obj.name]
        if lst.row_type.key is None:
            self.diags.error(e.obj.span, f"list '{obj.name}' declares no key", "write 'list 名 from \"…\" key FIELD'")
            return ir.Const(ERROR, None, e.span)
        key = self._expr(e.key, scope, expected=lst.row_type.field(lst.row_type.key))
        self._expect_type(key.type, lst.row_type.field(lst.row_type.key), e.key.span, f"the key of '{obj.name}'")
        return ir.Lookup(lst.row_type, obj.name, key, e.span)

    def _e_Unary(self, e: ast.Unary, scope, expected) -> ir.IExpr:
        operand = self._expr(e.operand, scope, expected)
        if e.op == "not":
            self._expect_type(operand.type, BOOL, e.operand.span, "'not' operand")
            return _fold(ir.UnaryOp(BOOL, "not", operand, e.span))
        if operand.type not in (INT, DECIMAL, MONEY, PERCENT, DURATION, ERROR):
            self.diags.error(e.span, f"cannot negate {operand.type}")
            return ir.Const(ERROR, None, e.span)
        return _fold(ir.UnaryOp(operand.type, "neg", operand, e.span))

    def _e_Binary(self, e: ast.Binary, scope, expected) -> ir.IExpr:
        if e.op in ("and", "or"):
            left = self._expr(e.left, scope)
            right = self._expr(e.right, scope)
            self._expect_type(left.type, BOOL, e.left.span, f"'{e.op}' operand")
            self._expect_type(right.type, BOOL, e.right.span, f"'{e.op}' operand")
            return ir.BinaryOp(BOOL, e.op, left, right, BOOL, e.span)
        if e.op in ("in", "not in"):
            return self._membership(e, scope)
        left, right = self._operands(e, scope, expected)
        if ERROR in (left.type, right.type):
            return ir.Const(ERROR, None, e.span)
        if e.op in COMPARE_OPS:
            return self._comparison(e, left, right)
        result = _arith_type(e.op, left.type, right.type)
        if result is None:
            self.diags.error(e.span, f"cannot {_VERB[e.op]} {left.type} and {right.type}",
                             _arith_hint(e.op, left.type, right.type))
            return ir.Const(ERROR, None, e.span)
        return _fold(ir.BinaryOp(result, ARITH_OPS[e.op], left, right, _join(left.type, right.type) or left.type,
                                 e.span))

    def _operands(self, e: ast.Binary, scope, expected) -> tuple[ir.IExpr, ir.IExpr]:
        """Check both sides; a bare enum label on either side takes the other side's enum type."""
        hint = expected if e.op in ARITH_OPS else None
        if isinstance(e.left, ast.Name) and self._is_bare_label(e.left.name, scope):
            right = self._expr(e.right, scope, hint)
            return self._expr(e.left, scope, right.type if isinstance(right.type, EnumType) else hint), right
        left = self._expr(e.left, scope, hint)
        right = self._expr(e.right, scope, left.type if isinstance(left.type, EnumType) else hint)
        return left, right

    def _is_bare_label(self, name: str, scope: _Scope) -> bool:
        if scope.element and scope.element.field(name) is not None:
            return False
        if self.subject and self.subject.field(name) is not None:
            return False
        return name not in self.decls.values and name not in ("as_of", "records")

    def _comparison(self, e: ast.Binary, left: ir.IExpr, right: ir.IExpr) -> ir.IExpr:
        op = COMPARE_OPS[e.op]
        joined = _join(left.type, right.type)
        if joined is None:
            hint = None
            if MONEY in (left.type, right.type) and (is_numeric(left.type) or is_numeric(right.type)):
                hint = "write the amount with its unit, e.g. '0 元'"
            elif isinstance(left.type, EnumType) or isinstance(right.type, EnumType):
                enum = left.type if isinstance(left.type, EnumType) else right.type
                hint = f"compare {enum.name} with one of its labels: {', '.join(enum.labels)}"
            self.diags.error(e.span, f"cannot compare {left.type} with {right.type}", hint)
            return ir.Const(ERROR, None, e.span)
        if op not in ("eq", "ne"):
            unordered = joined in (BOOL, TEXT) or isinstance(joined, (ListOf, RecordType)) or (
                isinstance(joined, EnumType) and not joined.ordered)
            if unordered:
                hint = "declare the enum 'ordered' to compare its labels by rank" if isinstance(joined, EnumType) else None
                self.diags.error(e.span, f"'{e.op}' does not apply to {joined}; only == and != do", hint)
                return ir.Const(ERROR, None, e.span)
        return _fold(ir.BinaryOp(BOOL, op, left, right, joined, e.span))

    def _membership(self, e: ast.Binary, scope) -> ir.IExpr:
        op = "in" if e.op == "in" else "notin"
        if isinstance(e.right, ast.ListLit):
            left = self._expr(e.left, scope)
            items = tuple(self._expr(i, scope, left.type if isinstance(left.type, EnumType) else None)
                          for i in e.right.items)
            for item, node in zip(items, e.right.items):
                if item.type is not ERROR and left.type is not ERROR and _join(item.type, left.type) is None:
                    self.diags.error(node.span, f"this list item is {item.type}, but the value tested is {left.type}")
            return ir.BinaryOp(BOOL, op, left, ir.ListItems(left.type, items, e.right.span), left.type, e.span)
        right = self._expr(e.right, scope)
        if right.type is ERROR:
            return ir.Const(ERROR, None, e.span)
        if isinstance(right, ir.Ref) and right.kind == "list":
            lst = self.lists[right.name]
            key_type = lst.row_type.field(lst.row_type.key) if lst.row_type.key else None
            if key_type is None:
                self.diags.error(e.right.span, f"list '{right.name}' declares no key to test membership against")
                return ir.Const(ERROR, None, e.span)
            left = self._expr(e.left, scope, key_type)
            self._expect_type(left.type, key_type, e.left.span, f"a key of '{right.name}'")
            return ir.BinaryOp(BOOL, op, left, right, key_type, e.span)
        self.diags.error(e.right.span, f"'{e.op}' needs a list [a, b, …] or an external list, not {right.type}")
        return ir.Const(ERROR, None, e.span)

    def _e_IfExpr(self, e: ast.IfExpr, scope, expected) -> ir.IExpr:
        cond = self._expr(e.cond, scope)
        self._expect_type(cond.type, BOOL, e.cond.span, "the condition of 'if'")
        then = self._expr(e.then, scope, expected)
        other = self._expr(e.otherwise, scope, expected or then.type)
        joined = self._join_or_report(then, other, e.otherwise.span, "the 'else' branch", "the 'then' branch")
        return ir.If(joined, cond, then, other, e.span)

    def _join_or_report(self, a: ir.IExpr, b: ir.IExpr, span: Span, what_b: str, what_a: str) -> Type:
        if ERROR in (a.type, b.type):
            return ERROR
        return self._join_reported(a.type, b.type, span, f"{what_b} gives {b.type}, but {what_a} gives {a.type}",
                                   "both must give the same type", fallback=ERROR)

    def _join_reported(self, a: Type, b: Type, span: Span, message: str, hint: str, fallback: Type) -> Type:
        """The common type of two branches, or an error at `span` (and `fallback`) when they have none."""
        joined = _join(a, b)
        if joined is None:
            hint = "write the amount with its unit, e.g. '0 元'" if MONEY in (a, b) and (
                is_numeric(a) or is_numeric(b)) else hint
            self.diags.error(span, message, hint)
            return fallback
        return joined

    def _e_MatchExpr(self, e: ast.MatchExpr, scope, expected) -> ir.IExpr:
        subject = self._expr(e.subject, scope)
        enum = subject.type if isinstance(subject.type, EnumType) else None
        if enum is None and subject.type is not ERROR:
            self.diags.error(e.subject.span, f"'match' needs an enum value, but this is {subject.type}",
                             "use 'if … then … else …' or a table for other values")
        # the context's type is only a hint for literal arms: the arms decide the match's type (a match of
        # percents may stand where money is expected, as in `m * (match e { … -> 50% })`)
        arms, seen, result = [], {}, None
        for arm in e.arms:
            labels = []
            for label in arm.labels:
                if enum is not None and label.name not in enum.labels:
                    self.diags.error(label.span, f"'{label.name}' is not a label of {enum.name}",
                                     did_you_mean(label.name, enum.labels) or f"labels: {', '.join(enum.labels)}")
                elif label.name in seen:
                    self.diags.error(label.span, f"label '{label.name}' is already handled by an earlier arm",
                                     related=((seen[label.name], "handled here"),))
                seen.setdefault(label.name, label.span)
                labels.append(label.name)
            value = self._expr(arm.value, scope, result or expected)
            result = self._unify(result, value, arm.value.span)
            arms.append((tuple(labels), value))
        default = None
        if e.default is not None:
            default = self._expr(e.default, scope, result or expected)
            result = self._unify(result, default, e.default.span)
        elif enum is not None:
            missing = [label for label in enum.labels if label not in seen]
            if missing:
                self.diags.error(e.span, f"match does not handle {', '.join(missing)} of {enum.name}",
                                 "add arms for them or an 'else -> …' arm")
        return ir.Match(result or ERROR, subject, tuple(arms), default, e.span)

    def _unify(self, result: Type | None, value: ir.IExpr, span: Span) -> Type:
        if result is None or result is ERROR:
            return value.type
        if value.type is ERROR:
            return result
        return self._join_reported(result, value.type, span,
                                   f"this arm gives {value.type}, but earlier arms give {result}",
                                   "every arm must give the same type", fallback=result)

    def _e_ListLit(self, e: ast.ListLit, scope, expected) -> ir.IExpr:
        self.diags.error(e.span, "a list [ … ] can only follow 'in' (or give related records in an example)")
        return ir.Const(ERROR, None, e.span)

    def _e_RecordLit(self, e: ast.RecordLit, scope, expected) -> ir.IExpr:
        self.diags.error(e.span, "a record { … } can only be written in an example's 'given'")
        return ir.Const(ERROR, None, e.span)

    def _e_Call(self, e: ast.Call, scope: _Scope, expected) -> ir.IExpr:
        if e.func in AGGREGATES and not e.args:
            form = "count(RELATION [where CONDITION])" if e.func == "count" else f"{e.func}(RELATION, EXPRESSION)"
            self.diags.error(e.span, f"{e.func} needs the related records to go over", f"write {form}")
            return ir.Const(ERROR, None, e.span)
        if e.func in self.decls.values or (self.subject and e.func in self.subject.field_names):
            self.diags.error(e.span, f"'{e.func}' is a value, not a function", f"write just '{e.func}'")
            return ir.Const(ERROR, None, e.span)
        if e.func in AGGREGATES and e.args:
            source = self._expr(e.args[0], scope)
            if isinstance(source.type, ListOf) or e.func not in ("min", "max"):
                return self._aggregate(e, source, scope)
        if e.where is not None:
            self.diags.error(e.where.span, f"'where' belongs to aggregates (count, sum, …), not to {e.func}")
        if e.func not in SCALAR_FUNCS:
            self.diags.error(e.span, f"unknown function '{e.func}'",
                             did_you_mean(e.func, SCALAR_FUNCS | AGGREGATES))
            return ir.Const(ERROR, None, e.span)
        if e.func == "round":
            return self._round(e, scope)
        args = tuple(self._expr(a, scope, expected if e.func in ("min", "max", "clamp") else None) for a in e.args)
        return _fold(self._builtin(e, args))

    def _builtin(self, e: ast.Call, args: tuple[ir.IExpr, ...]) -> ir.IExpr:
        types = [a.type for a in args]
        if ERROR in types:
            return ir.Const(ERROR, None, e.span)
        f = e.func
        arity = {"clamp": 3, "abs": 1, "floor": 1, "ceil": 1, "year": 1, "quarter": 1, "month": 1, "text": 1}
        arity.update(dict.fromkeys(("years_between", "months_between", "days_between", "same_year", "same_quarter", "same_month"), 2))
        if f in arity and len(args) != arity[f]:
            self.diags.error(e.span, f"{f} takes {arity[f]} argument(s), got {len(args)}")
            return ir.Const(ERROR, None, e.span)
        if f in ("min", "max", "clamp", "abs"):
            if f in ("min", "max") and len(args) < 2:
                self.diags.error(e.span, f"{f} of values needs at least two of them",
                                 f"for related records write {f}(RELATION, EXPRESSION)")
                return ir.Const(ERROR, None, e.span)
            joined = types[0]
            for t, a in zip(types[1:], e.args[1:]):
                nxt = _join(joined, t)
                if nxt is None:
                    hint = "write the amount with its unit, e.g. '0 元'" if MONEY in (joined, t) else None
                    self.diags.error(a.span, f"{f} mixes {joined} and {t}", hint)
                    return ir.Const(ERROR, None, e.span)
                joined = nxt
            if joined not in (INT, DECIMAL, MONEY, PERCENT, DATE, DURATION):
                self.diags.error(e.span, f"{f} needs numbers, money, percentages or dates, not {joined}")
                return ir.Const(ERROR, None, e.span)
            if f == "abs" and joined in (DATE, DURATION):  # a date has no sign; a duration mixes months and days
                self.diags.error(e.span, f"abs needs a number, money or a percentage, not {joined}")
                return ir.Const(ERROR, None, e.span)
            return ir.Builtin(joined, f, args, span=e.span)
        if f in ("floor", "ceil"):
            if types[0] not in (INT, DECIMAL, PERCENT):
                self.diags.error(e.span, f"{f} needs a number, not {types[0]}",
                                 "round money with round(x) or round(x, 0)" if types[0] == MONEY else None)
                return ir.Const(ERROR, None, e.span)
            return ir.Builtin(INT, f, args, span=e.span)
        if f == "text":
            return ir.Builtin(TEXT, f, args, span=e.span)
        for t, a in zip(types, e.args):
            if t != DATE:
                self.diags.error(a.span, f"{f} needs a date, not {t}")
                return ir.Const(ERROR, None, e.span)
        return ir.Builtin(BOOL if f.startswith("same_") else INT, f, args, span=e.span)

    def _round(self, e: ast.Call, scope) -> ir.IExpr:
        if not 1 <= len(e.args) <= 3:
            self.diags.error(e.span, "round takes a value, then optionally places and a mode",
                             "e.g. round(x), round(x, 2), round(x, 0, half_even)")
            return ir.Const(ERROR, None, e.span)
        value = self._expr(e.args[0], scope)
        places = None
        if len(e.args) >= 2:
            p = self._expr(e.args[1], scope)
            if not (isinstance(p, ir.Const) and p.type == INT):
                self.diags.error(e.args[1].span, "the number of places must be a whole number written out")
                return ir.Const(ERROR, None, e.span)
            places = p.value
        mode = "half_up"
        if len(e.args) == 3:
            m = e.args[2]
            if not (isinstance(m, ast.Name) and m.name in ROUND_MODES):
                self.diags.error(m.span, "unknown rounding mode", f"modes: {', '.join(sorted(ROUND_MODES))}")
                return ir.Const(ERROR, None, e.span)
            mode = m.name
        if value.type is ERROR:
            return ir.Const(ERROR, None, e.span)
        if value.type not in (INT, DECIMAL, MONEY, PERCENT):
            self.diags.error(e.args[0].span, f"round needs a number or money, not {value.type}")
            return ir.Const(ERROR, None, e.span)
        if places is None:
            places = 2 if value.type == MONEY else 0
        result = value.type if value.type in (MONEY, PERCENT) else (INT if places == 0 else DECIMAL)
        return ir.Builtin(result, "round", (value, ir.Const(INT, places)), mode, e.span)

    def _aggregate(self, e: ast.Call, source: ir.IExpr, scope: _Scope) -> ir.IExpr:
        if source.type is ERROR:
            return ir.Const(ERROR, None, e.span)
        if not isinstance(source.type, ListOf):
            self.diags.error(e.args[0].span, f"{e.func} needs related records, a list or 'records', "
                                             f"not {source.type}")
            return ir.Const(ERROR, None, e.span)
        inner = self._element_scope(source, scope)
        element = None
        want_args = 1 if e.func == "count" else 2
        if len(e.args) != want_args:
            form = "count(RELATION [where CONDITION])" if e.func == "count" else \
                f"{e.func}(RELATION, EXPRESSION [where CONDITION])"
            self.diags.error(e.span, f"{e.func} takes {want_args} argument(s) here", f"write {form}")
            return ir.Const(ERROR, None, e.span)
        if want_args == 2:
            element = self._expr(e.args[1], inner)
        where = None
        if e.where is not None:
            where = self._expr(e.where, inner)
            self._expect_type(where.type, BOOL, e.where.span, "'where'")
        if element is not None and element.type is ERROR:
            return ir.Const(ERROR, None, e.span)
        result: Type
        if e.func in ("count", "distinct"):
            result = INT
        elif e.func in ("any", "all"):
            self._expect_type(element.type, BOOL, e.args[1].span, f"the condition of {e.func}")
            result = BOOL
        else:
            result = element.type
            allowed = (INT, DECIMAL, MONEY, PERCENT) if e.func == "sum" else (INT, DECIMAL, MONEY, PERCENT, DATE)
            if result not in allowed:
                self.diags.error(e.args[1].span, f"cannot {e.func} values of type {result}")
                return ir.Const(ERROR, None, e.span)
        return ir.Aggregate(result, e.func, source, element, where, e.span)

    def _element_scope(self, source: ir.IExpr, scope: _Scope) -> _Scope:
        if isinstance(source, ir.RecordsRef):
            return _Scope(element=self.subject, element_nodes=dict(self.node_types), in_summary=True)
        return _Scope(element=self.records.get(source.type.element), in_summary=scope.in_summary)


def _type_refs(decl: ast.Decl):
    """The type expressions written in a declaration (field types, a value's declared type)."""
    for f in getattr(decl, "fields", ()):
        yield f.type
    if getattr(decl, "type", None) is not None:
        yield decl.type


def _notes_of(decl: ast.Decl):
    """Every annotation block of a declaration, labelled for the list of assumptions."""
    if isinstance(decl, ast.ParamDecl):
        for v in decl.values:
            yield v.notes, f" (from {v.start})" if v.start else ""
    elif isinstance(decl, ast.TableDecl):
        yield decl.notes, ""
        for i, row in enumerate(decl.rows, start=1):
            yield row.notes, f" row {i}"
    elif isinstance(decl, ast.EligibilityDecl):
        yield decl.notes, ""
        for c in decl.conditions:
            yield c.notes, f".{c.name}"
    elif hasattr(decl, "notes"):
        yield decl.notes, ""


# ------------------------------------------------------------------------------------------------ type algebra

_VERB = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}


def _join(a: Type, b: Type) -> Type | None:
    """The common type of two values that may meet (branches, comparisons), or None."""
    if a is ERROR:
        return b
    if b is ERROR or a == b:
        return a
    if {a, b} == {INT, DECIMAL}:
        return DECIMAL
    return None


def _arith_type(op: str, a: Type, b: Type) -> Type | None:
    num = (INT, DECIMAL)
    if op in "+-":
        if a in num and b in num:
            return _join(a, b)
        if a == b and a in (MONEY, PERCENT, DURATION):
            return a
        if a == DATE and b == DURATION:
            return DATE
        if op == "+" and a == b == TEXT:
            return TEXT
        return None
    if op == "*":
        if a in num and b in num:
            return _join(a, b)
        for x, y in ((a, b), (b, a)):
            if x == MONEY and (y in num or y == PERCENT):
                return MONEY
            if x == PERCENT and y in num:
                return DECIMAL
            if x == DURATION and y == INT:
                return DURATION
        if a == b == PERCENT:
            return PERCENT
        return None
    if op == "/":
        if a in num + (PERCENT,) and b in num + (PERCENT,):
            return PERCENT if a == PERCENT and b in num else DECIMAL
        if a == MONEY and (b in num or b == PERCENT):
            return MONEY
        if a == b == MONEY:
            return DECIMAL
        return None
    return None


def _arith_hint(op: str, a: Type, b: Type) -> str | None:
    if DATE in (a, b) and op == "-" and a == b:
        return "use days_between(a, b), months_between or years_between"
    if MONEY in (a, b) and (is_numeric(a) or is_numeric(b)) and op in "+-":
        return "write the amount with its unit, e.g. '100 元'"
    if a == b == MONEY and op == "*":
        return "multiply money by a number or a percentage"
    return None


def _widen(value: object, actual: Type, wanted: Type) -> object:
    from decimal import Decimal
    if wanted == DECIMAL and actual == INT and isinstance(value, int):
        return Decimal(value)
    return value


def _fold(expr: ir.IExpr) -> ir.IExpr:
    """Fold a negated constant (`-1`, `-500 元`) into a constant, so params and examples may be negative."""
    if isinstance(expr, ir.UnaryOp) and expr.op == "neg" and isinstance(expr.operand, ir.Const):
        value = expr.operand.value
        negated = Duration(-value.months, -value.days) if isinstance(value, Duration) else -value
        return ir.Const(expr.type, negated, expr.span)
    return expr


def check_file(path: str, sources: SourceCache | None = None) -> tuple[ir.Policy | None, Loader]:
    """Load and check one policy file. Returns the policy (None on errors) and the loader with its diagnostics."""
    loader = Loader(sources)
    policy = loader.load(path)
    return policy, loader
