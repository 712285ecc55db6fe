"""Read spec files into plain data plus a map from field path to source line, for precise error messages.

Hostile YAML gets an error, never a traceback or a stall: alias expansion is bounded (billion laughs), nesting is
bounded (libyaml stops at 1000 levels, we at ``MAX_DEPTH``), only the core tags are accepted, strings must be
encodable (no lone surrogates), and every unreadable file or directory under the input is an error, not skipped.
Floats follow YAML 1.2 as Sloth does (``99.9e0`` and ``1e-5`` are numbers); numbers keep their source text so
that a label value ``1.10`` stays ``1.10``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from codegen.errors import SpecError, printable

FieldPath = tuple[str | int, ...]

MAX_DEPTH = 64  # specs nest about 10 levels; deeper is an attack or a mistake
MAX_ALIAS_NODES = 10_000  # nodes constructed through aliases, per file
SPEC_SUFFIXES = (".yaml", ".yml")

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(_CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp"))
_STR_TAG = _CORE + "str"
_NULL_TAG = _CORE + "null"
_MAP_TAG = _CORE + "map"
_SEQ_TAG = _CORE + "seq"
_EXPECTED = {  # what an explicitly tagged scalar must look like, for the texts PyYAML's constructors trip on
    "bool": "expected true, false, yes, no, on or off (any case)",
    "int": "expected an integer (e.g. 42, 0x2A, 0o52, 1_000)",
    "float": "expected a number (e.g. 1.5, 1e3, .inf)",
    "timestamp": "expected a date or time (e.g. 2001-12-14 or 2001-12-14T21:59:43Z)",
    "str": "expected text",
    "null": "expected null",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


class YamlInt(int):
    """An int that remembers how the spec wrote it (``0x1F``, ``1_000``)."""

    yaml_text: str


class YamlFloat(float):
    """A float that remembers how the spec wrote it (``1.10``, ``99.9e0``)."""

    yaml_text: str


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
    """The composer for spec files; duplicate keys, tags, depth and aliases are policed in ``_Builder``.

    libyaml calls ``resolve`` back for every node. Spec loaders have no path resolvers, so a node's tag depends
    only on its kind and, for a plain scalar, its text and the class's implicit resolvers: the answer for a text
    is remembered per file (keys repeat in every SLO), and a text whose first character starts no implicit
    resolver is a string without walking PyYAML's regular expressions.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.plain_tags: dict[str, str] = {}
        self.resolver_starts = frozenset(self.yaml_implicit_resolvers)
        if self.yaml_path_resolvers or None in self.resolver_starts:  # pragma: no cover - a programming error
            raise TypeError("spec loaders resolve tags without path or wildcard resolvers")

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if not implicit[0]:  # quoted
                return _STR_TAG
            tag = self.plain_tags.get(value)
            if tag is None:
                if value and value[0] not in self.resolver_starts:
                    return _STR_TAG
                tag = self.plain_tags[value] = super().resolve(kind, value, implicit)
            return tag
        return _MAP_TAG if kind is yaml.MappingNode else _SEQ_TAG

    def descend_resolver(self, current_node: yaml.Node | None, current_index: Any) -> None:
        """Path resolvers only: there are none (libyaml still calls this for every node)."""

    def ascend_resolver(self) -> None:
        """Path resolvers only: there are none."""


# YAML 1.2 core-schema floats that YAML 1.1 reads as strings: an exponent without a dot or without a sign.
_StrictLoader.add_implicit_resolver(
    _CORE + "float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"),
)


class _SlothLoader(_StrictLoader):
    """``--sloth-compat``: numbers as Sloth's YAML decoder (go-yaml) reads them, so ``99.9e0`` and ``1e3`` are
    floats (PyYAML's YAML 1.1 rules need a dot and a signed exponent and would read them as strings)."""


_SlothLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


class _Abort(Exception):
    """A problem after which the rest of the document cannot be trusted (alias bomb, nesting)."""

    def __init__(self, error: SpecError) -> None:
        super().__init__(str(error))
        self.error = error


