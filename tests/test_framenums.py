"""Frame numbers that agree across every output, and damaged or cut-short films on the frame path.

Numbering (docs/outputs.md, "Frame numbers"): frame ``n`` is the ``n``-th frame shown, from 0, and
film time 0 is the first frame shown (PySceneDetect's convention), on every path. The films here
start their timestamps late (a frame, 1.5 s), have B-frames, run at 29.97 fps, or are AVI files,
whose stream starts one decoder delay before the first frame (``Megamind.avi``): a detector's own
frame numbers must be the ones every export computes from its seconds. Damage: the frame path
skips a packet the decoder rejects and counts it, as the per-second path does, and both refuse a
file cut short with the same line.
"""

from __future__ import annotations

import csv
import io
import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from films import HEIGHT, WIDTH, cfr_times, index_frame, read_index, tone, write_film

from scenedet.errors import MediaError
from scenedet.inference.framerun import run_detectors
from scenedet.media.damage import Damage, DamagedMediaWarning
from scenedet.media.seconds.decode import iter_seconds
from scenedet.media.frames.stream import AudioChunk, FrameBatch, MediaStream, _Reorder
from scenedet.media.parallel.frames import ParallelMediaStream
from scenedet.media.probe import probe
from scenedet.media.types import MediaRequest
from scenedet.outputs import render_output
from scenedet.outputs.document import from_dict
from scenedet.outputs.formats import vtt_time
from scenedet.outputs.timecode import frames_to_timecode
from scenedet.synth.shots import ShotFilmRenderer, plan_shot_film

MEGAMIND = Path("/usr/share/doc/opencv-doc/examples/data/Megamind.avi")
NTSC = Fraction(30000, 1001)


@pytest.fixture(autouse=True)
def _with_detectors(monkeypatch):
    from scenedet.plugin._host import reset_host

    monkeypatch.setenv("SCENEDET_PLUGINS", "scenedet,scenedet-shots,scenedet-cues")
    reset_host(None)
    yield
    reset_host(None)


# -- films whose timestamps start late ------------------------------------------------------------


def write_late(path: Path, pictures, *, fps: Fraction, offset: Fraction, codec: str = "libx264",
               bframes: bool = False, time_base: Fraction | None = None) -> Path:
    """``pictures`` (RGB frames) with the first one's timestamp at ``offset`` seconds.

    ``codec="mpeg4"`` with ``bframes`` in an AVI is the ``Megamind.avi`` kind: the container keeps
    no presentation timestamps, its stream starts at decode time 0 and the first frame comes one
    decoder delay later. MP4 and MKV keep the offset as the stream's start.
    """
    tb = time_base or Fraction(1) / fps
    with av.open(str(path), "w") as container:
        video = container.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = pictures[0].shape[1], pictures[0].shape[0], "yuv420p"
        if path.suffix != ".avi":
            video.time_base = tb
        video.codec_context.time_base = tb
        if codec == "libx264":  # "fast" has B-frames (3), "ultrafast" none
            video.options = {"preset": "fast" if bframes else "ultrafast", "crf": "18"}
        else:
            video.codec_context.bit_rate = 2_000_000
            if bframes:
                video.codec_context.max_b_frames = 2
        for i, rgb in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = round((Fraction(i) / fps + offset) / tb), tb
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
    return path


def shot_pictures(fps: int = 25):
    plan = plan_shot_film(0, 3, shots=4, fps=fps, width=160, height=90, min_shot=1.5, max_shot=2.5,
                          bars=False, black=0)
    renderer = ShotFilmRenderer(plan)
    pictures = [renderer.frame(part, i) for part in plan.parts
                for i in range(part.start_frame, part.start_frame + part.frames)]
    return plan, pictures


LATE = {  # name: (suffix, codec, fps, first timestamp, B-frames, time base)
    "mp4 one frame late, B-frames": (".mp4", "libx264", Fraction(25), Fraction(1, 25), True,
                                     Fraction(1, 12800)),
    "mkv 1.5 s late": (".mkv", "libx264", Fraction(25), Fraction(3, 2), False, Fraction(1, 1000)),
    "avi mpeg4 packed B-frames": (".avi", "mpeg4", Fraction(25), Fraction(0), True, None),
    "avi h264": (".avi", "libx264", Fraction(25), Fraction(0), True, None),
    "29.97 one frame late, B-frames": (".mp4", "libx264", NTSC, Fraction(1001, 30000), True,
                                       Fraction(1, 30000)),
}


@pytest.fixture(scope="module")
def late_films(tmp_path_factory):
    root = tmp_path_factory.mktemp("late")
    plan, pictures = shot_pictures()
    films = {}
    for name, (suffix, codec, fps, offset, bframes, tb) in LATE.items():
        path = root / (name.replace(" ", "-").replace(",", "") + suffix)
        films[name] = write_late(path, pictures, fps=fps, offset=offset, codec=codec,
                                 bframes=bframes, time_base=tb)
    return plan, len(pictures), films


