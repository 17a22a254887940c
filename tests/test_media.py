"""Streaming media: which frame each second's still is, 16 kHz audio, rotation, bad input.

Films come from ``tests/films.py``: every frame shows its index, so a test checks that the still
of second k is exactly the last frame at or before k + 1 s, not just some frame.
"""

from __future__ import annotations

import tracemalloc
import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from films import (CLICK_AT, TONE_AMPLITUDE, TONE_HZ, Film, FilmLibrary, index_frame,  # noqa: F401
                   read_index)

from scenedet.errors import MediaError, UsageError
from scenedet.media.extractors import FrameClipExtractor
from scenedet.media import demux
from scenedet.media.audio import AudioSlicer, NoAudioWarning
from scenedet.media.seconds.decode import iter_seconds, resolve_strategy
from scenedet.media.probe import Orientation, probe
from scenedet.media.types import SAMPLE_RATE, MediaRequest, Second

STRATEGIES = ["seek", "sequential"]
STILL = MediaRequest(frames=1)


def seconds_of(film: Film, request: MediaRequest = STILL, **options: object) -> list[Second]:
    return list(iter_seconds(film.path, request, **options))  # type: ignore[arg-type]


# --- which frame -------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("name", ["cfr24", "cfr25", "ntsc", "fractional", "vfr", "longgop"])
def test_still_is_the_last_frame_at_or_before_the_end_of_the_second(media_films, name, strategy):
    film = media_films.get(name)
    seconds = seconds_of(film, strategy=strategy)
    assert [s.index for s in seconds] == list(range(film.n_seconds))
    assert [read_index(s.still) for s in seconds] == [film.expected_still(k)
                                                      for k in range(film.n_seconds)]
    assert all(s.still.dtype == np.uint8 and s.still.shape == (120, 160, 3) for s in seconds)
    assert all(len(s.frames) == 1 and s.audio is None for s in seconds)


def test_the_fixtures_cover_the_hard_cases(media_films):
    """Guards the films themselves, so the test above keeps testing what it claims to."""
    ntsc = media_films.get("ntsc")
    assert [ntsc.expected_still(k) for k in range(5)] == [29, 59, 89, 119, 149]  # 30 is at 1.001 s
    assert media_films.get("cfr24").expected_still(0) == 24  # the frame at exactly 1 s counts
    vfr = media_films.get("vfr")
    assert vfr.expected_still(2) == vfr.expected_still(3)  # a second with no new frame: repeat
    assert vfr.times[vfr.expected_still(5)] == 6  # the last frame sits exactly on the boundary
    fractional = media_films.get("fractional")
    assert fractional.duration == pytest.approx(4.5) and fractional.n_seconds == 4


@pytest.mark.parametrize("name", ["cfr25", "ntsc", "vfr", "longgop", "ts"])
def test_seek_and_sequential_give_identical_pixels(media_films, name):
    film = media_films.get(name)
    sought = seconds_of(film, strategy="seek")
    straight = seconds_of(film, strategy="sequential")
    assert len(sought) == len(straight) == film.n_seconds
    for a, b in zip(sought, straight):
        assert np.array_equal(a.still, b.still), f"second {a.index}"


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(("name", "n"), [("cfr24", 30), ("vfr", 30), ("vfr", 8)])
def test_clip_frames_are_the_last_consecutive_frames(media_films, name, n, strategy):
    """30 frames: more than second 0 has at 24 fps, so the clip is short there (never padded
    here). 8 frames of the VFR film reach back past the average rate's estimate: seek must
    look further back than 7/24 s."""
    film = media_films.get(name)
    seconds = seconds_of(film, MediaRequest(frames=n), strategy=strategy)
    for s in seconds:
        assert [read_index(f) for f in s.frames] == film.expected_clip(s.index, n)
    clips = [FrameClipExtractor(16)(s) for s in seconds]
    assert clips[0].shape == (16, 120, 160, 3)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_clip_reaching_back_before_the_keyframe_is_complete(media_films, strategy):
    """Starting at second 3 of the VFR film: the keyframe before 4 s - 7/24 s is frame 24 (1.8 s),
    which leaves 6 of 8 frames; "seek" must go back to an earlier keyframe for the other two."""
    film = media_films.get("vfr")
    (second,) = seconds_of(film, MediaRequest(frames=8), strategy=strategy, start_second=3,
                           stop_second=4)
    assert [read_index(f) for f in second.frames] == film.expected_clip(3, 8)


