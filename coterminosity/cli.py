"""The ``coterm`` command line: parse arguments, call geo/ and boundaries/, format the result.

Every command that prints a table takes ``--format table|csv|json|markdown`` and ``-o FILE``.
Bad input exits 2 with one line on stderr; nothing half-written is ever left behind.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import CotermError
from .report import FORMATS, emit, render

EXIT_BAD_INPUT = 2


# ---------------------------------------------------------------- shared options


def add_output_options(p: argparse.ArgumentParser) -> None:
    """``--format`` and ``-o``: every table command takes them."""
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of standard output")


def add_data_options(p: argparse.ArgumentParser) -> None:
    """Where the published files are, and how to read file layers."""
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the ONS files (default: $COTERM_DATA, then the cache)")
    p.add_argument("--code-col", help="code column of file layers (default: detect ONS names such as lad17cd)")
    p.add_argument("--name-col", help="name column of file layers (default: the one matching the code column)")
    p.add_argument("--layer", dest="file_layer", metavar="NAME", help="layer to read inside a multi-layer file")
    p.add_argument("--crs", help="CRS of file layers that carry none (e.g. EPSG:27700)")


def add_population_options(p: argparse.ArgumentParser) -> None:
    """``--population [FILE]``: the catalogue mid-2019 LSOA population, or a file of points or counts."""
    p.add_argument("--population", nargs="?", const="pop19", metavar="FILE",
                   help="weight by population: no value = the catalogue mid-2019 LSOA populations; "
                        "or a file of points (with a count column) or a table of LSOA code → count")
    p.add_argument("--pop-col", default="population", help="count column of a population file (default: population)")
    p.add_argument("--pop-code-col", help="small-area code column of a population table (default: LSOA11CD/code)")


def add_threshold_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--by", "--weight", dest="by", choices=("population", "area", "small_areas"),
                   help="weight for shares and classes (default: population when given, else area)")
    p.add_argument("--threshold", type=_threshold, default=0.98,
                   help="share that counts as whole (default 0.98): coterminous/nested/contains use it")
    p.add_argument("--sliver-share", type=_share, default=None,
                   help="geometry overlays: pieces under this share of the smaller unit's area (and no people) are slivers "
                        "(default 0.001)")
    p.add_argument("--sliver-area", type=float, default=None, help="geometry overlays: ... or under this many m² (default 1)")


def _threshold(text: str) -> float:
    """A share above one half: below that, two units could both hold 'the whole' of a third."""
    value = _share(text)
    if value <= 0.5:
        raise argparse.ArgumentTypeError(f"{text} is not above 0.5 (a unit is whole in another at ≥ this share)")
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number between 0 and 1") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def report(args: argparse.Namespace, frame, *, header: list[str] | None = None, footer: list[str] | None = None,
           meta: dict | None = None) -> None:
    """Render a table in the asked format to stdout or ``-o``. CSV carries only the table, so its
    header and footer lines (method, weights, repairs, layer lines) go to stderr instead."""
    if args.format == "csv" and not os.environ.get("COTERM_QUIET"):
        for line in (header or []) + (footer or []):
            print(line, file=sys.stderr)
    emit(render(frame, args.format, header=header, footer=footer, meta=meta), args.output)


def load(args: argparse.Namespace, spec: str):
    """A Layer for a catalogue name or a file, using the command's data and column options."""
    from .geo.named import load_layer

    return load_layer(spec, data_dir=args.data_dir, code_col=args.code_col, name_col=args.name_col,
                      layer=getattr(args, "file_layer", None), crs=args.crs)


def load_pop(args: argparse.Namespace):
    """The population the command asked for, or None."""
    if not getattr(args, "population", None):
        return None
    from .geo.named import load_population

    return load_population(args.population, data_dir=args.data_dir, code_col=args.pop_code_col,
                           pop_col=args.pop_col, crs=args.crs)


def sliver_kwargs(args: argparse.Namespace) -> dict:
    out = {}
    if getattr(args, "sliver_share", None) is not None:
        out["sliver_share"] = args.sliver_share
    if getattr(args, "sliver_area", None) is not None:
        out["sliver_area"] = args.sliver_area
    return out


def weight_line(by: str, population) -> str:
    """The header line saying what the numbers are weighted by."""
    if population is None:
        return (f"weights: area (m², EPSG:27700) and count of small areas; no population given "
                f"(add --population) — classes by {by}")
    return f"weights: population ({population.label}, total {population.total:,.0f}), area and small areas — classes by {by}"


# ---------------------------------------------------------------- overlay


