"""Reading records from data files and writing results files.

Input files (chosen by suffix): ``.csv`` (UTF-8, header row), ``.json`` (an array of objects, or
``{"records": [...]}``), ``.jsonl`` (one object a line), ``.xlsx`` (first sheet, header row) and ``.parquet`` (read through DuckDB).
Every raw value is converted to the runtime form of its declared type (see `policydsl.types`);
nothing is silently defaulted, and every record either loads or is listed as failed with all its
problems, so no record ever vanishes.

Relation fields (``list of R by f``) come inline in JSON; in flat files (CSV/XLSX) they come from a
separate file of R records, grouped by R's ``f`` field matched against the parent's key.

Problems of a whole file raise `DataSetupError`; problems of single records become `DataError`s.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import operator
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from ..diagnostics import closest
from ..limits import RAW_CELLS, neutralise_cell
from ..types import (
    BOOL,
    DATE,
    DECIMAL,
    DURATION,
    INPUT_PLACES,
    INT,
    INT_MAX,
    INT_MIN,
    MONEY,
    PERCENT,
    TEXT,
    Duration,
    EnumType,
    ListOf,
    RecordType,
    Type,
    format_value,
    round_money,
)

PARQUET = ".parquet"
READ_SUFFIXES = (".csv", ".json", ".jsonl", ".xlsx", ".parquet")
WRITE_SUFFIXES = (".csv", ".json", ".jsonl", ".parquet")
#: Files whose cells are flat text: relations must come from separate files.
FLAT_SUFFIXES = (".csv", ".xlsx")


class DataSetupError(Exception):
    """A problem with a whole data file or with how the files were given; the message is for users."""


@dataclass(frozen=True)
class DataError:
    """One problem with one record (or with one related row of it)."""

    location: str  # "data/x.csv:17", "data/x.json:[3]", "data/x.xlsx:Sheet1!5"
    record_id: str  # the key field's raw value, else "#<1-based row number>"
    field: str | None  # "年龄", or "网格[2].人口" for a field of a related record
    value: object  # the offending raw value; None when missing
    message: str

    def render(self) -> str:
        """One line: ``data/x.csv:17: record S017: field 年龄: expected an integer, got 'abc'``."""
        parts = [self.location, f"record {self.record_id}"]
        if self.field:
            parts.append(f"field {self.field}")
        text = self.message
        shown = _show(self.value)
        # Messages such as the enum one already quote the value; don't say it twice.
        if self.value is not None and shown not in text:
            text += f", got {shown}"
        return ": ".join(parts + [text])


@dataclass(frozen=True)
class InputRecord:
    """A record that converted without error; `values` are in runtime form, in schema field order."""

    id: str
    location: str
    values: dict[str, object]


@dataclass
class LoadResult:
    """The outcome of loading one file: good records, all errors, and the ids of failed records."""

    records: list[InputRecord] = field(default_factory=list)
    errors: list[DataError] = field(default_factory=list)
    # One entry per subject record with at least one error. Errors about orphan related rows
    # (rows of a related file that belong to no record) are in `errors` only.
    failed_ids: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Subject records read: loaded plus failed."""
        return len(self.records) + len(self.failed_ids)


# --------------------------------------------------------------------------- reading files

def read_rows(path: str | Path) -> Iterator[tuple[str, dict[str, object]]]:
    """The raw rows of a data file as (location, row); the format is chosen by suffix.

    Raises DataSetupError at once for a missing file or an unsupported suffix; malformed
    content raises it while iterating. JSON items that are not objects are yielded as they are
    (the caller reports them), so that one bad item does not hide the others.
    """
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise DataSetupError(f"{path}: unsupported file type '{path.suffix}' (use {', '.join(READ_SUFFIXES)})")
    _check_exists(path)
    return reader(path, str(path))


def _check_exists(path: Path) -> None:
    """A regular records file, or a directory of Parquet part files (as Spark writes a data set); a FIFO would
    block and a device never end, so neither is read."""
    if path.is_file() or (path.suffix.lower() == PARQUET and path.is_dir()):
        return
    raise DataSetupError(f"{path}: " + ("not a regular file (a folder, a device or a pipe)" if path.exists()
                                        else "no such file"))


def parquet_parts(path: Path) -> list[Path]:
    """The files a Parquet records path stands for, in the order their rows are numbered on every engine: the file
    itself, or a directory's part files by name (names starting with '_' or '.' are not data, as for Spark)."""
    if not path.is_dir():
        return [path]
    parts = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(("_", ".")))
    if not parts:
        raise DataSetupError(f"{path}: a directory without Parquet part files")
    return parts


def _read_text(path: Path, name: str) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DataSetupError(f"{name}:{line}: file is not UTF-8 text "
                             "(from Excel, save as 'CSV UTF-8')") from None


def _read_csv(path: Path, name: str) -> Iterator[tuple[str, dict[str, object]]]:
    text = _read_text(path, name)
    # newline="" keeps line breaks inside quoted cells intact; csv counts physical lines.
    header: list[str] | None = None
    for line, cells in csv_rows(io.StringIO(text, newline="")):
        if header is None:
            if isinstance(cells, MalformedCells):
                raise DataSetupError(f"{name}:{line}: malformed CSV header: {cells.problem}")
            header = _header(cells, f"{name}:{line}")
            continue
        row = _row(header, cells)
        yield f"{name}:{line}", MalformedRow(row, cells.problem) if isinstance(cells, MalformedCells) else row
    if header is None:
        raise DataSetupError(f"{name}: empty file; expected a header row naming the fields")


def _source_rows(kind: type, path: Path, name: str) -> Iterator[tuple[str, dict[str, object]]]:
    """A streaming source's rows as `read_rows` gives them; the file is opened on the first row asked for."""
    source = kind(path, name)
    try:
        for position, raw in source.rows():
            yield source.location(position), source.as_dict(raw)
    finally:
        source.close()


#: A quoted cell running over more physical lines than this is taken for an unterminated quote.
MAX_CELL_LINES = 1000


class MalformedCells(list):
    """The cells of a CSV row that is not well formed (`problem` says how); it is reported, never evaluated."""

    def __init__(self, cells: list[str], problem: str):
        super().__init__(cells)
        self.problem = problem


class MalformedRow(dict):
    """`MalformedCells` as a row dict (what could be read of it gives the record id)."""

    def __init__(self, row: dict, problem: str):
        super().__init__(row)
        self.problem = problem


class _Unclosed(csv.Error):
    """A quoted cell ran over MAX_CELL_LINES lines: an unclosed quote."""


def _unclosed(line: int) -> str:
    return (f"a quote (\") opens a cell that is not closed on line {line}; quote the whole cell (\"…\") or remove "
            "the quote")


class _LineFeed:
    """Physical lines for csv.reader, remembering those of the current row so a bad row can be re-read."""

    def __init__(self, lines: Iterable[str]):
        self._lines, self._back, self.taken = iter(lines), [], []

    def __iter__(self) -> "_LineFeed":
        return self

    def __next__(self) -> str:
        if len(self.taken) > MAX_CELL_LINES:
            raise _Unclosed(f"a quoted cell runs over more than {MAX_CELL_LINES} lines")
        line = self._back.pop() if self._back else next(self._lines)
        self.taken.append(line)
        return line

    def restart_after_first(self) -> None:
        """Give back every line of the current row but its first: the rows a stray quote swallowed."""
        self._back.extend(reversed(self.taken[1:]))
        self.taken = []


