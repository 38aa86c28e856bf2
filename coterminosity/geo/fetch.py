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

import csv
import hashlib
import http.client
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from .. import __version__
from ..errors import CotermError
from .catalogue import DATASETS, POPULATION, Dataset, resolve_data_dir
from .io import atomic_write

MANIFEST = "manifest.json"
USER_AGENT = f"coterminosity/{__version__} (coterm data fetch)"
PAGE_SIZE = 2000  # upper bound; the layer's own maxRecordCount wins when smaller
OFFLINE_HINT = "or use --data-dir/COTERM_DATA with a folder holding the files"

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


class _Retry(Exception):
    """A failure worth trying again (network, server error, truncated or corrupt page)."""


def how_fetched(name: str) -> str:
    """How ``coterm data fetch`` gets a dataset: ``arcgis``, ``download`` or ``manual``."""
    ds = DATASETS[name]
    if name in MANUAL:
        return "manual"
    return "arcgis" if ds.service == "arcgis" else "download"


def source_url(ds: Dataset, base_url: str | None = None) -> str:
    """The dataset URL, with scheme and host replaced by ``base_url``/``$COTERM_FETCH_BASE`` if set."""
    return _rebase(ds.url, base_url)


def _rebase(url: str, base_url: str | None = None) -> str:
    """``url`` with scheme and host replaced by ``base_url``/``$COTERM_FETCH_BASE`` if set."""
    base = base_url or os.environ.get("COTERM_FETCH_BASE")
    if not base:
        return url
    src, new = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((new.scheme, new.netloc, new.path.rstrip("/") + src.path, src.query, ""))


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


class _Getter:
    """GET a URL with a timeout and a bounded number of retries; count the requests made."""

    def __init__(self, retries: int, timeout: float, backoff: float):
        self.retries, self.timeout, self.backoff = max(0, retries), timeout, backoff
        self.requests = 0

    def call(self, url: str, handle: Callable[[http.client.HTTPResponse], object]):
        """Open ``url`` and pass the response to ``handle``; retry on :class:`_Retry`-style failures."""
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            self.requests += 1
            try:
                request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return handle(response)
            except urllib.error.HTTPError as err:
                err.close()
                if err.code < 500 and err.code not in (408, 429):
                    raise CotermError(f"HTTP {err.code} {err.reason} from {_short(url)}; the source may have moved: "
                                      f"check the catalogue URL, {OFFLINE_HINT}") from None
                last = f"HTTP {err.code} {err.reason} from {_host(url)}"
            except urllib.error.URLError as err:
                last = f"could not reach {_host(url)} ({_reason(err.reason)})"
            except TimeoutError:
                last = f"{_host(url)} did not answer within {self.timeout:g} s"
            except http.client.IncompleteRead as err:
                last = f"truncated response from {_host(url)} (got {len(err.partial)} bytes, {err.expected} more expected)"
            except (http.client.HTTPException, ConnectionError) as err:
                last = f"connection to {_host(url)} failed ({type(err).__name__})"
            except _Retry as err:
                last = str(err)
        tries = self.retries + 1
        raise CotermError(f"{last}, after {tries} {'try' if tries == 1 else 'tries'}; check the connection and "
                          f"run the fetch again, {OFFLINE_HINT}")

    def json(self, url: str) -> dict:
        """GET ``url`` and parse a JSON object, rejecting truncated, invalid and ArcGIS error bodies."""

        def parse(response: http.client.HTTPResponse) -> dict:
            body = _read_all(response, url)
            try:
                doc = json.loads(body)
            except ValueError:
                raise _Retry(f"invalid JSON from {_short(url)}") from None
            if not isinstance(doc, dict):
                raise _Retry(f"unexpected JSON from {_short(url)} (not an object)")
            if "error" in doc:
                err = doc["error"] if isinstance(doc["error"], dict) else {"message": doc["error"]}
                raise _Retry(f"service error {err.get('code', '')} from {_short(url)}: {err.get('message', '')}".strip())
            return doc

        return self.call(url, parse)


def _read_all(response: http.client.HTTPResponse, url: str) -> bytes:
    """The whole body, or :class:`_Retry` if it is shorter than its ``Content-Length``."""
    body = response.read()
    expected = response.headers.get("Content-Length")
    if expected is not None and expected.isdigit() and int(expected) != len(body):
        raise _Retry(f"truncated response from {_short(url)} ({len(body)} of {expected} bytes)")
    return body


def _host(url: str) -> str:
    """The host (and port) of a URL, for messages."""
    return urllib.parse.urlsplit(url).netloc or url


