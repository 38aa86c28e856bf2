"""`coterm data fetch` against a local ArcGIS-style server on 127.0.0.1: paging, retries, corruption, atomicity."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from coterminosity.errors import CotermError
from coterminosity.geo import arcgis, fetch
from coterminosity.geo.catalogue import DATASETS, POPULATION

MAX_REQUESTS = 300  # the server refuses (and the test fails) beyond this: no runaway loops
FAST = {"retries": 2, "backoff": 0, "timeout": 5, "progress": False}


# --- a tiny fake of an ArcGIS feature service -------------------------------------------------


@dataclass
class Layer:
    """One fake layer: field names, rows (attributes + optional GeoJSON geometry), faults by offset."""

    fields: list[str]
    rows: list[dict]
    polygons: bool = False
    oid: str = "FID"
    max_records: int = 3
    count: int | None = None  # what returnCountOnly says (default: the true count)
    # offset -> list of faults, one used per request ("500", "truncate", ...); "always:X" never runs out
    faults: dict[int, list[str]] = field(default_factory=dict)

    def fault(self, offset: int) -> str | None:
        todo = self.faults.get(offset)
        if not todo:
            return None
        if todo[0].startswith("always:"):
            return todo[0].split(":", 1)[1]
        return todo.pop(0)


class Server:
    """A threaded HTTP server on 127.0.0.1 serving fake layers and plain files; records each request."""

    def __init__(self):
        self.layers: dict[str, Layer] = {}
        self.files: dict[str, tuple[bytes, str | None]] = {}  # path -> (body, fault)
        self.requests: list[tuple[str, dict]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                parts = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parts.query))
                owner.requests.append((parts.path, query))
                if len(owner.requests) > MAX_REQUESTS:
                    return self.send(503, b"too many requests in one test")
                owner.answer(self, parts.path, query)

            def send(self, status: int, body: bytes, *, length: int | None = None, ctype="application/json"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if length != -1:
                    self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def serve(self, name: str, layer: Layer | None = None, *, body: bytes | None = None, fault: str | None = None):
        """Serve a catalogue dataset at its catalogue path (a fake layer, or a plain file body)."""
        path = urllib.parse.urlsplit(DATASETS[name].url).path
        if layer is not None:
            self.layers[path] = layer
        else:
            self.files[path] = (body, fault)
        return layer

    def serve_join(self, name: str, layer: Layer) -> Layer:
        """Serve the lookup table a catalogue dataset's join reads."""
        self.layers[urllib.parse.urlsplit(DATASETS[name].join.url).path] = layer
        return layer

    def page_requests(self, offset: int) -> int:
        return sum(1 for p, q in self.requests if p.endswith("/query") and q.get("resultOffset") == str(offset))

    def answer(self, h, path: str, query: dict) -> None:
        if path in self.files:
            body, fault = self.files[path]
            if fault == "truncate":
                return h.send(200, body[: len(body) // 2], length=len(body))
            return h.send(200, body)
        layer_path = path[: -len("/query")] if path.endswith("/query") else path
        layer = self.layers.get(layer_path)
        if layer is None:
            return h.send(404, b'{"error": {"code": 404, "message": "not found"}}')
        if not path.endswith("/query"):
            info = {"objectIdField": layer.oid, "maxRecordCount": layer.max_records,
                    "fields": [{"name": layer.oid, "type": "esriFieldTypeOID"}]
                    + [{"name": f, "type": "esriFieldTypeString"} for f in layer.fields]}
            return h.send(200, json.dumps(info).encode())
        matching = [r for r in layer.rows if where_matches(query["where"], r)]
        if query.get("returnCountOnly") == "true":
            return h.send(200, json.dumps({"count": len(matching) if layer.count is None else layer.count}).encode())
        assert query["orderByFields"] == f"{layer.oid} ASC"
        assert query["f"] == ("geojson" if layer.polygons else "json")
        offset = int(query.get("resultOffset", 0))
        size = min(int(query.get("resultRecordCount", layer.max_records)), layer.max_records)
        rows = sorted(matching, key=lambda r: r[layer.oid])
        chosen = rows[offset: offset + size]
        more = offset + size < len(rows)
        fault = layer.fault(offset)
        if fault == "dup":  # repeat the previous page's features
            chosen = rows[max(0, offset - size): offset]
        if fault == "too_many":
            chosen = rows[offset: offset + size + 1]
        if fault == "empty_more":
            chosen, more = [], True
        wanted = query["outFields"].split(",")
        if layer.polygons:
            doc = {"type": "FeatureCollection", "features": [
                {"type": "Feature", "id": r[layer.oid], "geometry": r["geometry"],
                 "properties": {k: r[k] for k in wanted}} for r in chosen]}
            if more:
                doc["properties"] = {"exceededTransferLimit": True}
        else:
            doc = {"objectIdFieldName": layer.oid, "features": [{"attributes": {k: r[k] for k in wanted}} for r in chosen]}
            if more:
                doc["exceededTransferLimit"] = True
        body = json.dumps(doc).encode()
        if fault == "500":
            return h.send(500, b"internal error")
        if fault == "truncate":
            return h.send(200, body[: len(body) // 2], length=len(body))
        if fault == "truncate_nolength":
            return h.send(200, body[: len(body) // 2], length=-1)
        if fault == "invalid_json":
            return h.send(200, b"<html>Service Unavailable</html>")
        if fault == "error_object":
            return h.send(200, b'{"error": {"code": 500, "message": "Unable to complete operation.", "details": []}}')
        if fault == "no_features":
            return h.send(200, b'{"objectIdFieldName": "FID", "fields": []}')
        return h.send(200, body)


def where_matches(where: str, row: dict) -> bool:
    """The two ArcGIS ``where`` forms the catalogue uses: ``1=1`` and ``FIELD LIKE 'PREFIX%'``."""
    if where == "1=1":
        return True
    field, like, pattern = where.split(" ", 2)
    assert like == "LIKE" and pattern.startswith("'") and pattern.endswith("%'"), where
    return str(row[field]).startswith(pattern[1:-2])


@pytest.fixture
def server(monkeypatch):
    for var in ("COTERM_DATA", "COTERM_FETCH_BASE", "COTERM_CACHE"):
        monkeypatch.delenv(var, raising=False)
    srv = Server()
    yield srv
    srv.stop()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


STP_FIELDS = list(DATASETS["lookup_ccg17_stp17"].fields)


def stp_rows(n: int = 7) -> list[dict]:
    """n CCG → STP rows with distinct values, object ids 1..n (stored out of order)."""
    rows = [{"FID": i, "CCG17CD": f"E380000{i:02d}", "CCG17CDH": f"0{i}X", "CCG17NM": f"NHS Place {i}, North CCG",
             "STP17CD": f"E5400000{i % 3}", "STP17NM": f"Footprint {i % 3}"} for i in range(1, n + 1)]
    return rows[::-1]


def square(i: int) -> dict:
    x = -2.0 + i * 0.01
    return {"type": "Polygon", "coordinates": [[[x, 52.0], [x + 0.01, 52.0], [x + 0.01, 52.01], [x, 52.01], [x, 52.0]]]}


def leftovers(folder: Path) -> list[str]:
    """Anything in the folder other than finished files and the manifest (temp files, temp folders)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp")


def one_line(err: Exception) -> str:
    text = str(err)
    assert text and "\n" not in text and "Traceback" not in text
    return text


# --- paging -----------------------------------------------------------------------------------


def test_lookup_arrives_complete_in_order_over_several_pages(server, tmp_path):
    server.serve("lookup_ccg17_stp17", Layer(STP_FIELDS, stp_rows(7)))
    path = fetch.fetch_dataset("lookup_ccg17_stp17", tmp_path, base_url=server.base, **FAST)

    assert path == tmp_path / "lookup_ccg17_stp17.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        got = list(csv.DictReader(fh))
    assert list(got[0]) == STP_FIELDS + ["FID"]
    expected = sorted(stp_rows(7), key=lambda r: r["FID"])
    assert [{k: r[k] for k in STP_FIELDS} for r in got] == [{k: r[k] for k in STP_FIELDS} for r in expected]
    assert [r["FID"] for r in got] == [str(i) for i in range(1, 8)]
    # metadata + count + pages at offsets 0, 3, 6 (3 + 3 + 1 features): nothing more
    assert [server.page_requests(o) for o in (0, 3, 6)] == [1, 1, 1]
    assert len(server.requests) == 5
    assert leftovers(tmp_path) == []


def test_manifest_records_source_and_matching_sha256(server, tmp_path):
    server.serve("lookup_ccg17_stp17", Layer(STP_FIELDS, stp_rows(7)))
    path = fetch.fetch_dataset("lookup_ccg17_stp17", tmp_path, base_url=server.base, **FAST)

    entry = fetch.read_manifest(tmp_path)["lookup_ccg17_stp17"]
    data = path.read_bytes()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["bytes"] == len(data)
    assert entry["rows"] == 7
    assert entry["filename"] == "lookup_ccg17_stp17.csv"
    assert entry["url"].startswith(server.base) and entry["url"].endswith("/CCG17_STP17_EN_LU/FeatureServer/0")
    assert entry["fetched_at"].endswith("+00:00")
    assert json.loads((tmp_path / "manifest.json").read_text())["format"] == 1


def lsoa_rows(n: int = 7) -> list[dict]:
    """n English LSOA features and one Welsh one (object ids 1..n+1), as the ONS boundary layer has them."""
    rows = [{"FID": i, "LSOA11CD": f"E0100000{i}", "LSOA11NM": f"Somewhere 00{i}A", "geometry": square(i)}
            for i in range(1, n + 1)]
    return rows + [{"FID": n + 1, "LSOA11CD": "W01000001", "LSOA11NM": "Anglesey 001A", "geometry": square(n + 1)}]


def district_rows(codes: list[str]) -> list[dict]:
    """The output-area lookup: two output areas per LSOA, both naming its district."""
    return [{"FID": 2 * i + k, "LSOA11CD": c, "LAD11CD": "W06000001" if c.startswith("W") else f"E0600000{i % 2}"}
            for i, c in enumerate(codes) for k in (1, 2)]


def test_polygons_written_as_geopackage_with_catalogue_columns(server, tmp_path):
    import geopandas as gpd

    fields = list(DATASETS["lsoa11"].fields)
    rows = lsoa_rows(7)
    server.serve("lsoa11", Layer(["LSOA11CD", "LSOA11NM"], rows, polygons=True))
    lookup = server.serve_join("lsoa11", Layer(["LSOA11CD", "LAD11CD"], district_rows([r["LSOA11CD"] for r in rows])))
    path = fetch.fetch_dataset("lsoa11", tmp_path, base_url=server.base, **FAST)

    frame = gpd.read_file(path, layer="lsoa11")
    assert list(frame.columns) == fields + ["geometry"]
    assert frame.crs.to_epsg() == 4326
    assert list(frame["LSOA11CD"]) == [f"E0100000{i}" for i in range(1, 8)]  # England only: no W01
    assert list(frame["LAD11CD"]) == [f"E0600000{i % 2}" for i in range(7)]  # from the lookup, not the layer
    assert set(frame.geom_type) == {"MultiPolygon"}
    assert [round(g.bounds[0], 6) for g in frame.geometry] == [round(-2.0 + i * 0.01, 6) for i in range(1, 8)]
    assert fetch.read_manifest(tmp_path)["lsoa11"]["rows"] == 7
    assert leftovers(tmp_path) == []
    # both services were asked for English LSOAs only, and paged (3 per page) to the end
    queries = [q for p, q in server.requests if p.endswith("/query") and "returnCountOnly" not in q]
    assert {q["where"] for q in queries} == {"LSOA11CD LIKE 'E01%'"}
    assert len(lookup.rows) == 16 and sum("OA11_LSOA11" in p for p, q in server.requests if "resultOffset" in q) == 5


def test_join_without_an_lsoa_is_one_line_and_leaves_nothing(server, tmp_path):
    rows = lsoa_rows(5)
    server.serve("lsoa11", Layer(["LSOA11CD", "LSOA11NM"], rows, polygons=True))
    server.serve_join("lsoa11", Layer(["LSOA11CD", "LAD11CD"], district_rows([r["LSOA11CD"] for r in rows[1:]])))
    with pytest.raises(CotermError, match="no LAD11CD for 1 of the 5 features of lsoa11 \\(e.g. E01000001\\)") as caught:
        fetch.fetch_dataset("lsoa11", tmp_path, base_url=server.base, **FAST)
    one_line(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_join_with_two_districts_for_one_lsoa_is_refused(server, tmp_path):
    rows = lsoa_rows(3)
    server.serve("lsoa11", Layer(["LSOA11CD", "LSOA11NM"], rows, polygons=True))
    lookup = district_rows([r["LSOA11CD"] for r in rows])
    lookup[1]["LAD11CD"] = "E06000099"
    server.serve_join("lsoa11", Layer(["LSOA11CD", "LAD11CD"], lookup))
    with pytest.raises(CotermError, match="E01000001 two values of LAD11CD") as caught:
        fetch.fetch_dataset("lsoa11", tmp_path, base_url=server.base, **FAST)
    one_line(caught.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [{"type": "Blob"}, {"type": "Polygon", "coordinates": "x"}])
def test_corrupt_geometry_rejected(server, tmp_path, bad):
    rows = [{"FID": i, "LSOA11CD": f"E0100000{i}", "LSOA11NM": "x",
             "geometry": bad if i == 5 else square(i)} for i in range(1, 8)]
    server.serve("lsoa11", Layer(["LSOA11CD", "LSOA11NM"], rows, polygons=True))
    with pytest.raises(CotermError, match="geometry of feature 5") as caught:
        fetch.fetch_dataset("lsoa11", tmp_path, base_url=server.base, **FAST)
    one_line(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_field_names_matched_without_regard_to_case(server, tmp_path):
    lower = [{k.lower() if k != "FID" else k: v for k, v in r.items()} for r in stp_rows(4)]
    server.serve("lookup_ccg17_stp17", Layer([f.lower() for f in STP_FIELDS], lower))
    path = fetch.fetch_dataset("lookup_ccg17_stp17", tmp_path, base_url=server.base, **FAST)
    header = path.read_text().splitlines()[0]
    assert header == ",".join(STP_FIELDS + ["FID"])


# --- retries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["500", "truncate", "invalid_json", "error_object"])
def test_transient_fault_is_retried_and_succeeds(server, tmp_path, fault):
    server.serve("lookup_ccg17_stp17", Layer(STP_FIELDS, stp_rows(7), faults={3: [fault]}))
    path = fetch.fetch_dataset("lookup_ccg17_stp17", tmp_path, base_url=server.base, **FAST)
    assert server.page_requests(3) == 2
    assert len(path.read_text().splitlines()) == 8


@pytest.mark.parametrize("fault", ["500", "truncate", "truncate_nolength", "invalid_json", "error_object"])
def test_persistent_fault_fails_after_bounded_tries_leaving_nothing(server, tmp_path, fault):
    server.serve("lookup_ccg17_stp17", Layer(STP_FIELDS, stp_rows(7), faults={3: [f"always:{fault}"]}))
    with pytest.raises(CotermError) as caught:
        fetch.fetch_dataset("lookup_ccg17_stp17", tmp_path, base_url=server.base, retries=2, backoff=0,
                            timeout=5, progress=False)
    assert server.page_requests(3) == 3  # one try + exactly two retries
    assert len(server.requests) == 2 + 1 + 3  # metadata, count, page 0, three tries of page 3
    assert "after 3 tries" in one_line(caught.value)
    assert list(tmp_path.iterdir()) == []  # no file, no temp file, no manifest


def test_retries_zero_means_one_try(server, tmp_path):
    server.serve("lookup_ccg17_stp17", Layer(STP_FIELDS, stp_rows(7), faults={0: ["always:500"]}))
    with pytest.raises(CotermError, match="HTTP 500"):
        fetch.fetch_dataset("lookup_ccg17_stp17", tmp_path, base_url=server.base, retries=0, backoff=0, progress=False)
    assert server.page_requests(0) == 1


def test_not_found_is_not_retried(server, tmp_path):
    with pytest.raises(CotermError, match="HTTP 404") as caught:
        fetch.fetch_dataset("lookup_ccg17_stp17", tmp_path, base_url=server.base, **FAST)
    one_line(caught.value)
    assert len(server.requests) == 1
    assert list(tmp_path.iterdir()) == []


# --- corrupt pages are rejected ---------------------------------------------------------------


@pytest.mark.parametrize("fault, words", [
    ("no_features", "no features list"),
    ("too_many", "inconsistent page"),
    ("empty_more", "inconsistent page"),
    ("dup", "repeated"),
])
def test_corrupt_page_rejected(server, tmp_path, fault, words):
    server.serve("lookup_ccg17_stp17", Layer(STP_FIELDS, stp_rows(7), faults={3: [fault]}))
    with pytest.raises(CotermError, match=words) as caught:
        fetch.fetch_dataset("lookup_ccg17_stp17", tmp_path, base_url=server.base, **FAST)
    one_line(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_total_short_of_reported_count_rejected(server, tmp_path):
    server.serve("lookup_ccg17_stp17", Layer(STP_FIELDS, stp_rows(7), count=8))
    with pytest.raises(CotermError, match="reported 8 features but 7 arrived"):
        fetch.fetch_dataset("lookup_ccg17_stp17", tmp_path, base_url=server.base, **FAST)
    assert list(tmp_path.iterdir()) == []


def test_missing_field_in_layer_is_reported(server, tmp_path):
    server.serve("lookup_ccg17_stp17", Layer(STP_FIELDS[:-1], stp_rows(3)))
    with pytest.raises(CotermError, match="no fields STP17NM; the catalogue entry"):
        fetch.fetch_dataset("lookup_ccg17_stp17", tmp_path, base_url=server.base, **FAST)


# --- the cache is never left half-written -----------------------------------------------------


def test_failed_refetch_leaves_good_cache_untouched(server, tmp_path):
    layer = server.serve("lookup_ccg17_stp17", Layer(STP_FIELDS, stp_rows(7)))
    path = fetch.fetch_dataset("lookup_ccg17_stp17", tmp_path, base_url=server.base, **FAST)
    before, manifest_before = path.read_bytes(), (tmp_path / "manifest.json").read_bytes()

    layer.rows = stp_rows(7)[:-1] + [{**stp_rows(7)[-1], "CCG17NM": "changed"}]
    layer.faults = {6: ["always:truncate"]}
    with pytest.raises(CotermError):
        fetch.fetch_dataset("lookup_ccg17_stp17", tmp_path, base_url=server.base, **FAST)
    assert path.read_bytes() == before
    assert (tmp_path / "manifest.json").read_bytes() == manifest_before
    assert leftovers(tmp_path) == []


def test_interrupted_fetch_leaves_nothing(server, tmp_path, monkeypatch):
    server.serve("lookup_ccg17_stp17", Layer(STP_FIELDS, stp_rows(7)))

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(arcgis, "_write_csv", interrupt)
    with pytest.raises(KeyboardInterrupt):
        fetch.fetch_dataset("lookup_ccg17_stp17", tmp_path, base_url=server.base, **FAST)
    assert list(tmp_path.iterdir()) == []


def test_write_failure_is_one_line(server, tmp_path, monkeypatch):
    server.serve("lookup_ccg17_stp17", Layer(STP_FIELDS, stp_rows(7)))

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(arcgis, "_write_csv", disk_full)
    with pytest.raises(CotermError, match="No space left on device") as caught:
        fetch.fetch_dataset("lookup_ccg17_stp17", tmp_path, base_url=server.base, **FAST)
    one_line(caught.value)
    assert list(tmp_path.iterdir()) == []


# --- plain files, manual datasets, no network -------------------------------------------------


TOPO = {"type": "Topology", "arcs": [], "objects": {"lad": {"type": "GeometryCollection", "geometries": [
    {"type": "Polygon", "arcs": [], "properties": {"LAD13CD": f"E0600000{i}", "LAD13CDO": "00EB",
                                                   "LAD13NM": f"District {i}", "LAD13NMW": None}}
    for i in range(1, 4)]}}}


def test_plain_file_download(server, tmp_path):
    body = json.dumps(TOPO).encode()
    server.serve("lad13", body=body)
    path = fetch.fetch_dataset("lad13", tmp_path, base_url=server.base, **FAST)
    assert path.read_bytes() == body
    entry = fetch.read_manifest(tmp_path)["lad13"]
    assert entry["rows"] == 3 and entry["sha256"] == hashlib.sha256(body).hexdigest()


def test_plain_file_truncated_is_rejected(server, tmp_path):
    server.serve("lad13", body=json.dumps(TOPO).encode(), fault="truncate")
    with pytest.raises(CotermError, match="truncated"):
        fetch.fetch_dataset("lad13", tmp_path, base_url=server.base, **FAST)
    assert len(server.requests) == 3
    assert list(tmp_path.iterdir()) == []


def test_plain_file_of_wrong_shape_is_rejected(server, tmp_path):
    server.serve("lad13", body=b'{"type": "FeatureCollection", "features": [{"properties": {"x": 1}}]}')
    with pytest.raises(CotermError, match="no fields LAD13CD"):
        fetch.fetch_dataset("lad13", tmp_path, base_url=server.base, **FAST)
    assert list(tmp_path.iterdir()) == []


def test_population_is_a_manual_download(server, tmp_path):
    with pytest.raises(CotermError, match="downloaded by hand") as caught:
        fetch.fetch_dataset(POPULATION, tmp_path, base_url=server.base, **FAST)
    assert DATASETS[POPULATION].url in one_line(caught.value)
    assert server.requests == []
    assert fetch.how_fetched(POPULATION) == "manual"


def test_unreachable_host_one_line(tmp_path, closed_port, monkeypatch):
    monkeypatch.delenv("COTERM_FETCH_BASE", raising=False)
    with pytest.raises(CotermError) as caught:
        fetch.fetch_dataset("lsoa11", tmp_path, base_url=f"http://127.0.0.1:{closed_port}", **FAST)
    text = one_line(caught.value)
    assert f"could not reach 127.0.0.1:{closed_port}" in text and "COTERM_DATA" in text
    assert list(tmp_path.iterdir()) == []


def test_unknown_dataset(tmp_path):
    with pytest.raises(CotermError, match="unknown dataset"):
        fetch.fetch_dataset("nope", tmp_path)


# --- fetch all, environment, progress ---------------------------------------------------------


def serve_everything(server: Server) -> None:
    """Every fetchable dataset, five English rows each; a lookup a join reads carries the join's columns too."""
    fields: dict[str, dict[str, None]] = {}
    for name, ds in DATASETS.items():
        if fetch.how_fetched(name) == "arcgis":
            fields.setdefault(urllib.parse.urlsplit(ds.url).path, {}).update(dict.fromkeys(ds.layer_fields))
            if ds.join:
                path = urllib.parse.urlsplit(ds.join.url).path
                fields.setdefault(path, {}).update(dict.fromkeys((ds.join.key, *ds.join.fields)))
        elif fetch.how_fetched(name) == "download":
            server.serve(name, body=json.dumps(TOPO).encode())
    polygons = {urllib.parse.urlsplit(ds.url).path for ds in DATASETS.values() if ds.kind == "polygons"}
    for path, cols in fields.items():
        rows = [{"FID": i, **{f: f"E01-{f}-{i}" for f in cols}} for i in range(1, 6)]
        if path in polygons:
            rows = [{**r, "geometry": square(r["FID"])} for r in rows]
        server.layers[path] = Layer(list(cols), rows, polygons=path in polygons, max_records=2)


def test_fetch_all_uses_env_base_and_skips_manual(server, tmp_path, monkeypatch):
    serve_everything(server)
    monkeypatch.setenv("COTERM_FETCH_BASE", server.base)
    monkeypatch.setenv("COTERM_DATA", str(tmp_path))
    done = fetch.fetch_all(**FAST)
    assert set(done) == set(DATASETS) - set(fetch.MANUAL)
    manifest = fetch.read_manifest(tmp_path)
    assert set(manifest) == set(done)
    for name, path in done.items():
        assert path.is_file() and manifest[name]["sha256"] == fetch.sha256_file(path)
    assert not (tmp_path / DATASETS[POPULATION].filename).exists()
    assert leftovers(tmp_path) == []


def test_fetch_all_stops_at_first_failure_and_names_it(tmp_path, closed_port):
    with pytest.raises(CotermError) as caught:
        fetch.fetch_all(tmp_path, base_url=f"http://127.0.0.1:{closed_port}", **FAST)
    assert one_line(caught.value).startswith(f"{next(iter(DATASETS))}: could not reach")


def test_default_folder_is_created_in_the_cache(server, tmp_path, monkeypatch):
    server.serve("lookup_ccg17_stp17", Layer(STP_FIELDS, stp_rows(2)))
    monkeypatch.setenv("COTERM_CACHE", str(tmp_path / "cache"))
    path = fetch.fetch_dataset("lookup_ccg17_stp17", base_url=server.base, **FAST)
    assert path == tmp_path / "cache" / "data" / "lookup_ccg17_stp17.csv"


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_redraws_on_a_terminal_only():
    tty = FakeTTY()
    bar = arcgis._Progress("lsoa11", stream=tty)
    bar.start(7, "features")
    bar.update(3)
    bar.update(7)
    bar.close()
    text = tty.getvalue()
    assert text.count("\r") == 3 and "7/7 features" in text and text.endswith("\n")

    plain = io.StringIO()
    bar = arcgis._Progress("lsoa11", stream=plain)
    bar.start(7, "features")
    bar.update(7)
    bar.close()
    assert plain.getvalue() == ""


def test_corrupt_manifest_is_reported(tmp_path):
    (tmp_path / "manifest.json").write_text("{oops")
    with pytest.raises(CotermError, match="delete it"):
        fetch.read_manifest(tmp_path)


# --- the command line -------------------------------------------------------------------------


def test_cli_fetch_no_network_one_line_exit_2(tmp_path, closed_port, monkeypatch, capsys):
    from coterminosity.cli import main

    monkeypatch.setenv("COTERM_FETCH_BASE", f"http://127.0.0.1:{closed_port}")
    code = main(["data", "fetch", "lsoa11", "--data-dir", str(tmp_path), "--retries", "1"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("coterm data: error: could not reach 127.0.0.1:") and "after 2 tries" in err
    assert list(tmp_path.iterdir()) == []


def test_cli_fetch_then_list(server, tmp_path, monkeypatch, capsys):
    from coterminosity.cli import main

    monkeypatch.setattr(logging.getLogger("coterminosity"), "level", logging.NOTSET)  # notes shown, as from a shell
    server.serve("lookup_ccg17_stp17", Layer(STP_FIELDS, stp_rows(7)))
    monkeypatch.setenv("COTERM_FETCH_BASE", server.base)
    assert main(["data", "fetch", "lookup_ccg17_stp17", "--data-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "fetched lookup_ccg17_stp17: 7 rows" in err

    assert main(["data", "list", "--data-dir", str(tmp_path), "--format", "json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert set(rows) == set(DATASETS)
    assert rows["lookup_ccg17_stp17"]["status"].startswith("fetched ")
    assert rows["lsoa11"]["status"] == "missing"
    assert rows[POPULATION]["how"] == "manual" and rows["lsoa11"]["how"] == "arcgis"
    assert all(r["licence"].startswith("Open Government Licence") for r in rows.values())
    assert rows["lsoa11"]["source"] == DATASETS["lsoa11"].url


def test_cli_list_table_gives_full_sources_and_writes_file(tmp_path, monkeypatch, capsys):
    from coterminosity.cli import main

    monkeypatch.delenv("COTERM_DATA", raising=False)
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"data folder: {tmp_path}" in out
    for ds in DATASETS.values():
        assert f"{ds.name}: {ds.url}" in out
    target = tmp_path / "catalogue.csv"
    assert main(["data", "list", "--data-dir", str(tmp_path), "--format", "csv", "-o", str(target)]) == 0
    assert target.read_text().splitlines()[0] == "name,title,kind,vintage,licence,how,status,source"


def test_cli_fetch_manual_and_unknown_exit_2(tmp_path, capsys):
    from coterminosity.cli import main

    assert main(["data", "fetch", POPULATION, "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "downloaded by hand" in err
    assert main(["data", "fetch", "nope", "--data-dir", str(tmp_path)]) == 2
    assert "unknown dataset 'nope'" in capsys.readouterr().err


def test_cli_fetch_all_notes_the_manual_dataset(server, tmp_path, monkeypatch, capsys):
    from coterminosity.cli import main

    monkeypatch.setattr(logging.getLogger("coterminosity"), "level", logging.NOTSET)  # notes shown, as from a shell
    serve_everything(server)
    monkeypatch.setenv("COTERM_FETCH_BASE", server.base)
    assert main(["data", "fetch", "all", "--data-dir", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert sum(line.startswith("fetched ") for line in err.splitlines()) == len(DATASETS) - len(fetch.MANUAL)
    assert f"not fetched {POPULATION}: must be downloaded by hand" in err


def test_fetch_folder_creates_a_new_data_dir(tmp_path):
    """`coterm data fetch NAME --data-dir NEW` fetches into a folder that does not exist yet."""
    from coterminosity.geo.fetch import fetch_folder

    target = tmp_path / "new" / "data"
    assert fetch_folder(target) == target and target.is_dir()


# --- where data is read from, and the catalogue written down -----------------------------------


def test_data_read_from_option_then_env_then_fetched_then_bundle(tmp_path, monkeypatch):
    from coterminosity import data
    from coterminosity.geo.catalogue import bundled, data_note, dataset_path

    monkeypatch.delenv("COTERM_DATA", raising=False)
    monkeypatch.setenv("COTERM_CACHE", str(tmp_path / "cache"))
    name = POPULATION
    assert bundled(name) and dataset_path(name) == data.BUNDLE_DIR / f"{name}.parquet"
    assert data_note((name,)).startswith("data: bundled England set (ONS/OHID, OGL v3), built by")
    fetched = tmp_path / "cache" / "data" / DATASETS[name].filename
    fetched.parent.mkdir(parents=True)
    fetched.write_text("LSOA11CD,population\n")
    assert not bundled(name) and dataset_path(name) == fetched
    assert data_note((name, "lsoa11")).startswith(f"data: {name} fetched into {fetched.parent}; lsoa11 from the bundled")
    env, option = tmp_path / "env", tmp_path / "option"
    env.mkdir(), option.mkdir()
    monkeypatch.setenv("COTERM_DATA", str(env))
    with pytest.raises(CotermError, match="missing; run `coterm data fetch lsoa11`"):
        dataset_path("lsoa11")  # a given folder is the only source: no silent fallback to the bundle
    (env / DATASETS[name].filename).write_text("x")
    (option / DATASETS[name].filename).write_text("x")
    assert dataset_path(name) == env / DATASETS[name].filename
    assert dataset_path(name, option) == option / DATASETS[name].filename
    assert data_note((name,), option) == f"data: published files in {option} (--data-dir)"


def test_cli_list_says_what_is_bundled(tmp_path, monkeypatch, capsys):
    from coterminosity.cli import main

    monkeypatch.delenv("COTERM_DATA", raising=False)
    monkeypatch.setenv("COTERM_CACHE", str(tmp_path / "cache"))
    assert main(["data", "list", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in doc["rows"]}
    assert rows["lsoa11"]["status"] == rows[POPULATION]["status"] == "bundled"
    assert rows["lsoa11_bfc"]["status"] == rows["lad13"]["status"] == "missing"
    with pytest.raises(SystemExit):
        main(["data", "--help"])
    helptext = capsys.readouterr().out
    assert "England bundle" in helptext and "Open Government Licence v3.0" in helptext


def test_docs_list_every_catalogue_url_and_field():
    text = (Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text(encoding="utf-8")
    for ds in DATASETS.values():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{ds.name}` |"))
        assert ds.url in row and ds.title in row, ds.name
        assert all(f"`{f}`" in row for f in ds.fields), ds.name
        assert ds.join is None or ds.join.url in row
