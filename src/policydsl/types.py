"""The value types of the language and the runtime form of each value.

| type      | Python value at run time                              |
|-----------|-------------------------------------------------------|
| int       | int                                                   |
| decimal   | Decimal                                               |
| money     | Decimal, yuan (fen precision after rounding)          |
| percent   | Decimal fraction (30% → Decimal('0.3'))              |
| bool      | bool                                                  |
| date      | datetime.date                                         |
| duration  | Duration                                              |
| text      | str                                                   |
| enum E    | str (the label)                                       |
| record R  | dict field → value                                    |
| list of R | tuple of dicts                                        |
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import ROUND_HALF_UP, Context, Decimal

FEN = Decimal("0.01")
#: Decimal places every decimal, percent and money value is kept to, on every engine: sums, differences and products
#: of such values are exact; a product needing more places, and every quotient, is rounded half up (四舍五入) to this
#: many places. (A fixed scale is what SQL's DECIMAL can reproduce exactly; 10 places is far below a fen.)
DECIMAL_PLACES = 10
DECIMAL_STEP = Decimal(1).scaleb(-DECIMAL_PLACES)
#: Decimal places a decimal or percent value read from a record may have (a percent as a fraction: 12.3456% is
#: 0.123456); a finer value is refused as a bad record rather than rounded.
INPUT_PLACES = 6
#: The range of an int value (a field, a fact, an outcome) on every engine: a signed 64-bit integer, what SQL's
#: BIGINT holds. Computations inside a rule are exact beyond it; a rule whose int value falls outside fails the record
#: (`int_beyond_range`), on the row evaluator as in SQL, rather than one engine going on where another cannot.
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 63 - 1
#: A context wide enough that no sum or product of values with DECIMAL_PLACES places is rounded by Python itself.
WIDE = Context(prec=80, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Type:
    """Base of all types; `name` is how messages print it."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class EnumType(Type):
    """An enum with Chinese (or any) labels; `ordered` enums compare by declaration order."""

    labels: tuple[str, ...]
    ordered: bool = False

    def rank(self, label: str) -> int:
        return self.labels.index(label)


@dataclass(frozen=True, slots=True)
class RecordType(Type):
    """A record schema (also the row type of an external list)."""

    fields: tuple[tuple[str, Type], ...]
    key: str | None = None
    optional: frozenset[str] = frozenset()  # fields that may be absent (None at run time)
    bounds: tuple[tuple[str, object, object], ...] = ()  # (field, lowest, highest) a record may hold
    # each field's type by name, made once (`field` is asked for in every record's hot loops)
    _types: dict = dataclass_field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "_types", dict(self.fields))

    def bounds_of(self, name: str) -> tuple[object, object] | None:
        return next(((lo, hi) for n, lo, hi in self.bounds if n == name), None)

    def field(self, name: str) -> Type | None:
        return self._types.get(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.fields)


@dataclass(frozen=True, slots=True)
class ListOf(Type):
    """Related records (a relation field, an external list, or all evaluated records)."""

    element: str  # record type name; resolved through the policy's record table
    by: str | None = None


INT = Type("int")
DECIMAL = Type("decimal")
MONEY = Type("money")
PERCENT = Type("percent")
BOOL = Type("bool")
DATE = Type("date")
DURATION = Type("duration")
TEXT = Type("text")
#: The type of an expression that already failed to check; it matches everything so one mistake gives one error.
ERROR = Type("<error>")

PRIMITIVES = {t.name: t for t in (INT, DECIMAL, MONEY, PERCENT, BOOL, DATE, DURATION, TEXT)}
PRIMITIVES.update({"整数": INT, "小数": DECIMAL, "金额": MONEY, "百分比": PERCENT, "布尔": BOOL, "日期": DATE,
                   "期限": DURATION, "文本": TEXT})
NUMERIC = (INT, DECIMAL)


def is_numeric(t: Type) -> bool:
    return t in NUMERIC


@dataclass(frozen=True, slots=True, order=True)
class Duration:
    """A length of time in whole months or whole days (a year is 12 months, a quarter 3, a week 7 days).

    Months and days are not converted into each other: a month has no fixed number of days.
    """

    months: int = 0
    days: int = 0

    UNITS = {"year": (12, 0), "quarter": (3, 0), "month": (1, 0), "week": (0, 7), "day": (0, 1)}

    @classmethod
    def of(cls, amount: int, unit: str) -> "Duration":
        months, days = cls.UNITS[unit]
        return cls(amount * months, amount * days)

    def __str__(self) -> str:
        if self.months and self.months % 12 == 0 and not self.days:
            return f"{self.months // 12} 年"
        parts = []
        if self.months:
            parts.append(f"{self.months} 个月")
        if self.days or not parts:
            parts.append(f"{self.days} 天")
        return " ".join(parts)


def round_money(value: Decimal) -> Decimal:
    """Money is kept to the fen, rounded half up (四舍五入)."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


#: The words for an int value outside INT_MIN..INT_MAX (the record's error, after the rule's name); `{}` is the value.
INT_BEYOND = f"the whole number {{}} is beyond the range of int ({INT_MIN} to {INT_MAX})"


def int_beyond_range(value: object) -> str:
    """INT_BEYOND with the value filled in."""
    return INT_BEYOND.format(value)


def divide(a: int | Decimal, b: int | Decimal) -> Decimal:
    """`a / b` rounded half up to DECIMAL_PLACES, computed exactly (no double rounding); b == 0 raises."""
    num_a, den_a = Decimal(a).as_integer_ratio()
    num_b, den_b = Decimal(b).as_integer_ratio()
    if num_b == 0:
        raise ZeroDivisionError("division by zero")
    numerator, denominator = num_a * den_b * 10 ** DECIMAL_PLACES, den_a * num_b
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return Decimal(quotient if numerator >= 0 else -quotient).scaleb(-DECIMAL_PLACES)


def multiply(a: int | Decimal, b: int | Decimal) -> Decimal:
    """`a × b` exact, rounded half up to DECIMAL_PLACES only when the product has more places."""
    product = WIDE.multiply(a, b)
    return product if product.as_tuple().exponent >= -DECIMAL_PLACES else product.quantize(DECIMAL_STEP, context=WIDE)


def format_value(value: object, type_: Type | None = None) -> str:
    """A value as text for results files and messages: money with two decimals, percent with %, decimals in their
    shortest exact form (no trailing zeros), so that every engine writes the same text for the same number."""
    if value is None:
        return ""
    if type_ == MONEY and isinstance(value, Decimal):
        value = round_money(value)  # half up (四舍五入), as money is everywhere; f"{:.2f}" would round half even
    if isinstance(value, Decimal) and value.is_zero():
        value = abs(value)  # no "-0.00"
    if type_ == MONEY and isinstance(value, Decimal):
        return f"{value:.2f}"
    if type_ == PERCENT and isinstance(value, Decimal):
        return f"{WIDE.multiply(value, 100).normalize(WIDE):f}%"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value.normalize(WIDE):f}"
    return str(value)


def list_of(element: str, by: str | None = None) -> ListOf:
    """The type of related `element` records."""
    return ListOf(f"list of {element}", element, by)
