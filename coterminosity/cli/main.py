"""The ``coterm`` command: one parser, commands grouped by job, one error policy.

Each command lives in its own module of this package with ``register(subparsers)`` and
``run(args) -> int``: it parses, calls one library function and hands the result to
:mod:`.formats`. Bad input exits 2 with one line on stderr; nothing half-written is left.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from .. import __version__
from ..errors import CotermError
from .options import LAYER_SUFFIXES, add_common

EXIT_BAD_INPUT = 2
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived: unwind like an interrupt, so temporary files are removed on the way out."""

# Job → the command modules that do it, in the order --help lists them.
GROUPS: dict[str, tuple[str, ...]] = {
    "Coterminosity": ("overlay", "summary"),
    "History": ("changes", "history"),
    "Places": ("places", "spanners"),
    "Scenarios": ("scenario", "suggest"),
    "Patient catchments": ("containment", "catchments"),
    "Maps": ("map", "atlas"),
    "Data": ("build", "data"),
}


def _modules() -> list[tuple[str, object]]:
    out = []
    for group, names in GROUPS.items():
        for name in names:
            try:
                module = importlib.import_module(f"{__package__}.{'map_cmd' if name == 'map' else name}")
            except ModuleNotFoundError as err:
                if err.name and err.name.startswith(__package__):
                    continue  # a command not in this build
                raise
            out.append((group, module))
    return out


class _Parser(argparse.ArgumentParser):
    """argparse with its error messages (which quote what was typed) made safe for the terminal."""

    def _print_message(self, message: str, file=None) -> None:
        if message and (file is None or file is sys.stderr):
            from ..report import printable

            message = "\n".join(printable(line) for line in message.split("\n"))
        super()._print_message(message, file)


def build_parser() -> argparse.ArgumentParser:
    """The whole ``coterm`` parser."""
    modules = _modules()
    listing = []
    for group in GROUPS:
        rows = [m for g, m in modules if g == group]
        if rows:
            listing.append(f"{group}:")
            listing += [f"  {m.NAME:<13} {m.HELP}" for m in rows]
    parser = _Parser(
        prog="coterm", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Review health-service boundaries in England: coterminosity of footprints (STPs, ICBs) "
                    "with councils and CCGs, history, places, scenarios, patient catchments and maps.",
        epilog="commands by job:\n" + "\n".join(listing) + "\n\n`coterm COMMAND --help` for each command's options.",
    )
    parser.add_argument("--version", action="version", version=f"coterm {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress messages or notes on stderr")
    parser.add_argument("-v", "--verbose", action="store_true", help="more detail on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands",
                                description="one of the commands listed by job below")
    for _, module in modules:
        p = module.register(sub)
        add_common(p)
        p.set_defaults(func=module.run)
    sub._choices_actions.clear()  # the epilog lists the commands, grouped by job
    return parser


class _Printable(logging.Formatter):
    """Notes and progress on stderr: one line each, control characters made harmless."""

    def format(self, record: logging.LogRecord) -> str:
        from ..report import printable

        text = printable(record.getMessage())
        return f"coterm: warning: {text}" if record.levelno >= logging.WARNING else text


def _configure_logging(quiet: bool, verbose: bool) -> logging.Handler:
    """Notes to stderr at INFO (``-q``: warnings and errors only, ``-v``: DEBUG); a quieter level set by a
    program that calls :func:`main` is kept."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Printable())
    logger = logging.getLogger("coterminosity")
    logger.addHandler(handler)
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else max(logging.INFO, logger.level))
    logger.setLevel(level)
    logger.propagate = False
    return handler


def main(argv: list[str] | None = None) -> int:
    """Run ``coterm``; return the exit code (0 ok, 2 bad input, 1 internal error).

    Examples
    --------
    >>> from coterminosity.cli import main
    >>> main(["overlay", "stp17", "upper17", "--format", "csv", "-q"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    logger = logging.getLogger("coterminosity")
    saved = (logger.level, logger.propagate)
    handler = _configure_logging(getattr(args, "quiet", False), getattr(args, "verbose", False))
    previous = _catch_sigterm()
    try:
        return _run(args)
    finally:  # -q holds for this call only (main() is also called from Python)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _terminated(signum, frame) -> None:
    raise Terminated()


def _catch_sigterm():
    """Turn SIGTERM into :class:`Terminated` for this call (main thread only); the old handler, or None."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        return signal.signal(signal.SIGTERM, _terminated)
    except (ValueError, OSError):
        return None


# Options that name files a command writes; every other string option or positional may be an input.
OUTPUT_OPTIONS = ("output", "output_layer", "save", "layer_out", "report_unmatched", "chart")
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def _written_files(path: str) -> list[str]:
    """The files writing ``path`` replaces (a Shapefile is several)."""
    root, suffix = os.path.splitext(path)
    return [root + part for part in SHAPEFILE_PARTS] if suffix.lower() == ".shp" else [path]


def _check_outputs(args: argparse.Namespace) -> None:
    """Before any work: every output path writable, none the same file as an input or another output."""
    from ..geo.write import check_output_path

    outputs = [(option, getattr(args, option)) for option in OUTPUT_OPTIONS if getattr(args, option, None)]
    for _, path in outputs:
        check_output_path(path)
    output = getattr(args, "output", None)
    if output and not getattr(args, "layer_output", True) and Path(output).suffix.lower() in LAYER_SUFFIXES:
        raise CotermError(f"-o {output}: coterm {args.command} writes a table, not a GIS layer; use .csv, .json, "
                          ".md or .txt (with --format)")
    inputs = [(key, value) for key, given in vars(args).items() if key not in OUTPUT_OPTIONS
              for value in (given if isinstance(given, (list, tuple)) else [given])
              if isinstance(value, str) and value and os.path.exists(value)]
    seen: dict[str, str] = {}
    for option, path in outputs:
        for written in _written_files(path):
            real = os.path.realpath(written)
            if real in seen:
                raise CotermError(f"{path}: given twice as an output ({seen[real]} and {option}); choose two paths")
            seen[real] = option
            if not os.path.exists(written):
                continue
            for key, value in inputs:
                try:
                    same = os.path.samefile(written, value)
                except OSError:
                    same = False
                if same:
                    raise CotermError(f"{path}: is also an input ({key} {value}); writing it would destroy the "
                                      "input; choose another output path")


def _run(args: argparse.Namespace) -> int:
    """Run the chosen command; bad input becomes one line on stderr and exit 2."""
    from ..report import printable

    try:
        _check_outputs(args)
        return args.func(args) or 0
    except CotermError as err:
        print(printable(f"coterm {args.command}: error: {err}"), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"coterm {args.command}: interrupted; no output written", file=sys.stderr)
        return 130
    except Terminated:
        print(f"coterm {args.command}: terminated; no output written", file=sys.stderr)
        return EXIT_TERMINATED
    except BrokenPipeError:
        return 0
    except Exception as err:  # a bug, not bad input: one line, traceback on request
        if os.environ.get("COTERM_DEBUG"):
            raise
        first = str(err).splitlines()[0] if str(err) else ""
        print(printable(f"coterm {args.command}: internal error: {type(err).__name__}: {first} "
                        "(set COTERM_DEBUG=1 for the traceback and please report it)"), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
