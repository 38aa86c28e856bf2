"""The folium elements a coterminosity map is made of: feature layers, the set-up (title, legend,
search, layer list), the attribution; and the static files (Leaflet, ``coterm.js``, ``coterm.css``).

Every piece of text that reaches the page is JSON inside a script (:func:`safe_json`, which
escapes ``<``, ``>``, ``&`` and ``'``) put on the page with ``textContent``; the only ``innerHTML``
is Leaflet's layer list, which gets names escaped by the script. So a name such as
``<script>alert(1)</script>`` shows as text.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources

import folium
from branca.element import MacroElement
from folium.template import Template


def safe_json(obj) -> str:
    """JSON that can sit inside a ``<script>`` element: no ``</script>``, no HTML-significant characters."""
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _static(name: str) -> str:
    return resources.files("coterminosity.maps").joinpath("static", name).read_text(encoding="utf-8")


def leaflet_css() -> str:
    """Vendored Leaflet 1.9.4 stylesheet (control images inlined)."""
    return _static("leaflet.css")


def leaflet_js() -> str:
    """Vendored Leaflet 1.9.4 script."""
    return _static("leaflet.js")


def coterm_js() -> str:
    """The map script (layers, legend, search, labels, click report, set-up): ``static/coterm.js``."""
    return _static("coterm.js")


def coterm_css() -> str:
    """The map styles, every rule scoped to ``.coterm-map``: ``static/coterm.css``."""
    return _static("coterm.css")


class InlineAssets(MacroElement):
    """Leaflet and the coterminosity map script inlined in the head when folium renders the map itself
    (a notebook cell); :mod:`~coterminosity.maps.render` builds pages and fragments without it."""

    _template = Template("""
{% macro header(this, kwargs) %}
<style>{{ this.css }}</style>
<script>if (typeof window.L === 'undefined') {
{{ this.js }}
}</script>
<style>{{ this.map_css }}</style>
<script>{{ this.map_js }}</script>
{% endmacro %}
""")

    def __init__(self):
        super().__init__()
        self._name = "CotermAssets"
        from .render import scope_css

        self.css, self.js = scope_css(leaflet_css()), leaflet_js()
        self.map_css, self.map_js = coterm_css(), coterm_js()


def offline_map(**kwargs) -> folium.Map:
    """A ``folium.Map`` that loads nothing from the internet: Leaflet is inlined, the CDN links dropped."""
    m = folium.Map(**kwargs)
    m.default_js = []  # instance attributes override folium's CDN lists (leaflet, jquery, bootstrap …)
    m.default_css = []
    m.add_child(InlineAssets(), name="coterm_assets")
    return m


def pane_name(label: str) -> str:
    """A CSS-safe Leaflet pane name for a layer label (the pane's class is ``leaflet-<name>-pane``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "layer"
    return f"coterm-{slug}"


class FeatureLayer(folium.map.Layer):
    """A GeoJSON layer drawn in its own pane, with text-only tooltips and popups (see :func:`add_layer`)."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = cotermLayer({{ this.map_name }}, {{ this.data_json }}, {{ this.options_json }});
{% endmacro %}
""")

    def __init__(self, map_name: str, data_json: str, options: dict, name: str, show: bool = True,
                 control: bool = True):
        # cotermSetup builds the layer control (names escaped there) and adds shown layers.
        super().__init__(name=name, overlay=True, control=False, show=show)
        self._name = "CotermLayer"
        self.map_name = map_name
        self.data_json = data_json
        self.options_json = safe_json(options)


class Setup(MacroElement):
    """Title, legend, search, labels, layer control, click report and view: ``cotermSetup`` in coterm.js.

    ``spec`` is plain data (JSON); the script turns it into DOM nodes with ``textContent``.
    Added last, after every layer (see :func:`~coterminosity.maps.layers.draw`).
    """

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = cotermSetup({{ this._parent.get_name() }}, {{ this.spec_json }},
    typeof cotermId === 'undefined' ? null : cotermId);
{% endmacro %}
""")

    def __init__(self, spec: dict):
        super().__init__()
        self._name = "CotermSetup"
        self.spec = spec

    @property
    def spec_json(self) -> str:
        """The spec as JSON, read when the page is rendered (layers added later are in it)."""
        return safe_json(self.spec)


class Attribution(MacroElement):
    """Add a line to the map's attribution control (escaped text)."""

    _template = Template("""
{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
{% endmacro %}
""")

    def __init__(self, text: str):
        super().__init__()
        self._name = "CotermAttribution"
        self.text = html.escape(text)
