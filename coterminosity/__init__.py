"""coterminosity: review health-service boundaries in England.

Small public API: read layers into :class:`Layer` objects, overlay two layers into a
:class:`PairTable`, classify units and score a layer, then map or report the result.
"""

__version__ = "0.1.0"
