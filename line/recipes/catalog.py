"""All tool recipes under a folder, by name and version (what a route's `recipe: name@vN` means),
and the products routes build, by letter and variant (what a route's `product: D, variant: release` means)."""
from __future__ import annotations

from pathlib import Path

from line.config import ToolConfig
from line.recipes.product import Product, load_product
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
        self.products: dict[tuple[str, str], Product] = {}
        for path in sorted(self.root.rglob("*.yaml")):
            kind = document_kind(path)
            if kind == "Product":
                self._add_product(path)
            if kind != "ToolRecipe":
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

    def _add_product(self, path: Path) -> None:
        try:
            product = load_product(path)
        except DocumentError as exc:
            self.problems += exc.problems
            return
        if product.key in self.products:
            self.problems.append(Problem(str(path), 1, 1, "spec.product", "duplicate-product",
                                         f"product {product.label} is also defined in {self.products[product.key].path}"))
        self.products[product.key] = product

    def product(self, letter: str, variant: str = "") -> Product | None:
        return self.products.get((letter, variant))

