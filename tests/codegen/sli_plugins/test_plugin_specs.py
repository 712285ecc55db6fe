"""sloth-common-sli-plugins' own integration specs (and one for the two plugins it has none for): every SLO
validates as ``sloth validate -p ./plugins`` does, its SLI is the plugin's query, and promtool accepts the rules
in both modes, so every common plugin's output is checked by Prometheus' own parser."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from codegen.conventions import render_window
from codegen.model import CompileOptions, RawSLI
from codegen.parse import load_specs
from codegen.sli_plugins import BUILTIN_SLI_PLUGINS
from tests.codegen import sloth_semantic

HERE = Path(__file__).parent
SPECS = sorted((HERE / "golden" / "integration").glob("*.yml")) + sorted((HERE / "specs").glob("*.yml"))
PROMTOOL = shutil.which("promtool")


def test_every_common_plugin_is_used() -> None:
    used = {slo["sli"]["plugin"]["id"] for path in SPECS for slo in yaml.safe_load(path.read_text())["slos"]}
    assert used == set(BUILTIN_SLI_PLUGINS)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_slis_are_the_plugins_queries(path: Path) -> None:
    raw = yaml.safe_load(path.read_text())
    specs = load_specs(str(path), CompileOptions(sloth_compat=True))
    assert [s.name for s in specs.slos] == [s["name"] for s in raw["slos"]]
    groups = {g["name"]: g for g in sloth_semantic.groups(sloth_semantic.generate(path))}
    for slo in specs.slos:
        assert isinstance(slo.sli, RawSLI)
        rate5m = groups[f"sloth-slo-sli-recordings-{slo.id}"]["rules"][0]
        assert rate5m["name"] == "slo:sli_error:ratio_rate5m"
        assert rate5m["expr"] == "".join(f"({render_window(slo.sli.error_ratio_query, '5m')})".split())


def test_yaml_numbers_and_booleans_reach_the_plugins_as_sloth_passes_them() -> None:
    integration = HERE / "golden" / "integration"
    coredns = load_specs(str(integration / "coredns-latency.yml")).slos[0].sli
    assert isinstance(coredns, RawSLI) and 'le="0.004"' in coredns.error_ratio_query  # bucket: 0.004
    istio = load_specs(str(integration / "istio-v1-latency.yml")).slos[2].sli
    assert isinstance(istio, RawSLI) and 'code!~"5.."' in istio.error_ratio_query  # exclude_errors: true


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: `make test` installs Debian's prometheus")
def test_promtool_accepts_every_plugin_in_both_modes(tmp_path: Path) -> None:
    files = []
    for compat in (True, False):
        for path in SPECS:
            out = tmp_path / f"{'compat' if compat else 'default'}-{path.name}"
            out.write_text(sloth_semantic.generate(path, sloth_compat=compat))
            files.append(str(out))
    assert PROMTOOL is not None
    result = subprocess.run([PROMTOOL, "check", "rules", *files], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(files)