class _Builder:
    """Turns one composed document into Python data, recording lines and policing what YAML allows.

    Strings and nulls, nearly every scalar of a spec, are made here (PyYAML's constructor makes ``node.value`` and
    ``None`` of them, through several calls each); other tags go through the constructor. When the text has no
    ``&`` it has no anchor, so no node is shared and alias counting is skipped (``aliases=False``).
    """

    def __init__(self, doc: Document, errors: list[SpecError], scalars: yaml.SafeLoader, aliases: bool = True) -> None:
        self.doc = doc
        self.lines = doc.lines
        self.errors = errors
        self.scalars = scalars
        self.aliases = aliases
        self.seen: set[int] = set()
        self.alias_nodes = 0

    def error(self, node: yaml.Node, path: FieldPath, message: str) -> None:
        self.errors.append(SpecError(self.doc.path, node.start_mark.line + 1, None, _dotted(path), message))

    def root(self, node: yaml.Node) -> Any:
        """The document's data; its line is the root's."""
        self.lines.setdefault((), node.start_mark.line + 1)
        return self.build(node, ())

    def build(self, node: yaml.Node, path: FieldPath, depth: int = 0, aliased: bool = False) -> Any:
        """``node`` as data; the caller has recorded the line of ``path``."""
        if depth > MAX_DEPTH:
            raise _Abort(
                SpecError(
                    self.doc.path, node.start_mark.line + 1, None, "", f"YAML nested deeper than {MAX_DEPTH} levels"
                )
            )
        if self.aliases:
            if id(node) in self.seen:  # composed graphs share a node for every alias of it
                aliased = True
            self.seen.add(id(node))
            if aliased:
                self.alias_nodes += 1
                if self.alias_nodes > MAX_ALIAS_NODES:
                    raise _Abort(
                        SpecError(
                            self.doc.path,
                            node.start_mark.line + 1,
                            None,
                            "",
                            f"YAML aliases expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?)",
                        )
                    )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth, aliased)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                self.error(node, path, f"YAML tag {node.tag!r} is not supported")
            setdefault = self.lines.setdefault
            plain = not self.aliases and depth < MAX_DEPTH  # as in _mapping
            items: list[Any] = []
            for i, item in enumerate(node.value):
                child = (*path, i)
                setdefault(child, item.start_mark.line + 1)
                if plain and item.__class__ is yaml.ScalarNode:
                    items.append(self._scalar(item, child))
                else:
                    items.append(self.build(item, child, depth + 1, aliased))
            return items
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: FieldPath, depth: int, aliased: bool) -> dict[Any, Any]:
        if node.tag != _MAP_TAG:
            self.error(node, path, f"YAML tag {node.tag!r} is not supported")
        out: dict[Any, Any] = {}
        lines = self.lines
        # A scalar value needs none of build's checks when no node is shared and it is not too deep.
        plain = not self.aliases and depth < MAX_DEPTH
        for key_node, value_node in node.value:
            if key_node.__class__ is not yaml.ScalarNode:
                self.error(key_node, path, "a mapping key must be a plain value, not a mapping or a list")
                continue
            key_tag = key_node.tag
            if key_tag == _STR_TAG and key_node.value.isascii():
                key = key_node.value
            elif key_tag.endswith(":merge"):
                self.error(key_node, path, "YAML merge keys are not supported")
                continue
            else:
                key = self._scalar(key_node, path)
                try:
                    hash(key)
                except TypeError:  # pragma: no cover - scalars are hashable
                    continue
            child = (*path, key)
            if key in out:
                self.error(key_node, child, f"duplicate key {key!r}")
            lines[child] = key_node.start_mark.line + 1
            if plain and value_node.__class__ is yaml.ScalarNode:
                out[key] = self._scalar(value_node, child)
            else:
                out[key] = self.build(value_node, child, depth + 1, aliased)
        return out

    def _scalar(self, node: yaml.Node, path: FieldPath) -> Any:
        tag = node.tag
        if tag == _STR_TAG:
            value: Any = node.value
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    self.error(node, path, "invalid text: a lone surrogate (\\ud800-\\udfff) is not Unicode")
                    return None
            return value
        if tag == _NULL_TAG:
            return None
        if tag not in _SCALAR_TAGS:
            self.error(node, path, f"YAML tag {tag!r} is not supported")
            return None
        try:
            value = self.scalars.yaml_constructors[tag](self.scalars, node)  # what construct_object would call
        except (ValueError, TypeError, OverflowError, LookupError, AttributeError, yaml.YAMLError) as exc:
            kind = tag.rsplit(":", 1)[-1]
            # PyYAML's constructors trust the resolver's regular expressions; an explicit tag skips them, and
            # ``!!bool maybe``, ``!!int _`` or ``!!timestamp foo`` fail inside them (KeyError, IndexError...)
            malformed = isinstance(exc, LookupError | AttributeError)
            problem = _EXPECTED[kind] if malformed else getattr(exc, "problem", None) or str(exc)
            self.error(node, path, f"invalid {kind} value {node.value[:40]!r}: {problem}")
            return None
        if isinstance(value, float) and not isinstance(value, bool):
            number = YamlFloat(value)
            number.yaml_text = node.value
            return number
        if isinstance(value, int) and not isinstance(value, bool):
            whole = YamlInt(value)
            whole.yaml_text = node.value
            return whole
        return value


