"""Hospital trust catchments (OHID) as a flow table: council → trust → catchment population.

OHID publishes, for each acute trust, the share of its catchment population living in each
lower-tier council, and each trust's catchment population by year. A flow is
``count(trust, council) = SHARE × population(trust)``, where the population is the trust's
latest non-blank ``CATCHMENT_POPULATION``, else the sum of its predecessors' latest values
through the ODS successor table (chains followed). Trusts with neither are left out and named:
specialist trusts (children's, cancer, heart, women's) have no catchment population by design.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..errors import CotermError, InputError
from .flows import (
    UNMATCHED_COLUMNS,
    FlowInputs,
    Flows,
    _column,
    check_destinations,
    check_origins,
    read_locations,
)
from .layer import Layer
from .read import read_table
from .trust_tables import (  # noqa: F401  (read_shares, read_footprint_shares: part of this module's interface)
    SHARE_COLUMNS,
    is_specialist,
    merged_in,
    named_rows,
    read_catchment_population,
    read_footprint_shares,
    read_shares,
    read_successors,
    readable_name,
    resolve_populations,
    same_postcode_hint,
)

log = logging.getLogger(__name__)

SHARES = "trust22_catchment_shares_ltla21"
ICB_SHARES = "trust22_catchment_shares_icb22"
POINTS = "trust22_points"
CATCHMENT_POPULATION = "trust_catchment_population_2011_2021"
SUCCESSORS = "trust_successors"
COUNCILS = "lad21"  # the catalogue layer the shares' council codes (LTLA21CD) belong to



def trust_file(name: str, data_dir=None) -> Path:
    """The path of one of the trust files: the catalogue entry when there is one, else the data folder."""
    from .catalogue import DATASETS, dataset_path, resolve_data_dir

    if name in DATASETS:
        return dataset_path(name, data_dir)
    path = resolve_data_dir(data_dir) / f"{name}.csv"
    if not path.is_file():
        raise CotermError(f"{path}: missing; point --data-dir/COTERM_DATA at the folder holding the trust catchment files")
    return path


def is_share_table(path: str | Path) -> bool:
    """True when a file has the trust-share columns (TRUST22CD, LTLA21CD, SHARE)."""
    p = Path(path)
    if p.suffix.lower() not in (".csv", ".parquet", ".pq") or not p.is_file():
        return False
    try:
        header = read_table(p).columns if p.suffix.lower() != ".csv" else pd.read_csv(p, nrows=0).columns
    except Exception:
        return False
    return all(_column(pd.DataFrame(columns=header), c) for c in SHARE_COLUMNS)


# ---------------------------------------------------------------- the flow table


@dataclass
class TrustCatchments:
    """Trust catchments as flows (``flows.frame``: origin council, dest trust, count), with where
    each trust's population came from and which trusts were left out."""

    flows: Flows
    shares: pd.DataFrame  # trust, council, share, row (every checked row)
    populations: pd.DataFrame  # trust, name, population, source, predecessors, councils
    left_out: pd.DataFrame  # trust, name, councils, reason
    notes: list[str] = field(default_factory=list)

    @property
    def trusts(self) -> list[str]:
        return sorted(self.flows.frame["dest"].unique())


