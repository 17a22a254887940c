"""``scenedet batch`` over a library of 8 generated films: local --jobs 1, --jobs 2, Ray, and a
kill -9 then resume.

    python benchmarks/batch.py            # ~5-10 min on 2 shared cores
    python benchmarks/batch.py --quick    # 3 films of 6-8 s: a smoke test

Each configuration is the real command in its own process (``python -m scenedet batch ... -q``),
timed from start to exit: start-up, model loading and, for Ray, starting a local Ray are part of
what a user waits for. Films: film-like H.264 + AAC, 320x180 at 24 fps, 20-27 s each (see
``common.make_film``). Model: ResNet-18 + VGGish + linear head with ``random:0`` weights (the
speed of the pretrained ones). Writes ``benchmarks/results/batch.json`` and prints a table.

Kill and resume: ``--jobs 2`` is killed with SIGKILL once a third of the films are done, then
rerun; the films done before the kill must all be skipped, so the work redone is at most the
films that were in flight (2), and the results must be byte-identical to the uninterrupted
``--jobs 2`` run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import FILMS, make_film, random_kissing_model, save, table

HOME = FILMS / "home-batch"


def _env() -> dict[str, str]:
    return {**os.environ, "SCENEDET_HOME": str(HOME), "SCENEDET_OFFLINE": "1",
            "RAY_USAGE_STATS_ENABLED": "0"}


def _command(library: Path, out: Path, model: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "scenedet", "batch", "-p", "kissing", str(library), "-o",
            str(out), "-m", str(model), "-q", *extra]


def _done(out: Path) -> list[dict]:
    from scenedet.batch.state import iter_summary

    return [r for r in iter_summary(out / "summary.jsonl") if r["status"] == "done"]


def _results(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.json"))}


def run_config(name: str, library: Path, out: Path, model: Path, extra: list[str],
               n_films: int, film_seconds: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(_command(library, out, model, *extra), env=_env(), check=True)
    wall = time.perf_counter() - start
    assert len(_done(out)) == n_films, f"{name}: not every film done"
    return {"config": name, "films": n_films, "film_seconds": film_seconds, "wall_s": round(wall, 1),
            "films_per_min": round(60 * n_films / wall, 2),
            "film_s_per_s": round(film_seconds / wall, 2)}


def kill_and_resume(library: Path, out: Path, model: Path, n_films: int,
                    reference: dict[str, bytes]) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    jobs = 2
    start = time.perf_counter()
    proc = subprocess.Popen(_command(library, out, model, "--jobs", str(jobs)), env=_env())
    target = max(1, n_films // 3)
    while len(_done(out)) < target and proc.poll() is None:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = time.perf_counter() - start
    done_before = {r["path"] for r in _done(out)}
    lines_before = len(_done(out))
    time.sleep(2)  # the workers notice the driver is gone and exit
    start = time.perf_counter()
    subprocess.run(_command(library, out, model, "--jobs", str(jobs)), env=_env(), check=True)
    resume_wall = time.perf_counter() - start
    after = _done(out)
    redone = [r for r in after[lines_before:] if r["path"] in done_before]
    processed = len(after) - lines_before
    return {"jobs": jobs, "killed_after_s": round(killed_at, 1), "done_before_kill": len(done_before),
            "in_flight_at_kill": min(jobs, n_films - len(done_before)),
            "finished_films_redone": len(redone), "processed_on_resume": processed,
            "films_redone_at_most": min(jobs, n_films - len(done_before)),
            "resume_wall_s": round(resume_wall, 1),
            "identical_to_uninterrupted": _results(out) == reference}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 films of 6-8 s")
    parser.add_argument("--no-ray", action="store_true", help="leave the Ray executor out")
    args = parser.parse_args()
    lengths = [6, 7, 8] if args.quick else [20, 21, 22, 23, 24, 25, 26, 27]
    HOME.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="scenedet-batch-bench-"))
    try:
        library = work / "library"
        library.mkdir()
        for i, seconds in enumerate(lengths):
            film = make_film(f"batch-{seconds}s-320x180", seconds=seconds, width=320, height=180)
            os.symlink(film, library / f"film{i}.mp4")
        model = random_kissing_model(work / "kissing.pt")
        n, total = len(lengths), sum(lengths)
        rows = []
        configs = [("local --jobs 1", ["--jobs", "1"]), ("local --jobs 2", ["--jobs", "2"])]
        if not args.no_ray:
            configs.append(("ray, 2 actors x 1 CPU", ["--executor", "ray", "--jobs", "2"]))
        outs = {}
        for name, extra in configs:
            outs[name] = work / f"out-{len(outs)}"
            rows.append(run_config(name, library, outs[name], model, extra, n, total))
            print(rows[-1], flush=True)
        resume = kill_and_resume(library, work / "out-killed", model, n,
                                 _results(outs["local --jobs 2"]))
        print(resume, flush=True)
        print(table(rows, ["config", "films", "film_seconds", "wall_s", "films_per_min",
                           "film_s_per_s"]))
        print(json.dumps(resume, indent=2))
        load = os.getloadavg()
        path = save("batch", {"films": lengths, "resolution": "320x180 24 fps", "load_avg": load,
                              "configs": rows, "kill_and_resume": resume, "quick": args.quick})
        print(f"-> {path}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
