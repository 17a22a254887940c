"""The parallel frame stream (:mod:`scenedet.media.parallel.frames`) equals MediaStream.

Short chunks, so that every film is cut into several and every seam is exercised; the films
(tests/films.py) show their frame index, have 1 s and 3 s GOPs, B-frames, a variable frame rate,
rotation, one keyframe, and sound that starts late.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from pathlib import Path

import av
import numpy as np
import pytest
from films import index_frame, media_films, read_index  # noqa: F401  (the fixture)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenedet.errors import MediaError, UsageError
from scenedet.media.parallel import chunkpool
from scenedet.media.frames.stream import AudioChunk, FrameBatch, MediaStream
from scenedet.media.parallel.frames import ParallelMediaStream, frame_stream

SIZES = ((48, 27), (32, 18))


def split(items: list) -> tuple[list[FrameBatch], list[AudioChunk]]:
    return ([i for i in items if isinstance(i, FrameBatch)],
            [i for i in items if isinstance(i, AudioChunk)])


def assert_same(got: list, want: list) -> None:
    """The same frame batches (numbers, times, pixels) and the same sound chunks, in order."""
    got_frames, got_sound = split(got)
    want_frames, want_sound = split(want)
    assert [(b.index, len(b)) for b in got_frames] == [(b.index, len(b)) for b in want_frames]
    for g, w in zip(got_frames, want_frames):
        assert np.array_equal(g.times, w.times), f"batch {w.index}: times differ"
        assert g.images.keys() == w.images.keys()
        for size in w.images:
            assert np.array_equal(g.images[size], w.images[size]), f"batch {w.index}: pixels differ"
    assert [(c.start, c.rate) for c in got_sound] == [(c.start, c.rate) for c in want_sound]
    for g, w in zip(got_sound, want_sound):
        assert np.array_equal(g.samples, w.samples)


def both(path: Path, *, audio: bool = True, batch_frames: int = 10, **kw) -> tuple[list, list, object]:
    """(parallel items, MediaStream items, the parallel stream); infos compared."""
    want_stream = MediaStream(path, sizes=SIZES, audio=audio, batch_frames=batch_frames)
    want = list(want_stream)
    stream = ParallelMediaStream(path, sizes=SIZES, audio=audio, batch_frames=batch_frames, **kw)
    got = list(stream)
    assert stream.info == want_stream.info
    return got, want, stream


def decode_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("scenedet-decode-")]


@pytest.mark.parametrize("name", ["cfr24", "cfr25", "gop3s", "vfr", "ntsc", "mkv", "rot90-flip", "ts",
                                  "rot270"])
def test_threads_give_the_same_frames(media_films, name):
    got, want, stream = both(media_films.get(name).path, workers=3, chunk_seconds=0.5)
    assert len(stream.chunks) >= 2  # really cut
    assert_same(got, want)
    frames, _ = split(got)
    assert sum(len(b) for b in frames) == len(media_films.get(name).times)
    assert not decode_threads()


@pytest.mark.parametrize("name", ["gop3s", "vfr"])
def test_processes_give_the_same_frames(media_films, name):
    got, want, _ = both(media_films.get(name).path, workers=2, kind="process", chunk_seconds=1)
    assert_same(got, want)
    assert not mp.active_children()


def test_one_keyframe_is_one_chunk_and_the_plain_stream(media_films):
    got, want, stream = both(media_films.get("longgop").path, workers=3, chunk_seconds=0.5)
    assert len(stream.chunks) == 1
    assert_same(got, want)


def test_frames_read_back_their_own_index(media_films):
    """Not just equal to MediaStream: every frame, once, in order (full size, upright)."""
    film = media_films.get("gop3s")
    stream = ParallelMediaStream(film.path, sizes=((160, 120),), workers=2, chunk_seconds=1)
    indices = [read_index(frame) for b in stream if isinstance(b, FrameBatch)
               for frame in b.frames((160, 120))]
    assert indices == list(range(len(film.times)))


def test_an_open_gop_film_is_the_same(tmp_path):
    path = tmp_path / "opengop.mp4"
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        video.options = {"preset": "veryfast",
                         "x264-params": "keyint=24:min-keyint=24:scenecut=0:open-gop=1:bframes=3"}
        for i in range(24 * 5):
            frame = av.VideoFrame.from_ndarray(index_frame(i), format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
    got, want, stream = both(path, audio=False, workers=2, chunk_seconds=1)
    assert len(stream.chunks) >= 4
    assert_same(got, want)


def test_sound_starting_late_is_the_same(tmp_path):
    from test_bad_inputs import write_film

    path = write_film(tmp_path / "late.mp4", seconds=8, audio_start=2.5)
    got, want, _ = both(path, workers=2, chunk_seconds=1)
    _, sound = split(got)
    assert sound and sound[0].start >= 2.4  # on the video's clock, as MediaStream puts it
    assert_same(got, want)


def test_without_sound_or_with_one_batch_size(media_films):
    path = media_films.get("cfr24").path
    for batch_frames in (1, 7, 1000):
        got, want, _ = both(path, audio=False, batch_frames=batch_frames, workers=2,
                            chunk_seconds=1)
        assert_same(got, want)


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(workers=st.integers(2, 4), chunk=st.floats(0.1, 6), batch=st.integers(1, 64),
       name=st.sampled_from(["gop3s", "long", "vfr"]))
def test_any_chunking_gives_the_same_frames(media_films, workers, chunk, batch, name):
    got, want, _ = both(media_films.get(name).path, workers=workers, chunk_seconds=chunk,
                        batch_frames=batch)
    assert_same(got, want)


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_a_truncated_film_gives_what_mediastream_gives(media_films, tmp_path, kind):
    data = media_films.get("mkv").path.read_bytes()
    path = tmp_path / "half.mkv"
    path.write_bytes(data[:len(data) // 2])

    def run(stream):
        items = []
        try:
            for item in stream:
                items.append(item)
        except MediaError as exc:
            return items, str(exc)
        return items, None

    want, want_error = run(MediaStream(path, sizes=SIZES, audio=True, batch_frames=10))
    got, got_error = run(ParallelMediaStream(path, sizes=SIZES, audio=True, batch_frames=10,
                                             workers=2, kind=kind, chunk_seconds=1))
    assert got_error == want_error
    assert split(want)[0]
    assert_same(got, want)
    assert not decode_threads() and not mp.active_children()


def test_a_chunk_error_comes_after_the_frames_before_it(media_films, monkeypatch):
    """A worker's failure reaches the caller in order, with its message, and stops the rest."""
    from scenedet.media.parallel import frames as parallel_frames

    real = parallel_frames._ChunkState.decode

    def failing(self):
        if self.chunk.lower is not None and self.chunk.lower > 0 and self.chunk.upper is None:
            raise MediaError("cannot decode: broken on purpose")
        yield from real(self)

    monkeypatch.setattr(parallel_frames._ChunkState, "decode", failing)
    stream = ParallelMediaStream(media_films.get("cfr24").path, sizes=SIZES, workers=2,
                                 chunk_seconds=1, batch_frames=24)
    got = []
    with pytest.raises(MediaError, match="broken on purpose"):
        for item in stream:
            got.append(item)
    assert [b.index for b in got] == [0, 24, 48, 72]  # the last chunk (second 4) failed
    assert not decode_threads()


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_closing_early_stops_every_worker(media_films, kind):
    items = iter(ParallelMediaStream(media_films.get("long").path, sizes=SIZES, workers=2,
                                     kind=kind, chunk_seconds=1, batch_frames=4))
    assert isinstance(next(items), (FrameBatch, AudioChunk))
    items.close()  # type: ignore[attr-defined]
    assert not decode_threads() and not mp.active_children()


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_stop_all_stops_the_workers_behind_a_prefetch(media_films, kind):
    from scenedet.inference.stream import prefetch, stop_all

    stream = ParallelMediaStream(media_films.get("long").path, sizes=SIZES, workers=2, kind=kind,
                                 chunk_seconds=1, batch_frames=4)
    items = prefetch(lambda: iter(stream), maxsize=1)
    next(items)
    assert stop_all(timeout=20)
    items.close()
    assert not decode_threads() and not mp.active_children()


