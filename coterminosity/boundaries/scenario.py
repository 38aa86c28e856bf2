"""Scenarios: move units between footprints, rebuild the footprints, and compare every metric.

A footprint layer built from LSOAs is a membership table, so a move is a membership edit: the
LSOAs of the moved unit are given to the target footprint. Only the footprints that gain or
lose LSOAs are dissolved again; every metric is then re-run before and after.

Move syntax (command line ``--move``, a moves file, or the ``moves`` of a scenario JSON)::

    UNIT=FOOTPRINT                      e.g.  E38000008=E54000014
    NAME=NAME                                 NHS Bassetlaw CCG=Nottinghamshire
    UNIT&UNIT=FOOTPRINT                       E38000182&E07000037=E54000012

UNIT is a code or a name in one of the scenario's unit layers (default ccg17, lad17, upper17,
searched in that order; names match case-insensitively, whole first, then as a unique part of
one name). ``A&B`` is the part of A inside B (the LSOAs in both), e.g. the part of Tameside and
Glossop CCG inside High Peak district; a name that itself contains ``&`` (NHS Fylde & Wyre CCG)
is matched whole before it is split. FOOTPRINT is a footprint code or name. Moves apply in
order; a later move of the same LSOAs wins.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import CotermError, InputError
from ..geo.layer import Layer, Population
from .metrics import DEFAULT_THRESHOLD, classify, layer_score, pick_weight
from .overlay import WEIGHT_COLUMN, overlay

DEFAULT_UNITS = ("ccg17", "lad17", "upper17")
DEFAULT_AGAINST = ("upper17", "lad17", "ccg17")


@dataclass
class Move:
    """One move as written: ``unit`` (code, name or ``A&B``) to footprint ``to``."""

    unit: str
    to: str

    @classmethod
    def parse(cls, text: str, where: str = "--move") -> "Move":
        """``UNIT=FOOTPRINT`` → Move; one-line error otherwise."""
        unit, sep, to = text.partition("=")
        if not sep or not unit.strip() or not to.strip():
            raise InputError(f"{where}: {text!r} is not UNIT=FOOTPRINT (e.g. E38000008=E54000014)")
        return cls(unit.strip(), to.strip())

    def __str__(self) -> str:
        return f"{self.unit}={self.to}"


@dataclass
class Scenario:
    """Moves of units between footprints of a footprint layer."""

    moves: list[Move]
    footprints: str = "stp17"
    units: list[str] = field(default_factory=lambda: list(DEFAULT_UNITS))
    name: str = ""
    description: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "footprints": self.footprints,
                "units": list(self.units), "moves": [asdict(m) for m in self.moves]}


@dataclass
class ResolvedMove:
    """A move with its LSOAs found: the unit's codes and names, the target, and who loses what."""

    move: Move
    unit_codes: list[str]
    unit_label: str
    target: str
    target_name: str
    small_codes: list[str]
    sources: dict[str, int]  # footprint code → number of LSOAs it gives up

    def describe(self) -> str:
        gives = ", ".join(f"{c} ({n} LSOAs)" for c, n in self.sources.items()) or "nobody (already there)"
        return f"move {self.unit_label} [{' & '.join(self.unit_codes)}] → {self.target_name} ({self.target}); from {gives}"


# ---------------------------------------------------------------- reading and writing


