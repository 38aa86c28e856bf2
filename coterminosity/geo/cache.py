"""The cache of built frames: where it lives, how entries are keyed, and reading and writing them.

An entry is keyed by a fingerprint of its source files (path, size, modification time) and
:data:`BUILD_VERSION`, so a changed source file or a changed way of building misses the cache.
A cache that cannot be read or written only makes the next run slower; it is never an error.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .catalogue import dataset_path, default_cache_root

BUILD_VERSION = "4"  # bump when the way layers are built changes, to invalidate caches


def fingerprint(names: tuple[str, ...], data_dir=None) -> str:
    """A short key for the current state of these catalogue datasets and :data:`BUILD_VERSION`."""
    parts = [BUILD_VERSION]
    for name in names:
        path = dataset_path(name, data_dir)
        st = path.stat()
        parts.append(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]


def cache_file(kind: str, names: tuple[str, ...], data_dir=None, suffix: str = ".parquet") -> Path:
    """The cache path for a frame of ``kind`` built from the datasets ``names``."""
    return default_cache_root() / "built" / f"{kind}-{fingerprint(names, data_dir)}{suffix}"


def read_cached(path: Path, geo: bool) -> pd.DataFrame | None:
    """A cached (Geo)DataFrame, or None when absent or unreadable."""
    if not path.is_file():
        return None
    try:
        return gpd.read_parquet(path) if geo else pd.read_parquet(path)
    except Exception:  # a damaged or foreign file is a cache miss
        return None


def write_cached(frame: pd.DataFrame, path: Path) -> None:
    """Write a cache file atomically; a cache that cannot be written is only a slower next run."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        frame.to_parquet(tmp)
        os.replace(tmp, path)
    except OSError:
        pass


def read_notes(path: Path) -> list[str]:
    """The notes (repairs, assumptions) saved beside a cache file."""
    notes = path.with_suffix(".notes")
    return notes.read_text().splitlines() if notes.is_file() else []


def write_notes(path: Path, notes: list[str]) -> None:
    """Save notes beside a cache file (best effort, like the cache itself)."""
    try:
        path.with_suffix(".notes").write_text("\n".join(notes))
    except OSError:
        pass
