"""The published files coterminosity reads: name, file, vintage, licence, source service and fields."""

from __future__ import annotations

from dataclasses import dataclass

OGL = "Open Government Licence v3.0"
ONS_SERVICES = "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services"
ONS_ATTRIBUTION = "Source: Office for National Statistics licensed under the " + OGL
GEOGRAPHR = "https://github.com/humaniverse/geographr"


@dataclass(frozen=True)
class Join:
    """Columns a published layer lacks, taken from an ONS lookup table (an ArcGIS table service)
    and joined on ``key`` when the layer is fetched (e.g. each LSOA's 2011 district)."""

    url: str
    key: str
    fields: tuple[str, ...]
    title: str = ""


@dataclass(frozen=True)
class Dataset:
    """One published file the toolkit can read: what it is and where it comes from."""

    name: str
    filename: str
    kind: str  # "polygons" | "lookup" | "table" | "points"
    vintage: str
    title: str
    url: str
    # "arcgis" feature/table service, "file" (plain download), or "manual": not published in the
    # form the toolkit reads (joined, converted or derived); `coterm data fetch` says where from.
    service: str = "arcgis"
    licence: str = OGL
    fields: tuple[str, ...] = ()  # the columns the toolkit reads
    attribution: str = ONS_ATTRIBUTION
    where: str = "1=1"  # the rows fetched (ArcGIS ``where``: England only for England-and-Wales layers)
    join: Join | None = None  # columns of ``fields`` that come from a lookup, not from the layer itself
    bundled_from: bool = True  # False: fetched only, never part of the England bundle (newer or full resolution)

    @property
    def layer_fields(self) -> tuple[str, ...]:
        """The fields the publisher's layer itself carries (``fields`` less those joined)."""
        joined = set(self.join.fields) if self.join else set()
        return tuple(f for f in self.fields if f not in joined)


def _ons(name: str, vintage: str, title: str, service: str, fields: str, kind: str = "lookup") -> Dataset:
    """An ONS Open Geography Portal lookup served as an ArcGIS table (file ``<name>.csv``)."""
    return Dataset(name, f"{name}.csv", kind, vintage, title, f"{ONS_SERVICES}/{service}/FeatureServer/0",
                   fields=tuple(fields.split()))


def _manual(name: str, vintage: str, title: str, url: str, fields: str, kind: str = "table", *,
            licence: str = OGL, attribution: str = ONS_ATTRIBUTION) -> Dataset:
    """A file made from a publisher's data (joined, converted or derived): fetched by hand."""
    return Dataset(name, f"{name}.csv", kind, vintage, title, url, service="manual", licence=licence,
                   fields=tuple(fields.split()), attribution=attribution)


OS_ATTRIBUTION = "Contains OS data © Crown copyright and database right 2014; " + ONS_ATTRIBUTION
ENGLISH_LSOAS = "LSOA11CD LIKE 'E01%'"
# The ONS boundary layers carry no district: it comes from the output area → LSOA → MSOA → district lookup.
LSOA11_DISTRICT = Join(f"{ONS_SERVICES}/OA11_LSOA11_MSOA11_LAD11_EW_LUv2/FeatureServer/0", "LSOA11CD", ("LAD11CD",),
                       "Output Area to LSOA to MSOA to Local Authority District (December 2011) Lookup in England and "
                       "Wales")


def _bfc(name: str, filename: str, vintage: str, title: str, service: str, fields: tuple[str, ...],
         where: str = "1=1", join: Join | None = None) -> Dataset:
    """A full-resolution (or newer) ONS boundary layer that only ``coterm data fetch`` brings (not in the bundle)."""
    return Dataset(name, filename, "polygons", vintage, title, f"{ONS_SERVICES}/{service}/FeatureServer/0",
                   fields=fields, where=where, join=join, bundled_from=False,
                   attribution="Contains OS data © Crown copyright and database right; " + ONS_ATTRIBUTION)


_OHID = ("Office for Health Improvement and Disparities (OHID), NHS Acute (Hospital) Trust Catchment Populations; "
         "licensed under the " + OGL)
