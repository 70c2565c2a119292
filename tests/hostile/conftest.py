"""The hostile tests' fixtures; their helpers are in hostile_support.py."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """A folder for the session's big generated cases (made once per run)."""
    return tmp_path_factory.mktemp("hostile")