def cmd_overlay(args: argparse.Namespace) -> int:
    from .boundaries.metrics import classify, code_changes, layer_score, pick_weight, split_units
    from .boundaries.overlay import overlay

    a, b = load(args, args.a), load(args, args.b)
    population = load_pop(args)
    table = overlay(a, b, population, **sliver_kwargs(args))
    by = pick_weight(table, args.by)
    classes = classify(table, by, args.threshold)
    changes = code_changes(classes, a.codes, b.codes)
    score = layer_score(table, classes, by, args.threshold)
    header = [
        f"overlay: {a.label} ({len(a)} units) on {b.label} ({len(b)} units)",
        f"{table.notes[0]}",
        weight_line(by, population),
        f"threshold: {args.threshold:g} (coterminous: ≥ threshold both ways; nested: A ≥ threshold in one B; "
        f"contains: every B touched ≥ threshold inside A; partial: the shortfall lies outside layer B)",
    ] + table.notes[1:] + a.notes + b.notes + (population.notes if population is not None else [])
    footer = [score.describe(a.label, b.label)]
    if not changes.empty:
        footer.append(f"same area, different code ({len(changes)}): " + "; ".join(
            f"{r.name} {r.code} = {r.best_code}" for r in changes.itertuples()))
    matched = classes[classes["best_code"].notna()]
    worst = matched.sort_values("share_in_best").head(args.worst)
    if len(worst):
        footer.append("worst fits: " + "; ".join(f"{r.name} ({r.code}) {r.share_in_best:.1%} in {r.best_name}"
                                                 for r in worst.itertuples()))
    alone = classes[classes["best_code"].isna()]
    if len(alone):
        footer.append(f"{len(alone)} {a.label} units overlap no {b.label} unit: " +
                      "; ".join(f"{r.name} ({r.code})" for r in alone.head(20).itertuples()))
    split_b = split_units(table, by, args.threshold)
    if len(split_b):
        footer.append(f"{b.label} units split between {a.label} units ({len(split_b)}): " +
                      "; ".join(f"{r.name} {r.largest_share:.1%}" for r in split_b.head(20).itertuples()))
    if args.pairs:
        frame = table.pairs
    else:
        frame = classes.copy()
        frame["note"] = ""
        frame.loc[frame["code"].isin(changes["code"]), "note"] = "same area, different code"
        if not args.all_columns and args.format in ("table", "markdown"):
            frame = frame[["code", "name", frame.columns[2], "class", "touches", "split", "best_name",
                           "share_in_best", "best_share_inside", "wrong_side", "note"]]
            if by == "area":  # km² reads better than m² on screen
                frame = frame.assign(area_m2=frame["area_m2"] / 1e6, wrong_side=frame["wrong_side"] / 1e6)
                frame = frame.rename(columns={"area_m2": "area_km2", "wrong_side": "wrong_side_km2"})
    meta = {"a": a.label, "b": b.label, "method": table.method, "by": by, "threshold": args.threshold,
            "slivers": table.slivers, "score": score.score, "whole_unions": score.whole_unions,
            "units": score.units, "split_b": score.split_b, "in_split_b": score.in_split_b,
            "code_changes": changes.to_dict("records"), "notes": header[1:]}
    report(args, frame, header=header, footer=footer, meta=meta)
    return 0


# ---------------------------------------------------------------- summary


def cmd_summary(args: argparse.Namespace) -> int:
    from .boundaries.summary import summarise

    footprints = load(args, args.footprints)
    population = load_pop(args)
    against = list(dict.fromkeys(args.against or ["upper17", "ccg17"]))
    if not args.no_lower_tier and "upper17" in against and "lad17" not in against:
        against.insert(against.index("upper17") + 1, "lad17")
    layers = [load(args, spec) for spec in against]
    result = summarise(footprints, layers, population, by=args.by, threshold=args.threshold, **sliver_kwargs(args))
    header = [f"summary: {footprints.label} ({len(footprints)} units) against {', '.join(l.label for l in layers)}",
              weight_line(result.by, population),
              f"threshold: {args.threshold:g}; wrong_side = for each unit touched, the smaller of its part inside "
              "and outside the footprint, summed"] + result.notes
    frame = result.table
    if args.format in ("table", "markdown") and not args.all_columns:
        frame = compact_summary(frame, [l.label for l in layers])
    report(args, frame, header=header, footer=result.lines,
                meta={"footprints": footprints.label, "against": [l.label for l in layers], "by": result.by,
                      "threshold": args.threshold, "layer_lines": result.lines})
    return 0


def compact_summary(table, labels: list[str]):
    """The terminal view of a summary: units touched and split per layer; wrong side and class
    against the first layer (CSV and JSON carry every column)."""
    primary = labels[0]
    cols = ["code", "name", table.columns[2]]
    names = ["code", "name", table.columns[2]]
    for label in labels:
        cols += [label, f"{label}_split"]
        names += [label, "split"]
    cols += [f"{primary}_wrong_side", f"{primary}_class"]
    names += [f"wrong_side ({primary})", f"class ({primary})"]
    out = table[cols].copy()
    out.columns = names
    return out


# ---------------------------------------------------------------- build


