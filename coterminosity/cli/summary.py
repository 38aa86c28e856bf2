"""``coterm summary FOOTPRINTS``: per footprint, councils and CCGs touched and split, class."""

from __future__ import annotations

import argparse

from .context import load, population_for, writes_layer
from .formats import layer_name, show, with_unit_geometry, write_layer_output
from .options import add_data, add_footprints, add_output, add_weighting, sliver_options, weight_of

NAME = "summary"
HELP = "per footprint: population, CCGs, councils touched and split, class"


def register(sub) -> argparse.ArgumentParser:
    """Add the ``summary`` command."""
    p = sub.add_parser(NAME, help=HELP, description="Summarise footprints against local organisation layers: "
                       "councils (upper tier, with their districts) and CCGs of the footprints' year.")
    add_footprints(p)
    p.add_argument("--against", action="append", metavar="LAYER",
                   help="layer to compare with (repeatable; default: the councils and CCGs of the footprints' "
                        "year, e.g. upper17 and ccg17 for stp17); the first gives the class and wrong-side "
                        "columns. An upper-tier layer brings its districts (upper17 → lad17)")
    p.add_argument("--no-lower-tier", action="store_true", help="do not add the districts beside upper-tier councils")
    p.add_argument("--all-columns", action="store_true",
                   help="terminal table with every column (wrong side and class against every layer)")
    add_weighting(p)
    add_data(p)
    add_output(p, layers=True)
    return p


def run(args: argparse.Namespace) -> int:
    """Summarise and report."""
    from ..boundaries.summary import default_against, summarise, with_lower_tier

    footprints = load(args, args.footprints)
    names = list(dict.fromkeys(args.against or default_against(footprints.label)))
    if not args.no_lower_tier:
        names = with_lower_tier(names)
    layers = [load(args, spec) for spec in names]
    result = summarise(footprints, layers, population_for(args, footprints, *layers), by=weight_of(args),
                       threshold=args.threshold, **sliver_options(args))
    if writes_layer(args):
        write_layer_output(args, with_unit_geometry(result.table, footprints), layer_name(args, "summary"),
                           lines=result.lines())
        return 0
    frame = result.table
    if args.format in ("table", "markdown") and not args.all_columns:
        frame = result.compact()
    show(args, result, frame)
    return 0
