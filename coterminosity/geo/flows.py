"""Read flow tables (origin small area → destination → count) and destination locations.

A flow table is any CSV or Parquet file with one row per origin small area and destination:
GP registrations by LSOA (NHS Digital), hospital catchment tables (OHID), admissions. Every
row is either used or reported: bad rows raise an :class:`InputError` naming them; rows whose
codes match nothing can be set aside (``report=True``, written by :func:`write_unmatched`) and are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError
from .crs import to_bng
from .io import atomic_write
from .layer import Layer
from .numbers import finite_total, to_counts
from .read import read_frame, read_table, row_numbers

# NHS Digital "Patients Registered at a GP Practice", LSOA file (gp-reg-pat-prac-lsoa-all.csv).
DEFAULT_ORIGIN = "LSOA_CODE"
DEFAULT_DEST = "PRACTICE_CODE"
DEFAULT_COUNT = "NUMBER_OF_PATIENTS"
DEFAULT_DEST_NAME = "PRACTICE_NAME"

# Other published layouts recognised when the default columns are absent: (origin, dest, count, name).
KNOWN_LAYOUTS = {
    "NHS Digital GP registrations by LSOA": (DEFAULT_ORIGIN, DEFAULT_DEST, DEFAULT_COUNT, DEFAULT_DEST_NAME),
    "OHID acute trust catchment populations": ("msoa", "TrustCode", "Patients", "TrustName"),
}

LOCATION_CODES = ("code", "practice_code", "organisation_code", "org_code", "ods_code", "trustcode", "trust_code",
                  "trust22cd", "site_code", "sitecode", "dest")
NAME_COLUMNS = ("name", "practice_name", "trustname", "trust_name", "trust22nm", "site_name")
MAX_NAMED = 5  # rows named in an error message
UNMATCHED_COLUMNS = ["row", "origin", "dest", "count", "reason"]


@dataclass
class Flows:
    """Validated flow rows: ``frame`` has origin, dest, count and ``row`` (file line or row number)."""

    frame: pd.DataFrame
    source: str
    names: dict[str, str] = field(default_factory=dict)  # destination code → name
    notes: list[str] = field(default_factory=list)
    row_word: str = "line"  # CSV rows are named by file line (header = line 1); Parquet by row number
    unmatched: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=UNMATCHED_COLUMNS))

    @property
    def total(self) -> float:
        return float(self.frame["count"].sum())

    def pairs(self) -> pd.DataFrame:
        """One row per (origin, dest) with counts summed (repeats were announced in ``notes``)."""
        return (self.frame.groupby(["origin", "dest"], sort=True)["count"].sum().reset_index())

    def describe_rows(self, rows: pd.DataFrame) -> str:
        """'line 4 (W01000001 → P1, 12)' for the first few rows."""
        shown = [f"{self.row_word} {r.row} ({r.origin} → {r.dest}, {r.count:,.0f})" for r in rows.head(MAX_NAMED).itertuples()]
        more = f" and {len(rows) - MAX_NAMED:,} more" if len(rows) > MAX_NAMED else ""
        return ", ".join(shown) + more


@dataclass
class FlowInputs:
    """Everything a containment or catchment run reads: the origins' layer, the checked flows,
    destination points (or None) and the population of the origins' small areas (or None)."""

    small: Layer  # the layer origin codes belong to: small areas (LSOAs) or a union of them (councils)
    flows: Flows
    locations: gpd.GeoDataFrame | None = None
    population: pd.Series | None = None  # per small area, to apportion origins lying in several footprints
    what: str = "destinations"  # the word for destinations in sentences ("trusts", "practices")
    left_out: pd.DataFrame | None = None  # destinations with no flow at all (e.g. trusts with no population)

    @property
    def notes(self) -> list[str]:
        return self.flows.notes


def _column(table: pd.DataFrame, wanted: str) -> str | None:
    """The table's column matching ``wanted`` exactly, else case-insensitively."""
    if wanted in table.columns:
        return wanted
    lower = {str(c).lower(): c for c in table.columns}
    return lower.get(wanted.lower())


def _pick_layout(table: pd.DataFrame, origin_col, dest_col, count_col, name_col) -> tuple[list, str | None]:
    """Column names to use: as given, else the defaults, else a recognised published layout."""
    if origin_col or dest_col or count_col:
        cols = [origin_col or DEFAULT_ORIGIN, dest_col or DEFAULT_DEST, count_col or DEFAULT_COUNT]
        return cols + [name_col], None
    for layout, cols in KNOWN_LAYOUTS.items():
        if all(_column(table, c) for c in cols[:3]):
            return list(cols[:3]) + [name_col or (cols[3] if _column(table, cols[3]) else None)], layout
    return [DEFAULT_ORIGIN, DEFAULT_DEST, DEFAULT_COUNT, name_col], None