@pytest.mark.parametrize("name", ["cfr24", "cfr25", "ntsc", "ts"])
def test_seek_and_sequential_give_the_same_audio(media_films, name):
    """Seeking for video must not touch the audio decoder: PyAV's ``container.seek`` flushes
    every decoder of the container, so "seek" decodes audio in a container of its own."""
    film = media_films.get(name)
    request = MediaRequest(frames=1, audio=True)
    a = seconds_of(film, request, strategy="seek")
    b = seconds_of(film, request, strategy="sequential")
    assert len(a) == len(b) > 2
    for x, y in zip(a, b):
        assert np.array_equal(x.audio, y.audio), x.index


def test_clip_strategies_agree(media_films):
    film = media_films.get("cfr25")
    a = seconds_of(film, MediaRequest(frames=8), strategy="seek")
    b = seconds_of(film, MediaRequest(frames=8), strategy="sequential")
    for x, y in zip(a, b):
        assert len(x.frames) == len(y.frames) == 8
        assert all(np.array_equal(f, g) for f, g in zip(x.frames, y.frames))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_range_of_seconds_matches_the_whole_run(media_films, strategy):
    film = media_films.get("cfr24")
    request = MediaRequest(frames=3, audio=True)
    whole = seconds_of(film, request, strategy=strategy)
    part = seconds_of(film, request, strategy=strategy, start_second=2, stop_second=4)
    assert [s.index for s in part] == [2, 3]
    for a, b in zip(part, whole[2:4]):
        assert all(np.array_equal(f, g) for f, g in zip(a.frames, b.frames))
        assert np.abs(a.audio - b.audio).max() < 1e-4
    assert seconds_of(film, request, start_second=4, stop_second=99)[0].index == 4
    assert seconds_of(film, request, start_second=5) == []


# --- strategy choice and facts ------------------------------------------------------------------


def test_probe_reports_the_film(media_films):
    info = probe(media_films.get("cfr24").path)
    assert (info.duration, info.n_seconds, info.fps) == (pytest.approx(5.0), 5, 24.0)
    assert (info.width, info.height, info.rotation) == (160, 120, 0)
    assert (info.has_audio, info.audio_rate, info.audio_channels) == (True, 48_000, 1)
    assert info.video_codec == "h264"
    assert info.keyframe_interval == pytest.approx(1.0)
    assert probe(media_films.get("ntsc").path).fps == pytest.approx(29.97, abs=0.01)
    assert probe(media_films.get("fractional").path).n_seconds == 4
    silent = probe(media_films.get("silent").path)
    assert (silent.has_audio, silent.audio_rate) == (False, None)
    assert probe(media_films.get("stereo").path).audio_channels == 2
    mkv = probe(media_films.get("mkv").path)  # AAC padding makes the container 10.02 s long
    assert mkv.n_seconds == 10 and mkv.duration == pytest.approx(10.0, abs=0.05)


def test_auto_seeks_with_dense_keyframes_and_decodes_long_gops_straight(media_films):
    dense = probe(media_films.get("cfr24").path)
    sparse = probe(media_films.get("longgop").path)
    assert dense.strategy == "seek"
    assert sparse.strategy == "sequential" and sparse.keyframe_interval > 5
    assert resolve_strategy("auto", dense, MediaRequest(frames=1)) == "seek"
    assert resolve_strategy("auto", dense, MediaRequest(frames=16)) == "sequential"
    assert resolve_strategy("seek", sparse, MediaRequest(frames=1)) == "seek"
    with pytest.raises(ValueError, match="strategy"):
        iter_seconds(media_films.get("cfr24").path, STILL, strategy="fast")  # type: ignore[arg-type]


# --- audio ----------------------------------------------------------------------------------------


def _peak_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * SAMPLE_RATE / len(x))


def test_a_48k_tone_comes_back_at_16k_with_its_frequency_and_amplitude(media_films):
    seconds = seconds_of(media_films.get("cfr24"), MediaRequest(frames=0, audio=True))
    assert len(seconds) == 5
    for s in seconds:
        assert s.frames == () and s.audio.dtype == np.float32 and s.audio.shape == (SAMPLE_RATE,)
    for s in seconds[1:]:  # whole seconds of tone (second 0 starts with the AAC fade-in)
        assert _peak_hz(s.audio) == pytest.approx(TONE_HZ, abs=1.0)
        assert np.sqrt(2 * np.mean(s.audio ** 2)) == pytest.approx(TONE_AMPLITUDE, abs=0.01)


