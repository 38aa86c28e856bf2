"""The README's examples run as written: every `coterm` line of its shell blocks, and its Python block."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from coterminosity.cli import main

pytestmark = pytest.mark.realdata

README = Path(__file__).resolve().parents[2] / "README.md"


def shell_examples() -> list[str]:
    """Each `coterm …` command in a ```sh block (continuation lines joined), set-up blocks aside."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S)
    lines = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip().startswith("coterm "):
                lines.append(line.strip())
    return lines


def python_example() -> str:
    return re.search(r"```python\n(.*?)```", README.read_text(), flags=re.S).group(1)


def test_readme_has_examples():
    assert len(shell_examples()) >= 15


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("readme")


@pytest.mark.parametrize("command", shell_examples())
def test_readme_command_runs(command, workdir, monkeypatch, data_dir, capsys):
    monkeypatch.chdir(workdir)  # files the examples write (places.gpkg, moves.json …) stay together
    argv = shlex.split(command)[1:]
    assert main(["-q", *argv]) == 0, capsys.readouterr().err
    capsys.readouterr()


def test_readme_python_example_runs(data_dir, capsys):
    exec(compile(python_example(), str(README), "exec"), {})
    out = capsys.readouterr().out
    assert "EPSG:27700 44" in out and "stp17 vs upper17 (by population, threshold 0.98): 22 of 44" in out
