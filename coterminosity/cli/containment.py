"""``coterm containment FLOWS``: how much of the patient flow stays inside each footprint."""

from __future__ import annotations

import argparse
from pathlib import Path

from .context import load
from .flows import add_flow_options, load_flow_inputs
from .formats import report
from .options import add_data, add_output

NAME = "containment"
HELP = "how much of the patient flow stays inside each footprint"


def register(sub) -> argparse.ArgumentParser:
    """Add the ``containment`` command."""
    p = sub.add_parser(NAME, help=HELP, description="Containment of a flow table (origin small area → destination "
                       "→ count) in footprints: per footprint, the share of its residents' flow going to destinations "
                       "inside it and the share of its destinations' flow from its own residents; --matrix for the "
                       "footprint × footprint flow matrix, --destinations per destination.")
    add_flow_options(p)
    p.add_argument("--footprints", default="stp17", metavar="LAYER", help="footprint layer (default stp17)")
    p.add_argument("--matrix", nargs="?", const="long", choices=("long", "wide"),
                   help="print the footprint × footprint flow matrix (long: one row per pair; wide: a square table)")
    p.add_argument("--destinations", action="store_true",
                   help="print one row per destination: home footprint and the share of its flow from inside it")
    add_data(p)
    add_output(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Containment of the flows in the footprints."""
    from ..boundaries.catchments import containment, destination_homes, origin_footprints

    small, flows, locations = load_flow_inputs(args)
    footprints = load(args, args.footprints)
    pairs = flows.pairs()
    origins, origin_note = origin_footprints(small, footprints)
    homes, home_note = destination_homes(pairs, origins, footprints, locations)
    result = containment(pairs, origins, homes, footprints, flows.names)
    fp = result.footprints
    total, kept = fp["residents_flow"].sum(), fp["retained"].sum()
    header = [f"containment: {Path(args.flows).name} ({flows.total:,.0f} people, {pairs['dest'].nunique():,} destinations, "
              f"{pairs['origin'].nunique():,} {small.label} origins) in {footprints.label} ({len(footprints)} footprints)",
              origin_note, home_note,
              "containment_share = retained / residents_flow (residents' flow to destinations at home in their own "
              "footprint); destination_share = retained / inflow (flow into the footprint's destinations from "
              "its own residents)"] + result.notes + flows.notes
    footer = [f"overall: {kept:,.0f} of {total:,.0f} ({kept / total:.1%}) of the flow stays inside its footprint"
              if total else "no flow from residents of any footprint"]
    worst = fp[fp["residents_flow"] > 0].sort_values("containment_share").head(3)
    if len(worst):
        footer.append("least contained: " + "; ".join(f"{r.name} {r.containment_share:.1%}" for r in worst.itertuples()))
    if args.matrix:
        frame = result.wide() if args.matrix == "wide" else result.matrix
    elif args.destinations:
        frame = result.destinations
    else:
        frame = fp
    meta = {"flows": str(args.flows), "footprints": footprints.label, "people": flows.total,
            "overall_containment": kept / total if total else None, "notes": header[1:]}
    report(args, frame, header=header, footer=footer, meta=meta)
    return 0
