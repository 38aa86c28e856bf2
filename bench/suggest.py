"""Benchmark: ``suggest`` on England (footprints against upper-tier councils). Run by hand:

    COTERM_DATA=/work/shared/data python bench/suggest.py                  # stp21 against upper21
    python bench/suggest.py --footprints stp17 --against upper17 --keep-whole ccg17 --json out.json

Times (median of ``--runs``, warm cache: the layers are built once first) the integer programme
alone, with the contiguity check on the LSOA polygons, with sub-units kept whole, with a budget
of four moves and with a population band; and ``coterm suggest`` from process start to the table.
``run()`` returns the same figures as a dict, for a caller such as ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"


def _median_time(call, runs: int):
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def run(footprints: str = "stp21", against: str = "upper21", keep_whole: str | None = "ccg21",
        band: tuple[int, int] = (500_000, 3_000_000), runs: int = 5, cli_runs: int = 3) -> dict:
    """Timings in seconds, with the size of each answer (moves, people moved)."""
    from coterminosity.boundaries.suggest import NoSuggestion, suggest
    from coterminosity.geo import load_layer, load_population, small_area_layer

    t0 = time.perf_counter()
    fp, councils = load_layer(footprints), load_layer(against)
    keep = load_layer(keep_whole) if keep_whole else None
    population, fine = load_population("pop19"), small_area_layer()
    out = {"footprints": footprints, "against": against, "keep_whole_layer": keep_whole,
           "load_s": time.perf_counter() - t0, "runs": runs}
    cases = {"solve": {}, "solve_with_contiguity": {"small_areas": fine}, "budget_4_moves": {"max_moves": 4},
             "population_band": {"band": band}}
    if keep is not None:
        cases["keep_whole"] = {"keep_whole": keep}
        cases["keep_whole_budget_4"] = {"keep_whole": keep, "max_moves": 4}
    for name, options in cases.items():
        try:
            seconds, result = _median_time(lambda options=options: suggest(fp, councils, population, **options), runs)
            out[name] = {"s": seconds, "moves": len(result.table), "people_moved": result.people_moved,
                         "pieces": len(result.pieces)}
        except NoSuggestion as err:  # an infeasible case is timed too: the diagnosis re-solves
            seconds, _ = _median_time(lambda options=options: _catch(suggest, fp, councils, population, **options), runs)
            out[name] = {"s": seconds, "infeasible": str(err)}
    out["cli"] = _time_cli(footprints, against, cli_runs)
    return out


def _catch(func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except Exception as err:  # only the time matters here
        return err


def _time_cli(footprints: str, against: str, runs: int) -> dict:
    """``coterm suggest`` in a new process each time (warm cache), start to table."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "coterminosity.cli", "suggest", footprints, "--against", against,
                        "-q"], check=True, capture_output=True, env=os.environ.copy())
        times.append(time.perf_counter() - t0)
    return {"s": statistics.median(times), "runs": runs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--footprints", default="stp21")
    parser.add_argument("--against", default="upper21")
    parser.add_argument("--keep-whole", default="ccg21", help="layer to keep whole ('' for none)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cli-runs", type=int, default=3)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("COTERM_DATA", str(DEFAULT_DATA))
    os.environ.setdefault("COTERM_QUIET", "1")
    out = run(args.footprints, args.against, args.keep_whole or None, runs=args.runs, cli_runs=args.cli_runs)
    print(f"suggest {out['footprints']} against {out['against']} (median of {out['runs']} runs, warm cache; "
          f"layers loaded in {out['load_s']:.2f} s)")
    for name, row in out.items():
        if isinstance(row, dict) and "s" in row and name != "cli":
            what = row.get("infeasible") or f"{row['moves']} moves, {row['people_moved']:,.0f} people, " \
                                             f"{row['pieces']} pieces"
            print(f"  {name:<24} {row['s']:7.3f} s   {what}")
    print(f"  {'coterm suggest (process)':<24} {out['cli']['s']:7.3f} s   median of {out['cli']['runs']}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
