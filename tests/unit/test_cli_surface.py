"""The command line as an automation engineer meets it: every option and argument says what it is
in `--help`, `--version` answers, and shell completion can be installed."""
from __future__ import annotations

import click
import typer.main
from typer.testing import CliRunner

from line.cli import app


def every_param(cmd: click.Command, path: tuple[str, ...] = ("bumpline",)):
    for p in cmd.params:
        yield " ".join(path), p
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from every_param(sub, (*path, name))


def test_every_option_and_argument_has_help_text():
    root = typer.main.get_command(app)
    silent = [f"{where} {p.name}" for where, p in every_param(root) if p.name != "help" and not getattr(p, "help", None)]
    assert not silent, f"options or arguments without help text: {silent}"


def test_version_and_completion():
    runner = CliRunner()
    out = runner.invoke(app, ["--version"])
    assert out.exit_code == 0 and out.stdout.startswith("bumpline ")
    helped = runner.invoke(app, ["--help"])
    assert "--install-completion" in helped.stdout and "--show-completion" in helped.stdout
