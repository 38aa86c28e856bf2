"""``coterm map FOOTPRINTS -o FILE.html``: an interactive map of footprints against councils or CCGs."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from ..errors import InputError
from .context import fine_for, load, population_for
from .options import add_data, add_footprints, add_weighting, css_length, non_negative, sliver_options, weight_of

NAME = "map"
HELP = "interactive map (HTML) of footprints against councils/CCGs, split units shown"
log = logging.getLogger("coterminosity.cli")


def register(sub) -> argparse.ArgumentParser:
    """Add the ``map`` command."""
    p = sub.add_parser(NAME, help=HELP, description="Draw footprints coloured by their class (or fit) against the "
                       "first --against layer, the compared layers' boundaries, units split between footprints and "
                       "their wrong-side pieces. One standalone HTML file (works offline with --tiles none), or an "
                       "embeddable fragment with --embed.")
    add_footprints(p)
    p.add_argument("--against", action="append", metavar="LAYER",
                   help="layer to compare with (repeatable; default the councils of the footprints' year, e.g. upper17); the first one colours the footprints")
    p.add_argument("--show", action="append", metavar="LAYER",
                   help="extra layer to draw as outlines with code/name tooltips (repeatable), e.g. places or catchments")
    p.add_argument("--focus", metavar="CODE_OR_NAME", help="zoom to one footprint and draw only its neighbourhood")
    p.add_argument("--color-by", choices=("class", "score", "containment"), default="class",
                   help="colour footprints by class, by fit = 1 − wrong side / total, or by the share of their "
                        "residents' patient flow kept inside (with --containment) (default class)")
    p.add_argument("--containment", metavar="FLOWS",
                   help="patient flows to draw: trust22 (the acute trusts' catchments): each footprint's share kept "
                        "inside in its report, the trusts as circles sized by their flow")
    p.add_argument("--tiles", choices=("none", "osm", "cartodb"), default="none",
                   help="basemap (default none: the page needs no internet at all)")
    p.add_argument("--embed", action="store_true",
                   help="write an HTML fragment (a <div> plus its styles and scripts) to paste into another page")
    p.add_argument("--height", type=css_length, default="600px", help="map height in the --embed fragment (default 600px)")
    p.add_argument("--id", dest="map_id", metavar="ID",
                   help="the map's id (handle window.cotermMaps[ID], class coterm-map-ID); default: from the content")
    p.add_argument("--assets", metavar="DIR",
                   help="write Leaflet, the styles and the map script as files into DIR (for a Content-Security-"
                        "Policy without 'unsafe-inline'); the page refers to them relative to itself")
    p.add_argument("--nonce", metavar="VALUE", help="add nonce=VALUE to every <script> and <style> (CSP nonces)")
    p.add_argument("--simplify", type=non_negative, metavar="METRES",
                   help="simplification tolerance in metres (default: from the extent, ≈150 m for England; 0 = none)")
    p.add_argument("--no-pieces", action="store_true", help="do not draw the pieces of split units")
    p.add_argument("--title", help="title shown on the map")
    p.add_argument("--scenario", metavar="FILE",
                   help="draw the footprints after a saved scenario's moves (`coterm scenario --save FILE.json`), "
                        "the footprints before as outlines and the moved pieces with their people")
    p.add_argument("--changes", metavar="OLD",
                   help="`coterm map --changes OLD NEW`: draw NEW, OLD as outlines and the pieces that moved "
                        "between them with their people")
    add_weighting(p)
    add_data(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="HTML file to write (atomically)")
    return p


def run(args: argparse.Namespace) -> int:
    """Compare, draw, write."""
    from ..boundaries.comparison import compare
    from ..maps import MapLayer, build_map
    from ..maps.styles import plain_title

    footprints = load(args, args.footprints)
    before = load(args, args.changes) if args.changes else None
    fine = fine_for(args, footprints)
    if args.scenario:
        from ..boundaries.scenario import apply_scenario
        from ..geo.scenario_file import load_scenario

        scenario = load_scenario(args.scenario)
        units = [load(args, spec) for spec in scenario.units]
        before, footprints = footprints, apply_scenario(footprints, scenario, units, fine=fine)
        args.title = args.title or f"{args.footprints} after scenario {scenario.name or Path(args.scenario).stem}"
    from ..boundaries.vintages import peers

    against = [load(args, spec) for spec in dict.fromkeys(args.against or [peers(args.footprints)[0]])]
    population = population_for(args, footprints, *against)
    comparisons = [compare(footprints, layer, population, by=weight_of(args), threshold=args.threshold,
                           **sliver_options(args)) for layer in against]
    flows = None
    if args.containment:
        flows = _containment(args, footprints)
    moved = None
    if before is not None:
        from ..boundaries.changes import changes

        moved = changes(before, footprints, population)
    extra = []
    for i, spec in enumerate(args.show or []):
        layer = load(args, spec)
        extra.append(MapLayer(layer.frame[["code", "name", "geometry"]], f"{plain_title(layer.label)} ({len(layer)})",
                              {"code": "Code", "name": "Name"}, key=f"show-{i}"))
    fine = fine or fine_for(args, *against)
    m = build_map(footprints, comparisons, extra_layers=extra, color_by=args.color_by, focus=args.focus,
                  tiles=args.tiles, fine=fine, tolerance=args.simplify, pieces=not args.no_pieces, title=args.title,
                  height=args.height if args.embed else "100%", changes=moved, containment=flows)
    size = write_map(args, m)
    summary = m.coterm_summary
    drawn = "; ".join(f"{name}: {count}" for name, _, count in summary.layers)
    log.info("wrote %s (%.2f MB, %s, simplified at %.0f m) — %s", args.output, size / 1e6,
             "fragment" if args.embed else "page", summary.tolerance, drawn)
    return 0


def _containment(args: argparse.Namespace, footprints):
    """The containment map data of the trust catchments in ``footprints``."""
    from ..boundaries.containment import containment_map_data, measure_containment
    from ..geo.trusts import TRUST_LAYER, load_trust_inputs

    if args.containment != TRUST_LAYER:
        raise InputError(f"map: --containment {args.containment!r}: only {TRUST_LAYER} (the trust catchments) is drawn; "
                         "`coterm containment` reads other flow tables")
    inputs = load_trust_inputs(data_dir=args.data_dir)
    return containment_map_data(measure_containment(inputs, footprints), inputs.locations)


def write_map(args: argparse.Namespace, m) -> int:
    """Write the page or fragment (and its asset files with ``--assets``); return the page's size in bytes."""
    from ..geo.io import atomic_write
    from ..maps.render import render

    assets = None
    if args.assets:
        assets = Path(os.path.relpath(Path(args.assets).resolve(), Path(args.output).resolve().parent)).as_posix()
    try:
        out = render(m, "fragment" if args.embed else "page", map_id=args.map_id, nonce=args.nonce, assets=assets)
    except ValueError as err:
        raise InputError(f"map: {err}") from None
    for name, data in out.files.items():
        Path(args.assets).mkdir(parents=True, exist_ok=True)
        atomic_write(Path(args.assets) / name, data)
    atomic_write(args.output, out.text)
    return len(out.text.encode())
