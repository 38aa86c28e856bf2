"""The datasets coterminosity knows: file names, vintage, licence, source, and where they live.

Files are looked up in one data folder: ``--data-dir``, else ``$COTERM_DATA``, else the
user cache (where ``coterm data fetch`` writes). Derived layers are cached separately
(``$COTERM_CACHE``, else the user cache), so a read-only data folder works.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_cache_dir

from ..errors import CotermError

OGL = "Open Government Licence v3.0"
ONS_SERVICES = "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services"


@dataclass(frozen=True)
class Dataset:
    """One published file the toolkit can read: what it is and where it comes from."""

    name: str
    filename: str
    kind: str  # "polygons" | "lookup" | "table"
    vintage: str
    title: str
    url: str
    service: str = "arcgis"  # "arcgis" feature/table service, or "file" (plain download)
    licence: str = OGL
    fields: tuple[str, ...] = ()  # the columns the toolkit reads
    attribution: str = "Source: Office for National Statistics licensed under the " + OGL


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            "lsoa11", "lsoa11_england.gpkg", "polygons", "December 2011",
            "Lower Layer Super Output Areas, England (the small areas every health layer is built from)",
            f"{ONS_SERVICES}/LSOA_Dec_2011_Boundaries_Generalised_Clipped_BGC_EW_V3/FeatureServer/0",
            fields=("LSOA11CD", "LSOA11NM", "LAD11CD"),
            attribution="Contains OS data © Crown copyright and database right 2014; "
            "Source: Office for National Statistics licensed under the " + OGL,
        ),
        Dataset(
            "lookup_lsoa11_ccg17_stp17_lad17", "lookup_lsoa11_ccg17_stp17_lad17.csv", "lookup", "April 2017",
            "LSOA (2011) to CCG, STP footprint and district (April 2017)",
            f"{ONS_SERVICES}/LSOA11_CCG17_STP17_LAD17_EN_LU/FeatureServer/0",
            fields=("LSOA11CD", "LSOA11NM", "CCG17CD", "CCG17CDH", "CCG17NM", "STP17CD", "STP17NM", "LAD17CD", "LAD17NM"),
        ),
        Dataset(
            "lookup_lsoa11_ccg16_lad16", "lookup_lsoa11_ccg16_lad16.csv", "lookup", "April 2016",
            "LSOA (2011) to CCG and district (April 2016)",
            f"{ONS_SERVICES}/LSOA11_CCG16_LAD16_EN_LU/FeatureServer/0",
            fields=("LSOA11CD", "LSOA11NM", "CCG16CD", "CCG16CDH", "CCG16NM", "LAD16CD", "LAD16NM"),
        ),
        Dataset(
            "lookup_lsoa11_utla17", "lookup_lsoa11_utla17.csv", "lookup", "2017",
            "LSOA (2011) to upper-tier local authority (2017), England and Wales",
            f"{ONS_SERVICES}/LSOA11_UTLA17_EW_LU/FeatureServer/0",
            fields=("LSOA11CD", "LSOA11NM", "UTLA17CD", "UTLA17NM"),
        ),
        Dataset(
            "lookup_ltla17_utla17", "lookup_ltla17_utla17.csv", "lookup", "December 2017",
            "Lower-tier to upper-tier local authority (December 2017), England and Wales",
            f"{ONS_SERVICES}/LTLA17_UTLA17_EW_LU/FeatureServer/0",
            fields=("LTLA17CD", "LTLA17NM", "UTLA17CD", "UTLA17NM"),
        ),
        Dataset(
            "lookup_lad17_cty17", "lookup_lad17_cty17.csv", "lookup", "December 2017",
            "District to county (December 2017), England, two-tier areas",
            f"{ONS_SERVICES}/LAD17_CTY17_EN_LU/FeatureServer/0",
            fields=("LAD17CD", "LAD17NM", "CTY17CD", "CTY17NM"),
        ),
        Dataset(
            "lookup_ccg17_stp17", "lookup_ccg17_stp17.csv", "lookup", "April 2017",
            "CCG to STP footprint (April 2017)",
            f"{ONS_SERVICES}/CCG17_STP17_EN_LU/FeatureServer/0",
            fields=("CCG17CD", "CCG17CDH", "CCG17NM", "STP17CD", "STP17NM"),
        ),
        Dataset(
            "population_lsoa11_mid2019", "population_lsoa11_mid2019.csv", "table", "mid-2019",
            "Small-area population estimates (SAPE22) by LSOA: total and three age bands",
            "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/"
            "populationestimates/datasets/lowersuperoutputareamidyearpopulationestimates",
            service="file",
            fields=("LSOA11CD", "LSOA11NM", "population", "age_0_15", "age_16_64", "age_65_plus"),
        ),
        Dataset(
            "lad13", "lad13_england.topojson", "polygons", "2013",
            "Local Authority Districts (2013), England, generalised, TopoJSON (a separately drawn layer)",
            "https://raw.githubusercontent.com/martinjc/UK-GeoJSON/master/json/administrative/eng/topo_lad.json",
            service="file",
            fields=("LAD13CD", "LAD13CDO", "LAD13NM", "LAD13NMW"),
            licence=OGL + " (redistributed under CC BY 4.0 by martinjc/UK-GeoJSON)",
            attribution="Contains OS data © Crown copyright and database right 2014",
        ),
    ]
}


@dataclass(frozen=True)
class LayerRecipe:
    """A named layer: which small areas it is a union of, and which lookup columns say how."""

    name: str
    title: str
    lookup: str | None  # dataset name, or None when the small-area layer carries the parent code
    code_col: str
    name_col: str | None
    needs: tuple[str, ...] = field(default=())


LAYERS: dict[str, LayerRecipe] = {
    r.name: r
    for r in [
        LayerRecipe("lsoa11", "LSOAs (December 2011)", None, "LSOA11CD", "LSOA11NM", ("lsoa11",)),
        LayerRecipe("lad11", "Districts rebuilt from LSOAs (2011 codes)", None, "LAD11CD", None, ("lsoa11",)),
        LayerRecipe("stp17", "STP footprints (April 2017)", "lookup_lsoa11_ccg17_stp17_lad17", "STP17CD", "STP17NM",
                    ("lsoa11", "lookup_lsoa11_ccg17_stp17_lad17")),
        LayerRecipe("ccg17", "CCGs (April 2017)", "lookup_lsoa11_ccg17_stp17_lad17", "CCG17CD", "CCG17NM",
                    ("lsoa11", "lookup_lsoa11_ccg17_stp17_lad17")),
        LayerRecipe("lad17", "Lower-tier authorities / districts (2017)", "lookup_lsoa11_ccg17_stp17_lad17", "LAD17CD",
                    "LAD17NM", ("lsoa11", "lookup_lsoa11_ccg17_stp17_lad17")),
        LayerRecipe("ccg16", "CCGs (April 2016)", "lookup_lsoa11_ccg16_lad16", "CCG16CD", "CCG16NM",
                    ("lsoa11", "lookup_lsoa11_ccg16_lad16")),
        LayerRecipe("lad16", "Districts (April 2016)", "lookup_lsoa11_ccg16_lad16", "LAD16CD", "LAD16NM",
                    ("lsoa11", "lookup_lsoa11_ccg16_lad16")),
        LayerRecipe("upper17", "Upper-tier councils with social care duties (2017): 152", "lookup_lsoa11_utla17",
                    "UPPER17CD", "UPPER17NM", ("lsoa11", "lookup_lsoa11_utla17", "lookup_lsoa11_ccg17_stp17_lad17")),
        LayerRecipe("lad13", "Districts (2013), generalised, separately drawn", None, "LAD13CD", "LAD13NM", ("lad13",)),
    ]
}

POPULATION = "population_lsoa11_mid2019"


def default_cache_root() -> Path:
    """Where built layers and fetched data go: ``$COTERM_CACHE`` or the user cache folder."""
    env = os.environ.get("COTERM_CACHE")
    return Path(env).expanduser() if env else Path(user_cache_dir("coterminosity"))


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder holding the published files: the option, then ``$COTERM_DATA``, then the cache."""
    if data_dir:
        path = Path(data_dir).expanduser()
        source = "--data-dir"
    elif os.environ.get("COTERM_DATA"):
        path = Path(os.environ["COTERM_DATA"]).expanduser()
        source = "COTERM_DATA"
    else:
        return default_cache_root() / "data"
    if not path.is_dir():
        raise CotermError(f"{source} {path}: not a folder; point it at the folder holding the ONS files")
    return path


def dataset_path(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The path of a catalogue dataset, or a one-line error saying how to get it."""
    if name not in DATASETS:
        raise CotermError(f"unknown dataset {name!r}; `coterm data list` shows the catalogue")
    folder = resolve_data_dir(data_dir)
    path = folder / DATASETS[name].filename
    if not path.is_file():
        raise CotermError(
            f"{path}: missing; run `coterm data fetch {name}` or point --data-dir/COTERM_DATA at a folder that has it"
        )
    return path
