"""How probabilities become segments (properties), and the model file's one-line errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from scenedet.plugin import WeightsError
from scenedet_speech import model
from scenedet_speech.cutting import CutSettings, Cutter, padded, speech_segments
from scenedet_speech.detector import STEP, resegment

probabilities = st.lists(st.floats(0, 1, allow_nan=False), max_size=200)


@given(probabilities, st.floats(0.05, 0.95))
def test_without_hysteresis_or_minimums_segments_are_the_runs_above_threshold(probs, threshold):
    cut = CutSettings(threshold=threshold, release=0.0, min_speech=0.0, min_silence=0.0,
                      padding=0.0)
    cutter = Cutter(cut, STEP)
    cutter.add(probs)
    above = np.concatenate([[False], np.asarray(probs) >= max(threshold, 0.01), [False]])
    edges = np.flatnonzero(above[1:] != above[:-1])
    assert cutter.finish() == list(zip(edges[::2].tolist(), edges[1::2].tolist()))


@given(probabilities, st.floats(0.1, 0.9), st.floats(0, 0.5), st.floats(0, 1), st.floats(0, 1),
       st.floats(0, 0.5))
def test_segments_are_sorted_disjoint_inside_the_sound_and_long_enough(
        probs, threshold, release, min_speech, min_silence, padding):
    cut = CutSettings(threshold=threshold, release=release, min_speech=min_speech,
                      min_silence=min_silence, padding=padding)
    end = len(probs) * STEP
    found = speech_segments(probs, cut, window=STEP, offset=0.0, end=end)
    at = 0.0
    for a, b in found:
        assert at <= a < b <= end + 1e-9
        at = b
    cutter = Cutter(cut, STEP)
    cutter.add(probs)
    for a, b in cutter.finish():
        assert (b - a) * STEP > min_speech - 1e-9  # shorter speech is dropped
        assert max(probs[a:b]) >= threshold


def test_padding_meets_halfway_between_close_segments():
    assert padded([(0, 10), (12, 20)], 0.1, 0.5, 0.0, 5.0) == [(0.0, 1.1), (1.1, 2.5)]
    assert padded([(10, 20)], 0.1, 0.2, 1.0, 2.9) == [(1.8, 2.9)]


def test_resegment_refuses_another_grid():
    with pytest.raises(Exception, match="0.064 s apart"):
        resegment([0.9] * 10, fps=25, duration=1.0, score_step=0.064)


@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=100),
       st.sampled_from([None, 25.0, 30000 / 1001]))
def test_resegment_frames_follow_the_seconds(probs, fps):
    probs = np.round(probs, 6).tolist()
    for s in resegment(probs, fps=fps, duration=len(probs) * STEP, score_start=0.5):
        assert s.start >= 0.5 - 0.03 - 1e-9 and 0 <= s.score <= 1 and s.label == "speech"
        if fps is None:
            assert s.start_frame is None
        else:
            assert s.start_frame == round(s.start * fps) and s.end_frame == round(s.end * fps)


def test_the_installed_model_matches_its_record():
    path, sha = model.model_file()
    assert path.name == model.MODEL and path.is_file() and sha is not None
    model.open_session(path, sha)


def test_a_damaged_or_missing_model_file_names_the_package_to_reinstall(tmp_path):
    path, sha = model.model_file()
    copy = tmp_path / model.MODEL
    shutil.copyfile(path, copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)
    copy.write_bytes(bytes(data))
    reinstall = "pip install --force-reinstall --no-deps silero-vad"
    with pytest.raises(WeightsError, match=f"damaged.*{reinstall}"):
        model.open_session(copy, sha)
    copy.write_bytes(bytes(data[:1000]))  # truncated, and no record to compare with
    with pytest.raises(WeightsError, match="cannot be loaded.*silero-vad"):
        model.open_session(copy, None)
    with pytest.raises(WeightsError, match="missing.*silero-vad"):
        model.open_session(tmp_path / "gone.onnx", sha)


def test_a_damaged_model_through_the_cli_is_one_line_exit_2(tmp_path, monkeypatch):
    from scenedet.cli import cli
    from scenedet_speech import synth

    path, sha = model.model_file()
    copy = tmp_path / model.MODEL
    copy.write_bytes(path.read_bytes()[:-10])
    monkeypatch.setattr(model, "model_file", lambda: (copy, sha))
    film = synth.write_film(synth.SpeechFilm(np.zeros(synth.RATE, np.float32), (), (), ()),
                            tmp_path / "x.mp4", width=64, height=36)
    out = CliRunner().invoke(cli, ["run", "-p", "speech", str(film)])
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1
    assert "damaged" in out.output and "silero-vad" in out.output


def test_a_saved_result_on_its_own_score_grid_is_recut_without_the_film():
    """The result keeps one score per 32 ms window, not per frame (``n_frames`` 0 when only
    the sound was decoded): ``settings.score_step`` says so, and the host re-cuts it."""
    from scenedet.segmentation.documents import resegment_document

    probs = [0.0] * 30 + [0.95] * 40 + [0.0] * 10 + [0.9] * 20 + [0.0] * 30
    doc = {"video": "talk.mp4", "scene": "speech", "time_grid": "frame", "duration": 4.16,
           "fps": 25.0, "frame_rate": {"value": 25.0, "fraction": "25/1", "nominal": 25,
                                       "drop_frame": False, "variable": False,
                                       "mapping": "constant"},
           "n_frames": 0, "segments": [], "scores": probs, "start": 0.0,
           "first_frame": 0, "settings": {"score_step": STEP, "score_start": 0.0,
                                          "frame_shift": 0, "min_silence": 0.1}}
    out = resegment_document(doc)
    assert [(s["start"], s["end"]) for s in out["segments"]] == [(0.93, 2.27), (2.53, 3.23)]
    assert out["n_frames"] == 0 and out["scores"] == probs
    joined = resegment_document(doc, min_silence=0.5)  # the pause of 0.32 s no longer ends it
    assert [(s["start"], s["end"]) for s in joined["segments"]] == [(0.93, 3.23)]
    del doc["settings"]["score_step"]  # per-frame scores must match the frames, as before
    with pytest.raises(Exception, match="130 scores for 0 frames"):
        resegment_document(doc)
