"""Owns every byte kamrules writes to a path or to stdout.

Every writer of kamrules (`-o/--output` of every command, `run --trace-dir`, `test
--junit-xml`, `statement --all -o FOLDER`, `fmt` rewriting a plan, and stdout) goes through
this module. What a path is decides how it is written (`classify`):

- `-`, `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`: the already open file
  descriptor, written as a stream (never opened by name, never truncated, never replaced);
- a character device (/dev/null, a terminal) or a FIFO: opened without O_CREAT/O_TRUNC and
  written as a stream, never replaced, renamed over or unlinked. A FIFO is opened with
  O_NONBLOCK so that a FIFO nobody reads is a diagnostic (KR708) after FIFO_READER_WAIT
  seconds, not a hang;
- a regular file or a new path: written atomically, a temporary file in the same folder,
  fsync, then os.replace; a replaced file keeps its permission bits (and, when allowed,
  its owner); a new file gets 0666 & ~umask. On any failure, KeyboardInterrupt included,
  the temporary file is removed and the old file is untouched;
- a symbolic link (other than the stdout-like names above): refused (KR703), the hint names
  its target; a folder (KR704); a socket or block device (KR706).

A path that is an input of the run (a plan, a declared data file) is refused (KR702): the
commands call `protect(...)` with their inputs after parsing the plan and before anything
runs, and `preflight(...)` checks their output paths at once; every write checks again.
Multi-file outputs (`write_files`: the trace folder, `statement --all`) first write every
temporary file, then rename them all: a failure leaves none of them.

A record of the payment ledger (`close`) is a new folder written whole or not at all
(`write_folder`): its files are written in a temporary folder beside it, then the folder is
renamed into place, never over an existing one.

Errors are KamError diagnostics KR701-KR708 (docs/diagnostics.md); a broken pipe on stdout
is raised as BrokenPipeError for cli.main, which ends silently (see cli.py).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import sys
import tempfile
import time
from typing import Callable, Iterable

import attrs

from kamrules.diagnostics.diagnostic import Diagnostic, KamError

FIFO_READER_WAIT = 2.0  # seconds a FIFO may take to get a reader before KR708
_FD_PATH = re.compile(r"^/(?:dev/fd|proc/self/fd|proc/thread-self/fd)/(\d+)$")
_STD = {"/dev/stdout": 1, "/dev/stderr": 2, "/dev/stdin": 0}
TEMP_PREFIX = ".kamrules-"
TRACE_FILES = frozenset({"values.parquet", "lineage.parquet"})  # what `run --trace-dir` writes


def _fail(code: str, message: str, hint: str | None = None) -> KamError:
    return KamError([Diagnostic(code, message, hint=hint)])


# ---------------------------------------------------------------------------- protected paths

@attrs.frozen
class _Guarded:
    label: str  # "the plan x.kam", "input `deals` (data/deals.csv)"
    path: str
    real: str  # os.path.realpath
    ident: tuple | None  # (st_dev, st_ino) when it exists


_PROTECTED: list[_Guarded] = []


def reset() -> None:
    """Forget the protected paths (cli.main calls it at the start of every command)."""
    _PROTECTED.clear()


def _ident(path: str) -> tuple | None:
    """(st_dev, st_ino) of what path names, through links; None when it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def protect(path: str, label: str) -> None:
    """Never write over `path` (a plan or an input file) during this command."""
    _PROTECTED.append(_Guarded(label, path, os.path.realpath(path), _ident(path)))


def protect_plan(plan_path: str, checked=None, data_folders: Iterable[str] = ()) -> None:
    """Protect a plan file and, with its checked plan, every input it declares in each folder."""
    protect(plan_path, f"the plan {plan_path}")
    if checked is None:
        return
    for folder in data_folders:
        for name, spec in checked.inputs.items():
            path = spec.file if os.path.isabs(spec.file) else os.path.join(folder, spec.file)
            protect(path, f"input `{name}` ({path})")


def protect_tree(folder: str, label: str, limit: int = 10_000) -> None:
    """Protect every file under `folder` (test cases: their data and expected payouts)."""
    seen = 0
    for root, dirs, files in os.walk(folder):
        for f in files:
            protect(os.path.join(root, f), f"{label} {os.path.join(root, f)}")
            seen += 1
            if seen >= limit:
                return


