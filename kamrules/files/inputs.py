"""Inputs: where an input's file is and whether the plan may read it.

A plan names its inputs (`input deals from "crm/deals.csv"`); the data folder (`--data`)
holds them. A plan comes from someone else as often as the data does, so it may read the
files of the data folder and nothing else. Every reader of an input goes through this
module: the interpreter's loader (kamrules.data.strict), the columnar loader, Parquet, `check
--data`, plan tests and the sha256 of a run's `meta`.

- `name_problem(file)`: what is wrong with the name as the plan writes it, without any
  data: empty, an absolute path (`/etc/passwd`, `C:/x.csv`), a `..` that leaves the folder
  (normalised lexically: `a/../b.csv` is fine, `a/../../b.csv` is not), the folder itself,
  a backslash (a separator on Windows, refused everywhere so a plan means the same file on
  every system: write `/`), a NUL byte or another control character. `check` reports it
  as KR006 on the string literal; `resolve` refuses it again for a plan built otherwise.
- `resolve(spec, folder)` (spec: an input table, anything with `name`, `file`, `span`): the path of the input inside the folder, as messages show it.
  When its real path (every symlink followed, `os.path.realpath`) is not inside the real
  path of the folder: KR411, nothing is opened. A symlink whose target stays inside is fine.
- `open_input(spec, path)`: opens the file without ever blocking and only if it is a
  regular file: stat first, then open with O_NONBLOCK (and O_NOFOLLOW on the real path),
  then fstat again (the file may have been swapped in between). A FIFO, a device or a
  socket is KR412; a folder, a missing or an unreadable file is KR401 (the file the input
  needs is not there), with the data files of that folder as a hint. Every reader reads
  the file object it returns (polars reads a Parquet input from it, not from the path).
- `open_regular(path)`: the same opener for any file kamrules only reads (the plan file,
  the hash of an input): NotRegular for anything but a regular file.

No diagnostic shows the content of a file outside the data folder: nothing outside is ever
opened, so the column hints (did-you-mean over a header) only read headers of files inside.
Out of scope: someone who rewrites the data folder while kamrules reads it (a symlink
swapped between `resolve` and `open_input` on a folder of the path).
"""
from __future__ import annotations

import os
import posixpath
import re
import stat

from kamrules.diagnostics.diagnostic import Diagnostic, KamError, did_you_mean

DATA_SUFFIXES = (".csv", ".json", ".parquet", ".pq")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
HINT = "put the file in the data folder and name it relative to it: from \"deals.csv\""


class NotRegular(OSError):
    """The path exists but is not a regular file (a FIFO, a device, a socket, a folder)."""

    def __init__(self, path: str, mode: int):
        super().__init__(f"{path} is {kind_of(mode)}, not a regular file")
        self.path, self.mode = path, mode


def kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def name_problem(file: str) -> str | None:
    """Why the plan may not read `file` (the name as written after `from`), or None."""
    if file == "":
        return "is empty"
    bad = _CONTROL.search(file)
    if bad is not None:
        what = "a NUL byte" if bad.group() == "\x00" else f"the control character U+{ord(bad.group()):04X}"
        return f"contains {what}"
    if "\\" in file:
        return "uses a backslash: write `/` between folders"
    if file.startswith("/") or _DRIVE.match(file):
        return "is an absolute path"
    normal = posixpath.normpath(file)
    if normal == ".." or normal.startswith("../"):
        return "goes out of the data folder with `..`"
    if normal == ".":
        return "names the data folder itself, not a file in it"
    return None


def static_diagnostic(spec_name: str, file: str, span) -> Diagnostic | None:
    """KR006 for a file name the plan may not read, pointing at `span`."""
    problem = name_problem(file)
    if problem is None:
        return None
    return Diagnostic("KR006", f"input `{spec_name}` reads {_shown(file)}, which {problem}: a plan "
                      "reads only files inside the data folder", span, HINT)


def _shown(file: str) -> str:
    return '"' + _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", file) + '"'


def inside(real: str, folder_real: str) -> bool:
    return real == folder_real or real.startswith(folder_real.rstrip(os.sep) + os.sep)


