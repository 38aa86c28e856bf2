"""``coterm scenario [FOOTPRINTS] --move UNIT=FOOTPRINT``: move units; before/after of every metric."""

from __future__ import annotations

import argparse
import logging

from ..errors import CotermError
from .context import load, population_for
from .formats import show
from .options import add_data, add_footprints, add_output, add_weighting, deprecated, sliver_options, weight_of

NAME = "scenario"
HELP = "move units between footprints; before/after of every metric"
log = logging.getLogger(__name__)


def register(sub) -> argparse.ArgumentParser:
    """Add the ``scenario`` command."""
    p = sub.add_parser(NAME, help=HELP, description="Move units (CCGs, districts, councils, or A&B = the part of A "
                       "inside B) to other footprints, rebuild the affected footprints and compare every metric "
                       "before and after. Moves: UNIT=FOOTPRINT with codes or whole names.")
    add_footprints(p, "footprint layer (default: the scenario file's, else stp17)", optional=True)
    p.add_argument("--move", action="append", metavar="UNIT=FOOTPRINT",
                   help="a move, e.g. E38000008=E54000014 or \"E38000182&E07000037=Derbyshire\" (repeatable)")
    p.add_argument("--moves", metavar="FILE", help="scenario JSON (from --save) or a text file of UNIT=FOOTPRINT lines")
    p.add_argument("--footprints", dest="old_footprints", metavar="LAYER", help=argparse.SUPPRESS)
    p.add_argument("--units", action="append", metavar="LAYER",
                   help="layers units are looked up in (repeatable; default the CCGs, districts and councils of the "
                        "footprints' year, e.g. ccg17, lad17, upper17 for stp17)")
    p.add_argument("--against", action="append", metavar="LAYER",
                   help="layers to compare with (repeatable; default the councils, districts and CCGs of the footprints' "
                        "year)")
    p.add_argument("--name", help="a name for the scenario (saved with it)")
    p.add_argument("--save", metavar="FILE.json", help="save the scenario (moves and resolved codes) for "
                   "`coterm map --scenario`")
    p.add_argument("--output-layer", metavar="FILE", help="write the footprints after the moves (.gpkg, .geojson, …)")
    add_weighting(p)
    add_data(p)
    add_output(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Resolve the moves, apply them, compare before and after, write what was asked."""
    from ..boundaries.scenario import DEFAULT_UNITS, Move, Scenario, before_after, contiguity, run_moves
    from ..boundaries.vintages import year_layers
    from ..geo import small_area_layer
    from ..geo.scenario_file import load_scenario, save_scenario

    scenario = load_scenario(args.moves) if args.moves else Scenario([])
    scenario.moves += [Move.parse(m) for m in args.move or []]
    if args.old_footprints:
        deprecated("--footprints LAYER", "the footprint layer as the first argument")
    if args.footprints or args.old_footprints:
        scenario.footprints = args.footprints or args.old_footprints
    if args.units:
        scenario.units = list(args.units)
    if args.name:
        scenario.name = args.name
    if not scenario.moves:
        raise CotermError("give at least one --move UNIT=FOOTPRINT, or --moves FILE")
    if args.output_layer:
        from ..geo.write import check_output_path

        check_output_path(args.output_layer)
    year = year_layers(scenario.footprints)  # e.g. upper21, lad21, ccg21 for stp21
    if not args.units and scenario.units == list(DEFAULT_UNITS):
        scenario.units = list(reversed(year))  # CCGs first, then districts, then councils
    before = load(args, scenario.footprints)
    units = [load(args, spec) for spec in scenario.units]
    against = [load(args, spec) for spec in dict.fromkeys(args.against or year)]
    population = population_for(args, before, *against)
    fine = small_area_layer(args.data_dir) if before.small_areas == "lsoa11" else None
    after, moves, affected = run_moves(before, scenario, units, fine=fine, geometry=fine is not None)
    result = before_after(before, after, against, population, affected, moves, by=weight_of(args),
                          threshold=args.threshold, name=scenario.name, **sliver_options(args))
    if fine is not None:
        result.warnings += contiguity(before, after, affected, fine)
    # Files last, each atomic, the layer (the likeliest to be refused) first.
    if args.output_layer:
        from ..boundaries.overlay import population_by_unit
        from ..geo.write import write_layer

        layer_frame = after.frame[["code", "name", "geometry"]].copy()
        if population is not None:
            layer_frame.insert(2, "population", population_by_unit(after, population).to_numpy())
        layer_frame["moved"] = layer_frame["code"].isin(affected)
        write_layer(layer_frame, args.output_layer, layer_name="footprints_after")
        log.info("wrote %s (%d footprints, %d rebuilt)", args.output_layer, len(layer_frame), len(affected))
    if args.save:
        save_scenario(scenario, args.save, moves)
        log.info("wrote %s", args.save)
    frame = result.table
    if args.format in ("table", "markdown"):
        frame = format_comparison(frame)
    show(args, result, frame, meta={"scenario": scenario.to_dict()})
    return 0


def format_comparison(table):
    """Before/after/change as text: shares as percentages, amounts with separators, signed changes."""
    out = table.copy()

    def text(value, metric, signed=False):
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            return value
        if metric == "score":
            return f"{100 * value:+.1f} pts" if signed else f"{100 * value:.1f}%"
        if signed:
            return "0" if value == 0 else f"{value:+,.0f}"
        return f"{value:,.0f}"

    for col in ("before", "after", "change"):
        out[col] = [text(v, m, col == "change") for v, m in zip(table[col], table["metric"])]
    return out