def test_channels_are_averaged_like_vggish(media_films):
    """Left: a 0.5 tone, right: silence. VGGish's mean gives 0.25 (swresample's mix: 0.35)."""
    for s in seconds_of(media_films.get("stereo"), MediaRequest(frames=0, audio=True))[1:]:
        assert np.sqrt(2 * np.mean(s.audio ** 2)) == pytest.approx(TONE_AMPLITUDE / 2, abs=0.01)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("name", ["click", "click-mkv"])
def test_a_click_at_3_5_s_lands_in_second_3_at_sample_8000(media_films, name, strategy):
    """Measured: within one sample (0.06 ms) in MP4 and MKV; AAC priming is fully compensated."""
    seconds = seconds_of(media_films.get(name), MediaRequest(frames=1, audio=True),
                         strategy=strategy)
    onset = int(np.argmax(np.abs(seconds[3].audio) > 0.05))
    assert abs(onset - round((CLICK_AT - 3) * SAMPLE_RATE)) <= 16  # 1 ms
    assert all(np.abs(seconds[k].audio).max() < 0.01 for k in (0, 1, 2, 4))


def test_a_film_without_audio_warns_once_and_gives_silence(media_films):
    film = media_films.get("silent")
    with pytest.warns(NoAudioWarning, match="no audio track") as caught:
        seconds = seconds_of(film, MediaRequest(frames=1, audio=True))
    assert len([w for w in caught if issubclass(w.category, NoAudioWarning)]) == 1
    assert len(seconds) == 3
    assert all(s.audio.shape == (SAMPLE_RATE,) and not s.audio.any() for s in seconds)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seconds_of(film, STILL)  # no audio requested: no warning


