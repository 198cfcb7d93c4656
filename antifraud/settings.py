"""The one settings object: the only place that reads environment variables.

Every knob has an env var (prefix `ANTIFRAUD_`, except the two well-known `KAFKA_BOOTSTRAP` and
`REDIS_URL`) and a default that works on a laptop. Unset `KAFKA_BOOTSTRAP` / `REDIS_URL` mean
"start the embedded broker / Redis".
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import (
    AliasChoices,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_FETCH_WAIT_MS = 20
KAFKA_FETCH_WAIT_MS = 500

# Every value is range-checked when a command starts, so one out of range stops the start with
# the setting's name, not a crash mid-stream: windows, TTLs and sizes are positive (a zero window
# divides by zero or keeps nothing), thresholds and risks are probabilities.
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANTIFRAUD_", frozen=True, extra="ignore")

    # --- where things run -------------------------------------------------------------------
    kafka_bootstrap: str | None = Field(
        default=None, validation_alias=AliasChoices("KAFKA_BOOTSTRAP", "ANTIFRAUD_KAFKA_BOOTSTRAP")
    )
    redis_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "ANTIFRAUD_REDIS_URL")
    )
    kafka_security_protocol: str = "PLAINTEXT"  # PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"  # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None  # CA bundle that signed the brokers' certificates
    data_dir: Path = Path(".antifraud")
    embedded_kafka_port: int = 19092
    embedded_redis_port: int = 16379
    worker_web_port: int = 6066
    desk_port: int = 8000
    host: str = "127.0.0.1"
    app_id: str = "antifraud"
    redis_prefix: str = "af:"
    processing_guarantee: str = "at_least_once"
    log_level: str = "info"

    # --- topics ------------------------------------------------------------------------------
    input_partitions: PositiveInt = 4
    output_partitions: PositiveInt = 4
    embedded_retention_ms: PositiveInt = 2 * 3600 * 1000  # Tansu keeps everything in memory
    broker_session_timeout_s: PositiveFloat = 6.0  # Tansu group joins take half of it
    # None: 20 on the embedded broker, 500 on Kafka
    kafka_fetch_wait_ms: NonNegativeInt | None = None
    # True: aiokafka's consumer in a thread of its own, as Faust has it (streams/kafka.py)
    kafka_consumer_thread: bool = False

    # --- batching ------------------------------------------------------------------------------
    batch_max_events: PositiveInt = 500  # most messages the worker takes at once
    # input bytes per scored batch (arrays hold many records)
    batch_max_bytes: PositiveInt = 256 * 1024
    redis_retry_max_s: PositiveFloat = 5.0

    # --- features and joins (seconds) ---------------------------------------------------------
    caller_window_s: PositiveInt = 24 * 3600
    contact_lookback_s: PositiveInt = 72 * 3600
    transfer_lookback_s: PositiveInt = 24 * 3600
    fan_in_window_s: PositiveInt = 24 * 3600
    payee_history_s: PositiveInt = 180 * 24 * 3600
    # callers idle for half of it to all of it are forgotten
    first_seen_idle_s: PositiveInt = 180 * 24 * 3600
    new_payee_window_s: PositiveInt = 7 * 24 * 3600  # first paid within this: still a "new" payee
    idempotency_ttl_s: PositiveInt = 7 * 24 * 3600

    # --- rules and decisions -------------------------------------------------------------------
    short_call_s: NonNegativeInt = 30
    meaningful_call_s: NonNegativeInt = 60
    long_call_s: NonNegativeInt = 600
    risky_caller_threshold: Probability = 0.5
    model_alert_threshold: Probability = 0.7
    mule_fan_in: PositiveInt = 5
    # 500.00 CNY: below this only a blocklisted payee raises requests
    min_request_amount_fen: NonNegativeInt = 50_000
    p1_risk: Probability = 0.8
    p2_risk: Probability = 0.6

    # --- deadlines (seconds) ------------------------------------------------------------------
    sla_p1_s: PositiveInt = 3 * 60
    sla_p2_s: PositiveInt = 15 * 60
    sla_p3_s: PositiveInt = 60 * 60
    sla_request_s: PositiveInt = 5 * 60

    # --- console ---------------------------------------------------------------------------------
    desk_claim_stale_s: PositiveInt = 300  # a claim not worked for this long returns to the queue
    desk_session_idle_s: PositiveInt = 900
    desk_visit_sla_s: PositiveInt = 3600
    desk_cookie_secure: bool | None = None  # None: Secure unless the console is on loopback
    desk_demo: bool = False  # seed one demo user per role (never in production)

    # --- models (trained-models issue): registry, hot swap, label-derived features ----------
    models_dir: Path | None = None  # None: the repository's `models/` beside the package
    model_refresh_s: PositiveFloat = 5.0  # how often a worker checks which model version is active
    label_delay_s: NonNegativeInt = 7 * 24 * 3600  # label-derived features only use older transfers
    # the number-risk prior from which NUMBER_RISK_PRIOR fires
    number_prior_threshold: Probability = 0.8

    @property
    def embedded_kafka(self) -> bool:
        return self.kafka_bootstrap is None

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def fetch_wait_ms(self) -> int:
        """How long a consumer's fetch may wait for data.

        Kafka answers a waiting fetch as soon as data arrives, so the wait only bounds idle
        polling; the embedded broker answers only when the wait runs out, so there it is latency.
        Resolve it before pointing a child at the embedded broker's address (`runtime.child_env`).
        """
        if self.kafka_fetch_wait_ms is not None:
            return self.kafka_fetch_wait_ms
        return EMBEDDED_FETCH_WAIT_MS if self.embedded_kafka else KAFKA_FETCH_WAIT_MS


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process (the worker) see exactly these settings."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"ANTIFRAUD_{name.upper()}"] = str(value)
    if settings.kafka_bootstrap is not None:
        env["KAFKA_BOOTSTRAP"] = settings.kafka_bootstrap
    if settings.redis_url is not None:
        env["REDIS_URL"] = settings.redis_url.get_secret_value()
    return env


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
