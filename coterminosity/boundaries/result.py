"""The shape every answer takes: a table, the sentences around it, and what JSON carries with it."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import pandas as pd

WEIGHT_WORDS = {"population": "people", "area": "m²", "small_areas": "small areas"}


@runtime_checkable
class Result(Protocol):
    """A computed answer: ``table`` (one row per unit, piece or move), ``header()`` (what was
    compared and how), ``lines()`` (the sentences below the table) and ``meta()`` (for JSON)."""

    table: pd.DataFrame

    def header(self) -> list[str]: ...

    def lines(self) -> list[str]: ...

    def meta(self) -> dict[str, Any]: ...


def weight_line(by: str, population_label: str | None, population_total: float | None) -> str:
    """The header line saying what the numbers are weighted by."""
    if population_label is None:
        return (f"weights: area (m², EPSG:27700) and count of small areas; no population given (add --population "
                f"FILE, or compare layers built from the LSOAs) — classes by {by}")
    return (f"weights: population ({population_label}, total {population_total:,.0f}), area and small areas "
            f"— classes by {by}")


def amount_text(value: float, by: str) -> str:
    """An amount of a weight in words: ``1,234 people``, ``12 km²`` or ``5 small areas``."""
    if by == "area":
        return f"{value / 1e6:,.2f} km²"
    return f"{value:,.0f} {WEIGHT_WORDS[by]}"


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 row``, ``2 rows``."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"
