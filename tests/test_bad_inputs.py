"""The bad-input corpus: films, files, names and arguments people really give scenedet.

Every case either works with a documented degrade or fails with one line and a documented exit
code; never a traceback, never a hang (subprocesses are bounded), never a partial output.
docs/reliability.md lists each case with the test that holds the code to it. The media cases of
tests/test_media.py (missing, folder, empty, text, WAV, PNG, truncated MP4/MKV) stay there.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from click.testing import CliRunner

import scenedet
from scenedet.cli import cli
from scenedet.errors import MediaError, ModelFileError, OutputError, UsageError, WeightsError
from scenedet.inference.modelfile import ModelMeta, save_model_file
from scenedet.inference.pipeline import run_scene
from scenedet.media.damage import DamagedMediaWarning
from scenedet.media.seconds.decode import iter_seconds
from scenedet.media.encode import FilmWriter
from scenedet.media.probe import probe
from scenedet.media.types import MediaRequest

TIMEOUT = 120
STILL_AUDIO = MediaRequest(frames=1, audio=True)


# -- generating the corpus ---------------------------------------------------------------------


def write_film(path: Path, *, seconds: float = 4, width: int = 64, height: int = 48, fps: int = 8,
               audio_rate: int | None = 48_000, layout: str = "mono", audio_start: float = 0.0,
               video_start: float = 0.0, codec: str = "libx264", pix_fmt: str = "yuv420p",
               audio_codec: str = "aac", vfr: bool = False, rotation: int = 0) -> Path:
    """A small film written with PyAV directly: any size, layout or stream offsets.

    Frame ``i`` is grey level ``(40 * second + i) % 256``; audio is a 440 Hz tone at 0.2.
    """
    with av.open(str(path), "w") as container:
        video = container.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        ticks = 1000 if path.suffix == ".mkv" else 90_000  # Matroska counts milliseconds
        video.time_base = Fraction(1, ticks)
        video.codec_context.time_base = video.time_base
        if codec == "libx264":
            video.options = {"preset": "ultrafast"}
        if rotation:
            video.set_display_rotation(rotation)
        audio = None
        if audio_rate:
            audio = container.add_stream(audio_codec, rate=audio_rate, layout=layout)
        n_frames = int(seconds * fps)
        times = [video_start + i / fps for i in range(n_frames)]
        if vfr:  # bursts and gaps: 3 frames in 0.1 s, then a 0.6 s hold, repeated
            times = [video_start + k // 3 + (k % 3) * 0.05 + (0.4 if k % 3 == 2 else 0.0)
                     for k in range(int(seconds) * 3)]
        channels = len(av.AudioLayout(layout).channels)
        chunk = 1024
        a_pts = round(audio_start * audio_rate) if audio_rate else 0
        a_end = round(seconds * audio_rate) if audio_rate else 0
        t_audio = audio_start
        for i, t in enumerate(times):
            while audio is not None and t_audio <= t and a_pts < a_end:
                n = np.arange(a_pts, a_pts + chunk) / audio_rate
                data = np.repeat((0.2 * np.sin(2 * np.pi * 440 * n)).astype(np.float32)[None],
                                 channels, axis=0)
                frame = av.AudioFrame.from_ndarray(data, format="fltp", layout=layout)
                frame.sample_rate, frame.pts = audio_rate, a_pts
                frame.time_base = Fraction(1, audio_rate)
                for packet in audio.encode(frame):
                    container.mux(packet)
                a_pts += chunk
                t_audio = a_pts / audio_rate
            level = (40 * int(t) + i) % 256
            rgb = np.full((height, width, 3), level, np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = round(t * ticks), video.time_base
            for packet in video.encode(frame):
                container.mux(packet)
        for stream in (video, audio):
            if stream is not None:
                for packet in stream.encode(None):
                    container.mux(packet)
    return path


def packets_of(path: Path, kind: str) -> list[tuple[int, int, float]]:
    """``(byte position, size, time)`` of each packet of the first ``kind`` stream."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        return [(p.pos, p.size, float(p.pts * p.time_base)) for p in container.demux(stream)
                if p.size and p.pts is not None]


