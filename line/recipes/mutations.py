"""The mutation oracle's edits: every single-step deletion and every adjacent swap of a route, made
on the route's text (so each mutant is a document an engineer could have written), and the paper
verdict on each — refused by `recipe validate` (with the rules that refused it) or accepted.

An accepted mutant must still build its product: the oracle runs it on the simulated line and
verifies the lot (`bumpline recipe mutate --simulate`). A mutant that is accepted on paper and
fails `lot verify` is a hole in the checks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from line.recipes.catalog import RecipeCatalog
from line.recipes.linter import lint
from line.recipes.route import Route, load_route
from line.yamlio import DocumentError

STEP_START = re.compile(r"^\s+- \{id: (?P<id>[A-Za-z0-9][A-Za-z0-9_.-]*),")
METADATA_VERSION = re.compile(r"^(\s+version:\s*)(\d+)", re.M)


@dataclass
class Mutant:
    name: str                      # "delete A08b", "swap A08a A08b"
    text: str
    refused_by: list[str] = field(default_factory=list)   # rule names; empty = accepted on paper
    first_problem: str = ""

    @property
    def accepted(self) -> bool:
        return not self.refused_by


def step_blocks(text: str) -> tuple[list[str], list[tuple[str, list[str]]], list[str]]:
    """(lines before the steps, [(step id, its lines)], lines after the last step)."""
    lines = text.splitlines(keepends=True)
    starts = [(i, m["id"]) for i, l in enumerate(lines) if (m := STEP_START.match(l))]
    if not starts:
        return lines, [], []
    head = lines[:starts[0][0]]
    blocks = []
    for k, (i, sid) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        block = lines[i:end]
        blocks.append((sid, block))
    last_id, last = blocks[-1]
    indent = len(last[0]) - len(last[0].lstrip())
    cut = next((j for j, l in enumerate(last[1:], 1) if l.strip() and len(l) - len(l.lstrip()) <= indent - 2), len(last))
    blocks[-1] = (last_id, last[:cut])
    return head, blocks, last[cut:]


def add_override(text: str, step: str, entry: str) -> str:
    """The route text with `entry` (`'segments[1].hold_s': 60`) added to one step's overrides, creating
    them when the step has none — as an engineer would edit it; the text is unchanged when no step
    has that id."""
    head, blocks, tail = step_blocks(text)
    out = []
    for sid, block in blocks:
        body = "".join(block)
        if sid == step:
            body = (body.replace("overrides: {", f"overrides: {{{entry}, ", 1) if "overrides: {" in body
                    else body.replace(f"{{id: {step}, ", f"{{id: {step}, overrides: {{{entry}}}, ", 1))
        out.append(body)
    return "".join(head) + "".join(out) + "".join(tail)


def _assemble(head: list[str], blocks: list[tuple[str, list[str]]], tail: list[str]) -> str:
    return "".join(head) + "".join("".join(b) for _, b in blocks) + "".join(tail)


def mutants(text: str) -> list[Mutant]:
    """Every single-step deletion, then every adjacent swap."""
    head, blocks, tail = step_blocks(text)
    out = []
    for i, (sid, _) in enumerate(blocks):
        out.append(Mutant(f"delete {sid}", _assemble(head, blocks[:i] + blocks[i + 1:], tail)))
    for i in range(len(blocks) - 1):
        swapped = blocks[:i] + [blocks[i + 1], blocks[i]] + blocks[i + 2:]
        out.append(Mutant(f"swap {blocks[i][0]} {blocks[i + 1][0]}", _assemble(head, swapped, tail)))
    return out


def edit(text: str, delete: str = "", move: tuple[str, str] | None = None, swap: tuple[str, str] | None = None) -> str:
    """One named edit of a route's text: delete a step, move a step before another, or swap two."""
    head, blocks, tail = step_blocks(text)
    ids = [sid for sid, _ in blocks]
    if delete:
        blocks = [b for b in blocks if b[0] != delete]
    if move:
        block = blocks.pop(ids.index(move[0]))
        blocks.insert([sid for sid, _ in blocks].index(move[1]), block)
    if swap:
        i, j = ids.index(swap[0]), ids.index(swap[1])
        blocks[i], blocks[j] = blocks[j], blocks[i]
    return _assemble(head, blocks, tail)


def judge(mutant: Mutant, path: str, catalog: RecipeCatalog) -> Route | None:
    """Validate the mutant as `recipe validate` would; the route if it is accepted."""
    try:
        route = load_route(path, catalog, text=mutant.text)
        problems = [p for p in lint(route) if p.severity == "error"]
    except DocumentError as exc:
        route, problems = None, exc.problems
    mutant.refused_by = sorted({p.rule for p in problems})
    mutant.first_problem = str(problems[0]) if problems else ""
    return route if not problems else None
