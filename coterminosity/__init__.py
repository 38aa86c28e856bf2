"""coterminosity: review health-service boundaries in England.

Small public API: read layers into :class:`Layer` objects, overlay two layers into a
:class:`PairTable`, classify units and score a layer, then map or report the result::

    import coterminosity as ct

    stp, councils = ct.load_layer("stp17"), ct.load_layer("upper17")
    result = ct.compare(stp, councils, ct.load_population())   # a Comparison
    result.table          # one row per footprint: class, best match, wrong side, fit
    result.lines()        # the layer line: whole unions, score, people outside
    m = ct.build_map(stp, [result])                            # the same result, drawn

Every question has one function returning a result object with ``.table`` and ``.lines()``:
``compare``, ``summarise``, ``places``, ``find_spanners``, ``changes``, ``history``,
``suggest``, ``measure_containment``; scenarios through ``apply_scenario``/``before_after``.

Names are imported on first use, so ``import coterminosity`` (and the ``coterm`` command's
start-up) stays light.
"""

from __future__ import annotations

from ._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "Layer": "coterminosity.geo.layer",
    "Population": "coterminosity.geo.layer",
    "read_layer": "coterminosity.geo.read",
    "load_layer": "coterminosity.geo.load",
    "load_population": "coterminosity.geo.population",
    "build_layer": "coterminosity.geo.build",
    "membership_from_table": "coterminosity.geo.build",
    "PairTable": "coterminosity.boundaries.overlay",
    "overlay": "coterminosity.boundaries.overlay",
    "classify": "coterminosity.boundaries.metrics",
    "coterminosity_score": "coterminosity.boundaries.metrics",
    "layer_score": "coterminosity.boundaries.metrics",
    "split_units": "coterminosity.boundaries.metrics",
    "summarise": "coterminosity.boundaries.summary",
    "places": "coterminosity.boundaries.places",
    "check_proposed": "coterminosity.boundaries.places",
    "find_spanners": "coterminosity.boundaries.spanners",
    "Scenario": "coterminosity.boundaries.scenario",
    "load_scenario": "coterminosity.geo.scenario_file",
    "save_scenario": "coterminosity.geo.scenario_file",
    "Move": "coterminosity.boundaries.scenario",
    "apply_scenario": "coterminosity.boundaries.scenario",
    "containment": "coterminosity.boundaries.catchments",
    "catchment_layer": "coterminosity.boundaries.catchments",
    "compare": "coterminosity.boundaries.comparison",
    "changes": "coterminosity.boundaries.changes",
    "history": "coterminosity.boundaries.history",
    "suggest": "coterminosity.boundaries.suggest",
    "before_after": "coterminosity.boundaries.scenario",
    "measure_containment": "coterminosity.boundaries.containment",
    "load_trust_inputs": "coterminosity.geo.trusts",
    "small_area_layer": "coterminosity.geo.smallareas",
    "Comparison": "coterminosity.boundaries.comparison",
    "build_map": "coterminosity.maps",
    "render_html": "coterminosity.maps",
    "render_fragment": "coterminosity.maps",
    "CotermError": "coterminosity.errors",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
