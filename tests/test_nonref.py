"""Skipping the non-reference frames no second shows (scenedet.media.nonref): exact, or not done.

The films here are encoded with x264's defaults (preset "medium": 3 B-frames, B-pyramid) except
that B-frames are always used (``b-adapt=0``: the frames of tests/films.py change too abruptly
for x264 to choose B-frames itself), so half of their frames are non-reference B-frames. Each
frame shows its index, so a test sees *which* frame a second kept, not only that two runs agree.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from films import (HEIGHT, WIDTH, Film, cfr_times, encode_indexed, read_index, vfr_times,
                   write_film)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenedet.media import nonref
from scenedet.media.damage import Damage
from scenedet.media.encode import FilmWriter
from scenedet.media.seconds.decode import iter_seconds
from scenedet.media.types import MediaRequest

STILL = MediaRequest(frames=1, audio=False)


def nal_ref_idc(packet: av.Packet) -> int | None:
    """H.264 ``nal_ref_idc`` of the picture in an MP4 packet (4-byte NAL lengths), None if none."""
    data, i, refs = bytes(packet), 0, []
    while i + 4 < len(data):
        size = int.from_bytes(data[i:i + 4], "big")
        header = data[i + 4]
        if header & 0x1F in (1, 5):  # coded slice: non-IDR or IDR
            refs.append(header >> 5 & 3)
        i += 4 + size
    return max(refs) if refs else None


def decoded(path: Path, thread_type: str, nonref_for) -> list[tuple[int, np.ndarray]]:
    """(pts, RGB) of every frame out of the decoder, ``skip_frame`` set per packet."""
    out = []
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        video.thread_type = thread_type
        decoder = video.codec_context
        for packet in container.demux(video):
            decoder.skip_frame = "NONREF" if nonref_for(packet) else "DEFAULT"
            out += [(f.pts, f.to_ndarray(format="rgb24")) for f in decoder.decode(packet)]
    return out


def write_bframes(path: Path, times: list[Fraction], *, fps: Fraction = Fraction(24),
                  gop: int | None = None) -> Film:
    """Frames ``index_frame(i)`` at ``times[i]``, x264 "medium" with B-frames always used."""
    params = "b-adapt=0" + (f":keyint={gop}:min-keyint={gop}:scenecut=0" if gop else "")
    return encode_indexed(path, times, "libx264",
                          {"preset": "medium", "crf": "23", "x264-params": params}, fps=fps,
                          frame_threads=True)


@pytest.fixture(scope="module")
def films(tmp_path_factory) -> dict[str, Film]:
    root = tmp_path_factory.mktemp("nonref")
    return {
        # x264's default GOP (250 frames, so one keyframe here)
        "default": write_bframes(root / "default.mp4", cfr_times(24 * 8, Fraction(24))),
        # a keyframe every 10 s
        "gop10": write_bframes(root / "gop10.mp4", cfr_times(24 * 22, Fraction(24)), gop=240),
        "ntsc": write_bframes(root / "ntsc.mp4", cfr_times(180, Fraction(30000, 1001)),
                              fps=Fraction(30000, 1001)),
        "vfr": write_bframes(root / "vfr.mp4", vfr_times(), gop=48),
        "mkv": write_bframes(root / "default.mkv", cfr_times(24 * 5, Fraction(24))),
    }


class Spy:
    """The NonrefSkip objects made while decoding, and every SkipUnsafe raised (a fallback)."""

    def __init__(self, monkeypatch) -> None:
        self.made: list[nonref.NonrefSkip] = []
        self.unsafe: list[str] = []
        real_init, real_unsafe = nonref.NonrefSkip.__init__, nonref.SkipUnsafe.__init__

        def init(skip, *args, **kwargs):
            real_init(skip, *args, **kwargs)
            self.made.append(skip)

        def unsafe(exc, *args):
            self.unsafe.append(str(args[0]) if args else "")
            real_unsafe(exc, *args)

        monkeypatch.setattr(nonref.NonrefSkip, "__init__", init)
        monkeypatch.setattr(nonref.SkipUnsafe, "__init__", unsafe)


def frames_of(path: Path, request: MediaRequest = STILL, strategy: str = "sequential",
              **options) -> list[tuple[np.ndarray, ...]]:
    return [s.frames for s in iter_seconds(path, request, strategy=strategy,  # type: ignore[arg-type]
                                           **options)]


def assert_same(a: list[tuple[np.ndarray, ...]], b: list[tuple[np.ndarray, ...]]) -> None:
    assert len(a) == len(b)
    for k, (x, y) in enumerate(zip(a, b)):
        assert len(x) == len(y), k
        for u, v in zip(x, y):
            assert np.array_equal(u, v), f"second {k} differs"


# --- FFmpeg does what the module relies on --------------------------------------------------


@pytest.mark.parametrize("thread_type", ["AUTO", "FRAME", "SLICE", "NONE"])
def test_frame_threads_take_skip_frame_per_packet(films, thread_type):
    """Exactly the non-reference packets sent with NONREF go missing; the rest are the same
    bytes as decoding everything: FFmpeg's frame threads copy skip_frame with each packet."""
    path = films["default"].path
    every = decoded(path, thread_type, lambda packet: False)
    with av.open(str(path)) as container:
        packets = [(p.pts, nal_ref_idc(p)) for p in container.demux(container.streams.video[0])
                   if p.size]
    nonrefs = [pts for pts, ref in packets if ref == 0]
    assert len(nonrefs) > len(packets) // 5  # x264's defaults do make non-reference B-frames
    chosen = set(nonrefs[::2]) | {pts for pts, ref in packets if ref}  # refs ignore NONREF
    got = decoded(path, thread_type, lambda packet: packet.pts in chosen)
    want = {pts: rgb for pts, rgb in every}
    assert sorted(pts for pts, _ in got) == sorted(set(want) - set(nonrefs[::2]))
    assert all(np.array_equal(rgb, want[pts]) for pts, rgb in got)


