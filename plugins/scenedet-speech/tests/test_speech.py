"""The speech detector with the real Silero VAD model on small generated films.

Speech is rendered by ``espeak-ng`` (skipped, with the reason, where it is not installed; CI
installs it); the tests that need no voice (music and applause are not speech, errors, streaming)
run everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from scenedet.inference.framerun import run_detectors
from scenedet.plugin import AudioChunk
from scenedet_speech import synth
from scenedet_speech.detector import STEP, SpeechDetector

needs_espeak = pytest.mark.skipif(not synth.espeak_available(),
                                  reason="espeak-ng is not installed (apt-get install espeak-ng)")


def time_f1(truth, found, duration: float, step: float = 0.1) -> float:
    """F1 of speech time on a ``step`` grid (a bin is speech when its middle is)."""
    mids = np.arange(0, duration, step) + step / 2
    t = np.zeros(len(mids), bool)
    f = np.zeros(len(mids), bool)
    for a, b in truth:
        t |= (mids >= a) & (mids < b)
    for a, b in found:
        f |= (mids >= a) & (mids < b)
    tp = (t & f).sum()
    return 2 * tp / max(1, t.sum() + f.sum())


@pytest.fixture(scope="module")
def speech_film(tmp_path_factory):
    if not synth.espeak_available():
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    film = synth.plan_sound(1, 24, snr_db=20)
    path = synth.write_film(film, tmp_path_factory.mktemp("speech") / "talk.mp4")
    return film, path


@needs_espeak
def test_speech_of_several_voices_is_found_and_music_applause_are_not(speech_film):
    film, path = speech_film
    assert len(film.speech) >= 2 and film.distractors
    (result,) = run_detectors(path, ["speech"])
    found = [(s.start, s.end) for s in result.segments]
    assert time_f1(film.speech, found, film.duration) >= 0.85, (film.speech, found)
    for s in result.segments:
        assert s.label == "speech" and 0 <= s.score <= 1
        assert s.start_frame == round(s.start * 25) and s.end_frame == round(s.end * 25)
    assert len(result.scores) == pytest.approx(film.duration / STEP, abs=2)


@needs_espeak
def test_scenedet_segment_recuts_the_saved_probabilities_as_a_run_would(speech_film, tmp_path):
    from scenedet.cli import cli

    _, path = speech_film
    saved, fresh = tmp_path / "a.json", tmp_path / "b.json"
    runner = CliRunner()
    first = runner.invoke(cli, ["run", "-p", "speech", str(path), "-o", str(saved), "-q"])
    assert first.exit_code == 0, first.output
    ran = runner.invoke(cli, ["run", "-p", "speech", str(path), "-O", "threshold=0.8", "-O",
                              "min_silence=0.6", "-O", "padding=0.2", "-o", str(fresh), "-q"])
    assert ran.exit_code == 0, ran.output
    recut = runner.invoke(cli, ["segment", str(saved), "-O", "threshold=0.8", "-O",
                                "min_silence=0.6", "-O", "padding=0.2"])
    assert recut.exit_code == 0, recut.output
    assert json.loads(recut.output)["segments"] == json.loads(fresh.read_text())["segments"]
    same = runner.invoke(cli, ["segment", str(saved)])
    assert json.loads(same.output)["segments"] == json.loads(saved.read_text())["segments"]


@needs_espeak
def test_speech_in_a_plain_wav_file(tmp_path):
    import soundfile as sf

    clip = synth.speak("Good morning, everybody, and welcome aboard.", "en-gb")
    sound = np.concatenate([np.zeros(synth.RATE), clip, np.zeros(synth.RATE)])
    sf.write(tmp_path / "a.wav", sound, synth.RATE)
    (result,) = run_detectors(tmp_path / "a.wav", ["speech"])
    (truth,) = [(1 + a, 1 + b) for a, b in synth.activity(clip)][:1]
    assert len(result.segments) >= 1 and result.segments[0].start_frame is None
    assert abs(result.segments[0].start - truth[0]) < 0.25
    assert abs(result.segments[-1].end - (1 + synth.activity(clip)[-1][1])) < 0.35


def test_music_applause_and_noise_are_not_speech(tmp_path):
    rng = np.random.default_rng(5)
    sound = np.concatenate([0.5 * synth.tones(6, rng), 0.5 * synth.applause(4, rng),
                            0.3 * synth.pink(4, rng), np.zeros(2 * synth.RATE, np.float32)])
    film = synth.SpeechFilm(sound, (), (), ())
    path = synth.write_film(film, tmp_path / "music.mp4", width=64, height=36)
    (result,) = run_detectors(path, ["speech"])
    assert sum(s.length for s in result.segments) < 1.0, result.segments


def _fed(samples: np.ndarray, rate: int, cuts: list[int]) -> SpeechDetector:
    from types import SimpleNamespace

    detector = SpeechDetector()
    at = 0
    for cut in sorted(cuts) + [len(samples)]:
        if cut > at:
            detector.add_audio(AudioChunk(start=at / rate, rate=rate, samples=samples[at:cut]))
            at = cut
    detector.segments = detector.finish(SimpleNamespace(duration=len(samples) / rate, fps=25.0,
                                                        start=0.0))
    return detector


@settings(max_examples=10, deadline=None)
@given(st.sampled_from([16_000, 44_100, 48_000]),
       st.lists(st.floats(0.0001, 0.9999), max_size=12))
def test_chunking_does_not_change_a_single_probability(rate, where):
    """Streaming: however the sound is cut into chunks, the resampler's output, the windows,
    the network's carried state and so every probability are those of one pass over the whole
    sound."""
    rng = np.random.default_rng(0)
    t = np.arange(rate * 9) / rate
    samples = (0.3 * np.sin(2 * np.pi * 220 * t) * (t % 3 < 1.5)
               + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
    whole = _fed(samples, rate, [])
    parts = _fed(samples, rate, [max(1, int(w * len(samples))) for w in where])
    assert np.array_equal(whole.scores, parts.scores)
    assert whole.segments == parts.segments
    assert len(whole.scores) == pytest.approx(9 * 16_000 / 512, abs=1)


def test_sound_before_the_first_frame_is_dropped():
    rate = 16_000
    samples = np.zeros(3 * rate, np.float32)
    detector = SpeechDetector()
    detector.add_audio(AudioChunk(start=-0.5, rate=rate, samples=samples))
    from types import SimpleNamespace

    assert detector.finish(SimpleNamespace(duration=2.5, fps=25.0, start=0.0)) == []
    assert len(detector.scores) == int(np.ceil(2.5 * rate / 512))
    assert detector.settings["score_start"] == 0.0


def test_no_sound_is_one_line_and_exit_2(tmp_path):
    from scenedet.cli import cli
    from scenedet.media.encode import FilmWriter

    silent = tmp_path / "mute.mp4"
    with FilmWriter(silent, width=64, height=36, fps=25, audio_rate=None) as writer:
        for _ in range(25):
            writer.write_frame(np.zeros((36, 64, 3), np.uint8))
    runner = CliRunner()
    alone = runner.invoke(cli, ["run", "-p", "speech", str(silent)])
    assert alone.exit_code == 2 and alone.output.strip() == f"Error: no audio stream in {silent}"
    with_black = runner.invoke(cli, ["run", "-p", "speech", "-p", "black", str(silent)])
    assert with_black.exit_code == 2 and len(with_black.output.strip().splitlines()) == 1
    assert ("speech: no sound reached the detector: mute.mp4 has no audio stream"
            in with_black.output)


def test_options_are_checked_in_one_line(tmp_path):
    from scenedet.cli import cli

    runner = CliRunner()
    film = tmp_path / "x.mp4"
    synth.write_film(synth.SpeechFilm(np.zeros(synth.RATE, np.float32), (), (), ()), film,
                     width=64, height=36)
    bad = runner.invoke(cli, ["run", "-p", "speech", "-O", "threshold=1.5", str(film)])
    assert bad.exit_code == 2
    assert bad.output.strip() == "Error: speech: threshold must be in (0, 1), got 1.5"
    typo = runner.invoke(cli, ["run", "-p", "speech", "-O", "min_silense=1", str(film)])
    assert typo.exit_code == 2 and "did you mean 'min_silence'?" in typo.output
    for others in ([], ["-p", "black"]):  # refused before the decode, with or without pictures
        off = runner.invoke(cli, ["run", "-p", "speech", *others, "--no-audio", str(film)])
        assert off.exit_code == 2
        assert off.output.strip() == ("Error: speech only listens: with the film's audio "
                                      "ignored there is nothing to detect")


@needs_espeak
def test_a_part_of_the_film_is_in_film_time_with_or_without_pictures(speech_film):
    """A part decoded for the sound alone has no first frame of its own: the frames still
    count from the film's start, as when a picture detector shares the decode."""
    film, path = speech_film
    (alone,) = run_detectors(path, ["speech"], start=4, end=20)
    together, _ = run_detectors(path, ["speech", "black"], start=4, end=20)
    # the seek may hand over a few samples more or less at the part's start: the same
    # segments to a window or two, scores a little apart
    assert alone.segments and len(alone.segments) == len(together.segments)
    for a, b in zip(alone.segments, together.segments):
        assert abs(a.start - b.start) <= 2 * STEP and abs(a.end - b.end) <= 2 * STEP
        assert (b.start_frame, b.end_frame) == (round(b.start * 25), round(b.end * 25))
    for s in alone.segments:
        assert 4 <= s.start < s.end <= 20
        assert (s.start_frame, s.end_frame) == (round(s.start * 25), round(s.end * 25))
    assert time_f1([(max(a, 4), min(b, 20)) for a, b in film.speech if b > 4 and a < 20],
                   [(s.start, s.end) for s in alone.segments], 20) >= 0.8


MEGAMIND = Path("/usr/share/doc/opencv-doc/examples/data/Megamind.avi")


@pytest.mark.skipif(not MEGAMIND.exists(),
                    reason="Debian's opencv-doc (Megamind.avi) is not installed")
def test_a_real_trailer_with_a_damaged_first_sound_packet():
    """Megamind.avi (MPEG-4 + AC3, its first AC3 packet rejected): the hole is silence, counted
    as damage, and the trailer's dialogue is found in order inside the film."""
    from scenedet.media.damage import DamagedMediaWarning

    with pytest.warns(DamagedMediaWarning, match="1 damaged audio packet"):
        (result,) = run_detectors(MEGAMIND, ["speech"])
    assert result.damage is not None and result.damage.audio_packets_skipped == 1
    assert len(result.segments) >= 2
    at = 0.0
    for s in result.segments:
        assert at <= s.start < s.end <= result.duration + 1e-6
        at = s.end
