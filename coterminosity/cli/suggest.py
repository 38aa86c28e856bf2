"""``coterm suggest FOOTPRINTS --against COUNCILS``: the fewest people moved to make councils whole."""

from __future__ import annotations

import argparse
import logging

from ..errors import CotermError
from .context import fine_for, load, population_for, refuse_layer_output
from .formats import show
from .options import add_data, add_footprints, add_output, add_population, count, non_negative, people_range, weight_of

NAME = "suggest"
HELP = "suggest moves making footprints coterminous with councils, moving the fewest people"
log = logging.getLogger(__name__)
SHORT = {"council_name": "council", "from_name": "from", "to_name": "to"}


def register(sub) -> argparse.ArgumentParser:
    """Add the ``suggest`` command."""
    p = sub.add_parser(NAME, help=HELP, description=(
        "Find the boundary moves that make every council lie whole in one footprint while moving the fewest "
        "people: pieces (council ∩ footprint ∩ sub-unit) are assigned by an exact integer programme "
        "(HiGHS). With --max-moves/--max-people, as many councils as the budget allows are made whole "
        "(ties: fewest people). Each move is reported with the councils it makes whole, the sub-units it "
        "splits and footprints it leaves in pieces; --save writes the moves as a scenario."))
    add_footprints(p, "footprint layer to adjust: catalogue name (stp21, stp17, …) or a file built from LSOAs")
    p.add_argument("--against", required=True, metavar="COUNCILS",
                   help="council layer to make the footprints follow, e.g. upper21 (built from the same LSOAs)")
    p.add_argument("--keep-whole", metavar="LAYER",
                   help="never split a unit of this layer (e.g. ccg21: CCGs or sub-ICB locations)")
    p.add_argument("--soft", type=non_negative, metavar="PENALTY",
                   help="with --keep-whole: allow splits at this many people each instead of forbidding them")
    p.add_argument("--population-band", type=people_range, metavar="MIN-MAX",
                   help="every footprint after the moves holds MIN–MAX people, e.g. 500000-3000000")
    p.add_argument("--max-moves", type=count, metavar="K", help="at most K moves (then most councils made whole)")
    p.add_argument("--max-people", type=non_negative, metavar="N",
                   help="at most N people moved (then most councils made whole)")
    p.add_argument("--fix", action="append", default=[], metavar="CODE",
                   help="leave this council as it is (code or name; repeatable)")
    p.add_argument("--save", metavar="FILE.json",
                   help="save the moves as a scenario for `coterm scenario --moves` and `coterm map --scenario`")
    add_population(p, old_by=False)
    add_data(p)
    add_output(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Load the layers, solve, save the scenario if asked, and report the moves."""
    from ..boundaries.scenario import resolve_moves
    from ..boundaries.suggest import suggest
    from ..geo.scenario_file import save_scenario

    refuse_layer_output(args, "suggest")
    if weight_of(args) not in (None, "population"):
        raise CotermError(f"--weight {weight_of(args)}: suggest counts people moved; it weighs by population only")
    if args.soft is not None and not args.keep_whole:
        raise CotermError("--soft needs --keep-whole LAYER (the layer whose splits it prices)")
    footprints, councils = load(args, args.footprints), load(args, args.against)
    keep = load(args, args.keep_whole) if args.keep_whole else None
    population = population_for(args, footprints, councils)
    if population is None:
        raise CotermError("suggest counts people moved: give --population FILE (or use layers built from LSOAs)")
    result = suggest(footprints, councils, population, keep_whole=keep, soft=args.soft, band=args.population_band,
                     max_moves=args.max_moves, max_people=args.max_people, fix=args.fix,
                     small_areas=fine_for(args, footprints))
    if args.save:
        specs = [args.against] + ([args.keep_whole] if keep is not None else []) + [args.footprints]
        scenario = result.scenario(units=specs, name=f"suggest {args.footprints} against {args.against}")
        scenario.footprints = args.footprints
        _, resolved = resolve_moves(footprints, scenario, [councils] + ([keep] if keep is not None else [])
                                    + [footprints]) if scenario.moves else (None, [])
        save_scenario(scenario, args.save, resolved)
        log.info("wrote %s (%d moves)", args.save, len(scenario.moves))
    frame = result.table
    if args.format in ("table", "markdown"):
        frame = frame.drop(columns=list(SHORT.values())).rename(columns=SHORT)
    show(args, result, frame)
    return 0
