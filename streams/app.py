"""The Faust application: settings from `antifraud.settings`, nothing else decided here."""

from __future__ import annotations

import faust

from antifraud.kafka_security import ssl_context
from antifraud.settings import get_settings

settings = get_settings()
if settings.kafka_bootstrap is None:
    raise SystemExit(
        "KAFKA_BOOTSTRAP is not set: start the worker with `antifraud up` (which starts the "
        "embedded broker and sets it) or point it at a Kafka cluster."
    )


def _credentials() -> faust.types.auth.CredentialsT | None:
    """TLS / SASL for a production cluster; none for the embedded broker."""
    context = ssl_context(settings)
    if settings.kafka_security_protocol.startswith("SASL"):
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    return faust.SSLCredentials(context) if context is not None else None


app = faust.App(
    settings.app_id,
    # antifraud-kafka: Faust's aiokafka transport with our fetch wait (streams/kafka.py)
    broker=[f"antifraud-kafka://{server}" for server in settings.kafka_bootstrap.split(",")],
    broker_credentials=_credentials(),
    autodiscover=False,
    datadir=str(settings.data_dir / "faust"),
    processing_guarantee=settings.processing_guarantee,
    topic_partitions=settings.input_partitions,
    topic_allow_declare=False,  # `antifraud up` / deploy create topics with their settings
    topic_disable_leader=False,
    broker_session_timeout=settings.broker_session_timeout_s,
    broker_heartbeat_interval=max(settings.broker_session_timeout_s / 6.0, 0.5),
    consumer_auto_offset_reset="earliest",
    web_enabled=True,
    web_bind=settings.host,
    web_host=settings.host,
    web_port=settings.worker_web_port,
    web_tables_enabled=False,
    web_router_enabled=False,
    web_graph_enabled=False,
    key_serializer="raw",
    value_serializer="raw",
)
