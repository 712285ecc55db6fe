"""The only module that touches the output tree: all-or-nothing writes, a check mode for CI, stale-file cleanup.

All or nothing: every changed file is first written (and fsynced) to a temporary file beside its target, as it
comes (the outputs may be a lazy stream, so a run holds one file's text at a time); only when all of them exist
are they renamed into place, each old version kept as a hard link until the end. If
anything fails -- a read-only or full file system, a path whose parent is a file, a target that is a directory --
the renames done so far are undone, temporary files and directories created by the run are removed, and a
``WriteError`` says which path failed. Nothing on disk changed.

Only what slogen wrote is ever removed: each managed output directory holds a manifest (``.slogen-manifest``,
``sha256sum`` format) listing the files slogen wrote there and their hashes. A file is removed as stale only when
the previous manifest lists it and its content still has the listed hash; a listed file edited since is kept
(with a warning) and forgotten. Hand-written files are never listed, whatever they say.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from codegen.conventions import MANIFEST


class WriteError(Exception):
    """A write failed and was rolled back; the message is one line naming the path."""


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # stale files edited since slogen wrote them: left alone
    stale: list[str] = field(default_factory=list)  # check mode: files that differ, are missing or are orphaned


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Manifests


def _manifest_line(digest: str, relative: str) -> str:
    """One ``sha256sum`` line; names with a backslash or newline use its escaped form (a leading backslash)."""
    if "\\" in relative or "\n" in relative:
        return f"\\{digest}  {relative.replace(chr(92), chr(92) * 2).replace(chr(10), chr(92) + 'n')}\n"
    return f"{digest}  {relative}\n"


def render_manifest(digests: Mapping[str, str]) -> str:
    """The manifest of one directory: relative path -> SHA-256 of every file slogen wrote there."""
    return "".join(_manifest_line(digest, relative) for relative, digest in sorted(digests.items()))


def _safe_relative(name: str) -> str | None:
    """A listed name we may act on: relative, normalised, inside the directory, not the manifest itself."""
    if not name or name.startswith("/") or "\x00" in name:
        return None
    normal = posixpath.normpath(name)
    if normal != name or normal.startswith("../") or normal in ("..", ".", MANIFEST):
        return None
    return normal


def read_manifest(directory: Path) -> dict[str, str]:
    """Relative path -> hash from ``directory``'s manifest; malformed or unsafe lines are ignored (never acted on)."""
    path = directory / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise WriteError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}; nothing was changed") from exc
    entries: dict[str, str] = {}
    for line in text.splitlines():
        escaped = line.startswith("\\")
        digest, sep, name = line[1:].partition("  ") if escaped else line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            continue
        if escaped:
            name = name.replace("\\n", "\n").replace("\\\\", "\\")
        relative = _safe_relative(name)
        if relative is not None:
            entries[relative] = digest
    return entries


def _owner(path: Path, managed: list[Path]) -> Path | None:
    """The innermost managed directory holding ``path``."""
    holders = [d for d in managed if d in path.parents]
    return max(holders, key=lambda d: len(d.parts)) if holders else None


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


# ---------------------------------------------------------------------------------------------------------------
# Writing


