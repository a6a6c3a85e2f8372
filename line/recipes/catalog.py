"""All tool recipes under a folder, by name and version (what a route's `recipe: name@vN` means)."""
from __future__ import annotations

from pathlib import Path

from line.config import ToolConfig
from line.recipes.tool_recipe import ToolRecipe, load_tool_recipe
from line.yamlio import DocumentError, Problem, load_yaml


def document_kind(path: Path) -> str:
    try:
        doc = load_yaml(path)
    except DocumentError:
        return ""
    return str(doc.get("kind", "")) if isinstance(doc, dict) else ""


class RecipeCatalog:
    def __init__(self, root: str | Path = "recipes", tools: list[ToolConfig] | None = None) -> None:
        self.root = Path(root)
        self.recipes: dict[tuple[str, int], ToolRecipe] = {}
        self.problems: list[Problem] = []
        for path in sorted(self.root.rglob("*.yaml")):
            if document_kind(path) != "ToolRecipe":
                continue
            try:
                r = load_tool_recipe(path, tools)
            except DocumentError as exc:
                self.problems += exc.problems
                continue
            if (r.name, r.version) in self.recipes:
                other = self.recipes[(r.name, r.version)].path
                self.problems.append(Problem(str(path), 1, 1, "metadata", "duplicate-version",
                                             f"{r.ref} is also defined in {other}"))
            self.recipes[(r.name, r.version)] = r

    def get(self, name: str, version: int) -> ToolRecipe | None:
        return self.recipes.get((name, version))

    def versions(self, name: str) -> list[int]:
        return sorted(v for n, v in self.recipes if n == name)
