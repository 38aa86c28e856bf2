"""Turn a catalogue name (``stp17``, ``icb22``, ``upper21`` …) or a file path into a :class:`Layer`.

Catalogue layers are built from the LSOA polygons and ONS lookups on first use and cached
as GeoParquet (see :mod:`coterminosity.geo.cache`), with their LSOA membership beside them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import CotermError
from .build import build_layer
from .cache import cache_file, read_cached, read_notes, write_cached
from .catalogue import LAYERS, bundled, data_note, dataset_path, layer_recipe, unknown_layer_hint
from .layer import Layer
from .lookups import named_membership
from .members import attach_members
from .read import read_layer
from .smallareas import SMALL_AREAS, small_area_layer, small_area_table

log = logging.getLogger(__name__)


def is_catalogue_name(spec: str) -> bool:
    """True when ``spec`` names a catalogue layer."""
    return spec in LAYERS


def named_layer(name: str, data_dir=None) -> Layer:
    """A catalogue layer: LSOAs dissolved by their lookup membership (built once, then cached)."""
    recipe = layer_recipe(name)
    if recipe.alias_of:
        layer = named_layer(recipe.alias_of, data_dir)
        layer.label = name
        layer.source = f"catalogue {name} (= {recipe.alias_of})"
        layer.notes = [*layer.notes, f"{name} is {recipe.alias_of}: {recipe.note}"]
        return layer
    if recipe.how == "small_areas":
        return small_area_layer(data_dir)
    if recipe.how == "file":
        return _file_layer(name, data_dir)
    shipped = _bundled_layer(name, data_dir)
    if shipped is not None:
        return shipped
    cache = cache_file(f"layer-{name}", recipe.sources, data_dir)
    members_file = cache.with_suffix(".members.parquet")
    frame = read_cached(cache, geo=True)
    if frame is not None:
        # Matching the lookup CSVs to the LSOAs is most of a warm start (~0.4 s a layer): cache it too.
        members = read_cached(members_file, geo=False)
        if members is None:
            members = named_membership(name, data_dir).members
            write_cached(members, members_file)
        return Layer(frame, label=name, members=members, small_areas=SMALL_AREAS, notes=read_notes(cache),
                     source=f"catalogue {name}", blocks=small_area_table(data_dir))
    membership = named_membership(name, data_dir)
    write_cached(membership.members, members_file)
    fine = small_area_layer(data_dir)
    log.info("building %s (%s) from %s LSOAs …", name, recipe.title, f"{len(fine):,}")
    layer = build_layer(fine, membership, name, coverage=True)
    layer.source = f"catalogue {name}"
    layer.notes += _recipe_notes(name, len(layer))
    write_cached(layer.frame, cache, layer.notes)
    return layer


def _bundled_layer(name: str, data_dir=None) -> Layer | None:
    """A layer the England bundle carries dissolved ahead (read, not built), or None."""
    if not all(bundled(n, data_dir) for n in LAYERS[name].sources):
        return None
    from ..data import england

    frame = england.prebuilt(name)
    if frame is None:
        return None
    notes = [data_note((SMALL_AREAS,), data_dir), *england.notes(), *_recipe_notes(name, len(frame))]
    return Layer(frame, label=name, members=named_membership(name, data_dir).members, small_areas=SMALL_AREAS,
                 notes=notes, source=f"catalogue {name}", blocks=small_area_table(data_dir))


def _recipe_notes(name: str, units: int) -> list[str]:
    """The recipe's own note, and a warning when the unit count differs from the published one."""
    recipe = LAYERS[name]
    notes = [f"{name}: {recipe.note}"] if recipe.note else []
    if recipe.units is not None and units != recipe.units:
        notes.append(f"{name}: {units:,} units where the published {recipe.title} has {recipe.units:,}; "
                     f"check the lookup files ({', '.join(recipe.sources[1:])}) are the catalogue's")
    return notes


def _file_layer(name: str, data_dir=None) -> Layer:
    """A catalogue layer drawn separately (not from LSOAs), read from its file and cached."""
    recipe = LAYERS[name]
    cache = cache_file(f"layer-{name}", recipe.sources, data_dir)
    frame = read_cached(cache, geo=True)
    if frame is not None:
        return Layer(frame, label=name, notes=read_notes(cache), source=f"catalogue {name}")
    layer = read_layer(dataset_path(recipe.lookup, data_dir), code_col=recipe.code_col, name_col=recipe.name_col,
                       label=name)
    layer.notes += _recipe_notes(name, len(layer))
    write_cached(layer.frame, cache, layer.notes)
    return layer


def load_layer(
    spec: str,
    *,
    data_dir=None,
    code_col: str | None = None,
    name_col: str | None = None,
    layer: str | None = None,
    crs: str | None = None,
) -> Layer:
    """A Layer from a catalogue name (built and cached on first use) or from a file path."""
    if spec == "trust22" and not Path(spec).exists():  # the acute trusts' catchment polygons
        from .trusts import trust_layer

        return trust_layer(data_dir)
    if is_catalogue_name(spec) and not Path(spec).exists():
        return named_layer(spec, data_dir)
    if not Path(spec).suffix and not Path(spec).exists():
        raise CotermError(f"{spec!r}: no such file and {unknown_layer_hint(spec)}")
    # Files written with their LSOA membership (e.g. catchments) overlay exactly with the catalogue.
    return attach_members(read_layer(spec, code_col=code_col, name_col=name_col, layer=layer, crs=crs), data_dir)
