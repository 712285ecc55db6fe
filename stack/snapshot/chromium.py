"""Headless Chromium screenshots of the rendered page, as compact PNGs."""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from pathlib import Path


class SnapshotError(RuntimeError):
    """Chromium is missing or failed to produce the image."""


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SnapshotError("chromium not found: install Debian's 'chromium' package (`make install-browser` as root)")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    header = path.read_bytes()[:24]
    if len(header) < 24 or header[:8] != b"\x89PNG\r\n\x1a\n" or header[12:16] != b"IHDR":
        raise SnapshotError(f"{path} is not a PNG")
    width, height = struct.unpack(">II", header[16:24])
    return int(width), int(height)


def screenshot(html_text: str, png_path: Path, width: int, height: int, timeout: float = 90.0) -> Path:
    """Render `html_text` with headless Chromium into a `width` x `height` PNG."""
    png_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="snapshot-") as tmp:
        page = Path(tmp) / "dashboard.html"
        page.write_text(html_text, encoding="utf-8")
        target = Path(tmp) / "shot.png"
        argv = [
            find_chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-extensions",
            "--no-first-run",
            "--hide-scrollbars",
            "--mute-audio",
            "--force-device-scale-factor=1",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--window-size={width},{height}",
            f"--screenshot={target}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False, start_new_session=True)
        except subprocess.TimeoutExpired as exc:
            raise SnapshotError(f"chromium did not finish within {timeout}s") from exc
        if done.returncode != 0 or not target.exists():
            tail = done.stderr.decode(errors="replace")[-2000:]
            raise SnapshotError(f"chromium failed (exit {done.returncode}):\n{tail}")
        _compact_png(target, png_path)
    return png_path


def _compact_png(source: Path, destination: Path) -> None:
    """A 256-colour palette PNG when Pillow is importable (a dashboard is flat colours and text: it looks the
    same at a third of the size, so the README images stay small); the screenshot as is otherwise."""
    try:
        from PIL import Image
    except ImportError:
        shutil.move(str(source), destination)
        return
    with Image.open(source) as image:
        palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        palette.save(destination, optimize=True)
