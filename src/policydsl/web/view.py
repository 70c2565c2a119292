"""The jinja2 environment of the service's pages: autoescaped always, templates loaded once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment() -> jinja2.Environment:
    """Every template autoescaped (not only .html): a value from a record or a form is always text, never markup."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = local_time
    return env


BEIJING = timezone(timedelta(hours=8), "北京时间")


def local_time(iso: str | None) -> str:
    """A stored UTC time as Beijing time to the minute ('2026-12-02 09:15'), the time people in the county use."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def render(template: str, **context) -> str:
    """A page rendered from `templates/<template>`."""
    return environment().get_template(template).render(**context)
