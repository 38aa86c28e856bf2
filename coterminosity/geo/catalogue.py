"""The catalogue: the published files coterminosity reads and the named layers built from them.

Files are looked up in one data folder: ``--data-dir``, else ``$COTERM_DATA``, else the
user cache (where ``coterm data fetch`` writes), else the England bundle shipped in the
package (:mod:`coterminosity.data`). Derived layers are cached separately (``$COTERM_CACHE``,
else the user cache), so a read-only data folder works.

Every catalogue layer from 2016 to 2024 is an exact union of the 32,844 LSOAs (December 2011):
its :class:`LayerRecipe` says which lookups assign each LSOA to a unit, and how many units the
published vintage has.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
from platformdirs import user_cache_dir

from ..errors import CotermError
from .datasets import DATASETS, Dataset  # noqa: F401 (the catalogue names its datasets too)

Build = Literal["small_areas", "lsoa_parent", "lookup", "via", "upper", "file"]


@dataclass(frozen=True)
class LayerRecipe:
    """A named layer: its vintage, the datasets it is built from and how, and its published unit count.

    ``how``: ``lookup`` reads LSOA → unit from one lookup; ``via`` goes LSOA → ``link`` → unit
    through a second lookup (CCG → STP, LSOA 2021 → 2024 unit); ``upper`` takes each LSOA's
    district and, through the tier lookup ``via``, its county (E10) in two-tier areas, else the
    district itself (the council with social-care duties); ``file`` reads a separately drawn layer.
    """

    name: str
    title: str
    vintage: str
    units: int | None  # the published number of units in England (checked when built)
    how: Build
    code_col: str
    name_col: str | None = None
    lookup: str | None = None  # the dataset keyed by LSOA11CD (or the file, for ``file``)
    via: str | None = None  # the second lookup (``via``, ``upper``)
    link: tuple[str, str] | None = None  # (column in ``lookup``, column in ``via``) joining the two
    alias_of: str | None = None  # this name is another layer, under a second vintage
    note: str = ""

    @property
    def sources(self) -> tuple[str, ...]:
        """The datasets the layer is built from (the cache is keyed on them)."""
        if self.alias_of:
            return LAYERS[self.alias_of].sources
        first = () if self.how == "file" else ("lsoa11",)
        return first + tuple(n for n in (self.lookup, self.via) if n and n not in first)

    needs = sources


def _lookup(name: str, title: str, vintage: str, units: int, lookup: str, code: str, label: str | None = None,
            note: str = "") -> LayerRecipe:
    return LayerRecipe(name, title, vintage, units, "lookup", code + "CD", (label or code) + "NM", lookup, note=note)


def _upper(yy: str, vintage: str, units: int, lookup: str, tiers: str, tier_yy: str | None = None,
           note: str = "") -> LayerRecipe:
    tier_yy = tier_yy or yy
    return LayerRecipe(f"upper{yy}", f"Upper-tier councils with social care duties (20{yy})", vintage,
                       units, "upper", f"UTLA{tier_yy}CD", f"UTLA{tier_yy}NM", lookup, tiers,
                       (f"LAD{yy}CD", f"LTLA{tier_yy}CD"), note=note)


_L16, _L17, _L18 = "lookup_lsoa11_ccg16_lad16", "lookup_lsoa11_ccg17_stp17_lad17", "lookup_lsoa11_ccg18_stp18_lad18"
_L19, _L20, _L21 = "lookup_lsoa11_ccg19_stp19_lad19", "lookup_lsoa11_ccg20_stp20_lad20", "lookup_lsoa11_ccg21_stp21_lad21"
_L22, _L24, _TO21 = "lookup_lsoa11_sicbl22_icb22_lad22", "lookup_lsoa21_sicbl24_icb24", "lookup_lsoa11_lsoa21_lad22"
_ON_2021_LSOAS = ("defined on 2021 LSOAs, placed on the 2011 LSOAs through the LSOA 2011 → 2021 lookup; a 2011 "
                  "LSOA that would fall in two units stops the build")

LAYERS: dict[str, LayerRecipe] = {
    r.name: r
    for r in [
        LayerRecipe("lsoa11", "LSOAs (December 2011)", "December 2011", 32_844, "small_areas", "LSOA11CD", "LSOA11NM"),
        LayerRecipe("msoa11", "MSOAs (December 2011)", "December 2011", 6_791, "lookup", "MSOA11CD", "MSOA11NM",
                    "lookup_lsoa11_msoa11"),
        LayerRecipe("lad11", "Districts rebuilt from LSOAs (2011 codes)", "December 2011", 326, "lsoa_parent", "LAD11CD"),
        _lookup("ccg16", "CCGs (April 2016)", "April 2016", 209, _L16, "CCG16"),
        _lookup("lad16", "Districts (April 2016)", "April 2016", 326, _L16, "LAD16"),
        _lookup("ccg17", "CCGs (April 2017)", "April 2017", 207, _L17, "CCG17"),
        _lookup("stp17", "STP footprints (April 2017)", "April 2017", 44, _L17, "STP17"),
        _lookup("lad17", "Lower-tier authorities / districts (2017)", "April 2017", 326, _L17, "LAD17"),
        _upper("17", "2017", 152, _L17, "lookup_ltla17_utla17"),
        _lookup("ccg18", "CCGs (April 2018)", "April 2018", 195, _L18, "CCG18"),
        _lookup("stp18", "STP footprints (April 2018)", "April 2018", 42, _L18, "STP18"),
        _lookup("lad18", "Districts (April 2018)", "April 2018", 326, _L18, "LAD18",
                note="the same district codes as 2017 on every LSOA"),
        _upper("18", "April 2018", 152, _L18, "lookup_ltla17_utla17", "17",
               note="no 2018 tier lookup is published here; the 2018 districts have the 2017 codes on every LSOA, "
               "so the December 2017 tier lookup applies"),
        _lookup("ccg19", "CCGs (April 2019)", "April 2019", 191, _L19, "CCG19"),
        LayerRecipe("stp19", "STP footprints (April 2019)", "April 2019", 42, "via", "STP19CD", "STP19NM", _L19,
                    "lookup_ccg19_stp19", ("CCG19CD", "CCG19CD"), note="LSOA → CCG (April 2019) → STP"),
        _lookup("lad19", "Districts (April 2019)", "April 2019", 317, _L19, "LAD19"),
        _upper("19", "April 2019", 151, _L19, "lookup_ltla19_utla19"),
        _lookup("ccg20", "CCGs (April 2020)", "April 2020", 135, _L20, "CCG20"),
        LayerRecipe("stp20", "STP footprints (April 2020)", "April 2020", 42, "via", "STP20CD", "STP20NM", _L20,
                    "lookup_ccg20_stp20", ("CCG20CD", "CCG20CD"), note="LSOA → CCG (April 2020) → STP"),
        _lookup("lad20", "Districts (April 2020)", "April 2020", 314, _L20, "LAD20"),
        _upper("20", "April 2020", 151, _L20, "lookup_ltla20_utla20"),
        _lookup("ccg21", "CCGs (April 2021)", "April 2021", 106, _L21, "CCG21"),
        _lookup("stp21", "STP footprints (April 2021)", "April 2021", 42, _L21, "STP21"),
        _lookup("lad21", "Districts (April 2021)", "April 2021", 309, _L21, "LAD21"),
        _upper("21", "April 2021", 152, _L21, "lookup_ltla21_utla21"),
        LayerRecipe("upper22", "Upper-tier councils with social care duties (2022)", "April 2022", 152, "upper",
                    "UTLA21CD", "UTLA21NM", alias_of="upper21",
                    note="the 2021 councils: no upper-tier council changed between April 2021 and 2022"),
        _lookup("sicbl22", "Sub-ICB locations (July 2022)", "July 2022", 106, _L22, "SICBL22"),
        _lookup("icb22", "Integrated Care Boards (July 2022)", "July 2022", 42, _L22, "ICB22"),
        _lookup("lad22", "Districts (2022)", "July 2022", 309, _L22, "LAD22",
                note="the same district codes as 2021 on every LSOA"),
        LayerRecipe("sicbl24", "Sub-ICB locations (April 2024)", "April 2024", 106, "via", "SICBL24CD", "SICBL24NM",
                    _TO21, _L24, ("LSOA21CD", "LSOA21CD"),
                    note=_ON_2021_LSOAS + "; in the ONS files two 2011 LSOAs (Gateshead 024C, Welwyn Hatfield 014C) "
                    "do, so this layer is not a union of whole 2011 LSOAs"),
        LayerRecipe("icb24", "Integrated Care Boards (April 2024)", "April 2024", 42, "via", "ICB24CD", "ICB24NM",
                    _TO21, _L24, ("LSOA21CD", "LSOA21CD"), note=_ON_2021_LSOAS),
        LayerRecipe("lad13", "Districts (2013), generalised, separately drawn", "2013", 326, "file", "LAD13CD",
                    "LAD13NM", "lad13", note="not built from LSOAs: overlays with it use geometry"),
    ]
}

POPULATION = "population_lsoa11_mid2019"
CENTROIDS = "lsoa11_pwc_england"


def layer_recipe(name: str) -> LayerRecipe:
    """The recipe of a catalogue layer, or a one-line error listing the known names (closest first)."""
    if name in LAYERS:
        return LAYERS[name]
    raise CotermError(f"{name!r}: {unknown_layer_hint(name)}")


def unknown_layer_hint(name: str) -> str:
    """'not a catalogue layer; did you mean …? known layers: …' for a name not in the catalogue."""
    close = difflib.get_close_matches(name.lower(), list(LAYERS), n=4, cutoff=0.5)
    rest = [n for n in LAYERS if n not in close]
    guess = f"did you mean {' or '.join(close)}? " if close else ""
    return f"not a catalogue layer; {guess}known layers: {', '.join(close + rest)}"


def catalogue_table() -> pd.DataFrame:
    """One row per catalogue layer: name, title, vintage, source datasets, expected units, alias, note."""
    return pd.DataFrame([
        {"name": r.name, "title": r.title, "vintage": r.vintage, "sources": ", ".join(r.sources),
         "units": r.units, "alias": r.alias_of or "", "note": r.note}
        for r in LAYERS.values()
    ])


def default_cache_root() -> Path:
    """Where built layers and fetched data go: ``$COTERM_CACHE`` or the user cache folder."""
    env = os.environ.get("COTERM_CACHE")
    return Path(env).expanduser() if env else Path(user_cache_dir("coterminosity"))


def explicit_data_dir(data_dir: str | os.PathLike | None = None) -> tuple[Path, str] | None:
    """The folder given by ``--data-dir`` or ``$COTERM_DATA`` and which of the two gave it, or None."""
    if data_dir:
        path, source = Path(data_dir).expanduser(), "--data-dir"
    elif os.environ.get("COTERM_DATA"):
        path, source = Path(os.environ["COTERM_DATA"]).expanduser(), "COTERM_DATA"
    else:
        return None
    if not path.is_dir():
        raise CotermError(f"{source} {path}: not a folder; point it at the folder holding the ONS files")
    return path, source


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder holding the published files: the option, then ``$COTERM_DATA``, then the cache's
    ``data`` folder (where ``coterm data fetch`` writes)."""
    given = explicit_data_dir(data_dir)
    return given[0] if given else default_cache_root() / "data"


