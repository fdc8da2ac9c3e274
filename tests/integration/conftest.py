import atexit

import pytest

import harness


@pytest.fixture(scope="session", autouse=True)
def libvirtd():
    started = harness.ensure_libvirtd()
    harness.ensure_default_network()
    if started:
        atexit.register(harness.stop_libvirtd)
    yield


@pytest.fixture
def stack():
    with harness.Stack() as s:
        yield s