def csv_rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, cells) of every non-blank CSV row; a malformed row comes as `MalformedCells`.

    Malformed: a quote that is never closed (it would swallow the rows after it into one cell — the row is
    reported and reading goes on with the next line), a row spanning lines whose cells do not match the header
    (the same mistake with a later quote), and a row with more non-empty cells than the header names (they would
    be lost). Rows spanning lines with the right number of cells are cells with line breaks, as Excel writes them.
    """
    feed = _LineFeed(lines)
    line, width = 1, None
    while True:
        reader = csv.reader(feed)
        try:
            for cells in reader:
                taken, feed.taken = feed.taken, []
                start, line = line, line + len(taken)
                if (not cells or not cells[0].strip()) and not "".join(cells).strip():
                    continue
                if width is None:
                    width = len(cells)
                    yield start, cells
                    continue
                problem = _row_problem(cells, taken, width)
                if problem is None:
                    yield start, cells
                    continue
                if len(taken) > 1:  # re-read the swallowed lines as rows of their own
                    feed.taken = taken
                    feed.restart_after_first()
                    line = start + 1
                    cells = next(csv.reader([taken[0]]), [])
                    problem = _unclosed(start)
                    yield start, MalformedCells(cells, problem)
                    break
                yield start, MalformedCells(cells, problem)
            else:
                return
        except csv.Error as exc:
            taken, start = feed.taken, line
            feed.restart_after_first()
            line = start + 1
            problem = _unclosed(start) if isinstance(exc, _Unclosed) else f"malformed CSV: {exc}"
            yield start, MalformedCells(next(csv.reader([taken[0]]), []) if taken else [], problem)


def _row_problem(cells: list[str], taken: list[str], width: int) -> str | None:
    """Why a row read by csv is malformed, or None."""
    if len(taken) > 1 and (len(cells) != width or "".join(taken).count('"') % 2):
        return "unclosed quote"
    extra = [c for c in cells[width:] if c.strip()]
    if extra:
        return (f"the row has {len(cells)} cells but the header names {width} columns; the extra cells "
                f"({', '.join(_show(c) for c in extra[:3])}{', …' if len(extra) > 3 else ''}) belong to no field")
    return None


def _read_json(path: Path, name: str) -> Iterator[tuple[str, dict[str, object]]]:
    data = _parse_json(_read_text(path, name), name, 0)
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        items = data["records"]
    elif isinstance(data, list):
        items = data
    else:
        raise DataSetupError(f'{name}: expected a JSON array of records or an object with a "records" array')
    for index, item in enumerate(items):
        yield f"{name}:[{index}]", item


def _read_jsonl(path: Path, name: str) -> Iterator[tuple[str, dict[str, object]]]:
    for number, line in enumerate(_read_text(path, name).splitlines(), start=1):
        if line.strip():
            yield f"{name}:{number}", _jsonl_item(line)


def _jsonl_item(line: str) -> object:
    """One JSONL line's item; a broken line is a bad record of its own (the other lines still run)."""
    try:
        return json.loads(line, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        return MalformedRow({}, f"malformed JSON at column {exc.colno}: {exc.msg}")
    except RecursionError:
        return MalformedRow({}, "malformed JSON: nested too deeply to be a record")
    except ValueError:
        return MalformedRow({}, "malformed JSON: a number with thousands of digits, far beyond any value a record "
                                "holds")


def _parse_json(text: str, name: str, line_offset: int) -> object:
    try:
        # Decimal keeps JSON numbers such as 1234.10 exact instead of rounding through float.
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise DataSetupError(f"{name}:{exc.lineno + line_offset}:{exc.colno}: malformed JSON: {exc.msg}") from None
    except RecursionError:
        raise DataSetupError(f"{name}:{line_offset + 1}: malformed JSON: nested too deeply to be a record") from None
    except ValueError:  # Python refuses to read integers of more than 4300 digits
        raise DataSetupError(f"{name}:{line_offset + 1}: malformed JSON: a number with thousands of digits, "
                             "far beyond any value a record holds") from None


def _read_xlsx(path: Path, name: str) -> Iterator[tuple[str, dict[str, object]]]:
    import openpyxl  # imported here: only spreadsheet users pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # data_only: a formula cell gives its last computed value, not the formula text.
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise DataSetupError(f"{name}: not a readable .xlsx workbook ({exc})") from None
    formulas = _Formulas(path)
    try:
        sheet = book.worksheets[0]
        header: list[str] | None = None
        # read_only sheets yield gap rows as empty rows, so counting gives the real row number.
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if all(_is_blank(c) for c in cells):
                continue
            where = f"{name}:{sheet.title}!{number}"
            if header is None:
                header = _header(cells, where)
                continue
            row = _row(header, cells)
            for i, h in enumerate(header):
                if h and row[h] is None and (formula := formulas.at(number, i)) is not None:
                    row[h] = UncomputedFormula(formula)
            yield where, row
        if header is None:
            raise DataSetupError(f"{name}: sheet {sheet.title} is empty; expected a header row naming the fields")
    finally:
        book.close()
        formulas.close()


class UncomputedFormula:
    """A spreadsheet cell holding a formula whose value was never computed and saved: files written by programs
    that do not calculate (scripts, some exporters) have them. It is not a missing value: the message says why."""

    def __init__(self, formula: str):
        self.formula = formula

    def __repr__(self) -> str:  # how a data error shows the value it got
        return repr(self.formula)

    @property
    def message(self) -> str:
        shown = self.formula if len(self.formula) <= 60 else self.formula[:57] + "…"
        return (f"the cell holds the formula {shown} but no computed value (the file was saved by a program that "
                "does not calculate formulas): open and save it in Excel or WPS, or enter the value itself")


class _Formulas:
    """The formula text of a sheet's cells, read only when a cell has no value, in one forward pass at most."""

    def __init__(self, path: Path):
        self.path = path
        self.book = None
        self.rows: Iterator | None = None
        self.number, self.cells = 0, ()

    def at(self, number: int, column: int) -> str | None:
        """The formula in row `number` (1-based), column `column` (0-based), or None (rows are asked in order)."""
        if self.rows is None:
            import openpyxl
            self.book = openpyxl.load_workbook(self.path, read_only=True, data_only=False)
            self.rows = enumerate(self.book.worksheets[0].iter_rows(values_only=True), start=1)
        while self.number < number:
            self.number, self.cells = next(self.rows, (number, ()))
        cell = self.cells[column] if self.number == number and column < len(self.cells) else None
        return cell if isinstance(cell, str) and cell.startswith("=") else None

    def close(self) -> None:
        if self.book is not None:
            self.book.close()


def _header(cells: Iterable[object], where: str) -> list[str]:
    names = ["" if c is None else str(c).strip() for c in cells]
    seen: set[str] = set()
    for n in names:
        if n and n in seen:
            raise DataSetupError(f"{where}: column '{n}' appears twice in the header row")
        seen.add(n)
    return names


def _row(header: list[str], cells: tuple | list) -> dict[str, object]:
    # Short rows leave their last cells missing; unnamed columns are dropped.
    return {h: (cells[i] if i < len(cells) else None) for i, h in enumerate(header) if h}


_READERS: dict[str, Callable[[Path, str], Iterator[tuple[str, dict[str, object]]]]] = {
    ".csv": _read_csv, ".json": _read_json, ".jsonl": _read_jsonl, ".xlsx": _read_xlsx,
}


# --------------------------------------------------------------------------- converting values

def convert_value(raw: object, type_: Type, record_types: dict[str, RecordType]) -> object:
    """`raw` (from a file) in the runtime form of `type_`; raises ValueError(message) if it doesn't fit."""
    if _is_blank(raw):
        raise ValueError("missing field")
    if isinstance(raw, UncomputedFormula):
        raise ValueError(raw.message)
    if isinstance(type_, EnumType):
        return _to_enum(raw, type_)
    if isinstance(type_, (ListOf, RecordType)) or type_.name in record_types:
        value, errors = _convert_compound(raw, type_, record_types, "", "?", "")
        if errors:
            raise ValueError("; ".join(f"{e.field}: {e.message}" for e in errors))
        return value
    converter = _CONVERTERS.get(type_)
    if converter is None:
        raise TypeError(f"records cannot hold values of type {type_}")
    return converter(raw)


def _nfkc(text: str) -> str:
    # Full-width digits, ％ and ，are common in Chinese spreadsheets; NFKC maps them to ASCII.
    return unicodedata.normalize("NFKC", text).strip()


def _is_number(raw: object) -> bool:
    return isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool)


