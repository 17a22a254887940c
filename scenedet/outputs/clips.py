"""Each scene as its own file: by stream copy (instant, no quality loss) or re-encoded (frame-exact).

**Stream copy** (:func:`copy_clip`) copies the compressed packets with PyAV, no decoding. A clip
must start on a keyframe, so it starts at the keyframe at or before the scene's start; the returned
:class:`Clip` says by how much (``snapped_by``, seconds, at most one GOP). Video packets are kept
up to the scene's end in decode order (with B-frames a frame or two past the end, whose references
need them); audio packets from the clip's start to the scene's end. Timestamps are shifted so the
clip starts at 0, audio and video by the same amount, so they stay in sync.

**Exact** (:func:`encode_clip`) decodes from that keyframe and re-encodes (H.264 + AAC, upright)
only the frames and samples inside ``[start, end)``: frame-exact cuts, at the cost of decoding
and encoding the scene.

Both write through :mod:`scenedet.files` (a temporary file renamed at the end), so an interrupted
clip never leaves a partial file behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import attrs
import numpy as np

from scenedet import files
from scenedet.errors import MediaError


@attrs.frozen
class Clip:
    """A written clip: ``start``/``end`` in film seconds of what it holds."""

    path: Path
    scene_start: float
    scene_end: float
    start: float
    end: float
    exact: bool

    @property
    def snapped_by(self) -> float:
        """How much earlier than the scene the clip starts (0 for exact clips)."""
        return max(0.0, self.scene_start - self.start)

    def to_dict(self) -> dict[str, object]:
        return {"path": os.fspath(self.path), "start": round(self.start, 6),
                "end": round(self.end, 6), "snapped_by": round(self.snapped_by, 6),
                "exact": self.exact}


def _origin(inp, stream) -> Fraction:
    """Film time 0 in stream seconds: the first frame shown (:func:`scenedet.media.probe.film_start`,
    the origin results are reported on). Reads packets: seek before demuxing again."""
    from scenedet.media.probe import film_start

    return Fraction(film_start(inp, stream)) * stream.time_base


def copy_clip(video: str | os.PathLike[str], start: float, end: float,
              path: str | os.PathLike[str]) -> Clip:
    """Copy ``[start, end)`` of ``video`` (film seconds) into ``path`` without re-encoding."""
    import av

    from scenedet.media.probe import check_path, open_input

    src = check_path(video)
    with open_input(src) as inp:
        if not inp.streams.video:
            raise MediaError(f"{src} has no video stream")
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        origin = _origin(inp, vin)
        rate = Fraction(vin.average_rate or vin.guessed_rate or 24)
        # the scene starts on the frame boundary nearest its start (the frame numbers' rule,
        # see scenedet.outputs.timecode): a keyframe up to half a frame late still starts it
        target = origin + Fraction(start).limit_denominator(10 ** 6) + 1 / (2 * rate)
        stop = origin + Fraction(end).limit_denominator(10 ** 6)
        offset = _keyframe_before(inp, vin, target)
        inp.seek(int(offset / vin.time_base), stream=vin, backward=True, any_frame=False)
        suffix = Path(path).suffix or src.suffix
        last_video = offset
        with files.output_path(path, suffix=suffix) as tmp:
            with av.open(os.fspath(tmp), mode="w") as out:
                vout = out.add_stream_from_template(vin)
                aout = out.add_stream_from_template(ain) if ain is not None else None
                started = video_done = False
                audio_done = ain is None
                streams = [vin] + ([ain] if ain is not None else [])
                for packet in inp.demux(*streams):
                    if packet.dts is None or packet.pts is None:
                        continue
                    tb = packet.stream.time_base
                    at = packet.pts * tb
                    if packet.stream is vin:
                        if not started:
                            if not packet.is_keyframe or packet.pts * tb < offset:
                                continue
                            started = True
                        if packet.dts * tb >= stop:
                            video_done = True
                        else:
                            last_video = max(last_video, at + (packet.duration or 0) * tb)
                            _shift_and_mux(out, packet, vout, offset)
                    elif started:
                        if at >= stop:
                            audio_done = True
                        elif at >= offset:
                            _shift_and_mux(out, packet, aout, offset)
                    if video_done and audio_done:
                        break
        if not started:
            raise MediaError(f"{src}: no keyframe found before {float(start):.3f} s")
    return Clip(path=Path(path), scene_start=float(start), scene_end=float(end),
                start=float(offset - origin), end=float(min(last_video, stop) - origin), exact=False)


def _keyframe_before(inp, vin, target: Fraction) -> Fraction:
    """Presentation time of the last keyframe at or before ``target`` (stream time, seconds)."""
    for seek_to in (target, Fraction(0)):
        inp.seek(int(seek_to / vin.time_base), stream=vin, backward=True, any_frame=False)
        for packet in inp.demux(vin):
            if packet.pts is None or not packet.is_keyframe:
                continue
            at = packet.pts * vin.time_base
            if at <= target:
                best = at
                # a later keyframe may still be at or before the target (coarse seek indexes)
                for later in inp.demux(vin):
                    if later.pts is None:
                        continue
                    t = later.pts * vin.time_base
                    if later.dts is not None and later.dts * vin.time_base > target:
                        break
                    if later.is_keyframe and best < t <= target:
                        best = t
                return best
            break
    return Fraction(vin.start_time or 0) * vin.time_base


def _shift_and_mux(out, packet, stream, offset: Fraction) -> None:
    shift = int(round(offset / packet.stream.time_base))
    packet.pts -= shift
    packet.dts -= shift
    packet.stream = stream
    out.mux(packet)


def encode_clip(video: str | os.PathLike[str], start: float, end: float,
                path: str | os.PathLike[str], *, crf: int = 20, preset: str = "veryfast") -> Clip:
    """Re-encode exactly the frames and audio of ``[start, end)`` into ``path`` (H.264 + AAC)."""
    from scenedet.media.probe import check_path, open_input

    src = check_path(video)
    t0 = Fraction(start).limit_denominator(10 ** 6)
    t1 = Fraction(end).limit_denominator(10 ** 6)
    with open_input(src) as inp:
        if not inp.streams.video:
            raise MediaError(f"{src} has no video stream")
        with files.output_path(path, suffix=Path(path).suffix or ".mp4") as tmp:
            first, last, rate = _encode_into(tmp, inp, t0, t1, crf=crf, preset=preset)
            if first is None:  # inside the block: no empty file is left behind
                raise MediaError(f"{src}: no frame between {float(start):.3f} s and "
                                 f"{float(end):.3f} s")
    return Clip(path=Path(path), scene_start=float(start), scene_end=float(end),
                start=float(first), end=float(min(t1, last + 1 / rate)), exact=True)


def _encode_into(tmp: Path, inp, t0: Fraction, t1: Fraction, *, crf: int, preset: str):
    import av

    from scenedet.media.encode import FilmWriter
    from scenedet.media.probe import frame_orientation

    vin = inp.streams.video[0]
    ain = inp.streams.audio[0] if inp.streams.audio else None
    vin.thread_type = "AUTO"
    origin = _origin(inp, vin)
    inp.seek(int((origin + t0) / vin.time_base), stream=vin, backward=True, any_frame=False)
    rate = Fraction(vin.average_rate or vin.guessed_rate or 24).limit_denominator(1001)
    channels = None if ain is None else min(2, ain.codec_context.channels or 1)
    resampler = None if ain is None else av.AudioResampler(
        format="fltp", layout="mono" if channels == 1 else "stereo", rate=ain.rate)
    writer = None
    first = last = None
    pending_audio: list[np.ndarray] = []
    video_done, audio_done = False, ain is None
    try:
        for frame in inp.decode(*([vin] + ([ain] if ain is not None else []))):
            if frame.pts is None:
                continue
            at = frame.pts * frame.time_base - origin
            if isinstance(frame, av.VideoFrame):
                if at >= t1:
                    video_done = True
                elif at >= t0:
                    rgb = frame_orientation(frame).apply(frame.to_ndarray(format="rgb24"))
                    rgb = rgb[:rgb.shape[0] - rgb.shape[0] % 2, :rgb.shape[1] - rgb.shape[1] % 2]
                    if writer is None:
                        writer = FilmWriter(tmp, width=rgb.shape[1], height=rgb.shape[0], fps=rate,
                                            audio_rate=None if ain is None else ain.rate,
                                            audio_channels=channels or 1, preset=preset,
                                            crf=crf, audio_bit_rate=192_000)
                        first = at
                    writer.write_frame(rgb, time=at - first)
                    last = at
                    for chunk in pending_audio:
                        writer.write_audio(chunk)
                    pending_audio.clear()
            else:
                for out in resampler.resample(frame):
                    if out.pts is not None and out.pts * out.time_base - origin >= t1:
                        audio_done = True
                    samples = _trim_audio(out, origin, t0, t1)
                    if samples is not None and samples.shape[1]:
                        if writer is None:
                            pending_audio.append(samples)
                        else:
                            writer.write_audio(samples)
            if video_done and audio_done:
                break
    finally:
        if writer is not None:
            writer.close()
    return first, last, rate


def _trim_audio(frame, origin: Fraction, t0: Fraction, t1: Fraction) -> np.ndarray | None:
    if frame.pts is None:
        return None
    samples = frame.to_ndarray().astype(np.float32)
    begin = frame.pts * frame.time_base - origin
    rate = frame.sample_rate
    lo = max(0, int(round((t0 - begin) * rate)))
    hi = min(samples.shape[1], int(round((t1 - begin) * rate)))
    return samples[:, lo:hi] if hi > lo else None


def clip_name(video: str | os.PathLike[str], index: int, suffix: str | None = None) -> str:
    """``film-scene-003.mp4``: the film's name, the scene's number, the film's container."""
    p = Path(video)
    return f"{p.stem}-scene-{index:03d}{suffix or p.suffix or '.mp4'}"


def write_clips(video: str | os.PathLike[str], spans: Sequence[tuple[int, float, float]],
                folder: str | os.PathLike[str], *, exact: bool = False,
                progress: Callable[[int], None] | None = None) -> list[Clip]:
    """One clip per ``(index, start, end)`` span into ``folder`` (see :func:`clip_name`)."""
    out = []
    write = encode_clip if exact else copy_clip
    for index, start, end in spans:
        suffix = ".mp4" if exact else None
        out.append(write(video, start, end, Path(folder) / clip_name(video, index, suffix)))
        if progress is not None:
            progress(1)
    return out


def iter_spans(scenes: Iterable) -> list[tuple[int, float, float]]:
    return [(s.index, s.start, s.end) for s in scenes]
