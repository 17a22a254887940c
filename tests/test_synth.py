"""The synthetic dataset: deterministic plans; rendered films carry exactly their cues."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from scenedet.evaluation.annotations import load_annotations
from scenedet.errors import UsageError
from scenedet.synth import FilmRenderer, SynthDataset, SynthSettings, plan_dataset, synthesize
from scenedet.synth.plan import AUDIO_CUE_GUARD_HZ, AUDIO_CUE_HZ, MIN_GAP, hsv_to_rgb

# Two films of 20-30 s with one scene of each kind between them (seed 3), rendered in about 1 s.
TINY = dict(films=2, seed=3, min_seconds=20, max_seconds=30, min_scene=4, max_scene=8,
            width=160, height=120, fps=10.0)


def magenta_fraction(rgb: np.ndarray) -> float:
    """Share of pixels only the visual cue can produce (see the synth module's proof)."""
    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    return float(((r > 200) & (g < 60) & (b > 200)).mean())


def tone_ratios(samples: np.ndarray, rate: int) -> tuple[float, float]:
    """Spectral peak at each cue frequency over the median of 300-1500 Hz (Hann window)."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    floor = np.median(spectrum[(freqs > 300) & (freqs < 1500)])
    return tuple(float(spectrum[np.abs(freqs - f) <= 2].max() / floor)  # type: ignore[return-value]
                 for f in AUDIO_CUE_HZ)


def decode(path):
    """Per whole second: the magenta fraction of each frame, and the decoded mono sound."""
    import av

    fractions: dict[int, list[float]] = {}
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            # As scenedet's decoder counts: frames stamped in (k, k + 1] lead up to the still of
            # second k (the frame at exactly 0 precedes every still).
            second = math.ceil(Fraction(frame.pts) * frame.time_base) - 1
            if second >= 0:
                fractions.setdefault(second, []).append(
                    magenta_fraction(frame.to_ndarray(format="rgb24")))
    chunks, rate, start = [], 0, 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            if not chunks:
                rate, start = frame.sample_rate, frame.time
            chunks.append(frame.to_ndarray().reshape(-1))
    assert start == pytest.approx(0.0, abs=1e-3)
    return fractions, np.concatenate(chunks), rate


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> SynthDataset:
    return synthesize(tmp_path_factory.mktemp("synth") / "set", **TINY)


# ------------------------------------------------------------------------------------ plans


def test_plans_are_deterministic_and_each_film_depends_only_on_its_index():
    settings = SynthSettings(**TINY)
    assert plan_dataset(settings) == plan_dataset(settings)
    more = plan_dataset(SynthSettings(**{**TINY, "films": 3}))
    assert more[:2] == plan_dataset(settings)
    other = plan_dataset(SynthSettings(**{**TINY, "seed": 4}))
    assert [p.scenes for p in other] != [p.scenes for p in plan_dataset(settings)]


@given(seed=st.integers(0, 2**32 - 1), length=st.integers(5, 400), scene=st.integers(1, 60),
       spread=st.integers(0, 60))
def test_scene_layout_rules(seed, length, scene, spread):
    settings = SynthSettings(films=1, seed=seed, min_seconds=length, max_seconds=length,
                             min_scene=scene, max_scene=scene + spread)
    (plan,) = plan_dataset(settings)
    assert plan.duration == length
    previous_end = 0
    for s in plan.scenes:
        assert isinstance(s.start, int) and isinstance(s.end, int)
        assert s.start - previous_end >= MIN_GAP
        assert scene <= s.end - s.start <= scene + spread
        previous_end = s.end
    if plan.scenes:
        assert length - previous_end >= MIN_GAP
        assert any(s.kind == "positive" for s in plan.scenes)
    else:  # only when not even one scene fits
        assert length < scene + 2 * MIN_GAP
    # Shots and sound cover the film without gaps.
    for parts in (plan.shots, plan.sound):
        assert parts[0].start == 0 and parts[-1].end == length
        assert all(a.end == b.start for a, b in zip(parts, parts[1:]))


@given(seed=st.integers(0, 2**32 - 1))
def test_background_never_carries_a_cue(seed):
    (plan,) = plan_dataset(SynthSettings(films=1, seed=seed, min_seconds=60, max_seconds=120))
    colours = [c for shot in plan.shots for c in shot.colours]
    colours += [shape.colour for shot in plan.shots for shape in shot.shapes]
    # R + B - G <= 255 for every background colour, hence for every blend of them.
    assert all(r + b - g <= 255 for r, g, b in colours)
    tones = [tone.frequency for part in plan.sound for tone in part.tones]
    assert all(abs(f - cue) >= AUDIO_CUE_GUARD_HZ for f in tones for cue in AUDIO_CUE_HZ)


def test_hsv_to_rgb():
    assert hsv_to_rgb(0, 1, 1) == (255, 0, 0)
    assert hsv_to_rgb(120, 1, 1) == (0, 255, 0)
    assert hsv_to_rgb(300, 1, 1) == (255, 0, 255)
    assert hsv_to_rgb(30, 0, 0.5) == (128, 128, 128)


def test_frames_and_sound_are_pure_functions_of_their_index():
    (plan,) = plan_dataset(SynthSettings(**{**TINY, "films": 1}))
    a = FilmRenderer(plan, width=160, height=120, fps=10, audio_rate=16_000)
    b = FilmRenderer(plan, width=160, height=120, fps=10, audio_rate=16_000)
    last = a.n_frames - 1
    first = [a.frame(i) for i in (0, last, 57)]  # out of order: the shot cache changes
    assert all(np.array_equal(x, b.frame(i)) for x, i in zip(first, (57, last, 0)[::-1]))
    assert np.array_equal(a.audio(7), b.audio(7))
    assert a.audio(7).dtype == np.float32 and a.audio(7).shape == (16_000,)
    assert a.n_frames == plan.duration * 10


def test_bad_settings_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="size must be even"):
        synthesize(tmp_path, films=1, width=161, height=120)
    with pytest.raises(UsageError, match="film length"):
        synthesize(tmp_path, films=1, min_seconds=30, max_seconds=20)
    with pytest.raises(UsageError, match="number of films must be at least 1") as info:
        synthesize(tmp_path, films=0)
    assert "--" not in str(info.value)  # a library message, not a CLI one


# ---------------------------------------------------------------------------------- rendered


def test_files_and_annotations(tiny):
    names = sorted(p.name for p in tiny.root.iterdir())
    assert names == ["README.txt", "annotations.csv", "dataset.json", "film_000.mp4",
                     "film_001.mp4"]
    assert SynthDataset.load(tiny.root) == tiny
    # The annotations validate against the films' real durations and list only the positives.
    annotations = load_annotations(tiny.annotations_path, videos_dir=tiny.root)
    assert not annotations.explicit_negatives
    assert annotations.videos == ("film_000.mp4", "film_001.mp4")
    expected = [(f.file, s.start, s.end) for f in tiny.films for s in f.scenes
                if s.kind == "positive"]
    assert [(a.video, a.start, a.end) for a in annotations] == expected
    assert {"positive", "visual_only", "audio_only"} <= {
        s.kind for f in tiny.films for s in f.scenes}
    manifest = json.loads(tiny.manifest_path.read_text())
    assert manifest["cues"]["audio"]["tones_hz"] == [600.0, 900.0]
    assert manifest["cues"]["visual"]["rgb"] == [255, 0, 255]
    readme = (tiny.root / "README.txt").read_text()
    assert "magenta disc" in readme and "600 Hz and 900 Hz" in readme


def test_each_second_carries_exactly_its_cues(tiny):
    checked = {"positive": 0, "visual_only": 0, "audio_only": 0, "background": 0}
    for film, path in zip(tiny.films, tiny.paths):
        fractions, audio, rate = decode(path)
        assert sorted(fractions) == list(range(film.duration))
        for second in range(film.duration):
            scene = next((s for s in film.scenes if s.start <= second < s.end), None)
            kind = scene.kind if scene else "background"
            visual = kind in ("positive", "visual_only")
            audible = kind in ("positive", "audio_only")
            # The disc is in every frame of a cue second and in no frame of any other.
            if visual:
                assert min(fractions[second]) > 0.12, (film.file, second)
            else:
                assert max(fractions[second]) == 0.0, (film.file, second)
            # The chord stands far above the spectrum around it, or is not there at all.
            ratios = tone_ratios(audio[second * rate:(second + 1) * rate], rate)
            if audible:
                assert min(ratios) > 50, (film.file, second, ratios)
            else:
                assert max(ratios) < 10, (film.file, second, ratios)
            checked[kind] += 1
    assert all(checked.values()), checked


def test_same_seed_same_dataset(tiny, tmp_path):
    again = synthesize(tmp_path / "again", **{**TINY, "films": 1})
    assert again.films == tiny.films[:1]
    first_rows = tiny.annotations_path.read_text().splitlines()
    assert again.annotations_path.read_text().splitlines() == \
        [row for row in first_rows if not row.startswith("film_001")]


def test_refuses_to_overwrite_unless_asked(tiny, tmp_path):
    root = tmp_path / "set"
    synthesize(root, **{**TINY, "films": 2, "min_seconds": 6, "max_seconds": 6})
    with pytest.raises(UsageError, match="already holds a synthetic dataset"):
        synthesize(root, **{**TINY, "films": 1})
    synthesize(root, **{**TINY, "films": 1, "min_seconds": 6, "max_seconds": 6}, overwrite=True)
    assert sorted(p.name for p in root.glob("*.mp4")) == ["film_000.mp4"]


def test_cli(tmp_path):
    from scenedet.cli import cli

    out = tmp_path / "cli"
    result = CliRunner().invoke(cli, [
        "synth", "-o", str(out), "--films", "1", "--seed", "5", "--min-length", "12s",
        "--max-length", "00:00:12", "--min-scene", "3", "--max-scene", "4", "--size", "64x48",
        "--fps", "8", "-q"])
    assert result.exit_code == 0, result.output
    assert "1 film, 0 min 12 s" in result.output
    assert "positive scenes: 1;" in result.output
    assert (out / "film_000.mp4").is_file() and (out / "annotations.csv").is_file()
    bad = CliRunner().invoke(cli, ["synth", "-o", str(tmp_path / "x"), "--size", "big"])
    assert bad.exit_code == 2 and "use WIDTHxHEIGHT" in bad.output


def test_scenedets_decoder_sees_each_cue_exactly_in_its_seconds(tiny):
    """End to end with the pipeline's own decoder: the still and 16 kHz sound of every second."""
    decode_module = pytest.importorskip("scenedet.media.seconds.decode")
    from scenedet.media.types import MediaRequest

    for film, path in zip(tiny.films, tiny.paths):
        seconds = 0
        for second in decode_module.iter_seconds(path, MediaRequest(frames=1, audio=True)):
            scene = next((s for s in film.scenes if s.start <= second.index < s.end), None)
            visual = scene is not None and scene.visual
            audible = scene is not None and scene.audio
            fraction = magenta_fraction(second.still)
            assert (fraction > 0.12) if visual else (fraction == 0.0), (film.file, second.index)
            ratios = tone_ratios(second.audio, 16_000)
            assert (min(ratios) > 50) if audible else (max(ratios) < 10), (film.file, second.index)
            seconds += 1
        assert seconds == film.duration
