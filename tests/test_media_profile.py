"""The media side's profiling stages: demux, decode, convert and audio, counted where they happen."""

from __future__ import annotations

import pytest
from films import media_films  # noqa: F401  (the fixture)

from scenedet import profiling
from scenedet.media.seconds.decode import iter_seconds
from scenedet.media.frames.stream import FrameBatch, MediaStream
from scenedet.media.types import MediaRequest


@pytest.fixture
def profile():
    yield profiling.enable(True)
    profiling.enable(False)


def stages() -> dict[str, profiling.StageTime]:
    return {s.name: s for s in profiling.PROFILE.stages()}


@pytest.mark.parametrize("strategy", ["sequential", "seek"])
def test_iter_seconds_times_demux_decode_convert_and_audio(media_films, profile, strategy):
    film = media_films.get("click")  # 5 s at 24 fps, 1 s GOPs, audio
    seconds = list(iter_seconds(film.path, MediaRequest(frames=1, audio=True), strategy=strategy))
    got = stages()
    assert {"demux", "decode", "convert", "audio"} <= set(got)
    assert got["convert"].calls == len(seconds)  # one RGB conversion per kept frame
    # sequential sends every video packet to the decoder; seek jumps to each second's keyframe
    assert got["decode"].calls >= (len(film.times) if strategy == "sequential" else len(seconds))
    assert all(s.seconds > 0 for s in got.values())


def test_media_stream_times_its_stages(media_films, profile):
    film = media_films.get("click")
    batches = [b for b in MediaStream(film.path, audio=True) if isinstance(b, FrameBatch)]
    got = stages()
    assert {"demux", "decode", "convert", "audio"} <= set(got)
    assert got["convert"].calls == sum(len(b.times) for b in batches) == len(film.times)


def test_nothing_is_recorded_when_profiling_is_off(media_films):
    profiling.enable(False)
    film = media_films.get("click")
    list(iter_seconds(film.path, MediaRequest(frames=1, audio=True)))
    list(MediaStream(film.path, audio=True))
    assert profiling.PROFILE.stages() == []
