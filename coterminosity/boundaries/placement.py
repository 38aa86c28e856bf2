"""Where flows start and end: origins and destinations placed in footprints.

Origins are small areas (LSOAs) or any layer that is a union of them (councils): placed by the
footprint layer's membership when both are built from the same small areas, else by a point
inside each small area. An origin lying in several footprints is apportioned by the population
of its small areas in each. A destination's home is the footprint holding its location point,
or without locations the footprint holding the largest share of its patients.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import CotermError
from ..geo.layer import Layer
from .overlay import locate_points

OUTSIDE = ""  # footprint code of an origin or destination lying in no footprint


# ---------------------------------------------------------------- where things are


def _is_union(small: Layer) -> bool:
    """True when ``small`` is a union of finer small areas (e.g. councils of LSOAs), not the small areas themselves."""
    return small.members is not None and bool(small.small_areas) and small.small_areas != small.label


def _block_weights(members: pd.DataFrame, small: Layer, population: pd.Series | None) -> tuple[pd.Series, str]:
    """Weight of each finer small area of a union layer: its population, else its area, else 1 each."""
    if population is not None:
        return members["small_code"].map(population).fillna(0.0).astype(float), "population"
    if small.blocks is not None and "area_m2" in small.blocks.columns:
        area = small.blocks.set_index("code")["area_m2"]
        return members["small_code"].map(area).fillna(0.0).astype(float), "area"
    return pd.Series(1.0, index=members.index), "count of small areas"


def origin_footprints(small: Layer, footprints: Layer, population: pd.Series | None = None) -> tuple[pd.DataFrame, str]:
    """Per origin: ``small_code``, ``footprint`` (``""`` when in none) and ``weight`` — the share of
    the origin's flow given to that footprint (1 unless the origin lies in several); and how it was decided.

    Origins may be the small areas themselves (LSOAs) or any layer that is a union of them
    (councils of LSOAs): an origin lying in several footprints is apportioned by the
    ``population`` of its small areas in each (else their area).
    """
    shared = footprints.members is not None and footprints.small_areas is not None
    if _is_union(small) and (shared and footprints.small_areas == small.small_areas or small.blocks is not None):
        members = small.members.rename(columns={"code": "origin"})
        weight, by = _block_weights(members, small, population)
        if shared and footprints.small_areas == small.small_areas:
            where = members["small_code"].map(footprints.members.drop_duplicates("small_code").set_index("small_code")["code"])
            how = f"{footprints.label}'s own membership (exact)"
        else:
            blocks = small.blocks.set_index("code").reindex(members["small_code"])
            pts = shapely.points(blocks["x"].to_numpy(), blocks["y"].to_numpy())
            idx = locate_points(pts, np.asarray(footprints.frame.geometry.values, dtype=object))
            where = pd.Series(np.where(idx >= 0, footprints.frame["code"].to_numpy()[np.maximum(idx, 0)], OUTSIDE),
                              index=members.index)
            how = f"the {footprints.label} unit holding a point inside each of them"
        parts = pd.DataFrame({"small_code": members["origin"], "footprint": where.fillna(OUTSIDE).to_numpy(),
                              "w": weight.to_numpy()})
        fp = parts.groupby(["small_code", "footprint"], sort=True)["w"].sum().reset_index()
        total = fp.groupby("small_code")["w"].transform("sum")
        n = fp.groupby("small_code")["footprint"].transform("size")
        fp["weight"] = np.where(total > 0, fp["w"] / total.where(total > 0, 1.0), 1.0 / n)
        fp = fp.drop(columns="w")
        split = fp.loc[fp["small_code"].duplicated(keep=False), "small_code"].nunique()
        note = (f"origins: each {small.label} unit's {small.small_areas} small areas placed by {how}; "
                f"{split} of {fp['small_code'].nunique()} {small.label} units lie in several {footprints.label} "
                f"footprints and their flows are apportioned by the {by} of their {small.small_areas} in each")
        return fp.reset_index(drop=True), note
    same = shared and footprints.small_areas in (small.small_areas, small.label)
    if same:
        members = footprints.members.drop_duplicates("small_code")
        fp = small.frame[["code"]].rename(columns={"code": "small_code"}).merge(members, on="small_code", how="left")
        fp = fp.rename(columns={"code": "footprint"}).fillna({"footprint": OUTSIDE})
        return fp.assign(weight=1.0), f"origins: {small.label} small areas placed by {footprints.label}'s own membership (exact)"
    points = shapely.point_on_surface(np.asarray(small.frame.geometry.values, dtype=object))
    idx = locate_points(points, np.asarray(footprints.frame.geometry.values, dtype=object))
    codes = np.where(idx >= 0, footprints.frame["code"].to_numpy()[np.maximum(idx, 0)], OUTSIDE)
    fp = pd.DataFrame({"small_code": small.frame["code"].to_numpy(), "footprint": codes, "weight": 1.0})
    return fp, (f"origins: each {small.label} small area placed in the {footprints.label} unit holding a point inside "
                "it (point_on_surface; no shared membership)")


def split_origins(origins: pd.DataFrame) -> pd.DataFrame:
    """The origins lying in several footprints, with their weight in each."""
    return origins[origins["small_code"].duplicated(keep=False)].reset_index(drop=True)


def weighted_flows(pairs: pd.DataFrame, origins: pd.DataFrame) -> pd.DataFrame:
    """Flows with each origin's ``footprint``: an origin in several footprints gives each its weight of the count."""
    flows = pairs.merge(origins, left_on="origin", right_on="small_code", how="left")
    flows["footprint"] = flows["footprint"].fillna(OUTSIDE)
    flows["count"] = flows["count"] * flows["weight"].fillna(1.0)
    return flows.drop(columns=["small_code", "weight"])


def destination_homes(pairs: pd.DataFrame, origins: pd.DataFrame, footprints: Layer,
                      locations: gpd.GeoDataFrame | None = None) -> tuple[pd.DataFrame, str]:
    """Per destination: ``dest``, ``home`` footprint code and ``home_by`` (location / largest share)."""
    dests = pd.Index(pairs["dest"].unique(), name="dest")
    if locations is not None:
        loc = locations.set_index("code").reindex(dests)
        missing = loc.index[loc.geometry.isna()]
        if len(missing):
            raise CotermError(f"destinations with no location: {', '.join(missing[:5])} ({len(missing)}); "
                              "check them with read_flows/check_destinations first")
        idx = locate_points(np.asarray(loc.geometry.values, dtype=object),
                            np.asarray(footprints.frame.geometry.values, dtype=object))
        home = np.where(idx >= 0, footprints.frame["code"].to_numpy()[np.maximum(idx, 0)], OUTSIDE)
        out = pd.DataFrame({"dest": dests, "home": home, "home_by": "location"})
        return out, f"destinations: home footprint = the {footprints.label} unit holding the location point"
    flows = weighted_flows(pairs, origins)
    by = flows.groupby(["dest", "footprint"])["count"].sum().reset_index()
    by = by.sort_values(["dest", "count", "footprint"], ascending=[True, False, True])
    best = by.drop_duplicates("dest").set_index("dest").reindex(dests)
    out = pd.DataFrame({"dest": dests, "home": best["footprint"].fillna(OUTSIDE).to_numpy(), "home_by": "largest share"})
    return out, ("destinations: no locations given, so each destination's home footprint is the one holding the "
                 "largest share of its patients (ties: lowest code)")
