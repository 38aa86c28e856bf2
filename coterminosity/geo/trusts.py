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
import numpy as np
import pandas as pd

from ..errors import CotermError, InputError
from .flows import (
    MAX_NAMED,
    UNMATCHED_COLUMNS,
    FlowInputs,
    Flows,
    _column,
    check_destinations,
    check_origins,
    read_locations,
)
from .layer import Layer
from .read import read_table, row_numbers

log = logging.getLogger(__name__)

SHARES = "trust22_catchment_shares_ltla21"
ICB_SHARES = "trust22_catchment_shares_icb22"
POINTS = "trust22_points"
CATCHMENT_POPULATION = "trust_catchment_population_2011_2021"
SUCCESSORS = "trust_successors"
COUNCILS = "lad21"  # the catalogue layer the shares' council codes (LTLA21CD) belong to

SHARE_COLUMNS = ("TRUST22CD", "LTLA21CD", "SHARE")
SHARE_TOLERANCE = 1e-6
MAX_CHAIN = 20  # predecessor generations followed before giving up (the ODS table has no cycles)
SPECIALIST_WORDS = ("CHILDREN", "CANCER", "HEART", "WOMEN", "WALTON", "ORTHOPAEDIC", "EYE", "MARSDEN", "PAPWORTH")


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


# ---------------------------------------------------------------- the three tables


def _named(rows: np.ndarray, word: str) -> str:
    shown = ", ".join(f"{word} {r}" for r in rows[:MAX_NAMED])
    return shown + (f" and {len(rows) - MAX_NAMED:,} more" if len(rows) > MAX_NAMED else "")


def read_shares(path: str | Path, area_col: str = SHARE_COLUMNS[1]) -> tuple[pd.DataFrame, str]:
    """Checked shares: ``trust``, ``council``, ``share``, ``row``; and the row word ("line"/"row").

    One-line errors naming rows for missing columns, empty codes, shares that are not numbers
    ≥ 0, repeated (trust, council) rows, and trusts whose shares do not sum to 1 (± 1e-6).
    """
    p = Path(path)
    table = read_table(p)
    word, rows = row_numbers(p, table)
    cols = []
    wanted_cols = (SHARE_COLUMNS[0], area_col, SHARE_COLUMNS[2])
    for wanted in wanted_cols:
        found = _column(table, wanted)
        if found is None:
            raise InputError(f"{p}: no column {wanted!r}; a trust share table has columns "
                             f"{', '.join(wanted_cols)} (present: {', '.join(map(str, table.columns[:10]))})")
        cols.append(found)
    if len(table) == 0:
        raise InputError(f"{p}: no rows; nothing to count")
    frame = pd.DataFrame({"trust": table[cols[0]].astype("string").str.strip().to_numpy(),
                          "council": table[cols[1]].astype("string").str.strip().to_numpy(),
                          "raw": table[cols[2]].astype("string").to_numpy(), "row": rows})
    for role, col in (("trust", cols[0]), ("council", cols[1])):
        empty = (frame[role].isna() | (frame[role] == "")).to_numpy()
        if empty.any():
            raise InputError(f"{p}: {int(empty.sum()):,} rows have no {role} code in column {col!r} "
                             f"({_named(frame['row'].to_numpy()[empty], word)}); fill them in or remove them")
    share = pd.to_numeric(frame["raw"].str.strip(), errors="coerce")
    bad = (share.isna() | ~np.isfinite(share.fillna(0)) | (share < 0)).to_numpy()
    if bad.any():
        listed = ", ".join(f"{word} {r.row} ({'empty' if pd.isna(r.raw) else repr(r.raw)})"
                           for r in frame[bad].head(MAX_NAMED).itertuples())
        raise InputError(f"{p}: {cols[2]} must be a share ≥ 0, but {int(bad.sum()):,} rows are not: {listed}; "
                         "fix or remove those rows")
    frame["share"] = share.astype(float).to_numpy()
    frame = frame.drop(columns="raw")
    dup = frame.duplicated(["trust", "council"], keep=False).to_numpy()
    if dup.any():
        first = frame[dup].iloc[0]
        again = frame[dup & (frame["trust"] == first.trust).to_numpy() & (frame["council"] == first.council).to_numpy()]
        raise InputError(f"{p}: trust {first.trust} has council {first.council} on several rows "
                         f"({_named(again['row'].to_numpy(), word)}; {int(dup.sum()):,} repeated rows in all); "
                         "keep one row per trust and council")
    sums = frame.groupby("trust", sort=False)["share"].sum()
    off = sums[(sums - 1).abs() > SHARE_TOLERANCE]
    if len(off):
        trust = off.index[0]
        rows_of = frame.loc[frame["trust"] == trust, "row"].to_numpy()
        others = f"; {len(off) - 1:,} more trusts too (e.g. {', '.join(off.index[1:4])})" if len(off) > 1 else ""
        raise InputError(f"{p}: the shares of trust {trust} sum to {off.iloc[0]:.6f}, not 1 "
                         f"({_named(rows_of, word)}){others}; each trust's shares must sum to 1 (± {SHARE_TOLERANCE:g})")
    return frame.reset_index(drop=True), word


