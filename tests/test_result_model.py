"""The one result model: a scene's and a detector's result documents, the run document, their
JSON Schema (``docs/result.schema.json``), re-cutting saved results (``scenedet segment``),
exporting every form (``scenedet export``) and cut evaluation of shot results only.

The shot film comes from :mod:`scenedet.synth.shots` and the fast ``shots-content`` detector;
the ``black`` detector (scenedet-cues) stands for a detector whose segments are not shots."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner
from result_schema import checked_writer, problems, schema, validator

from scenedet.cli import cli
from scenedet.errors import UsageError
from scenedet.inference.framerun import run_detectors, snap_result
from scenedet.inference.pipeline import SceneResult
from scenedet.media.damage import Damage
from scenedet.outputs.document import document_of, documents_in, load_documents
from scenedet.outputs.several import run_document
from scenedet.outputs.timecode import FrameRate
from scenedet.segmentation.documents import resegment_document, resegment_documents
from scenedet.segmentation.segments import segment

from plugin_helpers import WITH_DETECTORS as PLUGINS  # noqa: E402

RATE = FrameRate(25)


pytestmark = pytest.mark.usefixtures("reference_detectors")


def _detect(film, names, **kwargs):
    from scenedet.plugin._host import reset_host

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCENEDET_PLUGINS", PLUGINS)
        reset_host(None)
        results = run_detectors(film, names, **kwargs)
    reset_host(None)
    return results


@pytest.fixture(scope="module")
def detected(shot_film):
    """``shots-content`` and ``black`` over one decode of the shot film."""
    return _detect(shot_film[1], ["shots-content", "black"])


@pytest.fixture(scope="module")
def shots_doc(detected):
    return document_of(detected[0], RATE)


def _scene(video, duration=21.88, damage=None) -> SceneResult:
    rng = np.random.default_rng(0)
    n = int(duration)
    scores = np.clip(np.where((np.arange(n) >= 5) & (np.arange(n) < 13), 0.9, 0.1)
                     + rng.normal(0, 0.05, n), 0, 1).astype(np.float32)
    settings = {"aggregator": "runs", "min_length": 3, "threshold": "0.7", "label_threshold": 0.5}
    found = segment(scores, **settings)  # as a run cuts them, so a re-cut agrees
    assert [(s.start, s.end) for s in found] == [(5, 13)]
    return SceneResult(video=str(video), scene="kissing", duration=duration, scores=scores,
                       segments=found, model="kissing.pt", settings=settings, damage=damage)


def _roundtrip(data):
    return json.loads(json.dumps(data))


# -- the schema -----------------------------------------------------------------------------------
def test_the_schema_is_draft_2020_12_versioned_with_the_defs_it_promises():
    from jsonschema import Draft202012Validator

    whole = schema()
    Draft202012Validator.check_schema(whole)
    assert whole["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert whole["$id"].endswith(":1")
    assert {"segment", "frame_rate", "damage", "result", "run"} <= set(whole["$defs"])
    from scenedet.engine.result import SCHEMA_VERSION

    assert whole["$defs"]["run"]["properties"]["version"]["const"] == SCHEMA_VERSION


def test_a_scene_a_detector_a_snapped_scene_and_a_run_document_validate(shot_film, detected,
                                                                        shots_doc):
    _, film = shot_film
    shots, black = detected
    scene = document_of(_scene(film), RATE)
    damaged = document_of(_scene(film, damage=Damage(audio_packets_skipped=2, seconds={3})), RATE)
    snapped = document_of(snap_result(_scene(film), shots, tolerance=1.0), RATE)
    black_doc = document_of(black, RATE)
    assert any("unsnapped" in s for s in snapped["segments"])
    assert shots_doc["scores"] and shots_doc["kind"] == "detector"
    from scenedet.engine.result import RunResult

    run = RunResult(video=str(film), results={"kissing": _scene(film), "shots-content": shots})
    for doc in (scene, damaged, snapped, shots_doc, black_doc, run.to_dict(RATE),
                run_document(film, [scene, shots_doc, black_doc])):
        assert problems(_roundtrip(doc)) == []


@pytest.mark.parametrize("spoil, where", [
    (lambda d: d.pop("segments"), "'segments' is a required property"),
    (lambda d: d.pop("n_frames"), "'n_frames' is a required property"),
    (lambda d: d.update(kind="film"), "'film' is not one of"),
    (lambda d: d["segments"][0].update(start_timecode="1:2"), "does not match"),
    (lambda d: d["frame_rate"].update(fraction="25"), "does not match"),
    (lambda d: d["segments"][0].update(index=0), "less than the minimum"),
])
def test_a_spoilt_document_does_not_validate(shots_doc, spoil, where):
    doc = _roundtrip(shots_doc)
    spoil(doc)
    found = problems(doc)
    assert found and any(where in line for line in found), found
    assert not validator(None).is_valid(doc)


def test_a_scene_with_cuts_or_a_run_of_another_version_does_not_validate(shot_film, shots_doc):
    scene = _roundtrip(document_of(_scene(shot_film[1]), RATE))
    assert problems({**scene, "cuts": []})
    assert problems({**scene, "scores": [1.5]})
    assert problems({"scenedet": "run", "version": 2, "video": "f", "results": [scene]})
    assert problems({"scenedet": "run", "version": 1, "video": "f", "results": []})


def test_the_write_check_sees_invalid_result_documents_only(shots_doc, tmp_path):
    written = []
    failures: list[str] = []
    write = checked_writer(lambda path, text: written.append(path), failures)
    write(tmp_path / "ok.json", json.dumps(shots_doc))
    write(tmp_path / "other.json", json.dumps({"segments": [{"start": 0, "end": 1}]}))
    write(tmp_path / "notes.txt", "segments")
    assert failures == [] and len(written) == 3
    bad = {k: v for k, v in shots_doc.items() if k != "frame_rate"}
    write(tmp_path / "bad.json", json.dumps([bad]))
    assert len(failures) == 1 and "frame_rate" in failures[0]


# -- the detector's document ----------------------------------------------------------------------
def test_a_detectors_document_keeps_its_scores_frames_and_only_a_shot_detector_lists_cuts(
        detected, shots_doc):
    shots, black = detected
    assert shots.shots and not black.shots and black.cuts == []
    assert len(shots_doc["scores"]) == shots_doc["n_frames"] == shots.n_frames
    assert all(round(x, 6) == x for x in shots_doc["scores"])
    assert [(s["start_frame"], s["end_frame"]) for s in shots_doc["segments"]] == \
        [(s.start_frame, s.end_frame) for s in shots.segments]
    assert [c["frame"] for c in shots_doc["cuts"]] == [s.start_frame for s in shots.segments[1:]]
    black_doc = document_of(black, RATE)
    assert "cuts" not in black_doc and black_doc["scores"] == []
    assert black_doc["segments"] and all(s["label"] == "black" for s in black_doc["segments"])
    assert shots_doc["settings"]["judged"]["min_change"] == 12.0


def test_snapping_needs_a_shot_detector(detected, shot_film):
    with pytest.raises(UsageError, match="'black': its segments are not shots"):
        snap_result(_scene(shot_film[1]), detected[1], tolerance=1.0)


# -- re-cutting -----------------------------------------------------------------------------------
def test_the_recut_of_a_saved_detector_result_with_its_options_is_the_result(shots_doc):
    assert resegment_document(_roundtrip(shots_doc)) == shots_doc


def test_a_recut_with_other_options_is_a_fresh_run_with_them(shot_film, shots_doc):
    options = {"threshold": 1.6, "window": 3, "min_shot": 40}
    (fresh,) = _detect(shot_film[1], ["shots-content"], options={"shots-content": options})
    fresh_doc = document_of(fresh, RATE)
    recut = resegment_document(_roundtrip(shots_doc), **options)
    assert recut["segments"] != shots_doc["segments"]
    assert recut["segments"] == fresh_doc["segments"] and recut["cuts"] == fresh_doc["cuts"]
    assert recut["settings"] == fresh_doc["settings"]


def test_the_recut_of_a_part_keeps_film_time(shot_film):
    (part,) = _detect(shot_film[1], ["shots-content"], start=4, end=13)
    doc = document_of(part, RATE)
    assert doc["first_frame"] == 100 and doc["segments"][0]["start_frame"] == 100
    assert resegment_document(_roundtrip(doc)) == doc


def test_a_run_document_is_recut_each_result_and_a_snapped_scene_snapped_again(shot_film,
                                                                               detected):
    _, film = shot_film
    shots = detected[0]
    snapped = document_of(snap_result(_scene(film), shots, tolerance=1.0), RATE)
    docs = _roundtrip([snapped, document_of(shots, RATE)])
    again = resegment_documents(docs)
    assert again == docs
    # a longer minimum shot drops cuts; the scene follows the cuts that are left
    recut = resegment_documents(docs, settings={"shots-content": {"min_shot": 200}})
    cuts = [c["time"] for c in recut[1]["cuts"]]
    assert len(cuts) < len(docs[1]["cuts"])
    for seg in recut[0]["segments"]:
        assert seg["start"] in cuts or seg["start"] == seg["unsnapped"][0]
    with pytest.raises(UsageError, match="no result named 'shots'"):
        resegment_documents(docs, settings={"shots": {"threshold": 0.3}})


def test_refusals_name_what_to_do(shots_doc, detected):
    old = {k: v for k, v in _roundtrip(shots_doc).items() if k != "scores"}
    with pytest.raises(UsageError, match=r"no per-frame scores .*rerun `scenedet run -p "
                                         r"shots-content`"):
        resegment_document(old, source="old.json")
    black = _roundtrip(document_of(detected[1], RATE))
    black["scores"] = [0.0] * black["n_frames"]
    with pytest.raises(UsageError, match="the black detector cannot re-cut a saved result"):
        resegment_document(black)
    with pytest.raises(UsageError, match="re-cuts with threshold, min_change, window, min_shot"):
        resegment_document(shots_doc, size=3)
    unknown = {**_roundtrip(shots_doc), "scene": "flicker"}
    with pytest.raises(UsageError, match="'flicker' detector is not installed"):
        resegment_document(unknown)


# -- reading every form ---------------------------------------------------------------------------
def test_load_documents_reads_a_result_a_run_document_and_the_old_list(shots_doc, tmp_path):
    scene = _roundtrip(document_of(_scene("f.mp4"), RATE))
    for data, form in ((shots_doc, "result"), (run_document("f.mp4", [scene, shots_doc]), "run"),
                       ([scene, shots_doc], "list")):
        path = tmp_path / f"{form}.json"
        path.write_text(json.dumps(data))
        docs = load_documents(path)
        assert [d["scene"] for d in docs] == (["shots-content"] if form == "result"
                                              else ["kissing", "shots-content"])
        assert documents_in(_roundtrip(data))[0] == form
    (tmp_path / "bad.json").write_text(json.dumps({"results": [{"scene": "x"}]}))
    with pytest.raises(UsageError, match=r"bad.json: results\[0\]: not a `scenedet run` result"):
        load_documents(tmp_path / "bad.json")


# -- the commands ---------------------------------------------------------------------------------
def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_segment_recuts_a_detector_result_with_options(shots_doc, tmp_path):
    saved = tmp_path / "shots.json"
    saved.write_text(json.dumps(shots_doc))
    out = tmp_path / "recut.json"
    result = invoke("segment", saved, "-O", "threshold=1.6", "-O", "min_shot=40", "-o", out)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == resegment_document(shots_doc, threshold=1.6, min_shot=40)
    same = invoke("segment", saved)
    assert json.loads(same.stdout) == shots_doc


def test_segment_recuts_a_run_document_and_picks_one_with_plugin(shot_film, shots_doc, tmp_path):
    scene = document_of(_scene(shot_film[1]), RATE)
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(run_document(shot_film[1], [scene, shots_doc])))
    out = tmp_path / "again.json"
    result = invoke("segment", saved, "-O", "shots-content.min_shot=40", "-l", "4", "-o", out)
    assert result.exit_code == 0, result.output
    run = json.loads(out.read_text())
    assert run["scenedet"] == "run" and [r["scene"] for r in run["results"]] == \
        ["kissing", "shots-content"]
    assert run["results"][0]["settings"]["min_length"] == 4
    assert run["results"][1]["settings"]["min_shot"] == 40
    one = invoke("segment", saved, "--plugin", "content", "-O", "threshold=1.6")
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout) == resegment_document(shots_doc, threshold=1.6)


@pytest.mark.parametrize("args, words", [
    (["-O", "size=3"], "'size' is not one of them"),
    (["-l", "4"], "--min-length cuts a per-second scene"),
    (["-O", "min_change=3"], "min_change was judged on the pictures"),
    (["--plugin", "black"], "holds results of shots-content"),
])
def test_segment_refusals_are_one_line(shots_doc, tmp_path, args, words):
    saved = tmp_path / "shots.json"
    saved.write_text(json.dumps(shots_doc))
    result = invoke("segment", saved, *args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert words in result.output


def test_segment_without_scores_says_to_rerun(shots_doc, tmp_path):
    saved = tmp_path / "old.json"
    saved.write_text(json.dumps({k: v for k, v in shots_doc.items() if k != "scores"}))
    result = invoke("segment", saved, "-O", "threshold=2")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert "no per-frame scores" in line and "rerun `scenedet run -p shots-content`" in line


def test_a_real_process_recuts_a_detector_result_without_torch_or_pyav(shots_doc, tmp_path):
    saved = tmp_path / "shots.json"
    saved.write_text(json.dumps(shots_doc))
    script = textwrap.dedent(f"""
        import json, sys
        from scenedet.cli import cli
        try:
            cli(["segment", {str(saved)!r}, "-O", "threshold=2"], prog_name="scenedet")
        except SystemExit as exc:
            assert not exc.code, exc.code
        heavy = sorted(m for m in ("torch", "torchvision", "torchaudio", "av") if m in sys.modules)
        print(json.dumps({{"heavy": heavy}}), file=sys.stderr)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr.strip().splitlines()[-1])["heavy"] == []
    assert json.loads(done.stdout)["settings"]["threshold"] == 2


