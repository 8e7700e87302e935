"""Shared test helpers: run the CLI as a user would, paths to plans and example data.

`run_cli` runs `kamrules.cli.main.main` in this process (what `python -m kamrules` calls), with
the process's edges reproduced: stdout/stderr/stdin are UTF-8 text streams over byte buffers
(so `.buffer` and `isatty()` behave as on a pipe), the output is decoded as `subprocess.run(
text=True)` decodes it, a SystemExit (argparse) becomes its exit code, warnings go to stderr
under Python's default filters, and the working folder and environment are set for the call
only. An exception escaping main() is raised, not turned into exit code 1: a traceback is a
bug for a user, so it fails the test. One difference (`serial_runs`, applied to every test by
an autouse fixture, so also to tests that call main() themselves): `run` without --jobs
evaluates in this process (as --jobs 1) instead of spawning one worker per core, since a
worker process (a fresh interpreter importing kamrules) costs more than these small runs and
is what run_cli_process and --jobs N are for; the output is the same
bytes by design (tests/test_parallel.py compares them).
`run_cli_process` spawns `python -m kamrules` for tests where the real process is the point
(exit status of the interpreter, signals, broken pipes, forked --jobs workers, hash seeds,
terminal detection).
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "plans"
EXAMPLES = ROOT / "examples"

# Hypothesis example counts come from a profile: "ci" (the default: what `python -m pytest -q`
# runs, modest counts so the suite stays fast) or "long" (KAMRULES_HYPOTHESIS_PROFILE=long:
# ten times the examples, for a long run before a release). Tests without a count of their
# own get the profile's max_examples; a test that sets one writes `examples(n)`, its count
# under "ci", which the profile scales.
# "ci": the same examples every run (derandomized: a suite that passes once passes again) and no
# per-example deadline (a loaded 2-core machine is slow, not wrong); "long" explores new ones.
settings.register_profile("ci", max_examples=75, derandomize=True, deadline=None)
settings.register_profile("long", max_examples=750, deadline=None)
HYPOTHESIS_PROFILE = os.environ.get("KAMRULES_HYPOTHESIS_PROFILE", "ci")
# The texts the tests expect are the plain ones: a docs site or forced colour set in the
# developer's shell must not change them (the tests that need them set them themselves).
for _var in ("KAMRULES_DOCS_URL", "FORCE_COLOR", "NO_COLOR"):
    os.environ.pop(_var, None)
settings.load_profile(HYPOTHESIS_PROFILE)


def _keep_bytecode_outside_the_checkout():
    """Where the shell sets PYTHONDONTWRITEBYTECODE (nothing written into the checkout), every
    process of the suite compiled every module it imports again: each xdist worker collecting
    (pytest's assertion rewriting included: 7 s of CPU instead of 3 s), each `python -m
    kamrules` child and each --jobs worker (about 0.1-0.3 s of CPU each), what an installed
    kamrules never pays. The suite's processes (this one, the workers, the children: the
    environment is inherited) keep their bytecode in one folder of their user's under the
    temporary folder instead (PYTHONPYCACHEPREFIX, as bench/commands.py does): still nothing
    written into the checkout. A PYTHONPYCACHEPREFIX of the developer's is kept."""
    if not (sys.dont_write_bytecode or os.environ.get("PYTHONDONTWRITEBYTECODE")):
        return
    import tempfile
    uid = os.getuid() if hasattr(os, "getuid") else 0
    prefix = os.environ.get("PYTHONPYCACHEPREFIX") or os.path.join(tempfile.gettempdir(),
                                                                   f"kamrules-tests-pycache-{uid}")
    try:
        os.makedirs(prefix, mode=0o700, exist_ok=True)
        if os.stat(prefix).st_uid != uid:  # another user's folder: its bytecode is not trusted
            return
    except OSError:
        return
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = prefix
    sys.pycache_prefix, sys.dont_write_bytecode = prefix, False


_keep_bytecode_outside_the_checkout()


def chromium() -> str | None:
    """The headless browser of the browser tests (.ci/run installs Debian's chromium), or None."""
    import shutil
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def examples(n: int) -> int:
    """n hypothesis examples under the "ci" profile, scaled by the loaded profile."""
    return max(1, n * settings.default.max_examples // settings.get_profile("ci").max_examples)


# What a fresh interpreter filters (python -W unset, not in __main__): the tests' own
# warning filters must not hide from stderr, or add to it, what a user would see.
_DEFAULT_IGNORED = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def _set_env(target, env):
    """`env` applied to the mapping `target` (a value None unsets the variable)."""
    for key, value in (env or {}).items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = str(value)


def _exit_code(code) -> int:
    """The status `sys.exit(code)` gives the process; a message is printed like Python does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _decoded(stream: io.TextIOWrapper) -> str:
    stream.flush()
    data = stream.buffer.getvalue().decode("utf-8")
    return data.replace("\r\n", "\n").replace("\r", "\n")  # subprocess.run(text=True) does


def serial_runs():
    """`kamrules run` without --jobs evaluates in this process, as with --jobs 1 (see above)."""
    import kamrules.cli.run

    return mock.patch.object(kamrules.cli.run, "default_jobs", lambda: 1)


def run_cli(*args, cwd=ROOT, input=None, env=None):
    """`kamrules ARGS` in this process; a CompletedProcess (returncode, stdout, stderr)."""
    from kamrules.cli.main import main

    argv = [str(a) for a in args]
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="\n")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace", newline="\n")
    stdin = io.TextIOWrapper(io.BytesIO((input or "").encode("utf-8")), encoding="utf-8", newline="\n")
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_cwd = os.getcwd()
    saved_env = {key: os.environ.get(key) for key in env or {}}
    _set_env(os.environ, env)
    try:
        os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = stdin, out, err
        with warnings.catch_warnings(record=True) as caught, serial_runs():
            warnings.resetwarnings()
            for category in _DEFAULT_IGNORED:
                warnings.filterwarnings("ignore", category=category)
            try:
                code = main(argv)
            except SystemExit as exit_:
                code = exit_.code
            finally:
                for w in caught:
                    err.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line))
            code = _exit_code(code)
    except BaseException as exc:
        exc.add_note(f"kamrules {' '.join(argv)}\n--- stdout ---\n{_decoded(out)}"
                     f"--- stderr ---\n{_decoded(err)}")
        raise
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        _set_env(os.environ, saved_env)
    return subprocess.CompletedProcess(["kamrules", *argv], code, _decoded(out), _decoded(err))


def run_cli_process(*args, cwd=ROOT, input=None, env=None, **kwargs):
    """`python -m kamrules ARGS` as a child process (env: variables added to ours)."""
    full_env = dict(os.environ, PYTHONPATH=str(ROOT))
    _set_env(full_env, env)
    return subprocess.run([sys.executable, "-m", "kamrules", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, input=input, **kwargs)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(autouse=True)
def _serial_default_jobs():
    """`serial_runs` for every test, so that a test calling main() itself without --jobs does
    not spawn one interpreter per core for a few payees (a second of CPU each): the bytes are
    the same by design (tests/test_parallel.py); --jobs N and child processes are unaffected."""
    with serial_runs():
        yield
