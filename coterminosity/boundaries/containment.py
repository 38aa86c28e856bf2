"""Containment: how much of each footprint's patient flow stays inside it.

Per footprint F: ``residents_flow`` is all flow from origins in F (an origin in several
footprints gives each its share, see :mod:`.placement`); ``retained`` the part going to
destinations at home in F; **containment_share** = retained / residents_flow. ``inflow`` is all
flow into destinations at home in F; **destination_share** = retained / inflow. ``relies_on``
names the destinations taking most of F's residents' flow. The England line adds up every
footprint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..geo.flows import FlowInputs
from ..geo.layer import Layer
from .overlay import locate_points
from .placement import OUTSIDE, destination_homes, origin_footprints, weighted_flows

ENGLAND = ("E92000001", "England")
RELIED_ON = 3  # destinations named per footprint in ``relies_on``
LEAST = 3  # footprints named in the "least contained" line
FOOTPRINT_COLUMNS = ["code", "name", "destinations", "residents_flow", "retained", "containment_share", "inflow",
                     "destination_share", "main_elsewhere", "main_elsewhere_share", "relies_on"]


@dataclass
class Containment:
    """Containment of flows in footprints: per footprint (``table`` adds an England line), per
    destination, the footprint × footprint matrix, and where each footprint's residents go."""

    footprints: pd.DataFrame  # FOOTPRINT_COLUMNS, one row per footprint
    destinations: pd.DataFrame  # dest, name, home, home_name, home_by, patients, from_home, home_share
    matrix: pd.DataFrame  # origin_code, origin_name, dest_code, dest_name, count, share_of_origin, share_of_dest
    residents: pd.DataFrame  # footprint, footprint_name, dest, name, home, count, share_of_footprint
    notes: list[str] = field(default_factory=list)
    label: str = "footprints"
    source: str = "flows"
    what: str = "destinations"
    origins: str = ""  # "309 lad21 origins"

    # ------------------------------------------------------------ headline figures

    @property
    def residents_total(self) -> float:
        """Flow from residents of every footprint."""
        return float(self.footprints["residents_flow"].sum())

    @property
    def retained_total(self) -> float:
        """Flow staying inside its residents' own footprint."""
        return float(self.footprints["retained"].sum())

    @property
    def overall(self) -> float | None:
        """Share of the residents' flow that stays inside its own footprint (None without flow)."""
        total = self.residents_total
        return self.retained_total / total if total else None

    def least_contained(self, n: int = LEAST) -> pd.DataFrame:
        """The ``n`` footprints with the lowest containment_share (ties: code)."""
        fp = self.footprints[self.footprints["residents_flow"] > 0]
        return fp.sort_values(["containment_share", "code"]).head(n).reset_index(drop=True)

    def england(self) -> dict:
        """The England line: every footprint added up."""
        fp = self.footprints
        inflow = float(fp["inflow"].sum())
        retained, residents = self.retained_total, self.residents_total
        return {"code": ENGLAND[0], "name": ENGLAND[1], "destinations": int(fp["destinations"].sum()),
                "residents_flow": residents, "retained": retained,
                "containment_share": retained / residents if residents else np.nan, "inflow": inflow,
                "destination_share": retained / inflow if inflow else np.nan, "main_elsewhere": "",
                "main_elsewhere_share": np.nan, "relies_on": ""}

    @property
    def table(self) -> pd.DataFrame:
        """One row per footprint, then the England line."""
        return pd.concat([self.footprints, pd.DataFrame([self.england()])], ignore_index=True)

    def wide(self) -> pd.DataFrame:
        """The footprint × footprint matrix as a square table (rows: residents' footprint; columns: destinations')."""
        wide = self.matrix.pivot_table(index="origin_code", columns="dest_code", values="count", aggfunc="sum",
                                       fill_value=0.0)
        order = list(self.footprints["code"]) + ([OUTSIDE] if OUTSIDE in wide.index.union(wide.columns) else [])
        wide = wide.reindex(index=[c for c in order if c in wide.index], columns=[c for c in order if c in wide.columns],
                            fill_value=0.0)
        names = dict(zip(self.footprints["code"], self.footprints["name"]))
        label = lambda c: f"{names.get(c, c)} ({c})" if c else "(outside)"  # noqa: E731
        codes = list(wide.index)
        wide.columns = [label(c) for c in wide.columns]
        wide.index = [c or "(outside)" for c in codes]
        out = wide.rename_axis("origin").reset_index()
        out.insert(1, "origin_name", [names.get(c, "(outside every footprint)") for c in codes])
        return out

    # ------------------------------------------------------------ sentences

    def header(self) -> list[str]:
        """What was measured, and how."""
        d = self.destinations
        origins = f", {self.origins}" if self.origins else ""
        return [f"containment: {self.source} ({d['patients'].sum():,.0f} people, {len(d):,} {self.what}{origins}) in "
                f"{self.label} ({len(self.footprints)} footprints)",
                f"containment_share = retained / residents_flow (residents' flow to {self.what} located in their own "
                f"footprint); destination_share = retained / inflow (flow into the footprint's {self.what} from its "
                f"own residents); relies_on: the {self.what} taking most of the residents' flow"] + self.notes

    def lines(self) -> list[str]:
        """The overall figure and the least contained footprints."""
        if not self.residents_total:
            return ["no flow from residents of any footprint"]
        out = [f"overall: {self.retained_total:,.0f} of {self.residents_total:,.0f} ({self.overall:.1%}) of the flow "
               f"stays inside its footprint"]
        worst = self.least_contained()
        if len(worst):
            out.append("least contained: " + "; ".join(f"{r.name} {r.containment_share:.1%}" for r in worst.itertuples()))
        return out

    def meta(self) -> dict:
        """The facts JSON carries beside the rows."""
        return {"footprints": self.label, "flows": self.source, "people": float(self.destinations["patients"].sum()),
                "overall_containment": self.overall,
                "least_contained": self.least_contained()[["code", "name", "containment_share"]].to_dict("records")}


