"""NDJSON capture files: one raw WebSocket message per line, as received (or as simulated).

A capture is the unit of replay: features recomputed from it must equal the ones streamed live, so the writer
stores messages verbatim and the reader hands them back unchanged and in order.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast


class ReplayError(ValueError):
    """A capture line that is not a JSON object; the message names file and line."""


def _open(path: Path, mode: str) -> IO[str]:
    if path.suffix == ".gz":
        return cast(IO[str], gzip.open(path, mode + "t", encoding="utf-8"))
    return open(path, mode, encoding="utf-8")


def write_ndjson(path: str | os.PathLike[str], messages: Iterable[dict[str, Any]]) -> int:
    """Write messages one per line (compact JSON; `.gz` compresses); return how many were written."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with _open(target, "w") as handle:
        for message in messages:
            handle.write(json.dumps(message, separators=(",", ":")))
            handle.write("\n")
            count += 1
    return count


def replay(path: str | os.PathLike[str], *, skip_bad: bool = False) -> Iterator[dict[str, Any]]:
    """Messages of a capture, in file order. Blank lines are skipped; a bad line raises ReplayError
    (file:line) unless `skip_bad`, so a truncated last line of a live capture need not stop a replay."""
    source = Path(path)
    with _open(source, "r") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError as exc:
                if skip_bad:
                    continue
                raise ReplayError(f"{source}:{number}: not JSON ({exc})") from exc
            if not isinstance(message, dict):
                if skip_bad:
                    continue
                raise ReplayError(f"{source}:{number}: expected a JSON object, got {type(message).__name__}")
            yield message
