"""Benchmark: the project's build + population-weighted overlay of stp17 × upper17 against the
obvious geopandas version, on the real national layers. Run by hand, not in the test suite:

    COTERM_DATA=/work/shared/data python bench/run.py            # everything (~8 minutes)
    python bench/run.py --skip-raw                               # without the raw-LSOA geopandas run
    python bench/run.py --profile                                # + cProfile of the cold project run
    python bench/run.py --geometry                               # the geometry path (bench/geometry.py)

Every side runs in its own subprocess (``--worker NAME``) so that peak memory (``ru_maxrss``)
and imports do not mix. The parent checks the two sides give the same numbers on the real
pairs (relative difference ≤ 1e-9 on area, population exact) and prints a report.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
REL_TOL = 1e-9
LSOA_STAGE = "  LSOA coverage (gpkg → clean, cached)"


# ---------------------------------------------------------------- timing helpers (workers)


class Stages:
    """Wall-clock time per named stage, in the order first seen."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        self.times.setdefault(name, 0.0)  # report stages in the order they start
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.times[name] = self.times.get(name, 0.0) + time.perf_counter() - t0

    def wrap(self, module, attr: str, name: str) -> None:
        """Time every call of ``module.attr`` under ``name`` (the real code path, unchanged)."""
        original = getattr(module, attr)

        def timed(*args, **kwargs):
            with self(name):
                return original(*args, **kwargs)

        setattr(module, attr, timed)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def pair_records(frame, a_col: str, b_col: str) -> list[dict]:
    return [{"a": str(r[0]), "b": str(r[1]), "area": float(r[2]), "population": float(r[3])}
            for r in frame[[a_col, b_col, "area_m2", "population"]].itertuples(index=False, name=None)]


# ---------------------------------------------------------------- worker: the project


def worker_project(data_dir: str) -> dict:
    """The project's path: catalogue layers (built, or read from the cache) + overlay."""
    t_start = time.perf_counter()
    stages = Stages()
    with stages("import"):
        from coterminosity.boundaries.overlay import overlay
        from coterminosity.geo import load, smallareas
        from coterminosity.geo.population import load_population
    # Sub-stages of building the LSOA coverage, timed inside the real functions.
    stages.wrap(smallareas, "small_area_polygons", LSOA_STAGE)
    stages.wrap(smallareas, "read_frame", "    read gpkg")
    stages.wrap(smallareas, "repair_polygons", "    make_valid + 1 cm snap")
    stages.wrap(smallareas, "clean_coverage", "    coverage_clean")
    stages.wrap(load, "build_layer", "  dissolve (coverage_union per unit)")
    with stages("layer stp17"):
        stp = load.load_layer("stp17", data_dir=data_dir)
    with stages("layer upper17"):
        upper = load.load_layer("upper17", data_dir=data_dir)
    with stages("population"):
        pop = load_population(None, data_dir=data_dir)
    with stages("overlay"):
        table = overlay(stp, upper, pop)
    total = time.perf_counter() - t_start
    pairs = table.pairs
    return {"stages": stages.times, "total": total, "peak_mib": peak_mib(), "method": table.method,
            "units": [len(stp), len(upper)], "population_total": pop.total,
            "pairs": pair_records(pairs, "a_code", "b_code"),
            "small_areas": [int(v) for v in pairs["small_areas"]]}


# ---------------------------------------------------------------- worker: obvious geopandas


def _upper17_lookup(data_dir: Path):
    """LSOA → STP17, UPPER17 with pandas (county in two-tier areas, else the district)."""
    import numpy as np
    import pandas as pd

    lad = pd.read_csv(data_dir / "lookup_lsoa11_ccg17_stp17_lad17.csv", usecols=["LSOA11CD", "STP17CD", "LAD17CD"])
    utla = pd.read_csv(data_dir / "lookup_lsoa11_utla17.csv", usecols=["LSOA11CD", "UTLA17CD"])
    table = lad.merge(utla, on="LSOA11CD", how="left")
    county = table["UTLA17CD"].fillna("").str.startswith("E10")
    table["UPPER17CD"] = np.where(county, table["UTLA17CD"], table["LAD17CD"])
    return table[["LSOA11CD", "STP17CD", "UPPER17CD"]]


