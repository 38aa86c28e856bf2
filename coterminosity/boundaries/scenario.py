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

from dataclasses import asdict, dataclass, field

import pandas as pd

from ..errors import CotermError, InputError
from ..geo.layer import Layer, Population
from .metrics import DEFAULT_THRESHOLD, classify, layer_score, pick_weight
from .overlay import WEIGHT_COLUMN, overlay
from .result import weight_line

DEFAULT_UNITS = ("ccg17", "lad17", "upper17")
DEFAULT_AGAINST = ("upper17", "lad17", "ccg17")


@dataclass
class Move:
    """One move as written: ``unit`` (code, name or ``A&B``) to footprint ``to``; when ``lsoas`` lists
    small-area codes, those are the moved small areas and ``unit`` is only their label."""

    unit: str
    to: str
    lsoas: list[str] | None = None

    @classmethod
    def parse(cls, text: str, where: str = "--move") -> Move:
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
                "units": list(self.units),
                "moves": [{k: v for k, v in asdict(m).items() if v is not None} for m in self.moves]}


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


# ---------------------------------------------------------------- resolving units


def _find_unit(token: str, units: list[Layer]) -> tuple[Layer, str] | None:
    """The unit a code or whole name names, in the first unit layer that has it.

    A token that is only part of names is never taken silently (``Glossop`` is part of "NHS
    Tameside and Glossop CCG", not a unit): the error lists the candidates and the ``A&B`` form.
    """
    partial = []
    for layer in units:
        codes = layer.match(token)
        whole = [c for c in codes if c == token or layer.names()[c].casefold() == token.casefold()]
        if whole:
            return layer, whole[0]
        partial += [(layer, c) for c in codes]
    if not partial:
        return None
    options = "; ".join(f"{layer.names()[c]} ({c}, {layer.label})" for layer, c in partial[:6])
    more = f" and {len(partial) - 6} more" if len(partial) > 6 else ""
    raise CotermError(f"unit {token!r} is not a code or whole name; it is part of the names of {options}{more}. "
                      "Give a code or the whole name, or A&B for the part of unit A inside unit B "
                      "(e.g. E38000182&E07000037)")


def _parts(text: str, units: list[Layer]) -> list[tuple[Layer, str]]:
    """The units ``text`` names: one code or whole name, else ``A&B`` split where both sides name
    units (a name holding ``&`` itself, "Bree & Brook", is tried whole first)."""
    try:
        found = _find_unit(text.strip(), units)
    except CotermError as err:
        found, first_error = None, err
    else:
        first_error = None
    if found is not None:
        return [found]
    for i in (i for i, ch in enumerate(text) if ch == "&"):
        left, right = text[:i].strip(), text[i + 1:].strip()
        try:
            head = _find_unit(left, units) if left else None
            rest = _parts(right, units) if head is not None and right else None
        except CotermError:
            continue
        if head is not None and rest:
            return [head, *rest]
    if first_error is not None:
        raise first_error
    raise CotermError(f"unit {text!r} is not a code or name in {', '.join(l.label for l in units)}; "
                      "check the spelling, give a code, or name the unit layer with --units")


def resolve_unit(text: str, units: list[Layer]) -> tuple[list[str], str, set[str]]:
    """(codes, label, LSOA codes) of a unit written as a code, a name or ``A&B`` (the part of A inside B)."""
    parts = _parts(text, units)
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
        if move.lsoas is None:
            codes, label, small = resolve_unit(move.unit, units)
        else:  # small areas listed by code
            codes, label, small = [], move.unit, set(move.lsoas)
            unknown = small.difference(members.index)
            if unknown:
                raise CotermError(f"move {move.unit}: {len(unknown)} listed small areas (e.g. {min(unknown)}) are not "
                                  f"in {footprints.label}; check the vintage")
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


def apply_scenario(footprints: Layer, scenario: Scenario, units: list[Layer], *, fine: Layer | None = None) -> Layer:
    """The footprints after the scenario's moves; moved footprints dissolved again from ``fine``.

    ``units`` are the layers the moved units come from (the scenario's ``units``); ``fine`` is the
    small-area layer to dissolve (without it only the membership changes).

    Examples
    --------
    >>> import coterminosity as ct
    >>> scenario = ct.Scenario([ct.Move("NHS Bassetlaw CCG", "Nottinghamshire")])  # doctest: +SKIP
    >>> after = ct.apply_scenario(ct.load_layer("stp17"), scenario, [ct.load_layer("ccg17")])  # doctest: +SKIP
    """
    return run_moves(footprints, scenario, units, fine=fine, geometry=fine is not None)[0]


