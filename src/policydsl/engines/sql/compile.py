"""The typed IR compiled to SQL: sqlglot syntax trees, never strings with user text pasted in.

Every expression becomes a `Compiled`: its value, and — for the few constructs that can fail on a record (a table
with no applicable row, two rows of a unique table, division by zero, a key missing from a list, the min of no
records) — an expression giving the record's error message, NULL when nothing failed. Errors follow the row
evaluator's order exactly: operands left to right, only the branch an `if` takes, every condition of an eligibility
block, and the first failing node in evaluation order is the record's error.

Numbers are exact on every dialect: int is BIGINT; decimal, percent and money are DECIMAL(38, s) where the scale
`s` is tracked statically (money fields 2, decimal and percent fields `DECIMAL_PLACES`); products keep their scale
up to `DECIMAL_PLACES` and are rounded half up beyond it; a quotient is computed on 128-bit integers and rounded
half up to `DECIMAL_PLACES` — the arithmetic `types.divide` / `types.multiply` define for the row evaluator.

Identifiers are quoted (Chinese names, keywords); literals are typed (`CAST('0.6' AS DECIMAL(38, 1))`, DATE …).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlglot import exp

from ... import ir
from ...types import (
    BOOL,
    DATE,
    DECIMAL,
    DECIMAL_PLACES,
    DURATION,
    INPUT_PLACES,
    INT,
    INT_BEYOND,
    INT_MAX,
    INT_MIN,
    MONEY,
    PERCENT,
    TEXT,
    EnumType,
    ListOf,
    Type,
)
from . import durations

DECIMAL_TYPES = (DECIMAL, MONEY, PERCENT)
ROW = "r"          # alias of the current record's relation in every layer
KEY = "__key"      # the record's key as text
ORDER = "__row"    # the record's 1-based position in its file
BY = "__by"        # a related row's link to its parent, as text
ERROR = "__error"  # the record's first error


class Unsupported(Exception):
    """A construct the SQL engine cannot run; the message names it and where it is."""


@dataclass(frozen=True)
class Compiled:
    """One compiled expression: its value, its error (None: it cannot fail), its decimal scale if it has one."""

    value: exp.Expression
    error: exp.Expression | None = None
    scale: int | None = None
    wide: bool = False  # held in 28 digits before the point (summaries, large constants), else in 18 in all


@dataclass(frozen=True)
class Dialect:
    """What differs between the SQL dialects the engine emits (sqlglot transpiles everything else)."""

    name: str            # sqlglot dialect name
    big_int: str         # a type holding 38 digits exactly
    half_even: str       # round half to even, (x, places)
    #: Whether `big_int // big_int` is exact. DuckDB's HUGEINT division is; Spark's DIV returns a BIGINT (it overflows
    #: past 19 digits), so Spark divides DECIMALs typed for an exactly rounded quotient (`decimal_quotient`).
    integer_quotient: bool = True
    #: Whether SIGN returns an exact integer (Spark's returns a DOUBLE: `sign` builds an integer CASE instead).
    integer_sign: bool = True
    #: Whether SUM of BIGINTs is exact beyond 64 bits (DuckDB sums them into a HUGEINT; Spark's sum is a BIGINT that
    #: overflows, so its elements are widened first).
    wide_int_sum: bool = True
    #: A function that stops the query with a message (for values a dialect cannot compute exactly), or None.
    raise_error: str | None = None

    def cast_big(self, e: exp.Expression) -> exp.Expression:
        return cast(e, self.big_int)

    def sign(self, e: exp.Expression) -> exp.Expression:
        """-1, 0 or 1 as an exact number."""
        if self.integer_sign:
            return exp.Sign(this=e)
        zero = exp.Literal.number(0)
        return exp.Case(ifs=[exp.If(this=exp.GT(this=e.copy(), expression=zero), true=exp.Literal.number(1)),
                             exp.If(this=exp.LT(this=e.copy(), expression=zero.copy()),
                                    true=exp.Literal.number(-1))], default=zero.copy())

    def decimal_quotient(self, a: exp.Expression, sa: int, b: exp.Expression, sb: int, what: str) -> exp.Expression:
        """round_half_up(a / b, DECIMAL_PLACES) for a dialect without exact 38-digit integer division (Spark).

        Both operands are made integers with the same factor 10^m (m = the larger scale; exact: through their
        plain text, the digits without the point), typed DECIMAL(38, 0) / DECIMAL(21, 0): for those, Spark's DECIMAL
        division (with spark.sql.decimalOperations.allowPrecisionLoss=false) has the type DECIMAL(38, 10) and rounds
        half up to it from an exact quotient at 38 places. That is the quotient `types.divide` gives whenever the
        divisor has fewer than 28 digits (a quotient of a smaller divisor cannot lie within 10^-28 of a tie). A
        divisor of 21 digits or more (10^(21-m) and beyond) stops the query with a message naming it.
        """
        m = max(sa, sb)

        def integer(v: exp.Expression, digits: int) -> exp.Expression:
            if m == 0:
                return cast(v, f"DECIMAL({digits}, 0)")
            plain = cast(cast(v, decimal_type(m, wide=True)), "VARCHAR")
            return cast(exp.func("REPLACE", plain, text("."), text("")), f"DECIMAL({digits}, 0)")

        numerator = integer(a, 38)
        denominator = exp.func("NULLIF", integer(b, 21), cast(exp.Literal.number(0), "DECIMAL(21, 0)"))
        quotient = exp.Div(this=numerator, expression=denominator)
        if self.raise_error is None:
            return quotient
        limit = cast(text(f"{Decimal(10) ** (21 - m):f}"), "DECIMAL(38, 0)")
        too_big = exp.GTE(this=exp.Abs(this=b.copy()), expression=limit)
        message = text(f"{what}: the {self.name} engine cannot divide exactly by a divisor of "
                       f"{Decimal(10) ** (21 - m):f} or more; use --engine duckdb or row")
        return exp.Case(ifs=[exp.If(this=too_big, true=exp.func(self.raise_error, message))], default=quotient)


DUCKDB = Dialect("duckdb", "HUGEINT", "ROUND_EVEN")
SPARK = Dialect("spark", "DECIMAL(38, 0)", "BROUND", integer_quotient=False, integer_sign=False, wide_int_sum=False,
                raise_error="RAISE_ERROR")
DIALECTS = {"duckdb": DUCKDB, "spark": SPARK}


# ------------------------------------------------------------------------------------------------ literals

def cast(e: exp.Expression, to: str) -> exp.Cast:
    """CAST(e AS to), always: sqlglot's own `exp.cast` drops a cast between two DECIMAL scales as redundant."""
    return exp.Cast(this=e, to=exp.DataType.build(to))


