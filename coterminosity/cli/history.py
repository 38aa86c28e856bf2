"""``coterm history [LAYER...]``: footprint vintages against their councils and CCGs, and what moved."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..errors import CotermError
from .context import load, population_for, refuse_layer_output
from .formats import show
from .options import add_data, add_output, add_threshold

NAME = "history"
HELP = "footprints 2017–2024 against the councils and CCGs of their year: splits, people outside, moves"
TERMINAL_COLUMNS = ("vintage", "units", "councils", "councils_spanning", "councils_split", "people_outside",
                    "people_outside_share", "whole_unions", "whole_unions_share", "score", "ccgs", "ccgs_split",
                    "people_moved")
log = logging.getLogger(__name__)


def register(sub) -> argparse.ArgumentParser:
    """Add the ``history`` command."""
    p = sub.add_parser(NAME, help=HELP, description="One row per footprint vintage (default stp17 … icb24), each "
                       "against the upper-tier councils and the CCGs (sub-ICB locations from 2022) of its year: "
                       "councils split, people living in a council outside its main footprint, footprints that are "
                       "unions of whole councils, the layer score, CCGs split, and the people moved since the "
                       "vintage before (mergers are not moves).")
    p.add_argument("layers", nargs="*", metavar="LAYER",
                   help="footprint vintages in order (default: stp17 stp18 stp19 stp20 stp21 icb22 icb24)")
    p.add_argument("--against", metavar="COUNCILS",
                   help="one council layer for every vintage (default: each vintage's own year, upper21 from 2022)")
    p.add_argument("--ccgs", metavar="LAYER", help="one CCG layer for every vintage (default: each vintage's own)")
    p.add_argument("--chart", metavar="FILE", help="also draw councils split and people outside over time "
                   "(FILE.svg or FILE.png)")
    p.add_argument("--population", nargs="?", const="pop19", metavar="FILE",
                   help="population (default: the catalogue mid-2019 LSOA populations): population points with a "
                        "count column, or a table of LSOA code → count")
    add_threshold(p)
    add_data(p)
    add_output(p)
    return p


def pairing(args: argparse.Namespace) -> list[tuple[str, str, str | None]]:
    """(footprints, councils, CCGs) per vintage: the options given, else the default pairing by year."""
    from ..boundaries.history import DEFAULT_VINTAGES

    defaults = {fp: (councils, ccgs) for fp, councils, ccgs in DEFAULT_VINTAGES}
    out = []
    for spec in args.layers or list(defaults):
        councils = args.against or defaults.get(spec, (None, None))[0]
        if councils is None:
            raise CotermError(f"{spec}: no council layer of its year is known; give --against COUNCILS "
                              f"(default pairing only for {', '.join(defaults)})")
        out.append((spec, councils, args.ccgs or defaults.get(spec, (None, None))[1]))
    return out


def ccg_layer(args: argparse.Namespace, get, spec: str | None):
    """The CCG layer of a vintage; a default one that cannot be built leaves its columns empty (said)."""
    if not spec:
        return None
    try:
        return get(spec)
    except CotermError as err:
        if args.ccgs:
            raise
        log.warning("%s: CCG columns left empty for this vintage (%s)", spec, err)
        return None


def run(args: argparse.Namespace) -> int:
    """Load every vintage, compute the history, draw the chart if asked, report."""
    from ..boundaries.history import history

    refuse_layer_output(args, "history")
    if args.chart and Path(args.chart).suffix.lower() not in (".svg", ".png"):
        raise CotermError(f"--chart {args.chart}: give a .svg or .png file name")
    if args.chart:
        from ..geo.write import check_output_path

        check_output_path(args.chart)
    vintages = pairing(args)
    cache: dict[str, object] = {}

    def get(spec):
        if spec not in cache:
            cache[spec] = load(args, spec)
        return cache[spec]

    layers = [(get(fp), get(councils)) for fp, councils, _ in vintages]
    ccgs = [ccg_layer(args, get, c) for _, _, c in vintages]
    population = population_for(args, *[layer for pair in layers for layer in pair])
    if population is None:
        raise CotermError("history counts people: give --population FILE for layers not built from the LSOAs")
    result = history(layers, population, ccgs=ccgs if any(ccgs) else None, threshold=args.threshold)
    if args.chart:
        from ..geo.io import atomic_write
        from ..maps.chart import history_chart

        atomic_write(args.chart, history_chart(result, Path(args.chart).suffix.lower().lstrip(".")))
        log.info("wrote %s", args.chart)
    frame = result.table
    if args.format in ("table", "markdown"):
        frame = frame[list(TERMINAL_COLUMNS)]
    show(args, result, frame)
    return 0
