"""The overlay engine: every intersecting pair of two layers, with area and population both ways.

Two paths, one answer (see DESIGN.md):

* **membership** – both layers are unions of the same small areas: a group-by on the
  membership tables. Exact, no slivers, milliseconds.
* **geometry** – a layer was drawn independently: STRtree candidates, ``contains_properly``
  for whole containment, exact intersection only for boundary cases, population from
  points located once each. Tiny pieces with no population are slivers: counted, not pairs.
  It lives in :mod:`.geometry`; ``geometry_overlay`` and ``locate_points`` are importable here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..geo.layer import Layer, Population

# Weight name → the column holding its amount.
WEIGHT_COLUMN = {"population": "population", "area": "area_m2", "small_areas": "small_areas"}

SLIVER_SHARE = 0.001  # a piece under 0.1% of the smaller unit's area …
SLIVER_AREA_M2 = 1.0  # … or under 1 m², holding no population point, is a sliver


@dataclass
class PairTable:
    """A × B: one row per intersecting pair, plus per-unit totals on each side.

    ``pairs`` has ``a_code, b_code``, the amount of each weight in A∩B (``area_m2``,
    ``population``, ``small_areas``), the shares ``a_in_b_<w>`` (fraction of A lying in B)
    and ``b_in_a_<w>``, and ``sliver``. ``a_units``/``b_units`` hold each unit's totals.
    """

    pairs: pd.DataFrame
    a_units: pd.DataFrame
    b_units: pd.DataFrame
    a_label: str
    b_label: str
    method: str
    weights: list[str]
    notes: list[str] = field(default_factory=list)
    slivers: int = 0

    def real(self) -> pd.DataFrame:
        """Pairs that are not slivers."""
        return self.pairs[~self.pairs["sliver"]]

    def swap(self) -> PairTable:
        """The same overlay seen from B: B × A."""
        rename = {"a_code": "b_code", "b_code": "a_code", "a_name": "b_name", "b_name": "a_name"}
        for w in self.weights:
            rename[f"a_in_b_{w}"] = f"b_in_a_{w}"
            rename[f"b_in_a_{w}"] = f"a_in_b_{w}"
        pairs = self.pairs.rename(columns=rename)[self.pairs.columns]
        pairs = pairs.sort_values(["a_code", "b_code"]).reset_index(drop=True)
        return replace(self, pairs=pairs, a_units=self.b_units, b_units=self.a_units,
                       a_label=self.b_label, b_label=self.a_label)


def _weights_table(a: Layer, population: Population | None, small_table: pd.DataFrame | None) -> pd.DataFrame:
    """Per small area: area (m²), population when given, and 1 (the count of small areas)."""
    if small_table is None or "area_m2" not in small_table.columns:
        raise ValueError(f"membership overlay of {a.label} needs its small areas' areas (Layer.blocks)")
    table = small_table[["code", "area_m2"]].copy()
    table["small_areas"] = 1
    if population is not None:
        pop = population.by_code()
        table["population"] = table["code"].map(pop).fillna(0.0)
    return table.rename(columns={"code": "small_code"})


def _finish(pairs: pd.DataFrame, a_units: pd.DataFrame, b_units: pd.DataFrame, weights: list[str],
            a: Layer, b: Layer) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Add names and shares to raw pair amounts and unit totals."""
    a_names, b_names = a.names(), b.names()
    a_units = a.frame[["code", "name"]].merge(a_units, on="code", how="left").fillna({WEIGHT_COLUMN[w]: 0 for w in weights})
    b_units = b.frame[["code", "name"]].merge(b_units, on="code", how="left").fillna({WEIGHT_COLUMN[w]: 0 for w in weights})
    pairs = pairs.sort_values(["a_code", "b_code"]).reset_index(drop=True)
    pairs.insert(1, "a_name", pairs["a_code"].map(a_names))
    pairs.insert(3, "b_name", pairs["b_code"].map(b_names))
    a_tot = a_units.set_index("code")
    b_tot = b_units.set_index("code")
    for w in weights:
        col = WEIGHT_COLUMN[w]
        with np.errstate(divide="ignore", invalid="ignore"):
            pairs[f"a_in_b_{w}"] = pairs[col] / pairs["a_code"].map(a_tot[col]).to_numpy()
            pairs[f"b_in_a_{w}"] = pairs[col] / pairs["b_code"].map(b_tot[col]).to_numpy()
    return pairs, a_units, b_units


def membership_overlay(a: Layer, b: Layer, population: Population | None = None,
                       small_table: pd.DataFrame | None = None) -> PairTable:
    """Exact overlay of two layers built from the same small areas: a group-by, no geometry."""
    table = _weights_table(a, population, small_table)
    weights = ["area", "small_areas"] + (["population"] if population is not None else [])
    cols = [WEIGHT_COLUMN[w] for w in weights]
    ma = a.members.rename(columns={"code": "a_code"})
    mb = b.members.rename(columns={"code": "b_code"})
    both = ma.merge(mb, on="small_code").merge(table, on="small_code")
    pairs = both.groupby(["a_code", "b_code"], sort=False)[cols].sum().reset_index()
    pairs["sliver"] = False
    a_units = ma.merge(table, on="small_code").groupby("a_code")[cols].sum().rename_axis("code").reset_index()
    b_units = mb.merge(table, on="small_code").groupby("b_code")[cols].sum().rename_axis("code").reset_index()
    pairs, a_units, b_units = _finish(pairs, a_units, b_units, weights, a, b)
    notes = [f"method: membership (both layers are unions of whole {a.small_areas} small areas; exact, no slivers)"]
    return PairTable(pairs, a_units, b_units, a.label, b.label, "membership", weights, notes)


def overlay(a: Layer, b: Layer, population: Population | None = None, *, method: str = "auto",
            small_table: pd.DataFrame | None = None, sliver_share: float = SLIVER_SHARE,
            sliver_area: float = SLIVER_AREA_M2) -> PairTable:
    """Overlay A on B. ``method="auto"`` takes the exact membership path when both layers are
    built from the same small areas (and the population is given per small area), else geometry."""
    can_join = a.shares_blocks_with(b) and (population is None or population.small_areas == a.small_areas)
    if method == "membership" or (method == "auto" and can_join):
        if not can_join:
            raise ValueError("membership overlay needs both layers (and the population) on the same small areas")
        return membership_overlay(a, b, population, small_table if small_table is not None else a.blocks)
    from .geometry import geometry_overlay  # local: geometry builds on this module's PairTable

    return geometry_overlay(a, b, population, sliver_share=sliver_share, sliver_area=sliver_area)


def population_by_unit(layer: Layer, population: Population) -> pd.Series:
    """Population of each unit of ``layer`` (by code), summed over its small areas when membership
    is known, else from the population points inside it (each point in one unit)."""
    from .geometry import by_membership, locate_points

    unit = by_membership(layer, population)
    if unit is None:
        unit = locate_points(population.points.geometry.values, layer.frame.geometry.values)
    counts = population.points["population"].to_numpy(dtype=float)
    totals = np.bincount(unit[unit >= 0], weights=counts[unit >= 0], minlength=len(layer))
    return pd.Series(totals, index=layer.frame.index, name="code")


def __getattr__(name: str):
    """``geometry_overlay`` and ``locate_points`` from :mod:`.geometry` (imported on first use)."""
    if name in ("geometry_overlay", "locate_points"):
        from . import geometry

        return getattr(geometry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