def parse_where(items: list[str] | None) -> list[tuple[str, str]]:
    """``COL=VALUE`` filters from the command line."""
    out = []
    for item in items or []:
        if "=" not in item:
            raise InputError(f"--where {item!r}: write it as COLUMN=VALUE (e.g. SEX=ALL)")
        col, value = item.split("=", 1)
        out.append((col.strip(), value.strip()))
    return out


def read_flows(
    path: str | Path,
    origin_col: str | None = None,
    dest_col: str | None = None,
    count_col: str | None = None,
    *,
    dest_name_col: str | None = None,
    where: list[tuple[str, str]] | None = None,
) -> Flows:
    """Read and check a flow table; columns default to the NHS Digital GP-registration file's.

    Raises InputError (one line, naming rows) for missing columns, empty codes and counts that
    are not numbers ≥ 0. Repeated (origin, dest) rows are kept (summed by :meth:`Flows.pairs`)
    and announced in ``notes``.
    """
    p = Path(path)
    table = read_table(p)
    row_word, rows = row_numbers(p, table)
    present = ", ".join(map(str, table.columns[:15])) + (" …" if len(table.columns) > 15 else "")
    (o, d, c, n), layout = _pick_layout(table, origin_col, dest_col, count_col, dest_name_col)
    resolved = []
    for role, flag, col in (("origin small-area code", "--origin-col", o), ("destination code", "--dest-col", d),
                            ("count", "--count-col", c), ("destination name", "--dest-name-col", n)):
        if col is None:
            resolved.append(None)
            continue
        found = _column(table, col)
        if found is None:
            raise InputError(f"{p}: no column {col!r} for the {role} (name it with {flag}); columns present: {present}")
        resolved.append(found)
    o, d, c, n = resolved
    notes = []
    if layout and layout != next(iter(KNOWN_LAYOUTS)):
        notes.append(f"{p.name}: columns {o}, {d}, {c} recognised as the {layout} layout")
    for col, value in where or []:
        found = _column(table, col)
        if found is None:
            raise InputError(f"{p}: --where {col}={value}: no column {col!r}; columns present: {present}")
        keep = (table[found].astype(str).str.strip() == value).to_numpy()
        notes.append(f"{p.name}: kept {int(keep.sum()):,} of {len(table):,} rows where {found} = {value}")
        table, rows = table[keep], rows[keep]
    if len(table) == 0:
        raise InputError(f"{p}: no flow rows" + (" after the --where filter" if where else "") + "; nothing to count")
    frame = pd.DataFrame({
        "origin": table[o].astype("string").str.strip().to_numpy(),
        "dest": table[d].astype("string").str.strip().to_numpy(),
        "raw": table[c].astype("string").to_numpy(),
        "row": rows,
    })
    for role, col, flag in (("origin", o, "origin"), ("dest", d, "destination")):
        empty = frame[frame[role].isna() | (frame[role] == "")]
        if len(empty):
            listed = ", ".join(f"{row_word} {r}" for r in empty["row"].head(MAX_NAMED))
            raise InputError(f"{p}: {len(empty):,} rows have no {flag} code in column {col!r} ({listed}); "
                             "fill them in or remove them")
    counts = to_counts(frame["raw"])  # thousands only as 1,234: "2,5" is not 25
    bad = frame[counts.isna().to_numpy() | ~np.isfinite(counts.fillna(0).to_numpy()) | (counts < 0).fillna(False).to_numpy()]
    if len(bad):
        listed = ", ".join(f"{row_word} {r.row} ({'empty' if pd.isna(r.raw) else repr(r.raw)})"
                           for r in bad.head(MAX_NAMED).itertuples())
        more = f" and {len(bad) - MAX_NAMED:,} more" if len(bad) > MAX_NAMED else ""
        raise InputError(f"{p}: count column {c!r} must be a number ≥ 0, but {len(bad):,} rows are not: {listed}{more}; "
                         "fix or remove those rows")
    frame["count"] = counts.astype(float).to_numpy()
    finite_total(frame["count"], str(p))
    frame = frame.drop(columns="raw")
    repeated = frame[frame.duplicated(["origin", "dest"], keep="first")]
    if len(repeated):
        r = repeated.iloc[0]
        notes.append(f"{p.name}: {len(repeated):,} rows repeat an (origin, destination) pair already listed "
                     f"(first: {row_word} {r.row}, {r.origin} → {r.dest}); their counts are summed — if the file has "
                     "breakdown rows (e.g. SEX = MALE/FEMALE/ALL) keep one with --where")
    names = {}
    if n:
        names = dict(zip(frame["dest"], table[n].astype(str).str.strip().to_numpy()))
    return Flows(frame.reset_index(drop=True), source=str(p), names=names, notes=notes, row_word=row_word)