def read_footprint_shares(path: str | Path) -> pd.DataFrame:
    """Published shares of each trust's catchment by footprint (``TRUST22CD``, a ``…CD`` footprint
    code column such as ``ICB22CD``, ``SHARE``), checked like :func:`read_shares`: ``trust``, ``footprint``, ``share``."""
    header = read_table(path).columns
    area = next((c for c in header if str(c).upper().endswith("CD") and str(c).upper() != "TRUST22CD"), None)
    if area is None:
        raise InputError(f"{path}: no footprint code column (…CD, e.g. ICB22CD) beside TRUST22CD and SHARE")
    table, _ = read_shares(path, area_col=str(area))
    return table.rename(columns={"council": "footprint"})[["trust", "footprint", "share", "row"]]


def read_successors(path: str | Path) -> pd.DataFrame:
    """The ODS successor table: ``old``, ``new`` (codes as text), ``date``."""
    table = read_table(path)
    cols = [_column(table, c) for c in ("OLD_CODE", "NEW_CODE")]
    if None in cols:
        raise InputError(f"{path}: expected columns OLD_CODE and NEW_CODE (the ODS successor table)")
    date = _column(table, "DATE")
    out = pd.DataFrame({"old": table[cols[0]].astype(str).str.strip(), "new": table[cols[1]].astype(str).str.strip(),
                        "date": table[date].astype(str) if date else ""})
    return out[(out["old"] != "") & (out["new"] != "")].reset_index(drop=True)


def read_catchment_population(path: str | Path) -> pd.DataFrame:
    """Per trust code: latest non-blank ``population``, its ``year``, and the trust ``name``
    (population NaN when every year is blank)."""
    table = read_table(path)
    cols = {c: _column(table, c) for c in ("YEAR", "TRUSTCD", "TRUSTNM", "CATCHMENT_POPULATION")}
    missing = [c for c, found in cols.items() if found is None]
    if missing:
        raise InputError(f"{path}: no column {missing[0]!r}; expected the OHID trust catchment population table "
                         "(YEAR, TRUSTCD, TRUSTNM, CATCHMENT_POPULATION)")
    word, rows = row_numbers(path, table)
    frame = pd.DataFrame({"trust": table[cols["TRUSTCD"]].astype(str).str.strip().to_numpy(),
                          "name": table[cols["TRUSTNM"]].astype(str).str.strip().to_numpy(),
                          "year": pd.to_numeric(table[cols["YEAR"]], errors="coerce").to_numpy(),
                          "raw": table[cols["CATCHMENT_POPULATION"]].to_numpy(), "row": rows})
    pop = pd.to_numeric(frame["raw"], errors="coerce")
    bad = (frame["raw"].notna() & (pop.isna() | (pop < 0))).to_numpy()
    if bad.any():
        raise InputError(f"{path}: CATCHMENT_POPULATION must be blank or a number ≥ 0 "
                         f"({_named(frame['row'].to_numpy()[bad], word)}); fix those rows")
    frame["population"] = pop.to_numpy()
    postcode = _column(table, "POSTCODE")
    frame["postcode"] = table[postcode].astype(str).str.strip().to_numpy() if postcode else ""
    last = frame.sort_values("year").drop_duplicates("trust", keep="last").set_index("trust")
    known = frame.dropna(subset=["population"]).sort_values(["trust", "year"]).drop_duplicates("trust", keep="last")
    out = pd.DataFrame({"trust": last.index, "name": last["name"].to_numpy(), "postcode": last["postcode"].to_numpy()})
    out = out.merge(known[["trust", "population", "year"]], on="trust", how="left")
    wide = frame.pivot_table(index="trust", columns="year", values="population", aggfunc="first")
    years = list(wide.columns)
    changed = [y for a, y in zip(years, years[1:]) if not wide[a].equals(wide[y])]
    out.attrs["last_change"] = int(changed[-1]) if changed else (int(years[-1]) if years else None)
    return out


def _same_postcode_hint(trust: str, pops: pd.DataFrame, successor_file: str) -> str:
    """For a trust left out: other trusts at its postcode that had a catchment population (an
    unlisted merger, e.g. Somerset RH5 and Taunton and Somerset RBA), as a hint; else ''."""
    row = pops[pops["trust"] == trust]
    if row.empty or not row["postcode"].iloc[0] or row["postcode"].iloc[0] in ("nan", "None"):
        return ""
    same = pops[(pops["postcode"] == row["postcode"].iloc[0]) & (pops["trust"] != trust) & pops["population"].notna()]
    if same.empty:
        return ""
    listed = ", ".join(f"{r.trust} {_readable(r.name)} {r.population:,.0f} ({int(r.year)})" for r in same.itertuples())
    return (f"; {listed} at the same postcode {row['postcode'].iloc[0]} had one: a merger {successor_file} does not "
            "list? Add the row to a copy and pass it with --successors")


