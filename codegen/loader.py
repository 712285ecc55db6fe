"""Read spec files into plain data plus a map from field path to source line, for precise error messages."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from codegen.errors import SpecError

FieldPath = tuple[str | int, ...]


@dataclass
class Document:
    """One YAML document and the line of every key and item in it (1-based)."""

    path: str
    index: int
    data: Any
    lines: dict[FieldPath, int] = field(default_factory=dict)

    def line(self, path: FieldPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor the parser saw."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


@dataclass
class LoadedFile:
    path: str
    relative: str
    documents: list[Document]


_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parser when available


class _StrictLoader(_Base):  # type: ignore[valid-type,misc]
    """The composer for spec files; duplicate keys are rejected in ``_construct`` (Sloth keeps the last one)."""


class _SlothLoader(_StrictLoader):
    """``--sloth-compat``: numbers as Sloth's YAML decoder (go-yaml) reads them, so ``99.9e0`` and ``1e3`` are
    floats (PyYAML's YAML 1.1 rules need a dot and a signed exponent and would read them as strings)."""


_SlothLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


def _construct(
    node: yaml.Node, doc: Document, path: FieldPath, errors: list[SpecError], scalars: yaml.SafeLoader
) -> Any:
    doc.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag.endswith(":merge"):
                errors.append(
                    SpecError(
                        doc.path, key_node.start_mark.line + 1, None, _dotted(path), "YAML merge keys are not supported"
                    )
                )
                continue
            if key in out:
                errors.append(
                    SpecError(
                        doc.path, key_node.start_mark.line + 1, None, _dotted((*path, key)), f"duplicate key {key!r}"
                    )
                )
            child = (*path, key)
            out[key] = _construct(value_node, doc, child, errors, scalars)
            doc.lines[child] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, doc, (*path, i), errors, scalars) for i, item in enumerate(node.value)]
    return scalars.construct_object(node, deep=True)


def _dotted(path: FieldPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_text(text: str, path: str, sloth_compat: bool = False) -> tuple[list[Document], list[SpecError]]:
    """Parse every ``---`` document of one file, skipping empty ones."""
    loader = _SlothLoader if sloth_compat else _StrictLoader
    errors: list[SpecError] = []
    documents: list[Document] = []
    try:
        nodes = list(yaml.compose_all(text, Loader=loader))  # libyaml marks carry lines too
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        return [], [SpecError(path, line, None, "", f"invalid YAML: {problem}")]
    scalars = loader("")
    for index, node in enumerate(nodes):
        if node is None:
            continue
        doc = Document(path, index, None)
        doc.data = _construct(node, doc, (), errors, scalars)
        documents.append(doc)
    scalars.dispose()
    return documents, errors


PathFilter = Callable[[str], bool]
"""Decides whether a discovered spec path (the input joined with the file's relative path) is read."""


def discover(input_path: str, path_filter: PathFilter | None = None) -> tuple[list[tuple[Path, str]], list[SpecError]]:
    """A file, or a directory read recursively for ``.yml``/``.yaml`` (any case, as Sloth), sorted so output
    order is stable; ``path_filter`` (``-e``/``-n``) sees each path as Sloth's walk spells it."""
    root = Path(input_path)
    if root.is_file():
        if path_filter is not None and not path_filter(input_path):  # Go's walk reports a file root as given
            return [], [SpecError(str(root), None, None, "", "0 slo specs have been discovered (all filtered)")]
        return [(root, root.name)], []
    if root.is_dir():
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in (".yaml", ".yml"))
        if not files:
            return [], [SpecError(str(root), None, None, "", "no .yaml/.yml spec files found")]
        if path_filter is not None:
            files = [p for p in files if path_filter(walk_path(input_path, p.relative_to(root).as_posix()))]
            if not files:
                return [], [SpecError(str(root), None, None, "", "0 slo specs have been discovered (all filtered)")]
        return [(p, p.relative_to(root).as_posix()) for p in files], []
    return [], [SpecError(str(root), None, None, "", "input does not exist")]


def walk_path(input_path: str, relative: str) -> str:
    """The path Go's ``filepath.Walk(input)`` reports for a file: the input joined with it, cleaned."""
    return os.path.normpath(os.path.join(input_path, relative)).replace(os.sep, "/")


def load_files(
    input_path: str, path_filter: PathFilter | None = None, sloth_compat: bool = False
) -> tuple[list[LoadedFile], list[SpecError]]:
    found, errors = discover(input_path, path_filter)
    loaded: list[LoadedFile] = []
    for path, relative in found:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(SpecError(str(path), None, None, "", f"cannot read: {exc}"))
            continue
        documents, errs = load_text(text, str(path), sloth_compat)
        errors.extend(errs)
        loaded.append(LoadedFile(str(path), relative, documents))
    return loaded, errors