def _integral(raw: object) -> int | None:
    """An int for ints and for whole floats/Decimals (spreadsheets store 12 as 12.0), else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, (float, Decimal)) and _finite(raw) and raw == int(raw):
        return int(raw)
    return None


def _finite(x: float | Decimal) -> bool:
    return x.is_finite() if isinstance(x, Decimal) else x - x == 0


def _any_int(raw: object) -> int:
    if isinstance(raw, str) and re.fullmatch(r"[+-]?[0-9]+", _nfkc(raw)):
        return int(_nfkc(raw))
    value = _integral(raw)
    if value is None:
        raise ValueError("expected an integer")
    return value


def _to_int(raw: object) -> int:
    value = _any_int(raw)
    if not INT_MIN <= value <= INT_MAX:  # what every engine holds (types.INT_MIN): refused, not run on one only
        raise ValueError(f"expected an integer from {INT_MIN} to {INT_MAX}")
    return value


_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _decimal(raw: object, message: str) -> Decimal:
    """A finite Decimal from a number or the text of one; str() of a float keeps its short form."""
    if _is_number(raw):
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw))
        if not value.is_finite():
            raise ValueError(message + " (not a finite number)")
        return value
    if isinstance(raw, str) and _NUMBER.fullmatch(_nfkc(raw)):
        return Decimal(_nfkc(raw))
    raise ValueError(message)


def _to_decimal(raw: object) -> Decimal:
    return _within_places(_decimal(raw, "expected a number"))


def _within_places(value: Decimal) -> Decimal:
    # Records hold decimals to INPUT_PLACES places on every engine; a finer input would be rounded, so it is refused.
    if value.normalize().as_tuple().exponent < -INPUT_PLACES:
        raise ValueError(f"more precise than {INPUT_PLACES} decimal places")
    return value


_MONEY_TEXT = re.compile(r"([+-]?)\s*¥?\s*([0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)\s*(万)?\s*(元)?")
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_MONEY_MSG = "expected an amount of money (e.g. 1234.50, 1,234.50, 1000元, 3.5万元)"


def _to_money(raw: object) -> Decimal:
    if isinstance(raw, str):
        value = _money_text(_nfkc(raw))
    else:
        value = _decimal(raw, _MONEY_MSG)
    if value.normalize().as_tuple().exponent < -2:
        raise ValueError("more precise than a fen (at most 2 decimal places)")
    if value.adjusted() >= 26:  # 28 significant digits with the fen: more would need rounding
        raise ValueError("too large an amount (at most 26 digits before the point)")
    return round_money(value)  # exact here: only pins the fen scale


def _money_text(text: str) -> Decimal:
    m = _MONEY_TEXT.fullmatch(text)
    if not m:
        raise ValueError(_MONEY_MSG)
    sign, digits, wan, _ = m.groups()
    if "," in digits:
        # Commas only as thousands separators: "1,234.50" yes, "12,34" (a typo?) no.
        if not _GROUPED.fullmatch(digits):
            raise ValueError(_MONEY_MSG + " (misplaced thousands separator)")
        digits = digits.replace(",", "")
    value = Decimal(sign + digits)
    return value * 10000 if wan else value


def _to_percent(raw: object) -> Decimal:
    message = "expected a percentage (e.g. 30% or the fraction 0.3)"
    if isinstance(raw, str) and _nfkc(raw).endswith("%"):
        return _within_places(_decimal(_nfkc(raw)[:-1].strip(), message).scaleb(-2))
    value = _within_places(_decimal(raw, message))
    if abs(value) > 1:  # "12" in a percent column means 12%, almost surely; as a fraction it would be 1200%
        raise ValueError(f"a percentage without '%' is read as a fraction (0.12 = 12%), so this would be "
                         f"{format_value(value, PERCENT)}; write {raw}% or the fraction")
    return value


_TRUE = {"true", "1", "是", "yes", "y"}
_FALSE = {"false", "0", "否", "no", "n"}


def _to_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if _integral(raw) in (0, 1):
        return bool(_integral(raw))
    if isinstance(raw, str):
        text = _nfkc(raw).lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
    raise ValueError("expected yes or no (true/false, 1/0, 是/否, yes/no, y/n)")


_DATE_FORMS = (re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})"),
               re.compile(r"([0-9]{4})\s*年\s*([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*日"))
_DATE_MSG = "expected a date (e.g. 2024-01-05, 2024/1/5, 2024年1月5日)"


def _to_date(raw: object) -> date:
    if isinstance(raw, datetime):
        # Spreadsheets store dates as midnight datetimes; a real time of day would be lost.
        if raw.time() != time(0):
            raise ValueError(_DATE_MSG + " without a time of day")
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        text = _nfkc(raw)
        for form in _DATE_FORMS:
            m = form.fullmatch(text)
            if m:
                try:
                    return date(*map(int, m.groups()))
                except ValueError:
                    raise ValueError(f"no such date: {text}") from None
    raise ValueError(_DATE_MSG)


_UNIT_WORDS = {"年": "year", "个季度": "quarter", "季度": "quarter", "季": "quarter", "个月": "month", "月": "month",
               "个星期": "week", "星期": "week", "周": "week", "天": "day", "日": "day",
               "years": "year", "year": "year", "quarters": "quarter", "quarter": "quarter", "months": "month",
               "month": "month", "weeks": "week", "week": "week", "days": "day", "day": "day"}
# Longest words first, so "个月" wins over "月" and "years" over "year".
_UNIT_RE = "|".join(sorted(map(re.escape, _UNIT_WORDS), key=len, reverse=True))
_DURATION_PART = re.compile(rf"\s*([0-9]+(?:\.[0-9]+)?)\s*({_UNIT_RE})\s*")
_DURATION_MSG = "expected a duration (e.g. 3 年, 6 个月, 2 季度, 1 周, 10 天)"


def _to_duration(raw: object) -> Duration:
    if isinstance(raw, Duration):
        return raw
    if not isinstance(raw, str):
        raise ValueError(_DURATION_MSG + " with a unit")
    text = _nfkc(raw).lower()
    parts = list(_DURATION_PART.finditer(text))
    # The parts must cover the whole text: "3 年 abc" is an error, not 3 years.
    if not parts or "".join(m.group(0) for m in parts) != text:
        raise ValueError(_DURATION_MSG)
    total = Duration()
    for m in parts:
        if "." in m.group(1):
            raise ValueError("a duration needs whole numbers (write 18 个月, not 1.5 年)")
        d = Duration.of(int(m.group(1)), _UNIT_WORDS[m.group(2)])
        total = Duration(total.months + d.months, total.days + d.days)
    return total


def _to_text(raw: object) -> str:
    if isinstance(raw, str):
        return raw.strip()
    if _integral(raw) is not None:
        return str(_integral(raw))  # a spreadsheet number 123.0 in a text column means "123"
    if _is_number(raw) and _finite(raw):
        return str(raw)
    raise ValueError("expected text")


def _to_enum(raw: object, enum: EnumType) -> str:
    whole = _integral(raw)
    label = raw.strip() if isinstance(raw, str) else (str(whole) if whole is not None else None)
    if label in enum.labels:
        return label
    shown = label if label is not None else raw
    message = f"unknown label '{shown}' for enum {enum.name} (labels: {', '.join(enum.labels)})"
    best = closest(str(shown), enum.labels)
    raise ValueError(message + (f"; did you mean '{best}'?" if best else ""))


_CONVERTERS: dict[Type, Callable[[object], object]] = {
    INT: _to_int, DECIMAL: _to_decimal, MONEY: _to_money, PERCENT: _to_percent, BOOL: _to_bool,
    DATE: _to_date, DURATION: _to_duration, TEXT: _to_text,
}


# --------------------------------------------------------------------------- converting records

#: For each relation field: parent key text → the related rows (location, raw row).
Related = dict[str, dict[str, list[tuple[str, dict]]]]


def convert_record(raw: dict, rtype: RecordType, record_types: dict[str, RecordType], location: str,
                   related: Related | None = None, *, row_number: int | None = None
                   ) -> tuple[InputRecord | None, list[DataError]]:
    """Convert one raw row; on failure return (None, errors) with an error for EVERY bad field.

    Relation fields named in `related` are filled from those rows (grouped by this record's key);
    others are read from the row itself (JSON). `row_number` gives the id "#<n>" of a record
    whose key is missing.
    """
    record_id = _record_id(raw, rtype, row_number)
    if isinstance(raw, MalformedRow):
        return None, [DataError(location, record_id, None, None, raw.problem)]
    if not isinstance(raw, dict):
        message = f"expected an object with the fields of {rtype.name}"
        return None, [DataError(location, record_id, None, raw, message)]
    values, errors = _convert_fields(raw, rtype, record_types, location, record_id, "", related or {})
    if errors:
        return None, errors
    return InputRecord(record_id, location, values), []


def _record_id(raw: object, rtype: RecordType, row_number: int | None) -> str:
    key = _key_text(raw.get(rtype.key)) if isinstance(raw, dict) and rtype.key else None
    if key is not None:
        return key
    return f"#{row_number}" if row_number is not None else "#?"


def _key_text(raw: object) -> str | None:
    """A key value as text, so "12" in a CSV matches 12 in JSON and 12.0 in a spreadsheet."""
    if _is_blank(raw):
        return None
    if isinstance(raw, str):
        return raw.strip()
    whole = _integral(raw)
    return str(whole) if whole is not None else str(raw)


def _convert_fields(raw: dict, rtype: RecordType, record_types: dict[str, RecordType], location: str,
                    record_id: str, prefix: str, related: Related) -> tuple[dict[str, object], list[DataError]]:
    values: dict[str, object] = {}
    errors: list[DataError] = []
    for name, ftype in rtype.fields:
        path = prefix + name
        if name in related:
            key = _key_text(raw.get(rtype.key)) if rtype.key else None
            rows = related[name].get(key, []) if key is not None else []
            value, errs = _convert_related(rows, ftype, record_types, record_id, path)
        elif name in rtype.optional and _is_blank(raw.get(name)):
            value, errs = None, []  # an optional field with no value: absent, not an error
        else:
            value, errs = _convert_field(raw.get(name), ftype, record_types, location, record_id, path)
            bounds = rtype.bounds_of(name)
            if bounds and not errs and value is not None and not bounds[0] <= value <= bounds[1]:
                low, high = (format_value(b, ftype) for b in bounds)
                errs = [DataError(location, record_id, path, raw.get(name),
                                  f"outside {low}–{high}, the range the policy declares")]
                value = None
        values[name] = value
        errors.extend(errs)
    return values, errors


def _convert_field(raw: object, ftype: Type, record_types: dict[str, RecordType], location: str,
                   record_id: str, path: str) -> tuple[object, list[DataError]]:
    if not _is_blank(raw) and (isinstance(ftype, (ListOf, RecordType)) or ftype.name in record_types):
        return _convert_compound(raw, ftype, record_types, location, record_id, path)
    try:
        return convert_value(raw, ftype, record_types), []
    except ValueError as exc:
        return None, [DataError(location, record_id, path, None if _is_blank(raw) else raw, str(exc))]


def _element_type(ftype: Type, record_types: dict[str, RecordType]) -> RecordType:
    name = ftype.element if isinstance(ftype, ListOf) else ftype.name
    if isinstance(ftype, RecordType):
        return ftype
    if name not in record_types:
        raise DataSetupError(f"record type {name} is not declared")
    return record_types[name]


def _convert_compound(raw: object, ftype: Type, record_types: dict[str, RecordType], location: str,
                      record_id: str, path: str) -> tuple[object, list[DataError]]:
    """A nested record (a dict) or an inline relation (a list of dicts), with per-field errors."""
    element = _element_type(ftype, record_types)
    if not isinstance(ftype, ListOf):
        if not isinstance(raw, dict):
            message = f"expected an object with the fields of {element.name}"
            return None, [DataError(location, record_id, path, raw, message)]
        return _convert_fields(raw, element, record_types, location, record_id, path + ".", {})
    if not isinstance(raw, (list, tuple)):
        return None, [DataError(location, record_id, path, raw, f"expected a list of {element.name} records")]
    return _convert_related([(location, item) for item in raw], ftype, record_types, record_id, path)


def _convert_related(rows: list[tuple[str, object]], ftype: Type, record_types: dict[str, RecordType],
                     record_id: str, path: str) -> tuple[tuple[dict, ...], list[DataError]]:
    """Related rows as a tuple of dicts; their errors belong to the parent record `record_id`."""
    element = _element_type(ftype, record_types)
    items: list[dict] = []
    errors: list[DataError] = []
    for index, (where, item) in enumerate(rows):
        item_path = f"{path}[{index}]"
        if not isinstance(item, dict):
            message = f"expected an object with the fields of {element.name}"
            errors.append(DataError(where, record_id, item_path, item, message))
            continue
        values, errs = _convert_fields(item, element, record_types, where, record_id, item_path + ".", {})
        items.append(values)
        errors.extend(errs)
    return tuple(items), errors


def _is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


# --------------------------------------------------------------------------- loading files

def load_records(path: str | Path, subject: RecordType, record_types: dict[str, RecordType],
                 related_files: dict[str, str | Path] | None = None) -> LoadResult:
    """Load every record of `subject` from `path`; relation fields may come from `related_files`.

    `related_files` maps a relation field name to a file of its element records. A CSV/XLSX file
    must be given one for each relation field (DataSetupError otherwise, before anything is read).
    """
    related_files = dict(related_files or {})
    _check_related_setup(Path(path), subject, record_types, related_files)
    rows = list(read_rows(path))
    _check_header(Path(path), subject, rows)
    parent_keys = {_key_text(raw.get(subject.key)) for _, raw in rows if isinstance(raw, dict) and subject.key}
    result = LoadResult()
    related: Related = {}
    orphans: list[DataError] = []
    for name, file in related_files.items():
        related[name], lost = _group_related(file, subject, subject.field(name), record_types, parent_keys)
        orphans.extend(lost)
    _convert_all(rows, subject, record_types, related, result)
    result.errors.extend(orphans)
    return result


def _convert_all(rows: list[tuple[str, dict]], subject: RecordType, record_types: dict[str, RecordType],
                 related: Related, result: LoadResult) -> None:
    first_seen: dict[str, str] = {}
    for number, (where, raw) in enumerate(rows, start=1):
        record, errors = convert_record(raw, subject, record_types, where, related, row_number=number)
        errors += _duplicate_key(raw, subject, where, first_seen)
        if errors:
            result.errors.extend(errors)
            result.failed_ids.append(errors[0].record_id)
        else:
            result.records.append(record)


def _duplicate_key(raw: object, subject: RecordType, where: str, first_seen: dict[str, str]) -> list[DataError]:
    # Two records with one key would make results ambiguous; the later one is refused.
    key = _key_text(raw.get(subject.key)) if isinstance(raw, dict) and subject.key else None
    if key is None:
        return []
    if key in first_seen:
        return [DataError(where, key, subject.key, raw.get(subject.key),
                          f"duplicate key: {subject.key} {key} is already used at {first_seen[key]}")]
    first_seen[key] = where
    return []


def _check_related_setup(path: Path, subject: RecordType, record_types: dict[str, RecordType],
                         related_files: dict[str, str | Path]) -> None:
    relations = [name for name, t in subject.fields if isinstance(t, ListOf)]
    for name in related_files:
        if name not in relations:
            best = closest(name, relations)
            hint = f"; did you mean '{best}'?" if best else f" (relation fields: {', '.join(relations) or 'none'})"
            raise DataSetupError(f"--related {name}=...: {subject.name} has no relation field {name}{hint}")
        ftype = subject.field(name)
        if ftype.by is None:
            raise DataSetupError(f"--related {name}=...: relation {name} of {subject.name} has no 'by' field "
                                 "to match related rows with their record")
        _element_type(ftype, record_types)
    if path.suffix.lower() in FLAT_SUFFIXES:
        for name in relations:
            if name not in related_files:
                element = subject.field(name).element
                raise DataSetupError(f"{path}: records of {subject.name} have the relation field {name} "
                                     f"(a list of {element}); a {path.suffix} file cannot hold it, so give "
                                     f"its rows in a separate file: --related {name}=FILE")


def _check_header(path: Path, subject: RecordType, rows: list[tuple[str, dict]]) -> None:
    # A flat file whose columns match no field at all most likely lacks its header row.
    if path.suffix.lower() not in FLAT_SUFFIXES or not rows:
        return
    columns = set(rows[0][1])
    if not columns & set(subject.field_names):
        raise DataSetupError(f"{path}: no column matches a field of {subject.name} "
                             f"(fields: {', '.join(subject.field_names)}); is the header row missing?")


def _group_related(file: str | Path, subject: RecordType, ftype: ListOf, record_types: dict[str, RecordType],
                   parent_keys: set[str | None]) -> tuple[dict[str, list[tuple[str, dict]]], list[DataError]]:
    """Rows of a related file grouped by their `by` value; rows matching no parent become errors."""
    element = _element_type(ftype, record_types)
    _check_related_element(Path(file), element)
    groups: dict[str, list[tuple[str, dict]]] = {}
    orphans: list[DataError] = []
    for number, (where, raw) in enumerate(read_rows(file), start=1):
        key = _key_text(raw.get(ftype.by)) if isinstance(raw, dict) else None
        if key is not None and key in parent_keys:
            groups.setdefault(key, []).append((where, raw))
            continue
        orphans.append(_orphan(where, raw, element, ftype.by, subject, number))
    return groups, orphans


def _orphan(where: str, raw: object, element: RecordType, by: str, subject: RecordType, number: int) -> DataError:
    """A related row that belongs to no subject record: reported, so it doesn't vanish (a malformed row in the
    words the streaming reader uses for it)."""
    if isinstance(raw, MalformedRow):
        key = _key_text(raw.get(by))
        return DataError(where, f"#{number}", None, None, f"related row of {key or '?'}: {raw.problem}")
    own_id = _record_id(raw, element, number)
    if not isinstance(raw, dict):
        return DataError(where, own_id, None, raw, f"expected an object with the fields of {element.name}")
    value = raw.get(by)
    if _is_blank(value):
        return DataError(where, own_id, by, None, f"missing field, so this {element.name} row belongs to no "
                                                  f"{subject.name} record")
    return DataError(where, own_id, by, value, f"matches no {subject.name} record ({subject.key})")


def _check_related_element(file: Path, element: RecordType) -> None:
    nested = [name for name, t in element.fields if isinstance(t, ListOf)]
    if nested and file.suffix.lower() in FLAT_SUFFIXES:
        raise DataSetupError(f"{file}: {element.name} has relation fields ({', '.join(nested)}), which a "
                             f"{file.suffix} file cannot hold; give these rows as JSON with the lists inline")


# --------------------------------------------------------------------------- writing results

def write_results(path: str | Path, rows: list[dict[str, object]], types: dict[str, Type]) -> None:
    """Write result rows as .csv, .json, .jsonl or .parquet (by suffix), UTF-8, deterministic byte for byte.

    Columns keep the rows' dict order; `types` tells how to format each column (money "1234.50",
    percent "30%"). In JSON, money/decimal/percent are strings so no digit is lost. Parquet columns are
    typed (see `ResultWriter`).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == PARQUET:
        columns = list(dict.fromkeys(name for row in rows for name in row))
        with ResultWriter(path, columns, types) as out:
            for row in rows:
                out.write([row.get(c) for c in columns])
        return
    if suffix == ".csv":
        text = _csv_text(rows, types)
    elif suffix == ".json":
        text = json.dumps([_json_row(r, types) for r in rows], ensure_ascii=False, indent=2) + "\n"
    elif suffix == ".jsonl":
        text = "".join(json.dumps(_json_row(r, types), ensure_ascii=False) + "\n" for r in rows)
    else:
        raise DataSetupError(f"{path}: cannot write results as '{path.suffix}' (use {', '.join(WRITE_SUFFIXES)})")
    path.write_text(text, encoding="utf-8", newline="")


