"""``coterm atlas FOOTPRINTS --against COUNCILS -o site/``: a static site, one page per footprint."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .context import fine_for, load, population_for
from .options import add_data, add_footprints, add_weighting, sliver_options, weight_of

NAME = "atlas"
HELP = "static web site: an index of footprints and one page per footprint with its map (offline)"
log = logging.getLogger("coterminosity.cli")


def register(sub) -> argparse.ArgumentParser:
    """Add the ``atlas`` command."""
    p = sub.add_parser(NAME, help=HELP, description="Write a static site that works offline: index.html (every "
                       "footprint with a thumbnail, class, people on the wrong side and fit; search and sort), "
                       "map.html (the whole map) and fp/CODE.html per footprint (its focused map, facts, the "
                       "councils it splits, its places and neighbours).")
    add_footprints(p)
    p.add_argument("--against", action="append", metavar="LAYER",
                   help="layer to compare with (repeatable; default the councils of the footprints' year, e.g. upper17); the first one gives classes and places")
    p.add_argument("--only", action="append", metavar="CODE_OR_NAME",
                   help="make pages for these footprints only (repeatable; the index lists every footprint)")
    p.add_argument("--title", help="the site's title")
    add_weighting(p)
    add_data(p)
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write the site into")
    return p


def run(args: argparse.Namespace) -> int:
    """Compare, list places, build the site, write its files."""
    from ..boundaries.comparison import compare
    from ..boundaries.focus import find_footprint
    from ..boundaries.places import places
    from ..geo.io import atomic_write
    from ..maps.atlas import build_atlas

    footprints = load(args, args.footprints)
    from ..boundaries.vintages import peers

    against = [load(args, spec) for spec in dict.fromkeys(args.against or [peers(args.footprints)[0]])]
    population = population_for(args, footprints, *against)
    options = sliver_options(args)
    comparisons = [compare(footprints, layer, population, by=weight_of(args), threshold=args.threshold, **options)
                   for layer in against]
    only = [find_footprint(footprints, q) for q in args.only] if args.only else None
    listed = places(footprints, against[0], population, by=comparisons[0].by, threshold=args.threshold, **options)
    atlas = build_atlas(footprints, comparisons, fine=fine_for(args, footprints, *against), places=listed, only=only,
                        title=args.title)
    root = Path(args.output)
    for name, data in atlas.files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(root / name, data)
    size = sum(len(d) for d in atlas.files.values())
    log.info("wrote %s: %d footprint pages, %d files, %.1f MB", root, len(atlas.pages), len(atlas.files), size / 1e6)
    return 0
