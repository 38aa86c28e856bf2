"""``coterm spanners FOOTPRINTS LAYER``: units of a layer that fall in more than one footprint."""

from __future__ import annotations

import argparse

from ..errors import CotermError
from .context import fine_for, load, population_for, writes_layer
from .formats import layer_name, show, write_layer_output
from .options import add_data, add_output, add_weighting, sliver_options, weight_of

NAME = "spanners"
HELP = "units of a layer that fall in more than one footprint, with shares"


def register(sub) -> argparse.ArgumentParser:
    """Add the ``spanners`` command."""
    p = sub.add_parser(NAME, help=HELP, description="List every unit of LAYER (council, CCG, trust catchment) "
                       "lying in more than one footprint, with its share in each, most divided first.")
    p.add_argument("specs", nargs="+", metavar="FOOTPRINTS LAYER",
                   help="footprint layer (stp17, icb22 or a file), then the unit layer (upper17, ccg17, trust22, a "
                        "file); `LAYER --across FOOTPRINTS` also works")
    p.add_argument("--across", metavar="FOOTPRINTS", help="footprint layer, when only LAYER is given before")
    p.add_argument("--long", action="store_true", help="one row per unit and footprint (tidy form) in every format")
    add_weighting(p, with_threshold=False)
    add_data(p)
    add_output(p, layers=True)
    return p


def run(args: argparse.Namespace) -> int:
    """Find spanners and report."""
    from ..boundaries.spanners import find_spanners

    if args.across and len(args.specs) == 1:
        footprint_spec, layer_spec = args.across, args.specs[0]
    elif len(args.specs) == 2 and not args.across:
        footprint_spec, layer_spec = args.specs
    else:
        raise CotermError("give FOOTPRINTS LAYER (e.g. `coterm spanners stp17 upper17`) or LAYER --across FOOTPRINTS")
    layer, footprints = load(args, layer_spec), load(args, footprint_spec)
    result = find_spanners(layer, footprints, population_for(args, layer, footprints), by=weight_of(args),
                           **sliver_options(args))
    if writes_layer(args):
        from ..boundaries.pieces import pair_geometry, piece_codes

        pieces = pair_geometry(result.pieces, footprints, layer, a_col="footprint", b_col="code",
                               fine=fine_for(args, footprints, layer))
        pieces = piece_codes(pieces, a_col="footprint", b_col="code", a_name="footprint_name", b_name="name")
        write_layer_output(args, pieces, layer_name(args, "spanners"), lines=result.lines())
        return 0
    if args.long:
        frame = result.pieces
    elif args.format == "table":  # one row per piece, unit columns shown once: long cells would be cut
        frame = result.pieces.copy()
        repeat = frame["code"].duplicated()
        count = frame.groupby("code")["footprint"].transform("size")
        frame.insert(2, "footprints", count.astype(str))
        for col in ("code", "name", "footprints"):
            frame[col] = frame[col].astype(str).where(~repeat, "")
    else:
        frame = result.table
    show(args, result, frame)
    return 0