def needs_geometry(footprints: Layer, against: list[Layer]) -> bool:
    """True when a compared layer is not built from the footprints' small areas: it is overlaid by
    geometry, so the moved footprints must be redrawn."""
    return not all(footprints.shares_blocks_with(layer) for layer in against)


def run_moves(footprints: Layer, scenario: Scenario, units: list[Layer], *, fine: Layer | None = None,
              geometry: bool = True) -> tuple[Layer, list[ResolvedMove], list[str]]:
    """(footprints after, resolved moves, affected footprint codes in order)."""
    members, resolved = resolve_moves(footprints, scenario, units)
    affected = []
    for r in resolved:
        for code in list(r.sources) + ([r.target] if r.sources else []):
            if code not in affected:
                affected.append(code)
    if geometry and fine is None and affected:
        raise CotermError(f"{footprints.label}: give the small-area layer to rebuild moved footprints from")
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
    footprints: str = ""
    name: str = ""
    population: Population | None = None
    threshold: float = DEFAULT_THRESHOLD
    warnings: list[str] = field(default_factory=list)

    def header(self) -> list[str]:
        """The moves, the weights and the threshold."""
        pop = self.population
        return ([f"scenario{': ' + self.name if self.name else ''}: {len(self.moves)} move(s) on {self.footprints}"]
                + [m.describe() for m in self.moves]
                + [weight_line(self.by, pop.label if pop is not None else None, pop.total if pop is not None else None),
                   f"threshold: {self.threshold:g}"])

    def lines(self) -> list[str]:
        """Each layer line before and after."""
        return (["before: " + line for line in self.lines_before] + ["after:  " + line for line in self.lines_after]
                + self.warnings)

    def meta(self) -> dict:
        """The facts JSON carries beside the rows."""
        return {"name": self.name, "footprints": self.footprints, "affected": self.affected, "by": self.by,
                "threshold": self.threshold, "before": self.lines_before, "after": self.lines_after}


ScenarioResult = BeforeAfter


FOOTPRINT_METRICS = ("touches", "split", "wrong_side", "class")
LAYER_METRICS = ("score", "whole_unions", "clean_units", "split_b", "in_split_b")


def _change(before, after):
    if isinstance(before, str) or isinstance(after, str):
        return "" if before == after else "changed"
    return after - before


def before_after(before: Layer, after: Layer, against: list[Layer], population: Population | None, affected: list[str],
                 moves: list[ResolvedMove], *, by: str | None = None, threshold: float = DEFAULT_THRESHOLD,
                 name: str = "", **overlay_options) -> BeforeAfter:
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
    return BeforeAfter(table, lines_b, lines_a, moves, affected, weight or "area", before.label, name, population,
                       threshold)


def contiguity(before: Layer, after: Layer, affected: list[str], fine: Layer) -> list[str]:
    """A line for each moved footprint left in more separate pieces than before, counted on the
    adjacency of its small areas (``fine``'s polygons), e.g. a county handed to a footprint it does
    not border. Narrow water between small areas does not count as a break."""
    from .contiguity import pieces_by_label

    old = before.members[before.members["code"].isin(affected)]
    new = after.members[after.members["code"].isin(affected)]
    codes = sorted(set(old["small_code"]) | set(new["small_code"]))
    geoms = fine.frame.drop_duplicates("code").set_index("code").geometry.reindex(codes).dropna()
    values = geoms.to_numpy()
    was = pieces_by_label(values, old.set_index("small_code")["code"].reindex(geoms.index).to_numpy())
    now = pieces_by_label(values, new.set_index("small_code")["code"].reindex(geoms.index).to_numpy())
    names = {**before.names(), **after.names()}
    out = []
    for code in affected:
        n_was, n_now = int(was.get(code, 0)), int(now.get(code, 0))
        if n_now > max(n_was, 1):
            out.append(f"non-contiguous: {names.get(code, code)} ({code}) is in {n_now} separate pieces after the "
                       f"moves (was {n_was})")
    return out


def _class_text(row) -> str | None:
    """A class, naming the unit for ``nested``."""
    if row is None:
        return None
    return f"nested in {row['best_name']}" if row["class"] == "nested" else str(row["class"])


def _plain(value):
    """numpy scalars → Python values."""
    return value.item() if hasattr(value, "item") else value
