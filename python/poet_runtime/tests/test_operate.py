"""Operate never runs two attempts of one call at once, under every timeout and retry setting."""

import asyncio
import itertools
import threading
import time

import pytest

from poet_runtime import PoetTimeoutError, poet

TIMEOUTS = (0, 0.05, 0.15)
RETRIES = (0, 1, 3)
SLOW_S = 0.25


class Concurrency:
    """Counts the body's executions: how many at once at most, and how many in all."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.starts = 0

    def enter(self):
        with self.lock:
            self.running += 1
            self.starts += 1
            self.most = max(self.most, self.running)

    def leave(self):
        with self.lock:
            self.running -= 1

    def settle(self, deadline_s=5):
        """Waits for abandoned attempts to end: they count until they do."""
        end = time.monotonic() + deadline_s
        while self.running and time.monotonic() < end:
            time.sleep(0.01)
        assert self.running == 0


def params(timeout, retries):
    return {"timeout": timeout, "retries": retries, "backoff_base": 0.01, "backoff_max": 0.02}


def overrun_s(timeout):
    """How long a slow body runs: past a timeout by a margin a loaded machine's scheduling cannot eat."""
    return timeout + 0.5 if timeout else SLOW_S


def sync_bodies(counter, slow_s=SLOW_S):
    def slow():
        counter.enter()
        try:
            time.sleep(slow_s)
            return "done"
        finally:
            counter.leave()

    def flaky():
        counter.enter()
        try:
            time.sleep(0.02)
            raise ConnectionError("reset")
        finally:
            counter.leave()

    def slow_then_timeout():
        counter.enter()
        try:
            time.sleep(slow_s)
            raise TimeoutError("upstream")
        finally:
            counter.leave()

    return [slow, flaky, slow_then_timeout]


@pytest.mark.parametrize("timeout,retries", list(itertools.product(TIMEOUTS, RETRIES)))
def test_sync_attempts_never_overlap(timeout, retries):
    for index in range(3):
        counter = Concurrency()
        body = sync_bodies(counter, overrun_s(timeout))[index]
        wrapped = poet(params(timeout, retries))(body)
        try:
            wrapped()
        except (ConnectionError, TimeoutError):
            pass
        counter.settle()
        assert counter.most == 1, (body.__name__, counter.most)
        assert 1 <= counter.starts <= retries + 1
        if timeout and body.__name__ != "flaky":
            # The attempt overran: abandoned, never retried while it may still run.
            assert counter.starts == 1
            assert wrapped.poet_stats["overruns"] == 1


def async_bodies(counter):
    async def slow():
        counter.enter()
        try:
            await asyncio.sleep(SLOW_S)
            return "done"
        finally:
            counter.leave()

    async def stubborn():
        """Catches the first cancellation and goes on: the wrapper must wait for it, or give up, not retry."""
        counter.enter()
        try:
            try:
                await asyncio.sleep(SLOW_S)
            except asyncio.CancelledError:
                await asyncio.sleep(SLOW_S)
            return "done"
        finally:
            counter.leave()

    async def flaky():
        counter.enter()
        try:
            await asyncio.sleep(0.02)
            raise ConnectionError("reset")
        finally:
            counter.leave()

    return [slow, stubborn, flaky]


@pytest.mark.parametrize("timeout,retries", list(itertools.product(TIMEOUTS, RETRIES)))
def test_async_attempts_never_overlap(timeout, retries):
    for index in range(3):
        counter = Concurrency()
        body = async_bodies(counter)[index]
        wrapped = poet(params(timeout, retries))(body)

        async def call():
            try:
                return await wrapped()
            except (ConnectionError, TimeoutError):
                return None

        asyncio.run(call())
        counter.settle()
        assert counter.most == 1, (body.__name__, counter.most)
        assert 1 <= counter.starts <= retries + 1


def test_async_timeout_cancels_then_retries():
    counter = Concurrency()
    cancelled = []

    async def slow():
        counter.enter()
        try:
            await asyncio.sleep(SLOW_S)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        finally:
            counter.leave()

    wrapped = poet(params(0.05, 2))(slow)
    with pytest.raises(PoetTimeoutError, match=r"slow\(\) did not finish within the POET timeout of 0.05s"):
        asyncio.run(wrapped())
    assert (counter.starts, counter.most, len(cancelled)) == (3, 1, 3)
    assert wrapped.poet_stats["retries"] == 2


def test_an_async_body_that_finishes_as_it_is_cancelled_keeps_its_result():
    """Its effects happened: answering its result beats running it again."""
    calls = []

    async def late():
        calls.append(1)
        try:
            await asyncio.sleep(0.1)
        except asyncio.CancelledError:
            return "finished anyway"
        return "on time"

    wrapped = poet(params(0.05, 3))(late)
    assert asyncio.run(wrapped()) == "finished anyway"
    assert len(calls) == 1


def test_sync_overrun_is_reported_as_a_timeout_that_still_runs():
    release = threading.Event()

    def stuck():
        release.wait(5)

    wrapped = poet(params(0.05, 3))(stuck)
    with pytest.raises(PoetTimeoutError) as caught:
        wrapped()
    release.set()
    assert caught.value.still_running is True
    assert isinstance(caught.value, TimeoutError)
    assert wrapped.poet_stats["retries"] == 0


def test_retries_a_transient_error_the_body_raised():
    calls = []

    def fetch():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("reset")
        return "ok"

    wrapped = poet(params(0.5, 3))(fetch)
    assert wrapped() == "ok"
    assert len(calls) == 3
    assert wrapped.poet_stats["retries"] == 2
