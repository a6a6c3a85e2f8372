"""`bumpline`: the command line (typer + rich). This is the composition root: the one place that
may start simulators and read their world model (to verify a demo's products)."""
from __future__ import annotations

import line.prefect_env  # noqa: F401 - Prefect's settings, before Prefect is imported

# isort: split

import typer

from line.cli import alarms, db, demo, lot, lots, mutate, r2r, recipe, run, serve, sim, spc, status, tool

app = typer.Typer(no_args_is_help=True, add_completion=True, pretty_exceptions_enable=False,
                  help="Host control for a wafer bumping line: simulators, recipes, lots, ledger.")


def _version(asked: bool) -> None:
    if asked:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"bumpline {version('bumpline')}")
        except PackageNotFoundError:          # run from a checkout that was never installed
            print("bumpline (not installed: no version)")
        raise typer.Exit(0)


@app.callback()
def _root(show_version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                            help="print bumpline's version and exit")) -> None:
    """Host control for a wafer bumping line: simulators, recipes, lots, ledger."""

app.add_typer(sim.app, name="sim")
app.add_typer(recipe.app, name="recipe")
app.add_typer(lot.app, name="lot")
app.add_typer(db.app, name="db")
app.add_typer(alarms.app, name="alarms")
app.add_typer(spc.app, name="spc")
app.add_typer(tool.app, name="tool")
app.add_typer(r2r.app, name="r2r")
app.command("run")(run.run)
app.command("demo")(demo.products)
app.command("resume")(lots.resume)
lot.app.command("start")(lots.start)
lot.app.command("answer")(lots.answer)
recipe.app.command("mutate")(mutate.mutate)
app.command("status")(status.status)
app.command("serve")(serve.serve)
app.command("demo-seed")(run.demo)


def main() -> None:
    app()
