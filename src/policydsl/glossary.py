"""Stage 2, names: a policy's glossary, documents and recourse, checked and merged into the IR.

A glossary entry names a field, param, fact, outcome, table, eligibility, summary, list, enum type, record type or
the policy itself — or a member, `OWNER.MEMBER`: an enum's label (for an inline enum, the field's name and the
label), an eligibility's condition, a record's field (by the record type or by the relation field holding it).
Entries merge in the order the files were collected — a base's and imports' first, the file's own last — clause by
clause: a variant's `en` replaces the base's `en` and keeps its `unit`. `naming` is the only reader of the result.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import ast, ir
from .diagnostics import Diagnostic, DiagnosticBag, Span, did_you_mean
from .types import BOOL, DATE, DECIMAL, DURATION, INT, MONEY, PERCENT, EnumType, ListOf, Type

if TYPE_CHECKING:  # the checker calls in here; only its tables are read
    from .semantics import _Checker, _Decls

NUMBERS = (INT, DECIMAL, MONEY, PERCENT, DURATION, DATE)
#: the clauses of a glossary entry, in canonical order (the formatter writes them so)
TERM_CLAUSES = ("zh", "en", "unit_zh", "unit_en", "actionable", "better", "serious")


# ------------------------------------------------------------------------------------------------ collecting

def collect_labels(module: ast.Module, into: "_Decls", diags: DiagnosticBag) -> None:
    """Add one file's glossary entries, documents and recourse to `into`; the same target (or document, or a
    second recourse block) twice in one file is an error."""
    targets: dict[str, ast.GlossaryEntry] = {}
    documents: dict[str, ast.DocumentDecl] = {}
    recourse: ast.RecourseDecl | None = None
    for decl in module.decls:
        if isinstance(decl, ast.GlossaryDecl):
            for entry in decl.entries:
                first = targets.get(entry.target)
                if first is not None:
                    diags.error(entry.span, f"'{entry.target}' has two glossary entries in this file",
                                "write its labels in one entry", related=((first.span, "first entry"),))
                    continue
                targets[entry.target] = entry
                into.glossary.append((entry, module.path))
        elif isinstance(decl, ast.DocumentDecl):
            first = documents.get(decl.name)
            if first is not None:
                diags.error(decl.span, f"document '{decl.name}' is declared twice in this file",
                            "give each document its own name", related=((first.span, "first declared here"),))
                continue
            documents[decl.name] = decl
            into.documents.append((decl, module.path))
        elif isinstance(decl, ast.RecourseDecl):
            if recourse is not None:
                diags.error(decl.span, "a file has only one 'recourse' block",
                            "write every route in one block", related=((recourse.span, "the first block"),))
                continue
            recourse = decl
            into.recourse.append((decl, module.path))


# ------------------------------------------------------------------------------------------------ resolving

@dataclass
class Labels:
    """What the checker hands to `ir.Policy`: terms by target, documents by name, the merged recourse."""

    glossary: dict[str, ir.Term] = field(default_factory=dict)
    documents: dict[str, ir.Document] = field(default_factory=dict)
    recourse: ir.Recourse | None = None

    def source_text(self, citation: ast.Citation | None) -> str | None:
        """The header's source as one text for readers of `Policy.source`: 《title》clause for a document."""
        if citation is None:
            return None
        doc = self.documents.get(citation.document) if citation.document else None
        return f"《{doc.title}》{citation.text}" if doc is not None else citation.text


@dataclass(frozen=True)
class _Target:
    """What a glossary target names: `kind` (field, param, fact, outcome, table, eligibility, summary, list, enum,
    record, policy, label, condition) and, for values, its type."""

    kind: str
    type: Type | None = None


_NODE_KINDS = ("fact", "outcome", "table", "eligibility")


