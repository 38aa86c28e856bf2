"""Hosting a map fragment in other people's pages (``coterm map --embed``), in headless Chromium.

Each host page is a fixture written here: a strict Content-Security-Policy (asset files, or
nonces), hostile host CSS and a host Leaflet, a hidden tab, the same fragment twice. Every test
asserts the features drawn and no console errors or CSP violations.
"""

from __future__ import annotations

import functools
import http.server
import threading

import pytest
from headless import Browser, find_chromium

from coterminosity.maps import build_map
from coterminosity.maps.render import render

needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="chromium not installed (apt-get install chromium)")
pytestmark = [needs_chromium, pytest.mark.browser]

EXPECTED = {"coterm-footprints": 2, "coterm-units-0": 3, "coterm-split-0": 1, "coterm-pieces-0": 2}
WATCH_CSP = ("<script{nonce}>window.cspViolations = []; document.addEventListener('securitypolicyviolation', "
             "function (e) {{ window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI); }});</script>")
# What hosts commonly set: Joomla's svg rule, box-sizing, table and heading styles, text colours.
HOSTILE_CSS = """
* { box-sizing: border-box; }
svg, img { max-width: 100%; height: auto; }
body, div { color: #0a0; font: 19px/2 serif; }
table td, table th { background: #f00; color: #fff; border: 3px solid #00f; padding: 12px; }
h4 { color: #f00; font-size: 40px; margin: 30px; }
p { margin: 2em; color: #f0f; }
input { width: 100%; border: 4px solid #f0f; }
.leaflet-marker-icon { margin-left: -12px; margin-top: -41px; width: 25px; height: 41px; }
"""
HOST_LEAFLET = ("<script>window.L = {version: '0.7.7', host: true, noConflict: function () { return this; }};</script>"
                '<div class="leaflet-container host-map"><img class="leaflet-marker-icon host-marker" alt="host marker" '
                'src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></div>')


def counts(b: Browser, key: str) -> dict[str, int]:
    return dict(b.evaluate(f"(function(){{var h = window.cotermMaps[{key!r}]; return h.layers.map(l => "
                           "[l.cotermPane, h.container.querySelectorAll('.leaflet-' + l.cotermPane + '-pane path').length]);})()"))


def page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>host</title>{head}</head><body>{body}</body></html>"