def _dotted(path: FieldPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _is_empty(node: yaml.Node | None) -> bool:
    """``---`` with nothing (or a comment) after it: Sloth skips such documents, so do we."""
    return node is None or (
        isinstance(node, yaml.ScalarNode) and node.tag == _CORE + "null" and node.value in ("", "~")
    )


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
    except RecursionError:  # the pure-Python composer, without libyaml
        return [], [SpecError(path, None, None, "", f"YAML nested deeper than {MAX_DEPTH} levels")]
    scalars = loader("")
    aliases = "&" in text  # an alias needs an anchor, and an anchor is written with "&"
    try:
        for index, node in enumerate(nodes):
            if _is_empty(node):
                continue
            doc = Document(path, index, None)
            builder = _Builder(doc, errors, scalars, aliases)
            try:
                doc.data = builder.root(node)
            except _Abort as exc:
                return [], [*errors, exc.error]
            documents.append(doc)
    finally:
        scalars.dispose()
    return documents, errors


def load_yaml_file(path: Path, sloth_compat: bool = False) -> tuple[list[Document], list[SpecError]]:
    """Read and parse one file: unreadable, non-UTF-8 or hostile content is an error naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return [], [SpecError(str(path), None, None, "", f"not UTF-8 text (byte {exc.start})")]
    except OSError as exc:
        return [], [SpecError(str(path), None, None, "", f"cannot read: {exc.strerror or exc}")]
    return load_text(text, str(path), sloth_compat)


PathFilter = Callable[[str], bool]
"""Decides whether a discovered spec path (the input joined with the file's relative path) is read."""


def discover(
    input_path: str, path_filter: PathFilter | None = None, suffixes: tuple[str, ...] = SPEC_SUFFIXES
) -> tuple[list[tuple[Path, str]], list[SpecError]]:
    """A file, or a directory read recursively for ``suffixes`` in any case, as Sloth (sorted, so output order is
    stable); ``path_filter`` (``-e``/``-n``) sees each path as Sloth's walk spells it.

    Nothing under the input is skipped silently: an unreadable directory, a dangling link named like a spec, or a
    name with control characters (it would reach generated headers) is an error. Linked directories are followed
    once; a loop is an error.
    """
    root = Path(input_path)
    if _CONTROL.search(input_path):
        return [], [SpecError(printable(input_path), None, None, "", "control characters in a file name")]
    if root.is_file():
        if path_filter is not None and not path_filter(input_path):  # Go's walk reports a file root as given
            return [], [SpecError(str(root), None, None, "", "0 slo specs have been discovered (all filtered)")]
        return [(root, root.name)], []
    if not root.is_dir():
        if root.is_symlink():
            return [], [SpecError(str(root), None, None, "", "input is a dangling symbolic link")]
        return [], [SpecError(str(root), None, None, "", "input does not exist")]
    found: list[tuple[Path, str]] = []
    errors: list[SpecError] = []
    visited: set[str] = set()

    def walk(directory: Path, relative: str) -> None:
        real = os.path.realpath(directory)
        if real in visited:
            errors.append(SpecError(str(directory), None, None, "", "directory reached twice (a symbolic link loop?)"))
            return
        visited.add(real)
        try:
            with os.scandir(directory) as entries:
                listing = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            errors.append(SpecError(str(directory), None, None, "", f"cannot read directory: {exc.strerror or exc}"))
            return
        for entry in listing:
            path = directory / entry.name
            rel = f"{relative}{entry.name}"
            try:
                is_dir = entry.is_dir()
                is_file = entry.is_file()
            except OSError as exc:
                errors.append(SpecError(str(path), None, None, "", f"cannot read: {exc.strerror or exc}"))
                continue
            if _CONTROL.search(entry.name) and (is_dir or entry.name.lower().endswith(suffixes)):
                errors.append(SpecError(printable(str(path)), None, None, "", "control characters in a file name"))
                continue
            if is_dir:
                walk(path, rel + "/")
            elif entry.name.lower().endswith(suffixes):
                if is_file:
                    found.append((path, rel))
                elif entry.is_symlink():
                    errors.append(SpecError(str(path), None, None, "", "dangling symbolic link"))

    walk(root, "")
    if not found and not errors:
        errors.append(SpecError(str(root), None, None, "", f"no {'/'.join(suffixes)} spec files found"))
    if found and path_filter is not None:
        found = [(p, rel) for p, rel in found if path_filter(walk_path(input_path, rel))]
        if not found and not errors:
            return [], [SpecError(str(root), None, None, "", "0 slo specs have been discovered (all filtered)")]
    return sorted(found, key=lambda item: tuple(item[1].split("/"))), errors


def walk_path(input_path: str, relative: str) -> str:
    """The path Go's ``filepath.Walk(input)`` reports for a file: the input joined with it, cleaned."""
    return os.path.normpath(os.path.join(input_path, relative)).replace(os.sep, "/")


def load_files(
    input_path: str, path_filter: PathFilter | None = None, sloth_compat: bool = False
) -> tuple[list[LoadedFile], list[SpecError]]:
    found, errors = discover(input_path, path_filter)
    loaded: list[LoadedFile] = []
    for path, relative in found:
        documents, errs = load_yaml_file(path, sloth_compat)
        errors.extend(errs)
        if not errs or documents:
            loaded.append(LoadedFile(str(path), relative, documents))
    return loaded, errors