class _Names:
    """Every name a glossary may label, read from the checked declarations."""

    def __init__(self, checker: "_Checker", policy_name: str):
        self.checker = checker
        self.names: dict[str, _Target] = {}
        for rtype in checker.records.values():
            self.names.setdefault(rtype.name, _Target("record"))
        for lname in checker.lists:
            self.names[lname] = _Target("list")
        records = [checker.subject] + [r for r in checker.records.values() if r is not checker.subject]
        for rtype in records:
            for fname, ftype in rtype.fields:
                self.names.setdefault(fname, _Target("field", ftype))
        # A field named after its enum (学历: 学历) is the field: the one label serves both, and the field may be
        # actionable; its labels are still reached as 学历.大专 through the field's enum type.
        for ename in checker.enums:
            self.names.setdefault(ename, _Target("enum"))
        for pname, param in checker.params.items():
            self.names[pname] = _Target("param", param.type)
        for nname, node in checker.nodes.items():
            kind = node.kind if node.kind != "fact" else ("outcome" if node.is_outcome else "fact")
            self.names[nname] = _Target(kind, node.type)
        for sname, summary in checker.summaries.items():
            self.names[sname] = _Target("summary", summary.type)
        self.names[policy_name] = _Target("policy")
        base = checker.decls.base_header
        if base is not None:  # a base's glossary labels the base's own name
            self.names.setdefault(base.name, _Target("policy"))

    def members(self, owner: str) -> dict[str, _Target]:
        """The members `owner.…` may name: labels of an enum, conditions of an eligibility, fields of a record."""
        found: dict[str, _Target] = {}
        target = self.names.get(owner)
        enum = self.checker.enums.get(owner)
        if enum is None and target is not None and isinstance(target.type, EnumType):
            enum = target.type
        if enum is not None:
            found.update((label, _Target("label")) for label in enum.labels)
        node = self.checker.nodes.get(owner)
        if node is not None and isinstance(node.body, ir.EligibilityBody):
            found.update((c.name, _Target("condition", BOOL)) for c in node.body.conditions)
        record = self.checker.records.get(owner)
        if record is None and target is not None and isinstance(target.type, ListOf):
            record = self.checker.records.get(target.type.element)
        if record is not None:
            found.update((fname, _Target("field", ftype)) for fname, ftype in record.fields)
        return found

    def resolve(self, entry: ast.GlossaryEntry, diags: DiagnosticBag) -> _Target | None:
        """What `entry` labels, or None with an error (did-you-mean) for a name the policy does not declare."""
        owner, member = entry.owner, entry.member
        if member is None:
            target = self.names.get(owner)
            if target is None:
                diags.error(entry.span, f"the glossary labels '{owner}', which the policy does not declare",
                            did_you_mean(owner, self.names) or "a glossary labels the policy's own names")
            return target
        if owner not in self.names:
            diags.error(entry.span, f"the glossary labels '{entry.target}', but '{owner}' is not declared",
                        did_you_mean(owner, self.names) or "write OWNER.MEMBER: an enum and its label, an "
                                                           "eligibility and its condition, a record and its field")
            return None
        members = self.members(owner)
        target = members.get(member)
        if target is None:
            what = "no labels, conditions or fields" if not members else "no member of that name"
            diags.error(entry.span, f"the glossary labels '{entry.target}', but '{owner}' has {what}",
                        did_you_mean(member, members) or (f"its members: {', '.join(members)}"
                                                          if members else None))
        return target


def resolve_labels(checker: "_Checker", policy_name: str) -> Labels:
    """The policy's terms, documents and recourse: each entry checked against what it labels, then merged."""
    diags = checker.diags
    names = _Names(checker, policy_name)
    labels = Labels()
    for entry, _origin in checker.decls.glossary:
        target = names.resolve(entry, diags)
        if target is None:
            continue
        better = _better(entry, target, diags)
        _check_flags(entry, target, diags)
        labels.glossary[entry.target] = _merged(labels.glossary.get(entry.target), entry, better)
    _add_aliases(labels.glossary, names, checker)
    for doc, _origin in checker.decls.documents:
        labels.documents[doc.name] = ir.Document(doc.name, doc.title, doc.en, doc.issuer, doc.issuer_en, doc.date,
                                                 doc.published, doc.number, doc.url, doc.assumed, doc.span)
    labels.recourse = _merged_recourse([block for block, _ in checker.decls.recourse])
    _check_citations(checker, labels.documents, diags)
    return labels


