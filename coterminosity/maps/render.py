"""A map as text: a standalone page, or a fragment any web page can host.

Both are the same fragment: a ``<div class="coterm-map">`` holding its styles, a private
Leaflet, the map canvas and the map script. What makes it safe to paste into someone else's
page:

* every CSS rule (Leaflet's included) is scoped to ``.coterm-map`` and resets what hosts commonly
  set (``svg{max-width:100%}``, table borders, colours), so neither page restyles the other;
* Leaflet is loaded once into ``window.cotermLeaflet`` and the host's own ``L`` (any version) is
  given back (``L.noConflict()``); the map script runs in a closure over that private copy;
* no DOM ids: the script finds its canvas next to itself (``document.currentScript``), so the
  same fragment can appear twice; ids in the script are numbered, and the map id is a hash of
  the content (or ``map_id``), so two identical builds are byte-identical;
* a hidden tab or accordion is handled by a ``ResizeObserver`` that redraws (``invalidateSize``)
  and fits the view when the map first becomes visible; ``window.cotermMaps[id]`` is its handle;
* for a Content-Security-Policy without ``'unsafe-inline'``: ``nonce`` adds the nonce to every
  ``<script>``/``<style>``, and ``assets`` puts Leaflet, the styles and the map script in files
  (:class:`Rendered` ``.files``) next to the page. Nothing writes inline ``style`` attributes.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from dataclasses import dataclass, field
from typing import Literal

import folium

from .elements import coterm_css, coterm_js, leaflet_css, leaflet_js

LEAFLET_VERSION = "1.9.4"
Kind = Literal["page", "fragment"]
_FOLIUM_ID = re.compile(r"_([0-9a-f]{32})\b")
_ID_OK = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


@dataclass
class Rendered:
    """The text to write (page or fragment), the map id, and the asset files (name → bytes) it refers to."""

    text: str
    map_id: str
    files: dict[str, bytes] = field(default_factory=dict)


# ---------------------------------------------------------------- CSS scoping


def scope_css(css: str, scope: str = ".coterm-map") -> str:
    """Prefix every selector with ``scope`` (inside ``@media`` blocks too); comments dropped."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out, i = [], 0
    while i < len(css):
        brace = css.find("{", i)
        if brace < 0:
            break
        head = css[i:brace].strip()
        depth, j = 1, brace + 1
        while depth and j < len(css):
            depth += {"{": 1, "}": -1}.get(css[j], 0)
            j += 1
        body = css[brace + 1:j - 1]
        if head.startswith("@media") or head.startswith("@supports"):
            out.append(f"{head}{{{scope_css(body, scope)}}}")
        elif head.startswith("@"):
            out.append(f"{head}{{{body}}}")
        else:
            selectors = []
            for sel in head.split(","):
                sel = sel.strip()
                if sel.startswith(scope):
                    selectors.append(sel)
                elif sel in ("html", "body", ":root"):
                    selectors.append(scope)
                else:
                    selectors.append(f"{scope} {sel}")
            out.append(f"{','.join(selectors)}{{{body.strip()}}}")
        i = j
    return "\n".join(out)


def _images_to_files(css: str) -> tuple[str, dict[str, bytes]]:
    """Leaflet's inlined control images back to files (a CSP may not allow ``data:`` images)."""
    files: dict[str, bytes] = {}

    def repl(match: re.Match) -> str:
        data = base64.b64decode(match.group(2))
        name = f"coterm-{hashlib.sha256(data).hexdigest()[:10]}.{match.group(1)}"
        files[name] = data
        return f"url({name})"

    return re.sub(r"url\(data:image/(png|svg\+xml);base64,([A-Za-z0-9+/=]+)\)", repl, css), files


# ---------------------------------------------------------------- the pieces of a map


def _map_script(m: folium.Map) -> str:
    """The map's own script (folium's body script) with its random element ids numbered in order."""
    page = m.get_root().render()
    found = re.search(r"</body>\s*<script>(.*)</script>\s*</html>\s*$", page, re.S)
    if not found:
        raise RuntimeError("unexpected folium page layout: cannot find the map script")
    script = found.group(1)
    numbers: dict[str, str] = {}

    def number(match: re.Match) -> str:
        return "_" + numbers.setdefault(match.group(1), str(len(numbers) + 1))

    script = _FOLIUM_ID.sub(number, script)
    script, count = re.subn(r'L\.map\(\s*"map_1"', "L.map(cotermCanvas", script)
    if count != 1:
        raise RuntimeError("unexpected folium map script: cannot find L.map")
    return "\n".join(line.rstrip() for line in script.strip().splitlines() if line.strip())


def _size(value: str) -> str:
    value = str(value)
    return f"{value}px" if re.fullmatch(r"\d+(\.\d+)?", value) else value


