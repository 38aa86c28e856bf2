"""Read and build layers: catalogue names or files → :class:`Layer`, population → :class:`Population`."""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Layer": "coterminosity.geo.layer",
    "Population": "coterminosity.geo.layer",
    "load_layer": "coterminosity.geo.load",
    "load_population": "coterminosity.geo.population",
    "population_counts": "coterminosity.geo.population",
    "small_area_layer": "coterminosity.geo.smallareas",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'coterminosity.geo' has no attribute {name!r}")