def _merged(base: ir.Term | None, entry: ast.GlossaryEntry, better: ir.Better | None) -> ir.Term:
    """`entry` over `base`, clause by clause: what the entry writes replaces, what it leaves out is kept."""
    written = {"zh": entry.zh, "en": entry.en, "unit_zh": entry.unit_zh, "unit_en": entry.unit_en,
               "better": better}
    given = {k: v for k, v in written.items() if v is not None}
    if entry.actionable:
        given["actionable"] = True
    if entry.serious:
        given["serious"] = True
    if base is None:
        return ir.Term(entry.target, span=entry.span, **given)
    return dataclasses.replace(base, span=entry.span, **given)


def _better(entry: ast.GlossaryEntry, target: _Target, diags: DiagnosticBag) -> ir.Better | None:
    """The entry's `better` as IR, checked against the type of what it labels (None, with an error, if wrong)."""
    clause = entry.better
    if clause is None:
        return None
    t = target.type
    span = clause.span if clause.span.line else entry.span
    if t is None or isinstance(t, ListOf):
        diags.error(span, f"'{entry.target}' is {_a(target.kind)}: it has no value that could be better or worse",
                    "write 'better' for facts, outcomes, tables and fields")
        return None
    if clause.direction is not None:
        if t in NUMBERS or isinstance(t, EnumType) and t.ordered:
            return ir.Better(clause.direction)
        if isinstance(t, EnumType):
            hint = f"'{t.name}' is not ordered: name the favourable label, e.g. better {t.labels[0]}"
        elif t == BOOL:
            hint = "for a yes/no value write 'better true' or 'better false' (是/否)"
        else:
            hint = "only numbers, dates and ordered enums have a higher and a lower"
        diags.error(span, f"'{entry.target}' is {t}: 'better {clause.direction}' does not apply", hint)
        return None
    value = clause.value
    if isinstance(t, EnumType) and isinstance(value, bool):  # an enum whose labels are 是 / 否
        value = {True: "是", False: "否"}[value] if {"是", "否"} & set(t.labels) else value
    if t == BOOL and isinstance(value, bool):
        return ir.Better(None, value)
    if isinstance(t, EnumType) and isinstance(value, str) and value in t.labels:
        return ir.Better(None, value)
    if isinstance(t, EnumType):
        hint = did_you_mean(str(value), t.labels) or f"labels: {', '.join(t.labels)}"
        enum = f"'{entry.target}'" if "." in t.name else f"{t.name}, the type of '{entry.target}'"
        diags.error(span, f"'{value}' is not a label of {enum}", hint)
    elif t == BOOL:
        diags.error(span, f"'{entry.target}' is bool: 'better {value}' is not a yes/no value",
                    "write 'better true' or 'better false' (是/否)")
    else:
        diags.error(span, f"'{entry.target}' is {t}: 'better {value}' is not a direction",
                    "write 'better higher' or 'better lower'" if t in NUMBERS else
                    "a text has no favourable direction")
    return None