def test_stop_workers_ends_a_running_stream(media_films):
    items = iter(ParallelMediaStream(media_films.get("long").path, sizes=SIZES, workers=2,
                                     chunk_seconds=1, batch_frames=4))
    next(items)
    chunkpool.stop_workers()
    with pytest.raises(MediaError, match="stopped"):
        list(items)
    assert not decode_threads()


def test_the_factory_picks_the_parallel_stream_only_where_it_applies(media_films):
    path = media_films.get("cfr24").path
    assert isinstance(frame_stream(path, sizes=SIZES), MediaStream)
    assert isinstance(frame_stream(path, sizes=SIZES, decode_workers=2), ParallelMediaStream)
    assert isinstance(frame_stream(path, sizes=(), audio=True, decode_workers=2), MediaStream)
    from scenedet.media.probe import probe
    from scenedet.media.types import MediaRequest

    tapped = frame_stream(path, sizes=SIZES, decode_workers=2, seconds=MediaRequest(frames=1),
                          film=probe(path))
    assert isinstance(tapped, MediaStream)  # the per-second tap decodes in one pass
    with pytest.raises(UsageError, match="at least 1"):
        frame_stream(path, decode_workers=0)
    with pytest.raises(ValueError, match="kind"):
        frame_stream(path, decode_workers=2, decode_worker_kind="fork")  # type: ignore[arg-type]


def test_bad_films_fail_as_mediastream_fails(tmp_path, media_films):
    with pytest.raises(MediaError):
        list(ParallelMediaStream(tmp_path / "nope.mp4", workers=2))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a film" * 100)
    with pytest.raises(MediaError):
        list(ParallelMediaStream(junk, workers=2))


