"""Re-extract ``plugin_cases.json`` from a clone of slok/sloth-common-sli-plugins (maintenance tool, not a test).

Every ``plugins/**/plugin_test.go`` holds one table of cases (``meta``, ``labels``, ``options``, ``expQuery``,
``expErr``); this reads those Go literals as data and writes them, keyed by the plugin's ``SLIPluginID``:

    cd tests/codegen/sli_plugins/golden && python extract_go_cases.py GIT_DIR > plugin_cases.json
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

_TOKEN_RE = re.compile(r'\s+|//[^\n]*|"(?:\\.|[^"\\])*"|`[^`]*`|map\[string\]string|[A-Za-z_]\w*|[{}:,]')
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}


def _git(git_dir: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", git_dir, *args], check=True, capture_output=True, text=True).stdout


def _go_string(token: str) -> str:
    if token.startswith("`"):
        return token[1:-1].replace("\r", "")
    out, i, body = [], 0, token[1:-1]
    while i < len(body):
        if body[i] == "\\":
            out.append(_ESCAPES[body[i + 1]])  # the tables use simple escapes only; anything else is a KeyError
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def _tokens(text: str) -> list[str]:
    return [t for t in _TOKEN_RE.findall(text) if t.strip() and not t.startswith("//")]


def _table(source: str) -> list[dict[str, Any]]:
    start = source.index("tests := map[string]struct")
    body = source[source.index("}{", start) + 2 :]
    tokens, i, cases = _tokens(body), 0, []

    def take(expected: str | None = None) -> str:
        nonlocal i
        token = tokens[i]
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected!r}, got {token!r}")
        i += 1
        return token

    while tokens[i] != "}":
        case: dict[str, Any] = {"name": _go_string(take()), "meta": None, "labels": None, "options": None}
        take(":")
        take("{")
        while tokens[i] != "}":
            field = take()
            take(":")
            if tokens[i] == "map[string]string":
                take()
                take("{")
                mapping: dict[str, str] = {}
                while tokens[i] != "}":
                    key = _go_string(take())
                    take(":")
                    mapping[key] = _go_string(take())
                    if tokens[i] == ",":
                        take()
                take("}")
                case[field] = mapping
            elif tokens[i] in ("true", "false"):
                case[field] = take() == "true"
            else:
                case[field] = _go_string(take())
            if tokens[i] == ",":
                take()
        take("}")
        take(",")
        cases.append(
            {
                "name": case["name"],
                "meta": case["meta"],
                "labels": case["labels"],
                "options": case["options"],
                "error": case.get("expErr", False),
                "query": case.get("expQuery"),
            }
        )
    return cases


def main(git_dir: str) -> None:
    commit = _git(git_dir, "rev-parse", "HEAD").strip()
    files = _git(git_dir, "ls-tree", "-r", "--name-only", "HEAD", "plugins").split()
    plugins: dict[str, Any] = {}
    for test_path in sorted(f for f in files if f.endswith("/plugin_test.go")):
        directory = test_path.rsplit("/", 1)[0]
        plugin_go = _git(git_dir, "show", f"HEAD:{directory}/plugin.go")
        plugin_id = re.search(r'SLIPluginID\s*=\s*"([^"]+)"', plugin_go)
        assert plugin_id is not None, directory
        plugins[plugin_id.group(1)] = {"path": test_path, "cases": _table(_git(git_dir, "show", f"HEAD:{test_path}"))}
    json.dump({"commit": commit, "plugins": plugins}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
