"""Parallel decoding of one film (:mod:`scenedet.media.parallel.seconds`) equals the one-pass decode.

Small chunks so that every film is cut into several and the seams between chunks are exercised;
the films (tests/films.py) show their frame index, have short and long GOPs, B-frames, a variable
frame rate, and an audio track that starts late.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from films import media_films  # noqa: F401  (the fixture)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from batch_helpers import make_model

from scenedet.errors import MediaError
from scenedet.media.parallel import seconds as parallel
from scenedet.media.damage import Damage
from scenedet.media.seconds.decode import iter_seconds
from scenedet.media.parallel.seconds import iter_seconds_parallel, keyframe_times, plan_chunks
from scenedet.media.probe import probe
from scenedet.media.types import MediaRequest, Second

STILL_AUDIO = MediaRequest(frames=1, audio=True)
pytestmark = pytest.mark.filterwarnings("ignore::scenedet.media.audio.NoAudioWarning")


def assert_same(got: list, want: list) -> None:
    assert [s.index for s in got] == [s.index for s in want]
    for g, w in zip(got, want):
        assert len(g.frames) == len(w.frames)
        for a, b in zip(g.frames, w.frames):
            assert np.array_equal(a, b), f"second {g.index}: stills differ"
        if w.audio is None:
            assert g.audio is None
        else:
            assert np.array_equal(g.audio, w.audio), f"second {g.index}: audio differs"


def both(path: Path, request: MediaRequest = STILL_AUDIO, **kw) -> tuple[list, list]:
    """(parallel, one pass). The audio is always compared with the "sequential" one pass: the
    "seek" one pass resets its AAC decoder at every video seek (see test_seek_audio_...)."""
    options = {k: v for k, v in kw.items() if k not in ("workers", "kind", "chunk_seconds")}
    want = list(iter_seconds(path, request, **options))
    if request.audio and options.get("strategy", "auto") != "sequential":
        sounds = iter_seconds(path, request, **{**options, "strategy": "sequential"})
        want = [Second(index=w.index, frames=w.frames, audio=s.audio) for w, s in zip(want, sounds)]
    got = list(iter_seconds_parallel(path, request, **kw))
    return got, want


def decode_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("scenedet-decode-")]


@pytest.mark.parametrize("strategy", ["seek", "sequential"])
@pytest.mark.parametrize("name", ["cfr24", "cfr25", "gop3s", "vfr", "longgop", "ntsc", "mkv", "ts"])
def test_threads_give_the_same_seconds(media_films, name, strategy):
    got, want = both(media_films.get(name).path, workers=3, chunk_seconds=2, strategy=strategy)
    assert len(want) == media_films.get(name).n_seconds
    assert_same(got, want)
    assert not decode_threads()


@pytest.mark.parametrize("name", ["gop3s", "vfr"])
def test_processes_give_the_same_seconds(media_films, name):
    got, want = both(media_films.get(name).path, workers=2, kind="process", chunk_seconds=3,
                     strategy="sequential")
    assert_same(got, want)
    assert not mp.active_children()


def test_clips_and_a_part_of_the_film(media_films):
    path = media_films.get("gop3s").path
    clip = MediaRequest(frames=8, audio=False)
    got, want = both(path, clip, workers=2, chunk_seconds=2)
    assert_same(got, want)
    got, want = both(path, STILL_AUDIO, workers=2, chunk_seconds=2, start_second=5,
                     stop_second=14)
    assert [s.index for s in got] == list(range(5, 14))
    assert_same(got, want)


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(workers=st.integers(2, 4), chunk=st.integers(1, 9), name=st.sampled_from(["gop3s", "long"]))
def test_any_chunking_gives_the_same_seconds(media_films, workers, chunk, name):
    got, want = both(media_films.get(name).path, workers=workers, chunk_seconds=chunk,
                     strategy="sequential")
    assert_same(got, want)


def test_audio_starting_late_is_the_same(tmp_path):
    from test_bad_inputs import write_film

    path = write_film(tmp_path / "late.mp4", seconds=12, audio_start=2.5)
    got, want = both(path, workers=2, chunk_seconds=3)
    assert np.count_nonzero(want[0].audio) == 0 and np.count_nonzero(want[5].audio) > 0
    assert_same(got, want)


def test_chunks_start_just_after_keyframes(media_films):
    path = media_films.get("gop3s").path
    info = probe(path)
    keys = keyframe_times(info)
    assert len(keys) >= 4
    request = MediaRequest(frames=1)
    chunks = plan_chunks(info, request, keys, 0, info.n_seconds, 2)
    assert chunks[0][0] == 0 and chunks[-1][1] == info.n_seconds
    assert all(b == c for (_, b), (c, _) in zip(chunks, chunks[1:]))
    for a, _ in chunks[1:]:
        seek_to = a - 2 / info.fps  # the pre-roll of a still
        before = [k for k in keys if k <= seek_to + 1e-9]
        assert before and seek_to - before[-1] < 1.0  # at most a second decoded twice


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_a_truncated_film_fails_at_the_same_second(media_films, tmp_path, kind):
    data = media_films.get("mkv").path.read_bytes()
    path = tmp_path / "half.mkv"
    path.write_bytes(data[:len(data) // 2])

    def run(make):
        got = []
        with pytest.raises(MediaError, match="truncated file") as caught:
            for second in make():
                got.append(second)
        return got, str(caught.value)

    want, want_msg = run(lambda: iter_seconds(path, STILL_AUDIO))
    got, got_msg = run(lambda: iter_seconds_parallel(path, STILL_AUDIO, workers=2, kind=kind,
                                                     chunk_seconds=1))
    assert got_msg == want_msg and len(got) == len(want) > 0
    assert_same(got, want)
    assert not decode_threads() and not mp.active_children()


def test_damage_is_counted_once_as_in_one_pass(tmp_path):
    from test_bad_inputs import packets_of, write_film, zero_packets

    clean = write_film(tmp_path / "clean.mp4", seconds=10)
    n = len(packets_of(clean, "video"))
    bad = tmp_path / "bad.mp4"
    zero_packets(clean, bad, "video", [n // 3, 2 * n // 3])
    zero_packets(bad, bad, "audio", [5])
    want_damage, got_damage = Damage(), Damage()
    want = list(iter_seconds(bad, STILL_AUDIO, strategy="sequential", damage=want_damage))
    got = list(iter_seconds_parallel(bad, STILL_AUDIO, workers=2, chunk_seconds=2,
                                     strategy="sequential", damage=got_damage))
    assert_same(got, want)
    assert want_damage.video_packets_skipped >= 1
    assert got_damage.to_dict() == want_damage.to_dict()


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_closing_early_stops_every_worker(media_films, kind):
    seconds = iter_seconds_parallel(media_films.get("long").path, STILL_AUDIO, workers=2,
                                    kind=kind, chunk_seconds=2)
    assert next(seconds).index == 0
    seconds.close()
    assert not decode_threads() and not mp.active_children()


def test_stop_workers_ends_a_running_pool(media_films):
    seconds = iter_seconds_parallel(media_films.get("long").path, STILL_AUDIO, workers=2,
                                    chunk_seconds=2)
    next(seconds)
    parallel.stop_workers()
    with pytest.raises(MediaError, match="stopped"):
        list(seconds)
    assert not decode_threads()


def test_one_worker_or_one_chunk_is_the_plain_decode(media_films):
    path = media_films.get("cfr24").path
    want = list(iter_seconds(path, STILL_AUDIO))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same(list(iter_seconds_parallel(path, STILL_AUDIO, workers=1)), want)
    got = list(iter_seconds_parallel(path, STILL_AUDIO, workers=4, chunk_seconds=60))  # 1 chunk
    assert_same(got, want)


def test_bad_arguments_are_refused(media_films):
    path = media_films.get("cfr24").path
    with pytest.raises(ValueError, match="kind"):
        iter_seconds_parallel(path, STILL_AUDIO, workers=2, kind="fork")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk_seconds"):
        iter_seconds_parallel(path, STILL_AUDIO, workers=2, chunk_seconds=0)
    with pytest.raises(MediaError):
        iter_seconds_parallel(path.with_name("nope.mp4"), STILL_AUDIO, workers=2)


def test_the_default_worker_count():
    assert parallel.choose_workers("cpu", cores=2) == 1
    assert parallel.choose_workers("cuda", cores=16) == 14
    assert parallel.choose_workers("cuda:0", cores=2) == 1


def test_parallel_audio_is_the_sequential_audio_even_when_seeking(media_films):
    """A 440 Hz tone comes out right from a parallel "seek" decode. (It once came out wrong by
    up to 0.5 from the one-pass "seek" decode, whose audio decoder belonged to the container it
    seeked: PyAV's ``container.seek`` flushes every decoder of its container.)"""
    path = media_films.get("cfr24").path
    got = list(iter_seconds_parallel(path, STILL_AUDIO, workers=2, chunk_seconds=1,
                                     strategy="seek"))
    t = np.arange(16_000) / 16_000
    for second in got[1:4]:
        tone = 0.5 * np.sin(2 * np.pi * 440 * (t + second.index))
        assert np.abs(second.audio - tone)[100:-100].max() < 0.01


# --- through the pipeline and the CLI ------------------------------------------------------------


@pytest.fixture
def kissing_model(tmp_path):
    return make_model(tmp_path / "kissing.pt")


@pytest.mark.slow
def test_run_with_decode_workers_gives_the_same_scores(media_films, kissing_model, tmp_path,
                                                       monkeypatch):
    import json

    from click.testing import CliRunner

    from scenedet.cli import cli

    monkeypatch.setattr(parallel, "MIN_CHUNK_SECONDS", 2)  # several chunks in a 16 s film
    monkeypatch.setattr(parallel, "MAX_CHUNK_SECONDS", 2)
    film = media_films.get("gop3s").path
    results = []
    for workers in ("1", "3"):
        out = tmp_path / f"w{workers}.json"
        result = CliRunner().invoke(cli, ["run", "-p", "kissing", str(film), "-m",
                                          str(kissing_model), "-o", str(out), "-q",
                                          "--decode-workers", workers])
        assert result.exit_code == 0, result.output
        results.append(json.loads(out.read_text())["scores"])
    assert results[0] == results[1] and len(results[0]) == 16


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_bad_decode_workers_are_exit_2(media_films, kissing_model, value):
    from click.testing import CliRunner

    from scenedet.cli import cli

    for command in (["run", "-p", "kissing", "-m", str(kissing_model)],
                    ["features", "-e", "audio-logmel", "-o", "x.npy"]):
        result = CliRunner().invoke(cli, [*command, str(media_films.get("cfr24").path),
                                          "--decode-workers", value])
        assert result.exit_code == 2 and "--decode-workers" in result.output
        assert "Traceback" not in result.output


def test_batch_settings_carry_decode_workers(kissing_model):
    from scenedet.batch import prepare_settings

    settings = prepare_settings("kissing", model=kissing_model, decode_workers=2)
    assert settings.run.decode_workers == 2
    assert "decode_workers" not in settings.key()  # the same seconds: results stay valid


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_stop_all_stops_the_workers_behind_a_prefetch(media_films, kind):
    """What the CLI does on Ctrl-C: stream.stop_all() ends the producer and its decode workers."""
    from scenedet.inference.stream import prefetch, stop_all

    path = media_films.get("long").path
    seconds = prefetch(lambda: iter_seconds_parallel(path, STILL_AUDIO, workers=2, kind=kind,
                                                     chunk_seconds=2), maxsize=1)
    assert next(seconds).index == 0
    assert stop_all(timeout=20)
    seconds.close()
    assert not decode_threads() and not mp.active_children()