def worker_geopandas(data_dir: str, mode: str, cache: str) -> dict:
    """The obvious geopandas version: dissolve, overlay, sjoin of LSOA points, group-by sums.

    ``mode="clean"`` starts from the project's cleaned LSOA coverage (like for like);
    ``mode="raw"`` starts from the published gpkg (to_crs + make_valid only).
    """
    t_start = time.perf_counter()
    stages = Stages()
    with stages("import"):
        import geopandas as gpd
        import pandas as pd
    folder = Path(data_dir)
    with stages("read LSOAs"):
        if mode == "clean":
            os.environ["COTERM_CACHE"] = cache
            from coterminosity.geo.smallareas import small_area_polygons

            lsoa = small_area_polygons(data_dir)[0][["code", "geometry"]].rename(columns={"code": "LSOA11CD"})
        else:
            lsoa = gpd.read_file(folder / "lsoa11_england.gpkg", columns=["LSOA11CD"])
            lsoa = lsoa.to_crs(27700)
            lsoa["geometry"] = lsoa.geometry.make_valid()
    with stages("lookups"):
        lookup = _upper17_lookup(folder)
        people = pd.read_csv(folder / "population_lsoa11_mid2019.csv", usecols=["LSOA11CD", "population"])
        lsoa = lsoa.merge(lookup, on="LSOA11CD")
    with stages("dissolve stp17"):
        stp = lsoa[["STP17CD", "geometry"]].dissolve(by="STP17CD").reset_index()
    with stages("dissolve upper17"):
        upper = lsoa[["UPPER17CD", "geometry"]].dissolve(by="UPPER17CD").reset_index()
    with stages("overlay"):
        pieces = gpd.overlay(stp, upper, how="intersection", keep_geom_type=True)
        pieces["area_m2"] = pieces.geometry.area
    with stages("sjoin population"):
        points = gpd.GeoDataFrame(lsoa[["LSOA11CD"]].merge(people, on="LSOA11CD"),
                                  geometry=lsoa.geometry.representative_point().values, crs=lsoa.crs)
        joined = gpd.sjoin(points, pieces[["STP17CD", "UPPER17CD", "geometry"]], predicate="within")
        counted = joined.groupby(["STP17CD", "UPPER17CD"])["population"].sum().rename("population").reset_index()
        pairs = pieces[["STP17CD", "UPPER17CD", "area_m2"]].groupby(["STP17CD", "UPPER17CD"]).sum().reset_index()
        pairs = pairs.merge(counted, on=["STP17CD", "UPPER17CD"], how="left").fillna({"population": 0.0})
    total = time.perf_counter() - t_start
    return {"stages": stages.times, "total": total, "peak_mib": peak_mib(), "units": [len(stp), len(upper)],
            "points": len(points), "points_joined": int(len(joined)), "population_joined": float(joined["population"].sum()),
            "pairs": pair_records(pairs, "STP17CD", "UPPER17CD")}


# ---------------------------------------------------------------- parent


def run_worker(name: str, env: dict, *extra: str) -> dict:
    out = Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".json")[1])
    try:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--result", str(out), *extra]
        subprocess.run(cmd, env=env, check=True, cwd=REPO)
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def time_cli(env: dict, runs: int) -> dict:
    """Cold process start → the overlay table printed (warm cache), wall clock per run."""
    cmd = [sys.executable, "-m", "coterminosity.cli", "overlay", "stp17", "upper17", "--population"]
    times, first_line = [], ""
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - t0)
        first_line = done.stdout.splitlines()[0]
    return {"times": times, "median": statistics.median(times), "best": min(times), "first_line": first_line}