_READ: dict[str, None] = {}  # the data notes of the sources read since :func:`sources_read` last emptied it


def sources_read(clear: bool = True) -> list[str]:
    """The ``data:`` lines of every source read from (since the last call with ``clear``), for report headers."""
    lines = list(_READ)
    if clear:
        _READ.clear()
    return lines


def bundled(name: str, data_dir: str | os.PathLike | None = None) -> bool:
    """True when dataset ``name`` is read from the England bundle shipped in the package: no
    ``--data-dir``/``$COTERM_DATA``, no fetched copy in the user cache, and the bundle carries it."""
    if explicit_data_dir(data_dir) or (default_cache_root() / "data" / DATASETS[name].filename).is_file():
        return False
    from .. import data

    if not data.carries(name):
        return False
    _READ[data.data_note()] = None
    return True


def data_note(names: tuple[str, ...] = ("lsoa11",), data_dir: str | os.PathLike | None = None) -> str:
    """The report line naming where the datasets ``names`` were read: a folder, the cache, the bundle."""
    given = explicit_data_dir(data_dir)
    if given:
        return f"data: published files in {given[0]} ({given[1]})"
    from .. import data

    inside = [n for n in names if bundled(n, data_dir)]
    fetched = [n for n in names if n not in inside]
    if not fetched:
        return data.data_note()
    where = f"data: {', '.join(fetched)} fetched into {default_cache_root() / 'data'}"
    return where + (f"; {', '.join(inside)} from the {data.TITLE}" if inside else "")


def dataset_path(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The file holding a catalogue dataset: in ``--data-dir``/``$COTERM_DATA`` when given, else
    fetched into the user cache, else the bundled England set's file; or a one-line error."""
    if name not in DATASETS:
        raise CotermError(f"unknown dataset {name!r}; `coterm data list` shows the catalogue")
    if bundled(name, data_dir):
        from .. import data

        return data.bundle_file(name)
    folder = resolve_data_dir(data_dir)
    path = folder / DATASETS[name].filename
    if not path.is_file():
        raise CotermError(
            f"{path}: missing; run `coterm data fetch {name}` or point --data-dir/COTERM_DATA at a folder that has it"
        )
    given = explicit_data_dir(data_dir)
    _READ[f"data: published files in {given[0]} ({given[1]})" if given else f"data: files fetched into {folder}"] = None
    return path