class _Digest:
    """A toy detector whose one segment's label is a digest of every frame and time it saw."""

    def __init__(self) -> None:
        import hashlib

        # one digest per kind: frames and sound each keep their order, not their interleaving
        self.hash, self.sound, self.frames = hashlib.sha256(), hashlib.sha256(), 0

    def add_frames(self, batch: FrameBatch) -> None:
        self.hash.update(batch.times.tobytes())
        self.hash.update(batch.frames((48, 27)).tobytes())
        self.frames += len(batch)

    def add_audio(self, chunk: AudioChunk) -> None:
        self.sound.update(np.float64(chunk.start).tobytes() + chunk.samples.tobytes())

    def finish(self, info):
        from scenedet.media.frames.stream import FrameSegment

        return [FrameSegment(start=0.0, end=info.duration, start_frame=0, end_frame=self.frames,
                             label=self.hash.hexdigest() + self.sound.hexdigest())]


@pytest.fixture
def digest_detector():
    from plugin_helpers import plugin_with

    from scenedet.plugin import DetectorSpec

    with plugin_with(detectors=[DetectorSpec(name="digest", factory=_Digest, width=48, height=27,
                                             audio=True)], name="digest"):
        yield


def test_detectors_see_the_same_with_decode_workers(digest_detector, media_films, monkeypatch):
    from scenedet.inference.framerun import run_detectors, run_plugins
    from scenedet.media.parallel import frames as parallel_frames

    monkeypatch.setattr(parallel_frames, "DEFAULT_CHUNK_SECONDS", 1.0)
    film = media_films.get("gop3s")
    one = run_detectors(film.path, ["digest"], progress=False)
    assert one[0].n_frames == len(film.times)
    for kind in ("thread", "process"):
        two = run_detectors(film.path, ["digest"], progress=False, decode_workers=2,
                            decode_worker_kind=kind)
        assert [r.to_dict() for r in two] == [r.to_dict() for r in one]
    three = run_plugins(film.path, ["digest"], progress=False, decode_workers=3)
    assert [r.to_dict() for r in three] == [r.to_dict() for r in one]
    with pytest.raises(UsageError, match="at least 1"):
        run_plugins(film.path, ["digest"], progress=False, decode_workers=0)


@pytest.mark.slow
def test_scenes_and_detectors_with_decode_workers_give_the_same_results(digest_detector,
                                                                        media_films, tmp_path,
                                                                        monkeypatch):
    """N > 1 leaves the one decode: the scene and the detector each decode in parallel, and
    both results equal the one pass's."""
    from batch_helpers import make_model

    from scenedet.engine import engine as onepass
    from scenedet.inference.framerun import run_plugins
    from scenedet.media.parallel import frames as parallel_frames, seconds as parallel

    monkeypatch.setattr(parallel_frames, "DEFAULT_CHUNK_SECONDS", 2.0)
    monkeypatch.setattr(parallel, "MIN_CHUNK_SECONDS", 3)
    monkeypatch.setattr(parallel, "MAX_CHUNK_SECONDS", 3)
    model = make_model(tmp_path / "kissing.pt")
    film = media_films.get("gop3s").path
    passes = []
    real = onepass.one_pass
    monkeypatch.setattr(onepass, "one_pass", lambda *a, **k: passes.append(1) or real(*a, **k))
    one = run_plugins(film, ["kissing", "digest"], scene_kwargs={"model": model}, progress=False)
    two = run_plugins(film, ["kissing", "digest"], scene_kwargs={"model": model}, progress=False,
                      decode_workers=2)
    assert passes == [1]  # only the first run took the one pass
    assert one[0].to_dict()["scores"] == two[0].to_dict()["scores"]
    assert one[1].to_dict() == two[1].to_dict()


def test_run_passes_decode_workers_to_the_detectors(digest_detector, media_films, monkeypatch):
    """``scenedet run -p DETECTOR --decode-workers 2`` decodes in parallel (no longer ignored)
    and writes the same JSON; 0 is a usage error."""
    from click.testing import CliRunner

    from scenedet.cli import cli
    from scenedet.media.parallel import frames as parallel_frames

    monkeypatch.setattr(parallel_frames, "DEFAULT_CHUNK_SECONDS", 1.0)
    built = []
    real = parallel_frames.ParallelMediaStream
    monkeypatch.setattr(parallel_frames, "ParallelMediaStream",
                        lambda *a, **k: built.append(k["workers"]) or real(*a, **k))
    film = str(media_films.get("gop3s").path)
    one = CliRunner().invoke(cli, ["run", "-p", "digest", film, "-q"])
    two = CliRunner().invoke(cli, ["run", "-p", "digest", film, "-q", "--decode-workers", "2"])
    assert one.exit_code == two.exit_code == 0, two.output
    assert built == [2]
    assert two.stdout == one.stdout
    zero = CliRunner().invoke(cli, ["run", "-p", "digest", film, "--decode-workers", "0"])
    assert zero.exit_code == 2