def _short(url: str) -> str:
    """A URL without its query string, for messages."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _reason(reason: object) -> str:
    """A short human reason for a connection failure."""
    if isinstance(reason, socket.gaierror):
        return "name not resolved: no network?"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    return getattr(reason, "strerror", None) or str(reason)


# --- ArcGIS feature services ------------------------------------------------------------------


def _fetch_arcgis(ds: Dataset, url: str, part: Path, getter: _Getter, bar: _Progress, page_size: int,
                  base_url: str | None = None) -> int:
    """Page through an ArcGIS layer (its ``where`` rows), add any joined columns, write ``part``; return rows."""
    polygons = ds.kind == "polygons"
    rows = _arcgis_rows(ds.name, url, ds.layer_fields, ds.where, polygons, getter, bar, page_size)
    if ds.join:
        rows = _joined(ds, rows, getter, bar, page_size, base_url)
    if polygons:
        _write_gpkg(ds, rows, part)
    else:
        _write_csv(ds, rows, part)
    return len(rows)


def _joined(ds: Dataset, rows: list[dict], getter: _Getter, bar: _Progress, page_size: int,
            base_url: str | None) -> list[dict]:
    """``rows`` with the join's columns from its lookup table; every row must find exactly one value."""
    join = ds.join
    url = _rebase(join.url, base_url)
    where = ds.where if join.key in ds.where else "1=1"
    table = _arcgis_rows(ds.name, url, (join.key, *join.fields), where, False, getter, bar, page_size)
    values: dict = {}
    for row in table:
        got = tuple(row.get(f) for f in join.fields)
        if values.setdefault(row.get(join.key), got) != got:
            raise CotermError(f"{_short(url)} gives {row.get(join.key)} two values of {', '.join(join.fields)}; "
                              f"the lookup for {ds.name} is not one row per {join.key}")
    lost = [r.get(join.key) for r in rows if r.get(join.key) not in values]
    if lost:
        raise CotermError(f"{_short(url)} has no {', '.join(join.fields)} for {len(lost):,} of the {len(rows):,} "
                          f"features of {ds.name} (e.g. {lost[0]}); the two services are of different vintages")
    for row in rows:
        row.update(zip(join.fields, values[row[join.key]]))
    return rows


def _arcgis_rows(name: str, url: str, fields: tuple[str, ...], where: str, polygons: bool, getter: _Getter,
                 bar: _Progress, page_size: int) -> list[dict]:
    """Every feature of an ArcGIS layer matching ``where``, in object-id order, checked page by page:
    the catalogue ``fields`` (and a shapely ``geometry`` for polygons)."""
    info = getter.json(f"{url}?f=json")
    oid = info.get("objectIdField") or next(
        (f["name"] for f in info.get("fields", []) if f.get("type") == "esriFieldTypeOID"), None)
    available = {f.get("name", "").upper(): f.get("name") for f in info.get("fields", []) if isinstance(f, dict)}
    missing = [f for f in fields if f.upper() not in available]
    if not oid or missing:
        what = f"no fields {', '.join(missing)}" if missing else "no object id field"
        raise CotermError(f"the layer at {url} has {what}; the catalogue entry for {name} is out of date")
    names = {available[f.upper()]: f for f in fields}  # service name -> catalogue name
    size = max(1, min(page_size, int(info.get("maxRecordCount") or page_size)))

    count = getter.json(f"{url}/query?" + urllib.parse.urlencode({"where": where, "returnCountOnly": "true", "f": "json"}))
    total = count.get("count")
    if not isinstance(total, int) or total < 0:
        raise CotermError(f"no feature count from {url}; the service answered oddly, try again later")
    bar.start(total, "features")

    query = {"where": where, "outFields": ",".join([*names, oid]), "orderByFields": f"{oid} ASC",
             "resultRecordCount": str(size), "f": "geojson" if polygons else "json"}
    if polygons:
        query["outSR"] = "4326"
    rows: list = []
    seen: set = set()
    offset = 0
    while True:
        page_url = f"{url}/query?" + urllib.parse.urlencode({**query, "resultOffset": str(offset)})
        page = getter.json(page_url)
        features = page.get("features")
        if not isinstance(features, list):
            raise CotermError(f"page at offset {offset} from {url} has no features list; the service answered "
                              f"oddly, try again later")
        more = bool(page.get("exceededTransferLimit") or (page.get("properties") or {}).get("exceededTransferLimit"))
        if len(features) > size or (more and not features):
            raise CotermError(f"page at offset {offset} from {url} has {len(features)} features (asked for {size}"
                              f"{', and more were promised' if more else ''}); refusing an inconsistent page")
        for feature in features:
            attrs = (feature.get("properties") if polygons else feature.get("attributes")) or {}
            key = feature.get("id", attrs.get(oid)) if polygons else attrs.get(oid)
            if key is None or key in seen:
                raise CotermError(f"feature {'without an id' if key is None else f'id {key} repeated'} at offset "
                                  f"{offset} from {url}; refusing a corrupt download, try again later")
            seen.add(key)
            record = {names[k]: v for k, v in attrs.items() if k in names}
            if polygons:  # to shapely now: far smaller than nested lists for a whole country
                record["geometry"] = _shape(feature.get("geometry"), name, key)
            rows.append(record)
        offset += len(features)
        bar.update(offset)
        if not more:
            break
    if len(rows) != total:
        raise CotermError(f"{url} reported {total} features but {len(rows)} arrived; the download is incomplete, "
                          f"run the fetch again")
    return rows