def compare(project: dict, other: dict) -> dict:
    """Compare on the real pairs: those sharing at least one LSOA in the project's overlay."""
    ours = {(p["a"], p["b"]): p for p in project["pairs"]}
    theirs = {(p["a"], p["b"]): p for p in other["pairs"]}
    real = set(ours)
    with_people = {k for k, p in theirs.items() if p["population"] > 0}
    missing = sorted(real - set(theirs))
    extra = sorted(set(theirs) - real)
    worst_area, worst_key, pop_diffs = 0.0, None, 0
    for key in real & set(theirs):
        rel = abs(ours[key]["area"] - theirs[key]["area"]) / ours[key]["area"]
        if rel > worst_area:
            worst_area, worst_key = rel, key
        pop_diffs += ours[key]["population"] != theirs[key]["population"]
    extra_area = sum(theirs[k]["area"] for k in extra)
    return {"pairs": len(theirs), "real": len(real), "missing": [list(k) for k in missing],
            "not_real": len(extra), "not_real_with_population": len(set(extra) & with_people),
            "not_real_area_m2": extra_area, "largest_not_real_m2": max((theirs[k]["area"] for k in extra), default=0.0),
            "max_rel_area_diff": worst_area, "worst_pair": list(worst_key) if worst_key else None,
            "population_mismatches": pop_diffs,
            "same": not missing and worst_area <= REL_TOL and pop_diffs == 0}


def fmt_stages(result: dict) -> list[str]:
    return [f"    {name:<40} {secs:8.2f} s" for name, secs in result["stages"].items()] + \
           [f"    {'total (in process)':<40} {result['total']:8.2f} s    peak memory {result['peak_mib']:,.0f} MiB"]


def machine() -> dict:
    import geopandas
    import shapely

    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem = next((int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")), 0)
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 1024 ** 2, 1),
            "python": platform.python_version(), "shapely": shapely.__version__, "geos": shapely.geos_version_string,
            "geopandas": geopandas.__version__}


