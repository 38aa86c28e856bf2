"""Turn parsed options into library inputs: layers, population, and where results go."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import CotermError
from ..geo.layer import Layer, Population
from .options import LAYER_SUFFIXES, weight_of

SMALL_AREAS = "lsoa11"


def load(args: argparse.Namespace, spec: str) -> Layer:
    """A Layer for a catalogue name or a file, using the command's data and column options."""
    from ..geo import load_layer

    return load_layer(spec, data_dir=getattr(args, "data_dir", None), code_col=getattr(args, "code_col", None),
                      name_col=getattr(args, "name_col", None), layer=getattr(args, "file_layer", None),
                      crs=getattr(args, "crs", None))


def population_for(args: argparse.Namespace, *layers: Layer) -> Population | None:
    """The population to weight by: the file given, else the catalogue's wherever a layer is built
    from the catalogue LSOAs (unless ``--weight area``/``small_areas`` asks for none), else None."""
    weight = weight_of(args)
    spec = getattr(args, "population", None)
    if getattr(args, "no_population", False):
        return None
    if spec in (None, "pop19"):
        known = any(layer.small_areas == SMALL_AREAS for layer in layers)
        if spec is None and (weight in ("area", "small_areas") or not known):
            return None
        spec = "pop19"
    from ..geo import load_population

    return load_population(spec, data_dir=getattr(args, "data_dir", None), code_col=getattr(args, "pop_code_col", None),
                           pop_col=getattr(args, "pop_col", "population"), crs=getattr(args, "crs", None))


def fine_for(args: argparse.Namespace, *layers: Layer) -> Layer | None:
    """The catalogue LSOA polygons when any layer is built from them (for exact piece polygons)."""
    if not any(layer.small_areas == SMALL_AREAS for layer in layers):
        return None
    from ..geo import small_area_layer

    return small_area_layer(getattr(args, "data_dir", None))


def writes_layer(args: argparse.Namespace) -> bool:
    """True when ``-o`` names a GIS layer file (.gpkg, .geojson, .parquet, .shp)."""
    output = getattr(args, "output", None)
    return bool(output) and Path(output).suffix.lower() in LAYER_SUFFIXES


def refuse_layer_output(args: argparse.Namespace, what: str) -> None:
    """A table-only result given a layer file name: a one-line error, never a mislabelled file."""
    if writes_layer(args):
        raise CotermError(f"-o {args.output}: {what} has no geometry to write as a layer; "
                          "use .csv, .json, .md or .txt (with --format)")
