"""Unit tests of app.brokers.parse_broker_spec (no broker needed)."""

from __future__ import annotations

import pytest

from app.brokers import BrokerError, BrokerSpec, parse_broker_spec


@pytest.mark.parametrize(
    ("spec", "kind"),
    [("embedded", "embedded"), ("kafka", "kafka"), ("  Kafka ", "kafka"), ("EMBEDDED", "embedded")],
)
def test_named_kinds(spec: str, kind: str) -> None:
    assert parse_broker_spec(spec) == BrokerSpec(kind=kind, bootstrap=None)


@pytest.mark.parametrize(
    ("spec", "bootstrap"),
    [
        ("127.0.0.1:9092", "127.0.0.1:9092"),
        ("localhost:19092", "localhost:19092"),
        (" broker-1.example.com:9093 ", "broker-1.example.com:9093"),
        ("kafka_1:9092", "kafka_1:9092"),
        ("[::1]:9092", "[::1]:9092"),
        ("a:1,b:2", "a:1,b:2"),
        ("a:1, b:02", "a:1,b:2"),
        ("host:65535", "host:65535"),
    ],
)
def test_host_port(spec: str, bootstrap: str) -> None:
    assert parse_broker_spec(spec) == BrokerSpec(kind="external", bootstrap=bootstrap)


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "   ",
        "tansu",
        "kafka:",
        "localhost",
        ":9092",
        "localhost:0",
        "localhost:65536",
        "localhost:-1",
        "localhost:port",
        "local host:9092",
        "tcp://localhost:9092",
        "::1:9092",
        "[::1]",
        "a:1,",
        "a:1,,b:2",
        "-bad:9092",
    ],
)
def test_invalid_specs_raise_broker_error(spec: str) -> None:
    with pytest.raises(BrokerError) as info:
        parse_broker_spec(spec)
    assert "\n" not in str(info.value)  # a one-line, human-readable message


def test_error_message_names_the_accepted_forms() -> None:
    with pytest.raises(BrokerError, match="'embedded', 'kafka' or 'host:port'"):
        parse_broker_spec("redpanda")
