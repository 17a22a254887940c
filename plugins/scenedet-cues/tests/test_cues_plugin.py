"""The cues plugin: black frames, silence (films and plain audio files) and colour bars."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

scenedet_cues = pytest.importorskip("scenedet_cues")

from scenedet.inference.framerun import run_detectors  # noqa: E402
from scenedet.synth.shots import colour_bars, plan_shot_film, render_shot_film  # noqa: E402
from scenedet_cues.detectors import ColourBarsDetector, runs  # noqa: E402


@pytest.fixture(scope="module")
def cue_film(tmp_path_factory):
    plan = plan_shot_film(1, 4, shots=5, fps=25, width=160, height=90, min_shot=1.5, max_shot=3)
    path = tmp_path_factory.mktemp("cues") / plan.file
    render_shot_film(plan, path)
    return plan, path


def test_cues_match_the_plan_to_a_frame_or_a_window(cue_film):
    plan, path = cue_film
    (result,) = run_detectors(path, ["cues"])
    found = {(s.label, s.start_frame, s.end_frame) for s in result.segments}
    for cue in plan.cues:
        near = [s for s in result.segments if s.label == cue.kind
                and abs(s.start - cue.start_frame / 25) <= 0.1
                and abs(s.end - cue.end_frame / 25) <= 0.1]
        assert len(near) == 1, (cue, found)
        if cue.kind in ("black", "bars"):  # picture cues are frame exact
            assert (near[0].start_frame, near[0].end_frame) == (cue.start_frame, cue.end_frame)
    assert len(result.segments) == len(plan.cues)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_silence_in_plain_audio_files(tmp_path, suffix):
    import soundfile as sf

    rate = 16_000
    rng = np.random.default_rng(0)
    sound = rng.normal(0, 0.1, rate * 6).astype(np.float32)
    sound[2 * rate: 4 * rate] = 0.0
    sound[5 * rate: int(5.5 * rate)] = 0.0  # too short
    path = tmp_path / f"a{suffix}"
    sf.write(path, sound, rate)
    (result,) = run_detectors(path, ["silence"])
    assert [(round(s.start, 1), round(s.end, 1)) for s in result.segments] == [(2.0, 4.0)]
    assert result.segments[0].start_frame is None  # no picture, no frame grid


def test_colour_bars_and_not_pictures():
    bars = np.stack([colour_bars(64, 36)] * 3)
    detector = ColourBarsDetector()
    assert detector.test(bars).all()
    full = np.stack([np.where(colour_bars(64, 36) > 0, 255, 0).astype(np.uint8)])  # 100% bars
    assert detector.test(full).all()
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 255, size=(4, 36, 64, 3), dtype=np.uint8)
    grey = np.full((2, 36, 64, 3), 150, np.uint8)
    assert not detector.test(noise).any() and not detector.test(grey).any()


@given(st.lists(st.booleans(), max_size=60))
def test_runs_cover_exactly_the_true_flags(flags):
    covered = np.zeros(len(flags), bool)
    for a, b in runs(np.array(flags, bool)):
        assert a < b and covered[a:b].sum() == 0
        covered[a:b] = True
    assert covered.tolist() == list(flags)


def test_cli_options_and_errors(cue_film, tmp_path):
    from scenedet.cli import cli

    _, path = cue_film
    ok = CliRunner().invoke(cli, ["run", "-p", "cues", str(path), "-O", "black_min_duration=100",
                                  "-q"])
    assert ok.exit_code == 0, ok.output
    assert "black" not in {s.get("label") for s in json.loads(ok.output)["segments"]}
    bad = CliRunner().invoke(cli, ["run", "-p", "cues", str(path), "-O", "bogus=1"])
    assert bad.exit_code == 2 and "unknown option 'bogus'" in bad.output
    assert "black_min_duration" in bad.output and len(bad.output.strip().splitlines()) == 1
    typo = CliRunner().invoke(cli, ["run", "-p", "cues", str(path), "-O", "black_min_durration=1"])
    assert typo.exit_code == 2 and "did you mean 'black_min_duration'?" in typo.output
    bad_value = CliRunner().invoke(cli, ["run", "-p", "cues", str(path), "-O", "silence_window=abc"])
    assert bad_value.exit_code == 2
    assert bad_value.output.strip() == "Error: cues: silence_window must be a number, got 'abc'"


def test_silence_counts_from_film_time_0_when_the_sound_starts_before_it():
    """Sound before the first frame (an AVI's audio starts one decoder delay before its first
    frame, ``Megamind.avi``) is not the film's: dropped, not moved to 0 s."""
    from types import SimpleNamespace

    from scenedet.plugin import AudioChunk
    from scenedet_cues.detectors import SilenceDetector

    rate = 1000
    loud = np.full(rate // 2, 0.5, np.float32)
    samples = np.concatenate([loud, np.zeros(3 * rate // 2, np.float32), loud, loud])
    detector = SilenceDetector()
    detector.add_audio(AudioChunk(start=-0.5, rate=rate, samples=samples))
    (quiet,) = detector.finish(SimpleNamespace(duration=2.5, fps=25.0))
    assert (quiet.start, quiet.end) == pytest.approx((0.0, 1.5))
    assert (quiet.start_frame, quiet.end_frame) == (0, 38)
