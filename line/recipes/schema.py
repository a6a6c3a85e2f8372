"""JSON Schema of the documents, for editor completion (yaml-language-server)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import create_model

from drivers.registry import driver_class
from line.recipes.route import RouteDoc
from line.recipes.tool_recipe import ToolRecipeDoc, ToolRecipeSpec


def json_schema(kind: str | None) -> dict[str, Any]:
    if kind is None:
        schema = RouteDoc.model_json_schema()
        schema["title"] = "bumpline Route"
        return schema
    params = driver_class(kind).recipe_model
    spec = create_model(f"{kind}_spec", __base__=ToolRecipeSpec, tool_kind=(Literal[kind], ...),
                        parameters=(params, ...))
    doc = create_model(f"{kind}_recipe", __base__=ToolRecipeDoc, spec=(spec, ...))
    schema = doc.model_json_schema()
    schema["title"] = f"bumpline ToolRecipe ({kind})"
    return schema


def modeline(path: str) -> str:
    return f"# yaml-language-server: $schema={path}"
