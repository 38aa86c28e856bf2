"""An atlas: a static, offline web site with one page per footprint and a searchable, sortable index.

``index.html`` lists every footprint with a thumbnail, its class, people, people on the wrong
side, fit and the councils it splits; ``map.html`` is the whole map; ``fp/CODE.html`` is one
footprint: its focused map, its facts, the councils it splits and its places. Leaflet, the
styles and each map's script are files under ``assets/`` (shared, so the site stays small, and
the pages need no inline script). Every number comes from the same results as the reports.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import shapely

from ..geo.layer import Layer
from .build import build_map
from .elements import _static
from .frames import unit_word
from .layers import format_value
from .render import render
from .styles import CLASS_COLOURS, short_title

if TYPE_CHECKING:
    from ..boundaries.comparison import Comparison
    from ..boundaries.places import Places

log = logging.getLogger(__name__)
THUMB = 64  # thumbnail size in pixels


@dataclass
class Atlas:
    """The site's files: relative path → bytes; ``pages`` lists the footprint pages written."""

    files: dict[str, bytes] = field(default_factory=dict)
    pages: list[str] = field(default_factory=list)


def _e(value) -> str:
    return html.escape(str(value))


def thumbnail(geom, colour: str, tolerance: float) -> str:
    """A small inline SVG of one footprint (EPSG:27700 coordinates, north up)."""
    simple = shapely.simplify(geom, tolerance, preserve_topology=True)
    minx, miny, maxx, maxy = simple.bounds
    size = max(maxx - minx, maxy - miny) or 1.0
    paths = []
    for poly in shapely.get_parts(simple):
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)
            x = (xy[:, 0] - minx) / size * THUMB
            y = (maxy - xy[:, 1]) / size * THUMB
            paths.append("M" + "L".join(f"{a:.1f} {b:.1f}" for a, b in zip(x, y)) + "Z")
    return (f'<svg class="thumb" width="{THUMB}" height="{THUMB}" viewBox="0 0 {THUMB} {THUMB}" aria-hidden="true">'
            f'<path d="{"".join(paths)}" fill="{colour}" fill-rule="evenodd" stroke="#222" stroke-width="0.8"/></svg>')


