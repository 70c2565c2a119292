"""A whole policy as SQL: the layered query that evaluates every record, the output projection, the summaries.

The evaluation query reads a relation of typed records (columns `__row`, `__key` and the subject's fields) and adds
one column per node, layer by layer: a node sits in the first layer after every node it reads, so each SELECT only
reads columns of the one below it. The last layer adds `__error`: the first failing node's message in the row
evaluator's evaluation order (its first error is the one it reports).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlglot import exp

from ... import ir
from ...graph import evaluation_order
from ...limits import FORMULA_STARTS
from ...types import BOOL, DATE, DECIMAL, DECIMAL_PLACES, DURATION, INT, MONEY, PERCENT, TEXT, EnumType, ListOf, Type
from ..row import params_in_force
from .compile import (
    DIALECTS,
    ERROR,
    KEY,
    ORDER,
    ROW,
    Compiled,
    ExprCompiler,
    Scope,
    Unsupported,
    cast,
    col,
    compile_node,
    decimal_type,
    format_text,
    node_error_column,
)
from .stages import StagedProgram, Step

RESULTS = "__results"


@dataclass(frozen=True)
class OutputColumn:
    name: str
    type: Type


class PolicyPlan:
    """One policy compiled for one as-of date and one SQL dialect."""

    def __init__(self, policy: ir.Policy, as_of: date, dialect: str = "duckdb"):
        self.policy = policy
        self.as_of = as_of
        self.dialect = DIALECTS[dialect]
        self.params = {name: pv.value for name, pv in params_in_force(policy, as_of).items()}
        self.order = evaluation_order(policy)
        self.compiler = ExprCompiler(policy, as_of, self.dialect, self.params)
        self.nodes = {}
        self.failing: list[str] = []  # nodes that can fail, in evaluation order
        self.staged = policy.across_records
        if self.staged:
            self.program = StagedProgram(self)
        else:
            for name in self.order:
                self.compile_node(name)
        self.levels = self._levels(self.order)

    def compile_node(self, name: str) -> None:
        """Compile one node into `self.nodes` (and `self.failing` if it can fail)."""
        try:
            columns, can_fail = compile_node(self.policy.nodes[name], self.compiler)
        except Unsupported as exc:
            node = self.policy.nodes[name]
            raise Unsupported(f"{node.span}: {name}: the SQL engines cannot run {exc} yet; "
                              "use --engine row") from None
        self.nodes[name] = columns
        if can_fail:
            self.failing.append(name)

    def _levels(self, names: list[str]) -> dict[str, int]:
        """The layer of each of `names`: one after the layers of the names it reads (others are already there)."""
        level: dict[str, int] = {}
        for name in names:
            node = self.policy.nodes[name]
            deps = [level[d] for d in node.reads if d in level]
            level[name] = 1 + max(deps, default=0)
        return level

    def node_layers(self, names: list[str]) -> list[list[tuple[str, exp.Expression]]]:
        """The projections adding the columns of `names` (in evaluation order), layer by layer; a node in several
        phases spreads over as many projections (each phase reads the one before)."""
        levels = self._levels(names)
        layers = []
        for level in range(1, max(levels.values(), default=0) + 1):
            at = [self.nodes[node].phases for node in names if levels[node] == level]
            for k in range(max((len(phases) for phases in at), default=0)):
                layers.append([column for phases in at if k < len(phases) for column in phases[k]])
        return layers

    # -------------------------------------------------------------------------------------------- queries
    def evaluation(self, source: exp.Expression, keep: list[str] | None = None) -> exp.Select:
        """Every node of every record of `source` (a table or subquery of typed records), and `__error`.

        `keep` limits the columns of the result to `__row`, `__key`, `__error` and those names.
        """
        if self.staged:
            return self.program.evaluation(source, self._wanted(keep))
        query: exp.Expression = exp.select(exp.Star()).from_(_as_source(source, ROW))
        for columns in self.node_layers(self.order):
            query = add_layer(query, columns)
        errors = [col(node_error_column(n)) for n in self.failing]
        error = exp.func("COALESCE", *errors) if len(errors) > 1 else (errors[0] if errors else exp.null())
        return exp.select(*self._wanted(keep), exp.alias_(cast(error, "VARCHAR"), ERROR, quoted=True)).from_(
            exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(ROW))))

    def evaluation_steps(self, source: exp.Expression, keep: list[str] | None = None
                         ) -> tuple[list[Step], exp.Select]:
        """`evaluation` as named steps (each to be computed once, in order) and a final query reading them by
        name; no steps for a policy whose rules read no other record."""
        if self.staged:
            return self.program.statements(source, self._wanted(keep))
        return [], self.evaluation(source, keep)

    def _wanted(self, keep: list[str] | None) -> list[exp.Column]:
        wanted = [col(ORDER), col(KEY)] + [col(n) for n in (keep if keep is not None else
                                                            list(self.policy.subject.field_names) + self.order)]
        fields = {n for n, _ in self.policy.subject.fields if _is_list(self.policy.subject.field(n))}
        return [w for w in wanted if w.name not in fields]

    @property
    def reads_related(self) -> bool:
        """Whether a node aggregates related records (a join: the evaluated rows may come back in another order)."""
        return any(isinstance(t, ListOf) for _, t in self.policy.subject.fields)

    def output_columns(self) -> list[OutputColumn]:
        key = self.policy.subject.key or "id"
        return [OutputColumn(key, TEXT)] + [OutputColumn(n.name, n.type) for n in self.policy.outcomes]

    def output(self, results: str | exp.Select = RESULTS, typed: bool = False, ordered: bool = True,
               csv_safe: bool = False, failed_left_out: bool = True) -> exp.Select:
        """The results file's rows: the key, then every outcome, as text (CSV) or typed (Parquet); `csv_safe`
        neutralises text cells that a spreadsheet would run as formulas. `results`: a table's name, or a query of
        evaluated records. `failed_left_out=False`: `results` holds no record whose evaluation failed (a streamed
        run stops at one), so no filter is needed."""
        cells = []
        for i, c in enumerate(self.output_columns()):
            value = col(KEY) if i == 0 else col(c.name)
            if typed or c.type in (MONEY, INT, BOOL, DATE):  # DuckDB writes these as format_value does
                cells.append(exp.alias_(_typed(value, c.type), c.name, quoted=True))
            else:  # an empty text must be an empty cell, not ""
                textual = format_text(Compiled(value), c.type)
                if csv_safe and (i == 0 or c.type == TEXT or isinstance(c.type, EnumType)):
                    textual = neutralised(textual, self.dialect.name)
                cells.append(exp.alias_(exp.func("NULLIF", textual, exp.Literal.string("")), c.name, quoted=True))
        source = exp.to_table(results).as_(ROW) if isinstance(results, str) else \
            exp.Subquery(this=results, alias=exp.TableAlias(this=exp.to_identifier(ROW)))
        q = exp.select(*cells).from_(source)
        if failed_left_out:
            q = q.where(exp.Is(this=col(ERROR), expression=exp.null()))
        return q.order_by(col(ORDER)) if ordered else q

    def output_json_lines(self, results: str = RESULTS, ordered: bool = True) -> exp.Select:
        """One JSON object per result row, as `records.write_results` writes .jsonl (money, decimals and percents as
        strings so that no digit is lost; `json.dumps` spacing)."""
        parts: list[exp.Expression] = []
        for i, c in enumerate(self.output_columns()):
            value = col(KEY) if i == 0 else col(c.name)
            if c.type in (MONEY, DECIMAL, PERCENT, DATE, DURATION):
                value = format_text(Compiled(value), c.type)
            separator = "{" if i == 0 else ", "
            parts.append(exp.Literal.string(separator + json.dumps(c.name, ensure_ascii=False) + ": "))
            parts.append(exp.func("TO_JSON", value))
        parts.append(exp.Literal.string("}"))
        line = parts[0]
        for p in parts[1:]:
            line = exp.DPipe(this=line, expression=p, safe=True)
        q = exp.select(exp.alias_(cast(line, "VARCHAR"), "line")).from_(exp.to_table(results).as_(ROW)).where(
            exp.Is(this=col(ERROR), expression=exp.null()))
        return q.order_by(col(ORDER)) if ordered else q

    def summary_columns(self) -> list[str]:
        """Fields and nodes the summaries read from each record."""
        names: set[str] = set()
        for s in self.policy.summaries.values():
            _element_names(s.expr, names)
        return [n for n in list(self.policy.subject.field_names) + self.order if n in names]

    def summary(self, name: str, computed: dict[str, object], records_table: str = RESULTS
                ) -> tuple[exp.Select, bool]:
        """SELECT value, error of one summary over `records_table` (earlier summaries given as values)."""
        query, _ = self.summary_query(name, computed, records_table)
        return query, True

    def summary_query(self, name: str, computed: dict[str, object], records_table: str
                      ) -> tuple[exp.Select, int | None]:
        """SELECT value, error of one summary, and the scale of its value (None: not a decimal)."""
        s = self.policy.summaries[name]
        compiler = ExprCompiler(self.policy, self.as_of, self.dialect, self.params, computed,
                                records_table=records_table)
        if self.staged:  # the node columns summaries read have the scales the rules gave them
            compiler.node_types = dict(self.compiler.node_types)
        c = compiler.compile(s.expr, Scope(None))
        value = c.value
        if s.type == MONEY:
            value = cast(value, decimal_type(2, True))
        elif s.type == INT:
            value = cast(value, "BIGINT")
        elif s.type in (DECIMAL, PERCENT):
            value = cast(value, decimal_type(c.scale if c.scale is not None else DECIMAL_PLACES, True))
        error = c.error if c.error is not None else exp.null()
        scale = 2 if s.type == MONEY else (c.scale if c.scale is not None else DECIMAL_PLACES) \
            if s.type in (DECIMAL, PERCENT) else None
        return exp.select(exp.alias_(value, "value"), exp.alias_(cast(error, "VARCHAR"), "error")), scale

    def sql(self, e: exp.Expression) -> str:
        """The text of a tree in this plan's dialect (for the engine to run; never built from user text)."""
        return e.sql(dialect=self.dialect.name)