@pytest.mark.parametrize("name", LATE)
def test_the_first_frame_shown_is_frame_0_at_0_s(late_films, name):
    _, n, films = late_films
    stream = MediaStream(films[name], sizes=[(16, 9)], batch_frames=64)
    batches = [b for b in stream if isinstance(b, FrameBatch)]
    times = np.concatenate([b.times for b in batches])
    fps = float(LATE[name][2])
    assert len(times) == n == stream.info.n_frames
    assert times[0] == 0.0 and np.all(np.diff(times) > 0)
    assert np.array_equal(np.round(times * fps).astype(int), np.arange(n))  # time <-> number
    assert stream.info.duration == pytest.approx(n / fps, abs=1e-3)
    assert probe(films[name]).video_start == pytest.approx(float(LATE[name][3]), abs=0.002) \
        or name.startswith("avi")  # an AVI's first frame: one decoder delay after its stream


@pytest.mark.parametrize("name", LATE)
def test_a_detectors_frame_numbers_are_every_exports(late_films, name):
    plan, n, films = late_films
    (result,) = run_detectors(films[name], ["shots-content"])
    data = result.to_dict()
    scenes = from_dict(data)  # the film's rate probed, frames from seconds: what every export does
    fps = scenes.frame_rate.value
    got = [(s["start_frame"], s["end_frame"]) for s in data["segments"]]
    assert got == [(s.start_frame, s.end_frame) for s in scenes.scenes]
    assert got[0][0] == 0 and got[-1][1] == n and data["segments"][0]["start"] == 0.0
    assert got[0][1] - got[0][0] >= 12  # no one-frame first shot
    hard = [t.start_frame for t in plan.transitions if t.kind == "hard"]
    assert [c["frame"] for c in data["cuts"]] == hard  # on the frames the film was made with
    rows = list(csv.DictReader(io.StringIO(render_output(scenes, "s.csv"))))
    assert [(int(r["start_frame"]), int(r["end_frame"])) for r in rows] == got
    edl = render_output(scenes, "s.edl")
    for first, last in got:
        tc = f"{frames_to_timecode(first, fps)} {frames_to_timecode(last, fps)}"
        assert tc in edl
    assert ("DROP FRAME" in edl and ";" in edl) == (fps == NTSC) or "NON-DROP" in edl
    vtt = render_output(scenes, "s.vtt")
    for first, last in got:
        assert f"{vtt_time(float(first / fps))} --> {vtt_time(float(last / fps))}" in vtt
    otio = pytest.importorskip("opentimelineio")
    timeline = otio.adapters.read_from_string(render_output(scenes, "s.otio"), "otio_json")
    clips = [c for c in timeline.tracks[0] if isinstance(c, otio.schema.Clip)]
    assert [(round(c.source_range.start_time.value),
             round(c.source_range.end_time_exclusive().value)) for c in clips] == got


def test_29_97_timecodes_are_drop_frame_at_the_detectors_frames(late_films):
    _, _, films = late_films
    (result,) = run_detectors(films["29.97 one frame late, B-frames"], ["shots-content"])
    scenes = from_dict(result.to_dict())
    assert scenes.frame_rate.drop_frame
    assert [s.start_timecode for s in scenes.scenes] == \
        [frames_to_timecode(s.start_frame, NTSC) for s in result.segments]
    assert all(";" in s.start_timecode for s in scenes.scenes)


@pytest.fixture(scope="module")
def index_avi(tmp_path_factory):
    """An AVI (MPEG-4 with B-frames) of frames that show their own index: its stream starts one
    frame before its first frame."""
    pictures = [index_frame(i) for i in range(72)]
    path = tmp_path_factory.mktemp("avi") / "index.avi"
    return write_late(path, pictures, fps=Fraction(24), offset=Fraction(0), codec="mpeg4",
                      bframes=True)


def test_the_per_second_path_and_the_frame_path_share_one_clock(index_avi):
    with av.open(str(index_avi)) as container:  # what made the frame numbers disagree
        stream = container.streams.video[0]
        first = next(container.decode(stream))
        assert stream.start_time == 0 and first.pts == 1
    info = probe(index_avi)
    assert info.video_start == pytest.approx(1 / 24) and info.n_seconds == 2
    frames = MediaStream(index_avi, sizes=[(WIDTH, HEIGHT)], batch_frames=100)
    (batch,) = [b for b in frames if isinstance(b, FrameBatch)]
    shown = [read_index(p) for p in batch.frames((WIDTH, HEIGHT))]
    assert shown == list(range(72)) and batch.times[0] == 0.0
    for second in iter_seconds(index_avi, MediaRequest(frames=1)):
        # the still of second k: the last frame at or before k + 1 s on the frame path's clock
        want = max(i for i, t in enumerate(batch.times) if t <= second.index + 1 + 1e-9)
        assert read_index(second.frames[-1]) == want == 24 * (second.index + 1)


