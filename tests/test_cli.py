"""The ``python -m andicam`` entry point: every command's help, and one command's imports alone."""

from __future__ import annotations

import sys

import pytest

from andicam.cli import command_names, main
from helpers import REPO, modules_loaded_by


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # one line per command, whatever the terminal
    # argparse %-formats subcommand help: a bare "95 % CIs" in a HELP string once broke --help.
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert len(command_names()) >= 20
    for name in command_names():
        assert f"\n    {name} " in out or f"\n    {name}\n" in out, name
    assert "95 % CIs" in out and "top p % of a training shard" in out


@pytest.mark.parametrize("name", command_names())
def test_each_command_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: andicam {name} ")


def test_unknown_command_is_refused_with_the_list(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["trian"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'trian'" in err and "'train'" in err


def test_one_command_imports_no_other() -> None:
    # A workflow job runs one command; importing all of them cost about 3.5 s per job.
    loaded, torch_loaded, _ = modules_loaded_by(["summarize", "--help"], ("andicam.commands.",))
    assert loaded == ["andicam.commands.summarize"] and not torch_loaded