def resolve(spec, folder: str) -> str:
    """The path of `spec`'s file in `folder` (as messages show it); KamError KR006 or KR411
    when the plan may not read it. Does not check that the file exists."""
    diag = static_diagnostic(spec.name, spec.file, spec.span)
    if diag is not None:
        raise KamError([diag])
    path = os.path.join(folder, spec.file)
    folder_real = os.path.realpath(folder)
    real = os.path.realpath(path)
    if not inside(real, folder_real):
        link = _first_link(folder, spec.file)
        why = (f"{link} is a link to a file outside it" if link is not None
               else f"it is {real}")
        raise KamError([Diagnostic(
            "KR411", f"input `{spec.name}` resolves outside the data folder: {why}", spec.span,
            "copy the file into the data folder (a link may only point inside it)")])
    return path


def _first_link(folder: str, file: str) -> str | None:
    """The first component of `file` (joined to folder) that is a symlink, as shown."""
    path = folder
    for part in file.split("/"):
        path = os.path.join(path, part)
        if os.path.islink(path):
            return path
    return None


def open_regular(path: str, binary: bool = True, encoding: str | None = None, newline: str | None = None,
                 follow: bool = True):
    """Open `path` for reading without blocking; NotRegular unless it is a regular file
    (checked before and after opening). follow=False: a symlink as last component is an
    OSError. Other OSErrors as open() raises them."""
    st = os.stat(path) if follow else os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegular(path, st.st_mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(path, st.st_mode)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        if binary:
            return os.fdopen(fd, "rb")
        return os.fdopen(fd, "r", encoding=encoding, newline=newline)
    except BaseException:
        os.close(fd)
        raise


def open_input(spec, path: str, binary: bool = False, encoding: str = "utf-8-sig",
               newline: str | None = ""):
    """Open an input file `resolve` gave: KamError KR412 if it is not a regular file, KR401
    if it is missing, a folder or unreadable."""
    real = os.path.realpath(path)
    try:
        return open_regular(real, binary, encoding, newline, follow=False)
    except NotRegular as err:
        raise not_regular(spec, path, err.mode) from None
    except OSError:
        raise missing_file(spec, path) from None


def not_regular(spec, path: str, mode: int) -> KamError:
    if stat.S_ISDIR(mode):
        return missing_file(spec, path)
    return KamError([Diagnostic("KR412", f"input `{spec.name}` needs {path}, which is {kind_of(mode)}, "
                                "not a regular file", spec.span,
                                "export the data to a file and put that file in the data folder")])


def missing_file(spec, path: str) -> KamError:
    """KR401: the file is not there (a folder stands in its place, or it cannot be read)."""
    if os.path.lexists(path):
        what = "is a folder" if os.path.isdir(path) else "cannot be read"
        return KamError([Diagnostic("KR401", f"input `{spec.name}` needs {path}, which {what}",
                                    spec.span, "check the file's permissions and that it is a file")])
    folder = os.path.dirname(path) or "."
    present = sorted(f for f in os.listdir(folder) if f.endswith(DATA_SUFFIXES)) \
        if os.path.isdir(folder) else []
    stems = {os.path.splitext(f)[0]: f for f in present}  # names compared without ".csv" (targets
    close = did_you_mean(os.path.splitext(os.path.basename(path))[0], stems)  # is not deals)
    hint = None if close is None else f"did you mean `{stems[close.split('`')[1]]}`?"
    if hint is None:
        hint = f"files there: {', '.join(present)}" if present else "check --data points at the folder of CSV exports"
    return KamError([Diagnostic("KR401", f"input `{spec.name}` needs {path}, which does not exist",
                                spec.span, hint)])


def folder_problem(folder: str) -> KamError | None:
    """KR401 when `--data` is not a folder."""
    if os.path.isdir(folder):
        return None
    if os.path.lexists(folder):
        what = "is a file, not a folder" if os.path.isfile(folder) else "is not a folder"
        if os.path.islink(folder) and not os.path.exists(folder):
            what = "is a broken link"
    else:
        what = "does not exist"
    return KamError([Diagnostic("KR401", f"data folder {folder} {what}",
                                hint="--data takes the folder that holds the CSV exports")])
