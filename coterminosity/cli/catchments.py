"""``coterm catchments FLOWS``: each destination's catchment polygon from a flow table."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .context import load
from .flows import add_flow_options, load_flow_inputs, small_population
from .formats import report
from .options import FORMATS, LAYER_SUFFIXES, add_data, add_population, positive_share

NAME = "catchments"
HELP = "catchment polygons of destinations (practices, trusts) from a flow table"
log = logging.getLogger("coterminosity.cli")


def register(sub) -> argparse.ArgumentParser:
    """Add the ``catchments`` command."""
    p = sub.add_parser(NAME, help=HELP, description="Each destination's catchment: the fewest small areas (most "
                       "patients first) holding --share of its patients, dissolved into a polygon, with its patients "
                       "and proportional population. -o FILE.gpkg writes the polygons as a layer other commands read.")
    add_flow_options(p)
    p.add_argument("--share", type=positive_share, default=0.8,
                   help="share of a destination's patients its catchment polygon must hold (default 0.8)")
    p.add_argument("--footprints", metavar="LAYER", help="add each destination's home footprint (e.g. stp17)")
    p.add_argument("--by-area", action="store_true",
                   help="print each destination's patients by small area (share, cumulative share, in_catchment)")
    add_population(p)
    add_data(p)
    p.add_argument("--format", choices=FORMATS, default="table", help="output format of the table (default: table)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="FILE.gpkg/.geojson/.parquet/.shp: write the catchment polygons (atomically); any other name: "
                        "write the table there instead of standard output")
    return p


def run(args: argparse.Namespace) -> int:
    """Catchment polygons (a layer file) or their table."""
    from ..boundaries.catchments import catchment_layer, destination_homes, origin_footprints
    from ..geo.members import MEMBERS_COLUMN, members_column

    inputs = load_flow_inputs(args)
    small, flows, locations = inputs.small, inputs.flows, inputs.locations
    pairs = flows.pairs()
    population, pop_note = small_population(args, small, inputs)
    writes_layer = bool(args.output) and Path(args.output).suffix.lower() in LAYER_SUFFIXES
    label = Path(args.output).stem if writes_layer else "catchments"
    layer, selection = catchment_layer(pairs, small, args.share, population=population, names=flows.names, label=label)
    frame = layer.frame
    header = [f"catchments: {Path(args.flows).name} ({flows.total:,.0f} people, {len(frame):,} destinations) on "
              f"{small.label} small areas, share {args.share:g}", pop_note] + [n for n in layer.notes if n not in small.notes]
    if args.footprints:
        footprints = load(args, args.footprints)
        origins, origin_note = origin_footprints(small, footprints, inputs.population)
        homes, home_note = destination_homes(pairs, origins, footprints, locations)
        names = footprints.names()
        frame["home"] = frame["code"].map(homes.set_index("dest")["home"])
        frame["home_name"] = frame["home"].map(names).fillna("(outside)")
        header += [origin_note, home_note]
    if population is not None:
        header.append("catchment_population = Σ over small areas of population × patients(destination) / "
                      "patients(all destinations); polygon_population = everyone living in the polygon")
    header += flows.notes
    units = "origins" if "origins" in frame.columns else "small_areas"
    footer = [f"median catchment: {frame[units].median():,.0f} {small.label} units holding "
              f"{frame['share_in_polygon'].median():.1%} of a destination's patients"]
    if writes_layer:
        from ..geo.write import write_layer

        out = frame.copy()
        if layer.small_areas == "lsoa11" and layer.members is not None:
            out.insert(len(out.columns) - 1, MEMBERS_COLUMN, members_column(layer))
        out = out[[c for c in out.columns if c != "geometry"] + ["geometry"]]
        write_layer(out, args.output)
        log.info("coterm catchments: wrote %s catchment polygons → %s (a layer for overlay, spanners, summary: "
                 "`coterm overlay %s stp17`)", f"{len(out):,}", args.output, args.output)
        for line in header + footer:
            log.info("coterm catchments: %s", line)
        return 0
    table = selection if args.by_area else frame.drop(columns="geometry")
    if args.by_area:
        table = table.assign(name=table["dest"].map(lambda c: flows.names.get(c, c)))
        table = table[["dest", "name", "small_code", "patients", "share", "cum_share", "in_catchment"]]
    report(args, table, header=header, footer=footer,
                meta={"flows": str(args.flows), "share": args.share, "small_areas": small.label})
    return 0