def _csv_text(rows: list[dict[str, object]], types: dict[str, Type]) -> str:
    # first-seen order; with no rows at all, the columns the types name (a header row alone, not an empty line)
    columns = list(dict.fromkeys(name for row in rows for name in row)) or list(types)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    safe = not RAW_CELLS.get()
    textual = {c for c in columns if types.get(c) == TEXT or isinstance(types.get(c), EnumType)}
    for row in rows:
        cells = [_cell(row.get(c), types.get(c)) for c in columns]
        if safe:  # results are opened in spreadsheets: no text cell may run as a formula
            cells = [neutralise_cell(x) if c in textual else x for c, x in zip(columns, cells)]
        writer.writerow(cells)
    return out.getvalue()


def _cell(value: object, type_: Type | None) -> str:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(_json_value(value, type_), ensure_ascii=False)
    return format_value(_as_decimal(value, type_), type_)


def _json_row(row: dict[str, object], types: dict[str, Type]) -> dict[str, object]:
    return {name: _json_value(value, types.get(name)) for name, value in row.items()}


def _json_value(value: object, type_: Type | None) -> object:
    value = _as_decimal(value, type_)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v, None) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v, None) for k, v in value.items()}
    return format_value(value, type_)  # Decimal, date, Duration: exact text


def _as_decimal(value: object, type_: Type | None) -> object:
    # An int or float in a money/decimal/percent column is still written as that type ("100.00").
    if type_ in (MONEY, DECIMAL, PERCENT) and _is_number(value) and not isinstance(value, Decimal):
        return Decimal(str(value))
    return value


