"""``scenedet segment``: formats in, JSON out, one-line errors, and no torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from scenedet.cli import cli

SPEC_EXAMPLE = "1\n0\n1\n1\n1\n0\n0\n1\n1\n"  # the spec's example, as labels


def _run(*args: str, input: str | None = None):
    """``scenedet segment`` with the paper's aggregator unless the test names one."""
    chosen = () if "--aggregator" in args else ("--aggregator", "interval")
    return CliRunner().invoke(cli, ["segment", *chosen, *args], input=input, catch_exceptions=False)


def _segments(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["segments"]


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text(SPEC_EXAMPLE)
    return str(path)


def test_labels_from_a_text_file(spec_file):
    assert _segments(_run("--min-length", "4", "--threshold", "0.7", spec_file)) == [
        {"start": 2, "end": 9, "score": None}]


def test_stdin_with_short_options():
    assert _segments(_run("-l", "4", "-t", "0.7", "-", input=SPEC_EXAMPLE)) == [
        {"start": 2, "end": 9, "score": None}]


def test_a_run_output_is_recut_with_scores(tmp_path):
    probs = [0.9, 0.1, 0.8, 0.7, 0.6, 0.2, 0.3, 0.9, 1.0]
    run = tmp_path / "film.json"
    run.write_text(json.dumps({"scores": probs, "segments": []}))
    [scene] = _segments(_run("--min-length", "4", str(run)))
    assert (scene["start"], scene["end"]) == (2, 9)
    assert scene["score"] == pytest.approx(sum(probs[2:9]) / 7)
    # the label threshold moves the positives: at 0.95 only second 8 is positive
    assert _segments(_run("--min-length", "1", "--label-threshold", "0.95", str(run))) == [
        {"start": 8, "end": 9, "score": 1.0}]


def test_a_run_output_reuses_its_recorded_settings_unless_overridden(tmp_path):
    """`scenedet segment film.json` reproduces the run's cut; an option changes only itself."""
    probs = [0.9, 0.1, 0.8, 0.7, 0.6, 0.2, 0.3, 0.9, 1.0]
    settings = {"aggregator": "interval", "min_length": 4, "threshold": "0.7", "label_threshold": 0.5}
    run = tmp_path / "film.json"
    run.write_text(json.dumps({"video": "film.mp4", "scores": probs, "segments": [], "settings": settings}))
    assert [(s["start"], s["end"]) for s in _segments(_run(str(run)))] == [(2, 9)]
    assert [(s["start"], s["end"]) for s in _segments(_run("-t", "0.72", str(run)))] == [(0, 5)]
    assert _segments(_run("-l", "10", str(run))) == []


def test_bad_recorded_settings_are_reported_with_the_file(tmp_path):
    run = tmp_path / "film.json"
    run.write_text(json.dumps({"scores": [0.5], "settings": {"min_length": 2.5}}))
    result = _run(str(run))
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"Error: {run}: settings.min_length must be a whole number of "
                                     "seconds >= 1, got 2.5")
    assert _run("-l", "3", str(run)).exit_code == 0  # the option replaces the bad value


def test_min_length_takes_time_formats_and_threshold_takes_ratios(spec_file):
    expected = [{"start": 2, "end": 9, "score": None}]
    assert _segments(_run("--min-length", "00:00:04", spec_file)) == _segments(_run("-l", "4s", spec_file))
    assert _segments(_run("-l", "4.0", "-t", "5/7", spec_file)) == expected
    # 5/7 = 0.714... < 0.72: (2, 8) no longer qualifies and (0, 4), at 4/5, is left
    assert _segments(_run("-l", "4", "-t", "0.72", spec_file)) == [{"start": 0, "end": 5, "score": None}]


def test_the_reference_aggregator_gives_the_same_output(tmp_path):
    path = tmp_path / "scores.json"
    path.write_text(json.dumps([0.9 if (i // 7) % 3 else 0.2 for i in range(60)]))
    fast = _segments(_run("-l", "5", str(path)))
    assert fast and _segments(_run("--aggregator", "algorithm1", "-l", "5", str(path))) == fast


def test_output_file(spec_file, tmp_path):
    out = tmp_path / "scenes.json"
    result = _run("-l", "4", spec_file, "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(out.read_text()) == {"segments": [{"start": 2, "end": 9, "score": None}]}


@pytest.mark.parametrize(("args", "message"), [
    (["-l", "2.5"], "Error: --min-length must be a whole number of seconds >= 1, got 2.5"),
    (["-l", "0"], "Error: --min-length must be a whole number of seconds >= 1, got 0"),
    (["-t", "70"], "Error: --threshold must be in (0, 1] (a fraction, not a percentage), got '70'"),
    (["-t", "0"], "Error: --threshold must be in (0, 1], got '0'"),
    (["-t", "seventy"], "Error: --threshold must be a number in (0, 1] such as 0.7 or 2/3, got 'seventy'"),
    (["--label-threshold", "1.5"], "Error: --label-threshold must be a probability in [0, 1], got 1.5"),
    (["--aggregator", "nope"], "Error: unknown aggregator 'nope' (available: "),
])
def test_bad_options_are_one_line_errors_with_exit_2(spec_file, args, message):
    result = _run(*args, spec_file)
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(message)


@pytest.mark.parametrize(("content", "message"), [
    ("0.2\n0.4\n1.3\n", ":3 is 1.3: probabilities must be in [0, 1]"),
    ("0.2\nx\n", ":2: 'x' is not a number"),
    ("", "is empty"),
    ('{"segments": []}', 'without "scores"'),
])
def test_bad_score_files_are_one_line_errors_with_exit_2(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    result = _run(str(path))
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ") and message in line


def test_a_missing_file_is_a_usage_error(tmp_path):
    result = _run(str(tmp_path / "nope.txt"))
    assert result.exit_code == 2
    assert "nope.txt" in result.stderr and "No such file" in result.stderr


def test_help_teaches_formats_and_examples():
    result = CliRunner().invoke(cli, ["segment", "--help"])
    assert result.exit_code == 0
    for text in ("scenedet run", "JSON list", "one number per line", "- for stdin", "Examples:",
                 "--label-threshold", "2/3", "end exclusive"):
        assert text in result.output


def test_a_real_process_recuts_a_day_without_importing_torch_or_the_media_stack(tmp_path):
    """The promise of the command: re-cutting a day of cached scores needs no model and no
    decoding, because neither the CLI nor the segmentors import torch or PyAV. (Timings are
    measured by benchmarks/segmentors.py, not asserted here.)"""
    scores = tmp_path / "day.json"
    day = [0.95 if 3_600 <= i < 3_700 or 40_000 <= i < 40_090 else 0.05 for i in range(86_400)]
    scores.write_text(json.dumps({"scores": day}))
    script = textwrap.dedent(f"""
        import json, sys
        from scenedet.cli import cli
        try:
            cli(["segment", {str(scores)!r}], prog_name="scenedet")
        except SystemExit as exc:
            assert not exc.code, exc.code
        heavy = sorted(m for m in ("torch", "torchvision", "torchaudio", "av") if m in sys.modules)
        print(json.dumps({{"heavy": heavy}}), file=sys.stderr)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["heavy"] == []
    assert json.loads(done.stdout)["segments"] == [
        {"start": 3600, "end": 3700, "score": pytest.approx(0.95)},
        {"start": 40000, "end": 40090, "score": pytest.approx(0.95)}]
