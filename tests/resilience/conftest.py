"""Fixtures of the fault drills: an own PostgreSQL cluster and an own Redis per test (see procs.py), so a drill
may restart, stop or pause them without disturbing the shared per-worker services."""

from __future__ import annotations

import pytest

from tests.resilience.procs import OwnCluster, OwnRedis


def pytest_addoption(parser):
    parser.addoption("--soak-seconds", type=float, default=None,
                     help="how long tests/resilience/test_soak.py runs (default: POLYFLOW_SOAK_SECONDS or 40)")


@pytest.fixture
def own_cluster():
    """A PostgreSQL cluster for this test alone (it may be restarted, stopped, have backends killed)."""
    cluster = OwnCluster().start()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def own_redis():
    """A redis-server for this test alone (it may be paused with SIGSTOP and resumed)."""
    server = OwnRedis().start()
    try:
        yield server
    finally:
        server.remove()
