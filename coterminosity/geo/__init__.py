"""Read and build layers: catalogue names or files → :class:`Layer`, population → :class:`Population`."""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "Layer": "coterminosity.geo.layer",
    "Population": "coterminosity.geo.layer",
    "load_layer": "coterminosity.geo.load",
    "load_population": "coterminosity.geo.population",
    "population_counts": "coterminosity.geo.population",
    "small_area_layer": "coterminosity.geo.smallareas",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