def col(name: str, table: str | None = ROW) -> exp.Column:
    """A quoted column reference (names are the drafters' own: Chinese, with spaces, or SQL keywords)."""
    return exp.column(exp.to_identifier(name, quoted=True), table=exp.to_identifier(table) if table else None)


def text(value: str) -> exp.Expression:
    return exp.Literal.string(value)


def big(value: int, dialect: Dialect) -> exp.Expression:
    return dialect.cast_big(exp.Literal.number(str(value)))


INTEGER_DIGITS = 38 - DECIMAL_PLACES
NARROW = 18  # digits of a decimal held in 64 bits
NARROW_PLACES = 6  # the most places a 64-bit decimal keeps (12 digits before the point)


def decimal_type(scale: int, wide: bool = False) -> str:
    """A decimal of `scale` places: 18 digits in all (64-bit arithmetic, many times faster than 128-bit rounding
    casts), or `wide`, 28 digits before the point. Two such types always have a common type that keeps both scales
    (DuckDB would cut DECIMAL(38, 1) and DECIMAL(38, 0) to scale 0). A value beyond its type stops the run with a
    message naming `--engine row`, never a wrong number."""
    if wide or scale > NARROW_PLACES:  # 18 digits leave too few before the point for finer values
        return f"DECIMAL({INTEGER_DIGITS + scale}, {scale})"
    return f"DECIMAL({NARROW}, {scale})"


def as_scale(c: "Compiled", scale: int | None, wide: bool | None = None) -> exp.Expression:
    """The value cast to `scale` places (values that are not decimals are left alone)."""
    if scale is None or c.scale is None:
        return c.value
    return cast(c.value, decimal_type(scale, c.wide if wide is None else wide))


def scale_of(value: Decimal) -> int:
    return max(0, -value.as_tuple().exponent) if value.is_finite() else 0


def literal(value: object, type_: Type) -> Compiled:
    """A typed literal for a runtime value of the language."""
    if isinstance(value, bool) or type_ == BOOL:
        return Compiled(exp.true() if value else exp.false())
    if type_ in DECIMAL_TYPES or isinstance(value, Decimal):
        d = Decimal(value)
        s = scale_of(d)
        if s > DECIMAL_PLACES:
            raise Unsupported(f"the decimal {d} has more than {DECIMAL_PLACES} places")
        wide = d.is_finite() and d != 0 and d.adjusted() + 1 > NARROW - s
        return Compiled(cast(text(f"{d:f}"), decimal_type(s, wide)), scale=s, wide=wide)
    if type_ == INT or isinstance(value, int):
        return Compiled(cast(exp.Literal.number(str(int(value))), "BIGINT"))
    if type_ == DATE or isinstance(value, date):
        return Compiled(cast(text(value.isoformat()), "DATE"))
    if type_ == DURATION:
        return Compiled(durations.literal(value))
    return Compiled(text(str(value)))


