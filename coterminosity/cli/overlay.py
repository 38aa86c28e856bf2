"""``coterm overlay A B``: every pair of two layers, each A unit's class, and the layer score."""

from __future__ import annotations

import argparse

from .context import fine_for, load, population_for, writes_layer
from .formats import layer_name, show, with_unit_geometry, write_layer_output
from .options import add_data, add_output, add_weighting, count, sliver_options, weight_of

NAME = "overlay"
HELP = "every pair of two layers, classes and a layer score"
TERMINAL_COLUMNS = ("class", "touches", "split", "best_name", "share_in_best", "best_share_inside", "wrong_side",
                    "note")


def register(sub) -> argparse.ArgumentParser:
    """Add the ``overlay`` command."""
    p = sub.add_parser(NAME, help=HELP, description="Overlay layer A (footprints) on layer B: each A unit's class "
                       "(coterminous / nested / contains / partial / split), best match and wrong-side amount; "
                       "the layer score; B units split. wrong_side: for each B unit A's boundary cuts, the smaller "
                       "of its part inside and outside A (zero for a B holding A whole).")
    p.add_argument("footprints", metavar="A", help="layer A: catalogue name (stp17, icb22, ccg17, …) or file")
    p.add_argument("b", metavar="B", help="layer B: catalogue name (upper17, lad17, …) or file")
    add_weighting(p)
    p.add_argument("--pairs", action="store_true", help="print every intersecting pair instead of one row per A unit")
    p.add_argument("--worst", type=count, default=5, help="how many worst fits to name (default 5)")
    p.add_argument("--all-columns", action="store_true", help="show every column in the terminal table")
    add_data(p)
    add_output(p, layers=True)
    return p


def run(args: argparse.Namespace) -> int:
    """Overlay, classify, report."""
    from ..boundaries.comparison import compare

    a, b = load(args, args.footprints), load(args, args.b)
    result = compare(a, b, population_for(args, a, b), by=weight_of(args), threshold=args.threshold,
                     worst=args.worst, **sliver_options(args))
    if writes_layer(args):
        if args.pairs:
            from ..boundaries.pieces import pair_geometry, piece_codes

            frame = pair_geometry(result.overlay.real(), a, b, fine=fine_for(args, a, b))
            frame = piece_codes(frame, a_col="a_code", b_col="b_code", a_name="a_name", b_name="b_name")
        else:
            frame = with_unit_geometry(result.table, a)
        write_layer_output(args, frame, layer_name(args, "pairs" if args.pairs else "overlay"), lines=result.lines())
        return 0
    if args.pairs:
        show(args, result, result.overlay.pairs)
        return 0
    frame = result.table
    if not args.all_columns and args.format in ("table", "markdown"):
        frame = frame[["code", "name", result.weight_col, *TERMINAL_COLUMNS]]
        if result.by == "area":  # km² reads better than m² on screen
            frame = frame.assign(area_m2=frame["area_m2"] / 1e6, wrong_side=frame["wrong_side"] / 1e6)
            frame = frame.rename(columns={"area_m2": "area_km2", "wrong_side": "wrong_side_km2"})
    show(args, result, frame)
    return 0