def resolve_populations(trusts: list[str], table: pd.DataFrame, successors: pd.DataFrame) -> pd.DataFrame:
    """Per trust: ``population`` and ``source`` — its own latest value, else the sum of its
    predecessors' (each predecessor without one replaced by its own predecessors, and so on)."""
    own = table.dropna(subset=["population"]).set_index("trust")
    before = successors.groupby("new")["old"].apply(lambda s: sorted(set(s))).to_dict()
    rows = []
    for trust in trusts:
        if trust in own.index:
            r = own.loc[trust]
            rows.append((trust, float(r.population), f"own {int(r.year)}", ""))
            continue
        used, seen, frontier = [], {trust}, list(before.get(trust, []))
        for _ in range(MAX_CHAIN):
            nxt = []
            for code in frontier:
                if code in seen:
                    continue
                seen.add(code)
                if code in own.index:
                    used.append(code)
                else:
                    nxt += before.get(code, [])
            if not nxt:
                break
            frontier = nxt
        if used:
            total = float(own.loc[used, "population"].sum())
            parts = " + ".join(f"{c} {own.loc[c, 'population']:,.0f} ({int(own.loc[c, 'year'])})" for c in used)
            rows.append((trust, total, f"predecessors {parts}", ",".join(used)))
        else:
            rows.append((trust, np.nan, "none", ""))
    return pd.DataFrame(rows, columns=["trust", "population", "source", "predecessors"])


def merged_in(resolved: pd.DataFrame, pops: pd.DataFrame, successors: pd.DataFrame) -> pd.DataFrame:
    """Trusts with a population of their own into which trusts with one merged after the last year
    the populations changed (the model year): ``trust``, ``old``, ``date``, ``population``, and
    ``shared`` when the old trust went to several successors (a split: not added)."""
    since = pops.attrs.get("last_change")
    own = resolved[resolved["source"].str.startswith("own")]["trust"]
    have = pops.dropna(subset=["population"]).set_index("trust")["population"]
    listed = set(resolved["trust"])  # a trust with shares of its own is not merged in (e.g. RBZ before its 2022 merger)
    rows = successors[successors["new"].isin(set(own)) & successors["old"].isin(set(have.index) - listed)]
    if since is not None:
        rows = rows[rows["date"].astype(str) > f"{since}-12-31"]
    rows = rows.drop_duplicates(["old", "new"])
    n_next = successors.drop_duplicates(["old", "new"]).groupby("old")["new"].nunique()
    return pd.DataFrame({"trust": rows["new"].to_numpy(), "old": rows["old"].to_numpy(), "date": rows["date"].to_numpy(),
                         "population": rows["old"].map(have).to_numpy(),
                         "shared": (rows["old"].map(n_next) > 1).to_numpy()})


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


def _readable(name: str) -> str:
    """'ALDER HEY CHILDREN'S NHS FOUNDATION TRUST' → "Alder Hey Children's NHS Foundation Trust"."""
    words = [w.capitalize() for w in str(name).split()]
    small = {"And": "and", "Of": "of", "The": "the", "For": "for", "Nhs": "NHS"}
    return " ".join(small.get(w, w) if i or w == "Nhs" else w for i, w in enumerate(words))


def _is_specialist(name: str) -> bool:
    upper = name.upper()
    return any(w in upper for w in SPECIALIST_WORDS)


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
                             f"({_named(rows['row'].to_numpy(), word)}); fix the codes, or set the rows aside with "
                             "--report-unmatched FILE")
        unmatched = rows.rename(columns={"council": "origin", "trust": "dest", "share": "count"}).assign(
            reason=reason + " (count = share)")[UNMATCHED_COLUMNS]
        notes.append(f"{shares_path.name}: set aside {len(rows):,} rows of {len(codes)} unknown trusts "
                     f"({', '.join(codes[:5])}) that {reason}")
        table = table[~unknown].reset_index(drop=True)
    trusts = sorted(table["trust"].unique())
    resolved = resolve_populations(trusts, pops, succ)
    upper = pops.set_index("trust")["name"].map(_readable)
    resolved["name"] = [(names or {}).get(t) or upper.get(t) or t for t in resolved["trust"]]
    resolved["councils"] = resolved["trust"].map(table.groupby("trust").size()).astype(int)
    lost = resolved[resolved["population"].isna()].copy()
    lost["reason"] = [
        "specialist trust: no catchment population by design" if _is_specialist(r.name)
        else f"no catchment population and no predecessor with one{_same_postcode_hint(r.trust, pops, succ_path.name)}"
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