def test_stills_and_clips_of_a_shot_start_on_its_first_frame(index_avi, tmp_path):
    from scenedet.outputs.clips import copy_clip
    from scenedet.outputs.stills import grab_frames

    (still,) = grab_frames(index_avi, [30 / 24], width=None)
    assert read_index(still) == 30
    clip = copy_clip(index_avi, 24 / 24, 48 / 24, tmp_path / "c.avi")
    with av.open(str(clip.path)) as container:
        first = next(container.decode(container.streams.video[0]))
        assert read_index(first.to_ndarray(format="rgb24")) == 24


def test_reorder_puts_guessed_timestamps_back_in_order():
    class F:
        def __init__(self, pts):
            self.pts = pts

    def run(stamps, step=1):
        r = _Reorder(step)
        out = [p for s in stamps for _, p in r.push(F(s))]
        return out + [p for _, p in r.drain()]

    assert run([1, 2, 3, 5, 4, 6, 8, 7, 9, 11, 10]) == list(range(1, 12))  # packed B-frames
    assert run([0, 3, 1, 2, 6, 4, 5]) == [0, 1, 2, 3, 4, 5, 6]
    assert run([100, 101, 102, 0, 1, 2]) == [100, 101, 102, 0, 1, 2]  # a reset stays a reset
    assert run([0, None, 2, 1]) == [0, None, 1, 2]