@pytest.fixture(scope="module")
def fragment_map(hand):
    fp, co, comp = hand
    return build_map(fp, [comp], height="420px", title="Review map")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A local web server for the CSP pages (a file: page has no origin for 'self' to match)."""
    root = tmp_path_factory.mktemp("site")
    (root / "favicon.ico").write_bytes(b"")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(server):
    with Browser(1000, 800, allow=(server[1],)) as b:
        yield b


def test_strict_csp_with_asset_files(fragment_map, server, browser):
    root, url = server
    out = render(fragment_map, "fragment", assets="assets", map_id="strict")
    (root / "assets").mkdir(exist_ok=True)
    for name, data in out.files.items():
        (root / "assets" / name).write_bytes(data)
    csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'"
    (root / "watch.js").write_text(WATCH_CSP.format(nonce="")[8:-9])
    (root / "strict.html").write_text(page(f"<h1>Strict</h1>{out.text}",
                                           f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
                                           '<script src="watch.js"></script>'))
    log = browser.open(url + "strict.html")
    assert log.errors == [] and log.blocked == [] and browser.evaluate("window.cspViolations") == []
    assert counts(browser, "strict") == EXPECTED
    # The legend is built from data by the script (no inline style): split class, boundary, split line, stripes.
    assert browser.evaluate("document.querySelectorAll('.coterm-legend .coterm-entry').length") == 4
    # The control: the inline fragment under the same policy is refused (so the policy really is strict).
    inline = render(fragment_map, "fragment", map_id="inline").text
    (root / "inline.html").write_text(page(inline, f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
                                           '<script src="watch.js"></script>'))
    browser.open(url + "inline.html")
    assert browser.evaluate("window.cspViolations.length") >= 2 and browser.evaluate("window.cotermMaps") is None


def test_strict_csp_with_a_nonce(fragment_map, server, browser):
    root, url = server
    out = render(fragment_map, "fragment", nonce="c2VjcmV0", map_id="nonced")
    csp = "default-src 'none'; script-src 'nonce-c2VjcmV0'; style-src 'nonce-c2VjcmV0'; img-src data:"
    (root / "nonce.html").write_text(page(out.text, f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
                                          + WATCH_CSP.format(nonce=' nonce="c2VjcmV0"')))
    log = browser.open(url + "nonce.html")
    assert log.errors == [] and browser.evaluate("window.cspViolations") == []
    assert counts(browser, "nonced") == EXPECTED


def test_hostile_host_css_and_host_leaflet(fragment_map, tmp_path, browser):
    out = render(fragment_map, "fragment", map_id="guest")
    style = f"<style>{HOSTILE_CSS}</style>"
    alone = tmp_path / "alone.html"
    alone.write_text(page(HOST_LEAFLET, style))
    host = tmp_path / "host.html"
    host.write_text(page(HOST_LEAFLET + "<h4>Host heading</h4><table><tr><td>host cell</td></tr></table>" + out.text,
                         style))
    marker = ("(function(){var s = getComputedStyle(document.querySelector('.host-marker'));"
              "return [s.marginLeft, s.marginTop, s.width, s.height, s.position];})()")
    browser.open(alone)
    before = browser.evaluate(marker)
    log = browser.open(host)
    assert log.errors == []
    assert counts(browser, "guest") == EXPECTED  # svg{max-width:100%} did not squash the drawing
    assert browser.evaluate(marker) == before  # the host's marker icons are untouched by the map's CSS
    # The host keeps its own Leaflet; the map runs on its private 1.9.4.
    assert browser.evaluate("[window.L.version, window.L.host, window.cotermLeaflet.version]") == ["0.7.7", True, "1.9.4"]
    # Host styles do not recolour the map's legend, title or report tables.
    legend = browser.evaluate("(function(){var h = document.querySelector('.coterm-legend-toggle'); var s = getComputedStyle(h);"
                              "return [s.color, s.fontSize, s.backgroundColor];})()")
    assert legend == ["rgb(34, 34, 34)", "13px", "rgba(0, 0, 0, 0)"]
    # A 420 px map starts with its legend and layer list folded; the legend's heading unfolds it.
    folded = "document.querySelector('.coterm-legend').classList.contains('coterm-folded')"
    assert browser.evaluate(folded) is True
    assert browser.evaluate("document.querySelector('.leaflet-control-layers-expanded')") is None
    browser.evaluate("document.querySelector('.coterm-legend-toggle').click()")
    assert browser.evaluate(folded) is False
    browser.evaluate("void window.cotermMaps.guest.report(...(function(){var b = window.cotermMaps.guest.layers[0]"
                     ".getBounds().getCenter(); return [b.lat, b.lng];})())")
    cell = browser.evaluate("(function(){var td = document.querySelector('.coterm-detail td'); var s = getComputedStyle(td);"
                            "return [s.backgroundColor, s.color, s.borderTopWidth];})()")
    assert cell == ["rgba(0, 0, 0, 0)", "rgb(34, 34, 34)", "0px"]
    # The host's own table keeps its look.
    assert browser.evaluate("getComputedStyle(document.querySelector('body > table td')).backgroundColor") == "rgb(255, 0, 0)"
    assert log.errors == []


def test_hidden_tab_redraws_when_shown(fragment_map, tmp_path, browser):
    out = render(fragment_map, "fragment", map_id="tabbed")
    visible = tmp_path / "visible.html"
    visible.write_text(page(out.text))
    browser.open(visible)
    zoom_visible = browser.evaluate("window.cotermMaps.tabbed.map.getZoom()")
    hidden = tmp_path / "hidden.html"
    hidden.write_text(page(f'<button>Tab one</button><div class="tab" hidden>{out.text}</div>'))
    log = browser.open(hidden)
    browser.screenshot(tmp_path / "hidden.png")
    assert browser.evaluate("window.cotermMaps.tabbed.container.getBoundingClientRect().width") == 0
    browser.evaluate("document.querySelector('.tab').hidden = false")
    browser.pump(0.8)
    assert browser.evaluate("window.cotermMaps.tabbed.map.getSize().x") > 900
    assert browser.evaluate("window.cotermMaps.tabbed.map.getZoom()") == zoom_visible
    assert counts(browser, "tabbed") == EXPECTED
    assert log.errors == []


def test_the_same_fragment_twice(fragment_map, tmp_path, browser):
    text = render(fragment_map, "fragment").text
    twice = tmp_path / "twice.html"
    twice.write_text(page("<h2>First</h2>" + text + "<h2>Second</h2>" + text))
    log = browser.open(twice)
    assert log.errors == []
    keys = browser.evaluate("Object.keys(window.cotermMaps)")
    map_id = text.split('data-coterm-id="')[1].split('"')[0]
    assert keys == [map_id, f"{map_id}-2"]
    for key in keys:
        assert counts(browser, key) == EXPECTED
    # Each map lives in its own container.
    first, second = keys
    assert browser.evaluate(f"window.cotermMaps[{first!r}].container !== window.cotermMaps[{second!r}].container")
