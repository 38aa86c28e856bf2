"""Scenario files: read moves from JSON, text or CSV, and write a scenario as JSON.

A scenario JSON is ``{"name": …, "footprints": "stp17", "units": [...], "moves": [{"unit": …,
"to": …}]}`` (moves may also be strings ``UNIT=FOOTPRINT``); a moves file is text with one
``UNIT=FOOTPRINT`` per line (``#`` comments), or a CSV with ``unit`` and ``to`` columns.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..boundaries.scenario import DEFAULT_UNITS, Move, ResolvedMove, Scenario
from ..errors import InputError
from .io import atomic_write


def _kind(value) -> str:
    """How a JSON value reads in a message: 'a number (5)', 'a list', …"""
    names = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "an object"}
    shown = f" ({value!r})" if isinstance(value, (int, float)) else ""
    return f"{names.get(type(value), type(value).__name__)}{shown}"


def load_scenario(path: str | Path) -> Scenario:
    """A scenario from a JSON file (``{"moves": [{"unit": …, "to": …}], …}``) or a moves file.

    A moves file is text with one ``UNIT=FOOTPRINT`` per line (``#`` comments), or a CSV with
    ``unit`` and ``to`` columns.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such scenario file; check the path")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"{p}: not UTF-8 (first bad byte at offset {err.start:,}); save the scenario file as "
                         "UTF-8") from None
    if p.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"{p}: not valid JSON (line {err.lineno}: {err.msg}); fix the file") from None
        except RecursionError:
            raise InputError(f"{p}: JSON nested too deeply to be a scenario; fix the file") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("moves"), list):
            raise InputError(f"{p}: a scenario JSON needs a list \"moves\" of {{\"unit\": …, \"to\": …}}")
        moves = []
        for i, m in enumerate(doc["moves"], 1):
            if isinstance(m, str):
                moves.append(Move.parse(m, f"{p}: move {i}"))
            elif (isinstance(m, dict) and isinstance(m.get("unit"), str) and m["unit"].strip()
                  and isinstance(m.get("to"), str) and m["to"].strip()):
                listed = m.get("lsoas")
                if listed is not None and not (isinstance(listed, list) and all(isinstance(c, str) for c in listed)):
                    raise InputError(f"{p}: move {i}: \"lsoas\" must be a list of LSOA codes, not {_kind(listed)}")
                moves.append(Move(m["unit"].strip(), m["to"].strip(), listed))
            else:
                raise InputError(f"{p}: move {i} needs \"unit\" and \"to\" as text (or a string UNIT=FOOTPRINT)")
        units = doc.get("units") or list(DEFAULT_UNITS)
        if isinstance(units, str):
            units = [units]
        if not isinstance(units, list) or not all(isinstance(u, str) and u.strip() for u in units):
            raise InputError(f"{p}: \"units\" must be a layer name or a list of them (e.g. [\"upper17\"]), "
                             f"not {_kind(doc.get('units'))}")
        for key in ("footprints", "name", "description"):
            if doc.get(key) is not None and not isinstance(doc[key], str):
                raise InputError(f"{p}: \"{key}\" must be text, not {_kind(doc[key])}")
        return Scenario(moves, footprints=doc.get("footprints") or "stp17", units=[u.strip() for u in units],
                        name=doc.get("name") or p.stem, description=doc.get("description") or "")
    lines = text.splitlines()
    first = lines[0].strip().lower().replace(" ", "") if lines else ""
    if p.suffix.lower() == ".csv" and first.startswith("unit,"):
        import csv

        moves = []
        for i, row in enumerate(csv.DictReader(lines), 2):
            unit, to = (row.get("unit") or "").strip(), (row.get("to") or "").strip()
            if not unit or not to:
                raise InputError(f"{p}: row {i}: needs both unit and to")
            moves.append(Move(unit, to))
    else:
        moves = [Move.parse(line.split("#", 1)[0].strip(), f"{p}: line {i}")
                 for i, line in enumerate(lines, 1) if line.split("#", 1)[0].strip()]
    if not moves:
        raise InputError(f"{p}: no moves; write one UNIT=FOOTPRINT per line")
    return Scenario(moves, name=p.stem)


def save_scenario(scenario: Scenario, path: str | Path, resolved: list[ResolvedMove] | None = None) -> None:
    """Write the scenario as JSON (atomically), with the resolved codes for the record."""
    doc = scenario.to_dict()
    if resolved:
        doc["resolved"] = [{"unit_codes": r.unit_codes, "unit": r.unit_label, "to": r.target,
                            "to_name": r.target_name, "lsoas": len(r.small_codes), "from": r.sources}
                           for r in resolved]
    atomic_write(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