def _write_csv(ds: Dataset, rows: list[dict], part: Path) -> None:
    """Write lookup rows as CSV: the catalogue's fields in order, then ``FID`` (the row number)."""
    with open(part, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([*ds.fields, "FID"])
        for number, row in enumerate(rows, start=1):
            writer.writerow([*("" if row.get(f) is None else row[f] for f in ds.fields), number])


def _shape(geometry: dict | None, name: str, key: object):
    """A shapely geometry from a GeoJSON geometry (``None`` stays ``None``), or a one-line error."""
    from shapely.errors import ShapelyError
    from shapely.geometry import shape

    if geometry is None:
        return None
    try:
        return shape(geometry)
    except (ShapelyError, TypeError, ValueError, KeyError, AttributeError, IndexError) as err:
        raise CotermError(f"{name}: the geometry of feature {key} could not be read ({err}); "
                          f"refusing a corrupt download, try again later") from None


def _write_gpkg(ds: Dataset, rows: list[dict], part: Path) -> None:
    """Write polygon features as a one-layer GeoPackage (layer named after the dataset, EPSG:4326)."""
    import geopandas as gpd

    frame = gpd.GeoDataFrame({f: [r.get(f) for r in rows] for f in ds.fields},
                             geometry=[r["geometry"] for r in rows], crs="EPSG:4326")
    frame.to_file(part, driver="GPKG", layer=ds.name, engine="pyogrio", promote_to_multi=True)


# --- plain files ------------------------------------------------------------------------------


def _fetch_file(ds: Dataset, url: str, part: Path, getter: _Getter, bar: _Progress) -> int:
    """Download a whole file to ``part`` (size checked), check it is what the catalogue says, return rows."""

    def save(response: http.client.HTTPResponse) -> int:
        expected = response.headers.get("Content-Length")
        total = int(expected) if expected and expected.isdigit() else None
        bar.start(total, "bytes")
        got = 0
        with open(part, "wb") as fh:
            for block in iter(lambda: response.read(1 << 16), b""):
                fh.write(block)
                got += len(block)
                bar.update(got)
        if total is not None and got != total:
            raise _Retry(f"truncated download from {_short(url)} ({got} of {total} bytes)")
        return got

    getter.call(url, save)
    if ds.filename.endswith((".json", ".geojson", ".topojson")):
        return _check_json_layer(ds, part, url)
    return 0


def _check_json_layer(ds: Dataset, part: Path, url: str) -> int:
    """Check a downloaded GeoJSON/TopoJSON file parses and carries the catalogue's fields; count features."""
    try:
        doc = json.loads(part.read_bytes())
        if doc.get("type") == "Topology":
            features = next(iter(doc["objects"].values()))["geometries"]
        else:
            features = doc["features"]
        props = (features[0].get("properties") or {}) if features else {}
    except (ValueError, KeyError, TypeError, AttributeError, StopIteration):
        raise CotermError(f"{_short(url)} is not the GeoJSON/TopoJSON layer expected for {ds.name}; the source may "
                          f"have changed, {OFFLINE_HINT}") from None
    missing = [f for f in ds.fields if f not in props]
    if not features or missing:
        raise CotermError(f"{_short(url)} has {'no features' if not features else 'no fields ' + ', '.join(missing)}"
                          f"; the source may have changed, {OFFLINE_HINT}")
    return len(features)


# --- manifest and progress --------------------------------------------------------------------


def _record(folder: Path, name: str, entry: dict) -> None:
    """Add or replace one dataset's entry in the folder's manifest (rewritten atomically)."""
    entries = read_manifest(folder)
    entries[name] = entry
    doc = {"format": 1, "datasets": dict(sorted(entries.items()))}
    atomic_write(folder / MANIFEST, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


class _Progress:
    """A one-line text progress bar on stderr, redrawn with ``\\r``; silent unless stderr is a terminal."""

    def __init__(self, label: str, enabled: bool = True, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.label = label
        self.enabled = enabled and getattr(self.stream, "isatty", lambda: False)()
        self.total: int | None = None
        self.unit = ""
        self.drawn = False

    def start(self, total: int | None, unit: str) -> None:
        """Set the expected total (``None`` when unknown) and the unit shown."""
        self.total, self.unit = total, unit
        self.update(0)

    def update(self, done: int) -> None:
        """Redraw the bar for ``done`` units."""
        if not self.enabled:
            return
        if self.total:
            filled = int(30 * min(done, self.total) / self.total)
            text = f"{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{self.total:,} {self.unit}"
        else:
            text = f"{self.label} {done:,} {self.unit}"
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        """End the bar's line, if one was drawn."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
