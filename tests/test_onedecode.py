"""One decode for per-second scenes and frame-level detectors: the per-second tap on the frame
path gives exactly what ``iter_seconds`` gives, a mixed run opens the film once for decoding,
frame-level pictures are upright, and frame-level runs show progress."""

from __future__ import annotations

import io
import warnings
from fractions import Fraction

import numpy as np
import pytest
from films import AUDIO_RATE, cfr_times, media_films, tone  # noqa: F401
from batch_helpers import make_model
from plugin_helpers import plugin_with

from scenedet.inference.framerun import run_detectors, run_plugins
from scenedet.media.seconds.decode import iter_seconds
from scenedet.media.frames.stream import AudioChunk, FrameBatch, FrameSegment, MediaStream, iter_frames
from scenedet.media.probe import probe
from scenedet.media.types import MediaRequest, Second
from scenedet.plugin import DetectorSpec


def tapped(path, request, **kwargs):
    """The seconds of the frame path's tap, and the frames it decoded meanwhile."""
    stream = MediaStream(path, sizes=[(32, 18)], seconds=request, film=probe(path), **kwargs)
    seconds, frames = [], 0
    for item in stream:
        if isinstance(item, Second):
            seconds.append(item)
        elif isinstance(item, FrameBatch):
            frames += len(item)
    return seconds, frames


def assert_same_seconds(got, want):
    assert [s.index for s in got] == [s.index for s in want] == list(range(len(want)))
    for a, b in zip(got, want):
        assert len(a.frames) == len(b.frames)
        for x, y in zip(a.frames, b.frames):
            assert x.shape == y.shape and x.dtype == y.dtype and np.array_equal(x, y)
        if b.audio is None:
            assert a.audio is None
        else:
            assert a.audio.shape == b.audio.shape == (16_000,)
            assert np.array_equal(a.audio, b.audio)