def test_export_of_a_run_document_writes_one_file_per_result(shot_film, shots_doc, tmp_path):
    scene = document_of(_scene(shot_film[1]), RATE)
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(run_document(shot_film[1], [scene, shots_doc])))
    result = invoke("export", saved, "-o", tmp_path / "film.{scene}.edl", "-o",
                    tmp_path / "film.{scene}.json", "-o", tmp_path / "all.json", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "film.kissing.edl").read_text().count("\n") > 2
    edl = (tmp_path / "film.shots-content.edl").read_text()
    assert edl.count(" C ") == len(shots_doc["segments"])
    assert json.loads((tmp_path / "film.shots-content.json").read_text()) == shots_doc
    assert json.loads((tmp_path / "all.json").read_text())["results"][1] == shots_doc
    plain = invoke("export", saved, "-o", tmp_path / "film.edl")
    assert plain.exit_code == 2 and "put {scene} in the path" in plain.output
    assert not (tmp_path / "film.edl").exists()


def test_export_of_a_single_detector_result_keeps_its_document(shots_doc, tmp_path):
    saved = tmp_path / "shots.json"
    saved.write_text(json.dumps(shots_doc))
    result = invoke("export", saved, "-o", tmp_path / "copy.json", "-o", tmp_path / "s.csv")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "copy.json").read_text()) == shots_doc
    assert (tmp_path / "s.csv").read_text().count("\n") == len(shots_doc["segments"]) + 1


def test_evaluate_scores_a_shot_result_and_refuses_any_other_detector(shot_film, detected,
                                                                      shots_doc, tmp_path):
    plan, film = shot_film
    cuts = tmp_path / "cuts.csv"
    cuts.write_text("video,kind,start_frame,end_frame\n" + "".join(
        f"{film.name},{t.kind},{t.start_frame},{t.end_frame}\n" for t in plan.transitions))
    run = tmp_path / "run.json"
    black = document_of(detected[1], RATE)
    run.write_text(json.dumps(run_document(film, [black, shots_doc])))
    ok = invoke("evaluate", "--annotations", cuts, "--predictions", run, "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["pooled"]["2"]["hard"]["recall"] == 1.0
    only_black = tmp_path / "black.json"
    only_black.write_text(json.dumps(black))
    refused = invoke("evaluate", "--annotations", cuts, "--predictions", only_black)
    assert refused.exit_code == 2
    [line] = refused.stderr.splitlines()
    assert "black is not a shot detector" in line and "scenedet run -p shots" in line
