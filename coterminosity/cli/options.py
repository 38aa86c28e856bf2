"""Every shared option, defined once: one meaning per flag, one default, across all commands.

- The footprint layer is the first positional argument wherever a command takes one.
- Population weighting is on wherever population is known (any layer built from the catalogue
  LSOAs, or ``--population FILE``); ``--weight area`` (or ``small_areas``) changes it.
- Every table command takes ``--format`` and ``-o``; every command takes ``-q``/``-v``.
- Spellings of the first release (``--by`` for the weight, ``--no-population``, ``--across``, …)
  still work for one release, with a one-line deprecation note.
"""

from __future__ import annotations

import argparse
import logging
import math
import re

FORMATS = ("table", "csv", "json", "markdown")
WEIGHTS = ("population", "area", "small_areas")
LAYER_SUFFIXES = (".gpkg", ".geojson", ".parquet", ".geoparquet", ".shp")

log = logging.getLogger("coterminosity.cli")


def deprecated(old: str, new: str) -> None:
    """Say once that an old spelling still works but will go."""
    log.warning("%s is deprecated and will be removed in the next release; use %s", old, new)


# ---------------------------------------------------------------- value types


def share(text: str) -> float:
    """A number between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number between 0 and 1") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def threshold(text: str) -> float:
    """A share above one half: below that, two units could both hold 'the whole' of a third."""
    value = share(text)
    if value <= 0.5:
        raise argparse.ArgumentTypeError(f"{text} is not above 0.5 (a unit is whole in another at ≥ this share)")
    return value


def positive_share(text: str) -> float:
    """A share above 0 and at most 1."""
    value = share(text)
    if value == 0:
        raise argparse.ArgumentTypeError("the share must be above 0")
    return value


def non_negative(text: str) -> float:
    """A finite number ≥ 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a finite number ≥ 0")
    return value


def count(text: str) -> int:
    """A whole number ≥ 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is below 0")
    return value


def css_length(text: str) -> str:
    """A height for an embedded map: pixels (``600``, ``600px``) or a percentage (``80%``)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(px|%)?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a height; give pixels (600px) or a percentage (80%)")
    return f"{match.group(1)}{match.group(2) or 'px'}"


def people_range(text: str) -> tuple[int, int]:
    """``LOW-HIGH`` people, e.g. ``30000-50000``."""
    low, sep, high = text.replace("–", "-").partition("-")
    try:
        low_n, high_n = int(low.replace(",", "")), int(high.replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not LOW-HIGH (e.g. 30000-50000)") from None
    if not sep or not 0 < low_n <= high_n:
        raise argparse.ArgumentTypeError(f"{text!r}: need 0 < LOW ≤ HIGH, e.g. 30000-50000")
    return low_n, high_n


# ---------------------------------------------------------------- option groups


def add_common(p: argparse.ArgumentParser) -> None:
    """``-q`` and ``-v``: on every command, before or after its name."""
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no progress messages or notes on stderr")
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="more detail on stderr (each step)")


def add_footprints(p: argparse.ArgumentParser, help_text: str | None = None, *, optional: bool = False) -> None:
    """The footprint layer: always the first positional argument."""
    p.add_argument("footprints", nargs="?" if optional else None, metavar="FOOTPRINTS",
                   help=help_text or "footprint layer: catalogue name (stp17, icb22, …) or file")


def add_output(p: argparse.ArgumentParser, *, layers: bool = False) -> None:
    """``--format`` and ``-o``: every table command takes them."""
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    what = ("write to FILE atomically; FILE.gpkg/.geojson/.parquet/.shp writes the result as a GIS layer"
            if layers else "write to FILE (atomically) instead of standard output")
    p.add_argument("-o", "--output", metavar="FILE", help=what)
    p.add_argument("--csv-safe", action="store_true",
                   help="CSV for spreadsheets: prefix text cells starting with = + - @ (a formula) with '")
    p.set_defaults(layer_output=layers)  # a table-only command refuses a layer file name (cli.main)


def add_data(p: argparse.ArgumentParser) -> None:
    """Where the published files are, and how to read file layers."""
    p.add_argument("--data-dir", metavar="DIR",
                   help="folder holding the ONS files (default: $COTERM_DATA, then fetched files, then the bundle)")
    p.add_argument("--code-col", help="code column of file layers (default: detect ONS names such as lad17cd)")
    p.add_argument("--name-col", help="name column of file layers (default: the one matching the code column)")
    p.add_argument("--layer", dest="file_layer", metavar="NAME", help="layer to read inside a multi-layer file")
    p.add_argument("--crs", help="CRS of file layers that carry none, or whose own CRS cannot fit their coordinates "
                                 "(e.g. EPSG:27700); a file whose CRS fits keeps it, with a note")


def add_population(p: argparse.ArgumentParser, *, old_by: bool = True) -> None:
    """Population weighting: on by default where known; ``--population FILE`` for another source."""
    p.add_argument("--population", nargs="?", const="pop19", metavar="FILE",
                   help="population to weight by (default: the catalogue mid-2019 LSOA populations wherever a "
                        "layer is built from LSOAs): a file of points with a count column, or a table of LSOA "
                        "code → count")
    p.add_argument("--pop-col", default="population", help="count column of a population file (default: population)")
    p.add_argument("--pop-code-col", help="small-area code column of a population table (default: LSOA11CD/code)")
    p.add_argument("--weight", choices=WEIGHTS,
                   help="weight for shares and classes (default: population where known, else area)")
    if old_by:  # the first release's spelling of --weight (places and build used --by for other things)
        p.add_argument("--by", dest="old_by", choices=WEIGHTS, help=argparse.SUPPRESS)
    p.add_argument("--no-population", action="store_true", help=argparse.SUPPRESS)


def add_threshold(p: argparse.ArgumentParser) -> None:
    """``--threshold``: the share that counts as whole."""
    p.add_argument("--threshold", type=threshold, default=0.98,
                   help="share that counts as whole (default 0.98): coterminous/nested/contains use it")


def add_slivers(p: argparse.ArgumentParser) -> None:
    """Sliver tolerances of geometry overlays."""
    p.add_argument("--sliver-share", type=share, default=None,
                   help="geometry overlays: pieces under this share of the smaller unit's area (and no people) "
                        "are slivers (default 0.001)")
    p.add_argument("--sliver-area", type=non_negative, default=None,
                   help="geometry overlays: … or under this many m² (default 1)")


def add_weighting(p: argparse.ArgumentParser, *, with_threshold: bool = True, old_by: bool = True) -> None:
    """Population, weight, threshold and slivers: what every overlay-based command takes."""
    add_population(p, old_by=old_by)
    if with_threshold:
        add_threshold(p)
    add_slivers(p)


def sliver_options(args: argparse.Namespace) -> dict:
    """The sliver tolerances the user gave, as keyword arguments."""
    out = {}
    if getattr(args, "sliver_share", None) is not None:
        out["sliver_share"] = args.sliver_share
    if getattr(args, "sliver_area", None) is not None:
        out["sliver_area"] = args.sliver_area
    return out


def weight_of(args: argparse.Namespace) -> str | None:
    """The weight asked for (``--weight``; the old ``--by`` and ``--no-population`` still work)."""
    if getattr(args, "old_by", None):
        deprecated("--by population|area|small_areas", "--weight")
        return args.old_by
    if getattr(args, "no_population", False):
        deprecated("--no-population", "--weight area")
        return args.weight or "area"
    return getattr(args, "weight", None)
