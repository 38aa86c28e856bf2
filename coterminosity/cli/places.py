"""``coterm places FOOTPRINTS``: each footprint split into places (footprint ∩ council or CCG)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .context import fine_for, load, population_for, writes_layer
from .formats import layer_name, show, write_layer_output
from .options import (
    LAYER_SUFFIXES,
    add_data,
    add_footprints,
    add_output,
    add_weighting,
    deprecated,
    people_range,
    share,
    sliver_options,
    weight_of,
)

NAME = "places"
HELP = "each footprint split into places (footprint ∩ council or CCG), neighbourhoods"
SHORT_UNITS = {"utla": "upper17", "lad": "lad17", "ccg": "ccg17"}


def register(sub) -> argparse.ArgumentParser:
    """Add the ``places`` command."""
    p = sub.add_parser(NAME, help=HELP, description="Split footprints into place units (footprint ∩ upper-tier "
                       "council, district or CCG) with population, area and shares; flag fragments and slivers; "
                       "count 30,000–50,000-person neighbourhoods. With --proposed FILE: do the proposed places "
                       "tile each footprint exactly (gaps, overlaps, spill)?")
    add_footprints(p, "footprint layer (stp17, icb22 or a file), or one stp17 footprint's code or name")
    p.add_argument("--units", metavar="LAYER",
                   help="place units: a layer (upper17, lad21, ccg17, a file; utla/lad/ccg = the 2017 ones); "
                        "default: the upper-tier councils of the footprints' year")
    p.add_argument("--by", dest="old_units", choices=sorted(SHORT_UNITS), help=argparse.SUPPRESS)
    p.add_argument("--with", dest="old_with", metavar="LAYER", help=argparse.SUPPRESS)
    p.add_argument("--footprint", action="append", metavar="CODE|NAME", help="only this footprint (repeatable)")
    p.add_argument("--min-share", type=share, default=0.02,
                   help="a piece of a divided unit under this share of its footprint is a fragment (default 0.02)")
    p.add_argument("--neighbourhood", type=people_range, default=(30_000, 50_000), metavar="LOW-HIGH",
                   help="neighbourhood size in people (default 30000-50000)")
    p.add_argument("--show-slivers", action="store_true", help="list sliver pieces too (geometry overlays)")
    p.add_argument("--per-footprint", action="store_true", help="one row per footprint instead of one per place")
    p.add_argument("--proposed", metavar="FILE", help="proposed places (polygons with code/name): check gaps and overlaps")
    add_weighting(p, old_by=False)
    add_data(p)
    add_output(p, layers=True)
    return p


def _unit_spec(args: argparse.Namespace, footprints_label: str) -> str:
    from ..boundaries.summary import default_against

    if args.old_units:
        deprecated(f"--by {args.old_units}", f"--units {SHORT_UNITS[args.old_units]}")
        return SHORT_UNITS[args.old_units]
    if args.old_with:
        deprecated("--with LAYER", "--units LAYER")
        return args.old_with
    if args.units:
        return SHORT_UNITS.get(args.units, args.units)
    return default_against(footprints_label)[0]


def run(args: argparse.Namespace) -> int:
    """Places (or a check of proposed places) and report."""
    from ..boundaries.places import check_proposed, footprint_target, places, select_footprints
    from ..geo.catalogue import LAYERS

    is_layer = args.footprints in LAYERS or Path(args.footprints).exists() or \
        Path(args.footprints).suffix.lower() in LAYER_SUFFIXES + (".zip", ".json", ".topojson", ".csv")
    spec, wanted = footprint_target(args.footprints, is_layer, args.footprint or [])
    every = load(args, spec)
    footprints = select_footprints(every, wanted)
    if args.proposed:
        proposed = load(args, args.proposed)
        result = check_proposed(every, proposed, population_for(args, every, proposed),
                                codes=list(footprints.codes) if wanted else None, **sliver_options(args))
        show(args, result)
        return 0
    units = load(args, _unit_spec(args, every.label))
    low, high = args.neighbourhood
    result = places(footprints, units, population_for(args, footprints, units), by=weight_of(args),
                    threshold=args.threshold, min_share=args.min_share, low=low, high=high, **sliver_options(args))
    if args.per_footprint:
        frame = result.footprints
    else:
        frame = result.table if args.show_slivers else result.table[result.table["kind"] != "sliver"]
        if args.format == "table":
            frame = frame.drop(columns=["footprint"])
    if writes_layer(args):
        from ..boundaries.pieces import pair_geometry, piece_codes

        kept = result.table if args.show_slivers else result.table[result.table["kind"] != "sliver"]
        frame = pair_geometry(kept, footprints, units, a_col="footprint", b_col="code",
                              fine=fine_for(args, footprints, units))
        frame = piece_codes(frame, a_col="footprint", b_col="code", a_name="footprint_name", b_name="name")
        write_layer_output(args, frame, layer_name(args, "places"), lines=result.lines())
        return 0
    show(args, result, frame.reset_index(drop=True))
    return 0
