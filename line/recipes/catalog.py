"""All tool recipes under a folder, by name and version (what a route's `recipe: name@vN` means),
and the products routes build, by letter and variant (what a route's `product: D, variant: release` means)."""
from __future__ import annotations

import re
import threading
from pathlib import Path

from line.config import ToolConfig
from line.recipes.product import Product, load_product
from line.recipes.tool_recipe import ToolRecipe, load_tool_recipe
from line.yamlio import DocumentError, Problem, load_yaml

KIND_LINE = re.compile(r"^kind:[ \t]*([A-Za-z]+)[ \t]*(#.*)?$", re.M)


def document_kind(path: str | Path, text: str | None = None) -> str:
    """The document's top-level `kind` ("" when it has none or cannot be read). Read from its plain
    `kind: Name` line when it has one: a catalog looks at every route and recipe under its folder,
    and parsing a whole route only to learn it is one was most of a lot's start-up; a document
    that does not write it plainly is parsed."""
    try:
        if text is None:
            text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    if m := KIND_LINE.search(text):
        return m.group(1)
    try:
        doc = load_yaml(path, text)
    except DocumentError:
        return ""
    return str(doc.get("kind", "")) if isinstance(doc, dict) else ""


class RecipeCatalog:
    def __init__(self, root: str | Path = "recipes", tools: list[ToolConfig] | None = None) -> None:
        self.root = Path(root)
        self.recipes: dict[tuple[str, int], ToolRecipe] = {}
        self.problems: list[Problem] = []
        self.products: dict[tuple[str, str], Product] = {}
        self.files = sorted(self.root.rglob("*.yaml"))
        for path in self.files:
            try:
                text: str | None = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                text = None      # unreadable: not in the catalog (a route naming it is told it is missing)
            kind = document_kind(path, text) if text is not None else ""
            if kind == "Product":
                self._add_product(path, text)
            if kind != "ToolRecipe":
                continue
            try:
                r = load_tool_recipe(path, tools, text=text)
            except DocumentError as exc:
                self.problems += exc.problems
                continue
            if (r.name, r.version) in self.recipes:
                other = self.recipes[(r.name, r.version)].path
                self.problems.append(Problem(str(path), 1, 1, "metadata", "duplicate-version",
                                             f"{r.ref} is also defined in {other}"))
            self.recipes[(r.name, r.version)] = r

    @classmethod
    def cached(cls, root: str | Path, tools: list[ToolConfig] | None = None) -> RecipeCatalog:
        """The catalog of a folder for these tools, made again only when a document under it was
        added, removed or changed (a stat of each, ~1 ms): every lot's flow run asks for one, and
        reading and validating each recipe costs ~0.3 s. Shared between threads: nothing changes
        a catalog once made."""
        key = (str(Path(root).resolve()), tuple(t.model_dump_json() for t in tools) if tools is not None else None)
        with _catalogs_lock:
            known = _catalogs.get(key)
            if known is None or known[0] != _stamp(known[1].files, root):
                catalog = cls(root, tools)
                known = _catalogs[key] = (_stamp(catalog.files, root), catalog)
            return known[1]

    def get(self, name: str, version: int) -> ToolRecipe | None:
        return self.recipes.get((name, version))

    def versions(self, name: str) -> list[int]:
        return sorted(v for n, v in self.recipes if n == name)

    def _add_product(self, path: Path, text: str | None) -> None:
        try:
            product = load_product(path, text)
        except DocumentError as exc:
            self.problems += exc.problems
            return
        if product.key in self.products:
            self.problems.append(Problem(str(path), 1, 1, "spec.product", "duplicate-product",
                                         f"product {product.label} is also defined in {self.products[product.key].path}"))
        self.products[product.key] = product

    def product(self, letter: str, variant: str = "") -> Product | None:
        return self.products.get((letter, variant))



_catalogs: dict[tuple, tuple[tuple, RecipeCatalog]] = {}
_catalogs_lock = threading.Lock()


def _stamp(files: list[Path], root: str | Path) -> tuple:
    """What the catalog was made from: the documents under its folder, each as it is on disk now."""
    out: list[tuple] = []
    for f in sorted(set(files) | set(Path(root).rglob("*.yaml"))):
        try:
            st = f.stat()
            out.append((str(f), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(f), None))
    return tuple(out)
