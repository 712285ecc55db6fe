"""Service configuration: documented defaults, named errors, fault injection refused unless enabled."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.settings import ConfigError, Settings, settings_table


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings.from_env({})
    assert settings.kafka_bootstrap_servers == "localhost:9092"
    assert (settings.input_topic, settings.output_topic, settings.dlq_topic) == (
        "ticks.features",
        "ticks.predictions",
        "ticks.features.dlq",
    )
    assert (settings.api_port, settings.metrics_port) == (8000, 8001)
    assert settings.model_variant == "ml"
    assert settings.consumer_group == "volatility-predictor"
    assert settings.fault_injection_enabled is False
    assert Settings.from_env({}) == Settings()  # the dataclass defaults and the env defaults agree


def test_values_are_read_and_typed() -> None:
    settings = Settings.from_env(
        {
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092",
            "API_PORT": "18000",
            "MODEL_VARIANT": " Baseline ",
            "KAFKA_MAX_POLL_INTERVAL_MS": "3000",
            "CONSUMER_RATE_WINDOW_SECONDS": "5.5",
            "FAULT_INJECTION_ENABLED": "yes",
            "FAULT_ERROR_RATE": "0.5",
            "METRICS_PORT": "",  # blank means default
        }
    )
    assert settings.kafka_bootstrap_servers == "127.0.0.1:19092"
    assert settings.api_port == 18000 and settings.metrics_port == 8001
    assert settings.model_variant == "baseline"
    assert settings.kafka_max_poll_interval_ms == 3000
    assert settings.consumer_rate_window_seconds == 5.5
    assert settings.fault_injection_enabled and settings.fault_error_rate == 0.5


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"API_PORT": "eighty"}, "API_PORT"),
        ({"API_PORT": "70000"}, "API_PORT"),
        ({"MODEL_VARIANT": "gpt"}, "MODEL_VARIANT"),
        ({"CONSUMER_BATCH_SIZE": "0"}, "CONSUMER_BATCH_SIZE"),
        ({"FAULT_INJECTION_ENABLED": "maybe"}, "FAULT_INJECTION_ENABLED"),
        ({"FAULT_INJECTION_ENABLED": "1", "FAULT_ERROR_RATE": "1.5"}, "FAULT_ERROR_RATE"),
        ({"CONSUMER_SHUTDOWN_GRACE_SECONDS": "inf"}, "CONSUMER_SHUTDOWN_GRACE_SECONDS"),
        ({"CONSUMER_RATE_WINDOW_SECONDS": "nan"}, "CONSUMER_RATE_WINDOW_SECONDS"),
    ],
)
def test_bad_values_fail_naming_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(env)


@pytest.mark.parametrize("variable", ["FAULT_ERROR_RATE", "FAULT_LATENCY_SECONDS"])
def test_faults_are_refused_unless_enabled(variable: str) -> None:
    with pytest.raises(ConfigError, match="FAULT_INJECTION_ENABLED=1"):
        Settings.from_env({variable: "0.2"})
    assert Settings.from_env({variable: "0"}).fault_injection_enabled is False


def test_readme_settings_table_is_the_generated_one() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- settings-table:")
    body = readme[readme.index("\n", start) + 1 : readme.index("<!-- /settings-table -->")]
    assert body == settings_table(), "README's settings table is stale: paste `python -m services.settings`"


def test_every_setting_is_documented_with_its_default() -> None:
    table = settings_table()
    for variable, default in (("MODEL_PATH", ".work/models/ml"), ("LOG_LEVEL", "info"), ("API_PORT", "8000")):
        assert f"| `{variable}` | {default} |" in table


def test_the_environment_is_read_only_in_settings() -> None:
    """One reader: no other module of the product package touches os.environ or getenv (writing is allowed)."""
    root = Path(__file__).resolve().parents[2] / "services"
    readers = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "settings.py":
            continue
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            code = line.split("#", 1)[0]
            if "getenv" in code or ("os.environ" in code and "os.environ[" not in code):
                readers.append(f"{path.relative_to(root.parent)}:{number}: {line.strip()}")
    assert not readers, "read the environment through services.settings:\n" + "\n".join(readers)


def test_topic_partitions_default_and_override() -> None:
    assert Settings.from_env({}).topic_partitions == 6
    assert Settings.from_env({"KAFKA_TOPIC_PARTITIONS": "12"}).topic_partitions == 12
    with pytest.raises(ConfigError, match="KAFKA_TOPIC_PARTITIONS"):
        Settings.from_env({"KAFKA_TOPIC_PARTITIONS": "0"})


def test_compose_creates_the_topics_with_the_default_partition_count() -> None:
    """docker-compose.yml cannot import services.settings: its fallback must be the same number."""
    from pathlib import Path

    compose = (Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text()
    assert f'--partitions "${{KAFKA_TOPIC_PARTITIONS:-{Settings().topic_partitions}}}"' in compose