def first_error(*errors: exp.Expression | None) -> exp.Expression | None:
    """The first non-NULL of several error expressions (None when none can fail)."""
    present = [e for e in errors if e is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else exp.func("COALESCE", *present)


def when(cond: exp.Expression, then: exp.Expression | None, otherwise: exp.Expression | None = None
         ) -> exp.Expression | None:
    """CASE WHEN cond THEN then ELSE otherwise END, skipping what cannot fail."""
    if then is None and otherwise is None:
        return None
    case = exp.Case(ifs=[exp.If(this=cond, true=then if then is not None else exp.null())])
    return case.else_(otherwise) if otherwise is not None else case


def format_text(c: Compiled, type_: Type) -> exp.Expression:
    """The value as `types.format_value` writes it: money 2 places, percent with %, decimals without trailing 0s."""
    v = c.value
    if type_ == MONEY:
        return cast(cast(v, decimal_type(2)), "VARCHAR")
    if type_ == DECIMAL:
        return _shortest(cast(v, "VARCHAR"))
    if type_ == PERCENT:
        hundred = exp.Mul(this=v, expression=literal(Decimal(100), DECIMAL).value)
        return exp.DPipe(this=_shortest(cast(hundred, "VARCHAR")), expression=text("%"), safe=True)
    if type_ == BOOL:
        return exp.Case(ifs=[exp.If(this=v, true=text("true"))], default=text("false"))
    if type_ in (INT, DATE):
        return cast(v, "VARCHAR")
    if type_ == DURATION:
        return durations.text(v)
    return v


def _shortest(s: exp.Expression) -> exp.Expression:
    trimmed = exp.func("RTRIM", exp.func("RTRIM", s, text("0")), text("."))
    has_point = exp.GT(this=exp.func("STRPOS", s, text(".")), expression=exp.Literal.number(0))
    return exp.Case(ifs=[exp.If(this=has_point, true=trimmed)], default=s)


# ------------------------------------------------------------------------------------------------ scopes

@dataclass(frozen=True)
class Scope:
    """Where names resolve while compiling one expression.

    `element` is the alias of the current aggregate element's relation; `element_row` replaces it by a constant
    row (a row of an external list, unrolled at compile time).
    """

    node: str | None                # the node being compiled (error messages start with it; None in summaries)
    element: str | None = None
    element_row: dict | None = None
    element_type: object = None     # RecordType of the element, for typing constant rows
    depth: int = 0

    def message(self, what: str) -> str:
        """An error message as the row evaluator words it: the node's name first (summaries have none)."""
        return f"{self.node}: {what}" if self.node is not None else what


class ExprCompiler:
    """Compiles IR expressions of one policy, with params resolved at one as-of date."""

    def __init__(self, policy: ir.Policy, as_of: date, dialect: Dialect, params: dict[str, object],
                 summaries: dict[str, object] | None = None, relation_table=None, records_table: str = "__results"):
        self.policy = policy
        self.as_of = as_of
        self.dialect = dialect
        self.params = params
        self._bounds_of_nodes: dict[str, tuple[int, int]] = {}  # see _node_bounds
        self.summaries = summaries or {}
        self.records_table = records_table  # the evaluated records summaries aggregate over
        self.node_types: dict[str, tuple[int | None, bool]] = {}  # node → (scale, wide) of its column
        self.across_types: dict[int, tuple[int | None, bool]] = {}  # Across index → (scale, wide) of its column
        # field name → table name holding its related rows (with columns BY and the element's fields)
        self.relation_table = relation_table or (lambda name: f"__rel_{name}")

    def compile(self, x: ir.IExpr, scope: Scope) -> Compiled:
        method = getattr(self, "_c_" + type(x).__name__, None)
        if method is None:
            raise Unsupported(f"{type(x).__name__} expressions")
        c = method(x, scope)
        if c.scale is None and x.type in DECIMAL_TYPES:
            c = replace(c, scale=DECIMAL_PLACES)
        return c

    # -------------------------------------------------------------------------------------------- leaves
    def _c_Const(self, x: ir.Const, scope):
        return literal(x.value, x.type)

    def _c_AsOf(self, x, scope):
        return literal(self.as_of, DATE)

    def _c_Ref(self, x: ir.Ref, scope):
        if x.kind == "param":
            return literal(self.params[x.name], x.type)
        if x.kind == "summary":
            value = self.summaries[x.name]
            if isinstance(value, Compiled):  # computed in the same query (a rule reads it): its subquery
                return replace(value, value=value.value.copy())
            return literal(value, x.type)
        if x.kind == "list":
            raise Unsupported(f"the list {x.name} used as a value")
        return self._column(x.name, x.type, ROW)

    def _c_Across(self, x: ir.Across, scope):
        """A value across records: the column its layers computed (`plan.StagedPlan`), before this node's pass."""
        if x.index not in self.across_types:
            raise Unsupported(f"{x.func}(…) across records here")
        scale, wide = self.across_types[x.index]
        return Compiled(col(f"__across_{x.index}", ROW), scale=scale, wide=wide)

    def _column(self, name: str, t: Type, table: str) -> Compiled:
        """A field (money 2 places, decimal and percent INPUT_PLACES) or a node's column (its own scale)."""
        if name in self.node_types:
            scale, wide = self.node_types[name]
            return Compiled(col(name, table), scale=scale, wide=wide)
        if t == MONEY:
            return Compiled(col(name, table), scale=2)
        return Compiled(col(name, table), scale=INPUT_PLACES if t in DECIMAL_TYPES else None)

    def _c_ElemRef(self, x: ir.ElemRef, scope: Scope):
        if scope.element_row is not None:
            return literal(scope.element_row[x.name], x.type)
        if scope.element is None:
            raise Unsupported(f"'{x.name}' outside an aggregate")
        return self._column(x.name, x.type, scope.element)

    # -------------------------------------------------------------------------------------------- operators
    def _c_UnaryOp(self, x: ir.UnaryOp, scope):
        c = self.compile(x.operand, scope)
        if x.op == "not":
            return Compiled(exp.Not(this=exp.Paren(this=c.value)), c.error)
        if x.type == DURATION:
            return Compiled(durations.negate(c.value), c.error)
        return Compiled(exp.Neg(this=exp.Paren(this=c.value)), c.error, c.scale)

    def _c_BinaryOp(self, x: ir.BinaryOp, scope):
        op = x.op
        a = self.compile(x.left, scope)
        if op in ("in", "notin"):
            return self._membership(x, a, scope)
        b = self.compile(x.right, scope)
        if op in ("and", "or"):
            # The row evaluator stops early: the right side's error only happens when it is evaluated.
            right_runs = a.value if op == "and" else exp.Not(this=exp.Paren(this=a.value))
            cls = exp.And if op == "and" else exp.Or
            return Compiled(exp.Paren(this=cls(this=a.value, expression=b.value)),
                            first_error(a.error, when(right_runs, b.error)))
        error = first_error(a.error, b.error)
        if x.operand_type == DURATION and op in ("lt", "le", "gt", "ge"):
            return self._order_durations(op, a, b, scope, error)
        if op in ("eq", "ne", "lt", "le", "gt", "ge"):
            return Compiled(self._compare(op, a.value, b.value, x.operand_type), error)
        if x.type == DATE:  # date ± duration
            return self._shift_date(a, b, 1 if op == "add" else -1, scope, error)
        if x.type == DURATION:
            if x.left.type == DURATION and x.right.type == DURATION:
                return Compiled(durations.combine(a.value, b.value, 1 if op == "add" else -1), error)
            d, n = (a, b) if x.left.type == DURATION else (b, a)
            return Compiled(durations.scale(d.value, n.value), error)
        if x.type == TEXT:
            return Compiled(exp.DPipe(this=a.value, expression=b.value, safe=True), error)
        if op == "div":
            return self._divide(a, b, x, scope, error)
        if x.type == INT:
            cls = {"add": exp.Add, "sub": exp.Sub, "mul": exp.Mul}[op]
            if not (a.wide or b.wide) and _within_int(self._int_bounds(x)):  # cannot leave int's range: BIGINT
                return Compiled(exp.Paren(this=cls(this=a.value, expression=b.value)), error)
            # else exact in 38 digits; the node's value is then checked against int's range (compile_node)
            left, right = (c.value if c.wide else self.dialect.cast_big(c.value) for c in (a, b))
            return Compiled(exp.Paren(this=cls(this=left, expression=right)), error, wide=True)
        sa, sb = a.scale or 0, b.scale or 0
        wide = a.wide or b.wide
        if op in ("add", "sub"):
            cls = exp.Add if op == "add" else exp.Sub
            s = max(sa, sb)
            return Compiled(cast(cls(this=a.value, expression=b.value), decimal_type(s, wide)), error, s, wide)
        s = min(sa + sb, DECIMAL_PLACES)  # a cast to fewer places rounds half up, as `types.multiply` does
        if sa + sb > NARROW_PLACES:  # a product this fine is wide: multiply in 38 digits, not in 64 bits
            wide = True
        left, right = (as_scale(c, c.scale, True) if wide else c.value for c in (a, b))
        return Compiled(cast(exp.Mul(this=left, expression=right), decimal_type(s, wide)), error, s, wide)

    def _int_bounds(self, x: ir.IExpr) -> tuple[int, int] | None:
        """Bounds of an int expression, None when not known: every int field and rule value lies within int's
        range (bad records and failed rules see to it), constants and params are known, and + − × min max if /
        match follow from their operands. An operation whose bounds lie within the range needs no 38-digit form."""
        if isinstance(x, ir.Const) and isinstance(x.value, int) and not isinstance(x.value, bool):
            return x.value, x.value
        if isinstance(x, ir.Ref):
            value = self.params.get(x.name) if x.kind == "param" else None
            if isinstance(value, int) and not isinstance(value, bool):
                return value, value
            if x.kind == "node" and x.type == INT:
                return self._node_bounds(x.name)
            return (INT_MIN, INT_MAX) if x.type == INT and x.kind == "field" else None
        if isinstance(x, ir.BinaryOp) and x.op in ("add", "sub", "mul") and x.type == INT:
            a, b = self._int_bounds(x.left), self._int_bounds(x.right)
            if a is None or b is None or not (_within_int(a) and _within_int(b)):
                return None
            if x.op == "add":
                return a[0] + b[0], a[1] + b[1]
            if x.op == "sub":
                return a[0] - b[1], a[1] - b[0]
            corners = [i * j for i in a for j in b]
            return min(corners), max(corners)
        if isinstance(x, ir.Builtin) and x.func in ("min", "max") and x.args:
            parts = [self._int_bounds(arg) for arg in x.args]
            if any(part is None for part in parts):
                return None
            pick = min if x.func == "min" else max
            return pick(lo for lo, _ in parts), pick(hi for _, hi in parts)
        branches = [x.then, x.otherwise] if isinstance(x, ir.If) else (
            [value for _, value in x.arms] + ([x.default] if x.default is not None else [])
            if isinstance(x, ir.Match) else None)
        if branches:
            parts = [self._int_bounds(branch) for branch in branches]
            if any(part is None for part in parts):
                return None
            return min(lo for lo, _ in parts), max(hi for _, hi in parts)
        return None

    def _node_bounds(self, name: str) -> tuple[int, int]:
        """Bounds of an int rule's value: its expression's (a table's: its rows'), within int's range."""
        known = self._bounds_of_nodes.get(name)
        if known is None:
            body = self.policy.nodes[name].body
            values = [row.value for row in body.rows] if isinstance(body, ir.TableBody) else [body]
            parts = [self._int_bounds(v) if isinstance(v, ir.IExpr) else None for v in values]
            known = (INT_MIN, INT_MAX)
            if parts and all(_within_int(part) for part in parts):
                known = (min(lo for lo, _ in parts), max(hi for _, hi in parts))
            self._bounds_of_nodes[name] = known
        return known

    def _order_durations(self, op: str, a: Compiled, b: Compiled, scope: Scope, error) -> Compiled:
        """Durations order by (months, days); one that mixes both cannot be ordered (an error, as in Python)."""
        def mixed(d: Compiled) -> exp.Expression:
            message = exp.DPipe(this=exp.DPipe(this=text(scope.message("cannot order the duration ")),
                                               expression=durations.text(d.value), safe=True),
                                expression=text(": it mixes months and days"), safe=True)
            return when(durations.mixes(d.value), message)
        left, right = (a, b) if op in ("lt", "le") else (b, a)
        value = durations.less(left.value, right.value, or_equal=op in ("le", "ge"))
        return Compiled(value, first_error(error, mixed(a), mixed(b)))

    def _compare(self, op: str, a: exp.Expression, b: exp.Expression, t: Type) -> exp.Expression:
        if isinstance(t, EnumType) and op not in ("eq", "ne"):
            a, b = self._rank(a, t), self._rank(b, t)
        cls = {"eq": exp.EQ, "ne": exp.NEQ, "lt": exp.LT, "le": exp.LTE, "gt": exp.GT, "ge": exp.GTE}[op]
        return exp.Paren(this=cls(this=a, expression=b))

    @staticmethod
    def _rank(value: exp.Expression, t: EnumType) -> exp.Expression:
        return exp.Case(this=value, ifs=[exp.If(this=text(label), true=exp.Literal.number(i))
                                         for i, label in enumerate(t.labels)])

    def _shift_date(self, a: Compiled, b: Compiled, sign: int, scope: Scope, error) -> Compiled:
        """date ± duration; a result beyond the year 9999 (or before 1) fails the record, as on the row engine."""
        shifted = durations.shift(a.value, b.value, sign)
        year = exp.Year(this=shifted.copy())
        beyond = exp.or_(exp.GT(this=year, expression=exp.Literal.number(9999)),
                         exp.LT(this=year.copy(), expression=exp.Literal.number(1)))
        words = [text(scope.message("")), cast(a.value.copy(), "VARCHAR"), text(" + " if sign > 0 else " - "),
                 durations.text(b.value.copy()), text(" is beyond the calendar (years 1 to 9999)")]
        message = words[0]
        for w in words[1:]:
            message = exp.DPipe(this=message, expression=w, safe=True)
        return Compiled(shifted, first_error(error, when(beyond, message)))

    def _divide(self, a: Compiled, b: Compiled, x: ir.BinaryOp, scope: Scope, error) -> Compiled:
        """round_half_up(a / b, DECIMAL_PLACES) on 38-digit integers: exact, like `types.divide`."""
        d = self.dialect
        sa, sb = a.scale or 0, b.scale or 0
        wide = a.wide or b.wide
        zero = exp.EQ(this=b.value, expression=literal(0, INT).value)
        if not d.integer_quotient:
            if DECIMAL_PLACES + sb - sa < 0:
                raise Unsupported("a division whose dividend has more places than the quotient keeps")
            quotient = d.decimal_quotient(a.value, sa, b.value, sb, scope.message(f"division ({x.span})"))
            return Compiled(cast(quotient, decimal_type(DECIMAL_PLACES, wide)),
                            first_error(error, when(zero, text(scope.message("division by zero")))), DECIMAL_PLACES,
                            wide)
        numerator = self._unscaled(a.value, sa)
        denominator = exp.func("NULLIF", self._unscaled(b.value, sb), big(0, d))
        shift = DECIMAL_PLACES + sb - sa
        if shift >= 0:
            numerator = exp.Mul(this=numerator, expression=big(10 ** shift, d))
        else:
            raise Unsupported("a division whose dividend has more places than the quotient keeps")
        two = big(2, d)
        magnitude = exp.IntDiv(
            this=exp.Paren(this=exp.Add(this=exp.Mul(this=two, expression=exp.Abs(this=numerator)),
                                        expression=exp.Abs(this=denominator))),
            expression=exp.Paren(this=exp.Mul(this=two, expression=exp.Abs(this=denominator))))
        signed = exp.Mul(this=exp.Mul(this=d.cast_big(exp.Sign(this=numerator)),
                                      expression=d.cast_big(exp.Sign(this=denominator))),
                         expression=exp.Paren(this=magnitude))
        quotient = exp.Mul(this=cast(signed, decimal_type(0, True)),
                           expression=cast(text(f"{Decimal(1).scaleb(-DECIMAL_PLACES):f}"),
                                               decimal_type(DECIMAL_PLACES)))
        return Compiled(cast(quotient, decimal_type(DECIMAL_PLACES, wide)),
                        first_error(error, when(zero, text(scope.message("division by zero")))), DECIMAL_PLACES, wide)

    def _unscaled(self, value: exp.Expression, scale: int) -> exp.Expression:
        """The integer 10^scale × value (exact: value has at most `scale` places)."""
        if scale:
            value = exp.Mul(this=value, expression=big(10 ** scale, self.dialect))
        return self.dialect.cast_big(value)

    def _membership(self, x: ir.BinaryOp, a: Compiled, scope: Scope) -> Compiled:
        negate = x.op == "notin"
        if isinstance(x.right, ir.ListItems):
            items = [self.compile(i, scope) for i in x.right.items]
            values, error = [i.value for i in items], first_error(a.error, *(i.error for i in items))
        else:
            lst = self.policy.lists[x.right.name]
            key = lst.row_type.key
            values = [literal(row[key], lst.row_type.field(key)).value for row in lst.rows]
            error = a.error
        if not values:
            return Compiled(exp.true() if negate else exp.false(), error)
        # parenthesised either way: `b != x IN (…)` parses as `(b != x) IN (…)` on Spark
        test = exp.In(this=a.value, expressions=values)
        return Compiled(exp.Paren(this=exp.Not(this=test) if negate else test), error)

    # -------------------------------------------------------------------------------------------- branches
    def _c_If(self, x: ir.If, scope):
        c, t, o = (self.compile(p, scope) for p in (x.cond, x.then, x.otherwise))
        s, wide = _max_scale(t, o), t.wide or o.wide
        value = exp.Case(ifs=[exp.If(this=c.value, true=as_scale(t, s, wide))], default=as_scale(o, s, wide))
        branch_error = when(c.value, t.error, o.error) if (t.error or o.error) else None
        return Compiled(value, first_error(c.error, branch_error), s, wide)

    def _c_Match(self, x: ir.Match, scope):
        subject = self.compile(x.subject, scope)
        seen, ifs, errs = set(), [], []
        arms = []
        for labels, value in x.arms:
            fresh = [label for label in labels if label not in seen]  # the first arm naming a label wins
            seen.update(fresh)
            if fresh:
                arms.append((fresh, self.compile(value, scope)))
        default = self.compile(x.default, scope) if x.default is not None else None
        s = _max_scale(*[c for _, c in arms], default)
        wide = any(c.wide for _, c in arms) or bool(default and default.wide)
        for labels, c in arms:
            hit = exp.In(this=subject.value, expressions=[text(label) for label in labels])
            ifs.append(exp.If(this=hit, true=as_scale(c, s, wide)))
            errs.append((hit, c.error))
        value = exp.Case(ifs=ifs, default=as_scale(default, s, wide) if default else None)
        branch_error = None
        if any(e for _, e in errs) or (default and default.error):
            branch_error = exp.Case(ifs=[exp.If(this=h, true=e if e is not None else exp.null()) for h, e in errs],
                                    default=default.error if default else None)
        return Compiled(value, first_error(subject.error, branch_error), s, wide)

    # -------------------------------------------------------------------------------------------- builtins
    def _c_Builtin(self, x: ir.Builtin, scope):
        f = x.func
        if f == "round":
            return self._round(x, scope)
        args = [self.compile(a, scope) for a in x.args]
        error = first_error(*(a.error for a in args))
        vals = [a.value for a in args]
        if f in ("min", "max", "clamp"):
            s, wide = _max_scale(*args), any(a.wide for a in args)
            vals = [cast(a.value, decimal_type(s, wide)) if s is not None else a.value for a in args]
            if f == "clamp":
                return Compiled(exp.func("LEAST", exp.func("GREATEST", vals[0], vals[1]), vals[2]), error, s, wide)
            return Compiled(exp.func("LEAST" if f == "min" else "GREATEST", *vals), error, s, wide)
        if f == "abs":
            return Compiled(exp.Abs(this=vals[0]), error, args[0].scale, args[0].wide)
        if f in ("floor", "ceil"):
            if x.args[0].type == INT:
                return Compiled(vals[0], error)
            fn = exp.Floor if f == "floor" else exp.Ceil
            return Compiled(cast(fn(this=vals[0]), "BIGINT"), error)
        if f == "text":
            return Compiled(format_text(args[0], x.args[0].type), error)
        if f in ("present", "absent"):  # an optional field is NULL when the record has none
            test = exp.Is(this=vals[0], expression=exp.null())
            return Compiled(exp.Not(this=test) if f == "present" else test, error)
        if f in ("percent", "decimal"):  # the same number under another type
            if x.args[0].type == INT:
                return Compiled(cast(vals[0], decimal_type(0, True)), error, 0, True)
            return Compiled(vals[0], error, args[0].scale, args[0].wide)
        return Compiled(self._date_function(f, vals), error)

    def _round(self, x: ir.Builtin, scope):
        arg = self.compile(x.args[0], scope)
        places = int(x.args[1].value)
        mode = x.mode or "half_up"
        s = arg.scale or 0
        v = arg.value
        if places < 0:  # to tens, hundreds …: round a tenth, hundredth … of the value to a whole, scale back
            tenth = literal(Decimal(1).scaleb(places), DECIMAL)
            shifted = cast(exp.Mul(this=v, expression=tenth.value), decimal_type(s - places, True))
            whole = self._round_to(shifted, 0, mode, True)
            v = cast(exp.Mul(this=whole, expression=literal(10 ** -places, INT).value), decimal_type(0, True))
            s = places = 0
        elif s > places:
            v = self._round_to(v, places, mode, arg.wide)
        if x.type == INT:
            return Compiled(cast(v, "BIGINT"), arg.error)
        return Compiled(v, arg.error, min(s, places) if s else 0, arg.wide)

    def _round_to(self, v: exp.Expression, places: int, mode: str, wide: bool) -> exp.Expression:
        if mode == "half_up":  # CAST rounds half away from zero on DuckDB and Spark alike
            return cast(v, decimal_type(places, wide))
        if mode == "half_even":
            return cast(exp.func(self.dialect.half_even, v, exp.Literal.number(places)), decimal_type(places, wide))
        factor = literal(Decimal(1).scaleb(places), DECIMAL).value
        unit = literal(Decimal(1).scaleb(-places), DECIMAL).value
        shifted = exp.Mul(this=v, expression=factor)
        if mode == "floor":
            whole = exp.Floor(this=shifted)
        elif mode == "ceiling":
            whole = exp.Ceil(this=shifted)
        else:  # down: toward zero; up: away from zero
            fn = exp.Floor if mode == "down" else exp.Ceil
            whole = exp.Mul(this=self.dialect.sign(v), expression=fn(this=exp.Abs(this=shifted)))
        return cast(exp.Mul(this=cast(whole, decimal_type(0, True)), expression=unit), decimal_type(places, wide))

    def _date_function(self, f: str, a: list[exp.Expression]) -> exp.Expression:
        if f in ("year", "month"):
            return cast((exp.Year if f == "year" else exp.Month)(this=a[0]), "BIGINT")
        if f == "quarter":
            return self._quarter(a[0])
        if f == "days_between":
            return cast(exp.DateDiff(this=a[1], expression=a[0], unit=exp.var("DAY")), "BIGINT")
        if f == "months_between":
            return self._whole_months(a[0], a[1])
        if f == "years_between":
            return exp.IntDiv(this=self._whole_months(a[0], a[1]), expression=literal(12, INT).value)
        if f == "same_year":  # parenthesised: `ok == same_year(a, b)` must not read as a chained comparison
            return exp.Paren(this=exp.EQ(this=exp.Year(this=a[0]), expression=exp.Year(this=a[1])))
        if f == "same_month":
            return exp.Paren(this=exp.And(
                this=exp.EQ(this=exp.Year(this=a[0]), expression=exp.Year(this=a[1])),
                expression=exp.EQ(this=exp.Month(this=a[0]), expression=exp.Month(this=a[1]))))
        if f == "same_quarter":
            return exp.Paren(this=exp.And(
                this=exp.EQ(this=exp.Year(this=a[0]), expression=exp.Year(this=a[1])),
                expression=exp.EQ(this=self._quarter(a[0]), expression=self._quarter(a[1]))))
        raise Unsupported(f"the function {f}")

    @staticmethod
    def _quarter(d: exp.Expression) -> exp.Expression:
        month = cast(exp.Month(this=d), "BIGINT")
        return exp.Add(this=exp.IntDiv(this=exp.Paren(this=exp.Sub(this=month, expression=exp.Literal.number(1))),
                                       expression=exp.Literal.number(3)), expression=exp.Literal.number(1))

    @staticmethod
    def _whole_months(a: exp.Expression, b: exp.Expression) -> exp.Expression:
        """Completed months from a to b, as `row.whole_months` counts them."""
        def part(fn, d):
            return cast(fn(this=d), "BIGINT")
        months = exp.Paren(this=exp.Add(
            this=exp.Mul(this=exp.Paren(this=exp.Sub(this=part(exp.Year, b), expression=part(exp.Year, a))),
                         expression=exp.Literal.number(12)),
            expression=exp.Sub(this=part(exp.Month, b), expression=part(exp.Month, a))))
        one = exp.Literal.number(1)
        zero = exp.Literal.number(0)
        return exp.Case(ifs=[
            exp.If(this=exp.And(this=exp.GT(this=months, expression=zero),
                                expression=exp.LT(this=part(exp.Day, b), expression=part(exp.Day, a))),
                   true=exp.Sub(this=months, expression=one)),
            exp.If(this=exp.And(this=exp.LT(this=months, expression=zero),
                                expression=exp.GT(this=part(exp.Day, b), expression=part(exp.Day, a))),
                   true=exp.Add(this=months, expression=one)),
        ], default=months)

    # -------------------------------------------------------------------------------------------- lists
    def _c_ListItems(self, x, scope):
        raise Unsupported("a list of values outside 'in'")

    def _c_GetField(self, x: ir.GetField, scope):
        if not isinstance(x.obj, ir.Lookup):
            raise Unsupported("a field of a nested record")
        lookup = x.obj
        lst = self.policy.lists[lookup.list_name]
        key = self.compile(lookup.key, scope)
        key_name = lst.row_type.key
        key_type = lst.row_type.field(key_name)
        field_type = lst.row_type.field(x.name)
        values = [literal(row[x.name], field_type) for row in lst.rows]
        scale, wide = _max_scale(*values), any(v.wide for v in values)
        ifs = [exp.If(this=exp.EQ(this=key.value, expression=literal(row[key_name], key_type).value),
                      true=as_scale(v, scale, wide)) for row, v in zip(lst.rows, values)]
        value = exp.Case(ifs=ifs) if ifs else exp.null()
        keys = [literal(row[key_name], key_type).value for row in lst.rows]
        missing = exp.Not(this=exp.In(this=key.value, expressions=keys)) if keys else exp.true()
        message = exp.DPipe(this=exp.DPipe(this=text("'"), expression=format_text(key, lookup.key.type), safe=True),
                            expression=text(f"' is not in list {lst.name}"), safe=True)
        if scope.node is not None:
            message = exp.DPipe(this=text(f"{scope.node}: "), expression=message, safe=True)
        error = first_error(key.error, when(missing, message))
        return Compiled(value, error, scale, wide)

    def _c_Lookup(self, x, scope):
        raise Unsupported(f"a whole row of the list {x.list_name} (read one of its fields)")

    # -------------------------------------------------------------------------------------------- aggregates
    def _c_Aggregate(self, x: ir.Aggregate, scope: Scope):
        src = x.source
        if isinstance(src, ir.Ref) and src.kind == "list":
            return self._unrolled(x, self.policy.lists[src.name], scope)
        if isinstance(src, ir.RecordsRef):
            return self._over_table(x, exp.to_table(self.records_table), None, scope)
        if isinstance(src, ir.Ref) and src.kind == "field" and isinstance(src.type, ListOf):
            # `items` is the record's relation even inside another aggregate: link to the record's own key
            link = exp.EQ(this=col(BY, self._alias(scope)), expression=col(KEY, ROW))
            return self._over_table(x, exp.to_table(self.relation_table(src.name)), link, scope)
        raise Unsupported("an aggregate over this collection")

    @staticmethod
    def _alias(scope: Scope) -> str:
        return f"e{scope.depth + 1}"

    def _over_table(self, x: ir.Aggregate, table: exp.Table, link: exp.Expression | None, scope: Scope):
        """An aggregate over rows of a table: a (correlated) scalar subquery."""
        alias = self._alias(scope)
        inner = Scope(scope.node, element=alias, depth=scope.depth + 1)
        where = self.compile(x.where, inner) if x.where is not None else None
        elem = self.compile(x.element, inner) if x.element is not None else None
        conditions = [c for c in (link, where.value if where else None) if c is not None]
        if isinstance(x.source, ir.RecordsRef):
            conditions.insert(0, exp.Is(this=col(ERROR, alias), expression=exp.null()))
        source = table.as_(alias)

        def select(expression: exp.Expression, extra: list | None = None, order=None) -> exp.Expression:
            expression, record = self._outer_values(expression, scope) if order is None else (expression, None)
            q = exp.select(expression).from_(source.copy())
            if record is not None:
                q = q.join(record)
            conds = conditions + (extra or [])
            if conds:
                q = q.where(exp.and_(*[c.copy() for c in conds]))
            if order is not None:
                q = q.order_by(order).limit(1)
            return exp.Subquery(this=q)

        f = x.func
        ev = elem.value if elem else None
        if ev is not None:  # tie the element to the rows aggregated, even when it reads only the record's values
            ev = exp.Case(ifs=[exp.If(this=exp.Not(this=exp.Is(this=col(ORDER, alias), expression=exp.null())),
                                      true=ev)])
        # a total over all records (a summary) may be large: 28 digits; over one record's related rows, 18
        wide = isinstance(x.source, ir.RecordsRef) or bool(elem and elem.wide)
        if f == "count":
            value = cast(select(exp.Count(this=exp.Star())), "BIGINT")
        elif f == "distinct":
            value = cast(select(exp.Count(this=exp.Distinct(expressions=[ev]))), "BIGINT")
        elif f == "any":
            value = exp.func("COALESCE", select(exp.func("BOOL_OR", ev)), exp.false())
        elif f == "all":
            value = exp.func("COALESCE", select(exp.func("BOOL_AND", ev)), exp.true())
        elif f == "sum":
            widen = x.type == INT and not self.dialect.wide_int_sum
            total = select(exp.Sum(this=self.dialect.cast_big(ev) if widen else ev))
            if x.type == INT:  # a total beyond int's range fails the record (compile_node), not the query
                value = self.dialect.cast_big(exp.func("COALESCE", total, exp.Literal.number(0)))
            else:
                value = cast(exp.func("COALESCE", total, literal(Decimal(0), DECIMAL).value),
                                 decimal_type(elem.scale if elem.scale is not None else DECIMAL_PLACES, wide))
        else:
            value = select((exp.Min if f == "min" else exp.Max)(this=ev))
            if elem.scale is not None:
                value = cast(value, decimal_type(elem.scale, wide))
        errors = []
        order = col(ORDER, alias)
        if where is not None and where.error is not None:  # the row evaluator filters every element first
            errors.append(self._first_error_subquery(source, link, where.error, order,
                                                     isinstance(x.source, ir.RecordsRef), alias))
        if elem is not None and elem.error is not None:
            failed = exp.Not(this=exp.Is(this=elem.error.copy(), expression=exp.null()))
            if f in ("any", "all"):  # as the row evaluator: no element after the first that decides is evaluated,
                # so the error is that of the first element that fails or decides (none if it decides). One level
                # of subquery: Spark cannot read the record from a subquery inside the element's subquery.
                deciding = exp.Is(this=elem.value.copy(), expression=exp.true() if f == "any" else exp.false())
                failed = exp.Paren(this=exp.or_(failed, deciding))
            errors.append(select(elem.error, [failed], order))
        if f in ("min", "max"):
            empty = exp.EQ(this=select(exp.Count(this=exp.Star())), expression=exp.Literal.number(0))
            errors.append(when(empty, text(scope.message(f"{f} of no records ({x.span})"))))
        scale = elem.scale if elem is not None and x.type in DECIMAL_TYPES else None
        big_int = f == "sum" and x.type == INT
        return Compiled(value, first_error(*errors), scale, (wide and scale is not None) or big_int)

    def _outer_values(self, aggregate: exp.Expression, scope: Scope) -> tuple[exp.Expression, exp.Expression | None]:
        """Spark refuses an aggregate whose argument reads both the element and the record (`any(items, q > n)`:
        "aggregate function in a correlated predicate with outer and local references"). There the record's values
        come from a one-row table of their own (`(SELECT r.n AS n) AS __o`, joined to the elements), so that the
        aggregate reads only columns of its FROM; other dialects keep the plain form."""
        if self.dialect.name != "spark":
            return aggregate, None
        outer = [c for c in aggregate.find_all(exp.Column) if c.table == ROW]
        if not outer:
            return aggregate, None
        alias = f"__o{scope.depth + 1}"
        aggregate = aggregate.copy()
        names = list(dict.fromkeys(c.name for c in aggregate.find_all(exp.Column) if c.table == ROW))
        for c in list(aggregate.find_all(exp.Column)):
            if c.table == ROW:
                c.replace(col(c.name, alias))
        record = exp.Subquery(this=exp.select(*[exp.alias_(col(n), n, quoted=True) for n in names]),
                              alias=exp.TableAlias(this=exp.to_identifier(alias)))
        return aggregate, record

    def _first_error_subquery(self, source, link, error, order, over_results: bool, alias: str):
        conds = [c for c in (link,) if c is not None]
        if over_results:
            conds.insert(0, exp.Is(this=col(ERROR, alias), expression=exp.null()))
        conds.append(exp.Not(this=exp.Is(this=error.copy(), expression=exp.null())))
        q = exp.select(error.copy()).from_(source.copy()).where(exp.and_(*[c.copy() for c in conds]))
        return exp.Subquery(this=q.order_by(order).limit(1))

    def _unrolled(self, x: ir.Aggregate, lst: ir.ExternalList, scope: Scope) -> Compiled:
        """An aggregate over an external list, unrolled over its rows (the list is part of the policy)."""
        picked = []
        for row in lst.rows:
            inner = Scope(scope.node, element=scope.element, element_row=row, depth=scope.depth)
            where = self.compile(x.where, inner) if x.where is not None else None
            elem = self.compile(x.element, inner) if x.element is not None else None
            picked.append((where, elem))
        errors = [w.error for w, _ in picked if w is not None]
        f = x.func

        def chosen(w: Compiled | None, value: exp.Expression, otherwise: exp.Expression | None) -> exp.Expression:
            if w is None:
                return value
            return exp.Case(ifs=[exp.If(this=w.value, true=value)], default=otherwise)

        decided: exp.Expression | None = None  # whether an earlier row decided an any / all
        for w, e in picked:
            if e is not None and e.error is not None:
                error = when(w.value, e.error) if w is not None else e.error
                errors.append(when(exp.not_(decided), error) if decided is not None else error)
            if f in ("any", "all") and e is not None:  # the row evaluator stops at the first row that decides
                deciding = exp.Is(this=e.value.copy(), expression=exp.true() if f == "any" else exp.false())
                if w is not None:  # a row the `where` leaves out decides nothing (NULL counts as left out)
                    deciding = exp.Is(this=exp.Paren(this=exp.and_(w.value.copy(), deciding)), expression=exp.true())
                decided = deciding if decided is None else exp.or_(decided, deciding)
        zero_int = literal(0, INT).value
        if f == "count":
            parts = [chosen(w, literal(1, INT).value, zero_int) for w, _ in picked]
            value = _fold(exp.Add, parts, zero_int)
            return Compiled(value, first_error(*errors))
        if f == "sum":
            if x.type == INT:
                return Compiled(_fold(exp.Add, [chosen(w, e.value, zero_int) for w, e in picked], zero_int),
                                first_error(*errors))
            scale = _max_scale(*(e for _, e in picked)) or 0
            wide = any(e.wide for _, e in picked)
            zero = literal(Decimal(0), DECIMAL).value
            total = zero
            for w, e in picked:  # cast after each addition: the sum keeps its scale
                total = cast(exp.Add(this=total, expression=chosen(w, as_scale(e, scale, wide), zero)),
                             decimal_type(scale, wide))
            return Compiled(total, first_error(*errors), scale, wide)
        if f in ("any", "all"):
            parts = [chosen(w, e.value, exp.false() if f == "any" else exp.true()) for w, e in picked]
            value = _fold(exp.Or if f == "any" else exp.And, parts, exp.false() if f == "any" else exp.true())
            return Compiled(value, first_error(*errors))
        raise Unsupported(f"{f} over the list {lst.name}")


def _fold(cls, parts: list[exp.Expression], empty: exp.Expression) -> exp.Expression:
    if not parts:
        return empty
    out = parts[0]
    for p in parts[1:]:
        out = cls(this=out, expression=p)
    return exp.Paren(this=out)


def _within_int(bounds: tuple[int, int] | None) -> bool:
    return bounds is not None and bounds[0] >= INT_MIN and bounds[1] <= INT_MAX


def _max_scale(*items: Compiled | None) -> int | None:
    scales = [i.scale for i in items if i is not None and i.scale is not None]
    return max(scales) if scales else None


# ------------------------------------------------------------------------------------------------ nodes

@dataclass(frozen=True)
class NodeColumns:
    """The columns one node adds, in phases: each phase can read the columns of the phases before it."""

    phases: tuple[tuple[tuple[str, exp.Expression], ...], ...]


def node_error_column(name: str) -> str:
    return f"__err_{name}"


def compile_node(node: ir.Node, compiler: ExprCompiler) -> tuple[NodeColumns, bool]:
    """A node's value column (named after the node) and its error column; returns whether it can fail."""
    scope = Scope(node.name)
    wide = False
    if isinstance(node.body, ir.TableBody):
        value, error, scale, wide = _table(node, compiler, scope)
    elif isinstance(node.body, ir.EligibilityBody):
        conds = [compiler.compile(c.expr, scope) for c in node.body.conditions]
        value = exp.Paren(this=exp.and_(*[c.value for c in conds])) if conds else exp.true()
        error, scale = first_error(*(c.error for c in conds)), None
    else:
        c = compiler.compile(node.body, scope)
        value, error, scale, wide = c.value, c.error, c.scale, c.wide
    if node.type == MONEY:  # money is rounded half up to the fen
        scale = 2
        value = cast(value, decimal_type(2, wide))
    elif node.type in DECIMAL_TYPES:
        scale = scale if scale is not None else DECIMAL_PLACES
        value = cast(value, decimal_type(scale, wide))
    elif node.type == INT and wide:  # computed in 38 digits: beyond int's range the record fails, as on row
        return _int_in_range(node, value, error, compiler)
    elif node.type == INT:
        value = cast(value, "BIGINT")
    compiler.node_types[node.name] = (scale if node.type in DECIMAL_TYPES else None, wide)
    columns = [(node.name, value)]
    if error is not None:
        columns.append((node_error_column(node.name), error))
    return NodeColumns((tuple(columns),)), error is not None


def _int_in_range(node: ir.Node, value: exp.Expression, error: exp.Expression | None, compiler: ExprCompiler
                  ) -> tuple[NodeColumns, bool]:
    """An int node computed in 38 digits: its exact value in a first column, then the BIGINT value while it is
    within INT_MIN..INT_MAX, else NULL and the record's error in `types.int_beyond_range`'s words."""
    exact = f"__big_{node.name}"
    within = exp.Between(this=col(exact), low=big(INT_MIN, compiler.dialect), high=big(INT_MAX, compiler.dialect))
    words = INT_BEYOND.split("{}")
    message = exp.DPipe(this=exp.DPipe(this=text(f"{node.name}: {words[0]}"), expression=cast(col(exact), "VARCHAR"),
                                       safe=True), expression=text(words[1]), safe=True)
    beyond = exp.Not(this=within.copy())
    checked = exp.Case(ifs=[exp.If(this=within, true=cast(col(exact), "BIGINT"))])
    compiler.node_types[node.name] = (None, False)
    return NodeColumns((((exact, value),), ((node.name, checked),
                        (node_error_column(node.name), first_error(error, when(beyond, message)))))), True


def _table(node: ir.Node, compiler: ExprCompiler, scope: Scope):
    body: ir.TableBody = node.body
    rows = [(r, compiler.compile(r.condition, scope) if r.condition is not None else None,
             compiler.compile(r.value, scope)) for r in body.rows]
    scale = _max_scale(*(v for _, _, v in rows))
    wide = any(v.wide for _, _, v in rows)
    rows = [(r, c, replace(v, value=as_scale(v, scale, wide))) for r, c, v in rows]
    no_row = text(f"{node.name}: no row of the table applies and it has no 'otherwise' row")
    otherwise = next(((r, v) for r, c, v in rows if c is None), None)
    conditional = [(r, c, v) for r, c, v in rows if c is not None]
    if body.hit == "unique":
        return (*_unique(node, rows, conditional, otherwise, no_row, scale), wide)
    ifs, err_ifs = [], []
    for _row, c, v in rows:
        if c is None:  # otherwise: the first one ends the table
            value = exp.Case(ifs=ifs, default=v.value) if ifs else v.value
            err_ifs.append(exp.If(this=exp.true(), true=v.error if v.error is not None else exp.null()))
            break
        if c.error is not None:
            err_ifs.append(exp.If(this=exp.Not(this=exp.Is(this=c.error, expression=exp.null())), true=c.error))
        ifs.append(exp.If(this=c.value, true=v.value))
        err_ifs.append(exp.If(this=c.value, true=v.error if v.error is not None else exp.null()))
    else:
        value = exp.Case(ifs=ifs)
        err_ifs.append(exp.If(this=exp.true(), true=no_row))
    can_fail = any(not isinstance(i.args["true"], exp.Null) for i in err_ifs)
    return value, exp.Case(ifs=err_ifs) if can_fail else None, scale, wide


#: Conditional rows of a unique table the SQL engines compile: the check of every pair of rows grows with the
#: square of the rows (a 10,000-row table would be 50 million pairs); larger tables run on the row engine.
MAX_UNIQUE_ROWS = 300


def _unique(node, rows, conditional, otherwise, no_row, scale):
    """Every condition is evaluated; two that hold are an error naming the first two, as in the row evaluator."""
    if len(conditional) > MAX_UNIQUE_ROWS:
        raise Unsupported(f"a unique table of more than {MAX_UNIQUE_ROWS} rows ({len(conditional):,})")
    value_ifs = [exp.If(this=c.value, true=v.value) for _, c, v in conditional]
    value = exp.Case(ifs=value_ifs, default=otherwise[1].value if otherwise else None)
    pairs = []
    for i, (r1, c1, _) in enumerate(conditional):
        for r2, c2, _ in conditional[i + 1:]:
            message = f"{node.name}: {ir.both_apply(r1, r2)}"
            pairs.append(exp.If(this=exp.And(this=c1.value, expression=c2.value), true=text(message)))
    cond_errors = [c.error for _, c, _ in conditional]
    last = otherwise[1].error if otherwise is not None else no_row
    chosen = [(c.value, v.error) for _, c, v in conditional] + [(exp.true(), last)]
    chosen_error = None
    if any(e is not None for _, e in chosen):
        chosen_error = exp.Case(ifs=[exp.If(this=c, true=e if e is not None else exp.null()) for c, e in chosen])
    error = first_error(*cond_errors, exp.Case(ifs=pairs) if pairs else None, chosen_error)
    return value, error, scale