def _relies_on(residents: pd.DataFrame) -> pd.Series:
    """Per footprint: its top destinations by residents' flow, as 'Name 41.2%; …'."""
    top = residents.sort_values(["footprint", "count", "dest"], ascending=[True, False, True])
    top = top.groupby("footprint", sort=False).head(RELIED_ON)
    text = top.assign(t=top["name"] + " " + (100 * top["share_of_footprint"]).map("{:.1f}%".format))
    return text.groupby("footprint", sort=False)["t"].agg("; ".join)


def containment(pairs: pd.DataFrame, origins: pd.DataFrame, homes: pd.DataFrame, footprints: Layer,
                dest_names: dict[str, str] | None = None, *, source: str = "flows", what: str = "destinations",
                notes: list[str] | None = None) -> Containment:
    """Containment per footprint and per destination, the footprint × footprint matrix and where residents go."""
    names = footprints.names()
    names[OUTSIDE] = "(outside every footprint)"
    dest_names = dest_names or {}
    flows = weighted_flows(pairs, origins)
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

    residents = flows.groupby(["footprint", "dest", "home"])["count"].sum().reset_index()
    residents["share_of_footprint"] = residents["count"] / residents.groupby("footprint")["count"].transform("sum")
    residents.insert(1, "footprint_name", residents["footprint"].map(names))
    residents.insert(3, "name", residents["dest"].map(lambda c: dest_names.get(c, c)))
    residents = residents.sort_values(["footprint", "count"], ascending=[True, False]).reset_index(drop=True)

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
    fp["relies_on"] = fp["code"].map(_relies_on(residents)).fillna("")
    fp = fp[FOOTPRINT_COLUMNS].reset_index(drop=True)

    per = flows.groupby("dest").agg(patients=("count", "sum"))
    per["from_home"] = flows[flows["inside"]].groupby("dest")["count"].sum()
    per = per.fillna({"from_home": 0.0}).reset_index()
    dest = homes.merge(per, on="dest", how="left")
    dest.insert(1, "name", dest["dest"].map(lambda c: dest_names.get(c, c)))
    dest.insert(3, "home_name", dest["home"].map(names))
    with np.errstate(divide="ignore", invalid="ignore"):
        dest["home_share"] = dest["from_home"] / dest["patients"]
    dest = dest.sort_values(["home", "dest"]).reset_index(drop=True)

    out_notes = list(notes or [])
    outside_res = float(res.get(OUTSIDE, 0.0))
    outside_dest = float(inflow.get(OUTSIDE, 0.0))
    if outside_res:
        out_notes.append(f"{outside_res:,.0f} of the flow comes from origins in no {footprints.label} unit "
                         "(row '(outside)' of the matrix)")
    if outside_dest:
        lost = dest[dest["home"] == OUTSIDE]
        listed = "; ".join(f"{r.dest} {r.name} ({r.patients:,.0f})" for r in lost.head(5).itertuples())
        out_notes.append(f"{outside_dest:,.0f} of the flow ({outside_dest / flows['count'].sum():.2%}) goes to "
                         f"{len(lost)} {what} located in no {footprints.label} unit, counted as leaving their "
                         f"residents' footprint: {listed}" + (" …" if len(lost) > 5 else ""))
    return Containment(fp, dest, matrix, residents, out_notes, footprints.label, source, what)


