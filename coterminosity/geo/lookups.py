"""LSOA → unit membership of the catalogue layers, read from the ONS lookups (no geometry)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from .build import Membership, membership_from_table
from .catalogue import DATASETS, LAYERS, dataset_path
from .read import read_table
from .smallareas import small_area_table


def read_lookup(name: str, data_dir, columns: list[str]) -> pd.DataFrame:
    """The ``columns`` of catalogue lookup ``name``, or a one-line error naming the missing one."""
    path = dataset_path(name, data_dir)
    table = read_table(path)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"{path}: no column {missing[0]!r}; expected the ONS lookup {DATASETS[name].title}")
    return table[columns]


def named_membership(name: str, data_dir=None) -> Membership:
    """LSOA → unit membership for a catalogue layer, from the ONS lookups (no geometry)."""
    recipe = LAYERS[name]
    codes = small_area_table(data_dir)["code"]
    if name == "lsoa11":
        table = small_area_table(data_dir)
        return membership_from_table(codes, table, "code", "code", "name", "lsoa11")
    if name == "lad11":
        table = small_area_table(data_dir)[["code", "LAD11CD", "name"]].copy()
        # LSOA names are "<district name> 057B": the district name is all but the last word.
        table["LAD11NM"] = table["name"].str.rsplit(" ", n=1).str[0]
        return membership_from_table(codes, table, "code", "LAD11CD", "LAD11NM", "lsoa11 LAD11CD")
    if name == "upper17":
        utla = read_lookup("lookup_lsoa11_utla17", data_dir, ["LSOA11CD", "UTLA17CD", "UTLA17NM"])
        lad = read_lookup("lookup_lsoa11_ccg17_stp17_lad17", data_dir, ["LSOA11CD", "LAD17CD", "LAD17NM"])
        table = lad.merge(utla, on="LSOA11CD", how="left")
        county = table["UTLA17CD"].fillna("").str.startswith("E10")
        # Two-tier areas: the county (E10). Elsewhere the district itself is the upper tier:
        # the lookup's E11/E13 codes are metropolitan counties and Inner/Outer London, not councils.
        table["UPPER17CD"] = np.where(county, table["UTLA17CD"], table["LAD17CD"])
        table["UPPER17NM"] = np.where(county, table["UTLA17NM"], table["LAD17NM"])
        return membership_from_table(codes, table, "LSOA11CD", "UPPER17CD", "UPPER17NM", "upper17 lookups")
    table = read_lookup(recipe.lookup, data_dir, ["LSOA11CD", recipe.code_col, recipe.name_col])
    return membership_from_table(codes, table, "LSOA11CD", recipe.code_col, recipe.name_col,
                                 str(dataset_path(recipe.lookup, data_dir)))
