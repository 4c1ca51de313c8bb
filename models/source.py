"""Reading YAML so that every value remembers where it was written.

PyYAML's composer gives a node tree with positions; we build plain Python data from it
ourselves so that (a) every mapping key and sequence item has a line number for error
messages, (b) duplicate keys are reported instead of silently overwritten, and (c) no
scalar is converted by the YAML library: dates stay strings until the schema parses
them, so a malformed date is a located validation error, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Location = tuple[int, int]  # (line, column), both 1-based
FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Issue:
    """One problem in an organisation's folder, located as precisely as we can."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass
class SourceDocument:
    """A parsed YAML file: its data and the position of every value in it."""

    path: Path
    data: Any
    locations: dict[FieldPath, Location] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    def line_of(self, field_path: FieldPath) -> int | None:
        """The line of the value at `field_path`, or of its nearest enclosing value."""
        path = tuple(field_path)
        while True:
            if path in self.locations:
                return self.locations[path][0]
            if not path:
                return None
            path = path[:-1]

    def issue(self, field_path: FieldPath, message: str) -> Issue:
        return Issue(self.name, self.line_of(field_path), format_path(field_path), message)


def format_path(field_path: FieldPath) -> str:
    text = ""
    for part in field_path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


class SourceError(Exception):
    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


_resolver = yaml.resolver.Resolver()
# libyaml's parser where PyYAML was built with it: the same nodes and marks, much faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _scalar_value(node: yaml.ScalarNode) -> Any:
    """Plain YAML 1.1 scalars become int/float/bool/None; everything else stays a string."""
    if node.style:  # quoted or block scalar: always a string
        return node.value
    tag = _resolver.resolve(yaml.ScalarNode, node.value, (True, False))
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return node.value.lower() in ("true", "yes", "on", "y")
    if tag == "tag:yaml.org,2002:int":
        try:
            return int(node.value.replace("_", ""))
        except ValueError:  # octal, hex or sexagesimal forms: leave them to the schema to reject
            return node.value
    if tag == "tag:yaml.org,2002:float":
        try:
            return float(node.value.replace("_", ""))
        except ValueError:
            return node.value
    return node.value


# What one organisation file may hold. The region's largest file is 70 kB and 2,200
# values; a generated organisation of 2,000 units is well inside. Beyond these a file is
# refused before it costs minutes and gigabytes: by size before it is read, by the number
# of values while it is built (aliases share nodes in the composed tree, so a 1 kB
# "alias bomb" only blows up when expanded, which stops here).
MAX_SOURCE_BYTES = 5_000_000
MAX_SOURCE_VALUES = 500_000


class _TooManyValues(Exception):
    def __init__(self, line: int, path: FieldPath):
        self.line, self.path = line, path


def load_source(path: Path) -> SourceDocument:
    """Parse one YAML file; raise SourceError with located issues if it cannot be read."""
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            message = f"filen är för stor ({size / 1e6:.1f} MB): högst {MAX_SOURCE_BYTES / 1e6:.0f} MB"
            raise SourceError([Issue(path.name, None, "", message)])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError([Issue(path.name, None, "", "filen saknas")]) from None
    except UnicodeDecodeError as exc:
        raise SourceError([Issue(path.name, None, "", f"filen är inte UTF-8 ({exc.reason})")]) from None
    except OSError as exc:
        raise SourceError([Issue(path.name, None, "", f"filen kan inte läsas: {exc.strerror}")]) from None
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "ogiltig YAML"
        raise SourceError([Issue(path.name, line, "", f"ogiltig YAML: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise SourceError([Issue(path.name, None, "", f"ogiltig YAML: {exc}")]) from None

    document = SourceDocument(path=path, data=None)
    issues: list[Issue] = []
    try:
        document.data = _build(root, (), document, issues, budget=[MAX_SOURCE_VALUES]) if root is not None else None
    except _TooManyValues as exc:
        message = (
            f"för många värden (över {MAX_SOURCE_VALUES:,} när alias (*namn) expanderas)".replace(",", " ")
            + ": använd färre eller mindre nästlade alias"
        )
        raise SourceError([Issue(path.name, exc.line, format_path(exc.path), message)]) from None
    if issues:
        raise SourceError(issues)
    return document


def _build(
    node: yaml.Node,
    path: FieldPath,
    document: SourceDocument,
    issues: list[Issue],
    open_nodes: frozenset[int] = frozenset(),
    *,
    budget: list[int],
) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooManyValues(node.start_mark.line + 1, path)
    if id(node) in open_nodes or len(path) > 50:
        issues.append(
            Issue(document.name, node.start_mark.line + 1, format_path(path), "rekursivt eller för djupt nästlat värde")
        )
        return None
    open_nodes = open_nodes | {id(node)}
    document.locations[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.ScalarNode):
        return _scalar_value(node)
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, path + (index,), document, issues, open_nodes, budget=budget)
            for index, item in enumerate(node.value)
        ]
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                issues.append(
                    Issue(
                        document.name,
                        key_node.start_mark.line + 1,
                        format_path(path),
                        "en nyckel måste vara en enkel text",
                    )
                )
                continue
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key == "<<":
                issues.append(Issue(document.name, line, format_path(path), "YAML-sammanslagning (<<) stöds inte"))
                continue
            if key in first_seen:
                issues.append(
                    Issue(
                        document.name,
                        line,
                        format_path(path + (key,)),
                        f"nyckeln '{key}' förekommer två gånger (första gången på rad {first_seen[key]})",
                    )
                )
                continue
            first_seen[key] = line
            result[key] = _build(value_node, path + (key,), document, issues, open_nodes, budget=budget)
            # Point errors about a key at the key's own line, not its value's.
            document.locations[path + (key,)] = (line, key_node.start_mark.column + 1)
        return result
    raise AssertionError(f"unknown YAML node {node!r}")  # pragma: no cover - PyYAML has three kinds
