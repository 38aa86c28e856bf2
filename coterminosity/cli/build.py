"""``coterm build FINE --lookup CSV | --column COL -o FILE``: dissolve a fine layer into coarse units."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..errors import CotermError
from .context import load, population_for
from .options import add_data, add_population, deprecated

NAME = "build"
HELP = "dissolve a fine layer into coarse units by a lookup or a column"
log = logging.getLogger("coterminosity.cli")


def register(sub) -> argparse.ArgumentParser:
    """Add the ``build`` command."""
    p = sub.add_parser(NAME, help=HELP, description="Build a coarse layer from a fine one: --lookup CSV --from-col X "
                       "--to-col Y, or --column COLUMN the fine layer carries. Reports fine units missing or listed "
                       "twice.")
    p.add_argument("fine", help="fine layer: catalogue name (lsoa11) or file")
    p.add_argument("--lookup", metavar="CSV", help="membership table (CSV or Parquet)")
    p.add_argument("--from-col", help="fine-unit code column in the lookup")
    p.add_argument("--to-col", help="coarse-unit code column in the lookup")
    p.add_argument("--to-name-col", help="coarse-unit name column in the lookup")
    p.add_argument("--column", metavar="COLUMN", help="dissolve by this column of the fine layer instead")
    p.add_argument("--by", dest="old_column", metavar="COLUMN", help=argparse.SUPPRESS)
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="output file (.gpkg, .geojson, .parquet or .shp), written atomically")
    p.add_argument("--allow-missing", action="store_true",
                   help="build even when the lookup leaves out more than 5%% of the fine units")
    add_population(p, old_by=False)
    add_data(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Build the layer and write it."""
    from ..geo.build import build_layer, membership_from_table
    from ..geo.read import read_table
    from ..geo.write import check_output_path, write_layer

    if args.old_column:
        deprecated("build --by COLUMN", "--column COLUMN")
    column = args.column or args.old_column
    if bool(args.lookup) == bool(column):
        raise CotermError("build: give either --lookup CSV (with --from-col/--to-col) or --column COLUMN")
    check_output_path(args.output)
    fine = load(args, args.fine)
    if args.lookup:
        if not (args.from_col and args.to_col):
            raise CotermError("build: --lookup needs --from-col (fine code) and --to-col (coarse code)")
        table = read_table(args.lookup)
        membership = membership_from_table(fine.codes, table, args.from_col, args.to_col, args.to_name_col,
                                           where=str(args.lookup))
    else:
        if column not in fine.frame.columns:
            cols = ", ".join(c for c in fine.frame.columns if c != "geometry")
            raise CotermError(f"{fine.source}: no column {column!r} to dissolve by (columns: {cols})")
        table = fine.frame[["code", column]].rename(columns={"code": "fine"})
        membership = membership_from_table(fine.codes, table, "fine", column, None, where=fine.source)
    for line in membership.problems():
        log.warning("build: %s", line)
    membership.check_coverage(len(fine), str(args.lookup or fine.source), allow=args.allow_missing)
    if membership.members.empty:
        raise CotermError(f"build: no {fine.label} unit has exactly one parent in the table; nothing to build")
    built = build_layer(fine, membership, Path(args.output).stem, coverage=fine.members is not None)
    population = population_for(args, fine) if args.population else None
    if population is not None:
        from ..boundaries.overlay import population_by_unit

        built.frame["population"] = population_by_unit(built, population).to_numpy()
    write_layer(built.frame, args.output)
    log.info("built %d units from %s of %s %s units → %s", len(built), f"{len(membership.members):,}",
             f"{len(fine):,}", fine.label, args.output)
    return 0
