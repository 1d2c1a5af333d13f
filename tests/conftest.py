"""Shared test configuration: the real-broker fixture (see tests/broker_fixture.py)."""

pytest_plugins = ["tests.broker_fixture"]
