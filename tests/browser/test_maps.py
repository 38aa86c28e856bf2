"""Maps: geometry kept topologically sound, numbers taken from the overlay, text escaped, pages that render.

Browser tests open the pages in headless Chromium (Debian ``chromium``) with the network blocked,
and write the README screenshots (to docs/img/ when COTERM_SCREENSHOTS=docs/img).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from coterminosity.cli import main
from coterminosity.errors import InputError
from coterminosity.geo.layer import BNG, Layer, Population
from coterminosity.boundaries.comparison import compare
from coterminosity.boundaries.focus import find_footprint
from coterminosity.maps import add_layer, build_map, render_fragment, render_html
from .headless import Browser, find_chromium  # headless Chromium over a pipe
from coterminosity.maps.elements import FeatureLayer, safe_json
from coterminosity.maps.geometry import display_geometry, to_display

REPO = Path(__file__).resolve().parents[2]
# Screenshots go to a temporary folder; COTERM_SCREENSHOTS=docs/img refreshes the README's images.
IMG = Path(os.environ.get("COTERM_SCREENSHOTS") or tempfile.mkdtemp(prefix="coterm-screenshots-"))
NASTY = "<script>alert(1)</script>"
NASTY_IMG = '<img src=x onerror="alert(2)">'
LINCOLNSHIRE_STP, LINCOLNSHIRE_CC = "E54000013", "E10000019"

needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="chromium not installed (apt-get install chromium)")


def features(m) -> dict[str, list[dict]]:
    """Pane → the GeoJSON features of each drawn layer, read back from the map elements."""
    return {el.pane: json.loads(el.data_json)["features"] for el in m._children.values() if isinstance(el, FeatureLayer)}


def labels(m) -> dict[str, list[str]]:
    return {el.pane: json.loads(el.options_json)["tooltip"] for el in m._children.values() if isinstance(el, FeatureLayer)}


def row(m, pane: str, code: str) -> dict[str, str]:
    """The tooltip of one feature as label → text."""
    feat = next(f for f in features(m)[pane] if f["properties"]["code"] == code)
    return dict(zip(labels(m)[pane], feat["properties"]["t"]))


# ---------------------------------------------------------------- hand-made layers (no data folder)

X0, Y0 = 400_000, 300_000


def box(x1, y1, x2, y2):
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def hand_layer(label, units):
    codes, names, geoms = zip(*units)
    return Layer(gpd.GeoDataFrame({"code": list(codes), "name": list(names)}, geometry=list(geoms), crs=BNG),
                 label=label)


@pytest.fixture(scope="module")
def hand():
    """Two footprints side by side (x 0–2000 and 2000–4000); three councils, the middle one split 50/50.

    West footprint = council w (0–1000) + half of council mid (1000–3000); east = the other half + e.
    People: 100 in w, 40 + 60 in mid (west half / east half), 200 in e.
    """
    fp = hand_layer("fp", [("F1", NASTY, box(0, 0, 2000, 2000)), ("F2", "East footprint", box(2000, 0, 4000, 2000))])
    co = hand_layer("co", [("w", "West council", box(0, 0, 1000, 2000)), ("mid", NASTY_IMG, box(1000, 0, 3000, 2000)),
                           ("e", "East council", box(3000, 0, 4000, 2000))])
    pts = [(500, 1000, 100), (1500, 1000, 40), (2500, 1000, 60), (3500, 1000, 200)]
    pop = Population(gpd.GeoDataFrame({"code": [f"p{i}" for i in range(4)], "population": [p for *_, p in pts]},
                                      geometry=[shapely.Point(X0 + x, Y0 + y) for x, y, _ in pts], crs=BNG), "hand")
    comp = compare(fp, co, pop)
    return fp, co, comp


def test_safe_json_cannot_close_a_script():
    text = safe_json({"name": NASTY + "&'"})
    assert "<" not in text and ">" not in text and "&" not in text and "'" not in text
    assert json.loads(text)["name"] == NASTY + "&'"


def test_hand_map_numbers_come_from_the_overlay(hand):
    fp, co, comp = hand
    m = build_map(fp, [comp])
    feats = features(m)
    assert [len(feats[p]) for p in ("coterm-footprints", "coterm-units-0", "coterm-split-0", "coterm-pieces-0")] == [2, 3, 1, 2]
    # By hand: F1 holds w (100) and 40 of mid's 100 people: class split, wrong side min(40, 60) = 40.
    f1 = row(m, "coterm-footprints", "F1")
    assert f1["Population"] == "140" and f1["Class vs co"] == "split" and f1["Wrong side"] == "40"
    assert f1["co units touched"] == "2" and f1["co units split"] == "1"
    mid = row(m, "coterm-units-0", "mid")
    assert mid["Split"] == "yes" and mid["In largest footprint"] == "60.0%" and mid["Outside largest footprint"] == "40"
    # The pieces of the split council: 40 people west (wrong side), 60 east (largest).
    west = row(m, "coterm-pieces-0", "F1|mid")
    east = row(m, "coterm-pieces-0", "F2|mid")
    assert (west["Population"], west["Piece"]) == ("40", "wrong side of the line")
    assert (east["Population"], east["Piece"]) == ("60", "largest piece")
    pieces = {f["properties"]["code"]: shapely.geometry.shape(f["geometry"]) for f in feats["coterm-pieces-0"]}
    # 1000 m × 2000 m each; in degrees, so compare the two halves with each other.
    assert pieces["F1|mid"].area == pytest.approx(pieces["F2|mid"].area, rel=0.01)


def test_names_are_escaped_in_the_page(hand):
    fp, co, comp = hand
    m = build_map(fp, [comp], title=NASTY)
    add_layer(m, co.frame, NASTY_IMG, ["code", "name"], {"color": "#08c"})
    page = render_html(m)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "alert(1)" in page  # the name is there, as escaped data
    fragment = render_fragment(m)
    assert "<script>alert" not in fragment and "<img src=x" not in fragment


def test_page_needs_no_internet_with_tiles_none(hand):
    fp, co, comp = hand
    page = render_html(build_map(fp, [comp], tiles="none"))
    assert not re.findall(r'<(?:script|link)[^>]+(?:src|href)="https?:', page)
    assert 't.version="1.9.4"' in page  # Leaflet inlined
    with_tiles = render_html(build_map(fp, [comp], tiles="osm"))
    assert "tile.openstreetmap.org" in with_tiles


def test_fragment_is_a_div_with_scripts(hand):
    fp, co, comp = hand
    fragment = render_fragment(build_map(fp, [comp], height="500px"))
    assert fragment.startswith('<div class="coterm-map-fragment">') and fragment.rstrip().endswith("</div>")
    for tag in ("<html", "<head", "<body", "<meta", "<!DOCTYPE"):
        assert tag not in fragment
    assert fragment.count("<script") >= 3 and "500.0px" in fragment


def test_score_colours_follow_the_fit(hand):
    fp, co, comp = hand
    m = build_map(fp, [comp], color_by="score")
    # F1: 140 people, 40 on the wrong side → fit 71.4%; F2: 260 people, 40 wrong side → 84.6%.
    assert row(m, "coterm-footprints", "F1")["Fit (1 − wrong side share)"] == "71.4%"
    assert row(m, "coterm-footprints", "F2")["Fit (1 − wrong side share)"] == "84.6%"
    el = next(e for e in m._children.values() if isinstance(e, FeatureLayer) and e.pane == "coterm-footprints")
    fills = [s["fillColor"] for s in json.loads(el.options_json)["styles"]]
    assert len(set(fills)) == 2  # two fits, two colours
    with pytest.raises(InputError):
        build_map(fp, [comp], color_by="rainbow")


def test_add_layer_is_a_hook_for_other_features(hand):
    fp, co, comp = hand
    m = build_map(fp, [comp])
    places = gpd.GeoDataFrame({"code": ["P1"], "name": ["Place one"], "people": [140]},
                              geometry=[box(0, 0, 2000, 2000)], crs=BNG)
    el = add_layer(m, places, "Places", {"name": "Place", "people": "People"}, {"color": "#08c"})
    assert el.feature_count == 1 and el.pane == "coterm-places"
    assert row(m, "coterm-places", "P1") == {"Place": "Place one", "People": "140"}
    with pytest.raises(KeyError):
        add_layer(m, places, "Bad", ["nope"])


def test_focus_finds_one_footprint(hand):
    fp, _, _ = hand
    assert find_footprint(fp, "f2") == "F2"
    assert find_footprint(fp, "east") == "F2"
    with pytest.raises(InputError):
        find_footprint(fp, "t")  # in both names: ambiguous
    with pytest.raises(InputError):
        find_footprint(fp, "nowhere")


# ---------------------------------------------------------------- real data

@pytest.fixture(scope="module")
def real(data_dir):
    from coterminosity.geo import load_layer, load_population, small_area_layer

    stp, upper = load_layer("stp17", data_dir=data_dir), load_layer("upper17", data_dir=data_dir)
    pop = load_population(None, data_dir=data_dir)
    return stp, upper, pop, small_area_layer(data_dir), compare(stp, upper, pop)


@pytest.fixture(scope="module")
def england(real):
    stp, upper, pop, fine, comp = real
    m = build_map(stp, [comp], fine=fine)
    return m, render_html(m)


@pytest.fixture(scope="module")
def lookups(ons_lsoas):
    """The independent answer: pandas group-bys on the ONS lookups and the population file."""
    return ons_lsoas


@pytest.mark.realdata
def test_shared_edges_stay_shared_after_simplifying(real, lookups):
    stp, upper, _, fine, comp = real
    d = display_geometry([stp, upper], fine=fine)
    assert 100 < d.tolerance < 200
    f, c = d.layers["stp17"].set_index("code").geometry, d.layers["upper17"].set_index("code").geometry
    assert len(f) == 44 and len(c) == 152
    # Far fewer vertices than the full-resolution layers.
    assert shapely.get_num_coordinates(f.values).sum() < 0.4 * shapely.get_num_coordinates(stp.frame.geometry.values).sum()
    # No gaps or overlaps between neighbours: each layer is still a valid coverage, and both cover the same land.
    assert shapely.coverage_is_valid(f.values) and shapely.coverage_is_valid(c.values)
    f_all, c_all = shapely.union_all(f.values), shapely.union_all(c.values)
    assert f_all.area == pytest.approx(f.area.sum(), rel=1e-9)
    assert shapely.symmetric_difference(f_all, c_all).area < 1.0
    # Every footprint that is an exact union of whole councils (each council it touches lies
    # wholly inside it, LSOA for LSOA) is the union of those simplified councils.
    real_pairs = comp.overlay.real()
    whole = real_pairs.groupby("a_code")["b_in_a_small_areas"].min()
    whole = whole.index[whole == 1.0]
    # Independently: footprints all of whose councils touch no other footprint (LSOA lookups).
    stps_per_council = lookups.groupby("upper")["STP17CD"].nunique()
    lone = lookups["upper"].map(stps_per_council) == 1
    exact = lone.groupby(lookups["STP17CD"]).all()
    assert set(whole) == set(exact.index[exact]) and len(whole) == 19
    for code in whole:
        councils = real_pairs.loc[real_pairs.a_code == code, "b_code"]
        joined = shapely.union_all(c.loc[councils].values)
        assert shapely.symmetric_difference(joined, f.loc[code]).area < 1.0, code
    # Lincolnshire footprint and county: the same drawn outline, vertex for vertex after rounding.
    shown_f = to_display(d.layers["stp17"]).set_index("code").geometry.loc[LINCOLNSHIRE_STP]
    shown_c = to_display(d.layers["upper17"]).set_index("code").geometry.loc[LINCOLNSHIRE_CC]
    assert shown_f.equals(shown_c)
    # Neighbours still meet: footprints sharing an edge before share one after.
    g = stp.frame.set_index("code").geometry
    tree = shapely.STRtree(g.values)
    i, j = tree.query(g.values, predicate="touches")
    pairs = [(a, b) for a, b in zip(i, j) if a < b and shapely.intersection(g.iloc[a], g.iloc[b]).length > 500]
    assert len(pairs) > 80
    for a, b in pairs:
        assert shapely.intersection(f.loc[g.index[a]], f.loc[g.index[b]]).length > 0, (g.index[a], g.index[b])


@pytest.mark.realdata
def test_england_map_numbers_match_the_lookups(real, england, lookups):
    stp, upper, pop, fine, comp = real
    m, page = england
    assert m.coterm_summary.layers[0][2] == 44 and m.coterm_summary.layers[1][2] == 152
    t = lookups
    # Lincolnshire: population from a plain group-by; coterminous with the county.
    lincs = row(m, "coterm-footprints", LINCOLNSHIRE_STP)
    assert lincs["Population"] == f"{t.loc[t.STP17CD == LINCOLNSHIRE_STP, 'population'].sum():,.0f}" == "761,224"
    assert lincs["Class vs upper17"] == "coterminous" and lincs["Best match"] == "Lincolnshire"
    # Split councils: largest share in one footprint below 0.98, by population.
    by_pair = t.groupby(["upper", "STP17CD"])["population"].sum()
    share = by_pair / by_pair.groupby(level=0).transform("sum")
    largest = share.groupby(level=0).max()
    split = set(largest.index[largest < 0.98])
    drawn_split = {f["properties"]["code"] for f in features(m)["coterm-split-0"]}
    assert drawn_split == split and len(split) == 11
    pieces = {f["properties"]["code"]: row(m, "coterm-pieces-0", f["properties"]["code"])
              for f in features(m)["coterm-pieces-0"]}
    expected = {f"{s}|{u}": p for (u, s), p in by_pair.items() if u in split and p > 0}
    assert set(pieces) == set(expected) and len(expected) == 26
    for code, text in pieces.items():
        assert text["Population"] == f"{expected[code]:,.0f}"
    # Wrong-side pieces are exactly the pieces outside each council's largest footprint.
    wrong = {c for c, text in pieces.items() if text["Piece"] == "wrong side of the line"}
    assert len(wrong) == 26 - 11


@pytest.mark.realdata
def test_england_map_is_small(england):
    _, page = england
    size = len(page.encode())
    assert size < 5_000_000, f"{size:,} bytes"
    assert size > 500_000  # it really holds England's boundaries


@pytest.mark.realdata
def test_focus_draws_the_neighbourhood(real):
    stp, upper, pop, fine, comp = real
    m = build_map(stp, [comp], fine=fine, focus="lincolnshire")
    names = {f["properties"]["h"] for f in features(m)["coterm-footprints"]}
    # Lincolnshire's neighbours by land, checked on a map of England.
    for near in ("Humber, Coast and Vale", "Nottinghamshire", "Cambridgeshire and Peterborough",
                 "Leicester, Leicestershire and Rutland", "Norfolk and Waveney", "South Yorkshire and Bassetlaw"):
        assert any(n.startswith(near) for n in names), near
    assert not any(n.startswith(("Cornwall", "Cumbria", "Kent")) for n in names)
    assert {f["properties"]["code"] for f in features(m)["coterm-units-0"]} == {LINCOLNSHIRE_CC}
    # Lincolnshire county is whole: no split councils, and no pieces of councils not drawn.
    assert features(m)["coterm-split-0"] == [] and features(m)["coterm-pieces-0"] == []
    assert 20 < m.coterm_summary.tolerance < 40  # Lincolnshire is ≈ 170 km across: 1/6000 of that


@pytest.mark.realdata
def test_cli_writes_page_and_fragment(tmp_path, data_dir):
    out = tmp_path / "map.html"
    assert main(["map", "stp17", "--against", "upper17", "--population", "--focus", "E54000013",
                 "-o", str(out)]) == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "Lincolnshire" in page
    frag = tmp_path / "frag.html"
    assert main(["map", "stp17", "--population", "--focus", "Lincolnshire", "--embed", "-o", str(frag)]) == 0
    assert "<html" not in frag.read_text() and "<div" in frag.read_text()
    bad = tmp_path / "bad.html"
    assert main(["map", "stp17", "--focus", "Atlantis", "-o", str(bad)]) == 2
    assert not bad.exists()


# ---------------------------------------------------------------- in a real browser

def pane_counts(b: Browser) -> dict[str, int]:
    return dict(b.evaluate("(window.cotermLayers || []).map(l => "
                           "[l.cotermPane, document.querySelectorAll('.leaflet-' + l.cotermPane + '-pane path').length])"))


def screen_point(b: Browser, lat: float, lon: float) -> tuple[float, float]:
    return tuple(b.evaluate(
        f"(function(){{var m = Object.values(window).find(v => v instanceof L.Map);"
        f"var p = m.latLngToContainerPoint([{lat}, {lon}]); var r = m.getContainer().getBoundingClientRect();"
        f"return [p.x + r.left, p.y + r.top];}})()"))


def inside_point(frame: gpd.GeoDataFrame, code: str) -> tuple[float, float]:
    geom = frame.loc[frame["code"] == code].geometry.iloc[0]
    p = gpd.GeoSeries([shapely.point_on_surface(geom)], crs=frame.crs).to_crs("EPSG:4326").iloc[0]
    return p.y, p.x


def tooltips(b: Browser) -> list[str]:
    return b.evaluate("Array.from(document.querySelectorAll('.leaflet-tooltip')).map(t => t.innerText)")


@needs_chromium
@pytest.mark.browser
def test_browser_hand_map_escapes_names(hand, tmp_path):
    fp, co, comp = hand
    m = build_map(fp, [comp], title=NASTY)
    add_layer(m, co.frame, NASTY_IMG, ["code", "name"], {"color": "#08c"}, z_index=400)
    page = tmp_path / "nasty.html"
    page.write_text(render_html(m))
    with Browser(900, 700) as b:
        log = b.open(page)
        assert log.errors == [] and log.dialogs == []
        assert [r for r in log.requests if not r.startswith(("file:", "data:"))] == []
        assert b.evaluate("Array.from(document.scripts).filter(s => s.textContent.includes('alert(') "
                          "&& !s.textContent.includes('cotermLayer')).length") == 0
        assert b.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        # The names show as text: in the title, the layer control, and the tooltip.
        assert NASTY in b.evaluate("document.querySelector('.coterm-title').innerText")
        assert NASTY_IMG in b.evaluate("document.querySelector('.leaflet-control-layers').innerText")
        b.hover(*screen_point(b, *inside_point(fp.frame, "F1")))
        assert any(NASTY in t for t in tooltips(b))
        b.hover(*screen_point(b, *inside_point(fp.frame, "F2")))
        b.click(*screen_point(b, *inside_point(fp.frame, "F1")))
        assert NASTY in b.evaluate("document.querySelector('.leaflet-popup-content').innerText")
        assert log.dialogs == [] and log.errors == []


@needs_chromium
@pytest.mark.browser
@pytest.mark.realdata
def test_browser_england_map_offline(real, england, tmp_path):
    stp, upper, pop, fine, comp = real
    m, html = england
    page = tmp_path / "england.html"
    page.write_text(html)
    with Browser(1100, 1000) as b:
        log = b.open(page, settle=1.5)
        assert log.errors == [] and log.dialogs == [] and log.blocked == []
        assert [r for r in log.requests if not r.startswith(("file:", "data:"))] == []
        assert pane_counts(b) == {"coterm-footprints": 44, "coterm-units-0": 152, "coterm-split-0": 11,
                                  "coterm-pieces-0": 26}
        IMG.mkdir(parents=True, exist_ok=True)
        b.screenshot(IMG / "england.png")
        b.hover(*screen_point(b, *inside_point(stp.frame, LINCOLNSHIRE_STP)))
        tips = tooltips(b)
        assert any("Lincolnshire (E54000013)" in t and "coterminous" in t and "761,224" in t for t in tips), tips
        assert log.errors == []
    assert (IMG / "england.png").stat().st_size > 20_000


@needs_chromium
@pytest.mark.browser
@pytest.mark.realdata
def test_browser_focus_map_and_fragment(real, tmp_path):
    stp, upper, pop, fine, comp = real
    code = find_footprint(stp, "Lancashire")
    m = build_map(stp, [comp], fine=fine, focus="Lancashire")
    expected = {pane: count for _, pane, count in m.coterm_summary.layers}
    assert expected["coterm-split-0"] >= 2  # Cumbria and Lancashire's neighbours are cut
    page = tmp_path / "focus.html"
    page.write_text(render_html(m))
    embedded = build_map(stp, [comp], fine=fine, focus="Lancashire", height="640px")
    host = tmp_path / "host.html"
    host.write_text("<!DOCTYPE html><html><head><title>host</title></head><body><h1>Review</h1>"
                    + render_fragment(embedded) + "<p>after the map</p></body></html>")
    with Browser(1100, 900) as b:
        log = b.open(page)
        assert log.errors == [] and log.blocked == []
        assert pane_counts(b) == expected
        IMG.mkdir(parents=True, exist_ok=True)
        b.screenshot(IMG / "focus.png")
        b.hover(*screen_point(b, *inside_point(stp.frame, code)))
        assert any("Lancashire and South Cumbria" in t for t in tooltips(b))
        log = b.open(host)
        assert log.errors == [] and log.blocked == []
        assert pane_counts(b) == expected
        assert b.evaluate("document.querySelector('h1').innerText") == "Review"
        assert b.evaluate("document.querySelector('.folium-map').getBoundingClientRect().height") == 640


@pytest.mark.realdata
def test_cli_map_of_a_drawn_footprint_file(tmp_path, capsys, data_dir, monkeypatch):
    """Footprints with no LSOA membership (a drawn file) against catalogue councils: drawn by geometry."""
    monkeypatch.setattr(logging.getLogger("coterminosity"), "level", logging.NOTSET)  # as from a shell
    page = tmp_path / "lad13.html"
    assert main(["map", "lad13", "--data-dir", str(data_dir), "-o", str(page)]) == 0
    err = capsys.readouterr().err
    assert "lad13: footprints (326): 326" in err and "upper17: units (152): 152" in err
    assert page.stat().st_size < 5_000_000