def _check_protected(path: str, what: str) -> None:
    ident, real = _ident(path), os.path.realpath(path)
    for g in _PROTECTED:
        if (ident is not None and ident == g.ident) or real == g.real:
            raise _fail("KR702", f"{what} {path} is {g.label}: kamrules never writes over its inputs",
                        "write the output to another file (nothing was written)")


# ---------------------------------------------------------------------------- classification

@attrs.frozen
class Target:
    path: str  # as given
    kind: str  # "fd" (an open descriptor), "stream" (char device, FIFO), "file" (regular), "new"
    fd: int | None = None  # kind "fd"
    fifo: bool = False
    mode: int | None = None  # permission bits of the file being replaced
    owner: tuple | None = None  # (uid, gid) of the file being replaced


def classify(path: str, what: str = "-o") -> Target:
    """What writing to `path` means, or KamError (symlink, folder, socket, missing folder)."""
    if path == "-":
        return Target(path, "fd", fd=1)
    if path == "":
        raise _fail("KR701", f"{what}: the output path is empty", "give a file name, or - for stdout")
    fd = _STD.get(path)
    m = _FD_PATH.match(path)
    if fd is None and m:
        fd = int(m.group(1))
    if fd is not None:
        try:
            os.fstat(fd)
        except OSError:
            raise _fail("KR701", f"{what} {path}: file descriptor {fd} is not open") from None
        return Target(path, "fd", fd=fd)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if path.endswith(os.sep):
            raise _fail("KR704", f"{what} {path} names a folder (it ends with {os.sep}), and a file "
                        "is expected", f"name a file, e.g. {os.path.join(path, 'payouts.csv')}") from None
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise _fail("KR701", f"cannot write {path} ({what}): the folder {folder} does not exist",
                        "create the folder first, or check the path") from None
        return Target(path, "new")
    except OSError as err:
        raise _fail("KR701", f"cannot write {path} ({what}): {err.strerror}",
                    "check the path and the permissions of its folders") from None
    if stat.S_ISLNK(st.st_mode):
        target = os.path.realpath(path)
        raise _fail("KR703", f"{what} {path} is a symbolic link: kamrules does not write through "
                    "or over links", f"give the target itself: {what} {target}")
    if stat.S_ISDIR(st.st_mode):
        raise _fail("KR704", f"{what} {path} is a folder, and a file is expected",
                    f"name a file inside it, e.g. {os.path.join(path, 'payouts.csv')}")
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return Target(path, "stream", fifo=stat.S_ISFIFO(st.st_mode))
    if stat.S_ISREG(st.st_mode):
        if not os.access(path, os.W_OK):  # like the shell's `>`: a read-only file stays
            raise _fail("KR701", f"cannot write {path} ({what}): the file is read-only",
                        "make it writable (chmod u+w) if it may be replaced, or write elsewhere")
        return Target(path, "file", mode=stat.S_IMODE(st.st_mode), owner=(st.st_uid, st.st_gid))
    kind = "a socket" if stat.S_ISSOCK(st.st_mode) else "a block device" \
        if stat.S_ISBLK(st.st_mode) else "not a regular file"
    raise _fail("KR706", f"{what} {path} is {kind}: kamrules writes files, FIFOs and character "
                "devices only", "write to a regular file")


def check_target(path: str, what: str = "-o") -> Target:
    """classify + the protected-path check: what every write does first."""
    _check_protected(path, what)
    return classify(path, what)


def check_folder(folder: str, what: str, allowed: frozenset | None = None) -> None:
    """A folder output (--trace-dir, statement --all -o): an existing folder or a new path,
    never a file or a link; with `allowed`, an existing folder may hold only those names
    (and kamrules' own temporary files), else KR707: kamrules never mixes its files with
    a user's."""
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        return
    except OSError as err:
        raise _fail("KR701", f"cannot use {what} {folder}: {err.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise _fail("KR703", f"{what} {folder} is a symbolic link: kamrules does not write through links",
                    f"give the target itself: {what} {os.path.realpath(folder)}")
    if not stat.S_ISDIR(st.st_mode):
        raise _fail("KR705", f"{what} {folder} is not a folder: {what} writes a folder of files",
                    f"name a new or an existing folder, e.g. {what} {folder.rstrip(os.sep)}.d")
    _check_protected(folder, what)
    if allowed is not None:
        try:
            foreign = sorted(n for n in os.listdir(folder)
                             if n not in allowed and not n.startswith(TEMP_PREFIX))
        except OSError as err:
            raise _fail("KR701", f"cannot read {what} folder {folder}: {err.strerror}") from None
        if foreign:
            raise _fail("KR707", f"{what} {folder} holds files kamrules did not write "
                        f"({', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''})",
                        "name a new or empty folder, or a previous one of the same kind: kamrules "
                        f"only replaces {', '.join(sorted(allowed))} there")


