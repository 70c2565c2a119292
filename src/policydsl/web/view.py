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
    env.filters["day"] = day
    env.filters["amount"] = amount
    env.filters["param_value"] = param_value
    env.globals["policy_words"] = policy_words
    return env


def amount(value: str | None, type_name: str = "") -> str:
    """A stored total in Chinese office style: thousands separated, money with 元 ('2,673,696.00 元')."""
    from decimal import Decimal, InvalidOperation
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if type_name == "money":
        return f"{number:,.2f} 元"
    if type_name == "percent":
        return f"{number * 100:,f}".rstrip("0").rstrip(".") + "%"
    return f"{number:,}"


def param_value(p: dict) -> str:
    """A stored parameter's value as an official reads it: amounts formatted, yes/no in Chinese, dates in full."""
    value, kind = p.get("value"), p.get("type", "")
    if kind in ("money", "percent", "int", "decimal"):
        return amount(value, kind)
    if isinstance(value, bool):
        return "是" if value else "否"
    if kind == "date" and isinstance(value, str):
        return day(value)
    return "" if value is None else str(value)


def policy_words(batch, lang: str) -> str:
    """The policy's name as a reader of `lang` knows it: its Chinese name in Chinese, its title in English."""
    if lang == "zh":
        return batch.policy_name
    return batch.policy_title or batch.policy_name


def day(value: str | None, lang: str = "zh") -> str:
    """A date (ISO text, or a stored UTC time, shown as the Beijing date) as written in `lang`: 2024年12月31日."""
    if not value:
        return ""
    if "T" in value:
        value = datetime.fromisoformat(value).astimezone(BEIJING).date().isoformat()
    y, m, d = (int(p) for p in value[:10].split("-"))
    if lang == "zh":
        return f"{y}年{m}月{d}日"
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
    return f"{d} {months[m - 1]} {y}"


BEIJING = timezone(timedelta(hours=8), "北京时间")


def local_time(iso: str | None) -> str:
    """A stored UTC time as Beijing time to the minute ('2026-12-02 09:15'), the time people in the county use."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def render(template: str, **context) -> str:
    """A page rendered from `templates/<template>`."""
    return environment().get_template(template).render(**context)