def measure_containment(inputs: FlowInputs, footprints: Layer) -> Containment:
    """Containment of read flows (:class:`FlowInputs`) in ``footprints``: origins placed (and
    apportioned), destinations located, and the notes of every step in the header."""
    pairs = inputs.flows.pairs()
    origins, origin_note = origin_footprints(inputs.small, footprints, inputs.population)
    homes, home_note = destination_homes(pairs, origins, footprints, inputs.locations)
    source = Path(inputs.flows.source).name
    notes = [origin_note, home_note] + inputs.flows.notes
    lost = inputs.left_out
    if lost is not None and len(lost) and inputs.locations is not None:
        loc = inputs.locations.set_index("code").reindex(lost["trust"])
        idx = locate_points(np.asarray(loc.geometry.values, dtype=object), np.asarray(footprints.frame.geometry.values, dtype=object))
        names = footprints.names()
        where = [names.get(footprints.frame["code"].iloc[i], "") if i >= 0 else "(outside every footprint)" for i in idx]
        notes.append(f"containment is understated where {inputs.what} left out stand (their residents' flow to them "
                     "is not counted): " + "; ".join(f"{t} in {w}" for t, w in zip(lost["trust"], where)))
    result = containment(pairs, origins, homes, footprints, inputs.flows.names, source=source, what=inputs.what,
                         notes=notes)
    result.origins = f"{pairs['origin'].nunique():,} {inputs.small.label} origins"
    return result


# ---------------------------------------------------------------- for maps


@dataclass
class ContainmentMapData:
    """What a containment map draws: per footprint the share kept inside, the destination points
    sized by their flow, and per footprint where its residents go."""

    footprints: pd.DataFrame  # code, name, residents_flow, retained, containment_share, destination_share
    points: gpd.GeoDataFrame  # code, name, home, home_name, patients, from_home, home_share, geometry (EPSG:27700)
    residents: pd.DataFrame  # footprint, footprint_name, dest, name, home, count, share_of_footprint
    overall: float | None = None


def containment_map_data(result: Containment, locations: gpd.GeoDataFrame) -> ContainmentMapData:
    """The map's inputs from a containment result and the destinations' location points."""
    fp = result.footprints[["code", "name", "residents_flow", "retained", "containment_share", "destination_share"]]
    loc = locations.set_index("code").geometry
    dest = result.destinations
    points = gpd.GeoDataFrame(dest[["dest", "name", "home", "home_name", "patients", "from_home", "home_share"]]
                              .rename(columns={"dest": "code"}),
                              geometry=dest["dest"].map(loc).to_numpy(), crs=locations.crs)
    return ContainmentMapData(fp.reset_index(drop=True), points, result.residents.copy(), result.overall)
