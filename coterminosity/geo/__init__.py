"""Read and build layers: catalogue names or files → :class:`Layer`, population → :class:`Population`."""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Layer": "coterminosity.geo.layer",
    "Population": "coterminosity.geo.layer",
    "load_layer": "coterminosity.geo.named",
    "load_population": "coterminosity.geo.named",
    "population_counts": "coterminosity.geo.named",
    "small_area_layer": "coterminosity.geo.named",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'coterminosity.geo' has no attribute {name!r}")
