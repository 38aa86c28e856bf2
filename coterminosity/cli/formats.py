"""Hand a result to the reader: a terminal table, CSV, JSON or Markdown, or a GIS layer file."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    import geopandas as gpd

    from ..geo.layer import Layer

from ..report import emit, render

log = logging.getLogger("coterminosity.cli")


def report(args: argparse.Namespace, frame: pd.DataFrame, *, header: list[str] | None = None,
           footer: list[str] | None = None, meta: dict[str, Any] | None = None) -> None:
    """Render a table in the asked format to stdout or ``-o``. CSV carries only the table, so its
    header and footer lines (method, weights, repairs, layer lines) go to stderr as notes."""
    from ..geo.catalogue import sources_read

    header = [*(header or []), *[n for n in sources_read() if n not in (header or [])]]  # where the data came from
    if args.format == "csv":
        for line in list(dict.fromkeys((header or []) + (footer or []))):
            log.info("%s", line)
    emit(render(frame, args.format, header=header, footer=footer, meta=meta,
                safe_csv=getattr(args, "csv_safe", False)), args.output)


def show(args: argparse.Namespace, result, frame: pd.DataFrame | None = None, *, meta: dict | None = None) -> None:
    """Report a result object: its table (or ``frame``), header, lines and meta."""
    report(args, result.table if frame is None else frame, header=result.header(), footer=result.lines(),
           meta={**result.meta(), **(meta or {})})


def write_layer_output(args: argparse.Namespace, frame, layer_name: str, *, lines: list[str] | None = None) -> None:
    """Write a result's geometry and every table column as one GIS layer named ``layer_name``."""
    from ..geo.write import write_layer

    write_layer(frame, args.output, layer_name=layer_name)
    for line in lines or []:
        log.info("%s", line)
    log.info("wrote %s (%d features, layer %s)", args.output, len(frame), layer_name)


def layer_name(args: argparse.Namespace, default: str) -> str:
    """The layer name inside the output file: the file's stem, else ``default``."""
    return Path(args.output).stem or default if args.output else default


def with_unit_geometry(frame: pd.DataFrame, layer: Layer) -> gpd.GeoDataFrame:
    """``frame`` (one row per unit of ``layer``, by ``code``) with each unit's polygon, EPSG:27700."""
    import geopandas as gpd

    shapes = layer.frame.set_index(layer.frame["code"].astype(str)).geometry
    geometry = shapes.reindex(frame["code"].astype(str)).to_numpy()
    return gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=geometry, crs=layer.frame.crs)
