"""The only module that touches the output tree: atomic writes, a check mode for CI, stale-file cleanup."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from codegen.conventions import MARKER


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # check mode: files that differ, are missing or are orphaned


def _is_generated(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return MARKER in head.lower()


def _orphans(outputs: Mapping[Path, str], managed_dirs: Iterable[Path]) -> list[Path]:
    """Files we generated earlier (they carry our header) that this run no longer produces."""
    found: dict[Path, None] = {}
    for directory in managed_dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*")):
            candidate = path.is_file() and path not in outputs and path.suffix in (".yaml", ".yml", ".json", ".md")
            if candidate and _is_generated(path):
                found[path] = None
    return list(found)


def write_outputs(outputs: Mapping[Path, str], managed_dirs: Iterable[Path] = (), check: bool = False) -> WriteReport:
    """Write every file or none: contents go to temp files first, then each is renamed into place."""
    report = WriteReport()
    changed: dict[Path, str] = {}
    for path, content in sorted(outputs.items()):
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == content:
            report.unchanged.append(str(path))
        else:
            changed[path] = content
    orphans = _orphans(outputs, list(managed_dirs))
    if check:
        report.stale = [str(p) for p in changed] + [str(p) for p in orphans]
        return report
    staged: list[tuple[str, Path]] = []
    try:
        for path, content in changed.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(content)
            os.chmod(tmp, 0o644)
            staged.append((tmp, path))
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)
        report.written.append(str(path))
    for orphan in orphans:
        orphan.unlink()
        report.removed.append(str(orphan))
    return report
