"""Download the catalogue datasets from their publishers into the data folder, safely.

The package ships an England bundle (:mod:`coterminosity.data`), so nothing needs fetching to
run; fetching brings what the bundle does not carry — the full-resolution (BFC) and newer
boundary layers — or the published files themselves (to rebuild the bundle, or to use them in
place of it: a fetched file is read before the bundle's).

ArcGIS REST layers (the ONS Open Geography Portal) are paged through ``/query`` (the dataset's
``where``, e.g. English LSOAs only) with ``resultOffset`` until ``exceededTransferLimit`` is
false; columns a boundary layer lacks (the LSOAs' 2011 district) are joined from an ONS lookup
table paged the same way; polygons are written as a GeoPackage and lookups as CSV. Plain files are downloaded whole. Every request is retried a bounded number
of times; every page is checked (valid JSON, no ``error`` object, a ``features`` list of a
sensible size, no repeated object ids, the total matching the service's count). Output is built
in a temporary folder beside the target and moved into place with ``os.replace``, so a failed or
interrupted fetch leaves the previous file (or nothing) and never a half-written one. Each
success is recorded in ``manifest.json`` (source URL, time, SHA-256, bytes, rows).

Uses only the standard library for HTTP (``urllib``). ``COTERM_FETCH_BASE`` (or ``base_url``)
replaces the scheme and host of every source URL, so tests can serve a local mirror.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from ..errors import CotermError
from .arcgis import PAGE_SIZE, _fetch_arcgis, _fetch_file, _Getter, _Progress, _rebase
from .catalogue import DATASETS, POPULATION, Dataset, resolve_data_dir
from .io import atomic_write

MANIFEST = "manifest.json"

# Datasets the publisher does not serve in a form this module can turn into the catalogue's
# file honestly: say where to get them instead of guessing.
MANUAL: dict[str, str] = {
    POPULATION: (
        "ONS publishes it only as a zipped spreadsheet (SAPE22, single year of age), which this "
        "tool cannot convert; download it from {url}, make a CSV with columns {fields} "
        "(England LSOAs, totals and the three age bands) and save it as {path}"
    ),
    **{name: ("it is not published in this form (the catalogue's file is joined, converted or derived from the "
              "publisher's data); get the source from {url}, make a CSV with columns {fields} and save it as {path}")
       for name, ds in DATASETS.items() if ds.service == "manual"},
}


def how_fetched(name: str) -> str:
    """How ``coterm data fetch`` gets a dataset: ``arcgis``, ``download`` or ``manual``."""
    ds = DATASETS[name]
    if name in MANUAL:
        return "manual"
    return "arcgis" if ds.service == "arcgis" else "download"


def source_url(ds: Dataset, base_url: str | None = None) -> str:
    """The dataset URL, with scheme and host replaced by ``base_url``/``$COTERM_FETCH_BASE`` if set."""
    return _rebase(ds.url, base_url)




def fetch_folder(data_dir: str | os.PathLike | None = None) -> Path:
    """Where fetched files go: ``--data-dir``, else ``$COTERM_DATA``, else the user cache (created)."""
    if data_dir and not Path(data_dir).expanduser().exists():
        folder = Path(data_dir).expanduser()  # a new folder to fetch into
    else:
        folder = resolve_data_dir(data_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CotermError(f"{folder}: cannot create the data folder ({err.strerror}); set COTERM_CACHE "
                          f"or --data-dir to a writable folder") from None
    return folder


def read_manifest(folder: str | os.PathLike) -> dict[str, dict]:
    """The manifest entries of a data folder, by dataset name (empty if there is no manifest)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        entries = doc["datasets"]
        if not isinstance(entries, dict):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        raise CotermError(f"{path}: not a readable manifest; delete it and run `coterm data fetch` again") from None
    return entries


