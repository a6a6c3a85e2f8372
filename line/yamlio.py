"""YAML documents with positions: every error names file, line, column, field path and rule.

ruamel.yaml's round-trip loader keeps where each key and item sat, so a pydantic error location
(a tuple path) maps back to the exact line an engineer has to fix.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from drivers.errors import BumplineError


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    path: str
    rule: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        field = f" {self.path}:" if self.path else ""
        warn = " warning:" if self.severity == "warning" else ""
        return f"{where}:{warn}{field} {self.message} [{self.rule}]"

M = TypeVar("M", bound=BaseModel)


class DocumentError(BumplineError):
    """One or more problems in one or more documents; nothing was run."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(map(str, self.problems)))


def format_path(path: Iterable[Any]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def locate(doc: Any, path: Iterable[Any]) -> tuple[int, int]:
    """1-based (line, column) of the deepest node along `path` that exists."""
    line, col, node = 1, 1, doc
    for key in path:
        if isinstance(node, CommentedMap) and key in node:
            ln, cl = node.lc.key(key)
            line, col, node = ln + 1, cl + 1, node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            ln, cl = node.lc.item(key)
            line, col, node = ln + 1, cl + 1, node[key]
        else:
            break
    return line, col


def load_yaml(path: str | Path, text: str | None = None) -> Any:
    """Parse one YAML document; syntax errors become a `DocumentError` with the position."""
    path = str(path)
    try:
        if text is None:
            text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError([Problem(path, 1, 1, "", "readable", f"cannot read: {exc}")]) from None
    if len(text) > MAX_DOCUMENT_CHARS:
        raise DocumentError([Problem(path, 1, 1, "", "document-size", f"{len(text):,} characters: a document holds at most "
                                                                     f"{MAX_DOCUMENT_CHARS:,} (recipes are a few kB)")])
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        doc = yaml.load(text)
        _bounded(path, doc)
        return doc
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        msg = " ".join(str(m) for m in (exc.context, exc.problem) if m)
        raise DocumentError([Problem(path, line, col, "", "yaml-syntax", msg or "invalid YAML")]) from None
    except (YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise DocumentError([Problem(path, 1, 1, "", "yaml-syntax", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)]) from None


MAX_DOCUMENT_CHARS = 1_000_000
MAX_NODES = 100_000                 # as expanded: aliases count every time they are used
MAX_DEPTH = 64


def _bounded(path: str, doc: Any) -> None:
    """Refuse a document that expands past MAX_NODES or nests past MAX_DEPTH — an alias bomb (a few
    hundred bytes that expand to billions of nodes) or a recursive alias — before anything walks it."""
    seen, stack = 0, [(doc, 0)]
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise DocumentError([Problem(path, 1, 1, "", "document-size", f"the document expands to more than {MAX_NODES:,} "
                                                                         "values (aliases counted each time they are used)")])
        if depth > MAX_DEPTH:
            raise DocumentError([Problem(path, 1, 1, "", "document-depth", f"the document nests deeper than {MAX_DEPTH} "
                                                                          "levels (a recursive alias?)")])
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


RULE_TEXT = {
    "extra_forbidden": "unknown field",
    "missing": "required field missing",
}


def validation_problems(path: str, doc: Any, exc: ValidationError, prefix: tuple = ()) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(err["loc"])
        line, col = locate(doc, loc)
        rule = err["type"]
        msg = RULE_TEXT.get(rule, err["msg"])
        if rule not in RULE_TEXT and "input" in err and not isinstance(err["input"], (dict, list)):
            msg = f"{msg} (got {err['input']!r})"
        problems.append(Problem(path, line, col, format_path(loc), rule, msg))
    return problems


def validate(path: str, doc: Any, model: type[M], prefix: tuple = (), data: Any = None) -> M:
    """Validate `data` (default: the document) against `model`, mapping errors to positions."""
    try:
        return model.model_validate(doc if data is None else data)
    except ValidationError as exc:
        raise DocumentError(validation_problems(path, doc, exc, prefix)) from None


def plain(node: Any) -> Any:
    """ruamel containers and scalars → plain Python (for hashing and JSON)."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str(node)
