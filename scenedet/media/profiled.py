"""The media side's stages for :mod:`scenedet.profiling`: pulling packets, decoding, converting.

Two helpers for decode loops that are not hot enough to inline the test: :func:`packets` times
pulling each packet from a demuxer as the ``demux`` stage, :func:`call` times one call as any
stage. When the profile is off each costs one attribute test (and, for :func:`packets`, one
generator step) per packet: nothing measurable next to decoding it. The video decode loop of
:mod:`scenedet.media.videoframes` inlines the same tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from time import perf_counter
from typing import TypeVar

from scenedet.profiling import PROFILE

T = TypeVar("T")


def packets(source: Iterable[T], stage: str = "demux") -> Iterator[T]:
    """``source``'s items; the time spent getting each is added to ``stage`` when profiling."""
    it = iter(source)
    while True:
        if PROFILE.enabled:
            began = perf_counter()
            item = next(it, None)
            PROFILE.add(stage, perf_counter() - began)
        else:
            item = next(it, None)
        if item is None:
            return
        yield item


def call(stage: str, fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)``, its time added to ``stage`` when profiling."""
    if not PROFILE.enabled:
        return fn(*args)
    began = perf_counter()
    try:
        return fn(*args)
    finally:
        PROFILE.add(stage, perf_counter() - began)