def dataset_status(name: str, folder: str | os.PathLike, manifest: dict[str, dict] | None = None) -> str:
    """``missing``, ``present`` (not from a fetch), ``fetched YYYY-MM-DD`` or ``changed since fetch``."""
    path = Path(folder) / DATASETS[name].filename
    if not path.is_file():
        return "missing"
    entry = (read_manifest(folder) if manifest is None else manifest).get(name)
    if not entry or entry.get("filename") != path.name:
        return "present"
    if entry.get("bytes") != path.stat().st_size:
        return "changed since fetch"
    return f"fetched {str(entry.get('fetched_at', ''))[:10]}"


def sha256_file(path: str | os.PathLike) -> str:
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_dataset(name: str, data_dir: str | os.PathLike | None = None, *, base_url: str | None = None,
                  progress: bool = True, retries: int = 3, timeout: float = 30, backoff: float = 0.5,
                  page_size: int = PAGE_SIZE) -> Path:
    """Download one catalogue dataset into the data folder atomically, record it, return its path.

    ``retries`` is how many times one failed request is tried again (so ``retries + 1`` tries
    at most), waiting ``backoff * 2**n`` seconds between tries.
    """
    if name not in DATASETS:
        raise CotermError(f"unknown dataset {name!r}; `coterm data list` shows the catalogue")
    ds = DATASETS[name]
    folder = fetch_folder(data_dir)
    target = folder / ds.filename
    if name in MANUAL:
        raise CotermError(f"{name} must be downloaded by hand: " + MANUAL[name].format(
            url=ds.url, fields=", ".join(ds.fields), path=target))
    url = source_url(ds, base_url)
    getter = _Getter(retries=retries, timeout=timeout, backoff=backoff)
    bar = _Progress(name, enabled=progress)
    try:
        work = Path(tempfile.mkdtemp(prefix=f".fetch-{name}.", suffix=".tmp", dir=folder))
    except OSError as err:
        raise CotermError(f"{folder}: cannot write there ({err.strerror}); choose a writable --data-dir") from None
    try:
        part = work / ds.filename
        if ds.service == "arcgis":
            rows = _fetch_arcgis(ds, url, part, getter, bar, page_size, base_url)
        else:
            rows = _fetch_file(ds, url, part, getter, bar)
        entry = {
            "filename": ds.filename, "url": url, "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "sha256": sha256_file(part), "bytes": part.stat().st_size, "rows": rows,
            "vintage": ds.vintage, "licence": ds.licence,
        }
        try:
            os.replace(part, target)
        except OSError as err:
            raise CotermError(f"{target}: cannot write ({err.strerror}); choose a writable --data-dir") from None
        _record(folder, name, entry)
    except OSError as err:  # disk full, permissions: network errors were already turned into CotermError
        raise CotermError(f"{folder}: cannot write {ds.filename} ({err.strerror or err}); free some space or "
                          f"choose another --data-dir") from None
    finally:
        bar.close()
        shutil.rmtree(work, ignore_errors=True)
    return target


def fetch_all(data_dir: str | os.PathLike | None = None, **options) -> dict[str, Path]:
    """Fetch every dataset that can be fetched (not the :data:`MANUAL` ones); stop at the first failure."""
    done: dict[str, Path] = {}
    names = [n for n in DATASETS if n not in MANUAL]
    for name in names:
        try:
            done[name] = fetch_dataset(name, data_dir, **options)
        except CotermError as err:
            note = f" ({len(done)} of {len(names)} datasets fetched before this; run the fetch again)" if done else ""
            raise CotermError(f"{name}: {err}{note}") from None
    return done


# --- HTTP -----------------------------------------------------------------------------------


# --- ArcGIS feature services ------------------------------------------------------------------


# --- plain files ------------------------------------------------------------------------------


# --- manifest and progress --------------------------------------------------------------------


def _record(folder: Path, name: str, entry: dict) -> None:
    """Add or replace one dataset's entry in the folder's manifest (rewritten atomically)."""
    entries = read_manifest(folder)
    entries[name] = entry
    doc = {"format": 1, "datasets": dict(sorted(entries.items()))}
    atomic_write(folder / MANIFEST, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")

