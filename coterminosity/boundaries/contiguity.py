"""How many separate pieces a unit made of small areas is in, on the small areas' adjacency.

Two small areas are neighbours when they share a vertex (the LSOA polygons are a clean coverage,
so neighbours share their boundary's vertices) or lie within a few hundred metres of each other,
so that rivers and estuaries cut out of coastline-clipped polygons (the Tees, the Wear, Lake
Lothing, Walney Channel) do not count as breaks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

BRIDGE_M = 250.0  # pieces of one unit this close are one piece (narrow water between them)


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def pieces_by_label(geoms: np.ndarray, labels: np.ndarray, gap: float = BRIDGE_M) -> pd.Series:
    """Number of pieces per label: LSOAs of one label sharing a vertex (the polygons are a clean
    coverage, so neighbours share their boundary's vertices) or lying within ``gap`` metres."""
    lab = pd.factorize(labels)[0]
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    grid = np.round(coords * 100).astype(np.int64)  # 1 cm: the grid the LSOAs are snapped to
    key = (grid[:, 0] << 28) | grid[:, 1]
    order = np.lexsort((owner, lab[owner], key))
    k, lo, own = key[order], lab[owner][order], owner[order]
    same = (k[1:] == k[:-1]) & (lo[1:] == lo[:-1])
    left, right = own[:-1][same], own[1:][same]
    comp = _components(len(geoms), left, right)
    if gap > 0:  # bridge narrow water: join pieces of one label lying within ``gap`` of each other
        size = pd.Series(comp).map(pd.Series(comp).value_counts()).to_numpy()
        largest = pd.Series(size).groupby(lab).transform("max").to_numpy()
        first = pd.Series(comp).where(size == largest).groupby(lab).transform("min").to_numpy()
        rows = np.flatnonzero(comp != first)  # every LSOA outside its label's largest piece
        if len(rows):
            a, b = shapely.STRtree(geoms).query(geoms[rows], predicate="dwithin", distance=gap)
            keep = lab[rows[a]] == lab[b]
            comp = _components(len(geoms), np.concatenate([left, rows[a][keep]]), np.concatenate([right, b[keep]]))
    return pd.Series(comp).groupby(labels).nunique()
