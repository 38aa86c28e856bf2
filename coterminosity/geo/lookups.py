"""LSOA → unit membership of the catalogue layers, read from the ONS lookups (no geometry).

Every catalogue layer must assign each of the LSOA polygons to exactly one unit: a lookup
whose LSOAs differ from the polygons, or a route that would put one LSOA in two units, stops
with a one-line error naming how many and an example.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from .build import Membership, membership_from_table
from .catalogue import DATASETS, LayerRecipe, bundled, dataset_path, layer_recipe
from .read import read_table
from .smallareas import small_area_table

KEY = "LSOA11CD"
ENGLAND = "E"  # English LSOA codes start E01


def read_lookup(name: str, data_dir, columns: list[str]) -> pd.DataFrame:
    """The ``columns`` of catalogue lookup ``name``, or a one-line error naming the missing one."""
    path = dataset_path(name, data_dir)
    table = read_table(path)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"{path}: no column {missing[0]!r}; expected the ONS lookup {DATASETS[name].title}")
    return table[columns]


def named_membership(name: str, data_dir=None) -> Membership:
    """LSOA → unit membership for a catalogue layer, checked to cover each LSOA polygon exactly once."""
    recipe = layer_recipe(name)
    if recipe.alias_of:
        return named_membership(recipe.alias_of, data_dir)
    small = small_area_table(data_dir)
    codes = small["code"]
    if recipe.how == "small_areas":
        members = pd.DataFrame({"small_code": codes.to_numpy(), "code": codes.to_numpy()})
        return Membership(members=members, names=dict(zip(small["code"], small["name"])))
    if recipe.how == "lsoa_parent":
        table = small[["code", "LAD11CD", "name"]].copy()
        # LSOA names are "<district name> 057B": the district name is all but the last word.
        table["LAD11NM"] = table["name"].str.rsplit(" ", n=1).str[0]
        return membership_from_table(codes, table, "code", "LAD11CD", "LAD11NM", "lsoa11 LAD11CD")
    if recipe.how in ("lookup", "via", "upper") and all(bundled(n, data_dir) for n in recipe.sources[1:]):
        from ..data import england

        table, names = england.membership(name)
        if np.array_equal(table[KEY].to_numpy(), codes.to_numpy()):  # the bundle's own LSOAs: checked when built
            return Membership(members=table.rename(columns={KEY: "small_code"}), names=names)
        table["name"] = table["code"].map(names)
        where = f"{name} in the bundled England set"
        membership = membership_from_table(codes, table, KEY, "code", "name", where)
        check_exact(membership, where, int(codes.str.startswith(ENGLAND).sum()))
        return membership
    where = str(dataset_path(recipe.lookup, data_dir))
    if recipe.how == "lookup":
        table = read_lookup(recipe.lookup, data_dir, [KEY, recipe.code_col, recipe.name_col])
    elif recipe.how == "via":
        table = _via(recipe, data_dir)
    elif recipe.how == "upper":
        table = _upper(recipe, data_dir)
    else:
        raise InputError(f"{name}: a {recipe.how} layer has no LSOA membership")
    membership = membership_from_table(codes, table, KEY, recipe.code_col, recipe.name_col, where)
    check_exact(membership, where, int(codes.str.startswith(ENGLAND).sum()))
    return membership


def check_exact(membership: Membership, where: str, polygons: int) -> None:
    """A one-line error when a lookup's English LSOAs differ from the polygons' or one LSOA is under two units.

    The catalogue layers cover England: LSOAs elsewhere (Wales, in files fetched for England and
    Wales) that one side lacks are left out, and the layer's notes count them.
    """
    english = [[c for c in codes if c.startswith(ENGLAND)] for codes in (membership.missing, membership.unknown)]
    for codes, what in ((english[0], f"of the {polygons:,} English LSOA polygons are not in the lookup"),
                        (english[1], "in the lookup are not among the LSOA polygons"),
                        (membership.duplicated, "are listed under two units")):
        if codes:
            raise InputError(f"{where}: {len(codes):,} LSOAs {what} (e.g. {codes[0]}); the catalogue layers need "
                             "one row per LSOA (December 2011): check the file is the England lookup on 2011 LSOAs")


def _via(recipe: LayerRecipe, data_dir) -> pd.DataFrame:
    """LSOA → link → unit through two lookups; a 2011 LSOA reaching two units is an error."""
    left_col, right_col = recipe.link
    first = read_lookup(recipe.lookup, data_dir, [KEY, left_col]).drop_duplicates()
    second = read_lookup(recipe.via, data_dir, [right_col, recipe.code_col, recipe.name_col])
    second = second.drop_duplicates(subset=[right_col, recipe.code_col])
    doubled = second[right_col].duplicated(keep=False)
    if doubled.any():
        code = second.loc[doubled, right_col].iloc[0]
        raise InputError(f"{dataset_path(recipe.via, data_dir)}: {second.loc[doubled, right_col].nunique():,} "
                         f"{right_col} codes are listed under two units (e.g. {code}); one row per {right_col}")
    table = first.merge(second.rename(columns={right_col: left_col}), on=left_col, how="left")
    lost = table[recipe.code_col].isna() & table[KEY].str.startswith(ENGLAND)  # outside England: left out
    if lost.any():
        raise InputError(f"{dataset_path(recipe.via, data_dir)}: {table.loc[lost, left_col].nunique():,} {left_col} "
                         f"codes of {DATASETS[recipe.lookup].filename} are not in it (e.g. "
                         f"{table.loc[lost, left_col].iloc[0]}); use the lookups of the same vintage")
    table = table[table[recipe.code_col].notna()]
    units = table.groupby(KEY)[recipe.code_col].nunique()
    split = units.index[units > 1]
    if len(split):
        example = split[0]
        parts = ", ".join(sorted(table.loc[table[KEY] == example, recipe.code_col].unique()))
        raise InputError(f"{dataset_path(recipe.via, data_dir)}: {len(split):,} 2011 LSOAs would fall in two "
                         f"{recipe.name} units through {DATASETS[recipe.lookup].filename} (e.g. {example} in {parts}); "
                         f"{recipe.name} is not a union of whole 2011 LSOAs")
    return table.drop_duplicates(subset=[KEY])


def _upper(recipe: LayerRecipe, data_dir) -> pd.DataFrame:
    """Each LSOA's council with social-care duties: the county (E10) in two-tier areas, else its district."""
    district, tier_col = recipe.link
    district_name = district[:-2] + "NM"
    lad = read_lookup(recipe.lookup, data_dir, [KEY, district, district_name])
    tiers = read_lookup(recipe.via, data_dir, [tier_col, recipe.code_col, recipe.name_col]).drop_duplicates(tier_col)
    table = lad.merge(tiers.rename(columns={tier_col: district}), on=district, how="left")
    lost = table[recipe.code_col].isna()
    if lost.any():
        raise InputError(f"{dataset_path(recipe.via, data_dir)}: {table.loc[lost, district].nunique():,} districts of "
                         f"{DATASETS[recipe.lookup].filename} are not in it (e.g. {table.loc[lost, district].iloc[0]}); "
                         "use the tier lookup of the same vintage")
    # The lookup's other upper-tier codes (E11 metropolitan counties, E13 Inner/Outer London in
    # some vintages) are not councils: there the district itself has the social-care duties.
    county = table[recipe.code_col].str.startswith("E10")
    table[recipe.code_col] = np.where(county, table[recipe.code_col], table[district])
    table[recipe.name_col] = np.where(county, table[recipe.name_col], table[district_name])
    return table
