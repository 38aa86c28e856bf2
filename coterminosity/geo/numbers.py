"""Read counts written as text: one rule for every table of counts (populations, flows).

A count is a plain decimal number (``1636``, ``12.5``, ``1e3``) or one written with thousands
separators in the usual pattern (``1,636``, ``1,234,567.5``). A comma anywhere else (``2,5``:
a decimal comma, or two numbers run together) is not read as a number, nor are ``inf``,
``Infinity``, ``NaN`` or a number too large for a float (``1e999``): the caller names the row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError

THOUSANDS = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"


def to_counts(values: pd.Series) -> pd.Series:
    """Finite numbers from ``values`` (text or numbers, same index); NaN where a value is not one."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
    else:
        text = values.astype("string").str.strip()
        grouped = text.str.fullmatch(THOUSANDS).fillna(False).astype(bool)
        text = text.mask(grouped, text.str.replace(",", "", regex=False))
        text = text.mask(~grouped & text.str.contains(",", regex=False).fillna(False).astype(bool))
        numbers = pd.to_numeric(text, errors="coerce").astype(float)
    return numbers.where(np.isfinite(numbers.to_numpy(dtype=float, na_value=np.nan)))


def finite_total(counts: pd.Series, where: str) -> float:
    """The sum of ``counts``, or a one-line error when it is too large to hold (every count finite)."""
    with np.errstate(over="ignore"):
        total = float(np.sum(counts.to_numpy(dtype=float)))
    if not np.isfinite(total):
        raise InputError(f"{where}: the counts add up to more than a number can hold ({counts.max():.3g} at most "
                         "in one row); check the count column")
    return total
