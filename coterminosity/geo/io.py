"""Write output files safely: the old file or the whole new one, never half of one.

Rules for what is already at the output path:

- nothing, or a regular file: the new file is written beside it under a hidden temporary name
  and renamed into place; a replaced file keeps its permission bits, owner and group;
- a symlink: the file it points to is replaced (the link stays a link);
- a regular file with other hard links: rewritten in place, so every link sees the new content
  (the space is reserved first, so a full disk fails before the old content is touched);
- a character device or a named pipe (``/dev/null``, ``/dev/stdout``, a FIFO with a reader):
  written straight into, never replaced; a FIFO with no reader is refused rather than waited on;
- a block device or a socket: refused.

Temporary entries left by a killed run (``.NAME.xxxxxxxx.tmp``) are swept by the next write
to the same name once they are older than :data:`STALE_SECONDS`.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path

from ..errors import CotermError

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".tmp"
STALE_SECONDS = 300  # a temporary entry this old belongs to a run that was killed
MAX_PREFIX_BYTES = 200  # leaves room for mkstemp's 8 characters and the suffix under the 255-byte name limit


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_prefix(target: Path) -> str:
    """The hidden prefix of temporary entries beside ``target`` (long names shortened with a hash)."""
    name = target.name
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) > MAX_PREFIX_BYTES:
        digest = hashlib.sha1(raw).hexdigest()[:12]
        name = raw[:120].decode("utf-8", "ignore") + "~" + digest
    return f".{name}."


def sweep_stale(target: Path, max_age: float = STALE_SECONDS) -> int:
    """Remove temporary entries for ``target`` left by a killed run (older than ``max_age`` s)."""
    folder = target.parent if str(target.parent) else Path(".")
    pattern = re.compile(re.escape(temp_prefix(target)) + r"[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX) + r"\Z")
    now, removed = time.time(), 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not pattern.match(entry.name):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime <= max_age:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed += 1
        except OSError:
            continue
    if removed:
        log.info("removed %d temporary file(s) beside %s left by an interrupted run", removed, target)
    return removed


def resolve_output(path: str | os.PathLike) -> tuple[Path, os.stat_result | None]:
    """Where to write for ``path``, and what is there now (None: nothing).

    A non-regular file (device, pipe) is written through ``path`` itself; a symlink to a
    regular file (or a dangling one) resolves to the file it names.
    """
    target = Path(path)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise CotermError(f"{target}: cannot write there ({err.strerror}); choose another output path") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        return target, st
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    return target, st


def is_special(st: os.stat_result | None) -> bool:
    """True for something at the output path that is neither a regular file nor a folder."""
    return st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode)


def check_target(target: Path, st: os.stat_result | None) -> None:
    """Refuse what must not be written to: a folder, a block device, a socket, a missing folder."""
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise CotermError(f"{target}: is a folder; give a file name for the output")
    if st is not None and (stat.S_ISBLK(st.st_mode) or stat.S_ISSOCK(st.st_mode)):
        kind = "a block device" if stat.S_ISBLK(st.st_mode) else "a socket"
        raise CotermError(f"{target}: is {kind}; refusing to write into it; choose a regular file")
    if is_special(st):
        return
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise CotermError(f"{target}: folder {folder} does not exist; create it or choose another output path")


def _write_into(target: Path, chunks) -> None:
    """Write straight into a device or named pipe (never replacing it)."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK)  # a FIFO with no reader fails now instead of hanging
    except OSError as err:
        if err.errno == errno.ENXIO:
            raise CotermError(f"{target}: is a named pipe with no reader; start the reader first or choose a "
                              "file") from None
        raise CotermError(f"{target}: cannot write ({err.strerror}); choose another output path") from None
    os.set_blocking(fd, True)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
    except BrokenPipeError:
        raise
    except OSError as err:
        raise CotermError(f"{target}: cannot write ({err.strerror}); choose another output path") from None


def _rewrite_in_place(target: Path, source: Path) -> None:
    """Copy ``source`` over a hard-linked ``target`` in place, space reserved first."""
    size = source.stat().st_size
    with open(target, "r+b") as out:
        try:
            os.posix_fallocate(out.fileno(), 0, max(size, 1))
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EDQUOT):
                raise
        except AttributeError:  # no posix_fallocate on this platform
            pass
        with open(source, "rb") as src:
            shutil.copyfileobj(src, out)
        out.truncate(size)
        out.flush()
        os.fsync(out.fileno())


def _keep_attributes(tmp: Path, st: os.stat_result | None) -> None:
    """Give the new file the old one's permission bits, owner and group (the usual mode if new)."""
    if st is None:
        os.chmod(tmp, 0o666 & ~_umask())
        return
    os.chmod(tmp, stat.S_IMODE(st.st_mode))
    mine = os.stat(tmp)
    if (mine.st_uid, mine.st_gid) != (st.st_uid, st.st_gid):
        for uid in (st.st_uid, -1):  # only root may give a file away; the group may still be kept
            try:
                os.chown(tmp, uid, st.st_gid)
                break
            except OSError:
                continue
        os.chmod(tmp, stat.S_IMODE(st.st_mode))  # chown may clear set-id bits


def install(tmp: Path, target: Path, st: os.stat_result | None) -> None:
    """Put the finished temporary file ``tmp`` in place at ``target`` following the module's rules."""
    if is_special(st):
        with open(tmp, "rb") as fh:
            _write_into(target, iter(lambda: fh.read(1 << 20), b""))
        return
    if st is not None and st.st_nlink > 1:
        _rewrite_in_place(target, tmp)
        return
    _keep_attributes(tmp, st)
    os.replace(tmp, target)


def atomic_write(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` to ``path``: to a temporary file beside it, then renamed into place.

    A failure leaves no half-written output: either the old file or the whole new one. See the
    module docstring for symlinks, hard links, devices and pipes.
    """
    target, st = resolve_output(path)
    check_target(target, st)
    payload = data if isinstance(data, bytes) else data.encode("utf-8")
    if is_special(st):
        _write_into(target, [payload])
        return
    folder = target.parent if str(target.parent) else Path(".")
    sweep_stale(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target), suffix=TEMP_SUFFIX, dir=folder)
    except OSError as err:
        raise CotermError(f"{target}: cannot write there ({err.strerror}); choose another output path") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        install(Path(tmp), target, st)
    except OSError as err:
        raise CotermError(f"{target}: cannot write ({err.strerror}); choose another output path") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