def profile_cold(env: dict, data_dir: str, top: int = 25) -> str:
    """cProfile of a cold project run (fresh cache), top functions by own time."""
    import io
    import pstats

    cache = tempfile.mkdtemp(prefix="bench-profile-")
    stats_file, result = Path(cache) / "cold.prof", Path(cache) / "result.json"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(stats_file), str(Path(__file__).resolve()),
           "--worker", "project", "--result", str(result), "--data-dir", data_dir]
    try:
        subprocess.run(cmd, env={**env, "COTERM_CACHE": cache}, cwd=REPO, check=True)
        buf = io.StringIO()
        pstats.Stats(str(stats_file), stream=buf).sort_stats("tottime").print_stats(top)
        return buf.getvalue()
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("COTERM_DATA") or str(DEFAULT_DATA))
    parser.add_argument("--skip-raw", action="store_true", help="skip geopandas on the raw (uncleaned) LSOAs")
    parser.add_argument("--skip-geopandas", action="store_true", help="only the project's side and the CLI timing")
    parser.add_argument("--cli-runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of the cold project run")
    parser.add_argument("--json", metavar="FILE", help="write every figure to FILE as JSON")
    parser.add_argument("--geometry", action="store_true",
                        help="run the geometry-path bench instead (bench/geometry.py: lad11 × lad13, hexagon curve, "
                             "points, an 84,100-cell file, cold start)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.geometry:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import geometry

        return geometry.main(["--data-dir", args.data_dir] + (["--json", args.json] if args.json else []))
    if args.worker:
        sys.path.insert(0, str(REPO))
        if args.worker == "project":
            result = worker_project(args.data_dir)
        else:
            result = worker_geopandas(args.data_dir, args.worker.split("-", 1)[1], args.cache)
        Path(args.result).write_text(json.dumps(result))
        return 0

    data_dir = str(Path(args.data_dir).resolve())
    cache = tempfile.mkdtemp(prefix="bench-cache-")
    env = {**os.environ, "COTERM_DATA": data_dir, "COTERM_CACHE": cache, "COTERM_QUIET": "1",
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    report: dict = {"machine": machine(), "command": " ".join([Path(sys.executable).name, "bench/run.py", *sys.argv[1:]])}
    lines: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    m = report["machine"]
    say(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']}, shapely {m['shapely']} "
        f"(GEOS {m['geos']}), geopandas {m['geopandas']}")
    try:
        cold = report["project_cold"] = run_worker("project", env)
        warm = report["project_warm"] = run_worker("project", env)
        build_stages = ("layer stp17", "layer upper17", "population", "overlay")
        # Time from the cleaned LSOAs on: the cold run less reading, repairing and cleaning the gpkg.
        cold["from_clean_lsoas"] = sum(cold["stages"][s] for s in build_stages) - cold["stages"].get(LSOA_STAGE, 0.0)
        say(f"\nproject, cold (empty cache: gpkg → cleaned LSOA coverage → stp17, upper17 → overlay); "
            f"{cold['units'][0]} × {cold['units'][1]} units, {len(cold['pairs'])} pairs, method {cold['method']}")
        for line in fmt_stages(cold):
            say(line)
        say(f"    from the cleaned LSOAs on (dissolve both layers, population, overlay): {cold['from_clean_lsoas']:.2f} s")
        say("\nproject, warm (cache from the cold run)")
        for line in fmt_stages(warm):
            say(line)
        cli = report["cli"] = time_cli(env, args.cli_runs)
        say(f"\n`coterm overlay stp17 upper17 --population`, process start → table printed (warm cache), "
            f"{args.cli_runs} runs: median {cli['median']:.2f} s, best {cli['best']:.2f} s "
            f"(target < 3 s: {'met' if cli['median'] < 3 else 'NOT met'})")

        sides = [] if args.skip_geopandas else ["geopandas-clean"] + ([] if args.skip_raw else ["geopandas-raw"])
        for side in sides:
            res = report[side] = run_worker(side, env, "--cache", cache)
            cmp_ = res["compare"] = compare(cold, res)
            what = "the project's cleaned LSOA coverage" if side.endswith("clean") else "the raw gpkg (to_crs, make_valid)"
            say(f"\n{side}: obvious geopandas from {what}")
            for line in fmt_stages(res):
                say(line)
            say(f"    pairs: {cmp_['pairs']} returned; {cmp_['real'] - len(cmp_['missing'])} of the {cmp_['real']} real "
                f"pairs found; {cmp_['not_real']} pairs sharing no LSOA (slivers: {cmp_['not_real_area_m2']:,.1f} m² in all, "
                f"largest {cmp_['largest_not_real_m2']:,.1f} m², {cmp_['not_real_with_population']} with population)")
            say(f"    real pairs: max relative area difference {cmp_['max_rel_area_diff']:.2e} "
                f"({'/'.join(cmp_['worst_pair'] or [])}); population mismatches {cmp_['population_mismatches']}; "
                f"points joined {res['points_joined']:,} of {res['points']:,} "
                f"(population {res['population_joined']:,.0f} of {cold['population_total']:,.0f})")
            expected = "" if side.endswith("clean") else " (expected: the raw LSOAs overlap and leave gaps, see README)"
            say(f"    same numbers (area ≤ {REL_TOL:g} relative, population exact): {'YES' if cmp_['same'] else 'NO'}"
                f"{expected}")
        say("\nsummary")
        say(f"    project peak memory: cold {cold['peak_mib']:,.0f} MiB, warm {warm['peak_mib']:,.0f} MiB (target < 1024)")
        if "geopandas-clean" in report:
            g = report["geopandas-clean"]
            ratio = g["total"] / cold["from_clean_lsoas"]
            say(f"    from cleaned LSOAs: geopandas {g['total']:.1f} s vs project {cold['from_clean_lsoas']:.1f} s "
                f"(cold build) → {ratio:.1f}× (target ≥ 5×); vs warm cache {warm['total']:.2f} s → "
                f"{g['total'] / warm['total']:.0f}×")
            report["ratio_clean"] = ratio
        if "geopandas-raw" in report:
            g = report["geopandas-raw"]
            say(f"    from the gpkg: geopandas {g['total']:.1f} s vs project cold {cold['total']:.1f} s "
                f"→ {g['total'] / cold['total']:.1f}×")
            report["ratio_raw"] = g["total"] / cold["total"]
        if args.profile:
            say("\ncProfile of the cold project run (top functions by own time):")
            say(profile_cold(env, data_dir))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
