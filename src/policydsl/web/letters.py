"""Decision letters: the page a county prints and sends to each person, with their access code and a QR code.

A letter states the deciding office, the date, the batch, the person, the conclusion (each outcome in words), where
to read the full explanation (the service's address, also as a QR code drawn by segno) and the access code to
use there, and how to object. `write_letters` writes one file per person for printing, named by an unguessable
token (an index file maps tokens to ids for the office), because file names are seen by whoever handles them.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import segno
from markupsafe import Markup

from ..store import batches
from ..store.codes import code_for, masked
from .texts import TEXTS
from .view import environment


def qr_svg(url: str) -> Markup:
    """An inline SVG QR code of `url` (segno; our own markup, so it is marked safe)."""
    return Markup(segno.make(url, error="m").svg_inline(scale=3, border=2, dark="#1b1f24"))


def letter_html(store, batch, decision, base_url: str, lang: str = "zh", show_code: bool = True,
                office: str | None = None) -> str:
    """One person's decision letter as a printable HTML page (A4 print stylesheet)."""
    code = code_for(store.key, batch.uid, decision.record_id)
    url = f"{base_url.rstrip('/')}/?batch={batch.id}"
    headlines = decision.trace.get("headlines", {}).get(lang, [])
    return environment().get_template("letter.html").render(
        t=TEXTS[lang], lang=lang, batch=batch, decision=decision, headlines=headlines, url=url,
        code=code if show_code else masked(code), qr=qr_svg(url), office=office)


def write_letters(store, batch_id: int, folder: str | Path, base_url: str, lang: str = "zh",
                  office: str | None = None) -> int:
    """Write every person's letter of a batch into `folder` (token-named files plus `index.tsv`); returns how many."""
    batch = batches.get_batch(store, batch_id)
    if batch is None:
        raise batches.PublishError(f"there is no complete batch {batch_id}")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    index = ["file\trecord\tname"]
    count = 0
    for decision in batches.decisions_of(store, batch_id):
        name = f"letter-{secrets.token_hex(8)}.html"
        (out / name).write_text(letter_html(store, batch, decision, base_url, lang, office=office), encoding="utf-8")
        index.append(f"{name}\t{decision.record_id}\t{decision.label or ''}")
        count += 1
    (out / "index.tsv").write_text("\n".join(index) + "\n", encoding="utf-8")
    return count