def _frame(value: float, n: int, pts: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(np.full((1, n), value, np.float32), format="fltp",
                                       layout="mono")
    frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, pts, Fraction(1, SAMPLE_RATE)
    return frame


def test_slicer_places_audio_by_timestamp():
    """A late start gets leading silence, a gap gets silence, audio before time 0 is dropped."""
    slicer = AudioSlicer(origin=Fraction(0))
    out = slicer.push(_frame(0.5, 8000, -4000))  # [-0.25, 0.25) s: the first half is dropped
    out += slicer.push(_frame(0.25, 4000, 4000))  # [0.25, 0.5)
    out += slicer.push(_frame(-0.5, 12000, 16000))  # gap [0.5, 1.0), then [1.0, 1.75)
    out += slicer.finish()
    assert len(out) == 2
    first, second = out
    assert np.allclose(first[:4000], 0.5) and np.allclose(first[4000:8000], 0.25)
    assert not first[8000:].any()
    assert np.allclose(second[:12000], -0.5) and not second[12000:].any()


# --- rotation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rotation", [0, 90, 180, -90])
@pytest.mark.parametrize("hflip", [False, True])
def test_rotation_metadata_turns_stills_upright(media_films, rotation, hflip):
    """PyAV's documented semantics are the oracle: rotate counter-clockwise, then mirror."""
    name = f"rot{rotation % 360}{'-flip' if hflip else ''}"
    film = media_films.get(name)
    info = probe(film.path)
    with av.open(str(film.path)) as container:
        first = next(container.decode(video=0))
        assert (info.rotation - first.rotation) % 360 == 0  # FFmpeg's av_display_rotation_get
    assert -180 < info.rotation <= 180
    stored = [s.still for s in seconds_of(media_films.get("rot0"))]
    shown = seconds_of(film, strategy="sequential")
    for raw, s in zip(stored, shown):
        expected = np.rot90(raw, k=rotation // 90)
        assert np.array_equal(s.still, np.fliplr(expected) if hflip else expected)
        assert s.still.flags.c_contiguous
    assert (info.width, info.height) == (shown[0].still.shape[1], shown[0].still.shape[0])


def test_orientation_of_a_portrait_phone_video():
    """The matrix phones write (``rotate=90`` in old FFmpeg): turn clockwise to display."""
    matrix = (0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30)
    orientation = Orientation.from_display_matrix(matrix)
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert orientation.rotation == -90
    assert np.array_equal(orientation.apply(image), np.rot90(image, k=-1))
    assert Orientation.from_display_matrix(None).is_identity


# --- bad input ----------------------------------------------------------------------------------


def _write_text(path: Path) -> Path:
    path.write_text("not a film\n" * 50)
    return path


def _write_wav(path: Path) -> Path:
    import soundfile

    soundfile.write(path, np.zeros(16_000, dtype=np.float32), 16_000)
    return path


def _write_png(path: Path) -> Path:
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = 32, 16, "rgb24"
        frame = av.VideoFrame.from_ndarray(np.zeros((16, 32, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


def _cut_in_half(media_films: FilmLibrary, name: str, path: Path) -> Path:
    data = media_films.get(name).path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


BAD_INPUTS = {
    "missing": (lambda tmp, films: tmp / "nope.mp4", "not found: "),
    "directory": (lambda tmp, films: tmp, "is a directory: "),
    "empty": (lambda tmp, films: (tmp / "empty.mp4").touch() or tmp / "empty.mp4", "empty file: "),
    "text": (lambda tmp, films: _write_text(tmp / "notes.mp4"), "cannot decode "),
    "wav": (lambda tmp, films: _write_wav(tmp / "sound.wav"), "no video stream in "),
    "image": (lambda tmp, films: _write_png(tmp / "picture.png"), "cannot decode "),
    "truncated mp4": (lambda tmp, films: _cut_in_half(films, "cfr24", tmp / "half.mp4"),
                      "cannot decode "),
    "truncated faststart mp4": (lambda tmp, films: _cut_in_half(films, "faststart",
                                                                tmp / "half-fast.mp4"),
                                "cannot decode "),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_media_error(media_films, tmp_path, case):
    make, prefix = BAD_INPUTS[case]
    path = make(tmp_path, media_films)
    for attempt in (lambda: probe(path), lambda: iter_seconds(path, MediaRequest(audio=True))):
        with pytest.raises(MediaError) as caught:
            attempt()
        message = str(caught.value)
        assert message.startswith(prefix) and str(path) in message
        assert "\n" not in message and "Errno" not in message
        assert isinstance(caught.value, UsageError)  # the CLI's exit 2, no traceback


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("request_", [MediaRequest(frames=1), MediaRequest(frames=0, audio=True)])
def test_a_film_cut_mid_way_fails_clearly_where_the_data_ends(media_films, tmp_path, strategy,
                                                               request_):
    """MKV has no index to lose: it opens, and the gap is an error, never repeated stills."""
    path = _cut_in_half(media_films, "mkv", tmp_path / "half.mkv")
    assert probe(path).n_seconds == 10  # the header still says 10 s
    got = []
    with pytest.raises(MediaError, match="truncated file") as caught:
        for second in iter_seconds(path, request_, strategy=strategy):
            got.append(second.index)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)
    assert 0 < len(got) < 10 and got == list(range(len(got)))


# --- memory ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_memory_does_not_grow_with_the_length_of_the_film(media_films, monkeypatch):
    film = media_films.get("long")  # 40 s
    stashes = []
    real_init = demux.SharedDemux.__init__

    def spy(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        stashes.append(self)

    monkeypatch.setattr(demux.SharedDemux, "__init__", spy)
    request = MediaRequest(frames=2, audio=True)

    def peak(stop: int) -> int:
        tracemalloc.start()
        try:
            for _ in iter_seconds(film.path, request, strategy="sequential", stop_second=stop):
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    short, whole = peak(8), peak(40)
    yielded = 40 * (2 * 120 * 160 * 3 + SAMPLE_RATE * 4)
    assert whole < short + 256 * 1024, (short, whole)
    assert whole < yielded / 4
    assert all(s.peak_stashed < 256 * 1024 for s in stashes)


def test_a_badly_interleaved_file_gets_a_second_reader_not_more_memory(media_films, monkeypatch):
    film = media_films.get("cfr24")
    request = MediaRequest(frames=1, audio=True)
    normal = seconds_of(film, request, strategy="sequential")
    opened = []
    real = demux.own_packets
    monkeypatch.setattr(demux, "STASH_LIMIT", 0)  # any stashed packet is too many
    monkeypatch.setattr(demux, "own_packets", lambda *a: opened.append(a[1]) or real(*a))
    detached = seconds_of(film, request, strategy="sequential")
    assert opened  # a stream got its own reader
    for a, b in zip(normal, detached):
        assert np.array_equal(a.still, b.still) and np.array_equal(a.audio, b.audio)