def load_scenario(path: str | Path) -> Scenario:
    """A scenario from a JSON file (``{"moves": [{"unit": …, "to": …}], …}``) or a moves file.

    A moves file is text with one ``UNIT=FOOTPRINT`` per line (``#`` comments), or a CSV with
    ``unit`` and ``to`` columns.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such scenario file; check the path")
    text = p.read_text(encoding="utf-8-sig")
    if p.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"{p}: not valid JSON (line {err.lineno}: {err.msg}); fix the file") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("moves"), list):
            raise InputError(f"{p}: a scenario JSON needs a list \"moves\" of {{\"unit\": …, \"to\": …}}")
        moves = []
        for i, m in enumerate(doc["moves"], 1):
            if isinstance(m, str):
                moves.append(Move.parse(m, f"{p}: move {i}"))
            elif isinstance(m, dict) and str(m.get("unit", "")).strip() and str(m.get("to", "")).strip():
                moves.append(Move(str(m["unit"]).strip(), str(m["to"]).strip()))
            else:
                raise InputError(f"{p}: move {i} needs \"unit\" and \"to\" (or a string UNIT=FOOTPRINT)")
        units = doc.get("units") or list(DEFAULT_UNITS)
        if isinstance(units, str):
            units = [units]
        return Scenario(moves, footprints=str(doc.get("footprints") or "stp17"), units=[str(u) for u in units],
                        name=str(doc.get("name") or p.stem), description=str(doc.get("description") or ""))
    lines = text.splitlines()
    first = lines[0].strip().lower().replace(" ", "") if lines else ""
    if p.suffix.lower() == ".csv" and first.startswith("unit,"):
        import csv

        moves = []
        for i, row in enumerate(csv.DictReader(lines), 2):
            unit, to = (row.get("unit") or "").strip(), (row.get("to") or "").strip()
            if not unit or not to:
                raise InputError(f"{p}: row {i}: needs both unit and to")
            moves.append(Move(unit, to))
    else:
        moves = [Move.parse(line.split("#", 1)[0].strip(), f"{p}: line {i}")
                 for i, line in enumerate(lines, 1) if line.split("#", 1)[0].strip()]
    if not moves:
        raise InputError(f"{p}: no moves; write one UNIT=FOOTPRINT per line")
    return Scenario(moves, name=p.stem)


def save_scenario(scenario: Scenario, path: str | Path, resolved: list[ResolvedMove] | None = None) -> None:
    """Write the scenario as JSON (atomically), with the resolved codes for the record."""
    from ..report import atomic_write

    doc = scenario.to_dict()
    if resolved:
        doc["resolved"] = [{"unit_codes": r.unit_codes, "unit": r.unit_label, "to": r.target,
                            "to_name": r.target_name, "lsoas": len(r.small_codes), "from": r.sources}
                           for r in resolved]
    atomic_write(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- resolving units


def _find_unit(token: str, units: list[Layer]) -> tuple[Layer, str] | None:
    """The first unit layer with exactly one match for ``token``, preferring whole matches; error if ambiguous."""
    partial = []
    for layer in units:
        codes = layer.match(token)
        whole = [c for c in codes if c == token or layer.names()[c].casefold() == token.casefold()]
        if whole:
            return layer, whole[0]
        if codes:
            partial.append((layer, codes))
    if not partial:
        return None
    layer, codes = partial[0]
    if len(codes) > 1 or len(partial) > 1:
        options = "; ".join(f"{l.names()[c]} ({c}, {l.label})" for l, cs in partial for c in cs[:4])
        raise CotermError(f"unit {token!r} is ambiguous: {options}; give a code or the whole name")
    return layer, codes[0]


def resolve_unit(text: str, units: list[Layer]) -> tuple[list[str], str, set[str]]:
    """(codes, label, LSOA codes) of a unit written as a code, a name or ``A&B`` (the part of A inside B)."""
    found = _find_unit(text, units)
    parts = [found] if found is not None else None
    if parts is None and "&" in text:
        parts = []
        for token in (t.strip() for t in text.split("&")):
            got = _find_unit(token, units) if token else None
            if got is None:
                raise CotermError(f"unit {token!r} (in {text!r}) is not a code or name in "
                                  f"{', '.join(l.label for l in units)}; check the spelling or give a code")
            parts.append(got)
    if parts is None:
        raise CotermError(f"unit {text!r} is not a code or name in {', '.join(l.label for l in units)}; "
                          "check the spelling, give a code, or name the unit layer with --units")
    small: set[str] | None = None
    for layer, code in parts:
        if layer.members is None:
            raise CotermError(f"{layer.label}: unit layers of a scenario must be built from small areas (LSOAs)")
        mine = set(layer.members.loc[layer.members["code"] == code, "small_code"])
        small = mine if small is None else small & mine
    if not small:
        raise CotermError(f"unit {text!r} holds no small areas (the parts do not overlap); check the move")
    label = " ∩ ".join(layer.names()[code] for layer, code in parts)
    return [code for _, code in parts], label, small


def resolve_footprint(text: str, footprints: Layer) -> str:
    """A footprint code from a code or name."""
    return footprints.find(text, "footprints")


def resolve_moves(footprints: Layer, scenario: Scenario, units: list[Layer]) -> tuple[pd.DataFrame, list[ResolvedMove]]:
    """The footprints' membership after the moves, and each move resolved."""
    if footprints.members is None:
        raise CotermError(f"{footprints.label}: scenarios need a footprint layer built from small areas "
                          "(a catalogue layer such as stp17, or one made with `coterm build`)")
    if not scenario.moves:
        raise CotermError("scenario: no moves; give --move UNIT=FOOTPRINT or --moves FILE")
    members = footprints.members.set_index("small_code")["code"].copy()
    resolved = []
    for move in scenario.moves:
        codes, label, small = resolve_unit(move.unit, units)
        target = resolve_footprint(move.to, footprints)
        moving = members.index[members.index.isin(small)]
        before = members.loc[moving]
        sources = before[before != target].value_counts().sort_index()
        members.loc[moving] = target
        resolved.append(ResolvedMove(move, codes, label, target, footprints.names()[target], sorted(moving),
                                     {str(k): int(v) for k, v in sources.items()}))
    out = members.rename("code").rename_axis("small_code").reset_index()
    return out, resolved


