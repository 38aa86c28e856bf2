"""Maps: numbers taken from the Comparison, geometry kept topologically sound, text escaped, pages
that are deterministic and need no internet (no browser needed here; see test_map_pages.py and
test_embed.py for the pages in headless Chromium)."""

from __future__ import annotations

import json
import logging
import re

import geopandas as gpd
import pytest
import shapely
from maptools import NASTY, NASTY_IMG, box, features, row

from coterminosity.boundaries.focus import find_footprint, focus_on
from coterminosity.cli import main
from coterminosity.errors import InputError
from coterminosity.geo.layer import BNG
from coterminosity.maps import add_layer, build_map, render_fragment, render_html
from coterminosity.maps.build import max_zoom
from coterminosity.maps.elements import FeatureLayer, safe_json
from coterminosity.maps.geometry import display_geometry, to_display
from coterminosity.maps.render import render, scope_css

LINCOLNSHIRE_STP, LINCOLNSHIRE_CC = "E54000013", "E10000019"


def test_maps_import_no_computation():
    import subprocess
    import sys

    code = ("import sys, coterminosity.maps; "
            "print([m for m in ('coterminosity.boundaries.overlay', 'coterminosity.boundaries.metrics') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_safe_json_cannot_close_a_script():
    text = safe_json({"name": NASTY + "&'"})
    assert "<" not in text and ">" not in text and "&" not in text and "'" not in text
    assert json.loads(text)["name"] == NASTY + "&'"


def test_hand_map_numbers_come_from_the_comparison(hand):
    fp, co, comp = hand
    m = build_map(fp, [comp])
    feats = features(m)
    assert [len(feats[p]) for p in ("coterm-footprints", "coterm-units-0", "coterm-split-0", "coterm-pieces-0")] == [2, 3, 1, 2]
    # By hand: F1 holds w (100) and 40 of mid's 100 people: class split, wrong side min(40, 60) = 40.
    f1 = row(m, "coterm-footprints", "F1")
    assert f1["Population"] == "140" and f1["Class against co units"] == "split"
    assert f1["People on the wrong side"] == "40" and f1["Fit (1 − wrong side ÷ population)"] == "71.4%"
    assert f1["Code"] == "F1"
    mid = row(m, "coterm-units-0", "mid")
    assert mid["Population"] == "100" and mid["Split between them"] == "yes"
    assert mid["Share in the main one"] == "60.0%" and mid["Outside the main one"] == "40"
    assert mid["Main fp unit (holds most of it)"] == "East footprint"
    # The pieces of the split council: 40 people west (wrong side), 60 east (its main footprint).
    west, east = row(m, "coterm-pieces-0", "F1|mid"), row(m, "coterm-pieces-0", "F2|mid")
    assert (west["Population"], west["Piece"]) == ("40", "outside the co unit's main fp unit (wrong side)")
    assert (east["Population"], east["Piece"]) == ("60", "in the co unit's main fp unit")
    pieces = {f["properties"]["code"]: shapely.geometry.shape(f["geometry"]) for f in feats["coterm-pieces-0"]}
    assert pieces["F1|mid"].area == pytest.approx(pieces["F2|mid"].area, rel=0.01)
    # Hover is light: only the footprints answer it, with their name; everything else lets the mouse through.
    options = {el.pane: json.loads(el.options_json) for el in m._children.values() if isinstance(el, FeatureLayer)}
    assert [p for p, o in options.items() if o["hover"]] == ["coterm-footprints"]
    assert [p for p, o in options.items() if o["interactive"]] == ["coterm-footprints"]
    assert options["coterm-split-0"]["halo"]["color"] == "#ffffff"  # the magenta line sits on a white halo


def test_six_classes_and_the_legend(six):
    fp, co, comp = six
    assert list(comp.table["class"]) == ["coterminous", "nested", "split", "contains", "partial", "uncovered"]
    m = build_map(fp, [comp])
    spec = m.coterm_legend
    labels = [e["label"] for e in spec]
    assert labels[:6] == ["coterminous: the same area as one co unit", "made of whole co units", "inside one co unit",
                          "partly outside every co unit (coast, gaps)", "split: cuts through co units",
                          "overlaps no co unit"]
    fills = {e["label"].split(":")[0]: e["fill"] for e in spec[:6]}
    assert fills["split"] == "url(#coterm-class-split)" and fills["coterminous"] == "#009E73"
    page = render_html(m)
    # Wrong side is stated as the reports define it, and the stripes are explained.
    assert "the smaller of the part inside and the part outside it" in page
    # C2's 200 people lie 100/100 in F2 and F3: 100 outside its main footprint (C6's other half lies
    # in no footprint at all, so it is not on the wrong side of any footprint line).
    assert "pieces of co units outside their main footprint: 100 people in all (the whole comparison)" in page


def test_several_layers_are_styled_apart_and_all_in_the_legend(hand):
    from maptools import hand_layer, points

    from coterminosity.boundaries.comparison import compare

    fp, co, comp = hand
    halves = hand_layer("halves", [("N", "North", box(0, 1000, 4000, 2000)), ("S", "South", box(0, 0, 4000, 1000))])
    # 70 people in the north of F1 and 70 in its south: F1 cuts both halves.
    pop = points("hand", [(500, 1500, 70), (500, 500, 70), (3000, 1500, 130), (3000, 500, 130)])
    m = build_map(fp, [comp, compare(fp, halves, pop)])
    styles = {el.pane: json.loads(el.options_json)["styles"] for el in m._children.values() if isinstance(el, FeatureLayer)}
    assert styles["coterm-units-0"] != styles["coterm-units-1"]
    labels = [e["label"] for e in m.coterm_legend]
    assert "co boundary" in labels and "halves boundary" in labels
    assert row(m, "coterm-footprints", "F1")["Class against halves units"] == "split"


def test_names_are_escaped_in_the_page(hand):
    fp, co, comp = hand
    m = build_map(fp, [comp], title=NASTY)
    add_layer(m, co.frame, NASTY_IMG, ["code", "name"], {"color": "#08c"})
    for text in (render_html(m), render_fragment(m)):
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "alert(1)" in text  # the name is there, as escaped data
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>" in render_html(m)


def test_page_needs_no_internet_with_tiles_none(hand):
    fp, co, comp = hand
    page = render_html(build_map(fp, [comp], tiles="none"))
    assert not re.findall(r'<(?:script|link)[^>]+(?:src|href)="https?:', page)
    assert 't.version="1.9.4"' in page  # Leaflet inlined
    assert "user-scalable=no" not in page and "maximum-scale" not in page  # pinch zoom allowed
    with_tiles = render_html(build_map(fp, [comp], tiles="osm"))
    assert "tile.openstreetmap.org" in with_tiles


def test_fragment_is_one_div_without_ids(hand):
    fp, co, comp = hand
    fragment = render_fragment(build_map(fp, [comp], height="500px"))
    assert fragment.startswith('<div class="coterm-map coterm-map-m') and fragment.rstrip().endswith("</div>")
    for tag in ("<html", "<head", "<body", "<meta", "<!DOCTYPE", ' id="'):
        assert tag not in fragment
    assert "height:500px" in fragment and fragment.count("<script") == 2
    assert "min-height:480px" not in fragment and "min-height:480px" in render_fragment(build_map(fp, [comp]))


def test_identical_builds_are_byte_identical(hand):
    fp, co, comp = hand
    one, two = render_fragment(build_map(fp, [comp])), render_fragment(build_map(fp, [comp]))
    assert one == two
    assert not re.search(r"[0-9a-f]{32}", one)  # no random folium ids left
    other = render_fragment(build_map(fp, [comp], color_by="score"))
    ids = [re.search(r'data-coterm-id="([^"]+)"', t).group(1) for t in (one, other)]
    assert ids[0] != ids[1]  # the id follows the content
    named = render(build_map(fp, [comp]), "fragment", map_id="lancs")
    assert named.map_id == "lancs" and 'data-coterm-id="lancs"' in named.text
    with pytest.raises(ValueError):
        render(build_map(fp, [comp]), "fragment", map_id="no spaces")


def test_cli_map_options_for_hosts(hand, tmp_path):
    fp, co, _ = hand
    fp.frame.to_file(tmp_path / "fp.gpkg")
    co.frame.to_file(tmp_path / "co.gpkg")
    out = tmp_path / "frag.html"
    base = ["-q", "map", str(tmp_path / "fp.gpkg"), "--against", str(tmp_path / "co.gpkg")]
    assert main(base + ["--embed", "--id", "review", "--nonce", "abc123", "--height", "450px", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith('<div class="coterm-map coterm-map-review" data-coterm-id="review">')
    assert text.count('nonce="abc123"') == 3 and "height:450px" in text
    bad = tmp_path / "bad.html"
    assert main(base + ["--id", "two words", "-o", str(bad)]) == 2 and not bad.exists()
    assert main(base + ["--nonce", "a\"b", "-o", str(bad)]) == 2 and not bad.exists()
    page = tmp_path / "pages" / "map.html"
    page.parent.mkdir()
    assert main(base + ["--assets", str(tmp_path / "static"), "--id", "p", "-o", str(page)]) == 0
    assert '<script src="../static/coterm-map-p.js"></script>' in page.read_text()
    assert (tmp_path / "static" / "coterm-leaflet-1.9.4.js").is_file()


def test_builds_in_two_processes_are_byte_identical(hand, tmp_path):
    import os
    import subprocess
    import sys

    fp, co, _ = hand
    fp.frame.to_file(tmp_path / "fp.gpkg")
    co.frame.to_file(tmp_path / "co.gpkg")
    for seed in ("1", "2"):  # different string hashing: no set order may reach the page
        subprocess.run([sys.executable, "-m", "coterminosity.cli", "-q", "map", str(tmp_path / "fp.gpkg"), "--against",
                        str(tmp_path / "co.gpkg"), "--embed", "-o", str(tmp_path / f"{seed}.html")],
                       check=True, env={**os.environ, "PYTHONHASHSEED": seed})
    assert (tmp_path / "1.html").read_bytes() == (tmp_path / "2.html").read_bytes()


def test_every_css_rule_is_scoped():
    css = scope_css(".a{color:red} .b, svg {x:1} @media print { .c { y:2 } } html {z:3}")
    assert css == (".coterm-map .a{color:red}\n.coterm-map .b,.coterm-map svg{x:1}\n"
                   "@media print{.coterm-map .c{y:2}}\n.coterm-map{z:3}")


def test_assets_and_nonce_leave_nothing_inline(hand):
    fp, co, comp = hand
    m = build_map(fp, [comp])
    out = render(m, "fragment", assets="static/maps")
    assert "<style" not in out.text and not re.search(r"<script>", out.text) and " style=" not in out.text
    assert sorted(out.files) == sorted([f"coterm-map-{out.map_id}.css", f"coterm-map-{out.map_id}.js",
                                        "coterm-leaflet-1.9.4.js"] + [n for n in out.files if n.endswith(".png")])
    assert len([n for n in out.files if n.endswith(".png")]) == 3  # Leaflet's control images, not data: URLs
    assert "data:image" not in out.files[f"coterm-map-{out.map_id}.css"].decode()
    assert f'src="static/maps/coterm-map-{out.map_id}.js"' in out.text
    nonced = render(m, "page", nonce="r4nd0m")
    tags = re.findall(r"<(script|style)([^>]*)>", nonced.text)
    assert tags and all('nonce="r4nd0m"' in attrs for _, attrs in tags)
    with pytest.raises(ValueError):
        render(m, "page", nonce='x" onload="alert(1)')


def test_max_zoom_follows_the_simplification():
    assert max_zoom(145) == 11 and max_zoom(24) == 13 and max_zoom(0) == 18


def test_score_colours_follow_the_fit(hand):
    fp, co, comp = hand
    m = build_map(fp, [comp], color_by="score")
    # F1: 140 people, 40 on the wrong side → fit 71.4%; F2: 260 people, 40 wrong side → 84.6%.
    assert row(m, "coterm-footprints", "F1")["Fit (1 − wrong side ÷ population)"] == "71.4%"
    assert row(m, "coterm-footprints", "F2")["Fit (1 − wrong side ÷ population)"] == "84.6%"
    el = next(e for e in m._children.values() if isinstance(e, FeatureLayer) and e.pane == "coterm-footprints")
    fills = [s["fillColor"] for s in json.loads(el.options_json)["styles"]]
    # Viridis steps: under 80% (71.4%), 80–90% (84.6%).
    assert fills == ["#440154", "#3b528b"]
    with pytest.raises(InputError):
        build_map(fp, [comp], color_by="rainbow")


def test_add_layer_is_a_hook_for_other_features(hand):
    fp, co, comp = hand
    m = build_map(fp, [comp])
    places = gpd.GeoDataFrame({"code": ["P1"], "name": ["Place one"], "people": [140]},
                              geometry=[box(0, 0, 2000, 2000)], crs=BNG)
    el = add_layer(m, places, "Places", {"name": "Place", "people": "People"}, {"color": "#08c"},
                   legend=[("Places", {"color": "#08c", "fill": False})])
    assert el.feature_count == 1 and el.pane == "coterm-places"
    assert row(m, "coterm-places", "P1") == {"Place": "Place one", "People": "140"}
    assert m.coterm_legend[-1]["label"] == "Places" and "Places" in render_html(m)
    with pytest.raises(KeyError):
        add_layer(m, places, "Bad", ["nope"])


def test_focus_finds_one_footprint(hand):
    fp, _, comp = hand
    assert find_footprint(fp, "f2") == "F2"
    assert find_footprint(fp, "east") == "F2"
    with pytest.raises(InputError):
        find_footprint(fp, "t")  # in both names: ambiguous
    with pytest.raises(InputError):
        find_footprint(fp, "nowhere")
    focus = focus_on(fp, [comp], "east")
    assert focus.keep == {"fp": {"F1", "F2"}, "co": {"mid", "e"}} and focus.name == "East footprint"


# ---------------------------------------------------------------- real data

@pytest.fixture(scope="module")
def lookups(ons_lsoas):
    """The independent answer: pandas group-bys on the ONS lookups and the population file."""
    return ons_lsoas


@pytest.mark.realdata
def test_shared_edges_stay_shared_after_simplifying(real, lookups):
    stp, upper, _, fine, comp = real
    d = display_geometry([stp, upper], fine=fine)
    assert 100 < d.tolerance < 200
    f, c = d.layers["stp17"].set_index("code").geometry, d.layers["upper17"].set_index("code").geometry
    assert len(f) == 44 and len(c) == 152
    # Far fewer vertices than the full-resolution layers.
    assert shapely.get_num_coordinates(f.values).sum() < 0.4 * shapely.get_num_coordinates(stp.frame.geometry.values).sum()
    # No gaps or overlaps between neighbours: each layer is still a valid coverage, and both cover the same land.
    assert shapely.coverage_is_valid(f.values) and shapely.coverage_is_valid(c.values)
    f_all, c_all = shapely.union_all(f.values), shapely.union_all(c.values)
    assert f_all.area == pytest.approx(f.area.sum(), rel=1e-9)
    assert shapely.symmetric_difference(f_all, c_all).area < 1.0
    # Every footprint that is an exact union of whole councils (each council it touches lies
    # wholly inside it, LSOA for LSOA) is the union of those simplified councils.
    real_pairs = comp.overlay.real()
    whole = real_pairs.groupby("a_code")["b_in_a_small_areas"].min()
    whole = whole.index[whole == 1.0]
    # Independently: footprints all of whose councils touch no other footprint (LSOA lookups).
    stps_per_council = lookups.groupby("upper")["STP17CD"].nunique()
    lone = lookups["upper"].map(stps_per_council) == 1
    exact = lone.groupby(lookups["STP17CD"]).all()
    assert set(whole) == set(exact.index[exact]) and len(whole) == 19
    for code in whole:
        councils = real_pairs.loc[real_pairs.a_code == code, "b_code"]
        joined = shapely.union_all(c.loc[councils].values)
        assert shapely.symmetric_difference(joined, f.loc[code]).area < 1.0, code
    # Lincolnshire footprint and county: the same drawn outline, vertex for vertex after rounding.
    shown_f = to_display(d.layers["stp17"]).set_index("code").geometry.loc[LINCOLNSHIRE_STP]
    shown_c = to_display(d.layers["upper17"]).set_index("code").geometry.loc[LINCOLNSHIRE_CC]
    assert shown_f.equals(shown_c)
    # Neighbours still meet: footprints sharing an edge before share one after.
    g = stp.frame.set_index("code").geometry
    tree = shapely.STRtree(g.values)
    i, j = tree.query(g.values, predicate="touches")
    pairs = [(a, b) for a, b in zip(i, j) if a < b and shapely.intersection(g.iloc[a], g.iloc[b]).length > 500]
    assert len(pairs) > 80
    for a, b in pairs:
        assert shapely.intersection(f.loc[g.index[a]], f.loc[g.index[b]]).length > 0, (g.index[a], g.index[b])


@pytest.mark.realdata
def test_england_map_numbers_match_the_lookups(real, england, lookups):
    stp, upper, pop, fine, comp = real
    m, page = england
    assert m.coterm_summary.layers[0][2] == 44 and m.coterm_summary.layers[1][2] == 152
    t = lookups
    # Lincolnshire: population from a plain group-by; coterminous with the county.
    lincs = row(m, "coterm-footprints", LINCOLNSHIRE_STP)
    assert lincs["Population"] == f"{t.loc[t.STP17CD == LINCOLNSHIRE_STP, 'population'].sum():,.0f}" == "761,224"
    assert lincs["Class against councils"] == "coterminous"
    assert lincs["Best match (Upper-tier councils with social care duties (2017))"] == "Lincolnshire"
    # Split councils: largest share in one footprint below 0.98, by population.
    by_pair = t.groupby(["upper", "STP17CD"])["population"].sum()
    share = by_pair / by_pair.groupby(level=0).transform("sum")
    largest = share.groupby(level=0).max()
    split = set(largest.index[largest < 0.98])
    drawn_split = {f["properties"]["code"] for f in features(m)["coterm-split-0"]}
    assert drawn_split == split and len(split) == 11
    pieces = {f["properties"]["code"]: row(m, "coterm-pieces-0", f["properties"]["code"])
              for f in features(m)["coterm-pieces-0"]}
    expected = {f"{s}|{u}": p for (u, s), p in by_pair.items() if u in split and p > 0}
    assert set(pieces) == set(expected) and len(expected) == 26
    for code, text in pieces.items():
        assert text["Population"] == f"{expected[code]:,.0f}"
    # Striped pieces are exactly the pieces outside each council's main footprint; their people,
    # counted once, are the legend's number (independently: council total minus its largest piece).
    wrong = {c for c, text in pieces.items() if text["Piece"].startswith("outside")}
    assert len(wrong) == 26 - 11
    outside = (by_pair.groupby(level=0).sum() - by_pair.groupby(level=0).max()).sum()
    assert f"outside their main footprint: {outside:,.0f} people in all (the whole comparison)" in page
    # Plain names from the catalogue, with the data year, in the layer control and the legend.
    assert "STP footprints (April 2017) (44)" in page and "Upper-tier councils with social care duties (2017)" in page
    assert "mid-2019 population, 56,286,961 people" in page


@pytest.mark.realdata
def test_england_map_is_small(england):
    m, page = england
    size = len(page.encode())
    assert 500_000 < size < 3_000_000, f"{size:,} bytes"
    assert m.coterm_summary.tolerance > 100 and max_zoom(m.coterm_summary.tolerance) == 11


@pytest.mark.realdata
def test_focus_draws_the_neighbourhood(real):
    stp, upper, pop, fine, comp = real
    m = build_map(stp, [comp], fine=fine, focus="lincolnshire")
    names = {f["properties"]["h"] for f in features(m)["coterm-footprints"]}
    # Lincolnshire's neighbours by land, checked on a map of England.
    for near in ("Humber, Coast and Vale", "Nottinghamshire", "Cambridgeshire and Peterborough",
                 "Leicester, Leicestershire and Rutland", "Norfolk and Waveney", "South Yorkshire and Bassetlaw"):
        assert any(n.startswith(near) for n in names), near
    assert not any(n.startswith(("Cornwall", "Cumbria", "Kent")) for n in names)
    assert {f["properties"]["code"] for f in features(m)["coterm-units-0"]} == {LINCOLNSHIRE_CC}
    # Lincolnshire county is whole: no split councils, and no pieces of councils not drawn.
    assert features(m)["coterm-split-0"] == [] and features(m)["coterm-pieces-0"] == []
    assert 20 < m.coterm_summary.tolerance < 40  # Lincolnshire is ≈ 170 km across: 1/6000 of that


@pytest.mark.realdata
def test_cli_writes_page_and_fragment(tmp_path, data_dir):
    out = tmp_path / "map.html"
    assert main(["map", "stp17", "--against", "upper17", "--focus", "E54000013", "-o", str(out)]) == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "Lincolnshire" in page
    frag = tmp_path / "frag.html"
    assert main(["map", "stp17", "--focus", "Lincolnshire", "--embed", "--id", "lincs", "-o", str(frag)]) == 0
    text = frag.read_text()
    assert "<html" not in text and text.startswith('<div class="coterm-map coterm-map-lincs"')
    bad = tmp_path / "bad.html"
    assert main(["map", "stp17", "--focus", "Atlantis", "-o", str(bad)]) == 2
    assert not bad.exists()


@pytest.mark.realdata
def test_cli_scenario_map_shows_before_after_and_the_moved_people(tmp_path, data_dir, lookups):
    scenario = tmp_path / "bassetlaw.json"
    assert main(["-q", "scenario", "stp17", "--move", "NHS Bassetlaw CCG=Nottinghamshire", "--save", str(scenario)]) == 0
    out = tmp_path / "scenario.html"
    assets = tmp_path / "static"
    assert main(["map", "stp17", "--scenario", str(scenario), "--focus", "Nottinghamshire", "--assets", str(assets),
                 "--id", "bassetlaw", "-o", str(out)]) == 0
    page = out.read_text()
    assert '<script src="static/coterm-map-bassetlaw.js"></script>' in page and "<style" not in page
    script = (assets / "coterm-map-bassetlaw.js").read_text()
    # The moved piece is Bassetlaw CCG with its people (independently: a group-by on the ONS lookup).
    t = lookups
    people = t.loc[t.CCG17NM == "NHS Bassetlaw CCG", "population"].sum()
    assert people == 117_459 and f"Moved pieces (1: {people:,.0f} people)" in script
    assert "Before: STP footprints (April 2017)" in script
    # After the move Nottinghamshire is made of whole councils (Bassetlaw district joined its county).
    assert '"Nottinghamshire (E54000014)","p":["E54000014","1,161,124","contains"' in script
    assert main(["map", "--changes", "stp17", "stp17", "-o", str(tmp_path / "same.html")]) == 0
    assert "Moved pieces" not in (tmp_path / "same.html").read_text()  # nothing moved


@pytest.mark.realdata
def test_cli_changes_map_draws_the_moved_pieces(tmp_path, data_dir):
    from coterminosity.boundaries.changes import changes
    from coterminosity.geo import load_layer, load_population

    moved = changes(load_layer("stp17"), load_layer("icb22"), load_population()).pieces
    out = tmp_path / "changes.html"
    assert main(["-q", "map", "--changes", "stp17", "icb22", "-o", str(out)]) == 0
    text = out.read_text()
    # The same pieces and people as `coterm changes stp17 icb22` (Bassetlaw's 117,459 among them).
    assert f"Moved pieces ({len(moved)}: {moved['people'].sum():,.0f} people)" in text
    assert len(moved) == 7 and 117_459 in set(moved["people"].round())


@pytest.mark.realdata
def test_cli_containment_map_shows_the_report_numbers(tmp_path, data_dir, capsys):
    """`coterm map icb22 --containment trust22`: each ICB's share kept inside is the report's number."""
    import pandas as pd

    csv = tmp_path / "containment.csv"
    assert main(["-q", "containment", "trust22", "--footprints", "icb22", "--format", "csv", "-o", str(csv)]) == 0
    report = pd.read_csv(csv).set_index("code")
    page = tmp_path / "containment.html"
    assert main(["-q", "map", "icb22", "--containment", "trust22", "--color-by", "containment", "-o", str(page)]) == 0
    text = page.read_text()
    somerset = report.loc[report["name"] == "NHS Somerset Integrated Care Board"].iloc[0]
    assert round(somerset["containment_share"], 3) == 0.491  # the least contained ICB in the report
    code = somerset.name
    feature = re.search(rf'"code":"{code}","s":\d+,"h":"[^"]+","p":\[([^\]]+)\]', text).group(1)
    assert f'"{somerset["containment_share"]:.1%}"' in feature
    assert re.search(r"Destinations \((\d+); circle area = flow\)", text).group(1) == "130"
    assert "Patient flow: 85.1% of it stays inside its own footprint (England)." in text
    assert main(["-q", "map", "icb22", "--containment", "flows.csv", "-o", str(tmp_path / "x.html")]) == 2


@pytest.mark.realdata
def test_cli_map_of_a_drawn_footprint_file(tmp_path, capsys, data_dir, monkeypatch):
    """Footprints with no LSOA membership (a drawn file) against catalogue councils: drawn by geometry."""
    monkeypatch.setattr(logging.getLogger("coterminosity"), "level", logging.NOTSET)  # as from a shell
    page = tmp_path / "lad13.html"
    assert main(["map", "lad13", "--data-dir", str(data_dir), "-o", str(page)]) == 0
    err = capsys.readouterr().err
    assert "(326): 326" in err and "boundaries (152): 152" in err
    assert page.stat().st_size < 5_000_000
