"""``coterm changes OLD NEW``: what changed between two vintages of a layer, matched by small areas."""

from __future__ import annotations

import argparse
import logging

from .context import fine_for, load, population_for, refuse_layer_output
from .formats import show
from .options import add_data, add_output, add_population

NAME = "changes"
HELP = "what changed between two vintages: merged, split, recoded, renamed units and moved pieces"
TERMINAL_COLUMNS = ("class", "old_code", "old_name", "new_code", "new_name", "people_old", "people_new",
                    "people_gained", "people_lost", "detail")
log = logging.getLogger(__name__)


def register(sub) -> argparse.ArgumentParser:
    """Add the ``changes`` command."""
    p = sub.add_parser(NAME, help=HELP, description="Compare two vintages of a layer (e.g. stp21 icb22) by the "
                       "small areas (LSOAs) each unit holds, never by code alone: every unit classed unchanged, "
                       "recoded, renamed, merged, split, grew, shrank, new or gone, and every piece moved between "
                       "units (from, to, LSOAs, people, km²). Layers not built from the same small areas are "
                       "compared by geometry (said in the report).")
    p.add_argument("old", metavar="OLD", help="the earlier layer: catalogue name (stp17, ccg19, …) or file")
    p.add_argument("new", metavar="NEW", help="the later layer: catalogue name (stp18, icb22, …) or file")
    p.add_argument("--pieces", action="store_true", help="print the moved pieces instead of one row per unit")
    p.add_argument("--all-columns", action="store_true", help="show every column in the terminal table")
    p.add_argument("--layer-out", metavar="FILE", help="write the moved pieces as polygons (.gpkg, .geojson, …) "
                   "with from/to codes, names, LSOAs, people and km²")
    p.add_argument("--save", metavar="FILE.json", help="save the changes as a scenario on OLD (moves of small areas) "
                   "for `coterm scenario --moves` and `coterm map --scenario`")
    add_population(p, old_by=False)
    add_data(p)
    add_output(p, layers=True)  # a layer name gets its own hint below (--layer-out)
    return p


def run(args: argparse.Namespace) -> int:
    """Compare the two vintages, write the asked files, report."""
    from ..boundaries.changes import changes

    refuse_layer_output(args, "changes (use --layer-out for the moved pieces)")
    if args.layer_out:
        from ..geo.write import check_output_path

        check_output_path(args.layer_out)
    old, new = load(args, args.old), load(args, args.new)
    population = population_for(args, old, new) if args.weight in (None, "population") else None
    result = changes(old, new, population)
    scenario = result.scenario() if args.save else None  # before any file is written: it may be refused
    if args.layer_out:
        from ..geo.write import write_layer

        frame = result.pieces_frame(fine_for(args, old, new) if result.method == "membership" else None)
        write_layer(frame, args.layer_out, layer_name="moved_pieces")
        log.info("wrote %s (%d moved pieces)", args.layer_out, len(frame))
    if scenario is not None:
        from ..geo.scenario_file import save_scenario

        save_scenario(scenario, args.save)
        log.info("wrote %s (%d moves on %s)", args.save, len(scenario.moves), old.label)
    frame = result.pieces if args.pieces else result.table
    if not args.pieces and not args.all_columns and args.format in ("table", "markdown"):
        frame = frame[list(TERMINAL_COLUMNS)]
    show(args, result, frame)
    return 0
