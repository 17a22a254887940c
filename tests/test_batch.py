"""``scenedet batch``: discovery, the summary log, the skip rule, failures, dry runs, and resuming
after ``kill -9`` / SIGTERM / Ctrl-C with byte-identical results."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from batch_helpers import GOOD, batch_cli, lib, make_model, model, reference, result_files  # noqa: F401  (lib, model, reference: fixtures)
from hypothesis import given
from hypothesis import strategies as st

from scenedet.batch import discover, read_summary
from scenedet.batch.state import SummaryLog, content_hash, iter_summary, result_status
from scenedet.errors import UsageError

# ---------------------------------------------------------------- discovery (no films decoded)


def _touch(root: Path, *rels: str) -> None:
    for rel in rels:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rel.encode())


def test_folders_are_searched_recursively_by_video_suffix(tmp_path):
    _touch(tmp_path, "lib/x.mp4", "lib/sub/y.MKV", "lib/sub/deeper/z.avi", "lib/notes.txt",
           "lib/.hidden.mp4", "lib/.cache/w.mp4", "lib/cover.jpg")
    found = [f.path for f in discover([str(tmp_path / "lib")])]
    assert found == [tmp_path / "lib/x.mp4", tmp_path / "lib/sub/y.MKV",
                     tmp_path / "lib/sub/deeper/z.avi"]


def test_globs_lists_stdin_and_duplicates(tmp_path, monkeypatch):
    _touch(tmp_path, "lib/a/one.mp4", "lib/b/two.mkv", "lib/b/three.mp4", "elsewhere/four.mov")
    (tmp_path / "lib/films.txt").write_text("# my films\n\na/one.mp4\n../elsewhere/four.mov\n")
    monkeypatch.chdir(tmp_path)
    assert [f.path.name for f in discover(["lib/b/*.mp4"])] == ["three.mp4"]
    assert [f.path.name for f in discover([str(tmp_path / "lib/**/*.mkv")])] == ["two.mkv"]
    assert [f.path.name for f in discover(["lib/films.txt"])] == ["one.mp4", "four.mov"]
    stdin = io.StringIO("lib/b/two.mkv\n\nlib/a\n")
    assert [f.path.name for f in discover(["-"], stdin=stdin)] == ["two.mkv", "one.mp4"]
    # each film once, in the order first found, whatever names it
    both = discover(["lib/a/one.mp4", "lib", str(tmp_path / "lib/a/one.mp4")])
    assert [f.path.name for f in both] == ["one.mp4", "three.mp4", "two.mkv"]
    assert all(f.path.is_absolute() for f in both)


def test_nothing_there_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such film, folder or list: .*missing.mp4"):
        discover([str(tmp_path / "missing.mp4")])
    assert discover([str(tmp_path / "*.mp4")]) == []  # a glob may match nothing


def test_same_stem_in_different_folders_gets_distinct_stable_names(tmp_path, monkeypatch):
    _touch(tmp_path, "lib/2019/intro.mp4", "lib/2020/intro.mp4", "lib/2020/intro.mkv")
    first = {f.path.relative_to(tmp_path / "lib"): f.name for f in discover([str(tmp_path / "lib")])}
    names = list(first.values())
    assert len(set(names)) == 3 and all(n.startswith("intro-") for n in names)
    # stable: from another working folder, after adding films, after moving the library
    monkeypatch.chdir(tmp_path / "lib")
    _touch(tmp_path, "lib/2018/intro.mp4")
    again = {f.path.relative_to(tmp_path / "lib"): f.name for f in discover(["."])}
    shutil.move(tmp_path / "lib", tmp_path / "moved")
    moved = {f.path.relative_to(tmp_path / "moved"): f.name
             for f in discover([str(tmp_path / "moved")])}
    assert moved == again
    assert {k: again[k] for k in first} == first


def test_one_relative_path_under_two_roots_still_gets_two_names(tmp_path):
    _touch(tmp_path, "x/film.mp4", "y/film.mp4")
    films = discover([str(tmp_path / "x"), str(tmp_path / "y")])
    assert len({f.name for f in films}) == 2


@given(st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s and "\x00" not in s
                                                and s not in (".", "..")))
def test_names_are_safe_file_names(stem):
    from scenedet.batch.discovery import _name

    name = _name(Path(stem + ".mp4"), stem)
    assert "/" not in name and not name.startswith(".") and name.isprintable()
    assert len(name) <= 89


# ---------------------------------------------------------------- the summary log


def test_a_torn_last_line_is_ignored_then_cut_before_appending(tmp_path):
    path = tmp_path / "summary.jsonl"
    good = {"path": "/f/a.mp4", "status": "done", "hash": "h1"}
    path.write_text(json.dumps(good) + "\n" + '{"path": "/f/b.mp4", "sta')  # kill -9 mid-line
    assert list(iter_summary(path)) == [good]
    with SummaryLog(path) as log:
        log.append({"path": "/f/b.mp4", "status": "failed", "hash": "h2"})
        log.append({"path": "/f/a.mp4", "status": "failed", "hash": "h1"})
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line) for line in lines)
    assert read_summary(path)["/f/a.mp4"]["status"] == "failed"  # the last line per film counts


def test_content_hash_sees_size_and_sampled_bytes(tmp_path):
    big = tmp_path / "big.bin"
    data = bytearray(os.urandom(5 << 20))
    big.write_bytes(data)
    first = content_hash(big)
    assert content_hash(big) == first
    for offset in (10, len(data) // 2, len(data) - 10):  # start, middle, end samples
        changed = bytearray(data)
        changed[offset] ^= 0xFF
        big.write_bytes(changed)
        assert content_hash(big) != first
    big.write_bytes(data + b"x")
    assert content_hash(big) != first


def test_result_status_checks_film_model_and_settings(tmp_path):
    block = {"film_hash": "f", "model_hash": "m", "settings": {"min_length": 10}}
    path = tmp_path / "r.json"
    assert result_status(path, block) == "new"
    path.write_text('{"scores": [0.1], "segments": [], "batch": ')  # not JSON
    assert result_status(path, block) == "unreadable result"
    for changed, why in (({"film_hash": "g"}, "film changed"), ({"model_hash": "n"}, "model changed"),
                         ({"settings": {"min_length": 5}}, "settings changed"), ({}, "done")):
        path.write_text(json.dumps({"scores": [0.1], "segments": [], "batch": {**block, **changed}}))
        assert result_status(path, block) == why
    # every output asked for must be recorded with the result and be there
    csv_path, plot_path = tmp_path / "r.csv", tmp_path / "r.png"
    outputs = {".csv": csv_path, "plot": plot_path}
    assert result_status(path, block, outputs) == "outputs missing: .csv, plot"
    path.write_text(json.dumps({"scores": [0.1], "segments": [],
                                "batch": {**block, "outputs": [".csv", "plot"]}}))
    assert result_status(path, block, outputs) == "outputs missing: .csv, plot"  # not on disk
    csv_path.write_text("index\n")
    plot_path.write_bytes(b"png")
    assert result_status(path, block, outputs) == "done"
    assert result_status(path, block, {**outputs, ".vtt": csv_path}) == "outputs missing: .vtt"

# ---------------------------------------------------------------- batches of real films


@pytest.mark.slow  # scores real films
def test_batch_writes_one_run_result_per_film_and_a_summary(lib, model, reference):
    from scenedet.inference.pipeline import run_scene
    from scenedet.outputs.document import document_of

    results = result_files(reference)
    assert len(results) == len(GOOD) == len(set(results))
    records = list(iter_summary(reference / "summary.jsonl"))
    assert sorted(r["path"] for r in records) == sorted(str(lib / "good" / rel) for rel in GOOD)
    for r in records:
        data = json.loads(results[r["output"]])
        assert r["status"] == "done" and r["error"] is None and r["wall"] > 0
        assert data["video"] == r["path"] and r["seconds"] == len(data["scores"])
        assert r["seconds"] == GOOD[str(Path(r["path"]).relative_to(lib / "good"))]
        assert r["scenes"] == len(data["segments"]) and r["hash"] == data["batch"]["film_hash"]
    # exactly what `scenedet run -o film.json` writes, plus the batch block
    film = lib / "good" / "b" / "film.mp4"
    data = json.loads(results[read_summary(reference / "summary.jsonl")[str(film)]["output"]])
    assert data.pop("batch")["outputs"] == []
    assert data == json.loads(json.dumps(document_of(run_scene(film, scene="kissing", model=model,
                                                               threads=1, progress=False))))
    assert "frame_rate" in data  # frames and timecodes at the film's rate


@pytest.mark.slow  # scores real films
def test_rerun_skips_what_is_done_and_dry_run_says_so(lib, model, reference, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = batch_cli(lib / "good", "-o", out, "-m", model)
    assert again.exit_code == 0, again.output
    assert "0 done, 3 already done, 0 failed" in again.output
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name in before} == before

    dry = batch_cli(lib / "good", lib / "bad.mp4", "-o", out, "-m", model, "--dry-run")
    assert dry.exit_code == 0, dry.output
    lines = dry.output.splitlines()
    assert sum(line.startswith("done  ") for line in lines) == 3
    assert any(line.startswith("todo  ") and "bad.mp4" in line and "(new)" in line for line in lines)
    assert "1 film(s) to do, 3 already done (of 4); nothing was run." in dry.output
    changed = batch_cli(lib / "good", "-o", out, "-m", model, "-n", "--min-length", "3")
    assert changed.output.count("(settings changed)") == 3
    other = make_model(tmp_path / "other.pt", seed=1)
    assert batch_cli(lib / "good", "-o", out, "-m", other, "-n").output.count("(model changed)") == 3
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name in before} == before


@pytest.mark.slow  # scores real films
def test_a_changed_film_is_redone(lib, model, reference, tmp_path):
    films = tmp_path / "films"
    shutil.copytree(lib / "good", films)
    out = tmp_path / "out"
    first = batch_cli(films / "c.mkv", "-o", out, "-m", model, "-q")
    assert first.exit_code == 0, first.output
    shutil.copy(lib / "good" / "a" / "film.mp4", films / "c.mkv")  # replaced by another film
    dry = batch_cli(films / "c.mkv", "-o", out, "-m", model, "-n")
    assert "(film changed)" in dry.output


@pytest.mark.slow  # scores real films
def test_a_failing_film_is_recorded_and_the_others_finish(lib, model, reference, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    both = (lib / "good", lib / "bad.mp4")  # all done, and not a film
    result = batch_cli(*both, "-o", out, "-m", model)
    assert result.exit_code == 1, result.output
    assert f"failed: {lib / 'bad.mp4'}: cannot decode" in result.output
    state = read_summary(out / "summary.jsonl")
    assert state[str(lib / "bad.mp4")]["status"] == "failed"
    assert "cannot decode" in state[str(lib / "bad.mp4")]["error"]
    assert result_files(out) == result_files(reference)  # nothing written for the bad film
    # failures are retried; the last line per film is its state, done films keep one line
    dry = batch_cli(*both, "-o", out, "-m", model, "-n")
    assert "(failed before: cannot decode" in dry.output
    assert batch_cli(*both, "-o", out, "-m", model, "-q").exit_code == 1
    paths = [r["path"] for r in iter_summary(out / "summary.jsonl")]
    assert paths.count(str(lib / "bad.mp4")) == 2
    assert all(paths.count(str(lib / "good" / rel)) == 1 for rel in GOOD)


def test_usage_errors_exit_2_in_one_line(lib, model, tmp_path):
    for args, needle in (([tmp_path / "nothing.mp4"], "no such film, folder or list"),
                         ([tmp_path], "no films found"),
                         ([lib / "good", "--ray-address", "auto"], "needs --executor ray"),
                         ([lib / "good", "--min-length", "2.5"], "whole number")):
        result = batch_cli(*args, "-o", tmp_path / "out", "-m", model)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and needle in result.output
    assert not (tmp_path / "out").exists()


def test_another_batch_on_the_same_outdir_is_refused(tmp_path):
    from scenedet.batch.state import OutdirLock
    from scenedet.errors import OutputError

    (tmp_path / ".film-abc.json.x1y2.partial").write_text("{")  # left by a killed batch
    with OutdirLock(tmp_path):
        assert not list(tmp_path.glob("*.partial"))
        with pytest.raises(OutputError, match="another scenedet batch is writing"):
            with OutdirLock(tmp_path):
                pass
    with OutdirLock(tmp_path):  # released
        pass


# ---------------------------------------------------------------- kill -9, SIGTERM, Ctrl-C


def _start(lib, out, model, *extra):
    cmd = [sys.executable, "-m", "scenedet", "batch", "-p", "kissing", str(lib / "good"), "-o",
           str(out), "-m", str(model), "--threads", "1", *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _done_lines(out):
    return [r for r in iter_summary(out / "summary.jsonl") if r["status"] == "done"]


def _workers(proc):
    try:
        return psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.slow
def test_kill_9_then_rerun_gives_the_uninterrupted_results(lib, model, reference, tmp_path):
    out = tmp_path / "out"
    proc = _start(lib, out, model, "--jobs", "2")
    try:
        _wait_for(lambda: _done_lines(out) or proc.poll() is not None, 180, "a first film")
        workers = _workers(proc)
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    gone, alive = psutil.wait_procs(workers, timeout=20)  # they notice the driver is gone
    assert not alive, f"workers outlived the driver: {alive}"
    assert all(json.loads(b)["scores"] for b in result_files(out).values())  # nothing half-written
    resumed = batch_cli(lib / "good", "-o", out, "-m", model, "-q")
    assert resumed.exit_code == 0, resumed.output
    assert result_files(out) == result_files(reference)  # byte for byte
    paths = [r["path"] for r in _done_lines(out)]
    assert sorted(paths) == sorted(set(paths)) == sorted(str(lib / "good" / rel) for rel in GOOD)
    assert not list(out.glob(".*.partial*"))


@pytest.mark.slow
@pytest.mark.parametrize("signum, jobs", [(signal.SIGTERM, "2"), (signal.SIGINT, "1")])
def test_a_signal_stops_workers_and_exits_128_plus_signal(lib, model, tmp_path, signum, jobs):
    out = tmp_path / "out"
    proc = _start(lib, out, model, "--jobs", jobs)
    try:
        want = 2 if jobs == "2" else 0
        _wait_for(lambda: len(_workers(proc)) >= want and (out / ".scenedet-batch.lock").exists(),
                  60, "the workers")
        time.sleep(1.0)
        workers = _workers(proc)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, err
    assert "Interrupted:" in err and "rerun the same command to resume" in err
    assert "Traceback" not in err
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive
    assert all(json.loads(b)["scores"] for b in result_files(out).values())


# ---------------------------------------------------------------- progress


@pytest.mark.parametrize("mode", ["line", "log", "rich"])
def test_progress_counts_films_done_failed_and_left(mode):
    from scenedet.batch.jobs import FilmOutcome
    from scenedet.batch.progress import BatchProgress

    if mode == "rich":
        pytest.importorskip("rich")
    stream = io.StringIO()
    bar = BatchProgress(3, skipped=2, mode=mode, stream=stream, interval=0)
    bar.update(FilmOutcome(name="a", path="/f/a.mp4", film_hash="h", status="done", seconds=120,
                           scenes=2, wall=1.0))
    bar.update(FilmOutcome(name="b", path="/f/b.mp4", film_hash="h", status="failed", wall=0.5,
                           error="cannot decode /f/b.mp4"))
    stats = bar.stats()
    assert stats.startswith("1 done, 1 failed, 1 left, 2 skipped") and "film-s/s  ETA " in stats
    assert "--:--:--" not in stats  # an ETA once a film has finished
    bar.close()
    text = stream.getvalue()
    if mode == "log":
        assert "[1/3] done /f/a.mp4 (1.0 s): 120 s, 2 scene(s)" in text
        assert "[2/3] failed /f/b.mp4 (0.5 s): cannot decode /f/b.mp4" in text
    else:
        assert "2/3" in text and "1 failed" in text


@pytest.mark.slow
def test_a_worker_killed_mid_film_costs_that_film_only(lib, model, reference, tmp_path):
    out = tmp_path / "out"
    proc = _start(lib, out, model, "--jobs", "2")
    victim: list = []

    def reading_a_film() -> bool:
        for worker in _workers(proc):
            try:
                paths = [f.path for f in worker.open_files()]
            except psutil.Error:
                continue
            films = [p for p in paths if p.endswith((".mp4", ".mkv"))]
            if films:
                victim[:] = [worker, films[0]]
                return True
        return proc.poll() is not None

    try:
        _wait_for(reading_a_film, 120, "a worker reading a film")
        assert victim, "the batch ended before a worker was seen reading a film"
        victim[0].kill()  # as the kernel's out-of-memory killer would
        _, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    state = {os.path.realpath(p): r for p, r in read_summary(out / "summary.jsonl").items()}
    lost = state[os.path.realpath(victim[1])]
    assert lost["status"] == "failed"
    assert lost["error"] == "the worker scoring this film died (killed by signal 9)"
    assert sum(r["status"] == "done" for r in state.values()) == len(GOOD) - 1  # a new worker
    resumed = batch_cli(lib / "good", "-o", out, "-m", model, "-q")
    assert resumed.exit_code == 0, resumed.output
    assert result_files(out) == result_files(reference)


@pytest.mark.slow  # scores real films
def test_results_whose_summary_lines_were_lost_get_them_back(lib, model, reference, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    lines = (out / "summary.jsonl").read_text().splitlines(keepends=True)
    (out / "summary.jsonl").write_text("".join(lines[:1]))  # killed after 2 results, before their lines
    result = batch_cli(lib / "good", "-o", out, "-m", model, "-q")
    assert result.exit_code == 0, result.output
    records = list(iter_summary(out / "summary.jsonl"))
    assert sorted(r["path"] for r in records) == sorted(str(lib / "good" / rel) for rel in GOOD)
    assert [r["wall"] is None for r in records] == [False, True, True]  # not measured: unknown
    assert result_files(out) == result_files(reference)


# ---------------------------------------------------------------- run's outputs, per film

#: settings that give every film one scene (every second positive): outputs with content
ONE_SCENE = ("--min-length", "1", "--label-threshold", "0")


def _by_film(out: Path) -> dict[str, dict]:
    """film path -> its result JSON."""
    state = read_summary(out / "summary.jsonl")
    return {path: json.loads((out / r["output"]).read_text()) for path, r in state.items()
            if r["status"] == "done"}


@pytest.fixture(scope="module")
def scened(lib, model, tmp_path_factory):
    """A batch whose films have one scene each (results only)."""
    out = tmp_path_factory.mktemp("scened")
    result = batch_cli(lib / "good", "-o", out, "-m", model, "-q", *ONE_SCENE)
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.slow  # scores real films
def test_asked_formats_are_written_per_film_and_parse_back(lib, model, scened, tmp_path):
    from test_exporters import parse_edl, parse_vtt

    import opentimelineio as otio

    out = tmp_path / "out"
    shutil.copytree(scened, out)
    before = _by_film(out)
    result = batch_cli(lib / "good", "-o", out, "-m", model, *ONE_SCENE,
                    "--format", ".csv", "--format", "edl", "--format", ".OTIO", "--format", ".vtt")
    assert result.exit_code == 0, result.output
    assert "3 done, 0 already done, 0 failed" in result.output  # completed, not rescored
    after = _by_film(out)
    assert set(after) == set(before) == {str(lib / "good" / rel) for rel in GOOD}
    for path, data in after.items():
        name = Path(read_summary(out / "summary.jsonl")[path]["output"]).stem
        assert data["batch"].pop("outputs") == [".csv", ".edl", ".otio", ".vtt"]
        del before[path]["batch"]["outputs"]
        assert data == before[path]  # the scores and scenes are the saved ones
        segs = data["segments"]
        assert len(segs) == 1 and segs[0]["start"] == 0 and segs[0]["end"] == len(data["scores"])
        with open(out / f"{name}.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert [(float(r["start_seconds"]), float(r["end_seconds"]), int(r["end_frame"]))
                for r in rows] == [(s["start"], s["end"], s["end_frame"]) for s in segs]
        edl_text = (out / f"{name}.edl").read_text()
        events = [line.split()[-4:] for line in edl_text.splitlines() if line[:3].isdigit()]
        assert events == [[s["start_timecode"], s["end_timecode"]] * 2 for s in segs]
        edl = parse_edl(edl_text)  # strict CMX 3600, whatever the film's frame rate
        assert [e["src"] for e in edl["events"]] == [(s["start_timecode"], s["end_timecode"])
                                                     for s in segs]
        cues = parse_vtt((out / f"{name}.vtt").read_text())
        assert [(c[1], c[2]) for c in cues] == [(s["start"], s["end"]) for s in segs]
        clips = list(otio.adapters.read_from_file(str(out / f"{name}.otio")).find_clips())
        assert [round(c.source_range.duration.value) for c in clips] == \
            [s["end_frame"] - s["start_frame"] for s in segs]
    # one "done" line per film still; and now everything is done
    paths = [r["path"] for r in iter_summary(out / "summary.jsonl")]
    assert sorted(paths) == sorted(set(paths))
    again = batch_cli(lib / "good", "-o", out, "-m", model, *ONE_SCENE, "--format", ".csv",
                   "--format", ".edl", "--format", ".otio", "--format", ".vtt")
    assert "0 done, 3 already done" in again.output
    # a deleted output, or a new format, makes a film incomplete
    csv_file = next(out.glob("*.csv"))
    csv_file.unlink()
    dry = batch_cli(lib / "good", "-o", out, "-m", model, *ONE_SCENE, "-n", "--format", ".csv",
                 "--format", ".vtt", "--plot")
    assert dry.output.count("(outputs missing: plot)") == 2
    assert dry.output.count("(outputs missing: .csv, plot)") == 1
    fill = batch_cli(lib / "good", "-o", out, "-m", model, *ONE_SCENE, "-q", "--format", ".csv",
                  "--plot")
    assert fill.exit_code == 0, fill.output
    assert csv_file.is_file() and len(list(out.glob("*.png"))) == 3
    assert all(d["batch"]["outputs"] == [".csv", ".edl", ".otio", ".vtt", "plot"]
               for d in _by_film(out).values())


@pytest.mark.slow  # scores real films
def test_completing_outputs_gives_the_bytes_of_a_fresh_run(lib, model, scened, tmp_path):
    fresh, completed = tmp_path / "fresh", tmp_path / "completed"
    shutil.copytree(scened, completed)
    args = (*ONE_SCENE, "-q", "--format", ".csv", "--format", ".vtt")
    assert batch_cli(lib / "good" / "c.mkv", "-o", fresh, "-m", model, *args).exit_code == 0
    assert batch_cli(lib / "good" / "c.mkv", "-o", completed, "-m", model, *args).exit_code == 0
    for path in fresh.iterdir():
        if path.suffix in (".json", ".csv", ".vtt"):
            assert path.read_bytes() == (completed / path.name).read_bytes(), path.name


def test_an_unknown_suffix_is_refused_before_any_film(lib, model, tmp_path):
    for args, needle in ((["--format", ".xyz"], ".xyz"), (["--clips-exact"], "needs --clips")):
        result = batch_cli(lib / "good", "-o", tmp_path / "out", "-m", model, *args)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and needle in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_clips_stills_plot_and_report_per_film(lib, model, tmp_path):
    out = tmp_path / "out"
    film = lib / "good" / "b" / "film.mp4"
    result = batch_cli(film, "-o", out, "-m", model, *ONE_SCENE, "-q", "--clips", "--stills",
                    "--stills-per-scene", "2", "--plot", "--report")
    assert result.exit_code == 0, result.output
    (data,) = _by_film(out).values()
    name = read_summary(out / "summary.jsonl")[str(film)]["output"][:-len(".json")]
    assert data["batch"]["outputs"] == ["clips", "plot", "report", "stills-2"]
    (scene,) = data["segments"]
    assert Path(scene["clip"]["path"]).parent == out / f"{name}.clips"
    assert Path(scene["clip"]["path"]).is_file()
    assert len(scene["stills"]) == 2 and all(Path(s["path"]).is_file() for s in scene["stills"])
    assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<html" in (out / f"{name}.html").read_text().lower()
    # exact clips are another output: asked for, they are made from the saved result
    dry = batch_cli(film, "-o", out, "-m", model, *ONE_SCENE, "-n", "--clips", "--clips-exact",
                 "--stills", "--stills-per-scene", "2", "--plot", "--report")
    assert "(outputs missing: clips-exact)" in dry.output


@pytest.mark.slow
def test_kill_9_with_formats_then_rerun_gives_the_uninterrupted_outputs(lib, model, reference,
                                                                      tmp_path):
    expected = tmp_path / "expected"
    shutil.copytree(reference, expected)
    assert batch_cli(lib / "good", "-o", expected, "-m", model, "-q", "--format", ".csv").exit_code == 0
    out = tmp_path / "out"
    proc = _start(lib, out, model, "--jobs", "2", "--format", ".csv")
    try:
        _wait_for(lambda: _done_lines(out) or proc.poll() is not None, 180, "a first film")
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    for path in out.glob("*.json"):  # a result exists only with its other outputs
        if path.name != "summary.jsonl":
            assert path.with_suffix(".csv").is_file()
    resumed = batch_cli(lib / "good", "-o", out, "-m", model, "-q", "--format", ".csv")
    assert resumed.exit_code == 0, resumed.output
    assert result_files(out) == result_files(expected)  # byte for byte
    csvs = {p.name: p.read_bytes() for p in out.glob("*.csv")}
    assert csvs == {p.name: p.read_bytes() for p in expected.glob("*.csv")} and len(csvs) == 3
