"""The cache of built frames: where it lives, how entries are keyed, and reading and writing them.

An entry is keyed by a fingerprint of its source files (path, inode, size, modification and
change times) and :data:`BUILD_VERSION`, so a changed source file or a changed way of building
misses the cache, even when the file was edited in place and its modification time put back
(the change time cannot be put back).

Each entry is one Parquet file carrying, in its metadata, its own file name and the notes
(repairs, assumptions) made while building it: frame and notes are written in one atomic
rename, and a Parquet file that is not the entry it is named as (copied from another entry,
written by another program) is a miss. A cache that cannot be read or written only makes the
next run slower; it is never an error. A frame that could not be written is kept in memory for
the rest of the process, so one run never builds the same thing twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq

from .catalogue import dataset_path, default_cache_root

BUILD_VERSION = "4"  # bump when the way layers are built changes, to invalidate caches
MARK = "coterminosity"  # the key of an entry's own metadata (file name, build, notes) in the frame's attrs

_unwritable: dict[str, tuple[pd.DataFrame, list[str]]] = {}  # entries that could not be written, by path


def fingerprint(names: tuple[str, ...], data_dir=None) -> str:
    """A short key for the current state of these catalogue datasets and :data:`BUILD_VERSION`."""
    parts = [BUILD_VERSION]
    for name in names:
        path = dataset_path(name, data_dir)
        st = path.stat()
        parts.append(f"{path.resolve()}:{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]


def cache_file(kind: str, names: tuple[str, ...], data_dir=None, suffix: str = ".parquet") -> Path:
    """The cache path for a frame of ``kind`` built from the datasets ``names``."""
    return default_cache_root() / "built" / f"{kind}-{fingerprint(names, data_dir)}{suffix}"


def _entry(frame: pd.DataFrame) -> dict:
    mark = frame.attrs.get(MARK)
    return mark if isinstance(mark, dict) else {}


def read_cached(path: Path, geo: bool) -> pd.DataFrame | None:
    """A cached (Geo)DataFrame, or None when absent, unreadable or not the entry named ``path``."""
    kept = _unwritable.get(str(path))
    if kept is not None:
        return kept[0].copy()
    if not path.is_file():
        return None
    try:
        frame = gpd.read_parquet(path) if geo else pd.read_parquet(path)
    except Exception:  # a damaged or foreign file is a cache miss
        return None
    entry = _entry(frame)
    if entry.get("file") != path.name or entry.get("build") != BUILD_VERSION:
        return None  # a valid Parquet file of another kind: rebuild
    frame.attrs.pop(MARK, None)
    return frame


def write_cached(frame: pd.DataFrame, path: Path, notes: list[str] | None = None) -> None:
    """Write a cache entry (frame and notes) atomically; if it cannot be written, keep it in memory."""
    out = frame.copy(deep=False)
    out.attrs = {**frame.attrs, MARK: {"file": path.name, "build": BUILD_VERSION, "notes": list(notes or [])}}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        out.to_parquet(tmp)
        os.replace(tmp, path)
        _unwritable.pop(str(path), None)
    except OSError:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        _unwritable[str(path)] = (frame.copy(), list(notes or []))


def read_notes(path: Path) -> list[str]:
    """The notes (repairs, assumptions) saved with a cache entry."""
    kept = _unwritable.get(str(path))
    if kept is not None:
        return list(kept[1])
    try:
        meta = pq.read_schema(path).metadata or {}
        attrs = json.loads(meta.get(b"PANDAS_ATTRS", b"{}"))
    except Exception:
        return []
    entry = attrs.get(MARK) if isinstance(attrs, dict) else None
    notes = entry.get("notes") if isinstance(entry, dict) and entry.get("file") == path.name else None
    return [str(n) for n in notes] if isinstance(notes, list) else []


def write_notes(path: Path, notes: list[str]) -> None:
    """Save notes with an entry already written (prefer ``write_cached(frame, path, notes)``: one write)."""
    kept = _unwritable.get(str(path))
    if kept is not None:
        _unwritable[str(path)] = (kept[0], list(notes))
        return
    try:
        geo = b"geo" in (pq.read_schema(path).metadata or {})
    except Exception:
        return
    frame = read_cached(path, geo=geo)
    if frame is not None:
        write_cached(frame, path, notes)