# ---------------------------------------------------------------- applying


def apply_moves(footprints: Layer, members: pd.DataFrame, affected: set[str], *, fine: Layer | None = None,
                label: str | None = None) -> Layer:
    """Footprints with a new membership: affected ones dissolved again from ``fine`` (when given)."""
    import geopandas as gpd

    from ..geo.build import dissolve_geometries

    frame = footprints.frame.copy()
    notes = list(footprints.notes)
    if fine is not None and affected:
        joined = members[members["code"].isin(affected)].merge(
            fine.frame[["code", "geometry"]].rename(columns={"code": "small_code"}), on="small_code")
        unions = dissolve_geometries(joined["geometry"].to_numpy(), joined["code"].to_numpy(), coverage=True)
        for code, geom in unions.items():
            frame.loc[frame["code"] == code, "geometry"] = geom
    elif affected:
        notes.append("scenario: geometry of the moved footprints not rebuilt (metrics use membership)")
    left = set(members["code"])
    emptied = [c for c in frame["code"] if c not in left and c in affected]
    if emptied:
        notes.append(f"scenario: footprints left with no small areas and dropped: {', '.join(emptied)}")
        frame = frame[~frame["code"].isin(emptied)].reset_index(drop=True)
    frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=footprints.frame.crs)
    return Layer(frame, label=label or f"{footprints.label}*", members=members.reset_index(drop=True),
                 small_areas=footprints.small_areas, notes=notes, source=f"{footprints.source} + scenario",
                 blocks=footprints.blocks)


def load_units(scenario: Scenario, data_dir=None) -> list[Layer]:
    """The scenario's unit layers (catalogue names or files)."""
    from ..geo.named import load_layer

    return [load_layer(spec, data_dir=data_dir) for spec in scenario.units]


def apply_scenario(footprints: Layer, scenario: Scenario, data_dir=None, *, units: list[Layer] | None = None,
                   fine: Layer | None = None, geometry: bool = True) -> Layer:
    """The footprints after the scenario's moves; moved footprints dissolved again from their LSOAs.

    ``units`` are the layers the moved units come from (default: the scenario's ``units``, loaded
    from the catalogue); ``fine`` is the small-area layer to dissolve (default: the catalogue LSOAs).
    """
    return run_moves(footprints, scenario, data_dir, units=units, fine=fine, geometry=geometry)[0]


def run_moves(footprints: Layer, scenario: Scenario, data_dir=None, *, units: list[Layer] | None = None,
              fine: Layer | None = None, geometry: bool = True) -> tuple[Layer, list[ResolvedMove], list[str]]:
    """(footprints after, resolved moves, affected footprint codes in order)."""
    if units is None:
        units = load_units(scenario, data_dir)
    members, resolved = resolve_moves(footprints, scenario, units)
    affected = []
    for r in resolved:
        for code in list(r.sources) + ([r.target] if r.sources else []):
            if code not in affected:
                affected.append(code)
    if geometry and fine is None and affected:
        if footprints.small_areas != "lsoa11":
            raise CotermError(f"{footprints.label}: give the small-area layer to rebuild moved footprints from")
        from ..geo.named import small_area_layer

        fine = small_area_layer(data_dir)
    after = apply_moves(footprints, members, set(affected), fine=fine if geometry else None,
                        label=f"{footprints.label} ({scenario.name or 'after'})")
    return after, resolved, affected