def leaflet_loader() -> str:
    """Leaflet, loaded once into ``window.cotermLeaflet``; a host's own ``window.L`` is given back."""
    return ("(function () {\nif (window.cotermLeaflet) return;\nvar hostL = window.L;\n" + leaflet_js()
            + "\nwindow.cotermLeaflet = (hostL && hostL !== window.L) ? window.L.noConflict() : window.L;\n})();")


def _wrapped_script(script: str, map_id: str, spec_name: str) -> str:
    return ("(function (L) {\n"
            f"var cotermId = {spec_name};\n"
            "var cotermRoot = document.currentScript.parentNode;\n"
            "var cotermCanvas = cotermRoot.querySelector('.coterm-map-canvas');\n"
            + coterm_js() + "\n" + script + "\n})(window.cotermLeaflet);")


def _styles(map_id: str, width: str, height: str, kind: Kind) -> str:
    # A fragment whose height is a percentage of a host box with no height would be 0 px tall.
    floor = ";min-height:480px" if kind == "fragment" and str(height).endswith("%") else ""
    size = f".coterm-map-{map_id}{{width:{_size(width)};height:{_size(height)}{floor}}}"
    css = scope_css(leaflet_css()) + "\n" + coterm_css() + "\n" + size
    if kind == "page":
        css += ("\nhtml,body{margin:0;padding:0;height:100%}"
                "\n@page{size:A4 landscape;margin:10mm}"
                f"\n@media print{{html,body{{height:auto}}.coterm-map-{map_id}{{width:277mm;height:185mm}}}}")
    return css


def render(m: folium.Map, kind: Kind = "page", *, map_id: str | None = None, nonce: str | None = None,
           assets: str | None = None) -> Rendered:
    """The map as a ``page`` or ``fragment``.

    ``map_id``: the handle in ``window.cotermMaps`` and the class ``coterm-map-<id>`` (default: a
    hash of the content). ``nonce``: added to every ``<script>`` and ``<style>`` for a CSP.
    ``assets``: the URL (relative to the page) of a folder that will hold :attr:`Rendered.files`;
    the page then has no inline script or style at all.
    """
    if map_id is not None and not _ID_OK.match(map_id):
        raise ValueError(f"map id {map_id!r}: use letters, digits, '-' and '_' (starting with a letter)")
    if nonce is not None and not re.fullmatch(r"[A-Za-z0-9+/=_-]+", nonce):
        raise ValueError(f"nonce {nonce!r}: use base64 characters only")
    script = _map_script(m)
    width, height = getattr(m, "coterm_size", (m.width, m.height))
    if kind == "page":
        width, height = "100%", "100%"
    digest = hashlib.sha256("\0".join([script, _size(width), _size(height), kind]).encode()).hexdigest()
    map_id = map_id or f"m{digest[:10]}"
    title = getattr(m, "coterm_title", "") or "coterminosity map"
    css = _styles(map_id, width, height, kind)
    js = _wrapped_script(script, map_id, f'"{map_id}"')
    loader = leaflet_loader()
    attr = f' nonce="{nonce}"' if nonce else ""
    files: dict[str, bytes] = {}
    if assets is not None:
        base = assets.rstrip("/") + "/" if assets else ""
        css, files = _images_to_files(css)
        leaflet_name = f"coterm-leaflet-{LEAFLET_VERSION}.js"
        files[leaflet_name] = loader.encode()
        files[f"coterm-map-{map_id}.css"] = css.encode()
        files[f"coterm-map-{map_id}.js"] = js.encode()
        head = f'<link rel="stylesheet" href="{html.escape(base)}coterm-map-{map_id}.css">'
        body = (f'<script src="{html.escape(base)}{leaflet_name}"></script>\n'
                '<div class="coterm-map-canvas folium-map"></div>\n'
                f'<script src="{html.escape(base)}coterm-map-{map_id}.js"></script>')
    else:
        head = f"<style{attr}>\n{css}\n</style>"
        body = (f"<script{attr}>\n{loader}\n</script>\n"
                '<div class="coterm-map-canvas folium-map"></div>\n'
                f"<script{attr}>\n{js}\n</script>")
    fragment = (f'<div class="coterm-map coterm-map-{map_id}" data-coterm-id="{map_id}">\n'
                + (head + "\n" if kind == "fragment" else "") + body + "\n</div>\n")
    if kind == "fragment":
        return Rendered(fragment, map_id, files)
    text = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n{head}\n</head>\n<body>\n{fragment}</body>\n</html>\n")
    return Rendered(text, map_id, files)


def render_html(m: folium.Map, **options) -> str:
    """The whole page: standalone, Leaflet inlined, nothing fetched from the internet but map tiles."""
    return render(m, "page", **options).text


def render_fragment(m: folium.Map, **options) -> str:
    """An HTML fragment to paste into another page: one ``<div class="coterm-map">`` with its styles,
    a private Leaflet and the map script; no ``<html>``/``<head>``/``<body>``, no DOM ids."""
    return render(m, "fragment", **options).text
