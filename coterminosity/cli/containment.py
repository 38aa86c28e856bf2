"""``coterm containment FLOWS``: how much of the patient flow stays inside each footprint."""

from __future__ import annotations

import argparse
import logging

from .context import load
from .flows import add_flow_options, load_flow_inputs
from .formats import report, show
from .options import add_data, add_output

NAME = "containment"
log = logging.getLogger("coterminosity.cli")
HELP = "how much of the patient flow stays inside each footprint"


def register(sub) -> argparse.ArgumentParser:
    """Add the ``containment`` command."""
    p = sub.add_parser(NAME, help=HELP, description="Containment of a flow table (origin → destination → count) or "
                       "of the trust catchments (trust22) in footprints: per footprint, the share of its residents' "
                       "flow going to destinations inside it, the share of its destinations' flow from its own "
                       "residents and the destinations it relies on most, then an England line; --matrix for the "
                       "footprint × footprint flow matrix, --destinations per destination.")
    add_flow_options(p)
    p.add_argument("--footprints", default="stp17", metavar="LAYER", help="footprint layer (default stp17; icb22, "
                                                                          "stp21 … or a file)")
    p.add_argument("--matrix", nargs="?", const="long", choices=("long", "wide"),
                   help="print the footprint × footprint flow matrix (long: one row per pair; wide: a square table)")
    p.add_argument("--destinations", action="store_true",
                   help="print one row per destination: home footprint and the share of its flow from inside it")
    p.add_argument("--residents", action="store_true",
                   help="print where each footprint's residents go: one row per footprint and destination")
    p.add_argument("--check-against", metavar="FILE",
                   help="trust catchments: compare the shares by footprint derived here with a published table "
                        "(TRUST22CD, ICB22CD, SHARE; e.g. trust22_catchment_shares_icb22.csv) trust by trust")
    p.add_argument("--all", action="store_true", help="list every footprint, also those with no flow in or out")
    add_data(p)
    add_output(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Containment of the flows in the footprints."""
    from ..boundaries.containment import measure_containment

    inputs = load_flow_inputs(args)
    footprints = load(args, args.footprints)
    if args.check_against:
        from ..boundaries.trust_check import check_shares
        from ..geo.trusts import read_footprint_shares

        check = check_shares(inputs, footprints, read_footprint_shares(args.check_against), args.check_against)
        show(args, check)
        return 0
    result = measure_containment(inputs, footprints)
    if args.matrix or args.destinations or args.residents:
        if args.matrix:
            frame = result.wide() if args.matrix == "wide" else result.matrix
        else:
            frame = result.destinations if args.destinations else result.residents
        report(args, frame, header=result.header(), footer=result.lines(), meta=result.meta())
        return 0
    frame = result.table
    quiet = (frame["residents_flow"] == 0) & (frame["inflow"] == 0)
    if not args.all and quiet.any():
        frame = frame[~quiet].reset_index(drop=True)
        show(args, result, frame, meta={"footprints_without_flow": int(quiet.sum())})
        if args.format in ("table", "markdown"):
            log.info("%d footprints with no flow in or out are not listed (--all lists them)", int(quiet.sum()))
        return 0
    show(args, result)
    return 0
