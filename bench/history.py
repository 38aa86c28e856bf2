"""Benchmark: the whole boundary history (stp17 … icb24 against the councils and CCGs of their year)
with a warm cache. Run by hand, not in the test suite:

    COTERM_DATA=/work/shared/data python bench/history.py [--runs 5]

The first pass fills the cache (layers built from the LSOAs and the lookups); then each run, in
this process, loads every layer from the cache, loads the population and computes the history
(7 rows, 13 membership overlays, 6 changes between vintages). Also times ``coterm history`` as a
new process from start to the table printed.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_once() -> dict[str, float]:
    """Seconds per stage: loading the layers, loading the population, computing the history."""
    from coterminosity.boundaries.history import DEFAULT_VINTAGES, history
    from coterminosity.geo import load_layer, load_population

    t0 = time.perf_counter()
    layers = {name: load_layer(name) for name in dict.fromkeys(n for v in DEFAULT_VINTAGES for n in v if n)}
    layers[None] = None
    t1 = time.perf_counter()
    population = load_population()
    t2 = time.perf_counter()
    result = history([(layers[f], layers[c]) for f, c, _ in DEFAULT_VINTAGES], population,
                     ccgs=[layers[g] for _, _, g in DEFAULT_VINTAGES])
    t3 = time.perf_counter()
    assert len(result.table) == len(DEFAULT_VINTAGES)
    return {"load layers": t1 - t0, "load population": t2 - t1, "history": t3 - t2, "total": t3 - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cli-runs", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    run_once()  # fill the cache
    # Warm in-process runs (new Layer objects each time; the module-level caches of a process are
    # what a notebook or a long-lived service keeps).
    runs = [run_once() for _ in range(args.runs)]
    print(f"warm history, {args.runs} runs in one process (median, min):")
    for stage in runs[0]:
        values = [r[stage] for r in runs]
        print(f"  {stage:<16} {statistics.median(values):6.2f} s  {min(values):6.2f} s")
    times = []
    for _ in range(args.cli_runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "coterminosity.cli", "-q", "history", "--format", "csv"], check=True,
                       stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)})
        times.append(time.perf_counter() - start)
    print(f"coterm history (new process, warm cache), {args.cli_runs} runs: median {statistics.median(times):.2f} s, "
          f"min {min(times):.2f} s")


if __name__ == "__main__":
    main()
