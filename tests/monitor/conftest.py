"""Fixtures shared by the monitor tests."""

from tests.monitor.test_history import store  # noqa: F401 (a fixture: a store with model m)