def _check_flags(entry: ast.GlossaryEntry, target: _Target, diags: DiagnosticBag) -> None:
    """`actionable` is for input fields (what a person can change); `serious` for rules' values."""
    if entry.actionable and target.kind != "field":
        diags.error(entry.span, f"'{entry.target}' is {_a(target.kind)}, not an input field: it cannot be actionable",
                    "a person changes the inputs; mark the fields a suggestion may propose to change")
    if entry.serious and target.kind not in _NODE_KINDS:
        diags.error(entry.span, f"'{entry.target}' is {_a(target.kind)}: only an outcome (a fact, table or "
                                "eligibility) can be serious", "mark the outcome whose unfavourable value is serious")


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _add_aliases(glossary: dict[str, ir.Term], names: _Names, checker: "_Checker") -> None:
    """A member's entry answers under every name of its owner: `考核等次.优秀` written for the enum also answers
    `年度考核.优秀` for a field of that type, a related record's field under the record type and under the relation
    field holding it — and the other way round (entries the policy writes are never replaced)."""
    owners: dict[str, list[str]] = {}  # an enum's or record type's name → the names of fields etc. holding it
    for name, target in names.names.items():
        if isinstance(target.type, EnumType):
            owners.setdefault(target.type.name, []).append(name)
        elif isinstance(target.type, ListOf):
            owners.setdefault(target.type.element, []).append(name)
    for key, term in list(glossary.items()):
        if "." not in key:
            continue
        owner, member = key.split(".", 1)
        held = names.names.get(owner, _Target("")).type
        if owner in checker.enums or owner in checker.records:
            kind = owner
        elif isinstance(held, EnumType):
            kind = held.name
        elif isinstance(held, ListOf):
            kind = held.element
        else:
            continue
        for alias in [kind, *owners.get(kind, ())]:
            glossary.setdefault(f"{alias}.{member}", term)


def _merged_recourse(blocks: list[ast.RecourseDecl]) -> ir.Recourse | None:
    """The recourse blocks of the base and imports, then the file's own, merged clause by clause."""
    merged: ir.Recourse | None = None
    for block in blocks:
        given: dict[str, object] = {}
        for name in ("office", "office_en", "contact", "contact_en", "assumed"):
            if getattr(block, name) is not None:
                given[name] = getattr(block, name)
        for name in ("review", "appeal"):
            step = getattr(block, name)
            if step is not None:
                within = step.within.value if step.within is not None else None
                given[name] = ir.RecourseStep(step.text, step.en, _duration(within), step.span)
        merged = ir.Recourse(span=block.span, **given) if merged is None else dataclasses.replace(
            merged, span=block.span, **given)
    return merged


def _duration(value: tuple[int, str] | None):
    from .types import Duration
    return Duration.of(*value) if value is not None else None


# ------------------------------------------------------------------------------------------------ citations

def all_citations(decls: "_Decls"):
    """Every note of every declaration visible in the policy (header, rules, rows, conditions, documents, …)."""
    stack: list[object] = [decl for decl, _ in decls.values.values()]
    stack += [x for x, _ in decls.exceptions] + [m for m, _ in decls.maps]
    stack += [note for h in (decls.header, decls.base_header) if h is not None
              for note in (h.citation(), h.assumption()) if note is not None]
    stack += [d for d, _ in decls.documents] + [r for r, _ in decls.recourse]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Citation):
            yield item
        elif isinstance(item, tuple):
            stack.extend(item)
        elif dataclasses.is_dataclass(item) and not isinstance(item, (ast.Expr, ast.TypeRef, Span)):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))


def _check_citations(checker: "_Checker", documents: dict[str, ir.Document], diags: DiagnosticBag) -> None:
    """A `source` that names a document names one the policy (or its base, or an import) declares."""
    for citation in all_citations(checker.decls):
        if citation.document is not None and citation.document not in documents:
            hint = did_you_mean(citation.document, documents) or (
                "declare it: document NAME \"title\" { … }" if not documents else
                f"declared documents: {', '.join(documents)}; a free-text source is written in quotes")
            diags.error(citation.span, f"source cites '{citation.document}', which is not a declared document", hint)


# ------------------------------------------------------------------------------------------------ English gaps