def make_folder(folder: str, what: str, allowed: frozenset | None = None) -> None:
    """check_folder, then create it (and its parents) when it does not exist."""
    check_folder(folder, what, allowed)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise _os_error(err, folder, what) from None


def preflight(files: Iterable[tuple[str | None, str]] = (),
              folders: Iterable[tuple[str | None, str, frozenset | None]] = ()) -> None:
    """Check a command's outputs before anything runs: files ((path, option), ...) and
    folders ((path, option, allowed names or None), ...); None and '-' are stdout."""
    for path, what in files:
        if path is not None and path != "-":
            check_target(path, what)
    for path, what, allowed in folders:
        if path is not None:
            check_folder(path, what, allowed)


# ---------------------------------------------------------------------------- writing

Writer = Callable[[object], None]  # writes into a binary file object


def write_text(text: str, path: str | None, what: str = "-o") -> None:
    """Write text (UTF-8, newlines as given) to path, or stdout when path is None or '-'."""
    data = text.encode("utf-8")
    if path is None or path == "-":
        write_stdout(text)
        return
    write_files([(path, lambda fh: fh.write(data))], what)


def write_files(items: list[tuple[str, Writer]], what: str = "-o") -> None:
    """Write several outputs whole or not at all: every target is checked, every regular file
    is written to its temporary file, then all are renamed into place (streams are written
    last, in order)."""
    targets = [(check_target(path, what), writer) for path, writer in items]
    staged = []  # (target, tmp)
    try:
        for target, writer in targets:
            if target.kind in ("file", "new"):
                staged.append((target, _stage(target, writer, what)))
        folders = []
        for target, tmp in staged:
            _commit(target, tmp, what)
            tmp.clear()
            folder = os.path.dirname(os.path.abspath(target.path))
            if folder not in folders:
                folders.append(folder)
        for folder in folders:  # the renames on disk: each folder fsynced once, after all of them
            _sync_folder(folder)
    finally:
        for _, tmp in staged:
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp[0])
    for target, writer in targets:
        if target.kind == "stream":
            _stream(target, writer, what)
        elif target.kind == "fd":
            _to_fd(target, writer, what)


def write_folder(path: str, items: list[tuple[str, Writer]], what: str) -> None:
    """Create the folder `path` holding the files (name, writer), whole or not at all: they
    are written (fsync) in a temporary folder beside it, which is renamed to `path` (an
    existing path is KR701: never replaced), then the parent folder is fsynced. Killed at any
    moment, `path` does not exist or holds every file."""
    import shutil
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.lexists(path):
        raise _fail("KR701", f"cannot write {path} ({what}): it exists already",
                    "another command wrote it meanwhile: run again")
    try:
        tmp = tempfile.mkdtemp(dir=parent, prefix=TEMP_PREFIX)
    except OSError as err:
        raise _os_error(err, path, what) from None
    try:
        write_files([(os.path.join(tmp, name), writer) for name, writer in items], what)
        if os.path.lexists(path):
            raise _fail("KR701", f"cannot write {path} ({what}): it exists already",
                        "another command wrote it meanwhile: run again")
        try:
            os.rename(tmp, path)
        except OSError as err:
            raise _os_error(err, path, what) from None
        tmp = None
        _sync_folder(parent)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _os_error(err: OSError, path: str, what: str) -> KamError:
    hints = {errno.ENOSPC: "free some space on that disk, or write elsewhere",
             errno.EDQUOT: "free some space (disk quota), or write elsewhere",
             errno.EACCES: "check the permissions of the file and its folder",
             errno.EPERM: "check the permissions of the file and its folder",
             errno.EROFS: "the file system is read-only: write elsewhere",
             errno.EPIPE: "the reader closed before the end; nothing more was written",
             errno.EISDIR: "name a file, not a folder"}
    reason = err.strerror or str(err)
    return _fail("KR701", f"cannot write {path} ({what}): {reason}",
                 hints.get(err.errno, "check the path, the disk and the permissions"))


