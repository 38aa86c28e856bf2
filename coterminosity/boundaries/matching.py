"""Units of two vintages matched by the small areas they hold: each old unit's class and the pieces
that moved (see :mod:`.changes` for the rules)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ..geo.layer import Layer, Population

Kind = Literal["unchanged", "recoded", "renamed", "merged", "split", "grew", "shrank", "new", "gone"]
KINDS: tuple[str, ...] = ("unchanged", "recoded", "renamed", "merged", "split", "grew", "shrank", "new", "gone")

TABLE_COLUMNS = ["class", "old_code", "old_name", "new_code", "new_name", "lsoas_old", "lsoas_new", "people_old",
                 "people_new", "people_gained", "people_lost", "area_km2_old", "area_km2_new", "detail"]
PIECE_COLUMNS = ["piece", "from_code", "from_name", "to_code", "to_name", "lsoas", "people", "area_km2",
                 "share_of_from"]


def _best(pairs: pd.DataFrame, side: str, key: str) -> pd.Series:
    """For each unit on ``side`` (``old_code``/``new_code``), the unit on the other side holding most of it."""
    other = "new_code" if side == "old_code" else "old_code"
    ranked = pairs.sort_values([side, key, "area_m2", other], ascending=[True, False, False, True])
    return ranked.drop_duplicates(side).set_index(side)[other]


def classify_units(old: Layer, new: Layer, pairs: pd.DataFrame, same: np.ndarray, totals_old: pd.DataFrame,
                   totals_new: pd.DataFrame, population: Population | None, method: str
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """(unit table, moved pieces, pairs with their role, successor of each continuing old unit)."""
    key = "people" if population is not None and pairs["people"].sum() > 0 else "lsoas"
    if method == "geometry" and key == "lsoas":
        key = "area_m2"
    succ, pred = _best(pairs, "old_code", key), _best(pairs, "new_code", key)
    successor = {a: b for a, b in succ.items() if pred.get(b) == a}
    origin = {b: a for a, b in successor.items()}
    identical = dict(zip(pairs.loc[same, "old_code"], pairs.loc[same, "new_code"]))
    for a, b in identical.items():  # the same small areas always continue each other
        successor[a], origin[b] = b, a
    for a, b in succ.items():  # where no pair chose each other, a unit's code settles it (never alone)
        if a == b and a not in successor and b not in origin:
            successor[a], origin[b] = b, a
    absorbed = {a: succ[a] for a in succ.index if a not in successor and succ[a] in origin}  # merged into succ
    split_off = {b: pred[b] for b in pred.index if b not in origin}  # new units split off an old one
    old_names, new_names = old.names(), new.names()

    tot_old, tot_new = totals_old.to_dict("index"), totals_new.to_dict("index")
    shared = pairs.set_index(["old_code", "new_code"])[list(dict.fromkeys(["people", key]))].to_dict("index")
    none = {"lsoas": 0, "people": 0.0, "area_m2": 0.0}

    def row(kind: str, a: str | None, b: str | None, detail: str = "") -> dict:
        o, n = tot_old.get(a, none), tot_new.get(b, none)
        kept = shared.get((a, b), none)["people"]
        continuing = kind in ("unchanged", "recoded", "renamed", "grew", "shrank") or detail.startswith("continues")
        return {"class": kind, "old_code": a or "", "old_name": old_names.get(a, "") if a else "",
                "new_code": b or "", "new_name": new_names.get(b, "") if b else "",
                "lsoas_old": int(o["lsoas"]), "lsoas_new": int(n["lsoas"]), "people_old": o["people"],
                "people_new": n["people"], "people_gained": n["people"] - kept if continuing else 0.0,
                "people_lost": o["people"] - kept if continuing else 0.0, "area_km2_old": o["area_m2"] / 1e6,
                "area_km2_new": n["area_m2"] / 1e6, "detail": detail}

    rows = []
    for a in old.codes:
        b = successor.get(a)
        detail = ""
        if a not in succ.index:
            kind, b = "gone", None
        elif a in identical:
            kind = "unchanged" if a == b and old_names[a] == new_names[b] else ("renamed" if a == b else "recoded")
        elif b is not None:
            partners = sorted(x for x, y in absorbed.items() if y == b)
            products = sorted(x for x, y in split_off.items() if y == a)
            if partners:
                kind, detail = "merged", f"continues as {b} with {', '.join(partners)}"
            elif products:
                kind, detail = "split", f"continues as {b}; split off: {', '.join(products)}"
            else:
                gained = tot_new[b][key] - shared[(a, b)][key]
                lost = tot_old[a][key] - shared[(a, b)][key]
                kind = "grew" if gained >= lost else "shrank"
        elif a in absorbed:
            b = absorbed[a]
            kind, detail = "merged", f"into {b} (continuing {origin[b]})"
        else:  # its largest part went to a new unit split off another old unit: merged with that part
            b = succ[a]
            kind, detail = "merged", f"into {b} (split off {pred[b]})"
        rows.append(row(kind, a, b, detail))
    for b in new.codes:
        if b in origin:
            continue
        a = split_off.get(b)
        kind = "new" if a is None else "split"
        joined = sorted(x for x, y in succ.items() if y == b and x != a and x not in successor)
        detail = f"split off {a}" + (f", with {', '.join(joined)}" if joined else "") if a else ""
        rows.append(row(kind, a, b, detail))
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    table["_order"] = table["class"].map({k: i for i, k in enumerate(KINDS)})
    table = table.sort_values(["_order", "old_code", "new_code"]).drop(columns="_order").reset_index(drop=True)

    def role(a: str, b: str) -> str:
        if successor.get(a) == b:
            return "continuation"
        if absorbed.get(a) == b:
            return "merger"
        if split_off.get(b) == a or (a not in successor and a not in absorbed and succ.get(a) == b):
            return "split"
        return "moved"

    pairs = pairs.assign(role=[role(a, b) for a, b in zip(pairs["old_code"], pairs["new_code"])])
    moved = pairs[pairs["role"] == "moved"].sort_values([key, "old_code", "new_code"], ascending=[False, True, True])
    pieces = pd.DataFrame({
        "piece": [f"P{i}" for i in range(1, len(moved) + 1)],
        "from_code": moved["old_code"].to_numpy(), "from_name": moved["old_code"].map(old_names).to_numpy(),
        "to_code": moved["new_code"].to_numpy(), "to_name": moved["new_code"].map(new_names).to_numpy(),
        "lsoas": moved["lsoas"].astype(int).to_numpy(), "people": moved["people"].to_numpy(dtype=float),
        "area_km2": moved["area_m2"].to_numpy(dtype=float) / 1e6,
    }, columns=PIECE_COLUMNS[:-1])
    whole = moved["old_code"].map(totals_old[key]).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pieces["share_of_from"] = np.where(whole > 0, moved[key].to_numpy(dtype=float) / whole, 0.0)
    return table, pieces, pairs, successor