def _current(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError as exc:
        raise WriteError(f"cannot read {path}: {exc.strerror or exc}; nothing was changed") from exc


def _hidden_name(path: Path, purpose: str) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.{purpose}")


class _Transaction:
    """Staged temp files, renames and removals that can all be undone until ``commit`` returns."""

    def __init__(self) -> None:
        self.created_dirs: list[Path] = []
        self.staged: list[tuple[Path, Path]] = []  # temp file, target
        self.replaced: list[tuple[Path, Path | None]] = []  # target, hard link to its old version
        self.removed: list[tuple[Path, Path]] = []  # removed file, where it was moved
        self.current: Path | None = None  # the path being worked on, for the error message

    def make_parents(self, directory: Path) -> None:
        missing: list[Path] = []
        for parent in [directory, *directory.parents]:
            if parent.is_dir():
                break
            missing.append(parent)
        for parent in reversed(missing):
            self.created_dirs.append(parent)  # before it exists, like a staged file
            try:
                os.mkdir(parent)
            except FileExistsError:  # made by someone else meanwhile: not ours to remove
                self.created_dirs.pop()
                if not parent.is_dir():
                    raise

    def stage(self, target: Path, data: bytes) -> None:
        self.current = target
        self.make_parents(target.parent)
        while True:
            temp = _hidden_name(target, "tmp")
            self.staged.append((temp, target))  # before the file exists: Ctrl-C right after its creation removes it
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:  # not ours, so never ours to remove: another name
                self.staged.pop()
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(temp, 0o644)
        self.current = None  # staged: a later failure elsewhere must not be reported as this file's

    def commit(self, orphans: list[Path]) -> None:
        for temp, target in sorted(self.staged, key=lambda staged: staged[1]):  # path order, whatever came first
            self.current = target
            backup: Path | None = None
            if os.path.lexists(target) and not target.is_dir():
                backup = _hidden_name(target, "old")
                os.link(target, backup, follow_symlinks=False)
            try:
                os.replace(temp, target)
            except BaseException:
                if backup is not None:
                    os.unlink(backup)
                raise
            self.replaced.append((target, backup))
        for orphan in orphans:
            self.current = orphan
            moved = _hidden_name(orphan, "removed")
            os.rename(orphan, moved)
            self.removed.append((orphan, moved))

    def finish(self) -> None:
        """Success: drop the old versions. A failure here leaves a hidden file, never a wrong one."""
        for _, backup in self.replaced:
            if backup is not None:
                _quietly(os.unlink, backup)
        for _, moved in self.removed:
            _quietly(os.unlink, moved)

    def rollback(self) -> None:
        for orphan, moved in reversed(self.removed):
            _quietly(os.replace, moved, orphan)
        for target, backup in reversed(self.replaced):
            if backup is not None:
                _quietly(os.replace, backup, target)
            else:
                _quietly(os.unlink, target)
        renamed = {target for target, _ in self.replaced}
        for temp, target in self.staged:
            if target not in renamed:
                _quietly(os.unlink, temp)
        for directory in reversed(self.created_dirs):
            _quietly(os.rmdir, directory)


def _quietly(action: Callable[..., object], *paths: Path) -> None:
    """Undo and clean-up steps: one that fails must not stop the others."""
    with contextlib.suppress(OSError):
        action(*paths)


Outputs = Mapping[Path, str] | Iterable[tuple[Path, str]]


class _Run:
    """One ``write_outputs``: what each file became (unchanged, or changed and staged) and the manifests' digests."""

    def __init__(self, managed_dirs: Iterable[Path], check: bool) -> None:
        self.managed = sorted({_absolute(d) for d in managed_dirs})
        self.previous = {directory: read_manifest(directory) for directory in self.managed}
        self.digests: dict[Path, dict[str, str]] = {directory: {} for directory in self.managed}
        self.check = check
        self.transaction = _Transaction()
        self.shown: dict[Path, Path] = {}  # absolute -> as the user named it, for messages
        self.changed: list[Path] = []
        self.unchanged: list[Path] = []

    def add(self, path: Path, content: str) -> None:
        """Compare one output with the disk and stage it if it changed; only its digest is kept."""
        absolute = _absolute(path)
        if absolute in self.shown:
            raise WriteError(f"two outputs would both be written to {path}; nothing was changed")
        self.shown[absolute] = path
        data = content.encode("utf-8")
        owner = _owner(absolute, self.managed)
        if owner == absolute.parent and absolute.name == MANIFEST:
            raise WriteError(f"cannot write {path}: slogen keeps its manifest there; nothing was changed")
        if owner is not None:
            self.digests[owner][absolute.relative_to(owner).as_posix()] = _digest(data)
        self._compare(absolute, data)

    def _compare(self, absolute: Path, data: bytes) -> None:
        if _current(absolute) == data:
            self.unchanged.append(absolute)
            return
        self.changed.append(absolute)
        if not self.check:
            self.transaction.stage(absolute, data)

    def finish_plan(self) -> tuple[list[Path], list[Path]]:
        """Once every output is in: stale files to remove, edited stale files to keep, and the manifests."""
        orphans: list[Path] = []
        kept: list[Path] = []
        for directory in self.managed:
            previous = self.previous[directory]
            for relative, digest in sorted(previous.items()):
                candidate = directory / relative
                if candidate in self.shown or not candidate.is_file() or candidate.is_symlink():
                    continue
                try:
                    current = candidate.read_bytes()
                except OSError as exc:
                    raise WriteError(f"cannot read {candidate}: {exc.strerror or exc}; nothing was changed") from exc
                (orphans if _digest(current) == digest else kept).append(candidate)
            if self.digests[directory] or previous:
                manifest = directory / MANIFEST
                self.shown[manifest] = manifest
                self._compare(manifest, render_manifest(self.digests[directory]).encode("utf-8"))
        return orphans, kept

    def named(self, paths: Iterable[Path], manifests: bool = True) -> list[str]:
        """Paths as the user named them, in path order (the order the transaction commits in)."""
        return [str(self.shown[p]) for p in sorted(paths) if manifests or p.name != MANIFEST]


def write_outputs(outputs: Outputs, managed_dirs: Iterable[Path] = (), check: bool = False) -> WriteReport:
    """Write every changed file and remove the stale ones, or change nothing and raise ``WriteError``.

    ``outputs`` is a mapping or a stream of (path, text) pairs; an exception the stream raises rolls back what was
    staged and propagates unchanged.
    """
    run = _Run(managed_dirs, check)
    transaction = run.transaction
    try:
        for path, content in outputs.items() if isinstance(outputs, Mapping) else outputs:
            run.add(path, content)
        orphans, kept = run.finish_plan()
        if not check:
            transaction.commit(orphans)
    except BaseException as exc:
        transaction.rollback()
        if not isinstance(exc, OSError):
            raise
        current = transaction.current or Path(exc.filename or "output")
        where = run.shown.get(current, current)
        raise WriteError(f"cannot write {where}: {exc.strerror or exc}; nothing was changed") from exc
    report = WriteReport(unchanged=run.named(run.unchanged, manifests=False), kept=[str(p) for p in kept])
    if check:
        report.stale = run.named(run.changed) + [str(p) for p in orphans]
        return report
    transaction.finish()
    report.written = run.named(run.changed, manifests=False)
    report.removed = [str(p) for p in orphans]
    return report
