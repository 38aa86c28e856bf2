"""Shared test set-up: the real data folder (if present) and a private cache per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_dir() -> Path | None:
    env = os.environ.get("COTERM_DATA")
    for candidate in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if (candidate / "lsoa11_england.gpkg").is_file():
            return candidate
    return None


DATA_DIR = _data_dir()
if DATA_DIR is not None:
    os.environ["COTERM_DATA"] = str(DATA_DIR)
os.environ.setdefault("COTERM_QUIET", "1")


def pytest_configure(config):
    # One cache per session unless the caller chose one (CI keeps it inside the checkout).
    if "COTERM_CACHE" not in os.environ:
        os.environ["COTERM_CACHE"] = str(REPO / ".pytest_cache" / "coterm-cache")


def pytest_collection_modifyitems(config, items):
    if DATA_DIR is not None:
        return
    skip = pytest.mark.skip(reason="real ONS data folder not found (set COTERM_DATA)")
    for item in items:
        if "realdata" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if DATA_DIR is None:
        pytest.skip("real ONS data folder not found (set COTERM_DATA)")
    return DATA_DIR
