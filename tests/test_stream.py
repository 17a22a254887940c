"""The producer thread between decoding and inference."""

import threading
import time

import pytest

from scenedet.inference.stream import prefetch


def test_prefetch_yields_everything_in_order():
    assert list(prefetch(lambda: iter(range(100)), maxsize=3)) == list(range(100))


def test_producer_runs_at_most_maxsize_ahead():
    produced = []

    def produce():
        for i in range(50):
            produced.append(i)
            yield i

    it = prefetch(produce, maxsize=2)
    assert next(it) == 0
    time.sleep(0.3)  # give the producer every chance to run ahead
    # one handed out, two queued, one blocked in put(): never the whole film
    assert len(produced) <= 4
    it.close()


def test_producer_exception_reaches_the_consumer():
    def produce():
        yield 1
        raise ValueError("decoder broke")

    it = prefetch(produce)
    assert next(it) == 1
    with pytest.raises(ValueError, match="decoder broke"):
        next(it)


def test_consumer_stopping_early_stops_the_producer():
    stopped = threading.Event()

    def produce():
        try:
            for i in range(10_000):
                yield i
        finally:
            stopped.set()

    for item in prefetch(produce, maxsize=1):
        if item == 3:
            break
    assert stopped.wait(2.0)