# --- exact stills -----------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["sequential", "seek"])
@pytest.mark.parametrize("name", ["default", "gop10", "ntsc", "vfr", "mkv"])
def test_skipping_keeps_every_still_byte_identical(films, name, strategy, monkeypatch):
    film = films[name]
    every = frames_of(film.path, skip_nonref=False)
    spy = Spy(monkeypatch)
    skipping = frames_of(film.path, strategy=strategy)
    assert_same(skipping, every)
    assert [read_index(f[0]) for f in skipping] == \
        [film.expected_still(k) for k in range(film.n_seconds)]
    (skip,) = spy.made
    assert skip.enabled and skip.skipped > 0 and spy.unsafe == []  # the rule alone was exact
    assert skip.frames < skip.packets - 1  # some frames were never decoded (- the flush packet)


def test_x264_defaults_on_moving_pictures(tmp_path, monkeypatch):
    """x264 exactly as it comes (preset "medium", adaptive B-frames) on a panning picture, where
    it chooses B-frames itself: same stills, fewer frames decoded."""
    rng = np.random.default_rng(3)
    scene = rng.integers(0, 256, size=(HEIGHT, 3 * WIDTH, 3), dtype=np.uint8)
    scene = (scene // 64 * 64).repeat(2, axis=0)[:HEIGHT]  # blocky, so motion search finds it
    path = tmp_path / "pan.mp4"
    with FilmWriter(path, width=WIDTH, height=HEIGHT, fps=24, preset="medium", crf=23,
                    audio_rate=None) as writer:
        for i in range(24 * 5):
            writer.write_frame(scene[:, 2 * i:2 * i + WIDTH])
    every = frames_of(path, skip_nonref=False)
    spy = Spy(monkeypatch)
    assert_same(frames_of(path), every)
    (skip,) = spy.made
    assert spy.unsafe == [] and skip.frames < 0.9 * (skip.packets - 1)


def test_default_gop_film_decodes_far_fewer_frames(films, monkeypatch):
    spy = Spy(monkeypatch)
    frames_of(films["default"].path)
    (skip,) = spy.made
    assert skip.frames <= 0.8 * (skip.packets - 1)


@pytest.mark.parametrize("strategy", ["sequential", "seek"])
@pytest.mark.parametrize("n_frames", [2, 5])
def test_clips_are_exact_too(films, n_frames, strategy, monkeypatch):
    request = MediaRequest(frames=n_frames, audio=False)
    for name in ("default", "vfr"):
        path = films[name].path
        every = frames_of(path, request, skip_nonref=False)
        spy = Spy(monkeypatch)
        assert_same(frames_of(path, request, strategy), every)
        assert spy.unsafe == []


@pytest.mark.parametrize("strategy", ["sequential", "seek"])
@pytest.mark.parametrize("start, stop", [(3, 7), (1, 2), (6, None)])
def test_parts_of_the_film_are_exact(films, start, stop, strategy, monkeypatch):
    """What a parallel decode asks for: seconds start..stop-1 equal those of a whole run."""
    for name in ("gop10", "vfr"):
        path = films[name].path
        whole = frames_of(path, skip_nonref=False)
        spy = Spy(monkeypatch)
        part = frames_of(path, strategy=strategy, start_second=start, stop_second=stop)
        assert_same(part, whole[start:stop])
        assert spy.unsafe == []


def test_without_h264_nothing_is_skipped(tmp_path, monkeypatch):
    film = write_film(tmp_path / "mpeg4.mp4", cfr_times(72, Fraction(24)), codec="mpeg4")
    spy = Spy(monkeypatch)
    assert [read_index(f[0]) for f in frames_of(film.path)] == [film.expected_still(k)
                                                                for k in range(3)]
    assert spy.made == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.sampled_from([1, 2, 3, 5, 8, 13, 40]), min_size=20, max_size=90),
       gop=st.sampled_from([None, 12, 37]))
