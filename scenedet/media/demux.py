"""Packets of the streams a decode reads: one demux pass shared by video and audio, or a reader of
a stream's own.

Sequential decoding reads video and audio from one pass over the file (:class:`SharedDemux`),
each consumer at its own pace; the lagging stream's packets are stashed, compressed, up to
:data:`STASH_LIMIT` bytes, after which that stream gets a demuxer of its own
(:func:`own_packets`). The "seek" strategy gives its audio a reader of its own from the start.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from scenedet.media.probe import open_input

if TYPE_CHECKING:
    import av
    import av.container
    import av.stream

#: Compressed packets of one stream held while the other stream is read (bytes). A badly
#: interleaved file (all audio at the end) would otherwise hold the whole film in memory.
STASH_LIMIT = 32 * 1024 * 1024


def discard_others(container: av.container.InputContainer, wanted: list[av.stream.Stream]) -> None:
    """Tell the demuxer to skip streams nobody reads (MP4 then does not even read their bytes)."""
    from av.stream import Discard

    keep = {s.index for s in wanted}
    for stream in container.streams:
        if stream.index not in keep:
            stream.discard = Discard.all


def seek_stream(container: av.container.InputContainer, stream: av.stream.Stream,
                when: Fraction) -> None:
    """Seek ``stream`` to the keyframe at or before ``when`` (seconds of stream time)."""
    container.seek(max(0, math.floor(when / stream.time_base)), stream=stream, backward=True)


class SharedDemux:
    """One pass over a container, read by one consumer per stream, each at its own pace.

    A consumer that pulls past packets of the other stream stashes them (compressed: ~1 s of
    interleaving is typically kilobytes of audio or a megabyte of video). If the stash passes
    :data:`STASH_LIMIT` (a file with its audio far from its video), that stream is detached: its
    consumer gets a demuxer of its own on the same file, resuming after the last packet it got,
    and this pass drops its packets from then on. Memory stays bounded either way.
    """

    def __init__(self, path: Path, container: av.container.InputContainer,
                 streams: list[av.stream.Stream], origin: Fraction, seek_time: float | None) -> None:
        self._path = path
        self._demux = container.demux(*streams) if streams else iter(())
        self._stash: dict[int, deque[av.Packet]] = {s.index: deque() for s in streams}
        self._stashed = 0
        self.peak_stashed = 0  # bytes, for tests and curiosity
        self._last_dts: dict[int, int | None] = {s.index: None for s in streams}
        self._own: dict[int, Iterator[av.Packet]] = {}
        self._origin = origin
        self._seek_time = seek_time

    @property
    def detached(self) -> frozenset[int]:
        return frozenset(self._own)

    def packets(self, stream: av.stream.Stream) -> Iterator[av.Packet]:
        index = stream.index
        while True:
            own = self._own.get(index)
            if own is not None:
                yield from own
                return
            stash = self._stash[index]
            if stash:
                packet = stash.popleft()
                self._stashed -= packet.size
            else:
                packet = next(self._demux, None)
                if packet is None:
                    return
                if packet.stream.index != index:
                    self._keep(packet)
                    continue
            if packet.dts is not None:
                self._last_dts[index] = packet.dts
            yield packet

    def _keep(self, packet: av.Packet) -> None:
        index = packet.stream.index
        if index in self._own:
            return
        self._stash[index].append(packet)
        self._stashed += packet.size
        self.peak_stashed = max(self.peak_stashed, self._stashed)
        if self._stashed > STASH_LIMIT:
            self._detach(index)

    def _detach(self, index: int) -> None:
        stash = self._stash[index]
        self._stashed -= sum(p.size for p in stash)
        stash.clear()
        self._own[index] = own_packets(self._path, index, self._origin, self._seek_time,
                                        self._last_dts[index])

    def close(self) -> None:
        for own in self._own.values():
            close = getattr(own, "close", None)
            if close is not None:
                close()


def own_packets(path: Path, index: int, origin: Fraction, seek_time: float | None,
                after_dts: int | None) -> Iterator[av.Packet]:
    """Packets of one stream from a demuxer of its own, after decode time ``after_dts``."""
    container = open_input(path)
    try:
        stream = container.streams[index]
        discard_others(container, [stream])
        if seek_time is not None:
            seek_stream(container, stream, origin + Fraction(seek_time))
        for packet in container.demux(stream):
            if after_dts is not None and packet.dts is not None and packet.dts <= after_dts:
                continue
            yield packet
    finally:
        container.close()
