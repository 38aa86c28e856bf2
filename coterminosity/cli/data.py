"""``coterm data list|fetch|bundle``: the published datasets, what ships, fetching more, rebuilding the bundle."""

from __future__ import annotations

import argparse
import logging

from ..errors import CotermError
from .formats import report
from .options import add_output, count, non_negative

NAME = "data"
HELP = "the data: what ships in the package, the ONS datasets, fetching more"
log = logging.getLogger("coterminosity.cli")

SHIPS = (
    "The package ships an England bundle, read with no network and no data folder: the 32,844 LSOAs "
    "(December 2011; ONS LSOA Boundaries Generalised Clipped (BGC) EW V3, coverage-cleaned, 1 m grid), every "
    "catalogue layer's LSOA membership 2011-2024 (ONS LSOA/CCG/STP/sub-ICB/ICB/district/upper-tier lookups), "
    "mid-2019 LSOA populations (ONS SAPE22), LSOA population-weighted centroids (ONS) and the NHS acute trust "
    "catchment tables (OHID; ODS successors). Data: Source: Office for National Statistics licensed under the "
    "Open Government Licence v3.0; contains OS data (c) Crown copyright and database right; OHID and NHS ODS "
    "data under the Open Government Licence v3.0."
)
ORDER = "Data are read from --data-dir, else $COTERM_DATA, else files fetched into the user cache, else the bundle."


def register(sub) -> argparse.ArgumentParser:
    """Add ``data list``, ``data fetch`` and ``data bundle``."""
    p = sub.add_parser(NAME, help=HELP, description=f"{SHIPS} {ORDER} `coterm data fetch` brings what the bundle "
                       "does not carry (full-resolution and newer boundaries) into the user cache.")
    data = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    q = data.add_parser("list", help="every dataset: what it is, its licence, source and where it is read from",
                        description=f"{SHIPS} {ORDER}")
    q.add_argument("--data-dir", metavar="DIR", help="data folder to check (default: $COTERM_DATA, then the cache, "
                   "then the bundle)")
    q.add_argument("--layers", action="store_true", help="list the catalogue layers (vintage, sources, units)")
    add_output(q)
    q.set_defaults(data_run=run_list)
    q = data.add_parser("fetch", help="download datasets from the publisher into the user cache",
                        description="Download catalogue datasets (or `all`) into the data folder (default: the user "
                                    "cache), atomically, recording source and SHA-256 in manifest.json. The bundle "
                                    "already has what the catalogue layers need; fetch the full-resolution (BFC) "
                                    "and newer boundaries it lacks, or the published files to use instead of it.")
    q.add_argument("names", nargs="+", metavar="NAME", help="dataset name(s) from `coterm data list`, or all")
    q.add_argument("--data-dir", metavar="DIR", help="folder to write to (default: $COTERM_DATA, then the cache)")
    q.add_argument("--retries", type=count, default=3, help="times to retry a failed request (default 3)")
    q.add_argument("--timeout", type=non_negative, default=30, help="seconds to wait for each response (default 30)")
    q.set_defaults(data_run=run_fetch)
    q = data.add_parser("bundle", help="rebuild the England bundle from a folder of the published files",
                        description="Build the England bundle (byte for byte reproducible, with a manifest of the "
                                    "source files' SHA-256) from the published files in --from.")
    q.add_argument("--from", dest="source", required=True, metavar="DIR", help="the folder of published files")
    q.add_argument("-o", "--output", metavar="DIR", help="where to write it (default: the package's own bundle)")
    q.set_defaults(data_run=run_bundle)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the chosen action."""
    return args.data_run(args)


def _status(name: str, folder, manifest: dict, explicit: bool) -> str:
    """Where a dataset is read from: a status in the folder, else ``bundled`` or ``missing``."""
    from ..geo.catalogue import bundled
    from ..geo.fetch import dataset_status

    status = dataset_status(name, folder, manifest)
    if status == "missing" and not explicit and bundled(name):
        return "bundled"
    return status


def run_list(args: argparse.Namespace) -> int:
    """The catalogue: datasets (default) or layers."""
    import pandas as pd

    from .. import data
    from ..geo import catalogue
    from ..geo.fetch import how_fetched, read_manifest

    if args.layers:
        frame = catalogue.catalogue_table()
        report(args, frame, header=["catalogue layers: every one an exact union of the 2011 LSOAs"],
               meta={"layers": len(frame)})
        return 0
    explicit = catalogue.explicit_data_dir(args.data_dir) is not None
    folder = catalogue.resolve_data_dir(args.data_dir)
    manifest = read_manifest(folder)
    frame = pd.DataFrame([
        {"name": d.name, "title": d.title, "kind": d.kind, "vintage": d.vintage, "licence": d.licence,
         "how": how_fetched(d.name), "status": _status(d.name, folder, manifest, explicit), "source": d.url}
        for d in catalogue.DATASETS.values()])
    header = [f"data folder: {folder}"]
    if data.available():
        doc = data.manifest()
        size = sum(f["bytes"] for f in doc["files"].values())
        header.append(f"bundle: {data.BUNDLE_DIR} ({size / 1e6:.1f} MB, {len(doc['layers'])} layers' memberships, "
                      f"built from {len(doc['sources'])} published files){'' if not explicit else ' (not used: a data folder is given)'}")
    footer = [SHIPS, ORDER,
              "status: bundled = read from the bundle; fetched/present = a file in the data folder; missing = neither",
              "how: arcgis/download = `coterm data fetch NAME`; manual = download by hand (see `coterm data fetch NAME`)",
              "`coterm data list --layers` lists the catalogue layers built from these files"]
    if args.format == "table":  # long cells are cut in the terminal table: give the sources in full below it
        footer = [f"{r.name}: {r.source}" for r in frame.itertuples()] + footer
        frame = frame.drop(columns=["title", "source"])
    report(args, frame, header=header, footer=footer, meta={"data_dir": str(folder), "bundle": str(data.BUNDLE_DIR)})
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


def run_bundle(args: argparse.Namespace) -> int:
    """Rebuild the England bundle from a folder of published files."""
    from ..data import BUNDLE_DIR
    from ..data.bundle import BundleError, build_bundle, bundle_size

    out = args.output or BUNDLE_DIR
    try:
        doc = build_bundle(args.source, out)
    except BundleError as err:
        raise CotermError(str(err)) from None
    log.info("wrote %s: %d files, %.2f MB, %d layers' memberships", out, len(doc["files"]) + 1, bundle_size(out) / 1e6,
             len(doc["layers"]))
    return 0
