"""Shared fixtures: write a policy text to a temporary file and check or compile it."""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap

import pytest

from policydsl import api
from policydsl.engines.row import Engine

_CACHE_HOME: str | None = None


def pytest_configure(config):
    """The suite keeps its caches (parse tables, the compile cache) in a folder of its own, set before any test
    or command it starts runs: it neither reads nor fills the user's ~/.cache/policydsl."""
    global _CACHE_HOME
    _CACHE_HOME = tempfile.mkdtemp(prefix="policydsl-test-cache-")
    os.environ["XDG_CACHE_HOME"] = _CACHE_HOME


def pytest_unconfigure(config):
    if _CACHE_HOME is not None:
        shutil.rmtree(_CACHE_HOME, ignore_errors=True)


@pytest.fixture
def write(tmp_path):
    """write(text, name="p.policy") → path of the file, dedented."""

    def _write(text: str, name: str = "p.policy") -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return str(path)

    return _write


@pytest.fixture
def engine(write):
    """engine(text) → Engine for a policy that must check clean."""

    def _engine(text: str) -> Engine:
        return Engine(api.load_policy(write(text)))

    return _engine


@pytest.fixture
def errors(write):
    """errors(text) → list of error messages `check` reports."""

    def _errors(text: str) -> list[str]:
        report = api.check([write(text)])
        return [d.message for d in report.errors]

    return _errors
