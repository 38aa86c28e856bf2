"""Map pages in headless Chromium (network blocked): what is drawn, what hover and click say, search,
labels, and the class colours as seen with deuteranopia and protanopia.

The README screenshots are written here (to docs/img/ when COTERM_SCREENSHOTS=docs/img).
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import shapely
from headless import Browser, find_chromium
from maptools import IMG, NASTY, NASTY_IMG, X0, Y0

from coterminosity.boundaries.focus import find_footprint
from coterminosity.maps import add_layer, build_map, render_fragment, render_html
from coterminosity.maps.styles import CLASS_COLOURS, SPLIT_COLOUR

LINCOLNSHIRE_STP = "E54000013"
needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="chromium not installed (apt-get install chromium)")
HANDLE = "Object.values(window.cotermMaps)[0]"


def pane_counts(b: Browser, handle: str = HANDLE) -> dict[str, int]:
    return dict(b.evaluate(f"(function(){{var h = {handle}; return h.layers.map(l => [l.cotermPane, "
                           "h.container.querySelectorAll('.leaflet-' + l.cotermPane + '-pane path').length]);})()"))


def screen_point(b: Browser, lat: float, lon: float, handle: str = HANDLE) -> tuple[float, float]:
    return tuple(b.evaluate(
        f"(function(){{var m = {handle}.map; var p = m.latLngToContainerPoint([{lat}, {lon}]);"
        f"var r = m.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top];}})()"))


def inside_point(frame: gpd.GeoDataFrame, code: str) -> tuple[float, float]:
    geom = frame.loc[frame["code"] == code].geometry.iloc[0]
    p = gpd.GeoSeries([shapely.point_on_surface(geom)], crs=frame.crs).to_crs("EPSG:4326").iloc[0]
    return p.y, p.x


def latlon(x: float, y: float) -> tuple[float, float]:
    """WGS84 (lat, lon) of a hand-layer point given in metres from the hand origin."""
    p = gpd.GeoSeries([shapely.Point(X0 + x, Y0 + y)], crs="EPSG:27700").to_crs("EPSG:4326").iloc[0]
    return p.y, p.x


def tooltips(b: Browser) -> list[str]:
    return b.evaluate("Array.from(document.querySelectorAll('.leaflet-tooltip')).map(t => t.innerText)")


def popup_text(b: Browser) -> str:
    return b.evaluate("(document.querySelector('.leaflet-popup-content') || {innerText: ''}).innerText")


@needs_chromium
@pytest.mark.browser
def test_browser_hand_map_hover_click_and_escaping(hand, tmp_path):
    fp, co, comp = hand
    m = build_map(fp, [comp], title=NASTY)
    # An extra layer on top of everything, filled: it must not steal the footprints' hover.
    add_layer(m, co.frame, NASTY_IMG, ["code", "name"], {"color": "#08c", "fillOpacity": 0.1}, z_index=470)
    page = tmp_path / "nasty.html"
    page.write_text(render_html(m))
    with Browser(900, 700) as b:
        log = b.open(page)
        assert log.errors == [] and log.dialogs == []
        assert [r for r in log.requests if not r.startswith(("file:", "data:"))] == []
        assert b.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        assert b.evaluate("document.title") == NASTY
        # The names show as text: in the title, the layer control, the hover and the click report.
        assert NASTY in b.evaluate("document.querySelector('.coterm-title').innerText")
        assert NASTY_IMG in b.evaluate("document.querySelector('.leaflet-control-layers').innerText")
        b.hover(*screen_point(b, *inside_point(fp.frame, "F1")))
        assert tooltips(b) == [f"{NASTY} (F1)"]  # hover is light: the footprint's name only
        # A click in the west half of the split council reports every layer there, with plain labels.
        b.click(*screen_point(b, *latlon(1500, 1000)))  # x 1000–2000: council mid inside footprint F1
        text = popup_text(b)
        for part in (f"{NASTY} (F1)", "People on the wrong side\t40", f"{NASTY_IMG} (mid)", "Share in the main one\t60.0%",
                     f"{NASTY_IMG} in {NASTY}", "outside the co unit's main fp unit (wrong side)"):
            assert part in text, (part, text)
        # Printed: the layer list, search and zoom buttons are left out, the legend stays.
        b.send("Emulation.setEmulatedMedia", media="print")
        shown = ("Array.from(document.querySelectorAll('.leaflet-control-layers, .coterm-search, .leaflet-control-zoom,"
                 " .coterm-legend')).map(e => getComputedStyle(e).display)")
        assert b.evaluate(shown) == ["none", "none", "none", "block"]
        assert log.dialogs == [] and log.errors == []


@needs_chromium
@pytest.mark.browser
def test_browser_destinations_answer_a_click(hand, tmp_path):
    """Destinations drawn as circles: a click on one reports it with the footprint under it."""
    import pandas as pd

    from coterminosity.boundaries.containment import ContainmentMapData

    fp, co, comp = hand
    points = gpd.GeoDataFrame({"code": ["T1"], "name": ["West trust"], "home": ["F1"], "home_name": ["West"],
                               "patients": [500.0], "from_home": [400.0], "home_share": [0.8]},
                              geometry=[shapely.Point(X0 + 500, Y0 + 1000)], crs="EPSG:27700")
    flows = pd.DataFrame({"code": ["F1", "F2"], "name": ["a", "b"], "residents_flow": [450.0, 300.0],
                          "retained": [400.0, 300.0], "containment_share": [400 / 450, 1.0], "destination_share": [0.8, 1.0]})
    m = build_map(fp, [comp], containment=ContainmentMapData(flows, points, pd.DataFrame(), 700 / 750),
                  color_by="containment")
    page = tmp_path / "flows.html"
    page.write_text(render_html(m))
    with Browser(900, 700) as b:
        assert b.open(page).errors == []
        b.click(*screen_point(b, *latlon(500, 1000)))
        text = popup_text(b)
        assert "West trust (T1)" in text and "Share from its home footprint\t80.0%" in text
        assert "Share of residents' flow kept inside\t88.9%" in text  # F1 under the circle, in the same popup


@needs_chromium
@pytest.mark.browser
def test_class_colours_stay_apart_for_colour_blind_readers(six, tmp_path):
    """Every pair of class fills, as rendered, differs by ΔE2000 ≥ 10 with normal vision and with
    simulated deuteranopia and protanopia; the magenta split line differs from every fill too."""
    from colour import delta_e, dominant, lab, read_png, simulate

    fp, co, comp = six
    m = build_map(fp, [comp], pieces=False, width="1400px", height="500px")
    page = tmp_path / "six.html"
    page.write_text(render_html(m))
    with Browser(1400, 500) as b:
        assert b.open(page).errors == []
        b.evaluate(f"{HANDLE}.container.querySelectorAll('.coterm-legend, .leaflet-control-layers, .coterm-label')"
                   ".forEach(e => e.remove())")
        shot = b.screenshot(tmp_path / "six.png")
        pixels = read_png(shot)
        classes = dict(zip(comp.table["code"], comp.table["class"]))
        seen = {}
        for code, cls in classes.items():
            lat, lon = inside_point(fp.frame, code)
            x, y = screen_point(b, lat, lon)
            seen[cls] = dominant(pixels, x, y + 25)
    assert set(seen) == set(CLASS_COLOURS)
    rendered_split = seen["split"]
    assert abs(rendered_split - [0xD5, 0x5E, 0x00]).max() < 70  # vermillion over the light background
    worst = {}
    for kind in ("normal", "deuteranopia", "protanopia"):
        colours = {cls: lab(simulate(rgb, kind)) for cls, rgb in seen.items()}
        pairs = {(a, c): delta_e(colours[a], colours[c]) for a, c in itertools.combinations(sorted(colours), 2)}
        worst[kind] = min(pairs.items(), key=lambda kv: kv[1])
        assert worst[kind][1] >= 10, (kind, worst[kind])
        # The split line is drawn opaque (on a white halo): its colour is the nominal one.
        magenta = lab(simulate(np.array([int(SPLIT_COLOUR[i:i + 2], 16) for i in (1, 3, 5)], dtype=float), kind))
        assert min(delta_e(magenta, c) for c in colours.values()) >= 10, kind
    print("smallest ΔE2000 between class fills:", {k: (v[0], round(v[1], 1)) for k, v in worst.items()})


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
        assert b.evaluate("document.querySelectorAll('.leaflet-coterm-split-0-halo-pane path').length") == 11
        assert b.evaluate(f"{HANDLE}.map.getMaxZoom()") == 11
        labels = b.evaluate("document.querySelectorAll('.coterm-label').length")
        assert 5 < labels < 44  # the footprints wide enough to hold their name at this zoom
        IMG.mkdir(parents=True, exist_ok=True)
        b.screenshot(IMG / "england.png")
        b.hover(*screen_point(b, *inside_point(stp.frame, LINCOLNSHIRE_STP)))
        assert tooltips(b) == ["Lincolnshire (E54000013)"]
        b.click(*screen_point(b, *inside_point(stp.frame, LINCOLNSHIRE_STP)))
        text = popup_text(b)
        assert "Lincolnshire (E54000013)" in text and "coterminous" in text and "761,224" in text
        assert "Lincolnshire (E10000019)" in text  # the council under the click, in the same popup
        # Search by name: the view goes there and the report opens.
        b.evaluate("(function(){var i = document.querySelector('.coterm-search-input'); i.value = 'cumbria';"
                   "i.dispatchEvent(new Event('input'));})()")
        hits = b.evaluate("Array.from(document.querySelectorAll('.coterm-search-hit')).map(e => e.innerText)")
        assert any(h.startswith("West, North and East Cumbria") for h in hits), hits
        b.evaluate("Array.from(document.querySelectorAll('.coterm-search-hit'))"
                   ".find(e => e.innerText.startsWith('Cumbria (E10000006)')).click()")
        b.pump(0.5)
        assert "Cumbria (E10000006)" in popup_text(b)
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
        assert tooltips(b) == [f"Lancashire and South Cumbria ({code})"]
        log = b.open(host)
        assert log.errors == [] and log.blocked == []
        assert pane_counts(b) == expected
        assert b.evaluate("document.querySelector('h1').innerText") == "Review"
        assert b.evaluate("document.querySelector('.coterm-map').getBoundingClientRect().height") == 640
