"""A map as text: one standalone HTML page, or a fragment (a ``<div>`` plus its styles and scripts)."""

from __future__ import annotations

import re

import folium

_PAGE_ONLY = re.compile(r"<meta[^>]*>|<style>\s*html,\s*body\s*\{[^}]*\}\s*</style>|"
                        r"<script>\s*L_NO_TOUCH[^<]*</script>|<style>\s*#map\s*\{[^}]*\}\s*</style>", re.S)


def render_html(m: folium.Map) -> str:
    """The whole page: standalone, Leaflet inlined, nothing fetched from the internet but map tiles."""
    return m.get_root().render()


def render_fragment(m: folium.Map) -> str:
    """An HTML fragment to paste into another page: the map ``<div>`` with its styles and scripts, no
    ``<html>``/``<head>``/``<body>``. Leaflet is inlined (and not loaded twice if the page has it)."""
    page = render_html(m)
    head = re.search(r"<head>(.*?)</head>", page, re.S)
    body = re.search(r"<body>(.*?)</body>", page, re.S)
    script = re.search(r"</body>\s*(<script>.*</script>)\s*</html>", page, re.S)
    if not (head and body and script):
        raise RuntimeError("unexpected folium page layout: cannot cut a fragment")
    head_part = _PAGE_ONLY.sub("", head.group(1)).strip()
    return (f'<div class="coterm-map-fragment">\n{head_part}\n{body.group(1).strip()}\n'
            f"{script.group(1).strip()}\n</div>\n")