def _page(title: str, body: str, css: str, scripts: Sequence[str] = ()) -> str:
    tags = "".join(f'<script src="{_e(s)}"></script>' for s in scripts)
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{_e(title)}</title>\n<link rel="stylesheet" href="{_e(css)}">\n</head>\n<body>\n'
            f"{body}\n{tags}\n</body>\n</html>\n")


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), cls: str = "") -> str:
    head = "".join(f'<th{" class=num" if i in numeric else ""}>{_e(h)}</th>' for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f'<td{" class=num" if i in numeric else ""}>{c}</td>' for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def build_atlas(footprints: Layer, comparisons: Sequence[Comparison], *, fine: Layer | None = None,
                places: Places | None = None, only: Sequence[str] | None = None, title: str | None = None) -> Atlas:
    """The atlas of ``footprints`` against the first comparison (every comparison drawn on the maps).

    ``places``: a :func:`~coterminosity.boundaries.places.places` result listed on each page.
    ``only``: footprint codes to make pages for (default every footprint; the index lists all).
    """
    from ..boundaries.focus import focus_on

    comp = comparisons[0]
    words = unit_word(comp.b.label)
    title = title or f"{short_title(footprints.label)} against {short_title(comp.b.label)}"
    atlas = Atlas()
    atlas.files["assets/atlas.css"] = _static("atlas.css").encode()
    atlas.files["assets/atlas.js"] = _static("atlas.js").encode()

    def add_map(m, page_dir: str, map_id: str, kind: str) -> str:
        out = render(m, kind, map_id=map_id, assets=f"{page_dir}assets")
        for name, data in out.files.items():
            atlas.files[f"assets/{name}"] = data
        return out.text

    whole = build_map(footprints, comparisons, fine=fine, title=title)
    atlas.files["map.html"] = add_map(whole, "", "atlas-england", "page").encode()

    table = comp.table.sort_values("name").reset_index(drop=True)
    geoms = footprints.frame.set_index("code").geometry
    tolerance = max(float(np.hypot(*np.ptp(np.asarray(footprints.frame.total_bounds).reshape(2, 2), axis=0))) / 400, 1.0)
    real = comp.overlay.real()
    split_codes = set(comp.split["code"])
    largest = comp.largest.set_index("code")
    names = footprints.names()
    wanted = set(only) if only else set(table["code"])
    rows = []
    for r in table.itertuples():
        colour = CLASS_COLOURS.get(table.loc[r.Index, "class"], "#bbbbbb")
        link = f'<a href="fp/{_e(r.code)}.html">{_e(r.name)}</a>' if r.code in wanted else _e(r.name)
        cut = real[(real["a_code"] == r.code) & real["b_code"].isin(split_codes)]
        rows.append([thumbnail(geoms[r.code], colour, tolerance), link, _e(r.code), _e(table.loc[r.Index, "class"]),
                     _e(format_value(comp.weight_col, getattr(r, comp.weight_col))),
                     _e(format_value(comp.weight_col, r.wrong_side)), _e(format_value("fit", r.fit)), str(len(cut))])
    amount = "People" if comp.by == "population" else comp.by.replace("_", " ").capitalize()
    index = (f'<header><h1>{_e(title)}</h1><p>{len(table)} footprints; class, wrong side and fit against '
             f'{_e(words)} (threshold {comp.threshold:.0%}). <a href="map.html">The whole map</a>.</p>'
             '<input type="search" class="filter" placeholder="Filter by name, code or class" '
             'aria-label="Filter footprints"></header><main>'
             + _table(["", "Footprint", "Code", "Class", amount, f"{amount} on the wrong side", "Fit",
                       f"{words.capitalize()} split"], rows, {4, 5, 6, 7}, "index sortable")
             + "".join(f"<p class=note>{_e(line)}</p>" for line in comp.lines()[:1]) + "</main>")
    atlas.files["index.html"] = _page(title, index, "assets/atlas.css", ["assets/atlas.js"]).encode()

    for r in table[table["code"].isin(wanted)].itertuples():
        code = r.code
        focus = focus_on(footprints, comparisons, code)
        m = build_map(footprints, comparisons, fine=fine, focus=focus, height="560px", title=f"{r.name} ({code})")
        fragment = add_map(m, "../", f"fp-{code}", "fragment")
        facts = [[_e("Class"), _e(table.loc[r.Index, "class"])],
                 [_e(amount), _e(format_value(comp.weight_col, getattr(r, comp.weight_col)))],
                 [_e(f"{amount} on the wrong side"), _e(format_value(comp.weight_col, r.wrong_side))],
                 [_e("Fit"), _e(format_value("fit", r.fit))],
                 [_e("Best match"), _e(f"{r.best_name} ({format_value('share', r.share_in_best)} of it)")
                  if isinstance(r.best_name, str) else ""]]
        cut = real[(real["a_code"] == code) & real["b_code"].isin(split_codes)]
        split_rows = [[_e(s.b_name), _e(format_value(comp.weight_col, getattr(s, comp.weight_col))),
                       _e(format_value("share", getattr(s, f"b_in_a_{comp.by}"))),
                       _e(names.get(largest.loc[s.b_code, "largest_in"], "")) if s.b_code in largest.index else ""]
                      for s in cut.itertuples()]
        near = sorted(focus.keep[footprints.label] - {code}, key=lambda c: names.get(c, c))
        body = ['<nav><a href="../index.html">All footprints</a> · <a href="../map.html">Whole map</a></nav>',
                f"<h1>{_e(r.name)} <small>{_e(code)}</small></h1>", fragment,
                "<section><h2>Facts</h2>" + _table(["", ""], facts, cls="facts") + "</section>"]
        body.append(f"<section><h2>{_e(words.capitalize())} it splits ({len(split_rows)})</h2>"
                    + (_table([short_title(comp.b.label), f"{amount} in this footprint", "Share of it here",
                               "Its main footprint"], split_rows, {1, 2})
                       if split_rows else f"<p>None: every {unit_word(comp.b.label, False)} it touches is whole.</p>")
                    + "</section>")
        if places is not None:
            mine = places.table[places.table["footprint"] == code]
            cols = [c for c in ("population", "area_km2", "footprint_share", "unit_share", "kind") if c in mine]
            place_rows = [[_e(p["name"])] + [_e(format_value(c, p[c])) for c in cols] for _, p in mine.iterrows()]
            body.append(f"<section><h2>Places ({len(place_rows)})</h2>"
                        + _table(["Place"] + [c.replace("_", " ").capitalize() for c in cols], place_rows,
                                 set(range(1, len(cols)))) + "</section>")
        body.append("<section><h2>Neighbours</h2><p>" + " · ".join(
            f'<a href="{_e(c)}.html">{_e(names.get(c, c))}</a>' if c in wanted else _e(names.get(c, c)) for c in near)
            + "</p></section>")
        path = f"fp/{code}.html"
        atlas.files[path] = _page(f"{r.name} — {title}", "\n".join(body), "../assets/atlas.css").encode()
        atlas.pages.append(path)
        log.info("atlas: %s (%s)", r.name, code)
    return atlas