def trust_flows(shares: str | Path | None = None, *, catchment_population: str | Path | None = None,
                successors: str | Path | None = None, data_dir=None, report: bool = False,
                names: dict[str, str] | None = None, add_merged: bool = False) -> TrustCatchments:
    """Council → trust flows: SHARE × the trust's catchment population (see the module docstring).

    Trust codes found in neither the catchment population table nor the successor table raise a
    one-line error naming their rows, or with ``report`` are set aside into ``flows.unmatched``
    (their ``count`` column then holds the share).
    """
    shares_path = Path(shares) if shares else trust_file(SHARES, data_dir)
    pop_path = Path(catchment_population) if catchment_population else trust_file(CATCHMENT_POPULATION, data_dir)
    succ_path = Path(successors) if successors else trust_file(SUCCESSORS, data_dir)
    table, word = read_shares(shares_path)
    pops = read_catchment_population(pop_path)
    succ = read_successors(succ_path)
    notes = []
    unmatched = pd.DataFrame(columns=UNMATCHED_COLUMNS)
    known = set(pops["trust"]) | set(succ["new"])
    unknown = ~table["trust"].isin(known).to_numpy()
    if unknown.any():
        rows = table[unknown]
        codes = sorted(rows["trust"].unique())
        reason = f"name trust codes in neither {pop_path.name} nor {succ_path.name}"
        if not report:
            raise InputError(f"{shares_path}: {len(rows):,} rows ({len(codes)} trusts: {', '.join(codes[:5])}) {reason} "
                             f"({named_rows(rows['row'].to_numpy(), word)}); fix the codes, or set the rows aside with "
                             "--report-unmatched FILE")
        unmatched = rows.rename(columns={"council": "origin", "trust": "dest", "share": "count"}).assign(
            reason=reason + " (count = share)")[UNMATCHED_COLUMNS]
        notes.append(f"{shares_path.name}: set aside {len(rows):,} rows of {len(codes)} unknown trusts "
                     f"({', '.join(codes[:5])}) that {reason}")
        table = table[~unknown].reset_index(drop=True)
    trusts = sorted(table["trust"].unique())
    resolved = resolve_populations(trusts, pops, succ)
    upper = pops.set_index("trust")["name"].map(readable_name)
    resolved["name"] = [(names or {}).get(t) or upper.get(t) or t for t in resolved["trust"]]
    resolved["councils"] = resolved["trust"].map(table.groupby("trust").size()).astype(int)
    lost = resolved[resolved["population"].isna()].copy()
    lost["reason"] = [
        "specialist trust: no catchment population by design" if is_specialist(r.name)
        else f"no catchment population and no predecessor with one{same_postcode_hint(r.trust, pops, succ_path.name)}"
        for r in lost.itertuples()]
    if len(lost):
        kept_rows = int(table["trust"].isin(set(resolved.dropna(subset=["population"])["trust"])).sum())
        lost_rows = len(table) - kept_rows
        notes.append(f"{len(lost)} of {len(trusts)} trusts left out, having no catchment population of their own or "
                     f"through predecessors ({lost_rows:,} of {len(table):,} share rows, {lost_rows / len(table):.1%}; "
                     f"their flows are unknown, not zero): " +
                     "; ".join(f"{r.trust} {r.name} ({r.reason})" for r in lost.itertuples()))
    via = resolved[resolved["predecessors"] != ""]
    if len(via):
        notes.append(f"{len(via)} trusts take their catchment population from predecessors ({succ_path.name}): " +
                     "; ".join(f"{r.trust} = {r.source.removeprefix('predecessors ')}" for r in via.itertuples()))
    merged = merged_in(resolved, pops, succ)
    if len(merged):
        since = pops.attrs.get("last_change")
        listed = "; ".join(
            f"{t} {resolved.set_index('trust').loc[t, 'population']:,.0f} ("
            + ", ".join(f"{r.old} {r.population:,.0f} on {r.date}" + (" split" if r.shared else "")
                        for r in g.itertuples()) + ")" for t, g in merged.groupby("trust"))
        added = merged[~merged["shared"]]
        if add_merged and len(added):
            extra = added.groupby("trust")["population"].sum()
            resolved["population"] = resolved["population"] + resolved["trust"].map(extra).fillna(0.0)
            resolved.loc[resolved["trust"].isin(extra.index), "source"] += " + merged trusts"
            notes.append(f"{len(extra)} trusts: populations of trusts merged into them after {since} added "
                         f"(--add-merged; trusts split between successors are not): {listed}")
        else:
            notes.append(f"{merged['trust'].nunique()} trusts keep their own catchment population though trusts with "
                         f"one merged into them after {since} (the last year the populations changed), so where their "
                         f"shares describe the merged trust their flows are understated: {listed}; "
                         "--add-merged adds them")
    good = resolved.dropna(subset=["population"]).set_index("trust")["population"]
    used = table[table["trust"].isin(good.index)]
    frame = pd.DataFrame({"origin": used["council"].to_numpy(), "dest": used["trust"].to_numpy(),
                          "count": (used["share"] * used["trust"].map(good)).to_numpy(), "row": used["row"].to_numpy()})
    notes.insert(0, f"{shares_path.name}: count = SHARE × the trust's latest catchment population "
                    f"({pop_path.name}); {len(good)} trusts, {frame['count'].sum():,.0f} people")
    flows = Flows(frame.reset_index(drop=True), source=str(shares_path),
                  names=dict(zip(resolved["trust"], resolved["name"])),
                  notes=notes, row_word=word, unmatched=unmatched)
    return TrustCatchments(flows, table, resolved, lost[["trust", "name", "councils", "reason"]].reset_index(drop=True),
                           notes)


