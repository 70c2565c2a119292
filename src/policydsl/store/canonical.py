"""Values as canonical JSON, and the hashes the ledger is built from.

A stored value must read back as exactly the value that was evaluated, and hash the same on every machine and
database: Decimals are written as their exact text ("1000.00", never a float), dates as ISO dates, durations in
the words the records reader accepts ("3 个月 5 天"), related records as lists of objects. Keys are sorted and
no whitespace is added, so the same value always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal

from ..types import Duration


def jsonable(value: object) -> object:
    """`value` (in runtime form) as plain JSON data, exactly: Decimal → text, date → ISO text, tuple → list."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


def dumps(data: object) -> str:
    """Canonical JSON text: sorted keys, no spaces, non-ASCII kept (Chinese stays readable in the database)."""
    return json.dumps(jsonable(data), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256(data: bytes | str) -> str:
    """Hex SHA-256 of bytes, or of text as UTF-8."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def row_digest(fields: dict[str, object]) -> str:
    """The hash of a row's content: canonical JSON of its fields, bytes replaced by their own hash."""
    plain = {k: ("sha256:" + sha256(bytes(v))) if isinstance(v, (bytes, bytearray, memoryview)) else v
             for k, v in fields.items()}
    return sha256(dumps(plain))
