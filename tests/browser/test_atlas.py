"""``coterm atlas``: a static site that works offline, with no broken links, sortable and searchable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from headless import Browser, find_chromium

from coterminosity.cli import main

needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="chromium not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def site(six, tmp_path_factory):
    """The atlas of the six hand footprints (one of each class) against the six hand councils, by area."""
    fp, co, _ = six
    folder = tmp_path_factory.mktemp("atlas")
    fp.frame.to_file(folder / "fp.gpkg")
    co.frame.to_file(folder / "co.gpkg")
    out = folder / "site"
    assert main(["-q", "atlas", str(folder / "fp.gpkg"), "--against", str(folder / "co.gpkg"), "-o", str(out)]) == 0
    return out


def links(page: Path) -> list[str]:
    return re.findall(r'(?:href|src)="([^"#]+)"', page.read_text())


def test_atlas_files_and_links(site):
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert pages == ["fp/F1.html", "fp/F2.html", "fp/F3.html", "fp/F4.html", "fp/F5.html", "fp/F6.html", "index.html",
                     "map.html"]
    broken = [(p.name, link) for p in site.rglob("*.html") for link in links(p) if not (p.parent / link).resolve().is_file()]
    assert broken == []
    assert not any(link.startswith(("http:", "https:", "//")) for p in site.rglob("*.html") for link in links(p))
    index = (site / "index.html").read_text()
    # One row per footprint with its class (by area here: no population given for hand files).
    for code, cls in [("F1", "coterminous"), ("F2", "nested"), ("F3", "split"), ("F4", "contains"), ("F5", "partial"),
                      ("F6", "uncovered")]:
        assert re.search(rf">{code}</td><td>{cls}</td>", index), code
    f3 = (site / "fp" / "F3.html").read_text()
    assert "Co units it splits (1)" in f3 and "<td>c2</td>" in f3  # F3 cuts c2 (half of it, by area)
    assert "<script>" not in f3 and "<style" not in f3  # scripts and styles are files: a strict CSP can host it


@needs_chromium
@pytest.mark.browser
def test_atlas_pages_load_offline_sort_and_filter(site):
    with Browser(1000, 900) as b:
        log = b.open(site / "index.html")
        assert log.errors == [] and log.blocked == []
        rows = "Array.from(document.querySelectorAll('table.index tbody tr')).filter(r => !r.hidden).map(r => r.cells[2].innerText)"
        assert b.evaluate(rows) == ["F4", "F1", "F2", "F5", "F3", "F6"]  # by name: Cont, Cot, Nest, Part, Split, Unc
        b.evaluate("(function(){var f = document.querySelector('.filter'); f.value = 'split';"
                   "f.dispatchEvent(new Event('input'));})()")
        assert b.evaluate(rows) == ["F3"]
        b.evaluate("(function(){var f = document.querySelector('.filter'); f.value = '';"
                   "f.dispatchEvent(new Event('input'));})()")
        b.evaluate("Array.from(document.querySelectorAll('table.index th')).find(t => t.innerText.startsWith('Fit')).click()")
        fits = b.evaluate("Array.from(document.querySelectorAll('table.index tbody tr')).map(r => parseFloat(r.cells[6].innerText))")
        assert fits == sorted(fits) and fits[0] < 100
        for page in sorted((site / "fp").glob("*.html")) + [site / "map.html"]:
            log = b.open(page, settle=0.3)
            assert log.errors == [] and log.blocked == [], page.name
            drawn = b.evaluate("(function(){var h = Object.values(window.cotermMaps)[0];"
                               "return h.container.querySelectorAll('.leaflet-coterm-footprints-pane path').length;})()")
            assert drawn >= 1, page.name