def test_any_frame_timing_gives_the_same_stills(tmp_path, monkeypatch, steps, gop):
    """Variable frame rates with gaps: whatever frame ends up last before a second's end (a
    non-reference B-frame included) is decoded."""
    times, t = [], Fraction(0)
    for step in steps:
        times.append(t)
        t += Fraction(step, 48)
    film = write_bframes(tmp_path / "vfr.mp4", times, gop=gop)
    every = frames_of(film.path, skip_nonref=False)
    for strategy in ("sequential", "seek"):
        with monkeypatch.context() as patch:
            spy = Spy(patch)
            got = frames_of(film.path, strategy=strategy)
        assert spy.unsafe == []
        assert_same(got, every)
    assert [read_index(f[0]) for f in got] == [film.expected_still(k) for k in range(len(got))]


# --- the guards -------------------------------------------------------------------------------


def test_a_rule_that_skips_too_much_is_caught_and_the_seconds_redone(films, monkeypatch):
    """If a frame a window needs was sent as NONREF, the second is decoded again without
    skipping, from where the run stands: the stills stay exact."""
    path = films["gop10"].path
    every = frames_of(path, skip_nonref=False)
    real = nonref.NonrefSkip.decide

    def greedy(skip, packet):
        if real(skip, packet):
            return True
        if packet.pts is None:
            return False
        second = (packet.pts - skip.clock.start_pts) * skip.clock.time_base
        if 9 < second < 12:  # every packet of seconds 9-11 goes as NONREF
            skip.skipped += 1
            skip._pending.append(packet.pts)
            return True
        return False

    monkeypatch.setattr(nonref.NonrefSkip, "decide", greedy)
    spy = Spy(monkeypatch)
    assert_same(frames_of(path), every)
    assert len(spy.unsafe) == 1 and "belongs to a window" in spy.unsafe[0]


def test_a_damaged_packet_while_skipping_redoes_the_seconds_without_skipping(films, tmp_path,
                                                                              monkeypatch):
    film = films["default"]
    with av.open(str(film.path)) as container:
        packets = [p for p in container.demux(container.streams.video[0]) if p.size]
        victim = packets[len(packets) // 2]  # mid-film: skipping has begun
        pos, size = victim.pos, victim.size
    data = bytearray(film.path.read_bytes())
    data[pos:pos + size] = bytes(size)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    every_damage, skip_damage = Damage(), Damage()
    every = frames_of(broken, skip_nonref=False, damage=every_damage)
    spy = Spy(monkeypatch)
    assert_same(frames_of(broken, damage=skip_damage), every)
    assert spy.unsafe == ["a damaged packet"]
    assert every_damage.to_dict() == skip_damage.to_dict()
    assert skip_damage.video_packets_skipped == 1


def test_frames_out_of_order_stop_skipping(films):
    """The rule needs frames in increasing pts: a stream breaking that is decoded in full."""
    from scenedet.media.videoframes import Held

    class FakeClock:
        start_pts, time_base = 0, Fraction(1, 24)

        def second_end(self, pts: int) -> int:
            return (pts // 24 + (pts % 24 > 0)) * 24

    skip = nonref.NonrefSkip(FakeClock(), 1)  # type: ignore[arg-type]

    class P:
        def __init__(self, pts):
            self.pts = pts

    assert [skip.decide(P(p)) for p in (0, 4, 2, 1, 3)] == [False, False, True, True, True]
    skip.frame(0)
    with pytest.raises(nonref.SkipUnsafe):
        skip.frame(5)  # not a packet's pts
    fresh = nonref.NonrefSkip(FakeClock(), 1)  # type: ignore[arg-type]
    assert not fresh.decide(P(2)) and not fresh.decide(P(4))
    fresh.frame(4)
    fresh.frame(2)  # nothing skipped yet: an oddity only switches skipping off
    assert not fresh.enabled and fresh.skipped == 0
    assert not fresh.decide(P(1))
    window = deque([Held(4, None)], maxlen=1)
    skip.check_window(window, 24)  # pending 2, 1, 3 are all before the frame kept: fine
    assert skip._pending == []
