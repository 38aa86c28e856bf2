"""Interactive coterminosity maps (folium/Leaflet): draw what ``boundaries/`` computed.

Python API::

    from coterminosity.boundaries.comparison import compare
    from coterminosity.maps import build_map, render_html, render_fragment, add_layer, MapLayer
    comps = [compare(stp, upper, population, by="population")]
    m = build_map(stp, comps, fine=small_area_layer(), tiles="none")   # a folium.Map (notebooks show it)
    html = render_html(m)                                                # standalone page, works offline
    add_layer(m, places_frame, "Places", ["code", "name"], {"color": "#08c"})  # any extra polygons
"""

from .build import MapSummary, build_map
from .layers import MapLayer, add_layer, draw, format_value
from .render import render_fragment, render_html

__all__ = ["MapLayer", "MapSummary", "add_layer", "build_map", "draw", "format_value", "render_fragment",
           "render_html"]
