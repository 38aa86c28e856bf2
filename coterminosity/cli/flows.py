"""Flow-table inputs shared by ``containment`` and ``catchments``: options and loading."""

from __future__ import annotations

import argparse
import logging

from .context import load

log = logging.getLogger("coterminosity.cli")
TRUSTS = "trust22"  # the catalogue's trust catchment flows


def add_flow_options(p: argparse.ArgumentParser) -> None:
    """The flow table, its columns, the small areas it is counted in, and destination locations."""
    from ..geo.flows import DEFAULT_COUNT, DEFAULT_DEST, DEFAULT_ORIGIN

    p.add_argument("flows", help="flow table (CSV or Parquet): origin small area, destination, count per row; or "
                                 "trust22 (the OHID acute trust catchments) or a file with its columns TRUST22CD, "
                                 "LTLA21CD, SHARE")
    p.add_argument("--origin-col", help=f"origin small-area code column (default {DEFAULT_ORIGIN}, as in NHS Digital's "
                                        "GP registrations by LSOA; msoa for OHID trust catchments)")
    p.add_argument("--dest-col", help=f"destination code column (default {DEFAULT_DEST}; TrustCode for trust catchments)")
    p.add_argument("--count-col", help=f"count column (default {DEFAULT_COUNT}; Patients for trust catchments)")
    p.add_argument("--dest-name-col", help="destination name column (default PRACTICE_NAME or TrustName when present)")
    p.add_argument("--where", action="append", metavar="COL=VALUE",
                   help="keep only rows where COL equals VALUE (repeatable), e.g. SEX=ALL or AdmissionType=Emergency")
    p.add_argument("--small-areas", metavar="LAYER",
                   help="layer the origin codes belong to: small areas or a union of them (default lsoa11, lad21 for "
                        "trust catchments; a file of MSOA polygons for MSOA tables)")
    p.add_argument("--locations", metavar="FILE",
                   help="destination points: CSV with a code column and easting/northing (or lon/lat) columns; "
                        "without it a destination's home footprint is the one holding most of its patients")
    p.add_argument("--loc-code-col", help="code column of --locations (default: code, PRACTICE_CODE, TrustCode, …)")
    p.add_argument("--catchment-population", metavar="FILE",
                   help="trust catchments: OHID catchment populations by year (default: the catalogue's)")
    p.add_argument("--successors", metavar="FILE", help="trust catchments: ODS successor table (default: the catalogue's)")
    p.add_argument("--add-merged", action="store_true",
                   help="trust catchments: add to a trust's own catchment population those of trusts merged into it "
                        "after the populations were last modelled (e.g. Mid and South Essex: Basildon, Mid Essex)")
    p.add_argument("--report-unmatched", metavar="FILE",
                   help="write rows whose origin is not a known small area (or whose destination has no location) "
                        "to FILE and go on without them; without it such rows are an error")


def is_trust_input(args: argparse.Namespace) -> bool:
    """True for ``trust22`` or a file with the trust-share columns."""
    from ..geo.trusts import is_share_table

    return args.flows == TRUSTS or is_share_table(args.flows)


def load_flow_inputs(args: argparse.Namespace):
    """The read flows (:class:`FlowInputs`): rows set aside only with --report-unmatched."""
    from ..geo.flows import FlowInputs, write_unmatched

    report = bool(args.report_unmatched)
    if is_trust_input(args):
        from ..geo.trusts import COUNCILS, load_trust_inputs

        inputs = load_trust_inputs(None if args.flows == TRUSTS else args.flows, points=args.locations,
                                   catchment_population=args.catchment_population, successors=args.successors,
                                   councils=args.small_areas or COUNCILS, data_dir=args.data_dir, report=report,
                                   add_merged=args.add_merged)
    else:
        small, flows, locations = _read_flow_table(args, report)
        population = None
        if small.members is not None and small.small_areas == "lsoa11" and small.label != "lsoa11":
            from ..geo import load_population

            population = load_population(data_dir=args.data_dir).by_code()
        inputs = FlowInputs(small, flows, locations, population)
    flows = inputs.flows
    if report:
        write_unmatched(flows, args.report_unmatched)
        flows.notes.append(f"{len(flows.unmatched):,} rows set aside → {args.report_unmatched}")
    return inputs


def _read_flow_table(args: argparse.Namespace, report: bool):
    """Small-area layer, checked flows, locations or None, from a plain flow table."""
    from ..geo.flows import check_destinations, check_origins, parse_where, read_flows, read_locations

    small = load(args, args.small_areas or "lsoa11")
    flows = read_flows(args.flows, args.origin_col, args.dest_col, args.count_col,
                       dest_name_col=args.dest_name_col, where=parse_where(args.where))
    flows = check_origins(flows, small.codes, small.label, report)
    locations = None
    if args.locations:
        locations, notes = read_locations(args.locations, args.loc_code_col, crs=args.crs)
        flows.notes.extend(notes)
        flows = check_destinations(flows, locations["code"], args.locations, report)
        for code, name in zip(locations["code"], locations["name"]):
            if code != name:
                flows.names.setdefault(code, name)
    return small, flows, locations


def small_population(args: argparse.Namespace, small, inputs=None):
    """Population per origin code (a Series), or None, with a note for the report header; origins
    that are unions of small areas (councils) add up their small areas' population."""
    if getattr(args, "no_population", False):
        return None, "population: not used (--no-population)"
    if inputs is not None and inputs.population is not None and args.population in (None, "pop19"):
        per = small.members.assign(pop=small.members["small_code"].map(inputs.population).fillna(0.0))
        counts = per.groupby("code")["pop"].sum()
        return counts, (f"population: mid-2019 {small.small_areas} population summed over each {small.label} unit "
                        f"(total {counts.sum():,.0f})")
    from ..geo import population_counts

    return population_counts(args.population, small, data_dir=args.data_dir, code_col=args.pop_code_col,
                             pop_col=args.pop_col)
