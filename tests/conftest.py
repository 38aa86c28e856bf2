"""Shared test set-up: the real data folder (if present) and a private cache per test session."""

from __future__ import annotations

import logging
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
# Notes and progress stay off the tests' stderr (warnings and errors still show), as `-q` would.
logging.getLogger("coterminosity").setLevel(logging.WARNING)


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
def ons_lsoas(data_dir):
    """The independent answer for real-data tests: one row per LSOA with its STP, CCG, district,
    upper-tier council (``upper``: the county in two-tier areas, else the district) and mid-2019
    population, straight from the ONS CSVs with pandas (no coterminosity code). Do not modify."""
    import numpy as np
    import pandas as pd

    lk = pd.read_csv(data_dir / "lookup_lsoa11_ccg17_stp17_lad17.csv", dtype=str)
    ut = pd.read_csv(data_dir / "lookup_lsoa11_utla17.csv", dtype=str)[["LSOA11CD", "UTLA17CD"]]
    pop = pd.read_csv(data_dir / "population_lsoa11_mid2019.csv", dtype={"LSOA11CD": str})
    t = lk.merge(ut, on="LSOA11CD").merge(pop[["LSOA11CD", "population"]], on="LSOA11CD")
    t["upper"] = np.where(t["UTLA17CD"].str.startswith("E10"), t["UTLA17CD"], t["LAD17CD"])
    return t


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if DATA_DIR is None:
        pytest.skip("real ONS data folder not found (set COTERM_DATA)")
    return DATA_DIR
