"""Citizens' access codes: printed on each person's decision letter, asked for with their id to read it.

A code is derived, not stored: HMAC-SHA256 of the store's secret key with the batch's uid and the record id,
written as 12 characters of Crockford's base32 (60 bits; no I, L, O or U to misread) in groups of four. So a
letter can be reprinted by an official at any time, a code from another batch or for another person never
matches, and a stolen database (without the key, which is kept outside it) reveals no code. Codes are compared in
constant time, and guessing is rate-limited by the service (`web.security`).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
LENGTH = 12
_READ_AS = {"O": "0", "I": "1", "L": "1"}  # what people type for the letters the alphabet leaves out


def code_for(key: bytes, batch_uid: str, record_id: str) -> str:
    """The access code of one person in one batch, as printed: 'K3M9-Q2TX-7HBD'."""
    mac = hmac.new(key, f"access-code|{batch_uid}|{record_id}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(mac[:8], "big") >> 4  # 60 bits
    chars = []
    for _ in range(LENGTH):
        number, digit = divmod(number, 32)
        chars.append(ALPHABET[digit])
    text = "".join(reversed(chars))
    return "-".join(text[i:i + 4] for i in range(0, LENGTH, 4))


def normalise(typed: str) -> str:
    """What a person typed, as a code: full-width forms folded, case, spaces and dashes ignored, O→0, I/L→1."""
    text = unicodedata.normalize("NFKC", typed or "").upper()
    text = "".join(_READ_AS.get(ch, ch) for ch in text if ch.isalnum())
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def matches(key: bytes, batch_uid: str, record_id: str, typed: str) -> bool:
    """Whether `typed` is this person's code (constant time in the typed text's content)."""
    expected = code_for(key, batch_uid, record_id).encode()
    given = normalise(typed).encode()
    return hmac.compare_digest(expected, given)


def masked(code: str) -> str:
    """A code with all but its last group hidden, for pages that must not repeat it: '****-****-7HBD'."""
    return "****-****-" + code[-4:]
