"""Every CLI report can be built through the Python API alone: the same table, cell for cell.

Each case runs one command with ``--format csv`` and builds the same result with library calls
(no ``coterminosity.cli``), then compares the two CSV texts.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

import coterminosity as ct
from coterminosity.cli import main
from coterminosity.report import render

pytestmark = pytest.mark.realdata


def cli_csv(capsys, *argv: str) -> pd.DataFrame:
    assert main(["-q", *argv, "--format", "csv"]) == 0
    return pd.read_csv(io.StringIO(capsys.readouterr().out), dtype=str, keep_default_na=False)


def api_csv(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(render(frame, "csv")), dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def layers(data_dir):
    return {name: ct.load_layer(name, data_dir=data_dir) for name in ("stp17", "upper17", "lad17", "ccg17")}


@pytest.fixture(scope="module")
def people(data_dir):
    return ct.load_population(data_dir=data_dir)


def test_overlay_report_from_the_api(capsys, layers, people):
    got = cli_csv(capsys, "overlay", "stp17", "upper17")
    want = api_csv(ct.compare(layers["stp17"], layers["upper17"], people).table)
    pd.testing.assert_frame_equal(got, want)


def test_summary_report_from_the_api(capsys, layers, people):
    got = cli_csv(capsys, "summary", "stp17")
    against = [layers[name] for name in ("upper17", "lad17", "ccg17")]
    want = api_csv(ct.summarise(layers["stp17"], against, people).table)
    pd.testing.assert_frame_equal(got, want)


def test_places_report_from_the_api(capsys, layers, people):
    got = cli_csv(capsys, "places", "stp17")
    result = ct.places(layers["stp17"], layers["upper17"], people)
    want = api_csv(result.table[result.table["kind"] != "sliver"])
    pd.testing.assert_frame_equal(got, want)


def test_spanners_report_from_the_api(capsys, layers, people):
    got = cli_csv(capsys, "spanners", "stp17", "upper17")
    want = api_csv(ct.find_spanners(layers["upper17"], layers["stp17"], people).table)
    pd.testing.assert_frame_equal(got, want)


def test_scenario_report_from_the_api(capsys, layers, people, data_dir):
    from coterminosity.boundaries.scenario import before_after, run_moves

    got = cli_csv(capsys, "scenario", "stp17", "--move", "NHS Bassetlaw CCG=Nottinghamshire")
    scenario = ct.Scenario([ct.Move("NHS Bassetlaw CCG", "Nottinghamshire")])
    units = [layers[name] for name in scenario.units]
    after, moves, affected = run_moves(layers["stp17"], scenario, units, geometry=False)
    against = [layers[name] for name in ("upper17", "lad17", "ccg17")]
    want = api_csv(before_after(layers["stp17"], after, against, people, affected, moves).table)
    pd.testing.assert_frame_equal(got, want)


def test_changes_report_from_the_api(capsys, data_dir, people):
    got = cli_csv(capsys, "changes", "stp21", "icb22")
    want = api_csv(ct.changes(ct.load_layer("stp21", data_dir=data_dir), ct.load_layer("icb22", data_dir=data_dir),
                              people).table)
    pd.testing.assert_frame_equal(got, want)


def test_history_report_from_the_api(capsys, data_dir, people):
    got = cli_csv(capsys, "history", "stp20", "stp21", "icb22")
    pairs = [("stp20", "upper20", "ccg20"), ("stp21", "upper21", "ccg21"), ("icb22", "upper21", "sicbl22")]
    load = lambda name: ct.load_layer(name, data_dir=data_dir)  # noqa: E731
    result = ct.history([(load(f), load(c)) for f, c, _ in pairs], people, ccgs=[load(g) for _, _, g in pairs])
    pd.testing.assert_frame_equal(got, api_csv(result.table))


def test_suggest_report_from_the_api(capsys, data_dir, people):
    got = cli_csv(capsys, "suggest", "stp21", "--against", "upper21", "--max-moves", "4")
    result = ct.suggest(ct.load_layer("stp21", data_dir=data_dir), ct.load_layer("upper21", data_dir=data_dir),
                        people, max_moves=4, small_areas=ct.small_area_layer(data_dir))
    pd.testing.assert_frame_equal(got, api_csv(result.table))


def test_trust_containment_report_from_the_api(capsys, data_dir):
    got = cli_csv(capsys, "containment", "trust22", "--footprints", "icb22")
    result = ct.measure_containment(ct.load_trust_inputs(data_dir=data_dir), ct.load_layer("icb22", data_dir=data_dir))
    pd.testing.assert_frame_equal(got, api_csv(result.table))
