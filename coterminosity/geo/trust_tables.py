"""The three published trust tables, read and checked: catchment shares (trust → area → share),
OHID catchment populations by year, and the ODS successor table; and each trust's population
resolved through its predecessors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .flows import MAX_NAMED, _column
from .read import read_table, row_numbers

SHARE_COLUMNS = ("TRUST22CD", "LTLA21CD", "SHARE")
SHARE_TOLERANCE = 1e-6
MAX_CHAIN = 20  # predecessor generations followed before giving up (the ODS table has no cycles)
SPECIALIST_WORDS = ("CHILDREN", "CANCER", "HEART", "WOMEN", "WALTON", "ORTHOPAEDIC", "EYE", "MARSDEN", "PAPWORTH")


def named_rows(rows: np.ndarray, word: str) -> str:
    """"line 3, line 7 and 2 more": the first few rows named."""
    shown = ", ".join(f"{word} {r}" for r in rows[:MAX_NAMED])
    return shown + (f" and {len(rows) - MAX_NAMED:,} more" if len(rows) > MAX_NAMED else "")


def read_shares(path: str | Path, area_col: str = SHARE_COLUMNS[1]) -> tuple[pd.DataFrame, str]:
    """Checked shares: ``trust``, ``council``, ``share``, ``row``; and the row word ("line"/"row").

    One-line errors naming rows for missing columns, empty codes, shares that are not numbers
    ≥ 0, repeated (trust, council) rows, and trusts whose shares do not sum to 1 (± 1e-6).
    """
    p = Path(path)
    table = read_table(p)
    word, rows = row_numbers(p, table)
    cols = []
    wanted_cols = (SHARE_COLUMNS[0], area_col, SHARE_COLUMNS[2])
    for wanted in wanted_cols:
        found = _column(table, wanted)
        if found is None:
            raise InputError(f"{p}: no column {wanted!r}; a trust share table has columns "
                             f"{', '.join(wanted_cols)} (present: {', '.join(map(str, table.columns[:10]))})")
        cols.append(found)
    if len(table) == 0:
        raise InputError(f"{p}: no rows; nothing to count")
    frame = pd.DataFrame({"trust": table[cols[0]].astype("string").str.strip().to_numpy(),
                          "council": table[cols[1]].astype("string").str.strip().to_numpy(),
                          "raw": table[cols[2]].astype("string").to_numpy(), "row": rows})
    for role, col in (("trust", cols[0]), ("council", cols[1])):
        empty = (frame[role].isna() | (frame[role] == "")).to_numpy()
        if empty.any():
            raise InputError(f"{p}: {int(empty.sum()):,} rows have no {role} code in column {col!r} "
                             f"({named_rows(frame['row'].to_numpy()[empty], word)}); fill them in or remove them")
    share = pd.to_numeric(frame["raw"].str.strip(), errors="coerce")
    bad = (share.isna() | ~np.isfinite(share.fillna(0)) | (share < 0)).to_numpy()
    if bad.any():
        listed = ", ".join(f"{word} {r.row} ({'empty' if pd.isna(r.raw) else repr(r.raw)})"
                           for r in frame[bad].head(MAX_NAMED).itertuples())
        raise InputError(f"{p}: {cols[2]} must be a share ≥ 0, but {int(bad.sum()):,} rows are not: {listed}; "
                         "fix or remove those rows")
    frame["share"] = share.astype(float).to_numpy()
    frame = frame.drop(columns="raw")
    dup = frame.duplicated(["trust", "council"], keep=False).to_numpy()
    if dup.any():
        first = frame[dup].iloc[0]
        again = frame[dup & (frame["trust"] == first.trust).to_numpy() & (frame["council"] == first.council).to_numpy()]
        raise InputError(f"{p}: trust {first.trust} has council {first.council} on several rows "
                         f"({named_rows(again['row'].to_numpy(), word)}; {int(dup.sum()):,} repeated rows in all); "
                         "keep one row per trust and council")
    sums = frame.groupby("trust", sort=False)["share"].sum()
    off = sums[(sums - 1).abs() > SHARE_TOLERANCE]
    if len(off):
        trust = off.index[0]
        rows_of = frame.loc[frame["trust"] == trust, "row"].to_numpy()
        others = f"; {len(off) - 1:,} more trusts too (e.g. {', '.join(off.index[1:4])})" if len(off) > 1 else ""
        raise InputError(f"{p}: the shares of trust {trust} sum to {off.iloc[0]:.6f}, not 1 "
                         f"({named_rows(rows_of, word)}){others}; each trust's shares must sum to 1 (± {SHARE_TOLERANCE:g})")
    return frame.reset_index(drop=True), word


def read_footprint_shares(path: str | Path) -> pd.DataFrame:
    """Published shares of each trust's catchment by footprint (``TRUST22CD``, a ``…CD`` footprint
    code column such as ``ICB22CD``, ``SHARE``), checked like :func:`read_shares`: ``trust``, ``footprint``, ``share``."""
    header = read_table(path).columns
    area = next((c for c in header if str(c).upper().endswith("CD") and str(c).upper() != "TRUST22CD"), None)
    if area is None:
        raise InputError(f"{path}: no footprint code column (…CD, e.g. ICB22CD) beside TRUST22CD and SHARE")
    table, _ = read_shares(path, area_col=str(area))
    return table.rename(columns={"council": "footprint"})[["trust", "footprint", "share", "row"]]


def read_successors(path: str | Path) -> pd.DataFrame:
    """The ODS successor table: ``old``, ``new`` (codes as text), ``date``."""
    table = read_table(path)
    cols = [_column(table, c) for c in ("OLD_CODE", "NEW_CODE")]
    if None in cols:
        raise InputError(f"{path}: expected columns OLD_CODE and NEW_CODE (the ODS successor table)")
    date = _column(table, "DATE")
    out = pd.DataFrame({"old": table[cols[0]].astype(str).str.strip(), "new": table[cols[1]].astype(str).str.strip(),
                        "date": table[date].astype(str) if date else ""})
    return out[(out["old"] != "") & (out["new"] != "")].reset_index(drop=True)


def read_catchment_population(path: str | Path) -> pd.DataFrame:
    """Per trust code: latest non-blank ``population``, its ``year``, and the trust ``name``
    (population NaN when every year is blank)."""
    table = read_table(path)
    cols = {c: _column(table, c) for c in ("YEAR", "TRUSTCD", "TRUSTNM", "CATCHMENT_POPULATION")}
    missing = [c for c, found in cols.items() if found is None]
    if missing:
        raise InputError(f"{path}: no column {missing[0]!r}; expected the OHID trust catchment population table "
                         "(YEAR, TRUSTCD, TRUSTNM, CATCHMENT_POPULATION)")
    word, rows = row_numbers(path, table)
    frame = pd.DataFrame({"trust": table[cols["TRUSTCD"]].astype(str).str.strip().to_numpy(),
                          "name": table[cols["TRUSTNM"]].astype(str).str.strip().to_numpy(),
                          "year": pd.to_numeric(table[cols["YEAR"]], errors="coerce").to_numpy(),
                          "raw": table[cols["CATCHMENT_POPULATION"]].to_numpy(), "row": rows})
    pop = pd.to_numeric(frame["raw"], errors="coerce")
    bad = (frame["raw"].notna() & (pop.isna() | (pop < 0))).to_numpy()
    if bad.any():
        raise InputError(f"{path}: CATCHMENT_POPULATION must be blank or a number ≥ 0 "
                         f"({named_rows(frame['row'].to_numpy()[bad], word)}); fix those rows")
    frame["population"] = pop.to_numpy()
    postcode = _column(table, "POSTCODE")
    frame["postcode"] = table[postcode].astype(str).str.strip().to_numpy() if postcode else ""
    last = frame.sort_values("year").drop_duplicates("trust", keep="last").set_index("trust")
    known = frame.dropna(subset=["population"]).sort_values(["trust", "year"]).drop_duplicates("trust", keep="last")
    out = pd.DataFrame({"trust": last.index, "name": last["name"].to_numpy(), "postcode": last["postcode"].to_numpy()})
    out = out.merge(known[["trust", "population", "year"]], on="trust", how="left")
    wide = frame.pivot_table(index="trust", columns="year", values="population", aggfunc="first")
    years = list(wide.columns)
    changed = [y for a, y in zip(years, years[1:]) if not wide[a].equals(wide[y])]
    out.attrs["last_change"] = int(changed[-1]) if changed else (int(years[-1]) if years else None)
    return out


def same_postcode_hint(trust: str, pops: pd.DataFrame, successor_file: str) -> str:
    """For a trust left out: other trusts at its postcode that had a catchment population (an
    unlisted merger, e.g. Somerset RH5 and Taunton and Somerset RBA), as a hint; else ''."""
    row = pops[pops["trust"] == trust]
    if row.empty or not row["postcode"].iloc[0] or row["postcode"].iloc[0] in ("nan", "None"):
        return ""
    same = pops[(pops["postcode"] == row["postcode"].iloc[0]) & (pops["trust"] != trust) & pops["population"].notna()]
    if same.empty:
        return ""
    listed = ", ".join(f"{r.trust} {readable_name(r.name)} {r.population:,.0f} ({int(r.year)})" for r in same.itertuples())
    return (f"; {listed} at the same postcode {row['postcode'].iloc[0]} had one: a merger {successor_file} does not "
            "list? Add the row to a copy and pass it with --successors")


def resolve_populations(trusts: list[str], table: pd.DataFrame, successors: pd.DataFrame) -> pd.DataFrame:
    """Per trust: ``population`` and ``source`` — its own latest value, else the sum of its
    predecessors' (each predecessor without one replaced by its own predecessors, and so on)."""
    own = table.dropna(subset=["population"]).set_index("trust")
    before = successors.groupby("new")["old"].apply(lambda s: sorted(set(s))).to_dict()
    rows = []
    for trust in trusts:
        if trust in own.index:
            r = own.loc[trust]
            rows.append((trust, float(r.population), f"own {int(r.year)}", ""))
            continue
        used, seen, frontier = [], {trust}, list(before.get(trust, []))
        for _ in range(MAX_CHAIN):
            nxt = []
            for code in frontier:
                if code in seen:
                    continue
                seen.add(code)
                if code in own.index:
                    used.append(code)
                else:
                    nxt += before.get(code, [])
            if not nxt:
                break
            frontier = nxt
        if used:
            total = float(own.loc[used, "population"].sum())
            parts = " + ".join(f"{c} {own.loc[c, 'population']:,.0f} ({int(own.loc[c, 'year'])})" for c in used)
            rows.append((trust, total, f"predecessors {parts}", ",".join(used)))
        else:
            rows.append((trust, np.nan, "none", ""))
    return pd.DataFrame(rows, columns=["trust", "population", "source", "predecessors"])