@pytest.fixture(scope="module")
def late_audio_film(tmp_path_factory):
    """Audio that starts 1.5 s after the first frame (the muxer places it by its pts)."""
    from scenedet.media.encode import FilmWriter
    from films import HEIGHT, WIDTH, index_frame

    path = tmp_path_factory.mktemp("late") / "late.mp4"
    with FilmWriter(path, width=WIDTH, height=HEIGHT, fps=24, gop=24, audio_rate=AUDIO_RATE) as w:
        w._audio_pts = int(1.5 * AUDIO_RATE)  # the audio's first sample plays at 1.5 s
        sound = tone(3.0)
        for i, t in enumerate(cfr_times(120, Fraction(24))):
            w.write_frame(index_frame(i), time=t)
            if i % 24 == 0 and i // 24 < 3:
                w.write_audio(sound[(i // 24) * AUDIO_RATE:(i // 24 + 1) * AUDIO_RATE])
    return path


@pytest.mark.parametrize("name", ["cfr24", "cfr25", "ntsc", "vfr", "fractional", "click",
                                  "click-mkv", "stereo", "silent", "rot90", "rot180-flip"])
def test_the_tap_gives_iter_seconds_pixels_and_audio(media_films, name):
    film = media_films.get(name)
    request = MediaRequest(frames=1, audio=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # films without sound: NoAudioWarning
        want = list(iter_seconds(film.path, request, strategy="sequential"))
    got, frames = tapped(film.path, request)
    assert frames == len(film.times)  # the detectors saw every frame meanwhile
    assert_same_seconds(got, want)


def test_the_tap_matches_with_audio_starting_late(late_audio_film):
    request = MediaRequest(frames=1, audio=True)
    want = list(iter_seconds(late_audio_film, request, strategy="sequential"))
    got, _ = tapped(late_audio_film, request)
    assert_same_seconds(got, want)
    signal = np.concatenate([s.audio for s in got])
    first = np.flatnonzero(np.abs(signal) > 0.01)[0]  # the tone starts at 1.5 s (24,000)
    assert abs(first - 24_000) < 16_000 * 0.03 and got[3].audio.any()


@pytest.mark.parametrize("request_", [MediaRequest(frames=4), MediaRequest(frames=0, audio=True),
                                      MediaRequest(frames=1, audio=False)])
def test_the_tap_serves_clips_and_audio_alone(media_films, request_):
    film = media_films.get("click")
    want = list(iter_seconds(film.path, request_, strategy="sequential"))
    got, _ = tapped(film.path, request_)
    assert_same_seconds(got, want)


def test_the_tap_gives_silence_when_told_to_ignore_audio(media_films):
    film = media_films.get("click")
    request = MediaRequest(frames=1, audio=True)
    want = list(iter_seconds(film.path, request, strategy="sequential", use_audio=False))
    got, _ = tapped(film.path, request, use_audio=False)
    assert_same_seconds(got, want)
    assert not any(s.audio.any() for s in got)


@pytest.mark.parametrize("kind, pick", [("video", "mid"), ("audio", "first"), ("audio", "mid")])
def test_the_tap_skips_damaged_packets_as_iter_seconds_does(tmp_path, kind, pick):
    import test_bad_inputs as bad

    from scenedet.media.damage import Damage

    clean = bad.write_film(tmp_path / "clean.mp4")
    n = len(bad.packets_of(clean, kind))
    path = tmp_path / "damaged.mp4"
    bad.zero_packets(clean, path, kind, [0] if pick == "first" else list(range(n // 2, n // 2 + 3)))
    request = MediaRequest(frames=1, audio=True)
    want_damage, got_damage = Damage(), Damage()
    want = list(iter_seconds(path, request, strategy="sequential", damage=want_damage))
    got, _ = tapped(path, request, damage=got_damage)
    assert_same_seconds(got, want)
    assert got_damage and got_damage.to_dict() == want_damage.to_dict()


def test_the_tap_refuses_audio_lagging_too_far_rather_than_holding_pictures(late_audio_film,
                                                                            monkeypatch):
    import scenedet.media.frames.secondtap as secondtap
    from scenedet.errors import MediaError

    monkeypatch.setattr(secondtap, "MAX_PENDING", 0)  # the audio starts 1.5 s late: too far
    with pytest.raises(MediaError, match="audio lags its video by more than 0 s"):
        tapped(late_audio_film, MediaRequest(frames=1, audio=True))


def test_the_tap_holds_a_few_seconds_whatever_the_films_length(media_films):
    import tracemalloc

    def peak(film):
        stream = MediaStream(film.path, sizes=[(32, 18)], seconds=MediaRequest(frames=1, audio=True),
                             film=probe(film.path), batch_frames=16)
        tracemalloc.start()
        try:
            for _ in stream:
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    short, long = peak(media_films.get("click")), peak(media_films.get("long"))  # 5 s, 40 s
    assert long < short + 512 * 1024, (short, long)


# --- rotation on the frame path -----------------------------------------------------------------


@pytest.mark.parametrize("rotation", [90, 180, -90])
@pytest.mark.parametrize("hflip", [False, True])
def test_frame_level_pictures_are_upright(media_films, rotation, hflip):
    """The oracle is the unrotated film's small frames, turned as test_media turns stills."""
    film = media_films.get(f"rot{rotation % 360}{'-flip' if hflip else ''}")
    w, h = 40, 30
    turned = rotation % 180 != 0
    stored = np.concatenate([b.frames((h, w) if turned else (w, h)) for b in
                             iter_frames(media_films.get("rot0").path, *((h, w) if turned else (w, h)))])
    shown = np.concatenate([b.frames((w, h)) for b in iter_frames(film.path, w, h)])
    assert shown.shape == (len(stored), h, w, 3) and shown.flags.c_contiguous
    expected = np.rot90(stored, k=rotation // 90, axes=(1, 2))
    assert np.array_equal(shown, expected[:, :, ::-1] if hflip else expected)


# --- a mixed run: one decode ------------------------------------------------------------------


class _Keep:
    """A toy detector: keeps the luma of every small frame, one segment per film."""

    def __init__(self) -> None:
        self.luma: list[float] = []

    def add_frames(self, batch: FrameBatch) -> None:
        self.luma += list(batch.frames((32, 18)).mean(axis=(1, 2, 3)))

    def add_audio(self, chunk: AudioChunk) -> None:
        pass

    def finish(self, info):
        return [FrameSegment(start=0.0, end=info.duration, start_frame=0,
                             end_frame=len(self.luma), score=float(np.mean(self.luma)))]


@pytest.fixture
def toy_detector():
    with plugin_with(detectors=[DetectorSpec(name="toy-keep", factory=_Keep, width=32, height=18,
                                             audio=True, shots=True)]):
        yield


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("model") / "m.pt")


def _count_opens(monkeypatch):
    import av

    import scenedet.media.probe as probe_module

    opened, probed = [], []
    real_open, real_probe = av.open, probe_module.probe

    def counting_open(*args, **kwargs):
        opened.append(args[0] if args else kwargs.get("file"))
        return real_open(*args, **kwargs)

    def counting_probe(*args, **kwargs):
        probed.append(args[0])
        return real_probe(*args, **kwargs)

    monkeypatch.setattr(av, "open", counting_open)
    monkeypatch.setattr(probe_module, "probe", counting_probe)
    return opened, probed


@pytest.mark.slow  # scores a film with ResNet-18 and VGGish
def test_a_scene_and_a_detector_share_one_decode(toy_detector, media_films, model_file,
                                                 monkeypatch):
    film = media_films.get("click")
    kwargs = dict(model=model_file, min_length=1, threshold=0.5)
    scene_alone, = run_plugins(film.path, ["kissing"], scene_kwargs=kwargs)
    detector_alone, = run_detectors(film.path, ["toy-keep"])
    opened, probed = _count_opens(monkeypatch)
    scene, detector = run_plugins(film.path, ["kissing", "toy-keep"], scene_kwargs=kwargs,
                                  snap_to="toy-keep", snap_tolerance=0.5)
    # one probe (which opens the file once) and ONE container opened for decoding
    assert len(probed) == 1 and len(opened) == 2
    assert detector == detector_alone.to_dict() or detector.to_dict() == detector_alone.to_dict()
    np.testing.assert_allclose(scene["scores"], scene_alone.scores, rtol=1e-5, atol=1e-6)
    assert len(scene["scores"]) == probe_n(film.path)
    assert scene["settings"]["snap_to"]["detector"] == "toy-keep"
    # the two-pass way, for contrast: the scene decodes the film again
    opened.clear()
    run_plugins(film.path, ["kissing", "toy-keep"], scene_kwargs=kwargs, one_decode=False)
    assert len(opened) >= 4


def probe_n(path):
    return probe(path).n_seconds


# --- progress on stderr -----------------------------------------------------------------------


def test_frame_level_runs_show_progress_when_asked_and_only_then(toy_detector, media_films,
                                                                  capsys):
    film = media_films.get("ntsc")  # no sound: the last frame's time (4.97 s) ends the bar
    run_detectors(film.path, ["toy-keep"], progress=True)
    err = capsys.readouterr().err
    assert "ntsc.mp4: 5/5 s (100%)" in err and "film-s/s" in err
    run_detectors(film.path, ["toy-keep"], progress=False)
    run_detectors(film.path, ["toy-keep"])  # None: stderr is not a terminal here
    assert capsys.readouterr().err == ""


def test_the_cli_progress_respects_quiet(toy_detector, media_films, monkeypatch):
    from click.testing import CliRunner

    import scenedet.progress as progress_module
    from scenedet.cli import cli

    monkeypatch.setattr(progress_module, "_isatty", lambda stream: True)
    film = media_films.get("cfr24")
    loud = CliRunner().invoke(cli, ["run", "-p", "toy-keep", str(film.path)])
    assert loud.exit_code == 0, loud.output
    assert "5/5 s (100%)" in loud.stderr
    quiet = CliRunner().invoke(cli, ["run", "-p", "toy-keep", str(film.path), "-q"])
    assert quiet.exit_code == 0 and "film-s/s" not in quiet.stderr


def test_progress_is_written_to_the_given_stream():
    from scenedet.progress import Progress

    out = io.StringIO()
    bar = Progress(4, label="f: ", enabled=True, stream=out)
    bar.update(4)
    bar.close()
    assert "f: 4/4 s (100%)" in out.getvalue()


# --- outputs of detectors and of several plugins -------------------------------------------------


class _Broken(_Keep):
    def finish(self, info):
        raise RuntimeError("the detector broke at the end")


def _boom(scenes):
    raise RuntimeError("this exporter always fails")


@pytest.fixture
def toy_outputs():
    from scenedet.plugin import ExporterSpec

    with plugin_with(
            detectors=[DetectorSpec(name="toy-keep", factory=_Keep, width=32, height=18, audio=True,
                                    shots=True),
                       DetectorSpec(name="toy-two", factory=_Keep, width=32, height=18),
                       DetectorSpec(name="toy-broken", factory=_Broken, width=32, height=18)],
            exporters=[ExporterSpec(name="boom", suffixes=(".boom",), function=_boom)]):
        yield


def _run(*args):
    from click.testing import CliRunner

    from scenedet.cli import cli

    return CliRunner().invoke(cli, ["run", *map(str, args)])


def test_one_detector_writes_every_format(toy_outputs, media_films, tmp_path):
    import csv
    import json

    film = media_films.get("cfr24").path
    result = _run("-p", "toy-keep", film, "-o", tmp_path / "k.edl", "-o", tmp_path / "k.csv",
                  "-o", tmp_path / "k.json", "-o", tmp_path / "k.otio", "-q")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "k.json").read_text())
    assert data["scene"] == "toy-keep" and data["time_grid"] == "frame"
    rows = list(csv.DictReader((tmp_path / "k.csv").open()))
    assert len(rows) == len(data["segments"]) == 1
    edl = (tmp_path / "k.edl").read_text()
    assert "001" in edl and "00:00:05:00" in edl  # the one segment ends at 5 s (frame 120)
    assert (tmp_path / "k.otio").stat().st_size > 0


def test_several_plugins_write_one_json_or_one_file_each(toy_outputs, media_films, tmp_path):
    import json

    film = media_films.get("cfr24").path
    result = _run("-p", "toy-keep", "-p", "toy-two", film, "-o", tmp_path / "all.json",
                  "-o", tmp_path / "f.{scene}.edl", "-o", tmp_path / "f.{scene}.json")
    assert result.exit_code == 0, result.output
    both = json.loads((tmp_path / "all.json").read_text())
    assert both["version"] == 1 and both["video"] == str(film)
    assert [d["scene"] for d in both["results"]] == ["toy-keep", "toy-two"]
    for name, data in zip(("toy-keep", "toy-two"), both["results"]):
        assert json.loads((tmp_path / f"f.{name}.json").read_text()) == data
        assert "TITLE" in (tmp_path / f"f.{name}.edl").read_text()
    assert f"-> {tmp_path / 'f.toy-two.edl'}" in result.stderr
    stdout = _run("-p", "toy-keep", "-p", "toy-two", film, "-q")  # no -o: the run's JSON
    assert [d["scene"] for d in json.loads(stdout.stdout)["results"]] == ["toy-keep", "toy-two"]


@pytest.mark.parametrize("outputs, needle", [
    (["x.edl"], "cannot hold the results of 2 plugins (toy-keep, toy-two); put {scene}"),
    (["x.csv", "y.json"], "x.{scene}.csv"),
    (["a.json", "a.json"], "named twice"),
    (["f.{scene}.json", "f.toy-two.json"], "named twice"),
    (["x.xyz"], "names no output format"),
])
def test_ambiguous_outputs_are_one_line_exit_2_before_decoding(toy_outputs, tmp_path, outputs,
                                                              needle):
    missing = tmp_path / "no-such-film.mp4"  # decoding it would fail differently
    args = [a for o in outputs for a in ("-o", tmp_path / o)]
    result = _run("-p", "toy-keep", "-p", "toy-two", missing, *args)
    assert result.exit_code == 2, result.output
    assert needle in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output and list(tmp_path.iterdir()) == []


def test_a_failure_leaves_no_output_whole_or_half(toy_outputs, media_films, tmp_path):
    film = media_films.get("cfr24").path
    # an exporter failing: rendered before anything is written, so not even the EDL is there
    result = _run("-p", "toy-keep", film, "-o", tmp_path / "good.edl", "-o", tmp_path / "bad.boom")
    assert result.exit_code == 1 and "exporter 'boom' failed" in result.output
    assert list(tmp_path.iterdir()) == []
    # a detector failing at the end of the pass: nothing written either
    result = _run("-p", "toy-keep", "-p", "toy-broken", film, "-o", tmp_path / "f.{scene}.csv",
                  "-o", tmp_path / "all.json")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # scores a film with ResNet-18 and VGGish
def test_a_scene_and_a_detector_write_one_file_each_from_the_cli(toy_outputs, media_films,
                                                                  model_file, tmp_path):
    import csv
    import json

    film = media_films.get("click").path
    result = _run("-p", "kissing", "-p", "toy-keep", film, "--model", model_file, "-l", "1",
                  "-t", "0.01", "--label-threshold", "0", "--snap-to", "toy-keep",
                  "-o", tmp_path / "f.{scene}.csv", "-o", tmp_path / "f.{scene}.vtt",
                  "-o", tmp_path / "all.json", "-q")
    assert result.exit_code == 0, result.output
    scene, detector = json.loads((tmp_path / "all.json").read_text())["results"]
    assert scene["scene"] == "kissing" and detector["scene"] == "toy-keep"
    assert len(scene["scores"]) == 5 and scene["segments"] == [
        {**scene["segments"][0], "start": 0, "end": 5}]  # every second positive: one scene
    rows = list(csv.DictReader((tmp_path / "f.kissing.csv").open()))
    assert len(rows) == 1 and float(rows[0]["end_seconds"]) == 5 and rows[0]["end_frame"] == "120"
    assert (tmp_path / "f.toy-keep.vtt").read_text().startswith("WEBVTT")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "all.json", "f.kissing.csv", "f.kissing.vtt", "f.toy-keep.csv", "f.toy-keep.vtt"]


def test_every_output_that_would_mix_plugins_is_said_in_one_line(toy_outputs, tmp_path):
    """Not one failed run per output: the -o, the plot and the stills at once (a plain report
    path is no such output: one page holds every plugin's result, a section each)."""
    result = _run("-p", "toy-keep", "-p", "toy-two", "missing.mp4", "-o", tmp_path / "x.edl",
                  "--plot", tmp_path / "p.png", "--report", tmp_path / "r.html",
                  "--stills", tmp_path / "stills")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: 3 outputs would mix the results of 2 plugins (toy-keep, "
                           "toy-two); put {scene} in each path")
    for example in ("x.{scene}.edl", "p.{scene}.png", "stills/{scene}"):
        assert example in line
    assert "r.html" not in line
    assert list(tmp_path.iterdir()) == []
