"""Shared paths and fixtures of the Python tests.

pytest's configuration (pyproject.toml at the repository root) puts ``models/`` and
``models/convert/`` on ``sys.path``, so the tests import ``zemel``, ``export_hf_clip`` and the
conversion scripts directly; run them from the repository root:

    var/pyenv/bin/python -m pytest -q models/tests
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the repository root
MODELS = ROOT / "models"
FIXTURES = ROOT / "test/fixtures"  # shared with the TypeScript tests


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """test/fixtures (images, reference outputs) shared with the TypeScript tests."""
    return FIXTURES
