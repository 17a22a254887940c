"""How far apart a film's keyframes are, and so which decode strategy reaches its seconds cheaply.

:func:`scan_video` demuxes (without decoding) the first packets of the video stream and decodes
its first frame (proof that the file decodes, and its orientation); :func:`keyframe_interval`
prefers the container's index when it lists keyframes. :func:`choose_strategy` turns the spacing
into "seek" or "sequential" (see :mod:`scenedet.media.seconds.decode`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import attrs

from scenedet.media.orientation import Orientation, frame_orientation

if TYPE_CHECKING:
    import av
    import av.container
    import av.stream

Strategy = Literal["seek", "sequential"]

#: "auto" seeks when keyframes are at most this far apart (seconds). ``benchmarks/decode.py``
#: (720p, 2 shared cores): seek is 1.9x faster than sequential with 1 s GOPs, 1.4x at 1.25 s,
#: 1.5x at 2 s, 0.84x at 10 s (and naive seeking 0.2x). Seeking decodes single-threaded (x264
#: writes one slice per frame, so slice threads have nothing to split) while sequential frame
#: threads scale with cores, so on bigger machines the break-even moves towards shorter GOPs;
#: about a second is where seeking wins on any machine, since a second then costs a few frames.
SEEK_MAX_KEYFRAME_INTERVAL = 1.05

#: How much of the video stream :func:`scenedet.media.probe.probe` demuxes (not decodes) to
#: estimate keyframe spacing when the container index does not list keyframes (MKV before its
#: cues are read, MPEG-TS).
_SCAN_PACKETS = 720
_SCAN_SECONDS = 30.0


def choose_strategy(keyframe_interval: float | None) -> Strategy:
    """Seek when keyframes are dense (cheap to reach any second), else decode straight through.

    Unknown spacing means sequential: its cost is bounded (one pass), a wrong "seek" is not.
    """
    if keyframe_interval is not None and keyframe_interval <= SEEK_MAX_KEYFRAME_INTERVAL:
        return "seek"
    return "sequential"


@attrs.define
class Scan:
    """What demuxing the first packets of the video stream told us."""

    keyframes: list[int] = attrs.Factory(list)
    max_end: int | None = None
    scanned: float = 0.0
    first_frame_orientation: Orientation | None = None
    #: pts of the first frame the decoder handed out (None: it had none): film time 0
    first_frame_pts: int | None = None
    reached_eof: bool = False


def scan_video(container: av.container.InputContainer, video: av.stream.Stream) -> Scan:
    """Decode the first frame and demux up to ~30 s of video packets (keyframe flags, last pts)."""
    from av.stream import Discard

    scan = Scan()
    tb = video.time_base
    first_ts: int | None = None
    for stream in container.streams:
        if stream.index != video.index:
            stream.discard = Discard.all
    n_packets = 0
    for packet in container.demux(video):
        if packet.size == 0:  # PyAV's flush packet at the end
            if scan.first_frame_orientation is None:
                _first_frame(packet, scan)
            scan.reached_eof = True
            break
        ts = packet.pts if packet.pts is not None else packet.dts
        if ts is not None:
            first_ts = ts if first_ts is None else min(first_ts, ts)
            end = ts + (packet.duration or 0)
            scan.max_end = end if scan.max_end is None else max(scan.max_end, end)
            if packet.is_keyframe:
                scan.keyframes.append(ts)
            scan.scanned = float((scan.max_end - first_ts) * tb)
        if scan.first_frame_orientation is None:
            _first_frame(packet, scan)
        n_packets += 1
        if scan.first_frame_orientation is not None and (
                len(scan.keyframes) >= 3 or n_packets >= _SCAN_PACKETS
                or scan.scanned >= _SCAN_SECONDS):
            break
    return scan


def _first_frame(packet: av.Packet, scan: Scan) -> None:
    """The orientation and timestamp of the first frame ``packet`` decodes to, into ``scan``;
    nothing if it decodes to none, or is damaged (the decoder skips it, as
    :mod:`scenedet.media.seconds.decode` does)."""
    import av

    try:
        for frame in packet.decode():
            scan.first_frame_orientation = frame_orientation(frame)  # type: ignore[arg-type]
            scan.first_frame_pts = frame.pts
            return
    except av.FFmpegError:
        return


def keyframe_interval(video: av.stream.Stream, scan: Scan) -> float | None:
    """Mean keyframe spacing (s): from the index when it lists keyframes, else from the scan.

    A scan that saw a single keyframe in ``scanned`` seconds returns that span as a lower bound,
    which is all "auto" needs (it only asks whether keyframes are about a second apart).
    """
    tb = video.time_base
    try:
        entries = video.index_entries  # type: ignore[attr-defined]
        keys = [e.timestamp for e in entries if e.is_keyframe] if len(entries) > 2 else []
    except (AttributeError, TypeError):  # older PyAV
        keys = []
    if len(keys) >= 3:  # an index of keyframes only (MKV cues) can only overestimate: safe
        return float((max(keys) - min(keys)) * tb) / (len(keys) - 1)
    kf = sorted(set(scan.keyframes))
    if len(kf) >= 2:
        return float((kf[-1] - kf[0]) * tb) / (len(kf) - 1)
    if scan.reached_eof:
        return None if scan.scanned <= 0 else scan.scanned
    return scan.scanned if scan.scanned >= 2.0 else None

