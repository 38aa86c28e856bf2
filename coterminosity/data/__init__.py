"""The England bundle shipped inside the package: what it carries and where its files are.

The bundle (folder ``england/``) is built from the published ONS/OHID/ODS files by
``python -m coterminosity.data.bundle --from DIR`` and read with no network: the cleaned
LSOA (December 2011) coverage on a 1 m grid, every catalogue layer's LSOA membership and unit
names, mid-2019 populations and population-weighted centroids, and the trust catchment
tables. ``manifest.json`` records each source file's SHA-256, the build version and row counts.

This module stays light (standard library only): the data resolution in
:mod:`coterminosity.geo.catalogue` asks it which datasets the bundle serves.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

BUNDLE_DIR = Path(__file__).resolve().parent / "england"
MANIFEST = "manifest.json"
FORMAT = 1  # bump when the bundle's files change shape (readers check it)
TITLE = "bundled England set (ONS/OHID, OGL v3)"


@lru_cache(maxsize=4)
def _manifest(folder: str) -> dict:
    path = Path(folder) / MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) and doc.get("format") == FORMAT else {}


def manifest(folder: str | Path | None = None) -> dict:
    """The bundle's manifest (empty when the bundle is absent or of another format)."""
    return _manifest(str(folder or BUNDLE_DIR))


def available(folder: str | Path | None = None) -> bool:
    """True when a readable bundle ships with this installation."""
    return bool(manifest(folder))


def carries(dataset: str, folder: str | Path | None = None) -> bool:
    """True when the bundle serves catalogue dataset ``dataset`` (e.g. ``lsoa11``, a lookup, the population)."""
    return dataset in manifest(folder).get("datasets", {})


def bundle_file(dataset: str, folder: str | Path | None = None) -> Path:
    """The bundle file that serves ``dataset`` (see :func:`carries`)."""
    return Path(folder or BUNDLE_DIR) / manifest(folder)["datasets"][dataset]


def data_note(folder: str | Path | None = None) -> str:
    """The report line naming the bundle: what it is, how and from what it was built."""
    doc = manifest(folder)
    sources = doc.get("sources", {})
    return (f"data: {TITLE}, built by `python -m coterminosity.data.bundle` (format {doc.get('format')}, "
            f"build {doc.get('build_version')}) from {len(sources)} published files (SHA-256 in its manifest); "
            f"LSOA polygons on a {doc.get('grid_m', 1):g} m grid")
