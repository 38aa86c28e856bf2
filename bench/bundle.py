"""Benchmark: the England bundle — its size, and the time from process start to the England table.

Run by hand from the repository root (not part of the test suite)::

    python bench/bundle.py [--runs 5] [--raw DIR] [--build DIR] [--json out.json]

Every timed run is a new ``python -m coterminosity.cli`` process with ``COTERM_DATA`` unset, so
imports count; "cold" runs get a new, empty ``COTERM_CACHE`` each, "warm" runs share one filled by
a first run. Wall time and the child's CPU time (user + system, from ``getrusage``) are reported:
on a shared machine wall time also counts waiting for a core. ``--raw DIR`` times the same
command from the raw ONS files with an empty cache (the old first run); ``--build DIR`` times a
rebuild of the bundle into a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = ["summary", "stp17", "--against", "upper17", "--against", "ccg17"]
DISSOLVED = ["summary", "icb22", "--against", "upper21", "--against", "sicbl22"]  # no layer shipped dissolved


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: list[str], cache: Path, data_dir: str | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one ``coterm`` process (output discarded; a failure stops the bench)."""
    env = {k: v for k, v in os.environ.items() if k != "COTERM_DATA"}
    env["COTERM_CACHE"] = str(cache)
    args = [sys.executable, "-m", "coterminosity.cli", "-q", *argv] + (["--data-dir", data_dir] if data_dir else [])
    cpu, start = _child_cpu(), time.perf_counter()
    subprocess.run(args, env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, _child_cpu() - cpu


def timed(label: str, argv: list[str], runs: int, *, warm: bool, data_dir: str | None = None) -> dict:
    """Median wall and CPU over ``runs`` runs (cold: an empty cache each; warm: one shared cache)."""
    walls, cpus = [], []
    with tempfile.TemporaryDirectory(prefix="coterm-bench-") as tmp:
        shared = Path(tmp) / "warm"
        if warm:
            run_once(argv, shared, data_dir)
        for i in range(runs):
            wall, cpu = run_once(argv, shared if warm else Path(tmp) / f"cold-{i}", data_dir)
            walls.append(wall)
            cpus.append(cpu)
    row = {"label": label, "runs": runs, "wall_median_s": round(statistics.median(walls), 3),
           "wall_min_s": round(min(walls), 3), "cpu_median_s": round(statistics.median(cpus), 3)}
    print(f"{label:<58} wall {row['wall_median_s']:6.2f} s (min {row['wall_min_s']:.2f})   "
          f"cpu {row['cpu_median_s']:6.2f} s   ({runs} runs)")
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case (default 5)")
    parser.add_argument("--raw", metavar="DIR", help="also time the README command from the raw files in DIR")
    parser.add_argument("--build", metavar="DIR", help="also time rebuilding the bundle from the raw files in DIR")
    parser.add_argument("--json", metavar="FILE", help="write the numbers as JSON")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    from coterminosity.data import BUNDLE_DIR, manifest

    doc = manifest()
    sizes = {name: entry["bytes"] for name, entry in doc["files"].items()}
    total = sum(p.stat().st_size for p in BUNDLE_DIR.rglob("*") if p.is_file())
    print(f"bundle {BUNDLE_DIR}: {total / 1e6:.2f} MB in {len(sizes) + 1} files")
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<45} {size / 1e6:6.3f} MB")
    out = {"bundle_bytes": total, "files": sizes, "timings": []}
    out["timings"].append(timed("README command, bundle, cold (empty cache)", README, args.runs, warm=False))
    out["timings"].append(timed("README command, bundle, warm", README, args.runs, warm=True))
    out["timings"].append(timed("icb22 vs upper21, sicbl22: bundle, cold (dissolves 3)", DISSOLVED, args.runs,
                                warm=False))
    out["timings"].append(timed("icb22 vs upper21, sicbl22: bundle, warm", DISSOLVED, args.runs, warm=True))
    if args.raw:
        out["timings"].append(timed("README command, raw files, cold (empty cache)", README, min(args.runs, 2),
                                    warm=False, data_dir=args.raw))
    if args.build:
        with tempfile.TemporaryDirectory(prefix="coterm-bench-build-") as tmp:
            env = {**os.environ, "COTERM_CACHE": str(Path(tmp) / "cache")}
            cpu, start = _child_cpu(), time.perf_counter()
            subprocess.run([sys.executable, "-m", "coterminosity.data.bundle", "--from", args.build, "-o",
                            str(Path(tmp) / "england")], env=env, cwd=REPO, check=True, stderr=subprocess.DEVNULL)
            wall, cpu = time.perf_counter() - start, _child_cpu() - cpu
        print(f"{'bundle rebuild from the raw files (empty cache)':<58} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
        out["build"] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
