"""The ``coterm`` command line: a thin layer over the library (one module per command)."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