def read_trust_points(path: str | Path | None = None, *, data_dir=None) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Trust head-office points (``code``, ``name``, ``status``, geometry in EPSG:27700)."""
    p = Path(path) if path else trust_file(POINTS, data_dir)
    table = read_table(p) if p.suffix.lower() in (".csv", ".parquet", ".pq") else None
    code_col = "TRUST22CD" if table is not None and _column(table, "TRUST22CD") else None
    points, notes = read_locations(p, code_col, name_col="TRUST22NM" if code_col else None)
    if table is not None and _column(table, "STATUS"):
        status = dict(zip(table[_column(table, code_col or 'code')].astype(str).str.strip(), table[_column(table, "STATUS")]))
        points["status"] = points["code"].map(status)
    return points, notes


def trust_names(points: gpd.GeoDataFrame) -> dict[str, str]:
    """Code → name from the points file (better spelled than the catchment table's capitals)."""
    return dict(zip(points["code"], points["name"]))


def load_trust_inputs(shares: str | Path | None = None, *, points: str | Path | None = None,
                      catchment_population: str | Path | None = None, successors: str | Path | None = None,
                      councils: str | Layer = COUNCILS, population: pd.Series | None = None, data_dir=None,
                      report: bool = False, add_merged: bool = False) -> FlowInputs:
    """The trust catchment flows ready for containment and catchments: council origins (``lad21``,
    a union of LSOAs), flows checked against its codes, trust points, and the mid-2019 LSOA
    population that apportions councils lying in several footprints.

    ``councils`` is a layer name or a Layer; ``population`` (per small area) replaces the catalogue's.
    Unknown council codes and trusts with no point raise a one-line error naming rows, or with
    ``report`` are set aside into ``flows.unmatched``.
    """
    from .load import load_layer
    from .population import catalogue_population

    locations, notes = read_trust_points(points, data_dir=data_dir)
    trusts = trust_flows(shares, catchment_population=catchment_population, successors=successors,
                         data_dir=data_dir, report=report, names=trust_names(locations), add_merged=add_merged)
    small = councils if isinstance(councils, Layer) else load_layer(councils, data_dir=data_dir)
    flows = check_origins(trusts.flows, small.codes, small.label, report)
    flows.notes.extend(notes)
    where = str(points) if points else POINTS
    flows = check_destinations(flows, locations["code"], where, report)
    if population is None and small.small_areas == "lsoa11":
        population = catalogue_population(data_dir).by_code()
    return FlowInputs(small, flows, locations, population, what="trusts", left_out=trusts.left_out)


TRUST_LAYER = "trust22"  # the layer name: each trust's catchment polygon
CATCHMENT_SHARE = 0.8


def council_population(inputs: FlowInputs) -> pd.Series | None:
    """Population per origin unit (council): its small areas' population added up."""
    if inputs.population is None or inputs.small.members is None:
        return None
    members = inputs.small.members
    return members["small_code"].map(inputs.population).fillna(0.0).groupby(members["code"].to_numpy()).sum()


def trust_layer(data_dir=None, share: float = CATCHMENT_SHARE) -> Layer:
    """The trusts' catchments as a Layer: per trust, the councils holding ``share`` of its catchment
    population, dissolved, with their LSOA membership (so overlays with catalogue layers are exact)."""
    from ..boundaries.catchments import catchment_layer  # local: boundaries builds on geo

    inputs = load_trust_inputs(data_dir=data_dir)
    layer, _ = catchment_layer(inputs.flows.pairs(), inputs.small, share, population=council_population(inputs),
                               names=inputs.flows.names, label=TRUST_LAYER)
    layer.notes.extend(inputs.flows.notes)
    layer.source = f"catalogue {TRUST_LAYER} (trust catchments, councils holding {share:.0%} of each)"
    return layer
