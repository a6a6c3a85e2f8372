"""`bumpline recipe mutate`: the mutation oracle. Every single-step deletion and adjacent swap of
each route is validated on paper; with --simulate, every mutant the checks accept is run on the
simulated line and its lot verified against the product. A mutant accepted on paper whose lot does
not verify is a hole in the checks: the command says which, and exits 3."""
from __future__ import annotations

import random
import re
import tempfile
from datetime import datetime
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from line.cli import exits
from line.cli.common import LineOption, console, existing, or_exit
from line.config import LineConfig, load_line
from line.ledger import Ledger
from line.recipes.catalog import RecipeCatalog
from line.recipes.mutations import Mutant, judge, mutants
from line.recipes.route import Route

SHIPPED = "recipes/routes"


def mutate(routes: list[str] = typer.Argument(None, help=f"route files (default: every route under {SHIPPED})"),
           simulate: bool = typer.Option(False, "--simulate", help="run every accepted mutant on the simulated line and verify it"),
           sample: int = typer.Option(0, "--sample", min=0, help="only N mutants per route, drawn with --seed (0: all)"),
           seed: int = typer.Option(0, "--seed", help="seed of the sample of mutants (the same seed, the same mutants)"),
           wafers: int = typer.Option(1, "--wafers", min=1, max=5, help="wafers per simulated mutant lot"),
           speed: float = typer.Option(3000.0, help="simulated seconds per wall second"),
           parallel: int = typer.Option(6, "--parallel", min=1, max=20, help="lots at once on the simulated line"),
           recipes: str = typer.Option("recipes", "--recipes", help="folder holding the recipes, routes and products"),
           line: str = LineOption) -> None:
    """The mutation oracle: every step deletion and adjacent swap is refused on paper or, run on the
    simulated line, builds its product. Exit 0 when that holds for every mutant, 3 when not."""
    cfg = or_exit(lambda: load_line(existing(line)))
    catalog = RecipeCatalog(recipes, cfg.tools)
    paths = [existing(p) for p in routes] if routes else [str(p) for p in sorted(Path(SHIPPED).glob("*.yaml"))]
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="bumpline-mutants-"))
    accepted: dict[str, tuple[Mutant, Route]] = {}
    table = Table("route", "mutants", "refused on paper", "accepted", title="mutation oracle — on paper", title_justify="left")
    total = refused = 0
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")
        ms = mutants(text)
        if sample and sample < len(ms):
            ms = rng.sample(ms, sample)
        for m in ms:
            route = judge(m, path, catalog)
            if route is not None:
                lot = f"M{len(accepted) + 1:03d}"
                accepted[lot] = (m, _as_file(route, m, work / f"{lot}.yaml", catalog))
        n_refused = sum(not m.accepted for m in ms)
        total, refused = total + len(ms), refused + n_refused
        table.add_row(Path(path).name, str(len(ms)), str(n_refused), ", ".join(m.name for m in ms if m.accepted) or "—")
    console.print(table)
    console.print(f"{total} mutants: {refused} refused on paper, {total - refused} accepted")
    if not simulate or not accepted:
        return
    holes = _simulate(cfg, accepted, wafers, speed, parallel, recipes, work)
    raise typer.Exit(exits.NOT_COMPLETE if holes else exits.COMPLETE)


def _as_file(route: Route, m: Mutant, path: Path, catalog: RecipeCatalog) -> Route:
    """The mutant as its own route document (renamed, so a ledger never sees two bodies under one name)."""
    from line.recipes.route import load_route

    text = re.sub(r"^(\s+name:\s*)(\S+)", lambda g: f"{g[1]}{g[2]}-{path.stem.lower()}", m.text, count=1, flags=re.M)
    path.write_text(text, encoding="utf-8")
    return load_route(path, catalog)


def _simulate(cfg: LineConfig, accepted: dict[str, tuple[Mutant, Route]], wafers: int, speed: float, parallel: int,
              recipes: str, work: Path) -> list[str]:
    from line.cli.products import verify_lot
    from line.cli.simrun import run_lots

    db = f"sqlite:///{work / 'ledger.db'}"
    stamp = f"{datetime.now():%H%M%S}"
    lots = {f"{lot}-{stamp}": route for lot, (_, route) in accepted.items()}
    run = run_lots(cfg, lots, wafers, speed, recipes, db_url=db, parallel=parallel)
    ledger = Ledger(db)
    table = Table("lot", "route", "mutant", "lot status", "lot verify", title="mutation oracle — accepted mutants on the "
                  "simulated line", title_justify="left")
    holes = []
    try:
        for (lot_id, route), (m, _) in zip(lots.items(), accepted.values(), strict=True):
            status = run.results[lot_id]["status"]
            assert route.product is not None
            check = verify_lot(run.world, route.product, ledger, lot_id)
            good = status == "COMPLETE" and check.ok
            if not good:
                holes.append(lot_id)
            table.add_row(lot_id, route.name, m.name, status, "[green]held[/green]" if good
                          else f"[red]{escape('; '.join(check.problems[:2]) or run.results[lot_id].get('reason', ''))}[/red]")
    finally:
        ledger.dispose()
    console.print(table)
    console.print(f"{len(lots)} accepted mutants run: {len(lots) - len(holes)} built their product, {len(holes)} did not"
                  + (f" — holes in the checks: {', '.join(holes)}" if holes else ""))
    return holes