# ---------------------------------------------------------------- comparing


@dataclass
class BeforeAfter:
    """Before/after of a scenario: per affected footprint and per layer line."""

    table: pd.DataFrame  # scope, name, against, metric, before, after, change
    lines_before: list[str]
    lines_after: list[str]
    moves: list[ResolvedMove]
    affected: list[str]
    by: str


FOOTPRINT_METRICS = ("touches", "split", "wrong_side", "class")
LAYER_METRICS = ("score", "whole_unions", "clean_units", "split_b", "in_split_b")


def _change(before, after):
    if isinstance(before, str) or isinstance(after, str):
        return "" if before == after else "changed"
    return after - before


def before_after(before: Layer, after: Layer, against: list[Layer], population: Population | None, affected: list[str],
                 moves: list[ResolvedMove], *, by: str | None = None, threshold: float = DEFAULT_THRESHOLD,
                 **overlay_options) -> BeforeAfter:
    """Re-run overlay, classes and layer scores before and after; one row per metric that could change.

    A compared layer not built from the footprints' small areas is overlaid by geometry, so
    ``after`` must then carry the rebuilt geometry (``run_moves(..., geometry=True)``).
    """
    rows, lines_b, lines_a = [], [], []
    weight = None
    names = {**before.names(), **after.names()}
    for i, layer in enumerate(against):
        tb, ta = overlay(before, layer, population, **overlay_options), overlay(after, layer, population, **overlay_options)
        weight = pick_weight(tb, by)
        col = WEIGHT_COLUMN[weight]
        classes_b, classes_a = classify(tb, weight, threshold), classify(ta, weight, threshold)
        cb, ca = classes_b.set_index("code"), classes_a.set_index("code")
        for code in affected:
            b_row = cb.loc[code] if code in cb.index else None
            a_row = ca.loc[code] if code in ca.index else None
            metrics = ((col,) if i == 0 else ()) + FOOTPRINT_METRICS
            for metric in metrics:
                bv = b_row[metric] if b_row is not None else None
                av = a_row[metric] if a_row is not None else None
                if metric == "class":
                    bv = _class_text(b_row)
                    av = _class_text(a_row)
                label = col if metric == col else metric
                rows.append({"scope": code, "name": names.get(code, code),
                             "against": "" if metric == col else layer.label, "metric": label,
                             "before": _plain(bv), "after": _plain(av),
                             "change": _change(_plain(bv), _plain(av)) if bv is not None and av is not None else ""})
        sb, sa = layer_score(tb, classes_b, weight, threshold), layer_score(ta, classes_a, weight, threshold)
        for metric in LAYER_METRICS:
            bv, av = getattr(sb, metric), getattr(sa, metric)
            rows.append({"scope": "layer", "name": before.label, "against": layer.label, "metric": metric,
                         "before": bv, "after": av, "change": _change(bv, av)})
        lines_b.append(sb.describe(before.label, layer.label))
        lines_a.append(sa.describe(after.label, layer.label))
    table = pd.DataFrame(rows)
    if len(table):  # each affected footprint's rows together (in move order), then the layer lines
        order = {code: i for i, code in enumerate(affected)}
        key = table["scope"].map(order).fillna(len(order))
        table = table.assign(_key=key).sort_values("_key", kind="stable").drop(columns="_key").reset_index(drop=True)
    return BeforeAfter(table, lines_b, lines_a, moves, affected, weight or "area")


def _class_text(row) -> str | None:
    """A class, naming the unit for ``nested``."""
    if row is None:
        return None
    return f"nested in {row['best_name']}" if row["class"] == "nested" else str(row["class"])


def _plain(value):
    """numpy scalars → Python values."""
    return value.item() if hasattr(value, "item") else value
