"""MkDocs hook: publish the repository's README.md as the site page ``readme.md``, without a copy in docs/.

MkDocs reads only ``docs_dir``; a copied file would drift from the README. Links that are relative to the
repository root are rewritten: ``docs/x.md`` becomes ``x.md`` (a page of this site), anything else outside
``docs/`` becomes a link to the file on GitHub, so ``mkdocs build --strict`` does not see broken links.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

REPO_BLOB = "https://github.com/volatility-slo/volatility-slo/blob/main/"
_LINK = re.compile(r"(\]\()([^)\s]+)(\))")


def _rewrite(target: str) -> str:
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
        return target
    if target.startswith("docs/"):
        return target[len("docs/") :]
    return REPO_BLOB + target.removeprefix("./")


def readme_markdown(text: str) -> str:
    """README text with repository-relative links pointed at site pages or GitHub."""
    return _LINK.sub(lambda m: m.group(1) + _rewrite(m.group(2)) + m.group(3), text)


def on_files(files: Files, config: Any) -> Files:
    readme = Path(config["config_file_path"]).parent / "README.md"
    if readme.is_file() and files.get_file_from_path("readme.md") is None:
        content = readme_markdown(readme.read_text(encoding="utf-8"))
        files.append(File.generated(config, "readme.md", content=content))
    return files
