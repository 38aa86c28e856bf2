"""Map test fixtures: hand-made layers (no data folder) and the real England comparison."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # headless.py, maptools.py, colour.py

from maptools import NASTY, NASTY_IMG, box, hand_layer, points

from coterminosity.boundaries.comparison import compare


@pytest.fixture(scope="module")
def hand():
    """Two footprints side by side (x 0–2000 and 2000–4000); three councils, the middle one split 40/60.

    West footprint = council w (0–1000) + half of council mid (1000–3000); east = the other half + e.
    People: 100 in w, 40 + 60 in mid (west half / east half), 200 in e.
    """
    fp = hand_layer("fp", [("F1", NASTY, box(0, 0, 2000, 2000)), ("F2", "East footprint", box(2000, 0, 4000, 2000))])
    co = hand_layer("co", [("w", "West council", box(0, 0, 1000, 2000)), ("mid", NASTY_IMG, box(1000, 0, 3000, 2000)),
                           ("e", "East council", box(3000, 0, 4000, 2000))])
    pop = points("hand", [(500, 1000, 100), (1500, 1000, 40), (2500, 1000, 60), (3500, 1000, 200)])
    return fp, co, compare(fp, co, pop)


@pytest.fixture(scope="module")
def six():
    """Six footprints in a row, one of each class against six councils (checked by hand):
    F1 = C1 (coterminous); F2 inside C2 (nested); F3 = the other half of C2 + C3 (split);
    F4 = C4 + C5 (contains); F5 half in C6, half outside every council (partial); F6 in none
    (uncovered). 100 people at each of ten points."""
    fp = hand_layer("fp", [("F1", "Cot", box(0, 0, 1000, 1000)), ("F2", "Nest", box(1000, 0, 2000, 1000)),
                           ("F3", "Split", box(2000, 0, 4000, 1000)), ("F4", "Cont", box(4000, 0, 6000, 1000)),
                           ("F5", "Part", box(6500, 0, 8000, 1000)), ("F6", "Unc", box(9000, 0, 10000, 1000))])
    co = hand_layer("co", [("C1", "c1", box(0, 0, 1000, 1000)), ("C2", "c2", box(1000, 0, 3000, 1000)),
                           ("C3", "c3", box(3000, 0, 4000, 1000)), ("C4", "c4", box(4000, 0, 5000, 1000)),
                           ("C5", "c5", box(5000, 0, 6000, 1000)), ("C6", "c6", box(6000, 0, 7500, 1000))])
    pop = points("hand", [(x, 500, 100) for x in (500, 1500, 2500, 3500, 4500, 5500, 6250, 7000, 7750, 9500)])
    return fp, co, compare(fp, co, pop)


@pytest.fixture(scope="module")
def real(data_dir):
    from coterminosity.geo import load_layer, load_population, small_area_layer

    stp, upper = load_layer("stp17", data_dir=data_dir), load_layer("upper17", data_dir=data_dir)
    pop = load_population(None, data_dir=data_dir)
    return stp, upper, pop, small_area_layer(data_dir), compare(stp, upper, pop)


@pytest.fixture(scope="module")
def england(real):
    from coterminosity.maps import build_map, render_html

    stp, upper, pop, fine, comp = real
    m = build_map(stp, [comp], fine=fine)
    return m, render_html(m)