def _show(value: object) -> str:
    """A raw value as quoted in messages."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# =========================================================================== streaming
#
# `RecordStream` reads the subject file one row at a time and converts each row with a converter compiled once per
# schema and file header: a direct int() / Decimal() / label lookup per column for the canonical texts files
# usually hold ("12", "35600.00", "12.5%", "true", "2024-01-05", an enum label). Whenever that fast path does not
# apply to a row (any other text, a blank, garbage), the row goes through `convert_record` above, so every message
# and every value is exactly what `load_records` gives; the fast path only ever answers where it is sure to agree.
# `ResultWriter` writes result rows one at a time, byte for byte as `write_results` writes the same rows.



class _Miss(Exception):
    """The fast path cannot convert this value; the careful path decides (and words any error)."""


_MISS = _Miss()
_MONEY_CANON = re.compile(r"-?(?:[0-9]+(?:\.[0-9]{1,2})?|\.[0-9]{1,2})").fullmatch
# At most INPUT_PLACES places (a percent's fraction too): a finer value goes the careful way, which refuses it.
_DECIMAL_CANON = re.compile(rf"-?(?:[0-9]+(?:\.[0-9]{{1,{INPUT_PLACES}}})?|\.[0-9]{{1,{INPUT_PLACES}}})").fullmatch
_PERCENT_CANON = re.compile(
    rf"(-?(?:[0-9]{{1,20}}(?:\.[0-9]{{1,{INPUT_PLACES - 2}}})?|\.[0-9]{{1,{INPUT_PLACES - 2}}}))%").fullmatch
_DATE_CANON = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch
_BOOL_WORDS = {w: w in _TRUE for w in _TRUE | _FALSE}
_LONGEST = 24  # longer numbers go the careful way (Decimal's 28-digit context must never round them)


_INT_DIGITS = 18  # an int written in at most this many characters is within types.INT_MIN..INT_MAX


def _fast_int(s: str) -> int:
    # For ASCII text without '_', int() accepts exactly what `_to_int` accepts, and gives the same number.
    if s.isascii() and "_" not in s and len(s) <= _INT_DIGITS:
        return int(s)
    raise _MISS


def _fast_decimal(s: str) -> Decimal:
    if len(s) <= _LONGEST and _DECIMAL_CANON(s):
        return Decimal(s)
    raise _MISS


def _fast_money(s: str) -> Decimal:
    if len(s) <= _LONGEST and _MONEY_CANON(s):
        return round_money(Decimal(s))
    raise _MISS


def _fast_percent(s: str) -> Decimal:
    m = _PERCENT_CANON(s)
    if m:
        return Decimal(m.group(1)).scaleb(-2)
    value = _fast_decimal(s)
    if abs(value) > 1:  # a bare number above 1: the careful path refuses it in words
        raise _MISS
    return value


def _fast_date(s: str) -> date:
    if len(s) == 10 and _DATE_CANON(s):
        return date.fromisoformat(s)  # ValueError for 2024-02-30: the careful path words it
    raise _MISS


def _fast_bool(s: str) -> bool:
    return _BOOL_WORDS[s]


def _fast_text(s: str) -> str:
    text = s.strip()
    if text:
        return text
    raise _MISS


_FAST: dict[Type, Callable[[str], object]] = {
    INT: _fast_int, DECIMAL: _fast_decimal, MONEY: _fast_money, PERCENT: _fast_percent, BOOL: _fast_bool,
    DATE: _fast_date, TEXT: _fast_text,
}


def fast_value_converter(type_: Type, record_types: dict[str, RecordType]) -> Callable[[object], object]:
    """A converter for one column: the fast path for canonical text, `convert_value` for everything else.

    It raises (anything) where `convert_value` would raise, and returns what `convert_value` returns otherwise.
    """
    def careful(raw: object) -> object:
        return convert_value(raw, type_, record_types)

    if isinstance(type_, EnumType):
        labels = {label: label for label in type_.labels if label == label.strip()}

        def enum(raw: object) -> object:
            if type(raw) is str:
                label = labels.get(raw)
                if label is not None:
                    return label
            return careful(raw)
        return enum
    fast = _FAST.get(type_)
    if fast is None:
        return careful

    def convert(raw: object) -> object:
        if type(raw) is str:
            try:
                return fast(raw)
            except (_Miss, ValueError, KeyError):
                pass
        return careful(raw)
    return convert


def _tuple_getter(indexes: list[int]) -> Callable[[object], tuple]:
    """operator.itemgetter that always gives a tuple (itemgetter(i) alone gives the bare item)."""
    if not indexes:
        return lambda row: ()
    if len(indexes) == 1:
        (i,) = indexes
        return lambda row: (row[i],)
    return operator.itemgetter(*indexes)


def _compile_text_row(fields: list[tuple[str, Type]], header: list[str],
                      record_types: dict[str, RecordType]) -> Callable[[list], list] | None:
    """For rows of text cells (CSV): cells → the converted values of `fields`, or an exception (then the careful
    path runs). Columns of int, text, enum and bool call a C function directly; their checks run once per row."""
    position = {name: i for i, name in enumerate(header) if name}
    if any(name not in position for name, _ in fields):
        return None  # a column is missing: every record fails, in the careful path's words
    fns: list[Callable] = []
    int_cells: list[int] = []
    text_values: list[int] = []
    for index, (name, ftype) in enumerate(fields):
        if isinstance(ftype, EnumType):
            fns.append({label: label for label in ftype.labels if label == label.strip()}.__getitem__)
        elif ftype == INT:
            fns.append(int)
            int_cells.append(position[name])
        elif ftype == TEXT:
            fns.append(str.strip)
            text_values.append(index)
        elif ftype == BOOL:
            fns.append(_BOOL_WORDS.__getitem__)
        elif ftype in _FAST:
            fns.append(_FAST[ftype])
        else:
            fns.append(fast_value_converter(ftype, record_types))
    pick = _tuple_getter([position[name] for name, _ in fields])
    ints = _tuple_getter(int_cells) if int_cells else None
    texts = _tuple_getter(text_values) if text_values else None

    call = operator.call

    def convert(cells: list) -> list:
        values = list(map(call, fns, pick(cells)))
        if ints is not None:
            joined = "".join(ints(cells))
            # int() also takes '1_000' and non-ASCII digits, which the careful path refuses; long ones go there too
            # (it refuses those beyond int's range)
            if not joined.isascii() or "_" in joined or max(map(len, ints(cells))) > _INT_DIGITS:
                raise _MISS
        if texts is not None and not all(texts(values)):
            raise _MISS  # a blank text cell is a missing field
        return values
    return convert


def _bounded(convert: Callable | None, rtype: RecordType, fields: list[tuple[str, Type]]) -> Callable | None:
    """A fast converter that leaves a value outside its field's declared range to the careful path (which reports
    it); fields without a range cost nothing."""
    checks = [(i, *rtype.bounds_of(name)) for i, (name, _) in enumerate(fields) if rtype.bounds_of(name)]
    if convert is None or not checks:
        return convert

    def checked(raw) -> list:
        values = convert(raw)
        for i, low, high in checks:
            if values[i] is not None and not low <= values[i] <= high:
                raise _MISS
        return values
    return checked


def _compile_typed_row(fields: list[tuple[str, Type]], header: list[str] | None,
                       record_types: dict[str, RecordType]) -> Callable[[object], list] | None:
    """For rows of typed cells (XLSX, Parquet: `header` gives the columns) or JSON objects (`header` None)."""
    fns = [fast_value_converter(ftype, record_types) for _, ftype in fields]
    if header is None:
        names = [name for name, _ in fields]

        def pick(raw):
            get = raw.get  # a JSON item that is not an object fails here; the careful path words it
            return [get(name) for name in names]
    else:
        position = {name: i for i, name in enumerate(header) if name}
        if any(name not in position for name, _ in fields):
            return None
        pick = _tuple_getter([position[name] for name, _ in fields])

    call = operator.call

    def convert(raw) -> list:
        return list(map(call, fns, pick(raw)))
    return convert


# --------------------------------------------------------------------------- streaming sources

class _Source:
    """A records file read one row at a time: `rows()` gives (position, raw) for every non-blank row.

    `cells` sources (CSV, XLSX, Parquet) give rows as sequences under `header`; the others (JSON, JSONL) give
    the items themselves. `location(position)` is the place messages cite ("x.csv:17"); `as_dict(raw)` is the row
    as `read_rows` gives it, for the careful path.
    """

    cells = True
    text = False  # every cell is str
    header: list[str] | None = None

    def __init__(self, path: Path, name: str):
        self.path, self.name = path, name

    def rows(self) -> Iterator[tuple[int, object]]:
        raise NotImplementedError

    def location(self, position: int) -> str:
        return f"{self.name}:{position}"

    def as_dict(self, raw: object) -> object:
        if isinstance(raw, MalformedCells):
            return MalformedRow(_row(self.header, raw), raw.problem)
        return _row(self.header, raw) if self.cells else raw

    def key_text(self, raw: object, column: str | None) -> str | None:
        """`_key_text` of the row's `column` cell, without building the row's dict."""
        if column is None:
            return None
        if not self.cells:
            return _key_text(raw.get(column)) if isinstance(raw, dict) else None
        index = self.column_index(column)
        if index is None or index >= len(raw):
            return None
        return _key_text(raw[index])

    def raw_cell(self, raw: object, column: str) -> object:
        if not self.cells:
            return raw.get(column) if isinstance(raw, dict) else None
        index = self.column_index(column)
        return raw[index] if index is not None and index < len(raw) else None

    def column_index(self, column: str) -> int | None:
        """Where `column` is in the header (None: not there); the header is known once the source is open."""
        index = self.__dict__.get("_index")
        if index is None:
            index = self._index = {h: i for i, h in enumerate(self.header or ()) if h}
        return index.get(column)

    def close(self) -> None:
        pass


class _CsvSource(_Source):
    text = True

    def __init__(self, path: Path, name: str):
        super().__init__(path, name)
        # newline="" keeps line breaks inside quoted cells intact; csv counts physical lines.
        self._file = open(path, encoding="utf-8-sig", newline="")
        self._lines = self._nonblank()
        first = next(self._lines, None)
        if first is None:
            self.close()
            raise DataSetupError(f"{name}: empty file; expected a header row naming the fields")
        self.header = _header(first[1], f"{name}:{first[0]}")

    def _nonblank(self) -> Iterator[tuple[int, list[str]]]:
        try:
            first = True
            for line, cells in csv_rows(self._file):
                if first and isinstance(cells, MalformedCells):
                    raise DataSetupError(f"{self.name}:{line}: malformed CSV header: {cells.problem}")
                first = False
                yield line, cells
        except UnicodeDecodeError:
            _read_text(self.path, self.name)  # raises the same message as the whole-file reader
            raise

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        return self._lines

    def close(self) -> None:
        self._file.close()


class _JsonSource(_Source):
    cells = False

    def __init__(self, path: Path, name: str):
        super().__init__(path, name)
        self._items = [item for _, item in _read_json(path, name)]  # a JSON array is parsed whole

    def rows(self) -> Iterator[tuple[int, object]]:
        return enumerate(self._items)

    def location(self, position: int) -> str:
        return f"{self.name}:[{position}]"


class _JsonlSource(_Source):
    cells = False

    def __init__(self, path: Path, name: str):
        super().__init__(path, name)
        self._file = open(path, encoding="utf-8-sig", newline="")

    def rows(self) -> Iterator[tuple[int, object]]:
        number = 0
        try:
            for physical in self._file:
                # str.splitlines on each physical line gives the lines `_read_jsonl` numbers on the whole text
                for line in physical.splitlines():
                    number += 1
                    if line.strip():
                        yield number, _jsonl_item(line)
        except UnicodeDecodeError:
            _read_text(self.path, self.name)
            raise

    def close(self) -> None:
        self._file.close()


class _XlsxSource(_Source):
    def __init__(self, path: Path, name: str):
        super().__init__(path, name)
        self._rows = _read_xlsx(path, name)  # (where, dict); xlsx sheets are at most ~1M rows
        self._first = next(self._rows, None)
        self.cells = False
        self._where: dict[int, str] = {}

    def rows(self) -> Iterator[tuple[int, object]]:
        if self._first is None:
            return
        for number, (where, raw) in enumerate(itertools.chain([self._first], self._rows), start=1):
            self._where[number] = where
            yield number, raw

    def location(self, position: int) -> str:
        return self._where[position]

    def close(self) -> None:
        self._rows.close()


class _ParquetSource(_Source):
    """A Parquet file (or a directory of part files, one after the other) read through DuckDB in chunks; cells keep
    their types (DECIMAL → Decimal, DATE → date …)."""

    CHUNK = 4096

    def __init__(self, path: Path, name: str):
        super().__init__(path, name)
        import duckdb
        self._con = duckdb.connect()
        try:
            self._result = self._con.execute("SELECT * FROM read_parquet(?)", [[str(p) for p in parquet_parts(path)]])
        except duckdb.Error as exc:
            self._con.close()
            raise DataSetupError(f"{name}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
        self.header = _header([d[0] for d in self._result.description], f"{name}: header")

    def rows(self) -> Iterator[tuple[int, tuple]]:
        index = 0
        while True:
            chunk = self._result.fetchmany(self.CHUNK)
            if not chunk:
                return
            for row in chunk:
                if not all(_is_blank(c) for c in row):
                    yield index, row
                index += 1

    def location(self, position: int) -> str:
        return f"{self.name}:[{position}]"

    def close(self) -> None:
        self._con.close()


_SOURCES = {".csv": _CsvSource, ".json": _JsonSource, ".jsonl": _JsonlSource, ".xlsx": _XlsxSource,
            PARQUET: _ParquetSource}


def _open_source(path: str | Path) -> _Source:
    path = Path(path)
    source = _SOURCES.get(path.suffix.lower())
    if source is None:
        raise DataSetupError(f"{path}: unsupported file type '{path.suffix}' (use {', '.join(READ_SUFFIXES)})")
    _check_exists(path)
    return source(path, str(path))


def _read_parquet(path: Path, name: str) -> Iterator[tuple[str, dict[str, object]]]:
    return _source_rows(_ParquetSource, path, name)


_READERS[PARQUET] = _read_parquet


# --------------------------------------------------------------------------- keys seen

class _KeysSeen:
    """Every key seen so far, with where it was first seen, in about 20 bytes a key (a dict would take ~130).

    Keys live in small strings, one per hash bucket: "\\x01" key "\\x00" position "\\x01" key … — so a lookup is
    one substring search in a short string. A key holding either separator itself goes to a plain dict.
    """

    def __init__(self) -> None:
        self._mask = 1023
        self._buckets: list[str] = ["\x01"] * (self._mask + 1)
        self._count = 0
        self._odd: dict[str, int] = {}

    def first(self, key: str, position: int) -> int | None:
        """The position where `key` was first seen; None (and `key` remembered at `position`) if it is new."""
        if "\x00" in key or "\x01" in key:
            if key in self._odd:
                return self._odd[key]
            self._odd[key] = position
            return None
        slot = hash(key) & self._mask
        bucket = self._buckets[slot]
        needle = f"\x01{key}\x00"
        at = bucket.find(needle)
        if at >= 0:
            start = at + len(needle)
            return int(bucket[start:bucket.index("\x01", start)])
        self._buckets[slot] = f"{bucket}{key}\x00{position}\x01"
        self._count += 1
        if self._count > 16 * self._mask:
            self._grow()
        return None

    def _grow(self) -> None:
        """Four times the buckets, one old bucket at a time (a key in old bucket i goes to i + k * old size), so
        that growing never holds more than the store itself and one bucket taken apart."""
        old, size = self._buckets, self._mask + 1
        mask, shift = size * 4 - 1, size.bit_length() - 1
        new: list[str] = ["\x01"] * (mask + 1)
        for i in range(size):
            parts: tuple[list[str], ...] = ([], [], [], [])
            for entry in old[i].split("\x01")[1:-1]:
                parts[(hash(entry[:entry.index("\x00")]) & mask) >> shift].append(entry)
            old[i] = ""
            for k, entries in enumerate(parts):
                if entries:
                    new[i + k * size] = "\x01" + "\x01".join(entries) + "\x01"
        self._buckets, self._mask = new, mask


# --------------------------------------------------------------------------- related files

class _RelatedFile:
    """The rows of one related file grouped by their `by` value, kept compact (CSV rows as one UTF-8 string)."""

    def __init__(self, field: str, file: str | Path, subject: RecordType, ftype: ListOf,
                 record_types: dict[str, RecordType]):
        self.field, self.subject, self.by = field, subject, ftype.by
        self.element = _element_type(ftype, record_types)
        _check_related_element(Path(file), self.element)
        self.source = source = _open_source(file)
        self.names = self.element.field_names
        fields = list(self.element.fields)
        if source.text:
            self._convert = _compile_text_row(fields, source.header, record_types)
        else:
            self._convert = _compile_typed_row(fields, source.header if source.cells else None, record_types)
        self._convert = _bounded(self._convert, self.element, fields)
        self.groups: dict[str, list] = {}
        self.keyless: list = []
        self.claimed: set[str] = set()
        self.malformed: list[DataError] = []
        try:
            for number, (position, raw) in enumerate(source.rows(), start=1):
                key = source.key_text(raw, self.by)
                if isinstance(raw, MalformedCells):  # reported with the orphans; its parent does not get it
                    self.malformed.append(DataError(source.location(position), f"#{number}", None, None,
                                                    f"related row of {key or '?'}: {raw.problem}"))
                    continue
                packed = self._pack(number, position, raw)
                if key is None:
                    self.keyless.append(packed)
                else:
                    self.groups.setdefault(key, []).append(packed)
        finally:
            source.close()

    def _pack(self, number: int, position: int, raw: object) -> object:
        if self.source.text:
            text = "\x00".join(raw)
            if text.count("\x00") == len(raw) - 1:  # no cell holds a NUL itself
                return f"{number}\x00{position}\x00{text}".encode("utf-8", "surrogatepass")
        return (number, position, raw)

    @staticmethod
    def _unpack(packed: object) -> tuple[int, int, object]:
        if isinstance(packed, bytes):
            number, position, cells = packed.decode("utf-8", "surrogatepass").split("\x00", 2)
            return int(number), int(position), cells.split("\x00")
        return packed

    def claim(self, key: str) -> list:
        self.claimed.add(key)
        return self.groups.get(key, [])

    def values(self, packed_rows: list) -> tuple[dict, ...]:
        """The related rows converted (fast path only); raises if any row needs the careful path."""
        if self._convert is None:
            raise _MISS
        convert, names, unpack = self._convert, self.names, self._unpack
        return tuple(dict(zip(names, convert(unpack(p)[2]))) for p in packed_rows)

    def raw_rows(self, packed_rows: list) -> list[tuple[str, object]]:
        """The rows as `convert_record` takes them: (location, row dict)."""
        rows = []
        for packed in packed_rows:
            _, position, raw = self._unpack(packed)
            rows.append((self.source.location(position), self.source.as_dict(raw)))
        return rows

    def orphans(self) -> list[DataError]:
        """Rows matching no subject record, in file order, worded as `load_records` words them."""
        lost = list(self.keyless)
        lost += [p for key, group in self.groups.items() if key not in self.claimed for p in group]
        found = sorted((self._unpack(p) for p in lost), key=lambda row: row[0])
        return self.malformed + [_orphan(self.source.location(position), self.source.as_dict(raw), self.element, self.by,
                        self.subject, number) for number, position, raw in found]


# --------------------------------------------------------------------------- the record stream

class RecordStream:
    """The records of `subject` in `path`, one at a time, validated exactly as `load_records` validates them.

        stream = RecordStream("data/x.csv", subject, record_types, {"网格": "data/grids.csv"})
        for record_id, values in stream:   # values: field values in schema order, or None for a failed record
            ...
        stream.errors, stream.failed_ids    # complete once the loop has ended (orphan rows come last)

    Only the errors, the keys seen (for duplicate keys, ~20 bytes a key) and the related files' rows (grouped in
    memory: they are the smaller side) are kept; the subject file is never held whole (JSON arrays excepted).
    """

    def __init__(self, path: str | Path, subject: RecordType, record_types: dict[str, RecordType],
                 related_files: dict[str, str | Path] | None = None):
        related_files = dict(related_files or {})
        self.path, self.subject, self.record_types = Path(path), subject, record_types
        _check_related_setup(self.path, subject, record_types, related_files)
        self.errors: list[DataError] = []
        self.failed_ids: list[str] = []
        self.source = source = _open_source(path)
        try:
            self._rows = source.rows()
            self._first = next(self._rows, None)
            self._check_columns(related_files)
            self.related = {name: _RelatedFile(name, file, subject, subject.field(name), record_types)
                            for name, file in related_files.items()}
        except BaseException:
            source.close()
            raise
        own = [(name, t) for name, t in subject.fields if name not in self.related]
        header = source.header if source.cells else None
        if source.text:
            self._convert = _compile_text_row(own, header, record_types)
        else:
            self._convert = _compile_typed_row(own, header, record_types)
        self._convert = _bounded(self._convert, subject, own)
        # where each relation's values go in the field list
        self._inserts = [(i, self.related[name]) for i, (name, _) in enumerate(subject.fields) if name in self.related]

    def _check_columns(self, related_files: dict) -> None:
        source, subject = self.source, self.subject
        if self.path.suffix.lower() in FLAT_SUFFIXES and self._first is not None:
            _check_header(self.path, subject, [(None, source.as_dict(self._first[1]))])
        if self.path.suffix.lower() == PARQUET:
            columns = set(source.header or ())
            if self._first is not None and not columns & set(subject.field_names):
                raise DataSetupError(f"{self.path}: no column matches a field of {subject.name} "
                                     f"(fields: {', '.join(subject.field_names)})")
            for name, t in subject.fields:
                if isinstance(t, ListOf) and name not in related_files and name not in columns:
                    raise DataSetupError(f"{self.path}: records of {subject.name} have the relation field {name} "
                                         f"(a list of {t.element}); the file has no column {name}, so give its "
                                         f"rows in a separate file: --related {name}=FILE")

    def __iter__(self) -> Iterator[tuple[str, list | None]]:
        source, subject, record_types = self.source, self.subject, self.record_types
        key_column, field_names = subject.key, subject.field_names
        convert, inserts, seen = self._convert, self._inserts, _KeysSeen()
        errors, failed_ids = self.errors, self.failed_ids
        key_index = source.column_index(key_column) if source.text and key_column else None
        key_text, raw_cell = source.key_text, source.raw_cell
        rows = self._rows if self._first is None else itertools.chain([self._first], self._rows)
        try:
            for number, (position, raw) in enumerate(rows, start=1):
                if key_index is not None:
                    key = (raw[key_index].strip() or None) if key_index < len(raw) else None  # == _key_text
                else:
                    key = key_text(raw, key_column)
                values = None
                if convert is not None and type(raw) is not MalformedCells:
                    try:
                        values = convert(raw)
                        for index, related in inserts:
                            values.insert(index, related.values(related.claim(key) if key is not None else []))
                    except Exception:
                        values = None
                first = seen.first(key, position) if key is not None else None
                if values is not None and first is None:
                    yield (key if key is not None else f"#{number}"), values
                    continue
                # the careful path: the fast one refused this record, or its key is a duplicate
                where = source.location(position)
                record, problems = None, []
                if values is None:
                    for _, related in inserts:
                        if key is not None:
                            related.claim(key)
                    rel = {related.field: ({key: related.raw_rows(related.groups.get(key, []))}
                                           if key is not None else {}) for _, related in inserts}
                    record, problems = convert_record(source.as_dict(raw), subject, record_types, where, rel,
                                                      row_number=number)
                if first is not None:
                    problems = problems + [DataError(
                        where, key, key_column, raw_cell(raw, key_column),
                        f"duplicate key: {key_column} {key} is already used at {source.location(first)}")]
                if problems:
                    errors.extend(problems)
                    failed_ids.append(problems[0].record_id)
                    yield problems[0].record_id, None
                else:
                    yield record.id, [record.values[name] for name in field_names]
        finally:
            source.close()
        for related in self.related.values():
            errors.extend(related.orphans())


# --------------------------------------------------------------------------- writing results one row at a time

def _text_formatter(type_: Type | None, csv_safe: bool = False) -> Callable[[object], str]:
    """`_cell` for one column, with the common cases first (the same text, computed more directly)."""
    if type_ == MONEY:
        def money(x):
            if type(x) is Decimal:
                text = str(x)
                if text[-3:-2] == ".":  # a value at the fen (exponent -2): str() already is its text
                    return "0.00" if text == "-0.00" else text
                return f"{abs(x) if x.is_zero() else x:.2f}"  # == format_value: no "-0.00"
            return _cell(x, type_)
        return money
    if type_ in (DECIMAL, PERCENT):
        return lambda x: format_value(x, type_) if type(x) is Decimal else _cell(x, type_)
    if type_ == INT:
        return lambda x: str(x) if type(x) is int else _cell(x, type_)
    if type_ == BOOL:
        return lambda x: "true" if x is True else "false" if x is False else _cell(x, type_)
    if type_ == TEXT or isinstance(type_, EnumType):
        if csv_safe:  # results files are opened in spreadsheets: no text cell may run as a formula
            return lambda x: neutralise_cell(x) if type(x) is str else _cell(x, type_)
        return lambda x: x if type(x) is str else _cell(x, type_)
    if type_ == DATE:
        return lambda x: str(x) if type(x) is date else _cell(x, type_)
    return lambda x: _cell(x, type_)


def _json_formatter(type_: Type | None) -> Callable[[object], object]:
    """`_json_value` for one column, the common cases first."""
    if type_ == MONEY:
        def money(x):
            if type(x) is Decimal:
                text = str(x)
                if text[-3:-2] == ".":
                    return "0.00" if text == "-0.00" else text
                return f"{abs(x) if x.is_zero() else x:.2f}"
            return _json_value(x, type_)
        return money
    if type_ in (DECIMAL, PERCENT):
        return lambda x: format_value(x, type_) if type(x) is Decimal else _json_value(x, type_)
    if type_ in (INT, BOOL, TEXT) or isinstance(type_, EnumType):
        return lambda x: x if type(x) in (int, str, bool) else _json_value(x, type_)
    if type_ == DATE:
        return lambda x: str(x) if type(x) is date else _json_value(x, type_)
    return lambda x: _json_value(x, type_)


#: Parquet column types by value type; every other type is written as its text (VARCHAR).
PARQUET_TYPES = {MONEY: "DECIMAL(38,2)", DECIMAL: "DECIMAL(38,10)", PERCENT: "DECIMAL(38,10)", INT: "BIGINT",
                 BOOL: "BOOLEAN", DATE: "DATE"}


def _parquet_formatter(type_: Type | None) -> Callable[[object], object]:
    """A value as the JSON text DuckDB casts to the column's Parquet type (percent as its fraction: 30% → 0.3)."""
    if type_ in (MONEY, DECIMAL, PERCENT):
        def number(x):
            x = _as_decimal(x, type_)
            return f"{x:f}" if isinstance(x, Decimal) else _json_value(x, type_)
        return number
    if type_ == INT:
        return lambda x: str(x) if type(x) is int else _json_value(x, type_)
    if type_ == BOOL:
        return lambda x: x if type(x) is bool else _json_value(x, type_)
    if type_ == DATE:
        return lambda x: x.isoformat() if isinstance(x, date) else _json_value(x, type_)
    return lambda x: None if x is None else _cell(x, type_)


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class ResultWriter:
    """Writes result rows one at a time to .csv, .jsonl, .json or .parquet (by suffix).

        with ResultWriter("out.csv", ["编号", "星级"], types) as out:
            out.write(("JY001", 3))

    For .csv/.jsonl/.json the bytes are exactly `write_results`' for the same rows (a header row only once a row
    has come, as there). Parquet columns are typed: money DECIMAL(38,2); decimal and percent (as a fraction)
    DECIMAL(38,10); int BIGINT; bool BOOLEAN; date DATE; everything else VARCHAR. The file appears under its name
    only when `close()` finishes; `abort()` (or an exception inside `with`) leaves any existing file untouched.
    """

    def __init__(self, path: str | Path, columns: list[str], types: dict[str, Type]):
        self.path = Path(path)
        self.suffix = suffix = self.path.suffix.lower()
        if suffix not in WRITE_SUFFIXES:
            raise DataSetupError(f"{path}: cannot write results as '{self.path.suffix}' "
                                 f"(use {', '.join(WRITE_SUFFIXES)})")
        self.columns = list(columns)
        self._column_types = column_types = [types.get(c) for c in self.columns]
        self._rows = 0
        target = Path(os.path.realpath(self.path))  # through a symlink, as writing in place would go
        self._target = target
        self._partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        self._scratch: Path | None = None
        if suffix == ".csv":
            self._format = [_text_formatter(t, csv_safe=not RAW_CELLS.get()) for t in column_types]
        elif suffix == PARQUET:
            self._format = [_parquet_formatter(t) for t in column_types]
            self._keys = [f"c{i}" for i in range(len(self.columns))]
            self._scratch = target.with_name(f".{target.name}.{os.getpid()}.rows.jsonl")
        else:
            self._format = [_json_formatter(t) for t in column_types]
        self._file = open(self._scratch or self._partial, "w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._file, lineterminator="\n") if suffix == ".csv" else None
        self._pending: list[list[str]] = []
        self._header_written = False
        self._encode = json.JSONEncoder(ensure_ascii=False, indent=2 if suffix == ".json" else None).encode

    def write(self, row: tuple | list) -> None:
        """One result row: its values in `columns` order (runtime values, formatted here)."""
        self._rows += 1
        cells = list(map(operator.call, self._format, row))
        if self._csv is not None:
            self._pending.append(cells)
            if len(self._pending) >= 512:
                self._flush()
        elif self.suffix == ".jsonl":
            self._file.write(self._encode(dict(zip(self.columns, cells))) + "\n")
        elif self.suffix == ".json":
            text = self._encode(dict(zip(self.columns, cells))).replace("\n", "\n  ")
            self._file.write(("[\n  " if self._rows == 1 else ",\n  ") + text)
        else:
            self._file.write(self._encode(dict(zip(self._keys, cells))) + "\n")

    def _flush(self) -> None:
        if self._pending:
            if not self._header_written:
                self._csv.writerow(self.columns)
                self._header_written = True
            self._csv.writerows(self._pending)
            self._pending.clear()

    def close(self) -> None:
        """Finish the file and put it in place."""
        try:
            if self._csv is not None:
                self._flush()
            if self._csv is not None and self._rows == 0:
                self._csv.writerow(self.columns)  # no record evaluated: the header row alone, as every engine writes
            elif self.suffix == ".json":
                self._file.write("[]\n" if self._rows == 0 else "\n]\n")
            self._file.close()
            if self.suffix == PARQUET:
                self._write_parquet()
            if self._target.exists():  # keep the mode of the file it replaces, as writing in place would
                os.chmod(self._partial, self._target.stat().st_mode & 0o7777)
            os.replace(self._partial, self._target)
        except BaseException:
            self.abort()
            raise
        finally:
            if self._scratch is not None:
                self._scratch.unlink(missing_ok=True)

    def abort(self) -> None:
        """Stop writing and remove what was written."""
        self._file.close()
        for scratch in (self._partial, self._scratch):
            if scratch is not None:
                scratch.unlink(missing_ok=True)

    def _write_parquet(self) -> None:
        import duckdb
        types = [PARQUET_TYPES.get(t, "VARCHAR") for t in self._column_types]
        columns = "{" + ", ".join(f"'{k}': 'VARCHAR'" for k in self._keys) + "}"
        select = ", ".join(f"CAST({k} AS {t}) AS {_sql_name(c)}" for k, t, c in zip(self._keys, types, self.columns))
        query = (f"COPY (SELECT {select} FROM read_json({_sql_text(str(self._scratch))}, "
                 f"format='newline_delimited', columns={columns})) "
                 f"TO {_sql_text(str(self._partial))} (FORMAT parquet)")
        con = duckdb.connect()
        try:
            con.execute(query)
        except duckdb.Error as exc:
            raise DataSetupError(f"{self.path}: cannot write Parquet ({str(exc).splitlines()[0]})") from None
        finally:
            con.close()

    def __enter__(self) -> "ResultWriter":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