def english_gaps(checker: "_Checker", policy_name: str, labels: Labels) -> list[Diagnostic]:
    """Warnings for a policy explained in English (`languages zh en`): each user-visible name without an English
    label and each note without English text, then one summary with the counts."""
    glossary = labels.glossary
    header = checker.decls.header or checker.decls.base_header
    found: list[Diagnostic] = []

    def missing(span: Span, what: str, name: str) -> None:
        found.append(Diagnostic(span, f"{what} '{name}' has no English label",
                                f"add to the glossary: {name}: en \"…\"", "warning"))

    if not (header is not None and header.title_en) and not _has_en(glossary, policy_name):
        missing(header.span if header else Span(checker.path, 1, 1, 1, 2), "the policy", policy_name)
    _field_gaps(checker, glossary, missing)
    for name, param in checker.params.items():
        if not _has_en(glossary, name):
            missing(param.span, "param", name)
    for name, node in checker.nodes.items():
        if not _has_en(glossary, name):
            missing(node.span, _kind_word(node), name)
        if isinstance(node.body, ir.EligibilityBody):
            for c in node.body.conditions:
                if not _has_en(glossary, f"{name}.{c.name}"):
                    missing(c.span, "condition", f"{name}.{c.name}")
    for name, summary in checker.summaries.items():
        if not _has_en(glossary, name):
            missing(summary.span, "summary", name)
    names = len(found)
    for citation in all_citations(checker.decls):
        if citation.en is None and (citation.kind == "assumed" or citation.document is not None and citation.text):
            word = "assumption" if citation.kind == "assumed" else "source"
            found.append(Diagnostic(citation.span, f"this {word} has no English text",
                                    f'add it after the Chinese: {citation.kind} … en "…"', "warning"))
    found.sort(key=lambda d: (d.span.file, d.span.line, d.span.col))
    if found:
        where = header.span if header is not None else found[0].span
        found.append(Diagnostic(where, f"the policy is explained in English but {names} name(s) and "
                                       f"{len(found) - names} note(s) have no English text",
                                "the header says 'languages … en': English pages show the Chinese where the "
                                "English is missing", "warning"))
    return found


def _kind_word(node: ir.Node) -> str:
    if node.kind == "fact":
        return "outcome" if node.is_outcome else "fact"
    return node.kind


def _has_en(glossary: dict[str, ir.Term], key: str) -> bool:
    term = glossary.get(key)
    return term is not None and bool(term.en)


def _field_gaps(checker: "_Checker", glossary: dict[str, ir.Term], missing) -> None:
    """The subject's fields and the labels of the enums they hold (each label once, where it is declared)."""
    subject = checker.subject
    decl = checker.decls.types.get(subject.name, (None,))[0] if subject is not None else None
    if not isinstance(decl, ast.RecordDecl):
        return
    seen_labels: set[tuple[str, str]] = set()
    for f in decl.fields:
        if not _has_en(glossary, f.name):
            missing(f.span, "field", f.name)
        ftype = subject.field(f.name)
        if not isinstance(ftype, EnumType):
            continue
        spans = _label_spans(checker, f, ftype)
        for label in ftype.labels:
            if (ftype.name, label) in seen_labels:
                continue
            seen_labels.add((ftype.name, label))
            if not _has_en(glossary, f"{f.name}.{label}") and not _has_en(glossary, f"{ftype.name}.{label}"):
                missing(spans.get(label, f.span), "label", f"{f.name}.{label}")


def _label_spans(checker: "_Checker", f: ast.FieldDecl, ftype: EnumType) -> dict[str, Span]:
    """Where each label of a field's enum is written: inline in the field, or in its `enum` declaration."""
    if isinstance(f.type, ast.InlineEnum):
        return {label.name: label.span for label in f.type.labels}
    decl = checker.decls.types.get(ftype.name, (None,))[0]
    if isinstance(decl, ast.EnumDecl):
        return {label.name: label.span for label in decl.labels}
    return {}