# -- damage and truncation on the frame path ------------------------------------------------------


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    import test_bad_inputs as bad

    root = tmp_path_factory.mktemp("damaged")
    clean = write_film(root / "clean.mp4", cfr_times(96, Fraction(24)), fps=Fraction(24), gop=24,
                       audio=tone(4.0)).path  # a keyframe a second: chunks for parallel decoding
    n_video, n_audio = len(bad.packets_of(clean, "video")), len(bad.packets_of(clean, "audio"))
    films = {"clean": clean}
    films["video"] = root / "bad-video.mp4"
    bad.zero_packets(clean, films["video"], "video", [n_video // 2])
    films["audio"] = root / "bad-audio.mp4"
    bad.zero_packets(clean, films["audio"], "audio", list(range(n_audio // 2, n_audio // 2 + 3)))
    films["first audio"] = root / "bad-first-audio.mp4"
    bad.zero_packets(clean, films["first audio"], "audio", [0])
    films["every audio"] = root / "bad-every-audio.mp4"
    bad.zero_packets(clean, films["every audio"], "audio", list(range(n_audio)))
    return films


def frame_pass(path, **kw):
    stream = MediaStream(path, **{"sizes": [(16, 12)], "batch_frames": 8, **kw})
    items = list(stream)
    return ([b for b in items if isinstance(b, FrameBatch)],
            [c for c in items if isinstance(c, AudioChunk)], stream.info)


def seconds_damage(path) -> Damage:
    damage = Damage()
    for _ in iter_seconds(path, MediaRequest(frames=1, audio=True), strategy="sequential",
                          damage=damage):
        pass
    return damage


@pytest.mark.parametrize("name", ["video", "audio", "first audio", "every audio"])
def test_the_frame_path_skips_damage_and_counts_it_as_the_per_second_path(damaged, name):
    damage = Damage()
    batches, chunks, info = frame_pass(damaged[name], audio=True, damage=damage)
    assert damage and damage.to_dict() == seconds_damage(damaged[name]).to_dict()
    assert info.damage is damage
    times = np.concatenate([b.times for b in batches])
    clean_batches, clean_chunks, _ = frame_pass(damaged["clean"], audio=True)
    clean_times = np.concatenate([b.times for b in clean_batches])
    if name == "video":  # the frames that need the lost one are lost too, up to the next keyframe
        assert 96 - 24 <= len(times) < len(clean_times) and np.all(np.diff(times) > 0)
        assert set(times) <= set(clean_times)  # the others keep their own times
    else:
        assert np.array_equal(times, clean_times)
    # the sound stays one signal on film time: each chunk starts where the one before ended,
    # and the damaged stretch is silence
    for a, b in zip(chunks, chunks[1:]):
        assert b.start == pytest.approx(a.start + len(a.samples) / a.rate, abs=1.5 / a.rate)
    total = sum(len(c.samples) for c in chunks)
    assert total == pytest.approx(sum(len(c.samples) for c in clean_chunks), abs=2048)
    if name == "every audio":
        assert not any(c.samples.any() for c in chunks)


def test_damage_nobody_collects_is_one_warning(damaged):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame_pass(damaged["video"])
    lines = [str(w.message) for w in caught if issubclass(w.category, DamagedMediaWarning)]
    assert len(lines) == 1 and "1 damaged video packet" in lines[0]


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_the_parallel_frame_stream_counts_each_damaged_packet_once(damaged, kind):
    want, got = Damage(), Damage()
    plain = list(MediaStream(damaged["video"], sizes=[(16, 12)], audio=True, batch_frames=8,
                             damage=want))
    stream = ParallelMediaStream(damaged["video"], sizes=[(16, 12)], audio=True, batch_frames=8,
                                 workers=2, kind=kind, chunk_seconds=1, damage=got)
    items = list(stream)
    assert len(stream.chunks) > 1
    assert got.to_dict() == want.to_dict() and got.video_packets_skipped == 1
    frames = [np.concatenate([b.times for b in x if isinstance(b, FrameBatch)]) for x in (plain, items)]
    assert np.array_equal(*frames)


def test_a_part_of_a_damaged_film_skips_and_counts_too(damaged):
    damage = Damage()
    batches, _, info = frame_pass(damaged["video"], audio=True, damage=damage, start=1.0, end=3.5)
    assert damage.video_packets_skipped == 1 and info.start == 1.0 and batches


def _cut(src: Path, out: Path) -> Path:
    data = src.read_bytes()
    out.write_bytes(data[:len(data) // 2])
    return out


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_a_film_cut_short_is_the_same_one_line_on_both_paths(tmp_path, suffix):
    import test_bad_inputs as bad

    film = bad.write_film(tmp_path / f"whole{suffix}", seconds=6)
    if suffix == ".mp4":  # index first: the cut leaves an index that points past the end
        with av.open(str(film)) as src, av.open(str(tmp_path / "fast.mp4"), "w",
                                                options={"movflags": "+faststart"}) as dst:
            streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
            for packet in src.demux():
                if packet.dts is not None:
                    packet.stream = streams[packet.stream.index]
                    dst.mux(packet)
        film = tmp_path / "fast.mp4"
    half = _cut(film, tmp_path / f"half{suffix}")
    with pytest.raises(MediaError) as per_second:
        for _ in iter_seconds(half, MediaRequest(frames=1, audio=True)):
            pass
    decoded = []
    for make in (lambda: MediaStream(half, sizes=[(16, 12)], audio=True, batch_frames=8),
                 lambda: ParallelMediaStream(half, sizes=[(16, 12)], audio=True, batch_frames=8,
                                             workers=2, chunk_seconds=1)):
        got = []
        with pytest.raises(MediaError) as frame_path:
            for item in make():
                got.append(item)
        assert str(frame_path.value) == str(per_second.value)
        assert "truncated file" in str(per_second.value) and "\n" not in str(per_second.value)
        decoded.append(sum(len(b) for b in got if isinstance(b, FrameBatch)))
    assert decoded[0] == decoded[1]
    if suffix == ".mkv":  # the frames before the gap came first
        assert 0 < decoded[0] < 6 * 8


# -- Megamind.avi -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not MEGAMIND.exists(), reason="Debian's opencv-doc is not installed")
def test_megamind_on_the_frame_path():
    """MPEG-4 with packed B-frames in an AVI (timestamps 1, 2, 3, 5, 4, ...; the stream starts a
    frame before its first frame, an encoded black frame) and a bad first AC3 packet."""
    damage = Damage()
    batches, chunks, info = frame_pass(MEGAMIND, audio=True, damage=damage)
    times = np.concatenate([b.times for b in batches])
    assert damage.to_dict() == {"audio_packets_skipped": 1, "video_packets_skipped": 0,
                                "seconds": [0]}
    assert len(times) == info.n_frames == 270 and times[0] == 0.0
    assert np.array_equal(np.round(times * info.fps).astype(int), np.arange(270))
    assert chunks and chunks[0].start < 0  # the sound starts (with the damage) before the picture
    parallel = ParallelMediaStream(MEGAMIND, sizes=[(16, 12)], audio=True, batch_frames=8,
                                   workers=2, chunk_seconds=1, damage=Damage())
    got = [b for b in parallel if isinstance(b, FrameBatch)]
    assert np.array_equal(np.concatenate([b.times for b in got]), times)
    for name in ("shots-content", "cues"):  # cues listens: the bad AC3 packet is skipped
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DamagedMediaWarning)
            (result,) = run_detectors(MEGAMIND, [name])
        data = result.to_dict()
        scenes = from_dict(data)
        assert [(s["start_frame"], s["end_frame"]) for s in data["segments"]] == \
            [(s.start_frame, s.end_frame) for s in scenes.scenes]
    (shots,) = run_detectors(MEGAMIND, ["shots-content"])
    assert [c.start_frame for c in shots.cuts] == [98, 154, 200]  # no cut after the black frame
    assert shots.segments[0].start_frame == 0 and shots.segments[-1].end_frame == 270