def merged_in(resolved: pd.DataFrame, pops: pd.DataFrame, successors: pd.DataFrame) -> pd.DataFrame:
    """Trusts with a population of their own into which trusts with one merged after the last year
    the populations changed (the model year): ``trust``, ``old``, ``date``, ``population``, and
    ``shared`` when the old trust went to several successors (a split: not added)."""
    since = pops.attrs.get("last_change")
    own = resolved[resolved["source"].str.startswith("own")]["trust"]
    have = pops.dropna(subset=["population"]).set_index("trust")["population"]
    listed = set(resolved["trust"])  # a trust with shares of its own is not merged in (e.g. RBZ before its 2022 merger)
    rows = successors[successors["new"].isin(set(own)) & successors["old"].isin(set(have.index) - listed)]
    if since is not None:
        rows = rows[rows["date"].astype(str) > f"{since}-12-31"]
    rows = rows.drop_duplicates(["old", "new"])
    n_next = successors.drop_duplicates(["old", "new"]).groupby("old")["new"].nunique()
    return pd.DataFrame({"trust": rows["new"].to_numpy(), "old": rows["old"].to_numpy(), "date": rows["date"].to_numpy(),
                         "population": rows["old"].map(have).to_numpy(),
                         "shared": (rows["old"].map(n_next) > 1).to_numpy()})


def readable_name(name: str) -> str:
    """'ALDER HEY CHILDREN'S NHS FOUNDATION TRUST' → "Alder Hey Children's NHS Foundation Trust"."""
    words = [w.capitalize() for w in str(name).split()]
    small = {"And": "and", "Of": "of", "The": "the", "For": "for", "Nhs": "NHS"}
    return " ".join(small.get(w, w) if i or w == "Nhs" else w for i, w in enumerate(words))


def is_specialist(name: str) -> bool:
    upper = name.upper()
    return any(w in upper for w in SPECIALIST_WORDS)
