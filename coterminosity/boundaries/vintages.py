"""Which layers belong together: each footprint vintage with the councils and CCGs of its year."""

from __future__ import annotations

# Each footprint vintage with the councils and the CCGs (sub-ICB locations from 2022) of its year.
# No upper-tier lookup is published after 2021, and the councils did not change in 2022: 2021 serves.
# The 2024 sub-ICB locations are not a union of whole 2011 LSOAs (two are divided): none for icb24.
DEFAULT_VINTAGES: tuple[tuple[str, str, str | None], ...] = (
    ("stp17", "upper17", "ccg17"),
    ("stp18", "upper18", "ccg18"),
    ("stp19", "upper19", "ccg19"),
    ("stp20", "upper20", "ccg20"),
    ("stp21", "upper21", "ccg21"),
    ("icb22", "upper21", "sicbl22"),
    ("icb24", "upper21", None),
)


def peers(footprints: str) -> tuple[str, str | None]:
    """(councils, CCGs) of a footprint vintage's year; the 2017 ones for anything else.

    Examples
    --------
    >>> peers("icb22")
    ('upper21', 'sicbl22')
    """
    for fp, councils, ccgs in DEFAULT_VINTAGES:
        if fp == footprints:
            return councils, ccgs
    return "upper17", "ccg17"


def year_layers(footprints: str) -> list[str]:
    """The councils, their districts and the CCGs of a footprint vintage's year, in that order.

    Examples
    --------
    >>> year_layers("stp21")
    ['upper21', 'lad21', 'ccg21']
    """
    councils, ccgs = peers(footprints)
    return [councils, "lad" + councils.removeprefix("upper")] + ([ccgs] if ccgs else [])