def set_aside(flows: Flows, bad: np.ndarray, reason: str, codes_label: str, report: bool) -> Flows:
    """Rows flagged ``bad`` raise a one-line error naming them; with ``report`` they move to
    ``flows.unmatched`` (with the reason) and a note counts the people set aside."""
    if not bad.any():
        return flows
    rows = flows.frame[bad]
    people = rows["count"].sum()
    codes = rows[codes_label].drop_duplicates()
    if not report:
        raise InputError(
            f"{flows.source}: {len(rows):,} rows ({people:,.0f} people, {len(codes):,} distinct codes) {reason}: "
            f"{flows.describe_rows(rows)}; fix the codes, or set the rows aside with --report-unmatched FILE")
    kept = flows.frame[~bad].reset_index(drop=True)
    if len(kept) == 0:
        raise InputError(f"{flows.source}: every row {reason}; nothing left to count")
    note = (f"{flows.source}: set aside {len(rows):,} rows ({people:,.0f} people, {people / flows.total:.2%} of the flow, "
            f"{len(codes):,} distinct codes) that {reason}")
    unmatched = pd.concat([flows.unmatched, rows.assign(reason=reason)[UNMATCHED_COLUMNS]], ignore_index=True)
    return replace(flows, frame=kept, notes=flows.notes + [note], unmatched=unmatched)


def write_unmatched(flows: Flows, path: str | Path) -> None:
    """Write the rows set aside (file row, origin, dest, count, reason) to a CSV, atomically."""
    atomic_write(path, flows.unmatched.to_csv(index=False, lineterminator="\n"))


def check_origins(flows: Flows, known: pd.Series | set, label: str,
                  report: bool = False) -> Flows:
    """Every origin must be a small area of ``label``: else error naming rows, or set them aside."""
    known = set(known)
    bad = ~flows.frame["origin"].isin(known).to_numpy()
    return set_aside(flows, bad, f"name origin codes that are not {label} small areas", "origin", report)


def check_destinations(flows: Flows, located: pd.Series | set, where: str,
                       report: bool = False) -> Flows:
    """Every destination must have a location: else error naming rows, or set them aside."""
    located = set(located)
    bad = ~flows.frame["dest"].isin(located).to_numpy()
    return set_aside(flows, bad, f"name destinations with no row in the location table {where}", "dest", report)


def read_locations(path: str | Path, code_col: str | None = None, *, crs: str | None = None,
                   name_col: str | None = None) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Destination points (code, name, geometry) in EPSG:27700 from a CSV with easting/northing
    (or x/y with --crs, or lon/lat) columns, or from any point file."""
    p = Path(path)
    frame = read_frame(p)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if code_col:
        found = _column(frame, code_col)
        if found is None:
            raise InputError(f"{p}: no column {code_col!r} for the destination code; columns present: {', '.join(columns)}")
    else:
        lower = {str(c).lower(): c for c in columns}
        found = next((lower[c] for c in LOCATION_CODES if c in lower), None)
        if found is None:
            raise InputError(f"{p}: no destination code column (looked for {', '.join(LOCATION_CODES[:6])} …); "
                             f"name it with --loc-code-col; columns present: {', '.join(columns)}")
    types = frame.geom_type
    if not types.eq("Point").all():
        raise InputError(f"{p}: destination locations must be points; found {', '.join(types.unique().astype(str))}")
    first = 1 if p.suffix.lower() != ".csv" else 2
    word = "line" if first == 2 else "feature"
    codes = frame[found].astype("string").str.strip()
    empty = np.flatnonzero((codes.isna() | (codes == "")).to_numpy())
    if len(empty):
        raise InputError(f"{p}: {word} {empty[0] + first} has no code in column {found!r} ({len(empty)} such rows)")
    dup = codes[codes.duplicated(keep=False)]
    if len(dup):
        rows = [str(i + first) for i in np.flatnonzero((codes == dup.iloc[0]).to_numpy())]
        raise InputError(f"{p}: destination {dup.iloc[0]!r} has {len(rows)} locations ({word}s {', '.join(rows[:5])}); "
                         f"give one point per destination ({dup.nunique()} codes repeated)")
    frame, notes = to_bng(frame, str(p), crs=crs, suffix=p.suffix)
    lower = {str(c).lower(): c for c in columns}
    name_col = _column(frame, name_col) if name_col else None
    name_col = name_col or next((lower[c] for c in NAME_COLUMNS if c in lower), None)
    out = gpd.GeoDataFrame({"code": codes.astype(str).to_numpy(),
                            "name": (frame[name_col].astype(str) if name_col else codes.astype(str)).to_numpy()},
                           geometry=frame.geometry.values, crs=frame.crs)
    return out, notes