def cmd_build(args: argparse.Namespace) -> int:
    from .geo.build import build_layer, membership_from_table
    from .geo.read import read_table
    from .geo.write import write_layer

    if bool(args.lookup) == bool(args.by_col):
        raise CotermError("build: give either --lookup CSV (with --from-col/--to-col) or --by COLUMN")
    fine = load(args, args.fine)
    if args.lookup:
        if not (args.from_col and args.to_col):
            raise CotermError("build: --lookup needs --from-col (fine code) and --to-col (coarse code)")
        table = read_table(args.lookup)
        membership = membership_from_table(fine.codes, table, args.from_col, args.to_col, args.to_name_col,
                                           where=str(args.lookup))
    else:
        if args.by_col not in fine.frame.columns:
            cols = ", ".join(c for c in fine.frame.columns if c != "geometry")
            raise CotermError(f"{fine.source}: no column {args.by_col!r} to dissolve by (columns: {cols})")
        table = fine.frame[["code", args.by_col]].rename(columns={"code": "fine"})
        membership = membership_from_table(fine.codes, table, "fine", args.by_col, None, where=fine.source)
    for line in membership.problems():
        print(f"build: {line}", file=sys.stderr)
    if membership.members.empty:
        raise CotermError(f"build: no {fine.label} unit has exactly one parent in the table; nothing to build")
    label = Path(args.output).stem if args.output else "built"
    built = build_layer(fine, membership, label, coverage=fine.members is not None)
    population = load_pop(args)
    if population is not None:
        from .boundaries.overlay import population_by_unit

        built.frame["population"] = population_by_unit(built, population).to_numpy()
    write_layer(built.frame, args.output)
    print(f"built {len(built)} units from {len(membership.members):,} of {len(fine):,} {fine.label} units "
          f"→ {args.output}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- places, spanners, scenario (issue 4)

PLACE_LAYERS = {"utla": "upper17", "lad": "lad17", "ccg": "ccg17"}
LAYER_SUFFIXES = {".gpkg", ".geojson", ".json", ".topojson", ".shp", ".zip", ".parquet", ".geoparquet", ".csv"}


def add_weight_options(p: argparse.ArgumentParser, threshold: bool = True) -> None:
    """Population on by default (the catalogue mid-2019 LSOA counts), ``--weight``, ``--threshold``, slivers."""
    add_population_options(p)
    p.add_argument("--no-population", action="store_true", help="weight by area only (no population)")
    p.add_argument("--weight", choices=("population", "area", "small_areas"),
                   help="weight for shares (default: population, else area)")
    if threshold:
        p.add_argument("--threshold", type=_threshold, default=0.98, help="share that counts as whole (default 0.98)")
    p.add_argument("--sliver-share", type=_share, default=None,
                   help="geometry overlays: pieces under this share of the smaller unit's area (and no people) are "
                        "slivers (default 0.001)")
    p.add_argument("--sliver-area", type=float, default=None, help="geometry overlays: ... or under this many m² (default 1)")


def load_pop_default(args: argparse.Namespace):
    """Population for places/spanners/scenario: the catalogue's unless a file is given or --no-population."""
    if args.no_population:
        return None
    if not args.population:
        args.population = "pop19"
    return load_pop(args)


def cmd_places(args: argparse.Namespace) -> int:
    from .boundaries.places import check_proposed, places, select_footprints
    from .geo.catalogue import LAYERS

    spec, wanted = args.footprints, list(args.footprint or [])
    looks_like_file = Path(spec).suffix.lower() in LAYER_SUFFIXES
    if spec not in LAYERS and not Path(spec).exists() and not looks_like_file:  # `coterm places Nottinghamshire`
        spec, wanted = "stp17", [args.footprints] + wanted
    every = load(args, spec)
    footprints = select_footprints(every, wanted)
    population = load_pop_default(args)
    if args.proposed:
        proposed = load(args, args.proposed)
        table = check_proposed(every, proposed, population, codes=list(footprints.codes) if wanted else None,
                               **sliver_kwargs(args))
        header = [f"proposed places: {proposed.label} ({len(proposed)} places) against {footprints.label}",
                  "each place belongs to the footprint holding most of its area; gap = footprint in none of its "
                  "places; overlap = in two or more of them; spill = its places' area outside it",
                  "tiles = gap, overlap and spill each under the sliver tolerance and holding nobody"]
        footer = [f"{int(table['tiles'].sum())} of {len(table)} footprints tiled exactly by the proposed places"]
        report(args, table, header=header + proposed.notes, footer=footer,
                    meta={"footprints": footprints.label, "proposed": proposed.label})
        return 0
    units = load(args, args.with_layer or PLACE_LAYERS[args.by])
    result = places(footprints, units, population, by=args.weight, threshold=args.threshold,
                    min_share=args.min_share, low=args.neighbourhood[0], high=args.neighbourhood[1],
                    **sliver_kwargs(args))
    table = result.table
    if not args.show_slivers:
        table = table[table["kind"] != "sliver"].reset_index(drop=True)
    per = result.footprints
    header = [f"places: {footprints.label} ({len(footprints)} footprint{'s' if len(footprints) != 1 else ''}) ∩ {units.label}",
              weight_line(result.by, population)] + result.notes
    kinds = result.table["kind"].value_counts()
    footer = [f"{int(kinds.get('place', 0))} places, {int(kinds.get('fragment', 0))} fragments, "
              f"{int(kinds.get('sliver', 0))} slivers in {len(per)} footprint{'s' if len(per) != 1 else ''}"]
    frags = result.table[result.table["kind"] == "fragment"]
    if len(frags):
        footer.append("fragments: " + "; ".join(f"{r.name} in {r.footprint_name} ({r.footprint_share:.1%} of it)"
                                                for r in frags.itertuples()))
    if "nbhd_min" in per:
        footer.append(f"neighbourhoods ({args.neighbourhood[0]:,}–{args.neighbourhood[1]:,} people): "
                      f"{int(per['nbhd_min'].sum()):,}–{int(per['nbhd_max'].sum()):,} across the footprints shown")
    frame = per if args.per_footprint else table
    if args.format == "table" and not args.per_footprint:
        frame = frame.drop(columns=["footprint"])
    report(args, frame, header=header, footer=footer,
                meta={"footprints": footprints.label, "units": units.label, "by": result.by,
                      "method": result.method, "min_share": args.min_share, "threshold": args.threshold,
                      "per_footprint": per.to_dict("records") if not args.per_footprint else None})
    return 0


def _neighbourhood(text: str) -> tuple[int, int]:
    low, sep, high = text.replace("–", "-").partition("-")
    try:
        low_n, high_n = int(low.replace(",", "")), int(high.replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not LOW-HIGH (e.g. 30000-50000)") from None
    if not sep or not 0 < low_n <= high_n:
        raise argparse.ArgumentTypeError(f"{text!r}: need 0 < LOW ≤ HIGH, e.g. 30000-50000")
    return low_n, high_n


def cmd_spanners(args: argparse.Namespace) -> int:
    from .boundaries.spanners import find_spanners

    layer, footprints = load(args, args.layer_spec), load(args, args.across)
    population = load_pop_default(args)
    wide, long, table, by = find_spanners(layer, footprints, population, by=args.weight, **sliver_kwargs(args))
    header = [f"spanners: {layer.label} units in more than one {footprints.label} footprint",
              table.notes[0], weight_line(by, population),
              "sorted by the share in the largest piece, most divided first"] + table.notes[1:]
    footer = [f"{len(wide)} of {len(table.b_units)} {layer.label} units lie in more than one {footprints.label} footprint"]
    if args.long:
        frame = long
    elif args.format == "table":  # one row per piece, unit columns shown once: long cells would be cut
        frame = long.copy()
        repeat = frame["code"].duplicated()
        count = frame.groupby("code")["footprint"].transform("size")
        frame.insert(2, "footprints", count.astype(str))
        for col in ("code", "name", "footprints"):
            frame[col] = frame[col].astype(str).where(~repeat, "")
    else:
        frame = wide
    report(args, frame, header=header, footer=footer,
                meta={"layer": layer.label, "across": footprints.label, "by": by, "spanners": len(wide),
                      "units": len(table.b_units)})
    return 0


def cmd_scenario(args: argparse.Namespace) -> int:
    from .boundaries.scenario import (DEFAULT_AGAINST, Move, Scenario, before_after, load_scenario, run_moves,
                                      save_scenario)

    scenario = load_scenario(args.moves) if args.moves else Scenario([])
    scenario.moves += [Move.parse(m) for m in args.move or []]
    if args.footprints:
        scenario.footprints = args.footprints
    if args.units:
        scenario.units = list(args.units)
    if args.name:
        scenario.name = args.name
    if not scenario.moves:
        raise CotermError("give at least one --move UNIT=FOOTPRINT, or --moves FILE")
    before = load(args, scenario.footprints)
    units = [load(args, spec) for spec in scenario.units]
    population = load_pop_default(args)
    against = [load(args, spec) for spec in dict.fromkeys(args.against or DEFAULT_AGAINST)]
    # Layers drawn separately are overlaid by geometry: the moved footprints must then be redrawn too.
    redraw = bool(args.output_layer) or not all(before.shares_blocks_with(layer) for layer in against)
    after, moves, affected = run_moves(before, scenario, args.data_dir, units=units, geometry=redraw)
    result = before_after(before, after, against, population, affected, moves, by=args.weight, threshold=args.threshold,
                     **sliver_kwargs(args))
    # Files last, each atomic, the layer (the likeliest to be refused) first.
    if args.output_layer:
        from .geo.write import write_layer

        layer_frame = after.frame[["code", "name", "geometry"]].copy()
        if population is not None:
            from .boundaries.overlay import population_by_unit

            layer_frame.insert(2, "population", population_by_unit(after, population).to_numpy())
        layer_frame["moved"] = layer_frame["code"].isin(affected)
        write_layer(layer_frame, args.output_layer)
        print(f"wrote {args.output_layer} ({len(layer_frame)} footprints, {len(affected)} rebuilt)", file=sys.stderr)
    if args.save:
        save_scenario(scenario, args.save, moves)
        print(f"wrote {args.save}", file=sys.stderr)
    header = [f"scenario{': ' + scenario.name if scenario.name else ''}: {len(moves)} move(s) on {before.label}"]
    header += [m.describe() for m in moves]
    header += [weight_line(result.by, population), f"threshold: {args.threshold:g}"]
    footer = ["before: " + line for line in result.lines_before] + ["after:  " + line for line in result.lines_after]
    frame = result.table
    if args.format in ("table", "markdown"):
        frame = format_comparison(frame)
    report(args, frame, header=header, footer=footer,
                meta={"scenario": scenario.to_dict(), "affected": affected, "by": result.by,
                      "threshold": args.threshold, "before": result.lines_before, "after": result.lines_after})
    return 0


def format_comparison(table):
    """Before/after/change as text: shares as percentages, amounts with separators, signed changes."""
    out = table.copy()

    def text(value, metric, signed=False):
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            return value
        if metric == "score":
            return f"{100 * value:+.1f} pts" if signed else f"{100 * value:.1f}%"
        if signed:
            return "0" if value == 0 else f"{value:+,.0f}"
        return f"{value:,.0f}"

    for col in ("before", "after", "change"):
        out[col] = [text(v, m, col == "change") for v, m in zip(table[col], table["metric"])]
    return out


# ---------------------------------------------------------------- catchments, containment (issue 5)

GEO_SUFFIXES = (".gpkg", ".geojson", ".parquet", ".geoparquet", ".shp")  # .json stays the JSON report


def add_flow_options(p: argparse.ArgumentParser) -> None:
    """The flow table, its columns, the small areas it is counted in, and destination locations."""
    from .geo.flows import DEFAULT_COUNT, DEFAULT_DEST, DEFAULT_ORIGIN

    p.add_argument("flows", help="flow table (CSV or Parquet): origin small area, destination, count per row")
    p.add_argument("--origin-col", help=f"origin small-area code column (default {DEFAULT_ORIGIN}, as in NHS Digital's "
                                        "GP registrations by LSOA; msoa for OHID trust catchments)")
    p.add_argument("--dest-col", help=f"destination code column (default {DEFAULT_DEST}; TrustCode for trust catchments)")
    p.add_argument("--count-col", help=f"count column (default {DEFAULT_COUNT}; Patients for trust catchments)")
    p.add_argument("--dest-name-col", help="destination name column (default PRACTICE_NAME or TrustName when present)")
    p.add_argument("--where", action="append", metavar="COL=VALUE",
                   help="keep only rows where COL equals VALUE (repeatable), e.g. SEX=ALL or AdmissionType=Emergency")
    p.add_argument("--small-areas", default="lsoa11", metavar="LAYER",
                   help="layer the origin codes belong to (default lsoa11; a file of MSOA polygons for MSOA tables)")
    p.add_argument("--locations", metavar="FILE",
                   help="destination points: CSV with a code column and easting/northing (or lon/lat) columns; "
                        "without it a destination's home footprint is the one holding most of its patients")
    p.add_argument("--loc-code-col", help="code column of --locations (default: code, PRACTICE_CODE, TrustCode, …)")
    p.add_argument("--report-unmatched", metavar="FILE",
                   help="write rows whose origin is not a known small area (or whose destination has no location) "
                        "to FILE and go on without them; without it such rows are an error")


def load_flow_inputs(args: argparse.Namespace):
    """Small-area layer, checked flows (rows set aside only with --report-unmatched), locations or None."""
    from .geo.flows import check_destinations, check_origins, parse_where, read_flows, read_locations, write_unmatched

    small = load(args, args.small_areas)
    flows = read_flows(args.flows, args.origin_col, args.dest_col, args.count_col,
                       dest_name_col=args.dest_name_col, where=parse_where(args.where))
    report = bool(args.report_unmatched)
    flows = check_origins(flows, small.codes, small.label, report)
    locations = None
    if args.locations:
        locations, notes = read_locations(args.locations, args.loc_code_col, crs=args.crs)
        flows.notes.extend(notes)
        flows = check_destinations(flows, locations["code"], args.locations, report)
        for code, name in zip(locations["code"], locations["name"]):
            if code != name:
                flows.names.setdefault(code, name)
    if report:
        write_unmatched(flows, args.report_unmatched)
        flows.notes.append(f"{len(flows.unmatched):,} rows set aside → {args.report_unmatched}")
    for line in flows.notes:
        print(f"coterm {args.command}: {line}", file=sys.stderr)
    return small, flows, locations


def small_population(args: argparse.Namespace, small):
    """Population per small-area code (a Series), or None, with a note for the report header."""
    if getattr(args, "no_population", False):
        return None, "population: not used (--no-population)"
    from .geo.named import population_counts

    return population_counts(args.population, small, data_dir=args.data_dir, code_col=args.pop_code_col,
                             pop_col=args.pop_col)


def cmd_containment(args: argparse.Namespace) -> int:
    from .boundaries.catchments import containment, destination_homes, origin_footprints

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


def cmd_catchments(args: argparse.Namespace) -> int:
    from .boundaries.catchments import catchment_layer, destination_homes, origin_footprints
    from .geo.members import MEMBERS_COLUMN, members_column

    small, flows, locations = load_flow_inputs(args)
    pairs = flows.pairs()
    population, pop_note = small_population(args, small)
    writes_layer = bool(args.output) and Path(args.output).suffix.lower() in GEO_SUFFIXES
    label = Path(args.output).stem if writes_layer else "catchments"
    layer, selection = catchment_layer(pairs, small, args.share, population=population, names=flows.names, label=label)
    frame = layer.frame
    header = [f"catchments: {Path(args.flows).name} ({flows.total:,.0f} people, {len(frame):,} destinations) on "
              f"{small.label} small areas, share {args.share:g}", pop_note] + [n for n in layer.notes if n not in small.notes]
    if args.footprints:
        footprints = load(args, args.footprints)
        origins, origin_note = origin_footprints(small, footprints)
        homes, home_note = destination_homes(pairs, origins, footprints, locations)
        names = footprints.names()
        frame["home"] = frame["code"].map(homes.set_index("dest")["home"])
        frame["home_name"] = frame["home"].map(names).fillna("(outside)")
        header += [origin_note, home_note]
    if population is not None:
        header.append("catchment_population = Σ over small areas of population × patients(destination) / "
                      "patients(all destinations); polygon_population = everyone living in the polygon")
    if writes_layer:
        from .geo.write import write_layer

        out = frame.copy()
        if layer.small_areas == "lsoa11":
            out.insert(len(out.columns) - 1, MEMBERS_COLUMN, members_column(layer))
        out = out[[c for c in out.columns if c != "geometry"] + ["geometry"]]
        write_layer(out, args.output)
        print(f"coterm catchments: wrote {len(out):,} catchment polygons → {args.output} "
              f"(a layer for overlay, spanners, summary: `coterm overlay {args.output} stp17`)", file=sys.stderr)
        if not args.quiet:
            footer = [f"median catchment: {frame['small_areas'].median():,.0f} small areas holding "
                      f"{frame['share_in_polygon'].median():.1%} of a destination's patients"]
            print("\n".join(f"coterm catchments: {line}" for line in header + footer), file=sys.stderr)
        return 0
    table = selection if args.by_area else frame.drop(columns="geometry")
    if args.by_area:
        table = table.assign(name=table["dest"].map(lambda c: flows.names.get(c, c)))
        table = table[["dest", "name", "small_code", "patients", "share", "cum_share", "in_catchment"]]
    footer = [f"median catchment: {frame['small_areas'].median():,.0f} small areas holding "
              f"{frame['share_in_polygon'].median():.1%} of a destination's patients"]
    report(args, table, header=header + flows.notes, footer=footer,
                meta={"flows": str(args.flows), "share": args.share, "small_areas": small.label})
    return 0


def _positive_share(text: str) -> float:
    value = _share(text)
    if value == 0:
        raise argparse.ArgumentTypeError("the catchment share must be above 0")
    return value



# ---------------------------------------------------------------- map (issue 3)

EXTRA_STYLE = {"color": "#1f78b4", "weight": 2.0, "dashArray": "6 4", "fill": True, "fillColor": "#1f78b4",
               "fillOpacity": 0.05}


def cmd_map(args: argparse.Namespace) -> int:
    from .geo.named import SMALL_AREAS, small_area_layer
    from .maps import MapLayer, build_map, compare, render_fragment, render_html
    from .report import atomic_write

    footprints = load(args, args.footprints)
    if args.scenario:
        from .boundaries.scenario import apply_scenario, load_scenario

        scenario = load_scenario(args.scenario)
        footprints = apply_scenario(footprints, scenario, args.data_dir)
        args.title = args.title or f"{args.footprints} after scenario {scenario.name or Path(args.scenario).stem}"
    population = load_pop(args)
    against = [load(args, spec) for spec in dict.fromkeys(args.against or ["upper17"])]
    comparisons = [compare(footprints, layer, population, by=args.by, threshold=args.threshold, **sliver_kwargs(args))
                   for layer in against]
    extra = []
    for i, spec in enumerate(args.show or []):
        layer = load(args, spec)
        extra.append(MapLayer(layer.frame[["code", "name", "geometry"]], f"{layer.label} ({len(layer)})",
                              ["code", "name"], EXTRA_STYLE, key=f"show-{i}", legend=[(layer.label, EXTRA_STYLE)]))
    uses_lsoas = any(l.small_areas == SMALL_AREAS for l in [footprints] + against)
    fine = small_area_layer(args.data_dir) if uses_lsoas else None
    m = build_map(footprints, comparisons, extra_layers=extra, color_by=args.color_by, focus=args.focus,
                  tiles=args.tiles, fine=fine, tolerance=args.simplify, pieces=not args.no_pieces, title=args.title,
                  height=args.height if args.embed else "100%")
    text = render_fragment(m) if args.embed else render_html(m)
    atomic_write(args.output, text)
    summary = m.coterm_summary
    drawn = "; ".join(f"{name}: {count}" for name, _, count in summary.layers)
    print(f"wrote {args.output} ({len(text.encode()) / 1e6:.2f} MB, {'fragment' if args.embed else 'page'}, "
          f"simplified at {summary.tolerance:.0f} m) — {drawn}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- data


def cmd_data_list(args: argparse.Namespace) -> int:
    import pandas as pd

    from .geo.catalogue import DATASETS, resolve_data_dir
    from .geo.fetch import dataset_status, how_fetched, read_manifest

    folder = resolve_data_dir(args.data_dir)
    manifest = read_manifest(folder)
    frame = pd.DataFrame([
        {"name": d.name, "title": d.title, "kind": d.kind, "vintage": d.vintage, "licence": d.licence,
         "how": how_fetched(d.name), "status": dataset_status(d.name, folder, manifest), "source": d.url}
        for d in DATASETS.values()])
    header = [f"data folder: {folder}"]
    footer = ["how: arcgis/download = `coterm data fetch NAME`; manual = download by hand (see `coterm data fetch NAME`)"]
    if args.format == "table":  # long cells are cut in the terminal table: give the sources in full below it
        footer = [f"{r.name}: {r.source}" for r in frame.itertuples()] + footer
        frame = frame.drop(columns=["title", "source"])
    report(args, frame, header=header, footer=footer, meta={"data_dir": str(folder)})
    return 0


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from .geo.catalogue import DATASETS
    from .geo.fetch import MANUAL, dataset_status, fetch_all, fetch_dataset, fetch_folder, read_manifest

    options = {"progress": not args.quiet, "retries": args.retries, "timeout": args.timeout}
    if "all" in args.names:
        done = fetch_all(args.data_dir, **options)
    else:
        unknown = [n for n in args.names if n not in DATASETS]
        if unknown:
            raise CotermError(f"unknown dataset {unknown[0]!r}; `coterm data list` shows the catalogue")
        done = {name: fetch_dataset(name, args.data_dir, **options) for name in dict.fromkeys(args.names)}
    manifest = read_manifest(fetch_folder(args.data_dir)) if done else {}
    for name, path in done.items():
        entry = manifest.get(name, {})
        print(f"fetched {name}: {entry.get('rows', 0):,} rows, {entry.get('bytes', 0):,} bytes → {path}", file=sys.stderr)
    if "all" in args.names:
        folder = fetch_folder(args.data_dir)
        for name in MANUAL:
            if dataset_status(name, folder, manifest) == "missing":
                print(f"not fetched {name}: must be downloaded by hand; `coterm data fetch {name}` says how",
                      file=sys.stderr)
    return 0


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coterm",
        description="Review health-service boundaries in England: coterminosity of footprints, CCGs and councils.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("overlay", help="every pair of two layers, classes and a layer score",
                       description="Overlay layer A on layer B: each A unit's class (coterminous / nested / "
                                   "contains / split), best match, wrong-side amount; the layer score; B units split.")
    p.add_argument("a", help="layer A: catalogue name (stp17, ccg17, upper17, lad17, lad11, lad13, …) or file")
    p.add_argument("b", help="layer B: catalogue name or file")
    add_population_options(p)
    add_threshold_options(p)
    p.add_argument("--pairs", action="store_true", help="print every intersecting pair instead of one row per A unit")
    p.add_argument("--worst", type=int, default=5, help="how many worst fits to name (default 5)")
    p.add_argument("--all-columns", action="store_true", help="show every column in the terminal table")
    add_data_options(p)
    add_output_options(p)
    p.set_defaults(func=cmd_overlay)

    p = sub.add_parser("summary", help="per footprint: population, CCGs, councils touched and split, class",
                       description="Summarise footprints against local organisation layers.")
    p.add_argument("footprints", help="footprint layer: catalogue name (stp17) or file")
    p.add_argument("--against", action="append", metavar="LAYER",
                   help="layer to compare with (repeatable; default: upper17 and ccg17); the first one gives the "
                        "class and wrong-side columns. upper17 brings its districts (lad17) along")
    p.add_argument("--no-lower-tier", action="store_true", help="do not add lad17 beside upper17")
    p.add_argument("--all-columns", action="store_true",
                   help="terminal table with every column (wrong side and class against every layer)")
    add_population_options(p)
    add_threshold_options(p)
    add_data_options(p)
    add_output_options(p)
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("build", help="dissolve a fine layer into coarse units by a lookup or a column",
                       description="Build a coarse layer from a fine one: --lookup CSV --from-col X --to-col Y, or "
                                   "--by COLUMN the fine layer carries. Reports fine units missing or listed twice.")
    p.add_argument("fine", help="fine layer: catalogue name (lsoa11) or file")
    p.add_argument("--lookup", metavar="CSV", help="membership table (CSV or Parquet)")
    p.add_argument("--from-col", help="fine-unit code column in the lookup")
    p.add_argument("--to-col", help="coarse-unit code column in the lookup")
    p.add_argument("--to-name-col", help="coarse-unit name column in the lookup")
    p.add_argument("--by", dest="by_col", metavar="COLUMN", help="dissolve by this column of the fine layer instead")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="output file (.gpkg, .geojson, .parquet or .shp), written atomically")
    add_population_options(p)
    add_data_options(p)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("places", help="each footprint split into places (footprint ∩ council or CCG), neighbourhoods",
                       description="Split footprints into place units (footprint ∩ upper-tier council, district or "
                                   "CCG) with population, area and shares; flag fragments and slivers; count "
                                   "30,000–50,000-person neighbourhoods. With --proposed FILE: do the proposed "
                                   "places tile each footprint exactly (gaps, overlaps, spill)?")
    p.add_argument("footprints", help="footprint layer (stp17 or a file), or one stp17 footprint's code or name")
    p.add_argument("--by", choices=sorted(PLACE_LAYERS), default="utla",
                   help="place units: utla = upper17 councils (default), lad = lad17 districts, ccg = ccg17")
    p.add_argument("--with", dest="with_layer", metavar="LAYER", help="any other unit layer (catalogue name or file)")
    p.add_argument("--footprint", action="append", metavar="CODE|NAME", help="only this footprint (repeatable)")
    p.add_argument("--min-share", type=_share, default=0.02,
                   help="a piece of a divided unit under this share of its footprint is a fragment (default 0.02)")
    p.add_argument("--neighbourhood", type=_neighbourhood, default=(30_000, 50_000), metavar="LOW-HIGH",
                   help="neighbourhood size in people (default 30000-50000)")
    p.add_argument("--show-slivers", action="store_true", help="list sliver pieces too (geometry overlays)")
    p.add_argument("--per-footprint", action="store_true", help="one row per footprint instead of one per place")
    p.add_argument("--proposed", metavar="FILE", help="proposed places (polygons with code/name): check gaps and overlaps")
    add_weight_options(p)
    add_data_options(p)
    add_output_options(p)
    p.set_defaults(func=cmd_places)

    p = sub.add_parser("spanners", help="units of a layer that fall in more than one footprint, with shares",
                       description="List every unit of LAYER (council, CCG, trust or catchment) lying in more than "
                                   "one footprint, with its share in each, most divided first.")
    p.add_argument("layer_spec", metavar="LAYER", help="unit layer: catalogue name (upper17, lad17, ccg17) or file")
    p.add_argument("--across", required=True, metavar="FOOTPRINTS", help="footprint layer (stp17 or a file)")
    p.add_argument("--long", action="store_true", help="one row per unit and footprint (tidy form) in every format")
    add_weight_options(p, threshold=False)
    add_data_options(p)
    add_output_options(p)
    p.set_defaults(func=cmd_spanners)

    p = sub.add_parser("scenario", help="move units between footprints; before/after of every metric",
                       description="Move units (CCGs, districts, councils, or A&B = the part of A inside B) to "
                                   "other footprints, rebuild the affected footprints and compare every metric "
                                   "before and after. Moves: UNIT=FOOTPRINT with codes or names.")
    p.add_argument("--move", action="append", metavar="UNIT=FOOTPRINT",
                   help="a move, e.g. E38000008=E54000014 or \"E38000182&E07000037=Derbyshire\" (repeatable)")
    p.add_argument("--moves", metavar="FILE", help="scenario JSON (from --save) or a text file of UNIT=FOOTPRINT lines")
    p.add_argument("--footprints", metavar="LAYER", help="footprint layer (default: the scenario's, else stp17)")
    p.add_argument("--units", action="append", metavar="LAYER",
                   help="layers units are looked up in (repeatable; default ccg17, lad17, upper17)")
    p.add_argument("--against", action="append", metavar="LAYER",
                   help="layers to compare with (repeatable; default upper17, lad17, ccg17)")
    p.add_argument("--name", help="a name for the scenario (saved with it)")
    p.add_argument("--save", metavar="FILE.json", help="save the scenario (moves and resolved codes) for `coterm map --scenario`")
    p.add_argument("--output-layer", metavar="FILE", help="write the footprints after the moves (.gpkg, .geojson, …)")
    add_weight_options(p)
    add_data_options(p)
    add_output_options(p)
    p.set_defaults(func=cmd_scenario)

    p = sub.add_parser("containment", help="how much of the patient flow stays inside each footprint",
                       description="Containment of a flow table (origin small area → destination → count) in "
                                   "footprints: per footprint, the share of its residents' flow going to destinations "
                                   "inside it and the share of its destinations' flow from its own residents; "
                                   "--matrix for the footprint × footprint flow matrix, --destinations per destination.")
    add_flow_options(p)
    p.add_argument("--footprints", default="stp17", metavar="LAYER", help="footprint layer (default stp17)")
    p.add_argument("--matrix", nargs="?", const="long", choices=("long", "wide"),
                   help="print the footprint × footprint flow matrix (long: one row per pair; wide: a square table)")
    p.add_argument("--destinations", action="store_true",
                   help="print one row per destination: home footprint and the share of its flow from inside it")
    add_data_options(p)
    add_output_options(p)
    p.set_defaults(func=cmd_containment)

    p = sub.add_parser("catchments", help="catchment polygons of destinations (practices, trusts) from a flow table",
                       description="Each destination's catchment: the fewest small areas (most patients first) holding "
                                   "--share of its patients, dissolved into a polygon, with its patients and proportional "
                                   "population. -o FILE.gpkg writes the polygons as a layer other commands read.")
    add_flow_options(p)
    p.add_argument("--share", type=_positive_share, default=0.8,
                   help="share of a destination's patients its catchment polygon must hold (default 0.8)")
    p.add_argument("--footprints", metavar="LAYER", help="add each destination's home footprint (e.g. stp17)")
    p.add_argument("--by-area", action="store_true",
                   help="print each destination's patients by small area (share, cumulative share, in_catchment)")
    add_population_options(p)
    p.add_argument("--no-population", action="store_true", help="no catchment populations")
    add_data_options(p)
    p.add_argument("--format", choices=FORMATS, default="table", help="output format of the table (default: table)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="FILE.gpkg/.geojson/.parquet/.shp: write the catchment polygons (atomically); any other name: "
                        "write the table there instead of standard output")
    p.set_defaults(func=cmd_catchments)

    p = sub.add_parser("map", help="interactive map (HTML) of footprints against councils/CCGs, split units shown",
                       description="Draw footprints coloured by their class (or fit) against the first --against "
                                   "layer, the compared layers' boundaries, units split between footprints and "
                                   "their wrong-side pieces. One standalone HTML file (works offline with "
                                   "--tiles none), or an embeddable fragment with --embed.")
    p.add_argument("footprints", help="footprint layer: catalogue name (stp17) or file")
    p.add_argument("--against", action="append", metavar="LAYER",
                   help="layer to compare with (repeatable; default upper17); the first one colours the footprints")
    p.add_argument("--show", action="append", metavar="LAYER",
                   help="extra layer to draw as outlines with code/name tooltips (repeatable), e.g. places or catchments")
    p.add_argument("--focus", metavar="CODE_OR_NAME", help="zoom to one footprint and draw only its neighbourhood")
    p.add_argument("--color-by", choices=("class", "score"), default="class",
                   help="colour footprints by class, or by fit = 1 − wrong side / total (default class)")
    p.add_argument("--tiles", choices=("none", "osm", "cartodb"), default="none",
                   help="basemap (default none: the page needs no internet at all)")
    p.add_argument("--embed", action="store_true",
                   help="write an HTML fragment (a <div> plus its styles and scripts) to paste into another page")
    p.add_argument("--height", default="600px", help="map height in the --embed fragment (default 600px)")
    p.add_argument("--simplify", type=float, metavar="METRES",
                   help="simplification tolerance in metres (default: from the extent, ≈150 m for England; 0 = none)")
    p.add_argument("--no-pieces", action="store_true", help="do not draw the pieces of split units")
    p.add_argument("--title", help="title shown on the map")
    p.add_argument("--scenario", metavar="FILE",
                   help="draw the footprints after a saved scenario's moves (`coterm scenario --save FILE.json`)")
    add_population_options(p)
    add_threshold_options(p)
    add_data_options(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="HTML file to write (atomically)")
    p.set_defaults(func=cmd_map)

    p = sub.add_parser("data", help="the published datasets: list them, fetch them into the cache",
                       description="List the catalogue of ONS datasets, or download them (cached, with a manifest).")
    data = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    q = data.add_parser("list", help="every dataset: vintage, licence, source, and whether it is here")
    q.add_argument("--data-dir", metavar="DIR", help="data folder to check (default: $COTERM_DATA, then the cache)")
    add_output_options(q)
    q.set_defaults(func=cmd_data_list)
    q = data.add_parser("fetch", help="download datasets from the publisher into the data folder",
                        description="Download catalogue datasets (or `all`) into the data folder, atomically, "
                                    "recording source and SHA-256 in manifest.json.")
    q.add_argument("names", nargs="+", metavar="NAME", help="dataset name(s) from `coterm data list`, or all")
    q.add_argument("--data-dir", metavar="DIR", help="folder to write to (default: $COTERM_DATA, then the cache)")
    q.add_argument("--retries", type=int, default=3, help="times to retry a failed request (default 3)")
    q.add_argument("--timeout", type=float, default=30, help="seconds to wait for each response (default 30)")
    q.set_defaults(func=cmd_data_fetch)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``coterm``; return the exit code (0 ok, 2 bad input, 1 internal error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    quiet_before = os.environ.get("COTERM_QUIET")
    if args.quiet:
        os.environ["COTERM_QUIET"] = "1"
    try:
        return _run(args)
    finally:  # -q holds for this call only (main() is also called from Python)
        if quiet_before is None:
            os.environ.pop("COTERM_QUIET", None)
        else:
            os.environ["COTERM_QUIET"] = quiet_before


def _run(args: argparse.Namespace) -> int:
    """Run the chosen command; bad input becomes one line on stderr and exit 2."""
    try:
        return args.func(args) or 0
    except CotermError as err:
        print(f"coterm {args.command}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"coterm {args.command}: interrupted; no output written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:  # a bug, not bad input: one line, traceback on request
        if os.environ.get("COTERM_DEBUG"):
            raise
        first = str(err).splitlines()[0] if str(err) else ""
        print(f"coterm {args.command}: internal error: {type(err).__name__}: {first} "
              "(set COTERM_DEBUG=1 for the traceback and please report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