def _stage(target: Target, writer: Writer, what: str) -> list:
    """Write a temporary file beside the target (fsynced); [tmp path] (cleared once renamed)."""
    folder = os.path.dirname(os.path.abspath(target.path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=".tmp")
    except OSError as err:
        raise _os_error(err, target.path, what) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
            fh.flush()
            mode = target.mode if target.mode is not None else 0o666 & ~_umask()
            os.fchmod(fh.fileno(), mode)  # mkstemp makes 0600; an output file is shared
            if target.owner is not None and os.geteuid() == 0:
                with contextlib.suppress(OSError):
                    os.fchown(fh.fileno(), *target.owner)
            os.fsync(fh.fileno())
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise _os_error(err, target.path, what) from None
        raise
    return [tmp]


def _commit(target: Target, tmp: list, what: str) -> None:
    # the path may have changed since it was classified: never rename over a link or a device
    now = classify(target.path, what)
    if now.kind not in ("file", "new"):
        raise _fail("KR701", f"{target.path} changed while kamrules ran (now not a regular file); "
                    "nothing was written", "run again")
    try:
        os.replace(tmp[0], target.path)
    except OSError as err:
        raise _os_error(err, target.path, what) from None


def _sync_folder(folder: str) -> None:
    """fsync a folder: the renames into it on disk (best effort: not every system allows it)."""
    with contextlib.suppress(OSError):
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _open_stream(target: Target, what: str) -> int:
    flags = os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    deadline = time.monotonic() + FIFO_READER_WAIT
    while True:
        try:
            fd = os.open(target.path, flags)
            break
        except OSError as err:
            if err.errno == errno.ENXIO and target.fifo:
                if time.monotonic() < deadline:
                    time.sleep(0.02)
                    continue
                raise _fail("KR708", f"{what} {target.path} is a FIFO that nobody reads "
                            f"(no reader after {FIFO_READER_WAIT:g} s): nothing was written",
                            f"start the reader first (e.g. cat {target.path}), or write to a file") from None
            raise _os_error(err, target.path, what) from None
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    st = os.fstat(fd)
    if not (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):  # swapped since classify
        os.close(fd)
        raise _fail("KR701", f"{target.path} changed while kamrules ran; nothing was written", "run again")
    return fd


def _stream(target: Target, writer: Writer, what: str) -> None:
    fd = _open_stream(target, what)
    try:
        with os.fdopen(fd, "wb", closefd=True) as fh:
            writer(fh)
            fh.flush()
    except OSError as err:
        raise _os_error(err, target.path, what) from None


def _to_fd(target: Target, writer: Writer, what: str) -> None:
    if target.fd == 1:
        import io
        buf = io.BytesIO()
        writer(buf)
        write_stdout(buf.getvalue().decode("utf-8"))
        return
    if target.fd == 2:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
    try:
        with os.fdopen(os.dup(target.fd), "wb") as fh:
            writer(fh)
            fh.flush()
    except OSError as err:
        raise _os_error(err, target.path, what) from None


# ---------------------------------------------------------------------------- stdout

def write_stdout(text: str) -> None:
    """Write to stdout and flush: a full disk or an I/O error is KR701; a closed pipe is
    raised as BrokenPipeError (cli.main ends silently)."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as err:
        silence_stdout()
        raise _os_error(err, "standard output", "stdout") from None


def flush_stdout() -> None:
    """The command's last flush (cli.main): same errors as write_stdout."""
    write_stdout("")


def silence_stdout() -> None:
    """After stdout failed (EPIPE, ENOSPC): point fd 1 at /dev/null, so that the interpreter's
    final flush does not print 'Exception ignored ... BrokenPipeError' (Python's documented
    recipe). Only the descriptor is redirected; /dev/null is opened for writing, never replaced."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (tests capture stdout)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