def zero_packets(path: Path, out: Path, kind: str, which: list[int]) -> list[float]:
    """A copy of ``path`` whose ``kind`` packets ``which`` are zeroed (FFmpeg: "Invalid data")."""
    data = bytearray(path.read_bytes())
    packets = packets_of(path, kind)
    times = []
    for i in which:
        pos, size, t = packets[i]
        data[pos:pos + size] = bytes(size)
        times.append(t)
    out.write_bytes(bytes(data))
    return times


def lie_about_duration(path: Path, out: Path, factor: float) -> Path:
    """A Matroska copy whose header ``Duration`` is ``factor`` times the truth."""
    data = bytearray(path.read_bytes())
    at = data.find(b"\x44\x89\x88")  # EBML Duration, 8-byte float
    assert at > 0, "no Duration element"
    value = np.frombuffer(bytes(data[at + 3:at + 11]), dtype=">f8")[0]
    data[at + 3:at + 11] = np.array([value * factor], dtype=">f8").tobytes()
    out.write_bytes(bytes(data))
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    clean = write_film(root / "clean.mp4")
    films = {"clean": clean}
    films["corrupt first audio packet"] = root / "bad-audio-start.mp4"
    zero_packets(clean, films["corrupt first audio packet"], "audio", [0])
    n_video = len(packets_of(clean, "video"))
    films["corrupt mid video packet"] = root / "bad-video-mid.mp4"
    zero_packets(clean, films["corrupt mid video packet"], "video", [n_video // 2])
    films["corrupt mid audio packets"] = root / "bad-audio-mid.mp4"
    n_audio = len(packets_of(clean, "audio"))
    zero_packets(clean, films["corrupt mid audio packets"], "audio",
                 list(range(n_audio // 2, n_audio // 2 + 3)))
    films["every audio packet corrupt"] = root / "bad-audio-all.mp4"
    zero_packets(clean, films["every audio packet corrupt"], "audio", list(range(n_audio)))
    films["every video packet corrupt"] = root / "bad-video-all.mp4"
    zero_packets(clean, films["every video packet corrupt"], "video", list(range(n_video)))
    mkv = write_film(root / "clean.mkv")
    films["duration longer than the data"] = lie_about_duration(mkv, root / "long-lie.mkv", 3.0)
    films["duration shorter than the data"] = lie_about_duration(mkv, root / "short-lie.mkv", 0.25)
    films["variable frame rate"] = write_film(root / "vfr.mp4", vfr=True)
    films["rotated 90"] = write_film(root / "rot.mp4", rotation=90)
    films["1x1"] = write_film(root / "tiny.mkv", width=1, height=1, codec="ffv1",
                              pix_fmt="yuv444p")
    films["4097x17"] = write_film(root / "wide.mkv", width=4097, height=17, codec="ffv1",
                                  pix_fmt="yuv444p", seconds=2)
    films["8 kHz mono audio"] = write_film(root / "8k.mp4", audio_rate=8000)
    films["5.1 audio"] = write_film(root / "51.mp4", layout="5.1")
    films["audio starts late"] = write_film(root / "late-audio.mp4", audio_start=2.0)
    films["video starts late"] = write_film(root / "late-video.mkv", video_start=1.5, seconds=5)
    films["no audio track"] = write_film(root / "silent.mp4", audio_rate=None)
    films["shorter than a second"] = write_film(root / "short.mp4", seconds=0.5)
    films["path with spaces"] = write_film(root / "a film with spaces.mp4")
    films["non-ASCII path"] = write_film(root / "película_ß_日本.mp4")
    films["leading dash"] = write_film(root / "-film.mp4")
    return films


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A kissing model with random backbones: the cheapest real scene model."""
    backbones = [scenedet.create_backbone("resnet18", weights="random:0"),
                 scenedet.create_backbone("vggish", weights="random:0")]
    torch.manual_seed(0)
    head = torch.nn.Linear(640, 2)
    path = tmp_path_factory.mktemp("corpus-model") / "kissing.pt"
    save_model_file(path, ModelMeta(scene="kissing", backbones=("resnet18", "vggish"),
                                    backbone_weights=tuple(b.weights_id for b in backbones),
                                    feature_dims=(512, 128)), head.state_dict())
    return path


def _seconds(path: Path, **kw) -> list:
    return list(iter_seconds(path, STILL_AUDIO, **kw))


def _one_line(message: str) -> None:
    assert message and "\n" not in message.strip() and "Traceback" not in message


# -- damaged media, carried through ---------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["seek", "sequential"])
def test_corrupt_first_audio_packet_is_skipped_and_reported(corpus, strategy):
    from scenedet.media.damage import Damage

    damage = Damage()
    got = _seconds(corpus["corrupt first audio packet"], strategy=strategy, damage=damage)
    clean = _seconds(corpus["clean"], strategy=strategy)
    assert len(got) == len(clean) == 4
    assert damage.audio_packets_skipped == 1 and damage.seconds == {0}
    for a, b in zip(got[1:], clean[1:]):  # the seconds after it are the film's own
        np.testing.assert_allclose(a.audio, b.audio, atol=1e-3)
    assert not got[0].audio[:20].any()  # the lost packet's time is silence, the rest is the film's
    np.testing.assert_allclose(got[0].audio[2000:], clean[0].audio[2000:], atol=1e-3)


def test_corrupt_mid_video_packet_keeps_the_previous_still(corpus):
    from scenedet.media.damage import Damage

    damage = Damage()
    got = _seconds(corpus["corrupt mid video packet"], damage=damage)
    assert damage.video_packets_skipped == 1 and damage.audio_packets_skipped == 0
    assert len(got) == 4 and len(damage.seconds) == 1


def test_corrupt_mid_audio_packets_are_silence_and_do_not_shift_the_rest(corpus):
    from scenedet.media.damage import Damage

    damage = Damage()
    got = _seconds(corpus["corrupt mid audio packets"], strategy="sequential", damage=damage)
    clean = _seconds(corpus["clean"], strategy="sequential")
    assert damage.audio_packets_skipped == 3
    hit = min(damage.seconds)
    for k in range(len(got)):
        if k not in damage.seconds and k != hit + 1:  # past the gap: sample-exact again
            np.testing.assert_allclose(got[k].audio, clean[k].audio, atol=1e-3)


def test_damage_warns_once_when_nobody_collects_it(corpus):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _seconds(corpus["corrupt first audio packet"])
    lines = [str(w.message) for w in caught if issubclass(w.category, DamagedMediaWarning)]
    assert len(lines) == 1 and "1 damaged audio packet" in lines[0] and "second(s) 0" in lines[0]


def test_every_audio_packet_corrupt_is_silence_not_a_failure(corpus):
    from scenedet.media.damage import Damage

    damage = Damage()
    got = _seconds(corpus["every audio packet corrupt"], damage=damage)
    assert len(got) == 4 and all(not s.audio.any() for s in got)
    assert damage.audio_packets_skipped > 100


def test_nothing_decodable_is_one_line_media_error(corpus):
    with pytest.raises(MediaError) as caught:
        _seconds(corpus["every video packet corrupt"])
    _one_line(str(caught.value))
    assert str(corpus["every video packet corrupt"]) in str(caught.value)


@pytest.mark.slow
def test_damage_is_in_the_result_and_its_json(corpus, model):
    with pytest.warns(DamagedMediaWarning):
        result = run_scene(corpus["corrupt first audio packet"], scene="kissing", model=model,
                           progress=False)
    data = result.to_dict()
    assert data["damage"] == {"audio_packets_skipped": 1, "video_packets_skipped": 0, "seconds": [0]}
    assert len(data["scores"]) == 4
    clean = run_scene(corpus["clean"], scene="kissing", model=model, progress=False).to_dict()
    assert "damage" not in clean


@pytest.mark.parametrize("name", ["duration longer than the data", "duration shorter than the data"])
def test_a_container_lying_about_its_length_is_overruled_by_its_streams(corpus, name):
    assert probe(corpus[name]).n_seconds == 4
    got = _seconds(corpus[name])
    assert len(got) == 4


@pytest.mark.parametrize("name", ["variable frame rate", "8 kHz mono audio", "5.1 audio",
                                  "audio starts late", "video starts late", "1x1", "4097x17",
                                  "path with spaces", "non-ASCII path", "leading dash"])
def test_unusual_films_decode_every_second(corpus, name):
    info = probe(corpus[name])
    got = _seconds(corpus[name])
    assert len(got) == info.n_seconds >= 2
    assert all(s.audio.shape == (16_000,) and s.still.ndim == 3 for s in got)


def test_rotation_turns_stills_upright(corpus):
    still = _seconds(corpus["rotated 90"])[0].still
    assert still.shape[:2] == (64, 48)


def test_audio_starting_late_is_silence_before_it(corpus):
    got = _seconds(corpus["audio starts late"])
    assert not got[0].audio.any() and np.abs(got[1].audio[:15_000]).max() < 0.01
    assert np.abs(got[2].audio).max() > 0.1


def test_5_1_audio_is_averaged_to_mono(corpus):
    got = _seconds(corpus["5.1 audio"])
    assert 0.1 < np.abs(got[1].audio).max() < 0.3  # a tone of 0.2 in every channel


@pytest.mark.slow
def test_no_audio_track_warns_and_scores(corpus, model):
    from scenedet.media.audio import NoAudioWarning

    with pytest.warns(NoAudioWarning):
        result = run_scene(corpus["no audio track"], scene="kissing", model=model, progress=False)
    assert len(result.scores) == 4


@pytest.mark.slow
def test_no_audio_option_ignores_the_track_and_records_it(corpus, model):
    from scenedet.inference.pipeline import TestPatternWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # asked for: no warning (but the random model's own)
        warnings.simplefilter("ignore", TestPatternWarning)
        muted = run_scene(corpus["clean"], scene="kissing", model=model, progress=False,
                          use_audio=False)
    with pytest.warns(UserWarning, match="no audio track"):
        silent = run_scene(corpus["no audio track"], scene="kissing", model=model, progress=False)
    assert muted.settings["audio"] is False
    np.testing.assert_allclose(muted.scores, silent.scores, atol=1e-4)  # same pictures, silence


def test_shorter_than_a_second_is_one_line_usage_error(corpus, model):
    with pytest.raises(UsageError, match="shorter than one second"):
        run_scene(corpus["shorter than a second"], scene="kissing", model=model, progress=False)


# -- parts of a film ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_part_of_a_film_has_absolute_times_and_the_whole_films_scores(corpus, model):
    whole = run_scene(corpus["clean"], scene="kissing", model=model, progress=False,
                      min_length=1, label_threshold=0.0)
    part = run_scene(corpus["clean"], scene="kissing", model=model, progress=False,
                     start=1.5, end=3.0, min_length=1, label_threshold=0.0)
    assert part.start == 1 and len(part.scores) == 2
    np.testing.assert_allclose(part.scores, whole.scores[1:3], atol=1e-4)
    assert [(s.start, s.end) for s in part.segments] == [(1, 3)]
    assert part.to_dict()["start"] == 1


@pytest.mark.parametrize("start, end, message", [(10.0, None, "past the last whole second"),
                                                 (2.0, 1.0, "must be after start"),
                                                 (-1.0, None, "start must be a time >= 0")])
def test_an_impossible_part_is_one_line(corpus, model, start, end, message):
    with pytest.raises(UsageError, match=message):
        run_scene(corpus["clean"], scene="kissing", model=model, progress=False, start=start, end=end)


@pytest.mark.slow
def test_segment_keeps_the_film_times_of_a_part(corpus, model, tmp_path):
    out = tmp_path / "part.json"
    result = CliRunner().invoke(cli, ["run", "-p", "kissing", "-m", str(model), str(corpus["clean"]),
                                      "--start", "2", "--duration", "2", "-l", "1",
                                      "--label-threshold", "0", "-q", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["start"] == 2 and len(data["scores"]) == 2
    again = CliRunner().invoke(cli, ["segment", str(out)])
    assert json.loads(again.stdout)["segments"] == [{"start": 2, "end": 4, "score": pytest.approx(
        data["segments"][0]["score"])}]


def test_end_and_duration_together_are_a_usage_error(corpus, model):
    result = CliRunner().invoke(cli, ["run", "-p", "kissing", "-m", str(model), str(corpus["clean"]),
                                      "--end", "3", "--duration", "2"])
    assert result.exit_code == 2 and "--end or --duration" in result.output


def test_features_of_a_part_match_the_whole(corpus, tmp_path):
    from scenedet.inference.extract import extract_features

    whole = np.array(extract_features(corpus["clean"], "audio-logmel", tmp_path / "w.npy",
                                      progress=False))
    part = np.array(extract_features(corpus["clean"], "audio-logmel", tmp_path / "p.npy",
                                     start=2, end=4, progress=False))
    assert part.shape[0] == 2
    np.testing.assert_allclose(part, whole[2:4], atol=0.05)  # the AAC decoder restarts at a seek


# -- settings, names and model files --------------------------------------------------------------


def _cli(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert not (result.exception and not isinstance(result.exception, SystemExit)), result.exception
    return result


@pytest.mark.slow
def test_run_threshold_accepts_the_same_fractions_as_segment(corpus, model):
    result = _cli("run", "-p", "kissing", "-m", str(model), str(corpus["clean"]), "-t", "2/3", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["settings"]["threshold"] == "2/3"


@pytest.mark.parametrize("args, name", [(["-t", "1.5"], "--threshold"), (["-t", "abc"], "--threshold"),
                                        (["--label-threshold", "2"], "--label-threshold"),
                                        (["-l", "0"], "--min-length")])
def test_out_of_range_settings_are_refused_before_models_load(corpus, model, monkeypatch, args, name):
    import scenedet.inference.pipeline as pipeline

    def no_loading(*a, **k):
        raise AssertionError("a model was loaded before the settings were checked")

    monkeypatch.setattr(pipeline, "load_model_file", no_loading)
    monkeypatch.setattr(pipeline, "probe", no_loading, raising=False)
    result = _cli("run", "-p", "kissing", "-m", str(model), str(corpus["clean"]), *args)
    assert result.exit_code == 2 and name in result.output
    _one_line(result.output)


def test_library_settings_are_checked_before_loading(corpus, monkeypatch):
    import scenedet.inference.pipeline as pipeline

    monkeypatch.setattr(pipeline, "load_model_file",
                        lambda *a, **k: pytest.fail("model loaded before settings were checked"))
    with pytest.raises(UsageError, match="threshold"):
        run_scene(corpus["clean"], scene="kissing", model="whatever.pt", threshold=7)


def test_a_mistyped_scene_gets_did_you_mean():
    result = _cli("run", "-p", "kisssing", "film.mp4", "-m", "m.pt")
    assert result.exit_code == 2 and "did you mean 'kissing'?" in result.output
    _one_line(result.output)


def test_a_backbone_family_without_variant_is_one_line(corpus):
    result = _cli("features", "-e", "timm", str(corpus["clean"]))
    assert result.exit_code == 2 and "needs a variant" in result.output
    _one_line(result.output)


def test_timm_pretrained_offline_is_one_quick_line(corpus, monkeypatch, tmp_path):
    pytest.importorskip("timm")
    monkeypatch.delenv("SCENEDET_OFFLINE")  # no promise of being offline: found out, not retried
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = _cli("features", "-e", "timm:resnet18", str(corpus["clean"]))
    assert result.exit_code == 2
    _one_line(result.output)
    assert "cannot be reached" in result.output and result.output.rstrip().endswith("give its path as the weights")


@pytest.mark.parametrize("kind, make, says", [
    ("truncated", lambda good, p: p.write_bytes(good.read_bytes()[:2000]), "cut short"),
    ("text", lambda good, p: p.write_text("hello"), "a text file"),
    ("png", lambda good, p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100)), "a PNG image"),
    ("empty", lambda good, p: p.write_bytes(b""), "an empty file"),
])
def test_a_model_file_that_is_not_one_says_what_it_is(corpus, model, tmp_path, kind, make, says):
    bad = tmp_path / f"{kind}.pt"
    make(model, bad)
    result = _cli("run", "-p", "kissing", "-m", str(bad), str(corpus["clean"]))
    assert result.exit_code == 2 and says in result.output
    _one_line(result.output)


def test_a_model_file_for_another_scene_is_one_line(corpus, tmp_path):
    path = tmp_path / "other.pt"
    save_model_file(path, ModelMeta(scene="dancing", backbones=("resnet18", "vggish"),
                                    backbone_weights=("random:0", "random:0"), feature_dims=(512, 128)),
                    torch.nn.Linear(640, 2).state_dict())
    result = _cli("run", "-p", "kissing", "-m", str(path), str(corpus["clean"]))
    assert result.exit_code == 2 and "trained for scene 'dancing'" in result.output
    _one_line(result.output)


def test_a_weights_file_that_is_not_one_says_what_it_is(corpus, model, tmp_path):
    bad = tmp_path / "resnet18.pth"
    bad.write_text("not weights")
    result = _cli("features", "-e", "resnet18", "--weights", str(bad), str(corpus["clean"]))
    assert result.exit_code == 2 and "cannot read weight file" in result.output
    assert "it is a text file" in result.output
    _one_line(result.output)


def test_a_huge_extractor_output_needs_confirmation(corpus, tmp_path, monkeypatch):
    import scenedet.inference.features as features

    monkeypatch.setattr(features, "SIZE_LIMIT", 10_000)
    out = tmp_path / "clips.npy"
    result = _cli("features", "-e", "audio-logmel", str(corpus["clean"]), "-o", str(out))
    assert result.exit_code == 2 and "--yes" in result.output and "KB" in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written
    result = _cli("features", "-e", "audio-logmel", str(corpus["clean"]), "-o", str(out), "--yes", "-q")
    assert result.exit_code == 0 and np.load(out).shape[0] == 4


# -- outputs -------------------------------------------------------------------------------------


def test_run_output_where_a_file_is_in_the_way_fails_before_scoring(corpus, model, tmp_path,
                                                                    monkeypatch):
    import scenedet.inference.pipeline as pipeline

    monkeypatch.setattr(pipeline, "load_model_file",
                        lambda *a, **k: pytest.fail("scored although the output cannot be written"))
    (tmp_path / "file").write_text("x")
    result = _cli("run", "-p", "kissing", "-m", str(model), str(corpus["clean"]),
                  "-o", str(tmp_path / "file" / "r.json"))
    assert result.exit_code == 1 and "is not a folder" in result.output
    _one_line(result.output)


def test_run_output_to_a_folder_is_one_line(corpus, model, tmp_path):
    result = _cli("run", "-p", "kissing", "-m", str(model), str(corpus["clean"]), "-o", str(tmp_path))
    assert result.exit_code in (1, 2) and str(tmp_path) in result.output
    _one_line(result.output)


def test_a_feature_cache_that_cannot_be_written_is_one_line(corpus, tmp_path, monkeypatch):
    (tmp_path / "home").write_text("a file where SCENEDET_HOME should be a folder")
    monkeypatch.setenv("SCENEDET_HOME", str(tmp_path / "home"))
    result = _cli("features", "-e", "resnet18", "--weights", "random:0", str(corpus["clean"]), "-q")
    assert result.exit_code == 1 and "is not a folder" in result.output
    _one_line(result.output)


def test_a_model_file_that_cannot_be_written_is_one_line_and_leaves_nothing(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is not a folder"):
        save_model_file(tmp_path / "file" / "m.pt", ModelMeta(scene="kissing", backbones=("resnet18",),
                                                                backbone_weights=("random:0",),
                                                                feature_dims=(512,)),
                        torch.nn.Linear(512, 2).state_dict())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_synth_into_a_file_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    result = _cli("synth", "-o", str(tmp_path / "file" / "data"), "--films", "1")
    assert result.exit_code in (1, 2)
    _one_line(result.output)


@pytest.mark.slow
def test_a_leading_dash_path_works_after_double_dash(corpus, model, monkeypatch):
    monkeypatch.chdir(corpus["leading dash"].parent)
    result = _cli("run", "-p", "kissing", "-m", str(model), "-q", "--", corpus["leading dash"].name)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["scores"]) == 4


def _private_device(tmp_path: Path, name: str, minor: int) -> Path:
    import stat

    path = tmp_path / name
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    except OSError as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("minor, code", [(3, 0), (7, 1)])  # a private /dev/null, /dev/full
def test_run_output_to_a_device_writes_into_it_and_keeps_the_node(corpus, model, tmp_path, minor,
                                                                   code):
    import stat

    device = _private_device(tmp_path, "dev", minor)
    result = _cli("run", "-p", "kissing", "-m", str(model), str(corpus["clean"]), "-q",
                  "-o", str(device))
    assert result.exit_code == code, result.output
    if code:
        assert result.output.strip() == f"Error: cannot write {device}: No space left on device"
    assert stat.S_ISCHR(os.stat(device).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev"]


def test_features_output_to_a_device(corpus, tmp_path):
    import stat

    device = _private_device(tmp_path, "null.npy", 3)
    result = _cli("features", "-e", "resnet18", "--weights", "random:0", str(corpus["clean"]),
                  "-q", "-o", str(device))  # backbone features: copied from the cache into it
    assert result.exit_code == 0, result.output
    result = _cli("features", "-e", "audio-logmel", str(corpus["clean"]), "-q", "-o", str(device))
    assert result.exit_code == 1 and "not a regular file" in result.output  # a memory map needs one
    _one_line(result.output)
    assert stat.S_ISCHR(os.stat(device).st_mode)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/share/doc/opencv-doc/examples/data/Megamind.avi").exists(),
                    reason="Debian's opencv-doc is not installed")
def test_megamind_with_its_bad_ac3_packet_is_carried_through(model):
    """The film from the issue: MPEG-4 + AC3, one bad AC3 packet at its start."""
    from scenedet.media.damage import Damage

    path = Path("/usr/share/doc/opencv-doc/examples/data/Megamind.avi")
    damage = Damage()
    got = list(iter_seconds(path, STILL_AUDIO, damage=damage))
    assert len(got) == probe(path).n_seconds >= 11
    assert damage.audio_packets_skipped >= 1 and 0 in damage.seconds


def test_every_test_named_in_the_reliability_table_exists():
    import re

    root = Path(__file__).resolve().parents[1]
    table = (root / "docs" / "reliability.md").read_text()
    named = set(re.findall(r"\b(test_\w+)\b(?!\.py)", table))
    defined = set(re.findall(r"^def (test_\w+)", "\n".join(
        p.read_text() for p in (root / "tests").glob("test_*.py")), flags=re.M))
    assert len(named) >= 30 and named <= defined, sorted(named - defined)
