"""CPU speed-ups of the models: int8 backbones and torch.compile, their gain and score drift.

On generated films with known scenes (``scenedet.synth``) and the kissing recipe's head trained
on them (ResNet-18 + VGGish with seeded random weights, as ``make demo``; no pretrained weights
can be downloaded here): every batch goes through the float32 model and the int8 one
(:mod:`scenedet.inference.speedups`, calibrated on each film's first 48 s), timed alternately
so that the machine's load hits both alike. Reported per film: max |p_int8 - p_fp32| over the
seconds after calibration, whether the segments differ, and model-only film-seconds per second
of each. Then torch.compile on one batch shape: compile time, steady-state rate against
float32, max logit difference, and the film length from which compiling pays off.

    python benchmarks/speedups.py            # 5 synthetic films of 60-90 s (~10 min alone)
    python benchmarks/speedups.py --quick    # 5 films of 60-75 s, no compile
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FILMS, save, table  # noqa: E402


def dataset_and_model(films: int, min_s: int, max_s: int) -> tuple[list[Path], Path]:
    from scenedet.synth import SynthDataset, synthesize
    from scenedet.training.train import TrainConfig, train_scene

    root = FILMS / f"synth-{films}x{min_s}-{max_s}"
    data = root / "data"
    if (data / "dataset.json").exists():
        dataset = SynthDataset.load(data)
    else:
        dataset = synthesize(data, films=films, seed=0, min_seconds=min_s, max_seconds=max_s,
                             min_scene=10, max_scene=60)
    model = root / "kissing.pt"
    if not model.exists():
        train_scene(TrainConfig(scene="kissing", annotations=str(dataset.annotations_path),
                                output=str(model), backbone_weights="random:0"),
                    log=lambda m: print("   ", m), progress=False)
    return list(dataset.paths), model


def int8_rows(videos: list[Path], model_path: Path) -> list[dict]:
    import torch

    from scenedet.inference.model import build_scene_model
    from scenedet.inference.modelfile import load_model_file
    from scenedet.inference.pipeline import prepare_run
    from scenedet.inference.speedups import CALIBRATION_SECONDS, make_forward
    from scenedet.inference.stream import input_batches
    from scenedet.segmentation.segments import segment

    _, settings, _ = prepare_run("kissing", model=model_path)
    rows = []
    for video in videos:
        model = build_scene_model(load_model_file(model_path), "kissing")
        int8 = make_forward(model, "int8")
        p32, p8, t32, t8 = [], [], 0.0, 0.0
        with torch.inference_mode():
            for batch in input_batches(video, list(model.backbones), 16):
                inputs = [x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x
                          for x in batch.inputs]
                calibrated = int8.backbones is not None
                start = time.perf_counter()
                p32.append(torch.softmax(model(inputs), 1)[:, 1].numpy())
                mid = time.perf_counter()
                p8.append(torch.softmax(int8(inputs), 1)[:, 1].numpy())
                end = time.perf_counter()
                if calibrated:  # the calibration batches run float32 + observers: not int8's speed
                    t32 += mid - start
                    t8 += end - mid
        a, b = np.concatenate(p32), np.concatenate(p8)
        seg32 = [(s.start, s.end) for s in segment(a, **settings)]
        seg8 = [(s.start, s.end) for s in segment(b, **settings)]
        timed = len(a) - CALIBRATION_SECONDS
        quantised = [bb.name for bb in (int8.backbones or []) if "GraphModule" in type(bb).__name__]
        rows.append({"film": video.name, "seconds": len(a),
                     "max_drift": float(np.abs(a - b).max()),
                     "mean_drift": float(np.abs(a - b)[CALIBRATION_SECONDS:].mean())
                     if timed > 0 else 0.0,
                     "segments_fp32": len(seg32), "segments_same": seg32 == seg8,
                     "fp32_rate": timed / t32 if t32 else float("nan"),
                     "int8_rate": timed / t8 if t8 else float("nan"),
                     "quantised": "+".join(quantised) or "none"})
        print(rows[-1], flush=True)
    return rows


def compile_row(video: Path, model_path: Path, steps: int) -> dict:
    import torch

    from scenedet.inference.model import build_scene_model
    from scenedet.inference.modelfile import load_model_file
    from scenedet.inference.speedups import make_forward
    from scenedet.inference.stream import input_batches

    model = build_scene_model(load_model_file(model_path), "kissing")
    batch = next(iter(input_batches(video, list(model.backbones), 16)))
    inputs = [x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x
              for x in batch.inputs]
    compiled = make_forward(model, "compile", batch_size=16)
    with torch.inference_mode():
        exact = model(inputs)
        start = time.perf_counter()
        got = compiled(inputs)
        compile_s = time.perf_counter() - start
        t32 = tc = 0.0
        for _ in range(steps):  # alternate, so that the load hits both alike
            a = time.perf_counter()
            model(inputs)
            b = time.perf_counter()
            compiled(inputs)
            c = time.perf_counter()
            t32, tc = t32 + b - a, tc + c - b
    r32, rc = 16 * steps / t32, 16 * steps / tc
    saving = 1 / r32 - 1 / rc  # seconds saved per film second
    return {"compile_s": round(compile_s, 1), "fp32_rate": r32, "compiled_rate": rc,
            "max_logit_diff": float((got - exact).abs().max()),
            "break_even_film_min": compile_s / saving / 60 if saving > 0 else float("inf")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--no-int8", action="store_true")
    parser.add_argument("--steps", type=int, default=10, help="timed compile/fp32 batches")
    args = parser.parse_args()
    films, lo, hi = (5, 60, 75) if args.quick else (5, 60, 90)
    print(f"dataset and model (once; kept in benchmarks/.films), load {os.getloadavg()}", flush=True)
    videos, model = dataset_and_model(films, lo, hi)
    payload: dict = {}
    if not args.no_int8:
        rows = int8_rows(videos, model)
        print()
        print(table(rows, ["film", "seconds", "max_drift", "mean_drift", "segments_fp32",
                           "segments_same", "fp32_rate", "int8_rate", "quantised"]))
        payload["int8"] = rows
    if not (args.quick or args.no_compile):
        row = compile_row(videos[0], model, args.steps)
        print()
        print(table([row], list(row)))
        payload["compile"] = row
    payload["load"] = os.getloadavg()
    print(f"load: {payload['load']}")
    name = "speedups" + ("-int8" if args.no_compile else "-compile" if args.no_int8 else "")
    print(f"wrote {save(name, payload)}")


if __name__ == "__main__":
    main()
