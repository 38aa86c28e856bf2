"""Catchments and containment: do footprints follow patient flows?

Inputs are an aggregated flow table (``origin`` small area, ``dest``, ``count``: see
:mod:`coterminosity.geo.flows`), the small-area :class:`Layer` the origins belong to, and a
footprint :class:`Layer`.

* **Home footprint** of each origin: from the footprint layer's small-area membership when it
  is built from the same small areas, else the footprint holding a point inside the small area.
  Of each destination: the footprint holding its location point, or without locations the
  footprint holding the largest share of its patients.
* **Containment** per footprint: of the flow from its residents, the share going to
  destinations at home in the footprint (``containment_share``); of the flow into its
  destinations, the share from its own residents (``destination_share``).
* **Catchment** of a destination: the fewest small areas (most patients first) holding at least
  ``share`` of its patients, dissolved into a polygon; its proportional population is
  Σ population(area) × patients(dest, area) / patients(all destinations, area).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import CotermError
from ..geo.build import Membership, build_layer
from ..geo.layer import Layer
from ..geo.members import COUNT_COLUMN
from .overlay import locate_points

OUTSIDE = ""  # footprint code of an origin or destination lying in no footprint


# ---------------------------------------------------------------- where things are


def origin_footprints(small: Layer, footprints: Layer) -> tuple[pd.DataFrame, str]:
    """Per small area: ``small_code``, ``footprint`` (``""`` when in none), and how it was decided."""
    same = (footprints.members is not None and footprints.small_areas is not None
            and footprints.small_areas in (small.small_areas, small.label))
    if same:
        members = footprints.members.drop_duplicates("small_code")
        fp = small.frame[["code"]].rename(columns={"code": "small_code"}).merge(members, on="small_code", how="left")
        fp = fp.rename(columns={"code": "footprint"}).fillna({"footprint": OUTSIDE})
        return fp, f"origins: {small.label} small areas placed by {footprints.label}'s own membership (exact)"
    points = shapely.point_on_surface(np.asarray(small.frame.geometry.values, dtype=object))
    idx = locate_points(points, np.asarray(footprints.frame.geometry.values, dtype=object))
    codes = np.where(idx >= 0, footprints.frame["code"].to_numpy()[np.maximum(idx, 0)], OUTSIDE)
    fp = pd.DataFrame({"small_code": small.frame["code"].to_numpy(), "footprint": codes})
    return fp, (f"origins: each {small.label} small area placed in the {footprints.label} unit holding a point inside "
                "it (point_on_surface; no shared membership)")


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
    flows = pairs.merge(origins, left_on="origin", right_on="small_code", how="left")
    by = flows.groupby(["dest", "footprint"])["count"].sum().reset_index()
    by = by.sort_values(["dest", "count", "footprint"], ascending=[True, False, True])
    best = by.drop_duplicates("dest").set_index("dest").reindex(dests)
    out = pd.DataFrame({"dest": dests, "home": best["footprint"].fillna(OUTSIDE).to_numpy(), "home_by": "largest share"})
    return out, ("destinations: no locations given, so each destination's home footprint is the one holding the "
                 "largest share of its patients (ties: lowest code)")


# ---------------------------------------------------------------- containment


@dataclass
class Containment:
    """Containment of flows in footprints: per footprint, per destination, and the footprint matrix."""

    footprints: pd.DataFrame  # code, name, residents_flow, retained, containment_share, inflow, destination_share, …
    destinations: pd.DataFrame  # dest, name, home, home_name, home_by, patients, from_home, home_share
    matrix: pd.DataFrame  # origin_code, origin_name, dest_code, dest_name, count, share_of_origin, share_of_dest
    notes: list[str] = field(default_factory=list)

    def wide(self) -> pd.DataFrame:
        """The footprint × footprint matrix as a square table (rows: residents' footprint; columns: destinations')."""
        wide = self.matrix.pivot_table(index="origin_code", columns="dest_code", values="count", aggfunc="sum",
                                       fill_value=0.0)
        order = list(self.footprints["code"]) + ([OUTSIDE] if OUTSIDE in wide.index.union(wide.columns) else [])
        wide = wide.reindex(index=[c for c in order if c in wide.index], columns=[c for c in order if c in wide.columns],
                            fill_value=0.0)
        wide.columns = [c or "(outside)" for c in wide.columns]
        wide.index = [c or "(outside)" for c in wide.index]
        return wide.rename_axis("origin").reset_index()


def containment(pairs: pd.DataFrame, origins: pd.DataFrame, homes: pd.DataFrame, footprints: Layer,
                dest_names: dict[str, str] | None = None) -> Containment:
    """Containment per footprint and per destination, and the footprint × footprint flow matrix."""
    names = footprints.names()
    names[OUTSIDE] = "(outside every footprint)"
    dest_names = dest_names or {}
    flows = pairs.merge(origins, left_on="origin", right_on="small_code", how="left")
    flows["footprint"] = flows["footprint"].fillna(OUTSIDE)
    flows = flows.merge(homes[["dest", "home"]], on="dest", how="left")
    flows["inside"] = flows["footprint"] == flows["home"]

    matrix = flows.groupby(["footprint", "home"])["count"].sum().rename("count").reset_index()
    matrix = matrix.rename(columns={"footprint": "origin_code", "home": "dest_code"})
    out_tot = matrix.groupby("origin_code")["count"].transform("sum")
    in_tot = matrix.groupby("dest_code")["count"].transform("sum")
    matrix["share_of_origin"] = matrix["count"] / out_tot
    matrix["share_of_dest"] = matrix["count"] / in_tot
    matrix.insert(1, "origin_name", matrix["origin_code"].map(names))
    matrix.insert(3, "dest_name", matrix["dest_code"].map(names))
    matrix = matrix.sort_values(["origin_code", "count"], ascending=[True, False]).reset_index(drop=True)

    res = flows.groupby("footprint")["count"].sum()
    kept = flows[flows["inside"]].groupby("footprint")["count"].sum()
    inflow = flows.groupby("home")["count"].sum()
    ndest = homes.groupby("home")["dest"].count()
    away = matrix[matrix["origin_code"] != matrix["dest_code"]].sort_values("count", ascending=False)
    main_away = away.drop_duplicates("origin_code").set_index("origin_code")
    fp = footprints.frame[["code", "name"]].copy()
    fp["destinations"] = fp["code"].map(ndest).fillna(0).astype(int)
    fp["residents_flow"] = fp["code"].map(res).fillna(0.0)
    fp["retained"] = fp["code"].map(kept).fillna(0.0)
    fp["inflow"] = fp["code"].map(inflow).fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        fp["containment_share"] = fp["retained"] / fp["residents_flow"]
        fp["destination_share"] = fp["retained"] / fp["inflow"]
    fp["main_elsewhere"] = fp["code"].map(main_away["dest_name"]).astype(object).fillna("")
    fp["main_elsewhere_share"] = fp["code"].map(main_away["share_of_origin"])
    fp = fp[["code", "name", "destinations", "residents_flow", "retained", "containment_share", "inflow",
             "destination_share", "main_elsewhere", "main_elsewhere_share"]]

    per = flows.groupby("dest").agg(patients=("count", "sum"))
    per["from_home"] = flows[flows["inside"]].groupby("dest")["count"].sum()
    per = per.fillna({"from_home": 0.0}).reset_index()
    dest = homes.merge(per, on="dest", how="left")
    dest.insert(1, "name", dest["dest"].map(lambda c: dest_names.get(c, c)))
    dest.insert(3, "home_name", dest["home"].map(names))
    with np.errstate(divide="ignore", invalid="ignore"):
        dest["home_share"] = dest["from_home"] / dest["patients"]
    dest = dest.sort_values(["home", "dest"]).reset_index(drop=True)

    notes = []
    outside_res = float(res.get(OUTSIDE, 0.0))
    outside_dest = float(inflow.get(OUTSIDE, 0.0))
    if outside_res:
        notes.append(f"{outside_res:,.0f} of the flow comes from small areas in no {footprints.label} unit "
                     "(row '(outside)' of the matrix)")
    if outside_dest:
        n_out = int((homes["home"] == OUTSIDE).sum())
        notes.append(f"{outside_dest:,.0f} of the flow goes to {n_out} destinations located in no {footprints.label} unit")
    return Containment(fp, dest, matrix, notes)


# ---------------------------------------------------------------- catchments


def catchment_selection(pairs: pd.DataFrame, share: float = 0.8) -> pd.DataFrame:
    """Per destination and small area: patients, share, cumulative share (most patients first,
    ties by code) and ``in_catchment``: the fewest areas holding ≥ ``share`` of its patients."""
    if not 0 < share <= 1:
        raise CotermError(f"catchment share {share} must be above 0 and at most 1")
    table = pairs[pairs["count"] > 0].sort_values(["dest", "count", "origin"], ascending=[True, False, True])
    table = table.rename(columns={"origin": "small_code", "count": "patients"}).reset_index(drop=True)
    total = table.groupby("dest")["patients"].transform("sum")
    table["share"] = table["patients"] / total
    cum = table.groupby("dest")["patients"].cumsum()
    before = cum - table["patients"]
    table["cum_share"] = cum / total
    # An area is in the catchment while the areas before it hold less than the share.
    table["in_catchment"] = before < share * total * (1 - 1e-12)
    return table[["dest", "small_code", "patients", "share", "cum_share", "in_catchment"]]


def proportional_population(pairs: pd.DataFrame, population: pd.Series) -> pd.Series:
    """Per destination: Σ over small areas of population × its patients there / all patients there."""
    all_dests = pairs.groupby("origin")["count"].transform("sum")
    pop = pairs["origin"].map(population).fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(all_dests > 0, pop * pairs["count"] / all_dests, 0.0)
    return pd.Series(part, index=pairs.index).groupby(pairs["dest"]).sum()


def catchment_layer(pairs: pd.DataFrame, small: Layer, share: float = 0.8, *,
                    population: pd.Series | None = None, names: dict[str, str] | None = None,
                    label: str = "catchments") -> tuple[Layer, pd.DataFrame]:
    """Dissolve each destination's catchment small areas into a polygon Layer (members kept).

    Returns the Layer (frame: code, name, patients, catchment_patients, share_in_polygon,
    small_areas, catchment_population, polygon_population, geometry) and the selection table.
    """
    names = names or {}
    selection = catchment_selection(pairs, share)
    chosen = selection[selection["in_catchment"]]
    if chosen.empty:
        raise CotermError("no destination has any patients (every count is 0); nothing to draw a catchment from")
    unknown = set(chosen["small_code"]) - set(small.frame["code"])
    if unknown:
        raise CotermError(f"{len(unknown)} origin codes are not {small.label} small areas (e.g. {sorted(unknown)[0]}); "
                          "check the flows with check_origins first")
    membership = Membership(members=chosen[["small_code", "dest"]].rename(columns={"dest": "code"}).reset_index(drop=True),
                            names={c: names.get(c, c) for c in chosen["dest"].unique()})
    layer = build_layer(small, membership, label, coverage=small.members is not None)
    frame = layer.frame
    per = selection.groupby("dest").agg(patients=("patients", "sum"))
    inside = chosen.groupby("dest").agg(catchment_patients=("patients", "sum"), small_areas=("small_code", "count"))
    frame["patients"] = frame["code"].map(per["patients"]).astype(float)
    frame["catchment_patients"] = frame["code"].map(inside["catchment_patients"]).astype(float)
    frame["share_in_polygon"] = frame["catchment_patients"] / frame["patients"]
    frame[COUNT_COLUMN] = frame["code"].map(inside["small_areas"]).astype(int)
    if population is not None:
        frame["catchment_population"] = frame["code"].map(proportional_population(pairs, population)).astype(float)
        polygon = chosen.assign(pop=chosen["small_code"].map(population).fillna(0.0)).groupby("dest")["pop"].sum()
        frame["polygon_population"] = frame["code"].map(polygon).astype(float)
    empty = sorted(set(pairs["dest"]) - set(frame["code"]))
    if empty:
        layer.notes.append(f"{len(empty)} destinations have no patients and no catchment (e.g. {', '.join(empty[:5])})")
    layer.notes.append(f"catchment: the fewest {small.label} small areas (most patients first) holding ≥ {share:.0%} "
                       "of each destination's patients, dissolved; catchments of different destinations overlap")
    return layer, selection
