"""Build coarse layers from fine ones by a membership table (LSOAs → CCGs → footprints)."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputError
from .layer import Layer

MAX_MISSING_SHARE = 0.05  # a lookup leaving out more of the fine units than this is refused unless allowed


@dataclass
class Membership:
    """Which fine unit belongs to which coarse unit, and what did not fit."""

    members: pd.DataFrame  # small_code, code
    names: dict[str, str]
    missing: list[str] = field(default_factory=list)  # fine units the table does not list
    duplicated: list[str] = field(default_factory=list)  # fine units listed under several parents
    unknown: list[str] = field(default_factory=list)  # table rows naming no fine unit
    renamed: list[str] = field(default_factory=list)  # coarse units the table gives several names ("CODE ('A' / 'B')")

    def problems(self) -> list[str]:
        """One line per kind of mismatch, with the first few codes."""
        lines = []
        for what, codes in (("missing from the lookup", self.missing),
                            ("listed more than once", self.duplicated),
                            ("in the lookup but not in the fine layer", self.unknown)):
            if codes:
                lines.append(f"{len(codes)} fine units {what} (e.g. {', '.join(codes[:5])})")
        if self.renamed:
            lines.append(f"{len(self.renamed)} units have more than one name in the lookup (e.g. "
                         f"{'; '.join(self.renamed[:3])}); the first name listed is used")
        return lines

    def check_coverage(self, fine_units: int, where: str, *, allow: bool = False) -> None:
        """Refuse a lookup that leaves more than :data:`MAX_MISSING_SHARE` of the fine units out
        (a truncated file would quietly give fewer, smaller units), unless ``allow``."""
        share = len(self.missing) / fine_units if fine_units else 0.0
        if share > MAX_MISSING_SHARE and not allow:
            raise InputError(f"{where}: {len(self.missing):,} of {fine_units:,} fine units ({share:.1%}) are missing "
                             f"from the lookup (e.g. {', '.join(self.missing[:3])}); check the file is whole, or "
                             "pass --allow-missing to build from the units it lists")


def membership_from_table(
    fine_codes: pd.Series,
    table: pd.DataFrame,
    from_col: str,
    to_col: str,
    name_col: str | None = None,
    where: str = "lookup",
) -> Membership:
    """Match a lookup table to a fine layer's codes, recording missing and doubly-listed units."""
    for col in (from_col, to_col) + ((name_col,) if name_col else ()):
        if col not in table.columns:
            raise InputError(f"{where}: no column {col!r} (columns: {', '.join(map(str, table.columns[:12]))})")
    rows = table[[from_col, to_col] + ([name_col] if name_col else [])].dropna(subset=[from_col, to_col])
    rows = rows.astype({from_col: str, to_col: str})
    parents = rows.groupby(from_col)[to_col].nunique()
    duplicated = sorted(parents.index[parents > 1])
    rows = rows.drop_duplicates(subset=[from_col, to_col])
    fine = set(fine_codes.astype(str))
    listed = set(rows[from_col])
    members = rows[rows[from_col].isin(fine) & ~rows[from_col].isin(duplicated)]
    members = members.rename(columns={from_col: "small_code", to_col: "code"})
    names, renamed = {}, []
    if name_col:
        names = dict(members.drop_duplicates("code").set_index("code")[name_col].astype(str))
        spellings = members.dropna(subset=[name_col]).astype({name_col: str}).groupby("code")[name_col].unique()
        renamed = [f"{code} ({' / '.join(repr(n) for n in found[:3])})"
                   for code, found in spellings.items() if len(found) > 1]
    return Membership(
        members=members[["small_code", "code"]].reset_index(drop=True),
        names=names,
        missing=sorted(fine - listed),
        duplicated=duplicated,
        unknown=sorted(listed - fine),
        renamed=renamed,
    )


def dissolve_geometries(geoms: np.ndarray, groups: np.ndarray, *, coverage: bool = False) -> dict[str, shapely.Geometry]:
    """Union geometries per group. ``coverage=True`` uses GEOS CoverageUnion (fast, needs edge-matched input)."""
    order = np.argsort(groups, kind="stable")
    groups_sorted = groups[order]
    geoms_sorted = geoms[order]
    bounds = np.flatnonzero(np.r_[True, groups_sorted[1:] != groups_sorted[:-1], True])
    out = {}
    for start, stop in zip(bounds[:-1], bounds[1:]):
        out[groups_sorted[start]] = _union(geoms_sorted[start:stop], coverage)
    return out


# Gaps between neighbouring small areas smaller than this (m²) are drawing noise, not land
# outside the unit: the dissolve fills them (the real data has ~120 such gaps of 0.01–6 m²).
GAP_M2 = 10.0


def fill_gaps(geom: shapely.Geometry, max_area: float = GAP_M2) -> shapely.Geometry:
    """Remove interior rings smaller than ``max_area`` from a (multi)polygon."""
    parts = []
    changed = False
    for part in shapely.get_parts(geom):
        keep = [r for r in part.interiors if shapely.Polygon(r).area >= max_area]
        changed |= len(keep) != len(part.interiors)
        parts.append(shapely.Polygon(part.exterior, keep))
    if not changed:
        return geom
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _union(geoms: np.ndarray, coverage: bool) -> shapely.Geometry:
    """Coverage union where the pieces are edge-matched, else (or if it fails) the robust overlay union."""
    result = None
    if coverage:
        try:
            result = shapely.coverage_union_all(geoms)
            if not result.is_valid:
                result = None
        except shapely.errors.GEOSException:
            result = None
    if result is None:
        result = shapely.union_all(geoms)
    return fill_gaps(result)


def build_layer(
    fine: Layer,
    membership: Membership,
    label: str,
    *,
    coverage: bool = False,
) -> Layer:
    """Dissolve ``fine`` into the coarse units of ``membership``; membership is kept for exact overlays.

    Fine units missing from the table are left out of the result and counted in ``notes``.
    """
    fine_frame = fine.frame[["code", "geometry"]]
    joined = membership.members.merge(fine_frame, left_on="small_code", right_on="code", suffixes=("", "_fine"))
    unions = dissolve_geometries(joined["geometry"].to_numpy(), joined["code"].to_numpy(), coverage=coverage)
    codes = sorted(unions)
    frame = gpd.GeoDataFrame(
        {"code": codes, "name": [membership.names.get(c, c) for c in codes]},
        geometry=[unions[c] for c in codes],
        crs=fine.frame.crs,
    )
    notes = [f"{label}: {line}" for line in membership.problems()]
    if fine.members is not None and fine.small_areas:
        # Compose: the fine layer's own small areas now belong to the coarse units.
        members = fine.members.merge(membership.members.rename(columns={"small_code": "fine", "code": "coarse"}),
                                     left_on="code", right_on="fine")
        members = members[["small_code", "coarse"]].rename(columns={"coarse": "code"})
        small = fine.small_areas
    else:
        members, small = membership.members, fine.label
    blocks = fine.blocks
    if blocks is None and small == fine.label:
        blocks = pd.DataFrame({"code": fine.frame["code"], "area_m2": fine.frame.geometry.area})
    return Layer(frame, label=label, members=members.reset_index(drop=True), small_areas=small,
                 notes=fine.notes + notes, source=f"{fine.source} dissolved", blocks=blocks)
