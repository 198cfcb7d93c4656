"""Settings: env vars override defaults, the worker sees the same values, the README lists them all."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from antifraud.runtime import Endpoints, child_env
from antifraud.settings import Settings, settings_env

README = Path(__file__).resolve().parents[2] / "README.md"


def env_name(field: str) -> str:
    return {"kafka_bootstrap": "KAFKA_BOOTSTRAP", "redis_url": "REDIS_URL"}.get(
        field, f"ANTIFRAUD_{field.upper()}"
    )


def test_defaults_mean_embedded_servers() -> None:
    settings = Settings()
    assert settings.embedded_kafka and settings.embedded_redis


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("REDIS_URL", "redis://:secret@redis:6379/0")
    monkeypatch.setenv("ANTIFRAUD_MULE_FAN_IN", "9")
    settings = Settings()
    assert settings.kafka_bootstrap == "kafka-1:9092,kafka-2:9092"
    assert settings.mule_fan_in == 9
    assert "secret" not in repr(settings)
    assert not settings.embedded_kafka and not settings.embedded_redis


def test_child_process_environment_reproduces_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    parent = Settings(mule_fan_in=7, REDIS_URL=SecretStr("redis://x:1/2"), KAFKA_BOOTSTRAP="k:1")
    for name, value in settings_env(parent).items():
        monkeypatch.setenv(name, value)
    assert Settings() == parent


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_readme_documents_every_setting(field: str) -> None:
    assert f"`{env_name(field)}`" in README.read_text(encoding="utf-8")


def test_fetch_wait_is_short_on_the_embedded_broker_and_stays_so_in_children() -> None:
    embedded = Settings()
    assert embedded.fetch_wait_ms < Settings(KAFKA_BOOTSTRAP="kafka:9092").fetch_wait_ms
    child = child_env(embedded, Endpoints("127.0.0.1:19092", "redis://127.0.0.1:16379/0"))
    assert child["KAFKA_BOOTSTRAP"] == "127.0.0.1:19092"
    assert child["ANTIFRAUD_KAFKA_FETCH_WAIT_MS"] == str(embedded.fetch_wait_ms)
    chosen = Settings(kafka_fetch_wait_ms=75)
    assert chosen.fetch_wait_ms == 75
    assert (
        child_env(chosen, Endpoints("k:1", "redis://r:1/0"))["ANTIFRAUD_KAFKA_FETCH_WAIT_MS"]
        == "75"
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ANTIFRAUD_FIRST_SEEN_IDLE_S", "0", "greater than 0"),
        ("ANTIFRAUD_CALLER_WINDOW_S", "-60", "greater than 0"),
        ("ANTIFRAUD_BATCH_MAX_EVENTS", "0", "greater than 0"),
        ("ANTIFRAUD_REDIS_RETRY_MAX_S", "0", "greater than 0"),
        ("ANTIFRAUD_SHORT_CALL_S", "-1", "greater than or equal to 0"),
        ("ANTIFRAUD_MODEL_ALERT_THRESHOLD", "1.5", "less than or equal to 1"),
    ],
)
def test_out_of_range_settings_stop_the_start_with_their_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=message) as raised:
        Settings()
    assert variable.removeprefix("ANTIFRAUD_").lower() in str(raised.value)


def test_zero_is_allowed_where_it_means_none() -> None:
    settings = Settings(label_delay_s=0, short_call_s=0, kafka_fetch_wait_ms=0)
    assert (settings.label_delay_s, settings.short_call_s, settings.fetch_wait_ms) == (0, 0, 0)
