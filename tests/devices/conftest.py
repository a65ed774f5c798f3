"""Fixtures for driver and simulator tests: real sockets and pseudo-terminals, no mocks."""
import asyncio
import logging
import shutil

import pytest

from devices.transport import BusPool, Policy


@pytest.fixture(autouse=True)
def quiet_pymodbus():
    # pymodbus logs each timeout with a frame dump; tests that provoke timeouts would drown in it.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


def _need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not installed: apt-get install {binary} (the interoperability tests need it)")
    return path


@pytest.fixture
def mbpoll() -> str:
    """mbpoll's path; missing, the test fails rather than skips."""
    return _need("mbpoll")


@pytest.fixture
def socat() -> str:
    return _need("socat")


@pytest.fixture
def drive():
    """drive(operation, policy=...): run `await operation(pool)` in a fresh loop with its own BusPool."""
    # Generous: a simulated rig on a loaded machine may take seconds to answer. Tests that expect
    # silence pass a short policy of their own.
    def run(operation, policy: Policy = Policy(timeout_s=5, retries=6)):
        async def main():
            async with BusPool(policy) as pool:
                return await operation(pool)
        return asyncio.run(main())
    return run
