"""The folium elements a coterminosity map is made of: inline Leaflet, safe feature layers, legend, title.

Every piece of text that reaches the page goes through one of two doors: JSON inside a script
(folium's ``tojson`` or :func:`safe_json`, which escape ``<``, ``>``, ``&`` and ``'``) and is put
on the page with ``textContent``; or HTML built here with :func:`html.escape`. Nothing is ever
put into ``innerHTML`` unescaped, so a name such as ``<script>alert(1)</script>`` shows as text.
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


HELPERS_JS = r"""
function cotermTable(labels, values) {
  var table = document.createElement('table');
  table.className = 'coterm-detail';
  for (var i = 0; i < labels.length; i++) {
    if (values[i] === null || values[i] === undefined || values[i] === '') continue;
    var row = table.insertRow();
    var th = document.createElement('th');
    th.textContent = labels[i];
    row.appendChild(th);
    row.insertCell().textContent = String(values[i]);
  }
  return table;
}
function cotermDetail(heading, labels, values) {
  var div = document.createElement('div');
  var b = document.createElement('div');
  b.className = 'coterm-heading';
  b.textContent = heading;
  div.appendChild(b);
  div.appendChild(cotermTable(labels, values));
  return div;
}
function cotermHatch() {
  // One SVG pattern for "wrong side" fills: stripes let the colour underneath show through.
  if (document.getElementById('coterm-hatch')) return;
  var ns = 'http://www.w3.org/2000/svg';
  var svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', '0'); svg.setAttribute('height', '0');
  svg.style.position = 'absolute';
  var pattern = document.createElementNS(ns, 'pattern');
  pattern.setAttribute('id', 'coterm-hatch');
  pattern.setAttribute('patternUnits', 'userSpaceOnUse');
  pattern.setAttribute('width', '7'); pattern.setAttribute('height', '7');
  pattern.setAttribute('patternTransform', 'rotate(45)');
  var rect = document.createElementNS(ns, 'rect');
  rect.setAttribute('width', '3'); rect.setAttribute('height', '7'); rect.setAttribute('fill', '#c2185b');
  pattern.appendChild(rect);
  var defs = document.createElementNS(ns, 'defs');
  defs.appendChild(pattern);
  svg.appendChild(defs);
  document.body.appendChild(svg);
}
function cotermLayer(map, data, o) {
  cotermHatch();
  if (!map.getPane(o.pane)) {
    var pane = map.createPane(o.pane);
    pane.style.zIndex = o.z;
    pane.style.pointerEvents = 'none';
  }
  var layer = L.geoJSON(data, {
    pane: o.pane,
    interactive: o.interactive,
    style: function (f) { return o.styles[f.properties.s]; },
    onEachFeature: function (f, l) {
      var p = f.properties;
      if (o.tooltip.length) {
        l.bindTooltip(function () { return cotermDetail(p.h, o.tooltip, p.t); },
                      {sticky: true, className: 'coterm-tooltip', pane: 'tooltipPane'});
      }
      if (o.popup.length) {
        l.bindPopup(function () { return cotermDetail(p.h, o.popup, p.p); }, {maxWidth: 460});
      }
      if (o.interactive) {
        l.on('mouseover', function () {
          l.setStyle({weight: (o.styles[p.s].weight || 1) + 2});
        });
        l.on('mouseout', function () { l.setStyle(o.styles[p.s]); });
      }
    }
  });
  layer.cotermLabel = o.label;
  layer.cotermPane = o.pane;
  (window.cotermLayers = window.cotermLayers || []).push(layer);
  return layer;
}
"""

HELPERS_CSS = """
.coterm-detail { border-collapse: collapse; font: 12px/1.3 system-ui, sans-serif; }
.coterm-detail th { text-align: left; font-weight: normal; color: #555; padding: 1px 8px 1px 0; vertical-align: top; }
.coterm-detail td { padding: 1px 0; font-variant-numeric: tabular-nums; }
.coterm-heading { font: bold 13px/1.3 system-ui, sans-serif; margin-bottom: 3px; }
.coterm-box { background: rgba(255,255,255,0.92); padding: 6px 9px; border-radius: 4px;
              box-shadow: 0 1px 4px rgba(0,0,0,0.35); font: 12px/1.35 system-ui, sans-serif; max-width: 320px; }
.coterm-box h4 { margin: 0 0 4px; font-size: 13px; }
.coterm-swatch { display: inline-block; width: 14px; height: 11px; margin-right: 6px; vertical-align: -1px;
                 border: 1px solid rgba(0,0,0,0.4); }
.coterm-line { display: inline-block; width: 16px; height: 0; margin-right: 6px; vertical-align: 3px; }
.coterm-title { font: bold 15px/1.3 system-ui, sans-serif; }
"""


class InlineAssets(MacroElement):
    """Leaflet's CSS and JS and the coterminosity helpers, inlined in the page head (works offline)."""

    _template = Template("""
{% macro header(this, kwargs) %}
<style>{{ this.css }}</style>
<script>if (typeof window.L === 'undefined') {
{{ this.js }}
}</script>
<style>{{ this.helpers_css }}</style>
<script>{{ this.helpers_js }}</script>
{% endmacro %}
""")

    def __init__(self):
        super().__init__()
        self._name = "CotermAssets"
        self.css, self.js = leaflet_css(), leaflet_js()
        self.helpers_css, self.helpers_js = HELPERS_CSS, HELPERS_JS


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
        # Leaflet's layer control puts names into innerHTML: hand it escaped text.
        super().__init__(name=html.escape(name), overlay=True, control=control, show=show)
        self._name = "CotermLayer"
        self.map_name = map_name
        self.data_json = data_json
        self.options_json = safe_json(options)


class Control(MacroElement):
    """A Leaflet control holding HTML that was built (and escaped) in Python."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
{{ this.get_name() }}.onAdd = function () {
  var div = L.DomUtil.create('div', {{ this.css_class|tojson }});
  div.innerHTML = {{ this.html|tojson }};
  L.DomEvent.disableScrollPropagation(div);
  return div;
};
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, html_text: str, position: str = "bottomright", css_class: str = "coterm-box"):
        super().__init__()
        self._name = "CotermControl"
        self.html, self.position, self.css_class = html_text, position, css_class


def legend_html(title: str, entries: list[tuple[str, dict]]) -> str:
    """Legend HTML: a title and one line per (label, Leaflet style) entry; all text escaped."""
    rows = [f"<h4>{html.escape(title)}</h4>"]
    for label, style in entries:
        if style.get("fillColor", "").startswith("url(#coterm-hatch"):
            mark = ('<span class="coterm-swatch" style="background:repeating-linear-gradient(45deg,'
                    f'{html.escape(style.get("color", "#c2185b"))} 0 3px,transparent 3px 7px)"></span>')
        elif style.get("fill", True) and style.get("fillOpacity", 0.2) > 0:
            colour = style.get("fillColor", style.get("color", "#888"))
            border = style.get("color", "#333")
            mark = (f'<span class="coterm-swatch" style="background:{html.escape(colour)};'
                    f'border-color:{html.escape(border)};opacity:{min(1.0, style.get("fillOpacity", 0.2) + 0.3):.2f}"></span>')
        else:
            dash = "dashed" if style.get("dashArray") else "solid"
            mark = (f'<span class="coterm-line" style="border-top:{max(1, int(style.get("weight", 1)))}px {dash} '
                    f'{html.escape(style.get("color", "#333"))}"></span>')
        rows.append(f"<div>{mark}{html.escape(label)}</div>")
    return "".join(rows)


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
