"""Benchmark of the geometry overlay path (layers drawn independently) against geopandas.

    COTERM_DATA=/work/shared/data python bench/run.py --geometry          # or: python bench/geometry.py
    python bench/geometry.py --sizes 1000 10000 --points 32844 150000     # a shorter curve

Every measurement runs in its own subprocess (``--worker``), so peak memory (``ru_maxrss``)
belongs to one side and one size. Layers are built (or read from the cache) before the clock
starts: what is timed is the overlay alone, as a user waits for it once the layers exist.
Synthetic layers (hexagons, dense square cells, scattered points) are generated in the worker
from the England outline (``bench/synthetic.py``); nothing large is written to the repository.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
REL_TOL = 1e-6


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- inputs (inside workers)


def _layers(pair: str, data_dir: str):
    """The two built layers of ``pair`` ("lad11:lad13", "upper17:hex10000", "cells:stp17" …)."""
    sys.path.insert(0, str(BENCH))
    import synthetic

    from coterminosity.geo import Layer, load_layer

    outline = None
    out = []
    for name in pair.split(":"):
        if name.startswith("hex") or name == "cells":
            if outline is None:
                outline = synthetic.england_outline(load_layer("upper17", data_dir=data_dir))
            frame = synthetic.hexagons(outline, int(name[3:])) if name.startswith("hex") else \
                synthetic.dense_squares(outline)
            out.append(Layer(frame, label=name))
        else:
            out.append(load_layer(name, data_dir=data_dir))
    return out


def _points(n: int, data_dir: str):
    """``n`` population points: the real LSOA points (n = 32,844) or synthetic ones."""
    sys.path.insert(0, str(BENCH))
    import synthetic

    from coterminosity.geo import Population, load_layer, load_population

    if n == 32844:
        return load_population(None, data_dir=data_dir)
    outline = synthetic.england_outline(load_layer("upper17", data_dir=data_dir))
    return Population(synthetic.scattered_points(outline, n), label=f"{n} points")


# ---------------------------------------------------------------- workers


def worker_overlay_project(pair: str, data_dir: str, population: bool) -> dict:
    from coterminosity.boundaries.overlay import overlay

    a, b = _layers(pair, data_dir)
    pop = _points(32844, data_dir) if population else None
    before = peak_mib()
    t0 = time.perf_counter()
    table = overlay(a, b, pop)
    seconds = time.perf_counter() - t0
    pairs = table.pairs
    return {"seconds": seconds, "peak_mib": peak_mib(), "inputs_mib": before, "units": [len(a), len(b)],
            "method": table.method, "notes": table.notes,
            "pairs": [[str(x), str(y), float(z), bool(s)] for x, y, z, s in
                      pairs[["a_code", "b_code", "area_m2", "sliver"]].itertuples(index=False, name=None)]}


def worker_overlay_geopandas(pair: str, data_dir: str) -> dict:
    import geopandas as gpd

    a, b = _layers(pair, data_dir)
    left = a.frame[["code", "geometry"]].rename(columns={"code": "a_code"})
    right = b.frame[["code", "geometry"]].rename(columns={"code": "b_code"})
    before = peak_mib()
    t0 = time.perf_counter()
    pieces = gpd.overlay(left, right, how="intersection", keep_geom_type=True)
    pieces["area_m2"] = pieces.geometry.area
    pairs = pieces.groupby(["a_code", "b_code"], as_index=False)["area_m2"].sum()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_mib": peak_mib(), "inputs_mib": before, "units": [len(a), len(b)],
            "pairs": [[str(x), str(y), float(z)] for x, y, z in pairs.itertuples(index=False, name=None)]}


def worker_points(side: str, target: str, n: int, data_dir: str) -> dict:
    """Each point in one unit of ``target`` (its polygons only, as if drawn): ``locate_points``
    (project) or ``sjoin`` (geopandas)."""
    import numpy as np

    (layer,) = _layers(target, data_dir)
    pop = _points(n, data_dir)
    before = peak_mib()
    t0 = time.perf_counter()
    if side == "project":
        from coterminosity.boundaries.overlay import locate_points

        idx = locate_points(pop.points.geometry.values, layer.frame.geometry.values)
        counts = np.bincount(idx[idx >= 0], weights=pop.points["population"].to_numpy()[idx >= 0],
                             minlength=len(layer))
        located = int((idx >= 0).sum())
    else:
        import geopandas as gpd

        joined = gpd.sjoin(pop.points, layer.frame[["code", "geometry"]], predicate="intersects")
        joined = joined[~joined.index.duplicated(keep="first")]  # a point on an edge counted once
        counts = joined.groupby("index_right")["population"].sum()
        located = len(joined)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_mib": peak_mib(), "inputs_mib": before, "located": located,
            "points": len(pop.points), "population": float(np.sum(counts))}


def worker_memory(data_dir: str, order: str, folder: str) -> dict:
    """The 84,100-cell grid written as GeoJSON, read back through ``load_layer`` and overlaid with stp17."""
    from coterminosity.boundaries.overlay import overlay
    from coterminosity.geo import load_layer

    path = Path(folder) / "cells.geojson"
    t0 = time.perf_counter()
    cells = load_layer(str(path), code_col="code", name_col="name", data_dir=data_dir)
    stp = load_layer("stp17", data_dir=data_dir)
    read = time.perf_counter() - t0
    before = peak_mib()
    t0 = time.perf_counter()
    table = overlay(cells, stp) if order == "cells-first" else overlay(stp, cells)
    return {"seconds": time.perf_counter() - t0, "read_seconds": read, "peak_mib": peak_mib(), "inputs_mib": before,
            "file_mib": path.stat().st_size / 2 ** 20, "cells": len(cells), "pairs": len(table.real()),
            "notes": table.notes}


def write_cells(data_dir: str, folder: str) -> None:
    """Write the dense grid as a GeoJSON in longitude/latitude, like a file a user would bring."""
    sys.path.insert(0, str(BENCH))
    import synthetic

    from coterminosity.geo import load_layer

    frame = synthetic.dense_squares(synthetic.england_outline(load_layer("upper17", data_dir=data_dir)))
    frame.to_crs(4326).to_file(Path(folder) / "cells.geojson", driver="GeoJSON")


# ---------------------------------------------------------------- parent


def run(env: dict, *args: str) -> dict:
    out = Path(tempfile.mkstemp(prefix="bench-geometry-", suffix=".json")[1])
    try:
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--result", str(out), *args],
                       env=env, check=True, cwd=REPO)
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def compare_pairs(project: dict, other: dict) -> dict:
    """Real pairs the same, areas within REL_TOL, and geopandas's other pairs = the project's slivers."""
    real = {(x, y): z for x, y, z, s in project["pairs"] if not s}
    slivers = {(x, y) for x, y, z, s in project["pairs"] if s and z > 0}
    theirs = {(x, y): z for x, y, z in other["pairs"]}
    worst = max((abs(real[k] - theirs[k]) / real[k] for k in real if k in theirs), default=0.0)
    extra = set(theirs) - set(real)
    return {"real": len(real), "found": len(set(real) & set(theirs)), "max_rel_area": worst,
            "their_other_pairs": len(extra), "same_slivers": extra == slivers, "project_slivers": len(slivers),
            "same": set(real) <= set(theirs) and worst <= REL_TOL and extra == slivers}


def cold_start(env: dict, data_dir: str) -> dict:
    """`import coterminosity`, and the first lad11 × lad13 table from an empty and a warm cache."""
    def clock(cmd: list[str], cache: str) -> float:
        t0 = time.perf_counter()
        subprocess.run(cmd, env={**env, "COTERM_CACHE": cache}, cwd=REPO, check=True, capture_output=True)
        return time.perf_counter() - t0

    cache = tempfile.mkdtemp(prefix="bench-cold-")
    table = [sys.executable, "-m", "coterminosity.cli", "-q", "overlay", "lad11", "lad13", "--weight", "area",
             "--data-dir", data_dir]
    out = {"import": min(clock([sys.executable, "-c", "import coterminosity"], cache) for _ in range(3))}
    out["empty_cache"] = clock(table, cache)
    out["warm_cache"] = min(clock(table, cache) for _ in range(3))
    return out


def fit_exponent(ns: list[float], secs: list[float]) -> float:
    """k in time ∝ n^k, least squares on log-log."""
    import numpy as np

    return float(np.polyfit(np.log(ns), np.log(secs), 1)[0])


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.2), dpi=90)
    for key, label, style in (("project", "coterminosity", "o-"), ("geopandas", "geopandas.overlay", "s--")):
        rows = report["curve"][key]
        ax1.loglog([r["n"] for r in rows], [r["seconds"] for r in rows], style, label=label)
    for target, colour in (("hex10000", "tab:blue"), ("upper17", "tab:red")):
        for key, label, style in (("project", "locate_points", "o-"), ("geopandas", "sjoin", "s--")):
            rows = report["points"][target][key]
            ax2.loglog([r["n"] for r in rows], [r["seconds"] for r in rows], style, color=colour,
                       label=f"{label}, {'10k hexagons' if target == 'hex10000' else '152 councils'}")
    ax1.set(title="upper17 × n hexagons, by area", xlabel="hexagons", ylabel="seconds")
    ax2.set(title="n points located", xlabel="points", ylabel="seconds")
    for ax in (ax1, ax2):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("COTERM_DATA") or str(REPO.parent / "shared" / "data"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--points", type=int, nargs="+", default=[32844, 150000, 1500000])
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--plot", default=str(BENCH / "geometry.png"))
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--pair", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--target", default="hex10000", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--population", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        sys.path.insert(0, str(REPO))
        kind = args.worker
        if kind == "overlay-project":
            result = worker_overlay_project(args.pair, args.data_dir, args.population)
        elif kind == "overlay-geopandas":
            result = worker_overlay_geopandas(args.pair, args.data_dir)
        elif kind.startswith("points-"):
            result = worker_points(kind.split("-", 1)[1], args.target, args.n, args.data_dir)
        elif kind == "write-cells":
            write_cells(args.data_dir, args.folder)
            result = {}
        else:
            result = worker_memory(args.data_dir, kind.split(":", 1)[1], args.folder)
        Path(args.result).write_text(json.dumps(result))
        return 0

    data_dir = str(Path(args.data_dir).resolve())
    cache = os.environ.get("COTERM_CACHE") or tempfile.mkdtemp(prefix="bench-geometry-cache-")
    env = {**os.environ, "COTERM_DATA": data_dir, "COTERM_CACHE": cache, "COTERM_QUIET": "1",
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    report: dict = {}

    def say(line: str = "") -> None:
        print(line, flush=True)

    # 1. lad11 × lad13 by area (built first so no side pays for building).
    run(env, "--worker", "overlay-project", "--pair", "lad11:lad13", "--data-dir", data_dir)
    ours = report["lad11_lad13"] = run(env, "--worker", "overlay-project", "--pair", "lad11:lad13", "--data-dir", data_dir)
    gpd_ = report["lad11_lad13_geopandas"] = run(env, "--worker", "overlay-geopandas", "--pair", "lad11:lad13",
                                                  "--data-dir", data_dir)
    cmp_ = report["lad11_lad13_compare"] = compare_pairs(ours, gpd_)
    say(f"lad11 × lad13 by area: project {ours['seconds']:.2f} s ({ours['peak_mib']:.0f} MiB peak), geopandas.overlay "
        f"{gpd_['seconds']:.2f} s ({gpd_['peak_mib']:.0f} MiB) → {gpd_['seconds'] / ours['seconds']:.2f}×")
    say(f"    {cmp_['found']} of {cmp_['real']} real pairs found by geopandas; max relative area difference "
        f"{cmp_['max_rel_area']:.1e}; geopandas's {cmp_['their_other_pairs']} other pairs = the project's "
        f"{cmp_['project_slivers']} slivers: {cmp_['same_slivers']}; same answer: {cmp_['same']}")
    say(f"    {ours['notes'][0]}")
    withpop = report["lad11_lad13_population"] = run(env, "--worker", "overlay-project", "--pair", "lad11:lad13",
                                                     "--population", "--data-dir", data_dir)
    say(f"    with population (mid-2019 at the LSOA centroids): {withpop['seconds']:.2f} s")

    # 2. Scaling curve: upper17 × hexagons, by area.
    report["curve"] = {"project": [], "geopandas": []}
    say("\nupper17 × hexagons by area (time, peak memory; inputs in memory before the clock in brackets)")
    for n in args.sizes:
        p = run(env, "--worker", "overlay-project", "--pair", f"upper17:hex{n}", "--data-dir", data_dir)
        g = run(env, "--worker", "overlay-geopandas", "--pair", f"upper17:hex{n}", "--data-dir", data_dir)
        c = compare_pairs(p, g)
        for key, r in (("project", p), ("geopandas", g)):
            report["curve"][key].append({"n": r["units"][1], "seconds": r["seconds"], "peak_mib": r["peak_mib"],
                                         "inputs_mib": r["inputs_mib"]})
        say(f"    {p['units'][1]:>7,} hexagons: project {p['seconds']:7.2f} s {p['peak_mib']:6.0f} MiB "
            f"({p['inputs_mib']:.0f}) | geopandas {g['seconds']:7.2f} s {g['peak_mib']:6.0f} MiB ({g['inputs_mib']:.0f}) "
            f"→ {g['seconds'] / p['seconds']:.1f}×; same answer {c['same']} (max rel {c['max_rel_area']:.0e})")
        say(f"        {p['notes'][0]}")
    for key in ("project", "geopandas"):
        rows = report["curve"][key]
        if len(rows) > 1:
            report[f"k_{key}"] = k = fit_exponent([r["n"] for r in rows], [r["seconds"] for r in rows])
            say(f"    {key}: time ∝ n^{k:.2f}")

    # 3. Points into 10,000 hexagons and into the 152 councils' polygons.
    report["points"] = {}
    for target, what in (("hex10000", "~10,000 hexagons"), ("upper17", "the 152 council polygons (upper17, as drawn)")):
        rows = report["points"][target] = {"project": [], "geopandas": []}
        say(f"\npopulation points into {what} (each point in one unit)")
        for n in args.points:
            p = run(env, "--worker", "points-project", "--target", target, "--n", str(n), "--data-dir", data_dir)
            g = run(env, "--worker", "points-geopandas", "--target", target, "--n", str(n), "--data-dir", data_dir)
            for key, r in (("project", p), ("geopandas", g)):
                rows[key].append({"n": n, "seconds": r["seconds"], "peak_mib": r["peak_mib"], "inputs_mib": r["inputs_mib"]})
            same = p["located"] == g["located"] and math.isclose(p["population"], g["population"])
            say(f"    {n:>9,} points: project {p['seconds']:6.2f} s {p['peak_mib']:6.0f} MiB ({p['inputs_mib']:.0f}) | "
                f"geopandas {g['seconds']:6.2f} s {g['peak_mib']:6.0f} MiB ({g['inputs_mib']:.0f}) → "
                f"{g['seconds'] / p['seconds']:.1f}×; located {p['located']:,} / {g['located']:,}, same totals {same}")
        for key in ("project", "geopandas"):
            if len(rows[key]) > 1:
                k = report[f"k_points_{target}_{key}"] = fit_exponent([r["n"] for r in rows[key]],
                                                                       [r["seconds"] for r in rows[key]])
                say(f"    {key}: time ∝ n^{k:.2f}")

    # 4. Memory: the 84,100-cell GeoJSON against stp17, both orders.
    folder = tempfile.mkdtemp(prefix="bench-cells-")
    try:
        run(env, "--worker", "write-cells", "--folder", folder, "--data-dir", data_dir)
        say("\n84,100 dense cells (GeoJSON) against stp17")
        for order in ("cells-first", "stp17-first"):
            m = report[f"memory_{order}"] = run(env, "--worker", f"memory:{order}", "--folder", folder,
                                                 "--data-dir", data_dir)
            say(f"    {order}: file {m['file_mib']:.0f} MiB, {m['cells']:,} cells, read {m['read_seconds']:.1f} s; "
                f"overlay {m['seconds']:.2f} s, peak {m['peak_mib']:,.0f} MiB (after reading {m['inputs_mib']:,.0f}); "
                f"{m['pairs']:,} pairs")
    finally:
        for f in Path(folder).iterdir():
            f.unlink()
        Path(folder).rmdir()

    # 5. Cold start.
    if not args.skip_cold:
        c = report["cold"] = cold_start(env, data_dir)
        say(f"\n`import coterminosity` {c['import']:.2f} s; `coterm overlay lad11 lad13 --weight area`: empty cache "
            f"{c['empty_cache']:.1f} s, warm cache {c['warm_cache']:.2f} s")
    if args.plot and len(args.sizes) > 1:
        plot(report, Path(args.plot))
        say(f"\nplot: {args.plot}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
