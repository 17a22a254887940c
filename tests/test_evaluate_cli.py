"""``scenedet evaluate --predictions``: hand-made results and annotations, hand-computed numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from scenedet.evaluation.annotations import Annotation, AnnotationSet
from scenedet.cli import cli
from scenedet.errors import UsageError
from scenedet.evaluation.report import evaluate_predictions

ANNOTATIONS = """video,start,end
film_a.mp4,2,6
film_a.mp4,10,14
film_b.mp4,00:00:03,8s
film_c.mp4,,
"""


def scores(n, positive):
    return [0.9 if i in positive else 0.1 for i in range(n)]


def run_result(video, duration, positive, segments):
    return {"video": video, "scene": "synthetic", "duration": duration,
            "segments": [{"start": s, "end": e, "score": p} for s, e, p in segments],
            "scores": scores(int(duration), positive)}


@pytest.fixture
def files(tmp_path):
    annotations = tmp_path / "annotations.csv"
    annotations.write_text(ANNOTATIONS)
    a = tmp_path / "a.json"
    # Truth a: seconds 2-5 and 10-13. Predicted: 2-5 and 11-15 -> tp 7, fp 2, fn 1, tn 10.
    a.write_text(json.dumps(run_result("/elsewhere/films/film_a.mp4", 20.0,
                                       {2, 3, 4, 5, 11, 12, 13, 14, 15},
                                       [(2, 6, 0.9), (11, 16, 0.6)])))
    b = tmp_path / "b.json"
    # Truth b: seconds 3-7. Predicted: 0-1 -> tp 0, fp 2, fn 5, tn 3.
    b.write_text(json.dumps(run_result("film_b.mp4", 10.0, {0, 1}, [(0, 2, 0.8)])))
    return annotations, a, b


def invoke(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


def test_report_values_by_hand(files, tmp_path):
    annotations, a, b = files
    report_path = tmp_path / "out" / "report.json"
    result = invoke("evaluate", "--annotations", annotations, "--predictions", a,
                    "--predictions", b, "-o", report_path)
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())

    ps = report["per_second"]
    assert ps["confusion"] == {"tp": 7, "fp": 4, "fn": 6, "tn": 13}
    assert ps["precision"] == pytest.approx(7 / 11)
    assert ps["recall"] == pytest.approx(7 / 13)
    assert ps["f1"] == pytest.approx(14 / 24)
    assert ps["accuracy"] == pytest.approx(20 / 30)
    assert ps["label_threshold"] == 0.5
    assert report["per_video"]["film_a.mp4"]["confusion"] == {"tp": 7, "fp": 2, "fn": 1, "tn": 10}
    assert report["per_video"]["film_b.mp4"]["confusion"] == {"tp": 0, "fp": 2, "fn": 5, "tn": 3}
    assert report["videos"] == ["film_a.mp4", "film_b.mp4"]
    assert report["not_evaluated"] == ["film_c.mp4"]

    # Ranked: a[2,6) .9 hit (tIoU 1); b[0,2) .8 miss; a[11,16) .6 vs [10,14): tIoU 3/6 = 0.5.
    seg = report["segments"]
    assert (seg["tp"], seg["fp"], seg["fn"]) == (2, 1, 1)
    assert seg["precision"] == pytest.approx(2 / 3) and seg["recall"] == pytest.approx(2 / 3)
    ap = report["detection"]["ap"]
    assert ap["0.50"] == pytest.approx(1 / 3 * 1 + 1 / 3 * 2 / 3)
    assert all(ap[k] == pytest.approx(1 / 3) for k in ap if k != "0.50")
    assert report["detection"]["mAP"] == pytest.approx((5 / 9 + 9 / 3) / 10)

    # The same numbers, as a table.
    lines = result.output.splitlines()
    assert "Per second (score >= 0.50 is positive; 2 films, 30 s)" in lines
    assert any(line.split() == ["all", "films", "0.636", "0.538", "0.583", "0.667", "7", "4",
                                "6", "13"] for line in lines)
    assert any(line.split() == ["tIoU", "0.50", "0.667", "0.667", "0.667", "2", "1", "1"]
               for line in lines)
    ap_row = next(line for line in lines if line.startswith("AP "))
    assert ap_row.split() == ["AP", "0.556"] + ["0.333"] * 9 + ["0.356"]
    assert "Not evaluated (annotated, no prediction): film_c.mp4" in lines


def test_json_output_and_threshold(files):
    annotations, a, b = files
    result = invoke("evaluate", "--annotations", annotations, "--predictions", a,
                    "--predictions", b, "--json", "--label-threshold", "0.95")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["per_second"]["confusion"] == {"tp": 0, "fp": 0, "fn": 13, "tn": 17}
    assert report["per_second"]["label_threshold"] == 0.95


def test_runs_label_threshold_is_the_default(files, tmp_path):
    annotations, a, _ = files
    data = json.loads(a.read_text())
    data["settings"] = {"label_threshold": 0.95}
    a.write_text(json.dumps(data))
    result = invoke("evaluate", "--annotations", annotations, "--predictions", a, "--json")
    assert json.loads(result.stdout)["per_second"]["label_threshold"] == 0.95


def test_a_list_of_results_in_one_file(files, tmp_path):
    annotations, a, b = files
    both = tmp_path / "both.json"
    both.write_text(json.dumps([json.loads(a.read_text()), json.loads(b.read_text())]))
    result = invoke("evaluate", "--annotations", annotations, "--predictions", both, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["per_second"]["confusion"]["tp"] == 7


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_bad_annotation_file_is_one_line_with_the_line_number(files, tmp_path):
    _, a, _ = files
    bad = tmp_path / "bad.csv"
    bad.write_text("video,start,end\nfilm_a.mp4,2,6\nfilm_a.mp4,14,10\n")
    line = one_line_error(invoke("evaluate", "--annotations", bad, "--predictions", a))
    assert line == f"Error: {bad}: line 3: end 10 is not after start 14"


def test_scene_past_the_end_of_the_film_as_the_run_saw_it(files, tmp_path):
    _, a, _ = files
    late = tmp_path / "late.csv"
    late.write_text("video,start,end\nfilm_a.mp4,2,6\nfilm_a.mp4,15,25\n")
    line = one_line_error(invoke("evaluate", "--annotations", late, "--predictions", a))
    assert line == f"Error: {late}: line 3: 15-25 runs past the end of film_a.mp4 (20 s long)"


def test_prediction_for_an_unannotated_film(files, tmp_path):
    annotations, a, _ = files
    other = tmp_path / "other.json"
    other.write_text(json.dumps(run_result("film_z.mp4", 5.0, set(), [])))
    line = one_line_error(invoke("evaluate", "--annotations", annotations, "--predictions", other))
    assert "video 'film_z.mp4' is not in" in line


def test_usage_errors(files, tmp_path):
    annotations, a, _ = files
    assert "either --predictions" in one_line_error(invoke("evaluate", "--annotations",
                                                           annotations))
    assert "model file not found" in one_line_error(invoke("evaluate", "--annotations", annotations,
                                                           "--model", tmp_path / "m.sdm"))
    assert "a second prediction for 'film_a.mp4'" in one_line_error(invoke(
        "evaluate", "--annotations", annotations, "--predictions", a, "--predictions", a))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert "invalid JSON" in one_line_error(invoke("evaluate", "--annotations", annotations,
                                                   "--predictions", broken))
    assert "predictions file not found" in one_line_error(invoke(
        "evaluate", "--annotations", annotations, "--predictions", tmp_path / "none.json"))


def test_explicit_negatives_ignore_unlabelled_time_and_detections_there():
    annotations = AnnotationSet([Annotation("v.mp4", 2, 4, 1), Annotation("v.mp4", 6, 8, 0)])
    predicted = np.array([1, 1, 1, 0, 0, 0, 1, 0, 1, 1], dtype=float)  # 10 s
    report = evaluate_predictions(
        {"v.mp4": (predicted, [(2, 4, 0.9), (6, 7, 0.8), (9, 10, 0.7)])}, annotations)
    # Labelled seconds: 2, 3 (positive), 6, 7 (negative); the other six are ignored.
    ps = report.per_second
    assert (ps.tp, ps.fp, ps.fn, ps.tn, ps.ignored) == (1, 1, 1, 1, 6)
    # [9, 10) touches no annotated time: left out. [6, 7) lies in a marked negative: a miss.
    assert report.ignored_segments == 1
    assert (report.segments.tp, report.segments.fp) == (1, 1)
    assert "1 in unlabelled time ignored" in report.format_table()


def test_library_refuses_unknown_videos():
    with pytest.raises(UsageError, match="do not list"):
        evaluate_predictions({"x.mp4": ([0.1], [])}, AnnotationSet([Annotation("v", 0, 1)]))


def test_library_route_gives_the_cli_report(files):
    from scenedet.evaluation import evaluate_results, load_annotations, read_results

    annotations, a, b = files
    report = evaluate_results([*read_results(a), *read_results(b)], load_annotations(annotations))
    printed = invoke("evaluate", "--annotations", annotations, "--predictions", a,
                     "--predictions", b, "--json")
    assert printed.exit_code == 0, printed.output
    assert json.loads(json.dumps(report.to_dict())) == json.loads(printed.stdout)
    assert report.not_evaluated == ("film_c.mp4",)


def test_library_matching_errors_name_no_cli_flags(files):
    from scenedet.evaluation import load_annotations
    from scenedet.evaluation.evaluate import match_results, read_results

    annotations_path, a, _ = files
    annotations = load_annotations(annotations_path)
    predictions, durations = match_results(read_results(a), annotations)
    assert list(predictions) == ["film_a.mp4"] and durations == {"film_a.mp4": 20.0}
    with pytest.raises(UsageError, match="a second prediction for 'film_a.mp4'") as info:
        match_results([*read_results(a), *read_results(a)], annotations)
    assert "--" not in str(info.value)
    with pytest.raises(UsageError, match="video 'film_z.mp4' is not in") as info:
        match_results([("z", {"video": "film_z.mp4", "scores": []})], annotations)
    assert "--" not in str(info.value)


def test_subset_and_split_selection(files, tmp_path):
    from scenedet.evaluation import load_annotations, select_split
    from scenedet.evaluation.annotations import AnnotationError
    from scenedet.evaluation.evaluate import evaluate_model

    annotations = load_annotations(files[0])
    part = annotations.subset(["film_b.mp4", "film_c.mp4"])
    assert part.videos == ("film_b.mp4", "film_c.mp4") and part.source == annotations.source
    assert [(a.video, a.start, a.end) for a in part] == [("film_b.mp4", 3.0, 8.0)]
    with pytest.raises(AnnotationError, match="no film 'film_z.mp4'"):
        annotations.subset(["film_z.mp4"])
    assert select_split(annotations, tmp_path / "no-model.pt", "all") is annotations
    with pytest.raises(UsageError, match="unknown split 'dev'"):
        evaluate_model(tmp_path / "no-model.pt", annotations, split="dev")
    with pytest.raises(UsageError, match="model file not found"):
        select_split(annotations, tmp_path / "no-model.pt", "test")