def add_layer(query: exp.Expression, columns: list[tuple[str, exp.Expression]]) -> exp.Select:
    """SELECT r.*, the columns FROM (query) AS r: each new column may read every column of the layer below."""
    return exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier(ROW)),
                      *[exp.alias_(value, name, quoted=True) for name, value in columns]).from_(
        exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(ROW))))


def _as_source(source: exp.Expression, alias: str) -> exp.Expression:
    if isinstance(source, exp.Table):
        return source.as_(alias)
    return exp.Subquery(this=source, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _typed(value: exp.Expression, t: Type) -> exp.Expression:
    if t == DURATION:  # a results file holds a duration as its text ("6 个月")
        return format_text(Compiled(value), t)
    if t == MONEY:  # the row engine's Parquet types (engines/records.py PARQUET_TYPES)
        return cast(value, "DECIMAL(38, 2)")
    if t in (DECIMAL, PERCENT):
        return cast(value, f"DECIMAL(38, {DECIMAL_PLACES})")
    return value


def _is_list(t) -> bool:
    return isinstance(t, ListOf)


def _element_names(x, names: set[str]) -> None:
    """Names a summary reads from each record (ElemRef inside aggregates over `records`)."""
    if isinstance(x, ir.ElemRef):
        names.add(x.name)
    for attr in ("operand", "left", "right", "cond", "then", "otherwise", "subject", "default", "source",
                 "element", "where", "key", "obj"):
        child = getattr(x, attr, None)
        if isinstance(child, ir.IExpr):
            _element_names(child, names)
    for child in list(getattr(x, "args", ())) + list(getattr(x, "items", ())):
        _element_names(child, names)
    for _, value in getattr(x, "arms", ()):
        _element_names(value, names)


def neutralised(cell: exp.Expression, dialect: str = "spark") -> exp.Expression:
    """`limits.neutralise_cell` in SQL: a text starting like a formula gets a leading apostrophe.

    On DuckDB the first character is tested by its code point in a simple CASE: DuckDB runs `x IN (constants)` as a
    hash join against a constant table, which cost 0.3 s per million cells and let the parallel COPY reorder the
    rows (the results then had to be sorted, another 0.5 s)."""
    if dialect == "duckdb":
        point = exp.func("UNICODE", cell.copy())
        starts = exp.Case(this=point, ifs=[exp.If(this=exp.Literal.number(ord(c)), true=exp.true())
                                           for c in FORMULA_STARTS], default=exp.false())
    else:
        starts = exp.In(this=exp.Left(this=cell.copy(), expression=exp.Literal.number(1)),
                        expressions=[exp.Literal.string(c) for c in FORMULA_STARTS])
    return exp.Case(ifs=[exp.If(this=starts, true=exp.DPipe(this=exp.Literal.string("'"), expression=cell.copy(),
                                                             safe=True))], default=cell.copy())
