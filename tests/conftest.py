"""Shared test helpers: run the CLI as a user would, paths to plans and example data."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "plans"
EXAMPLES = ROOT / "examples"


def run_cli(*args, cwd=ROOT, input=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "kamrules", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, input=input)


@pytest.fixture
def cli():
    return run_cli