_ODS = "NHS England Organisation Data Service (ODS); licensed under the " + OGL

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            "lsoa11", "lsoa11_england.gpkg", "polygons", "December 2011",
            "Lower Layer Super Output Areas (December 2011) Boundaries Generalised Clipped (BGC) EW V3, England rows, "
            "with each LSOA's 2011 district (the small areas every health layer is built from; the bundle's source)",
            f"{ONS_SERVICES}/LSOA_Dec_2011_Boundaries_Generalised_Clipped_BGC_EW_V3_2022/FeatureServer/0",
            fields=("LSOA11CD", "LSOA11NM", "LAD11CD"), where=ENGLISH_LSOAS, join=LSOA11_DISTRICT,
            attribution=OS_ATTRIBUTION,
        ),
        _bfc("lsoa11_bfc", "lsoa11_bfc_england.gpkg", "December 2011",
             "Lower Layer Super Output Areas (December 2011) Boundaries Full Clipped (BFC) EW V3, England rows: "
             "full resolution, with each LSOA's 2011 district",
             "Lower_layer_Super_Output_Areas_Dec_2011_Boundaries_Full_Clipped_BFC_EW_V3_2022",
             ("LSOA11CD", "LSOA11NM", "LAD11CD"), ENGLISH_LSOAS, LSOA11_DISTRICT),
        _bfc("lsoa21_bfc", "lsoa21_bfc_england.gpkg", "December 2021",
             "Lower Layer Super Output Areas (December 2021) Boundaries EW BFC V10, England rows: full resolution",
             "Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BFC_V10", ("LSOA21CD", "LSOA21NM"),
             "LSOA21CD LIKE 'E01%'"),
        _bfc("icb23_bfc", "icb23_bfc_england.gpkg", "April 2023",
             "Integrated Care Boards (April 2023) EN BFC: full resolution", "Integrated_Care_Boards_April_2023_EN_BFC",
             ("ICB23CD", "ICB23NM")),
        _bfc("lad24_bfc", "lad24_bfc_england.gpkg", "May 2024",
             "Local Authority Districts (May 2024) Boundaries UK BFC, England rows: full resolution",
             "Local_Authority_Districts_May_2024_Boundaries_UK_BFC", ("LAD24CD", "LAD24NM"), "LAD24CD LIKE 'E%'"),
        _ons("lookup_lsoa11_ccg16_lad16", "April 2016", "LSOA (2011) to CCG and district (April 2016)",
             "LSOA11_CCG16_LAD16_EN_LU", "LSOA11CD LSOA11NM CCG16CD CCG16CDH CCG16NM LAD16CD LAD16NM"),
        _ons("lookup_lsoa11_ccg17_stp17_lad17", "April 2017", "LSOA (2011) to CCG, STP footprint and district (April 2017)",
             "LSOA11_CCG17_STP17_LAD17_EN_LU",
             "LSOA11CD LSOA11NM CCG17CD CCG17CDH CCG17NM STP17CD STP17NM LAD17CD LAD17NM"),
        _ons("lookup_lsoa11_ccg18_stp18_lad18", "April 2018",
             "LSOA (2011) to CCG to STP to district (April 2018), version 3", "LSOA11_CCG18_STP18_LAD18_EN_LU",
             "LSOA11CD LSOA11NM CCG18CD CCG18CDH CCG18NM STP18CD STP18NM LAD18CD LAD18NM"),
        # 2019 and 2020: the ONS LSOA → CCG → district lookup; the file here also carries the STP
        # columns (joined on the CCG code), but the layers take STPs from the CCG → STP lookup.
        _ons("lookup_lsoa11_ccg19_stp19_lad19", "April 2019", "LSOA (2011) to CCG to district (April 2019)",
             "LSOA11_CCG19_LAD19_EN_LU", "LSOA11CD LSOA11NM CCG19CD CCG19CDH CCG19NM LAD19CD LAD19NM"),
        _ons("lookup_lsoa11_ccg20_stp20_lad20", "April 2020", "LSOA (2011) to CCG to district (April 2020)",
             "LSOA11_CCG20_LAD20_EN_LU", "LSOA11CD LSOA11NM CCG20CD CCG20CDH CCG20NM LAD20CD LAD20NM"),
        _ons("lookup_lsoa11_ccg21_stp21_lad21", "April 2021", "LSOA (2011) to CCG to STP to district (April 2021)",
             "LSOA11_CCG21_STP21_LAD21_EN_LU", "LSOA11CD LSOA11NM CCG21CD CCG21NM STP21CD STP21NM LAD21CD LAD21NM"),
        _ons("lookup_lsoa11_sicbl22_icb22_lad22", "July 2022",
             "LSOA (2011) to sub-ICB location to Integrated Care Board to district (July 2022)",
             "LSOA11_SICBL22_ICB22_LAD22_EN_LU",
             "LSOA11CD LSOA11NM SICBL22CD SICBL22CDH SICBL22NM ICB22CD ICB22CDH ICB22NM LAD22CD LAD22NM"),
        _ons("lookup_lsoa11_lsoa21_lad22", "2022",
             "LSOA (2011) to LSOA (2021) to district (2022), England rows; CHGIND U unchanged, S split, M merged, "
             "X complex", "LSOA11_LSOA21_LAD22_EW_LU", "LSOA11CD LSOA11NM CHGIND LSOA21CD LSOA21NM LAD22CD LAD22NM"),
        _ons("lookup_lsoa21_sicbl24_icb24", "April 2024",
             "LSOA (2021) to sub-ICB location to Integrated Care Board (April 2024)", "LSOA21_SICBL24_ICB24_EN_LU",
             "LSOA21CD LSOA21NM SICBL24CD SICBL24CDH SICBL24NM ICB24CD ICB24CDH ICB24NM"),
        _ons("lookup_lsoa11_utla17", "2017", "LSOA (2011) to upper-tier local authority (2017), England and Wales",
             "LSOA11_UTLA17_EW_LU", "LSOA11CD LSOA11NM UTLA17CD UTLA17NM"),
        _ons("lookup_ltla17_utla17", "December 2017",
             "Lower-tier to upper-tier local authority (December 2017), England and Wales",
             "LTLA17_UTLA17_EW_LU", "LTLA17CD LTLA17NM UTLA17CD UTLA17NM"),
        _ons("lookup_ltla19_utla19", "April 2019", "Lower-tier to upper-tier local authority (April 2019), England and Wales",
             "LTLA19_UTLA19_EW_LU", "LTLA19CD LTLA19NM UTLA19CD UTLA19NM"),
        _ons("lookup_ltla20_utla20", "April 2020", "Lower-tier to upper-tier local authority (April 2020), England and Wales",
             "LTLA20_UTLA20_EW_LU", "LTLA20CD LTLA20NM UTLA20CD UTLA20NM"),
        _ons("lookup_ltla21_utla21", "April 2021", "Lower-tier to upper-tier local authority (April 2021), England and Wales",
             "LTLA21_UTLA21_EW_LU", "LTLA21CD LTLA21NM UTLA21CD UTLA21NM"),
        _ons("lookup_lad17_cty17", "December 2017", "District to county (December 2017), England, two-tier areas",
             "LAD17_CTY17_EN_LU", "LAD17CD LAD17NM CTY17CD CTY17NM"),
        _ons("lookup_ccg17_stp17", "April 2017", "CCG to STP footprint (April 2017)", "CCG17_STP17_EN_LU",
             "CCG17CD CCG17CDH CCG17NM STP17CD STP17NM"),
        _ons("lookup_ccg18_stp18", "April 2018", "CCG to STP footprint (April 2018)", "CCG18_STP18_EN_LU",
             "CCG18CD CCG18CDH CCG18NM STP18CD STP18NM"),
        _ons("lookup_ccg19_stp19", "April 2019", "CCG to STP footprint (April 2019)", "CCG19_STP19_EN_LU",
             "CCG19CD CCG19CDH CCG19NM STP19CD STP19NM"),
        _ons("lookup_ccg20_stp20", "April 2020", "CCG to STP footprint (April 2020)", "CCG20_STP20_EN_LU",
             "CCG20CD CCG20CDH CCG20NM STP20CD STP20CDH STP20NM"),
        _ons("lookup_lsoa11_msoa11", "December 2011",
             "LSOA (2011) to MSOA (2011), England (from the ONS output area to LSOA to MSOA to district lookup)",
             "OA11_LSOA11_MSOA11_LAD11_EW_LUv2", "LSOA11CD LSOA11NM MSOA11CD MSOA11NM"),
        _manual("lsoa11_pwc_england", "December 2011",
                "LSOA (December 2011) population-weighted centroids, England (easting/northing in EPSG:27700 added)",
                "https://geoportal.statistics.gov.uk/search?q=LSOA%20Dec%202011%20population%20weighted%20centroids",
                "LSOA11CD LSOA11NM easting northing", kind="points"),
        Dataset(
            "population_lsoa11_mid2019", "population_lsoa11_mid2019.csv", "table", "mid-2019",
            "Small-area population estimates (SAPE22) by LSOA: total and three age bands",
            "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/"
            "populationestimates/datasets/lowersuperoutputareamidyearpopulationestimates",
            service="file",
            fields=("LSOA11CD", "LSOA11NM", "population", "age_0_15", "age_16_64", "age_65_plus"),
        ),
        _manual("trust22_catchment_shares_ltla21", "2022 trusts, 2021 councils",
                "NHS acute trust catchments: share of each trust's catchment population living in each lower-tier "
                "council (derived from OHID NHS Acute (Hospital) Trust Catchment Populations, all admissions)",
                GEOGRAPHR, "TRUST22CD LTLA21CD SHARE", attribution=_OHID),
        _manual("trust22_catchment_shares_icb22", "2022",
                "NHS acute trust catchments: share of each trust's catchment population living in each ICB (2022) "
                "(derived from OHID NHS Acute (Hospital) Trust Catchment Populations)",
                GEOGRAPHR, "TRUST22CD ICB22CD SHARE", attribution=_OHID),
        _manual("trust22_points", "2022",
                "NHS trusts (2022): headquarters geocoded from the ODS postcode (a head office, not every site)",
                GEOGRAPHR, "TRUST22CD TRUST22NM STATUS lon lat", kind="points", attribution=_ODS),
        _manual("trust_catchment_population_2011_2021", "2011–2021",
                "OHID NHS Acute (Hospital) Trust Catchment Populations by trust and year",
                "https://github.com/THF-evaluative-analytics/trust_reference_data_file",
                "YEAR TRUSTCD TRUSTNM CATCHMENT_POPULATION", attribution=_OHID),
        _manual("trust_successors", "ODS",
                "ODS successor organisations: old trust code to new code, with the date (mergers)",
                "https://digital.nhs.uk/services/organisation-data-service/export-data-files/csv-downloads/miscellaneous",
                "OLD_CODE NEW_CODE DATE", attribution=_ODS),
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
