"""HTTP for ``coterm data fetch``: bounded retries, ArcGIS REST paging with checked pages, and the
writers that turn pages into the catalogue's CSV and GeoPackage files.

Uses only the standard library for HTTP (``urllib``).
"""

from __future__ import annotations

import csv
import http.client
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from .. import __version__
from ..errors import CotermError
from .datasets import Dataset

USER_AGENT = f"coterminosity/{__version__} (coterm data fetch)"
PAGE_SIZE = 2000  # upper bound; the layer's own maxRecordCount wins when smaller
OFFLINE_HINT = "or use --data-dir/COTERM_DATA with a folder holding the files"


class _Retry(Exception):
    """A failure worth trying again (network, server error, truncated or corrupt page)."""


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


def _rebase(url: str, base_url: str | None = None) -> str:
    """``url`` with scheme and host replaced by ``base_url``/``$COTERM_FETCH_BASE`` if set."""
    base = base_url or os.environ.get("COTERM_FETCH_BASE")
    if not base:
        return url
    src, new = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((new.scheme, new.netloc, new.path.rstrip("/") + src.path, src.query, ""))
