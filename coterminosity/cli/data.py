"""``coterm data list|fetch``: the published datasets, what ships, and fetching more."""

from __future__ import annotations

import argparse
import logging

from ..errors import CotermError
from .formats import report
from .options import add_output, count, non_negative

NAME = "data"
HELP = "the published datasets: list them, fetch them into the cache"
log = logging.getLogger("coterminosity.cli")


def register(sub) -> argparse.ArgumentParser:
    """Add ``data list`` and ``data fetch``."""
    p = sub.add_parser(NAME, help=HELP, description="List the catalogue of ONS datasets and layers, or download "
                       "datasets (cached, with a manifest).")
    data = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    q = data.add_parser("list", help="every dataset and layer: vintage, licence, source, and whether it is here")
    q.add_argument("--data-dir", metavar="DIR", help="data folder to check (default: $COTERM_DATA, then the cache)")
    q.add_argument("--layers", action="store_true", help="list the catalogue layers (vintage, sources, units)")
    add_output(q)
    q.set_defaults(data_run=run_list)
    q = data.add_parser("fetch", help="download datasets from the publisher into the data folder",
                        description="Download catalogue datasets (or `all`) into the data folder, atomically, "
                                    "recording source and SHA-256 in manifest.json.")
    q.add_argument("names", nargs="+", metavar="NAME", help="dataset name(s) from `coterm data list`, or all")
    q.add_argument("--data-dir", metavar="DIR", help="folder to write to (default: $COTERM_DATA, then the cache)")
    q.add_argument("--retries", type=count, default=3, help="times to retry a failed request (default 3)")
    q.add_argument("--timeout", type=non_negative, default=30, help="seconds to wait for each response (default 30)")
    q.set_defaults(data_run=run_fetch)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the chosen action."""
    return args.data_run(args)


def run_list(args: argparse.Namespace) -> int:
    """The catalogue: datasets (default) or layers."""
    import pandas as pd

    from ..geo import catalogue
    from ..geo.fetch import dataset_status, how_fetched, read_manifest

    if args.layers and hasattr(catalogue, "catalogue_table"):
        frame = catalogue.catalogue_table()
        report(args, frame, header=["catalogue layers: every one an exact union of the 2011 LSOAs"],
               meta={"layers": len(frame)})
        return 0
    folder = catalogue.resolve_data_dir(args.data_dir)
    manifest = read_manifest(folder)
    frame = pd.DataFrame([
        {"name": d.name, "title": d.title, "kind": d.kind, "vintage": d.vintage, "licence": d.licence,
         "how": how_fetched(d.name), "status": dataset_status(d.name, folder, manifest), "source": d.url}
        for d in catalogue.DATASETS.values()])
    header = [f"data folder: {folder}"]
    footer = ["how: arcgis/download = `coterm data fetch NAME`; manual = download by hand (see `coterm data fetch NAME`)",
              "`coterm data list --layers` lists the catalogue layers built from these files"]
    if args.format == "table":  # long cells are cut in the terminal table: give the sources in full below it
        footer = [f"{r.name}: {r.source}" for r in frame.itertuples()] + footer
        frame = frame.drop(columns=["title", "source"])
    report(args, frame, header=header, footer=footer, meta={"data_dir": str(folder)})
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    """Download datasets into the data folder."""
    from ..geo.catalogue import DATASETS
    from ..geo.fetch import MANUAL, dataset_status, fetch_all, fetch_dataset, fetch_folder, read_manifest

    options = {"progress": not getattr(args, "quiet", False), "retries": args.retries, "timeout": args.timeout}
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
        log.info("fetched %s: %s rows, %s bytes → %s", name, f"{entry.get('rows', 0):,}", f"{entry.get('bytes', 0):,}",
                 path)
    if "all" in args.names:
        folder = fetch_folder(args.data_dir)
        for name in MANUAL:
            if dataset_status(name, folder, manifest) == "missing":
                log.info("not fetched %s: must be downloaded by hand; `coterm data fetch %s` says how", name, name)
    return 0
