"""Stage 2 — semantics: resolve names across a file, its imports and the policy it extends; check types; build IR.

Every problem becomes a diagnostic with a span; checking goes on after an error (the failed expression gets the
`ERROR` type, which matches anything) so that one run reports all mistakes of a file.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from . import ast, ir
from .diagnostics import MAX_CANDIDATES, Diagnostic, DiagnosticBag, SourceCache, Span, did_you_mean
from .glossary import collect_labels, english_gaps, resolve_labels
from .limits import MAX_LIST_BYTES, MAX_POLICY_BYTES, Refusal, allowed_roots, read_limited, refuse_named_file
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
                "days_between", "year", "quarter", "month", "same_year", "same_quarter", "same_month", "text",
                "percent", "decimal", "present", "absent"}
# functions whose value for a record depends on the other records (`ir.Across`)
ACROSS_FUNCS = {"rank", "percent_rank", "top", "bottom", "apportion", "grant"}
TIE_RULES = {"standard": "tied records share the best rank; the next rank skips (1, 2, 2, 4)",
             "dense": "tied records share a rank; the next rank follows on (1, 2, 2, 3)",
             "ordinal": "every record its own rank; ties fall to the record key (1, 2, 3, 4)"}
APPORTION_METHODS = {"largest_remainder", "dhondt"}
GRANT_METHODS = {"partial", "whole"}
COUNT_ROUNDING = {"up", "down", "half_up"}
ORDERABLE = (INT, DECIMAL, MONEY, PERCENT, DATE, TEXT, BOOL)
GROUPABLE = (INT, TEXT, BOOL, DATE)
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
    exceptions: list[tuple[ast.ExceptionDecl, str]] = field(default_factory=list)
    maps: list[tuple[ast.MapDecl, str]] = field(default_factory=list)
    # names, documents and recourse: the base's and imports' first, the file's own last (later ones replace)
    glossary: list[tuple[ast.GlossaryEntry, str]] = field(default_factory=list)
    documents: list[tuple[ast.DocumentDecl, str]] = field(default_factory=list)
    recourse: list[tuple[ast.RecourseDecl, str]] = field(default_factory=list)

    def take_labels(self, other: "_Decls") -> None:
        """Add the glossary entries, documents and recourse of an imported or extended file."""
        self.glossary.extend(other.glossary)
        self.documents.extend(other.documents)
        self.recourse.extend(other.recourse)


_TYPE_DECLS = (ast.EnumDecl, ast.RecordDecl)
_VALUE_DECLS = (ast.ParamDecl, ast.ValueDecl, ast.TableDecl, ast.EligibilityDecl, ast.SummaryDecl, ast.ListDecl)


def _encoding_hint(start: bytes) -> str:
    """Words for a file that is not UTF-8: UTF-16 (Windows Notepad's "Unicode") is recognised by its mark."""
    if start[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "the file is UTF-16 ('Unicode' in Notepad); save it as UTF-8"
    return "save the file as UTF-8 (it looks like GBK or another legacy encoding)"


class Loader:
    """Reads policy files (and what they import or extend) and checks them into `ir.Policy`."""

    def __init__(self, sources: SourceCache | None = None):
        self.sources = sources or SourceCache()
        self.diags = DiagnosticBag()
        self._modules: dict[str, ast.Module | None] = {}
        self.overridden: dict[str, ast.Decl] = {}  # name → the inherited declaration an override replaced
        self.root_file: str | None = None  # the policy being checked: named files must lie in its tree
        self.label_warnings: list[Diagnostic] = []  # names without English labels: `check` shows them

    # -------------------------------------------------------------------------------------------- files
    def module(self, path: str, span: Span | None = None) -> ast.Module | None:
        """Parse a file once; report it missing or unparsable (at `span`, where it was referenced)."""
        key = os.path.normpath(path)
        if key in self._modules:
            return self._modules[key]
        if self.root_file is None:
            self.root_file = key
        text = self.read_policy(path, span)
        if text is None:
            self._modules[key] = None
            return None
        return self.parse_text(key, text)

    def read_policy(self, path: str, span: Span | None = None) -> str | None:
        """The text of a policy file, or None with a diagnostic (at `span`, where a policy named it).

        Read only from a regular file under the size limit; one named by a policy must also be a .policy file
        in the allowed directory tree (`limits`).
        """
        key = os.path.normpath(path)
        where = span or Span(key, 1, 1, 1, 1)
        # a file the user named may have any name; one a policy names must be a .policy file in the allowed tree
        if span is None:
            refusal = refuse_named_file(Path(path), (Path(path).suffix.lower(),), MAX_POLICY_BYTES, [], "file",
                                        "check the file name")
        else:
            refusal = refuse_named_file(Path(path), (".policy",), MAX_POLICY_BYTES, allowed_roots(self.root_file),
                                        "file")
        text = None
        if refusal is None:
            try:
                text = read_limited(Path(path), MAX_POLICY_BYTES).decode("utf-8")
            except OSError:
                refusal = Refusal(f"file '{key}' cannot be read", "check the file name")
            except UnicodeDecodeError as exc:
                refusal = Refusal(f"file '{key}' is not UTF-8 text", _encoding_hint(exc.object[:4]))
        if refusal is not None:
            self.diags.error(where, refusal.message, refusal.hint)
            return None
        return text

    def parse_text(self, path: str, text: str) -> ast.Module | None:
        """Parse `text` as the file `path` (an editor's unsaved buffer, or the file just read) and remember it."""
        key = os.path.normpath(path)
        if len(text) > MAX_POLICY_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_POLICY_BYTES:
            # an editor's buffer is not read through `read_policy`: the same limit here, before parsing
            self.diags.error(Span(key, 1, 1, 1, 1), f"the file is larger than the limit of {MAX_POLICY_BYTES:,} bytes",
                             "split it into smaller files")
            self._modules[key] = None
            return None
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
        self.root_file = os.path.normpath(path)
        module = self.module(path)
        if module is None:
            return None
        decls = _Decls()
        self._collect(module, decls, visiting=[])
        self._apply_maps(decls)
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
                    into.exceptions.extend(base.exceptions)
                    into.maps.extend(base.maps)
                    into.take_labels(base)
                    into.base_header = base.header or base.base_header
                else:
                    lib = _Decls()
                    self._collect(other, lib, visiting)
                    into.types.update(lib.types)
                    into.values.update(lib.values)
                    into.exceptions.extend(lib.exceptions)
                    into.take_labels(lib)
        own_types: dict[str, ast.Decl] = {}
        own_values: dict[str, ast.Decl] = {}
        for decl in module.decls:
            if isinstance(decl, ast.PolicyHeader):
                if into.header is not None and into.header.span.file == module.path:
                    self.diags.error(decl.span, "a file has only one 'policy' header")
                into.header = decl
            elif isinstance(decl, ast.ExampleDecl):
                into.examples.append(decl)
            elif isinstance(decl, ast.ExceptionDecl):
                into.exceptions.append((decl, module.path))
            elif isinstance(decl, ast.MapDecl):
                into.maps.append((decl, module.path))
            elif isinstance(decl, _TYPE_DECLS):
                self._define(decl, module.path, into.types, own_types)
            elif isinstance(decl, _VALUE_DECLS):
                self._define(decl, module.path, into.values, own_values)
        collect_labels(module, into, self.diags)

    def _apply_maps(self, decls: _Decls) -> None:
        """`map F = E`: the subject's field F leaves the record and becomes a fact computed by E."""
        header = decls.header or decls.base_header
        subject = header.subject if header else None
        for m, origin in decls.maps:
            record = decls.types.get(subject, (None,))[0] if subject else None
            if not isinstance(record, ast.RecordDecl):
                self.diags.error(m.span, "map needs the policy's subject record", "name it with 'subject' in the header")
                continue
            found = next((f for f in record.fields if f.name == m.field), None)
            if found is None:
                self.diags.error(m.span, f"{record.name} has no field '{m.field}' to map",
                                 did_you_mean(m.field, [f.name for f in record.fields]))
                continue
            if m.field == record.key:
                self.diags.error(m.span, f"'{m.field}' is the key of {record.name}: it cannot be computed",
                                 "declare the key of your own records in 'override record'")
                continue
            if m.field in decls.values:
                self.diags.error(m.span, f"'{m.field}' is already defined as a rule", "map only input fields")
                continue
            kept = tuple(f for f in record.fields if f.name != m.field)
            decls.types[subject] = (dataclasses.replace(record, fields=kept), decls.types[subject][1])
            decls.values[m.field] = (ast.ValueDecl(m.field, found.type, m.expr, False, False, m.notes, m.span),
                                     origin)

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
        if is_override and isinstance(decl, ast.RecordDecl):  # fields added to (or retyped in) the base's record
            decl = _merged_record(inherited[0], decl)
        table[name] = (decl, origin)


def _merged_record(base: ast.RecordDecl, variant: ast.RecordDecl) -> ast.RecordDecl:
    """The base's record with the variant's fields: a field of the same name retyped in place, new ones after."""
    new = {f.name: f for f in variant.fields}
    fields = [new.pop(f.name, f) for f in base.fields] + list(new.values())
    return ast.RecordDecl(base.name, variant.key or base.key, tuple(fields), base.span)


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
    in_across: bool = False  # inside a value across records (its parts are read for every record)
    alias: str | None = None  # the element's name (`sum(薪级表 as 行, …)`): unqualified names are the record's
    aggregate: str | None = None  # `sum(薪级表, …)`: for hints
    present: frozenset[str] = frozenset()  # optional fields known to be present here (`if present(x) then …`)

    def knowing(self, names: set[str]) -> "_Scope":
        """This scope where the optional fields `names` are known to be present."""
        return dataclasses.replace(self, present=self.present | names) if names else self


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
        self._across_count = 0
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
        self._check_exception_targets()
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
        name = header.name if header else Path(self.path).stem
        labels = resolve_labels(self, name)
        languages = next((h.languages for h in (self.decls.header, self.decls.base_header)
                          if h is not None and h.languages), ("zh",))
        if "en" in languages:
            self.loader.label_warnings = english_gaps(self, name, labels)
        source_note = header.citation() if header else None
        return ir.Policy(
            name=name,
            title=header.title if header else None,
            source=labels.source_text(source_note),
            # a variant without its own date is in force from its base's, never from a made-up default
            effective=next((h.effective for h in (self.decls.header, self.decls.base_header)
                            if h is not None and h.effective is not None), None),
            path=self.path, subject=self.subject, records=self.records, enums=dict(self.enums),
            params=self.params, lists=self.lists, nodes=self.nodes, summaries=summaries, examples=examples,
            assumptions=self._assumptions(), extends=self.decls.extends,
            title_en=header.title_en if header else None, languages=languages, glossary=labels.glossary,
            documents=labels.documents, recourse=labels.recourse, source_citation=source_note)

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
            found.append(ir.Assumption(f"policy {header.name}", header.assumed, header.span,
                                       header.assumption().en))
        for name, (decl, _) in self.decls.values.items():
            for notes, label in _notes_of(decl):
                if notes.assumed:
                    found.append(ir.Assumption(f"{name}{label}", notes.assumed.text, notes.assumed.span,
                                               notes.assumed.en))
        for doc, _ in self.decls.documents:
            if doc.assumed is not None:
                found.append(ir.Assumption(f"document {doc.name}", doc.assumed.text, doc.assumed.span, doc.assumed.en))
        for block, _ in self.decls.recourse:
            if block.assumed is not None:
                found.append(ir.Assumption("recourse", block.assumed.text, block.assumed.span, block.assumed.en))
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
        bounds: list[tuple[str, object, object]] = []
        seen: set[str] = set()
        for f in fields:
            if f.name in seen:
                self.diags.error(f.span, f"field '{f.name}' appears twice in {name}")
                continue
            seen.add(f.name)
            resolved.append((f.name, self._type(f.type, f"{name}.{f.name}")))
            if f.bounds is not None:
                found = self._bounds(f, resolved[-1][1])
                if found is not None:
                    bounds.append((f.name, *found))
            if f.optional and (f.name == key or isinstance(resolved[-1][1], ListOf)):
                what = "the key" if f.name == key else "a relation (no related rows is an empty list)"
                self.diags.error(f.span, f"'{f.name}' is {what}: it cannot be optional")
        if key is not None and key not in seen:
            self.diags.error(span, f"key '{key}' is not a field of {name}", did_you_mean(key, seen))
        return RecordType(name, tuple(resolved), key, frozenset(f.name for f in fields if f.optional), tuple(bounds))

    def _bounds(self, f: ast.FieldDecl, t: Type) -> tuple[object, object] | None:
        """`between LOW and HIGH` of a field: two constants of its type, the lower first."""
        if t not in (INT, DECIMAL, MONEY, PERCENT, DATE):
            self.diags.error(f.span, f"'{f.name}' is {t}: only numbers, money, percentages and dates have a range")
            return None
        values = []
        for e in f.bounds:
            written = e.operand if isinstance(e, ast.Unary) and e.op == "neg" else e
            x = self._expr(e, _Scope(), expected=t) if isinstance(written, ast.Literal) else None
            if x is not None and x.type is ERROR:
                return None
            if not isinstance(x, ir.Const):
                self.diags.error(e.span, "a field's range is written with numbers (or dates), not rules",
                                 "e.g. 当前等级: int between 1 and 18")
                return None
            self._expect_type(x.type, t, e.span, f"the range of '{f.name}'")
            values.append(_widen(x.value, x.type, t))
        if values[0] > values[1]:
            self.diags.error(f.span, f"the range of '{f.name}' goes from {values[0]} down to {values[1]}",
                             "write the lower bound first")
            return None
        return values[0], values[1]

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
        refusal = refuse_named_file(path, (".csv",), MAX_LIST_BYTES, allowed_roots(self.loader.root_file),
                                    "list file", f"looked for {path}", shown=decl.path)
        if refusal is not None:
            self.diags.error(decl.span, refusal.message, refusal.hint)
            self.lists[decl.name] = ir.ExternalList(decl.name, str(path), row_type, (), decl.notes, decl.span)
            return
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
        except UnicodeDecodeError:
            self.diags.error(decl.span, f"list file '{decl.path}' is not UTF-8 text",
                             "from Excel, save it as 'CSV UTF-8'")
        except csv.Error as exc:
            self.diags.error(decl.span, f"list file '{decl.path}' is not a well-formed CSV file ({exc})")
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
        if isinstance(decl, ast.ValueDecl) and self._exceptions_of(name):
            body, type_ = self._with_exceptions(decl, self._exceptions_of(name))
            kind, is_outcome, notes = "fact", decl.is_outcome, decl.notes
        elif isinstance(decl, ast.ValueDecl):
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

    def _exceptions_of(self, name: str) -> list[ast.ExceptionDecl]:
        return [x for x, _ in self.decls.exceptions if x.target == name]

    def _check_exception_targets(self) -> None:
        """Each exception names a fact or outcome, and its label is unique among that one's exceptions."""
        labels: dict[tuple[str, str], ast.ExceptionDecl] = {}
        for x, _ in self.decls.exceptions:
            target = self.decls.values.get(x.target, (None,))[0]
            if target is None:
                self.diags.error(x.span, f"exception to '{x.target}', which is not defined",
                                 did_you_mean(x.target, self.decls.values) or "an exception names a fact or outcome")
            elif not isinstance(target, ast.ValueDecl):
                self.diags.error(x.span, f"'{x.target}' is a {_decl_word(target)}: only a fact or outcome has "
                                         "exceptions", "a table states its cases as rows; eligibility as conditions")
            if (x.target, x.label) in labels:
                self.diags.error(x.span, f"'{x.target}' has two exceptions labelled “{x.label}”",
                                 "give each exception its own label",
                                 related=((labels[(x.target, x.label)].span, "the other one"),))
            labels[(x.target, x.label)] = x

    def _with_exceptions(self, decl: ast.ValueDecl, exceptions: list[ast.ExceptionDecl]) -> tuple[ir.TableBody, Type]:
        """A fact with exceptions: a unique table of the exceptions, its definition the `otherwise` row."""
        declared = self._type(decl.type, decl.name) if decl.type else None
        base = self._expr(decl.expr, _Scope(), expected=declared)
        result = self._declared(declared, base.type, decl.expr.span, decl.name)
        rows = []
        for number, x in enumerate(exceptions, start=1):
            cond = self._expr(x.condition, _Scope())
            self._expect_type(cond.type, BOOL, x.condition.span, f"the condition of exception “{x.label}”")
            value = self._expr(x.value, _Scope(), expected=result)
            if value.type is not ERROR and result is not ERROR and _join(result, value.type) is None:
                self.diags.error(x.value.span, f"exception “{x.label}” gives {value.type}, but '{decl.name}' is "
                                               f"{result}", "an exception gives a value of the same type",
                                 related=((decl.span, f"'{decl.name}' is defined here"),))
            rows.append(ir.Row(number, cond, value, x.notes, x.span, x.label))
        rows.append(ir.Row(len(rows) + 1, None, base, ast.Annotations(), decl.expr.span))
        return ir.TableBody("unique", tuple(rows)), result

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
            if not any(self._is_node(n) for n in self._in_progress):  # through a rule: the graph names the path
                self.diags.error(span or self.decls.values[name][0].span, f"summary '{name}' depends on itself",
                                 "a summary cannot read itself, directly or through other summaries")
            return ERROR
        decl = self.decls.values[name][0]
        self._in_progress.add(name)
        self._reads.append(set())
        expr = self._expr(decl.expr, _Scope(in_summary=True))
        reads = self._reads.pop()
        self._in_progress.discard(name)
        declared = self._type(decl.type, decl.name) if decl.type else None
        self.summaries[name] = ir.Summary(decl.name, self._declared(declared, expr.type, decl.expr.span, decl.name),
                                          expr, decl.notes, decl.span, tuple(sorted(reads)))
        return self.summaries[name].type

    def _check_example(self, ex: ast.ExampleDecl) -> ir.Example:
        if ex.record_type and self.subject and ex.record_type != self.subject.name:
            self.diags.error(ex.span, f"example '{ex.title}' gives a {ex.record_type}, but the policy evaluates "
                                      f"{self.subject.name}")
        literals = list(ex.records) if ex.given is None else [ex.given]
        records = []
        for number, lit in enumerate(literals, start=1):
            values = self._record_literal(lit, self.subject) if self.subject else {}
            key = self.subject.key if self.subject else None
            record_id = str(values[key]) if key and values.get(key) is not None else f"#{number}"
            if record_id in dict(records):
                self.diags.error(lit.span, f"two records of example '{ex.title}' have the key {record_id!r}")
            records.append((record_id, values))
        ids = [r for r, _ in records]
        expects = []
        for e in ex.expects:
            target = self._expect_target(e, ex, ids)
            if target is None:
                continue
            value = self._constant(e.value, target, f"'{e.name}'")
            record = e.record if e.record is not None or self._is_summary(e.name) else ids[0] if ids else None
            expects.append(ir.Expect(e.name, value, e.span, record))
        given = records[0][1] if records else {}
        return ir.Example(ex.title, ex.as_of, given, tuple(expects), ex.span, tuple(records))

    def _expect_target(self, e: ast.Expectation, ex: ast.ExampleDecl, ids: list[str]) -> Type | None:
        """The type of what an expectation names, or None after reporting why it cannot be expected."""
        if e.name in self.decls.values and self._is_summary(e.name):
            if e.record is not None:
                self.diags.error(e.span, f"'{e.name}' is a summary over all the example's records, not a value of "
                                         f"record {e.record!r}", f"write it in an expect line of its own: "
                                                                 f"expect {e.name} = …")
                return None
            return self._summary(e.name, e.span)
        target = self.node_types.get(e.name)
        if target is None:
            if self.subject and e.name in self.subject.field_names:
                self.diags.error(e.span, f"'{e.name}' is an input field, not a fact or outcome",
                                 "expect only facts, outcomes, tables, eligibility results or summaries")
            else:
                self.diags.error(e.span, f"example expects '{e.name}', which is not a fact, outcome or summary",
                                 did_you_mean(e.name, list(self.node_types) + list(self.summaries)))
            return None
        if e.record is not None and e.record not in ids:
            self.diags.error(e.span, f"example '{ex.title}' gives no record with the key {e.record!r}",
                             did_you_mean(e.record, ids) or f"its records: {', '.join(ids)}")
            return None
        if e.record is None and ex.given is None and len(ids) > 1:
            self.diags.error(e.span, f"'{e.name}' is a value of each record: say whose",
                             f'write expect "{ids[0]}": {e.name} = …')
            return None
        return target

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
            bounds = rtype.bounds_of(f.name)
            if bounds and values[f.name] is not None and not bounds[0] <= values[f.name] <= bounds[1]:
                self.diags.error(f.value.span, f"{f.name} {values[f.name]} is outside {bounds[0]}–{bounds[1]}, the "
                                               f"range {rtype.name} declares", "a record may not hold it, nor may an example")
        for n in rtype.optional - set(given):
            values[n] = None  # an optional field left out of an example is absent, as an empty cell is
        missing = [n for n, t in rtype.fields if n not in given and n not in rtype.optional]
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
        if scope.alias is not None and name == scope.alias:
            self.diags.error(e.span, f"'{name}' is each element of the aggregate, not a value",
                             f"read one of its fields: {name}.FIELD")
            return ir.Const(ERROR, None, e.span)
        if scope.element is not None and scope.alias is None and scope.element.field(name) is not None:
            if scope.element_nodes is not None:
                self._read(name)
            elif self._also_outer(name):
                what = "field" if self.subject.field(name) is not None else "rule"
                self.diags.error(e.span, f"'{name}' is a field of each {scope.element.name} and also a {what} of "
                                         f"the {self.subject.name}: say which one you mean",
                                 f"name the element, e.g. {_named_form(scope, name)}; then {name} alone means "
                                 f"the {self.subject.name}'s")
                return ir.Const(ERROR, None, e.span)
            if name in scope.element.optional and name not in scope.present:
                return self._unguarded(name, e.span)
            return ir.ElemRef(scope.element.field(name), name, e.span)
        if scope.element_nodes is not None and self._is_node(name):
            self._read(name)
            return ir.ElemRef(self._node(name), name, e.span)
        if isinstance(expected, EnumType) and name in expected.labels:
            return ir.Const(expected, name, e.span)
        if self.subject is not None and self.subject.field(name) is not None and not scope.in_summary:
            self._read(name)
            if name in self.subject.optional and name not in scope.present:
                return self._unguarded(name, e.span)
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
                self._read(name)
                return ir.Ref(self._summary(name, e.span), name, "summary", e.span)
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
        # listing the visible names costs their number: with thousands of them (and of mistakes), no hint
        many = len(self.decls.values) > MAX_CANDIDATES
        self.diags.error(e.span, f"undefined name '{name}'", None if many else did_you_mean(name, self._visible(scope)))
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

    def _unguarded(self, name: str, span: Span) -> ir.IExpr:
        self.diags.error(span, f"'{name}' is optional (a record may not have it): say what happens when it is absent",
                         f"e.g. if present({name}) then … else …, or present({name}) and …")
        return ir.Const(ERROR, None, span)

    def _presence(self, e: ast.Call, scope: _Scope) -> ir.IExpr:
        """present(x) / absent(x) of an optional field."""
        name = _optional_name(e.args[0]) if len(e.args) == 1 else None
        if name is None:
            self.diags.error(e.span, f"{e.func} takes one optional field", f"e.g. {e.func}(入党日期)")
            return ir.Const(ERROR, None, e.span)
        x = self._expr(e.args[0], scope.knowing({name}))
        owner = scope.element if isinstance(x, ir.ElemRef) else self.subject
        if x.type is not ERROR and not (isinstance(x, (ir.Ref, ir.ElemRef)) and owner is not None
                                        and name in owner.optional):
            self.diags.error(e.args[0].span, f"'{name}' is not an optional field: it is always there",
                             f"only a field declared '{name}: optional …' can be absent")
            return ir.Const(ERROR, None, e.span)
        return ir.Builtin(BOOL, e.func, (x,), span=e.span)

    def _also_outer(self, name: str) -> bool:
        """Whether a name of an element's field also names something of the record evaluated (a field, a rule).
        The rule being defined does not count: `fact 人口 = sum(网格, 人口)` cannot mean itself."""
        return self.subject is not None and (self.subject.field(name) is not None or
                                             self._is_node(name) and name not in self._in_progress)

    def _e_Attr(self, e: ast.Attr, scope, expected) -> ir.IExpr:
        if scope.alias is not None and isinstance(e.obj, ast.Name) and e.obj.name == scope.alias:
            ftype = scope.element.field(e.name) if scope.element is not None else None
            if ftype is None:
                fields = scope.element.field_names if scope.element is not None else ()
                self.diags.error(e.span, f"{scope.element.name if scope.element else 'the element'} has no field "
                                         f"'{e.name}'", did_you_mean(e.name, fields))
                return ir.Const(ERROR, None, e.span)
            if scope.element_nodes is not None:
                self._read(e.name)
            if e.name in scope.element.optional and e.name not in scope.present:
                return self._unguarded(e.name, e.span)
            return ir.ElemRef(ftype, e.name, e.span)
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
            when_true, when_false = _guards(e.left)  # `present(x) and x > …`, `absent(x) or x > …`
            right = self._expr(e.right, scope.knowing(when_true if e.op == "and" else when_false))
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
        if e.op == "/" and self._always_zero(right):  # else every record would fail at run time
            self.diags.error(e.right.span, "division by zero: this divisor is always 0",
                             "divide by a value that can be other than 0, or guard it: if d == 0 then … else x / d")
            return ir.Const(ERROR, None, e.span)
        return _fold(ir.BinaryOp(result, ARITH_OPS[e.op], left, right, _join(left.type, right.type) or left.type,
                                 e.span))

    def _always_zero(self, expr: ir.IExpr) -> bool:
        """A constant 0, or a param whose every dated value is 0."""
        if isinstance(expr, ir.Const):
            return isinstance(expr.value, (int, Decimal)) and not isinstance(expr.value, bool) and expr.value == 0
        if isinstance(expr, ir.Ref) and expr.kind == "param" and expr.name in self.params:
            values = self.params[expr.name].values
            return bool(values) and all(isinstance(v.value, (int, Decimal)) and v.value == 0 for v in values)
        return False

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
        when_true, when_false = _guards(e.cond)
        then = self._expr(e.then, scope.knowing(when_true), expected)
        other = self._expr(e.otherwise, scope.knowing(when_false), expected or then.type)
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
        if e.func in ("present", "absent"):
            return self._presence(e, scope)
        over_records = e.func in AGGREGATES and e.args and isinstance(e.args[0], ast.Name) and \
            e.args[0].name == "records" and not scope.in_summary and scope.element is None
        if e.func in ACROSS_FUNCS or over_records:
            return self._across(e, scope)
        clause = "within" if e.within is not None else ("by" if e.order else (e.options[0][0] if e.options else None))
        if clause is not None:
            where_ok = "values across records in a per-record rule" if scope.in_summary else \
                "rank, top, bottom, apportion, grant and aggregates over records"
            self.diags.error(e.span, f"'{clause}' does not belong to {e.func}(…)", f"'{clause}' belongs to {where_ok}")
            return ir.Const(ERROR, None, e.span)
        if e.func in AGGREGATES and not e.args:
            form = "count(RELATION [where CONDITION])" if e.func == "count" else f"{e.func}(RELATION, EXPRESSION)"
            self.diags.error(e.span, f"{e.func} needs the related records to go over", f"write {form}")
            return ir.Const(ERROR, None, e.span)
        if e.func in self.decls.values or (self.subject and e.func in self.subject.field_names):
            self.diags.error(e.span, f"'{e.func}' is a value, not a function", f"write just '{e.func}'")
            return ir.Const(ERROR, None, e.span)
        first = None
        if e.func in AGGREGATES and e.args:
            # min/max of scalars take the context's hint; checked once here and reused below, since checking the
            # first argument twice doubled the work (and the diagnostics) at every level of min(min(…))
            scalar_hint = expected if e.func in ("min", "max") else None
            first = self._expr(e.args[0], scope, scalar_hint)
            if isinstance(first.type, ListOf) or e.func not in ("min", "max"):
                return self._aggregate(e, first, scope)
        if e.where is not None:
            self.diags.error(e.where.span, f"'where' belongs to aggregates (count, sum, …), not to {e.func}")
        if e.func not in SCALAR_FUNCS:
            self.diags.error(e.span, f"unknown function '{e.func}'",
                             did_you_mean(e.func, SCALAR_FUNCS | AGGREGATES))
            return ir.Const(ERROR, None, e.span)
        if e.func == "round":
            return self._round(e, scope)
        hint = expected if e.func in ("min", "max", "clamp") else None
        args = tuple(first if i == 0 and first is not None else self._expr(a, scope, hint)
                     for i, a in enumerate(e.args))
        return _fold(self._builtin(e, args))

    def _builtin(self, e: ast.Call, args: tuple[ir.IExpr, ...]) -> ir.IExpr:
        types = [a.type for a in args]
        if ERROR in types:
            return ir.Const(ERROR, None, e.span)
        f = e.func
        arity = {"clamp": 3, "abs": 1, "floor": 1, "ceil": 1, "year": 1, "quarter": 1, "month": 1, "text": 1,
                 "percent": 1, "decimal": 1}
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
        if f in ("percent", "decimal"):  # conversions that change the type, never the value (30% is 0.3)
            allowed = (DECIMAL, INT) if f == "percent" else (PERCENT, INT)
            if types[0] not in allowed:
                self.diags.error(e.span, f"{f}() converts {' or '.join(str(t) for t in allowed)}, not {types[0]}",
                                 "money stays money; round it with round(x)" if types[0] == MONEY else None)
                return ir.Const(ERROR, None, e.span)
            return ir.Builtin(PERCENT if f == "percent" else DECIMAL, f, args, span=e.span)
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
        inner.aggregate = e.func
        if e.alias is not None:
            if e.alias in (scope.element.field_names if scope.element else ()) or self._also_outer(e.alias):
                self.diags.error(e.span, f"the element's name '{e.alias}' is already a name here",
                                 "choose another one, e.g. 行 or 条")
                return ir.Const(ERROR, None, e.span)
            inner.alias = e.alias
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

    # -------------------------------------------------------------------------------------------- across records
    def _across(self, e: ast.Call, scope: _Scope) -> ir.IExpr:
        """rank / percent_rank / top / bottom / apportion / grant, or an aggregate over `records`, in a rule."""
        if scope.in_summary or scope.element is not None or scope.in_across or not self._reads:
            where = "a summary" if scope.in_summary else ("another value across records" if scope.in_across
                                                          else "an aggregate" if scope.element else "this place")
            self.diags.error(e.span, f"{e.func}(…) across records cannot be used inside {where}",
                             "compute it in a fact of its own, then use that fact")
            return ir.Const(ERROR, None, e.span)
        f = e.func
        options = dict(e.options)
        inner = _Scope(in_across=True)
        ok = True

        def fail(span: Span, message: str, hint: str | None = None) -> None:
            nonlocal ok
            ok = False
            self.diags.error(span, message, hint)

        args = list(e.args[1:] if f in AGGREGATES else e.args)
        wants = {"rank": 0, "percent_rank": 0, "top": 1, "bottom": 1, "apportion": 2, "grant": 2}.get(f)
        if f in AGGREGATES:
            wants = 0 if f == "count" else 1
        if len(args) != wants:
            fail(e.span, f"{f} takes {wants} value(s) before its clauses here, got {len(args)}", _ACROSS_FORMS[f])
            return ir.Const(ERROR, None, e.span)
        allowed = _ACROSS_OPTIONS.get(f, set())
        for kind, _word in e.options:
            if kind not in allowed:
                fail(e.span, f"'{kind}' does not belong to {f}(…)", _ACROSS_FORMS[f])
        if e.where is not None and f not in AGGREGATES:
            fail(e.where.span, f"'where' does not belong to {f}(…)", "choose the records in the rule's condition")
        if e.order and f in AGGREGATES:
            fail(e.order[0].span, f"'by' does not belong to {f}(…)", _ACROSS_FORMS[f])
        if not e.order and f not in AGGREGATES:
            fail(e.span, f"{f} needs an order: 'by' and the keys", _ACROSS_FORMS[f])
        ties = self._word(e, options, "ties", TIE_RULES, required=f in ("rank", "top", "bottom"), fail=fail)
        method = self._word(e, options, "method", APPORTION_METHODS if f == "apportion" else GRANT_METHODS,
                            required=f in ("apportion", "grant"), fail=fail)
        amount = value = None
        if f in ("top", "bottom", "apportion", "grant"):
            amount = self._amount(args[0] if f in ("top", "bottom", "apportion") else args[1], f)
            if amount.type is ERROR:
                ok = False
            elif f in ("top", "bottom") and amount.type not in (INT, PERCENT):
                fail(amount.span, f"{f} takes a number of records or a percentage, not {amount.type}")
            elif f in ("apportion", "grant") and amount.type != INT:
                fail(amount.span, f"the {'total' if f == 'apportion' else 'pool'} of {f} must be a whole number, "
                                  f"not {amount.type}")
        rounding = self._word(e, options, "rounding", COUNT_ROUNDING, required=bool(
            f in ("top", "bottom") and amount is not None and amount.type == PERCENT), fail=fail)
        if f in ("top", "bottom") and amount is not None and amount.type == INT and rounding is not None:
            fail(e.span, f"'rounding' applies to a percentage; {f} of a number of records needs none")
        if f in ("apportion", "grant"):
            value = self._expr(args[1] if f == "apportion" else args[0], inner)
            what = "weight" if f == "apportion" else "request"
            if value.type not in (INT, ERROR):
                fail(value.span, f"the {what} of {f} must be a whole number, not {value.type}")
        elif f in AGGREGATES and f != "count":
            value = self._expr(args[0], inner)
        where = within = None
        if e.where is not None and f in AGGREGATES:
            where = self._expr(e.where, inner)
            self._expect_type(where.type, BOOL, e.where.span, "'where'")
        if e.within is not None:
            within = self._expr(e.within, inner)
            if within.type is not ERROR and not (within.type in GROUPABLE or isinstance(within.type, EnumType)):
                fail(within.span, f"records cannot be grouped by a {within.type}",
                     "group by a code, a name, a label, a whole number or a date")
        order = []
        for key in e.order:
            x = self._expr(key.expr, inner)
            if x.type is not ERROR and not (x.type in ORDERABLE or isinstance(x.type, EnumType) and x.type.ordered):
                hint = "declare the enum 'ordered' so its labels have an order" if isinstance(x.type, EnumType) else None
                fail(key.span, f"records cannot be ordered by a {x.type}", hint)
            order.append(ir.OrderKey(x, key.descending))
        if not ok or any(x.type is ERROR for x in (value, where, within) if x is not None):
            return ir.Const(ERROR, None, e.span)
        result = self._across_type(f, value, e)
        if result is ERROR:
            return ir.Const(ERROR, None, e.span)
        self._across_count += 1
        return ir.Across(result, f, value, where, amount, tuple(order), within, ties, method, rounding,
                         self._across_count - 1, e.span)

    def _across_type(self, f: str, value: ir.IExpr | None, e: ast.Call) -> Type:
        if f in ("rank", "apportion", "grant", "count", "distinct"):
            return INT
        if f == "percent_rank":
            return PERCENT
        if f in ("top", "bottom"):
            return BOOL
        if f in ("any", "all"):
            self._expect_type(value.type, BOOL, e.args[1].span, f"the condition of {f}")
            return BOOL
        allowed = (INT, DECIMAL, MONEY, PERCENT) if f == "sum" else (INT, DECIMAL, MONEY, PERCENT, DATE)
        if value.type not in allowed:
            self.diags.error(e.args[1].span, f"cannot {f} values of type {value.type}")
            return ERROR
        return value.type

    def _word(self, e: ast.Call, options: dict, kind: str, words, required: bool, fail) -> str | None:
        """The word of a `ties` / `method` / `rounding` clause, checked against the ones that exist."""
        word = options.get(kind)
        if word is None:
            if required:
                choices = ", ".join(f"'{kind} {w}'" for w in words)
                fail(e.span, f"{e.func} needs its {kind} rule stated: {choices}",
                     "the rule decides who gets what when records are equal; say which one the policy means"
                     if kind == "ties" else None)
            return None
        if word not in words:
            fail(e.span, f"unknown {kind} rule '{word}' in {e.func}(…)",
                 did_you_mean(word, words) or f"{kind}: {', '.join(sorted(words))}")
            return None
        return word

    def _amount(self, e: ast.Expr, f: str) -> ir.IExpr:
        """The set-wide figure of top/bottom/apportion/grant: it may read params and summaries, not records."""
        self._reads.append(set())
        x = self._expr(e, _Scope(in_across=True))
        reads = self._reads.pop()
        self._reads[-1].update(reads)
        per_record = sorted(r for r in reads if r not in self.params and not self._is_summary(r))
        if per_record and x.type is not ERROR:
            self.diags.error(e.span, f"the figure of {f} must be the same for every record, but it reads "
                                     f"{', '.join(repr(r) for r in per_record)}",
                             "use a param, a summary over all records, or a number")
            return ir.Const(ERROR, None, e.span)
        return x

    def _is_node(self, name: str) -> bool:
        return isinstance(self.decls.values.get(name, (None,))[0], (ast.ValueDecl, ast.TableDecl, ast.EligibilityDecl))

    def _is_summary(self, name: str) -> bool:
        return isinstance(self.decls.values.get(name, (None,))[0], ast.SummaryDecl)

    def _element_scope(self, source: ir.IExpr, scope: _Scope) -> _Scope:
        if isinstance(source, ir.RecordsRef):
            return _Scope(element=self.subject, element_nodes={}, in_summary=True)
        return _Scope(element=self.records.get(source.type.element), in_summary=scope.in_summary)


def _guards(cond: ast.Expr) -> tuple[set[str], set[str]]:
    """The optional fields a condition proves present when it is true, and when it is false."""
    if isinstance(cond, ast.Call) and cond.func in ("present", "absent") and len(cond.args) == 1:
        name = _optional_name(cond.args[0])
        if name is None:
            return set(), set()
        return ({name}, set()) if cond.func == "present" else (set(), {name})
    if isinstance(cond, ast.Unary) and cond.op == "not":
        when_true, when_false = _guards(cond.operand)
        return when_false, when_true
    if isinstance(cond, ast.Binary) and cond.op in ("and", "or"):
        lt, lf = _guards(cond.left)
        rt, rf = _guards(cond.right)
        return (lt | rt, set()) if cond.op == "and" else (set(), lf | rf)
    return set(), set()


def _optional_name(e: ast.Expr) -> str | None:
    """The field `present(…)` / `absent(…)` tests: a name, or an aggregate element's `行.field`."""
    if isinstance(e, ast.Name):
        return e.name
    if isinstance(e, ast.Attr) and isinstance(e.obj, ast.Name):
        return e.name
    return None


def _named_form(scope: _Scope, name: str) -> str:
    func, source = scope.aggregate or "sum", scope.element.name
    if func == "count":
        return f"count({source} as 行 where 行.{name} …)"
    return f"{func}({source} as 行, 行.{name} …)"


_ACROSS_FORMS = {
    "rank": "write rank(by KEY [desc], … [within GROUP] ties standard|dense|ordinal)",
    "percent_rank": "write percent_rank(by KEY [desc], … [within GROUP])",
    "top": "write top(N or P% by KEY [desc], … [within GROUP] ties standard|dense|ordinal [rounding up|down|half_up])",
    "bottom": "write bottom(N or P% by KEY [desc], … [within GROUP] ties standard|dense|ordinal "
              "[rounding up|down|half_up])",
    "apportion": "write apportion(TOTAL, WEIGHT by KEY [desc], … [within GROUP] method largest_remainder|dhondt)",
    "grant": "write grant(REQUEST, POOL by KEY [desc], … [within GROUP] method partial|whole)",
    "count": "write count(records [where CONDITION] [within GROUP])",
    **{f: f"write {f}(records, EXPRESSION [where CONDITION] [within GROUP])"
       for f in ("sum", "min", "max", "any", "all", "distinct")},
}
_ACROSS_OPTIONS = {"rank": {"ties"}, "top": {"ties", "rounding"}, "bottom": {"ties", "rounding"},
                   "apportion": {"method"}, "grant": {"method"}}


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
