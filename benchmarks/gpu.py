"""The GPU path, measured: what ``benchmarks/gpu.sh`` runs (see docs/performance.md, "GPU path").

On generated 1280x720 H.264+AAC films (a 2-minute film rendered once, remuxed by stream copy into
a 10-minute and a 2-hour film: no re-encode), with ResNet-18 + VGGish (``random:0`` weights: no
network) and a linear head trained here on the film's fp32 features:

* decode-only (decode + extract + preprocess, the producer's work) with CPU preprocessing and
  with uint8 stills for device preprocessing, and per ``--decode-workers`` when that exists;
* model-only (ready batches on the device), fp32 and fp16;
* fp16 vs fp32: the largest score difference and the seconds/segments that change;
* end-to-end ``run_scene`` film-seconds per wall second: fp32, fp16, auto, CPU vs device
  preprocessing, decode workers 1/4/8/16 (when available), and the 2-hour film; the peak host
  RSS of each (its own process) and its profile split.

    python benchmarks/gpu.py             # on a CUDA machine: refuses without CUDA
    python benchmarks/gpu.py --quick     # CPU dry run: short films, fp16 emulated on the CPU,
                                         # results/gpu-quick-cpu.json, never called GPU figures
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FILMS, save, table  # noqa: E402

WIDTH, HEIGHT, FPS = 1280, 720, 24
BUDGET_S = 560  # seconds for all rows when gpu.sh gives no deadline (it must end in 10 minutes)


# -- films --------------------------------------------------------------------------------------

def render_base(path: Path, seconds: int) -> Path:
    """A film-like 720p film (panned texture, grain, a cut every 10 s, a tone), rendered once."""
    from common import _scene

    from scenedet.media.encode import FilmWriter

    if path.exists():
        return path
    FILMS.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.mp4")
    rng = np.random.default_rng(0)
    grains = [rng.integers(-3, 4, size=(HEIGHT, WIDTH, 1), dtype=np.int16) for _ in range(7)]
    rate = 48_000
    t = np.arange(rate) / rate
    with FilmWriter(tmp, width=WIDTH, height=HEIGHT, fps=FPS, preset="veryfast", crf=23,
                    audio_rate=rate) as writer:
        for i in range(seconds * FPS):
            if i % (10 * FPS) == 0:
                scene = _scene(WIDTH, HEIGHT, seed=i // (10 * FPS))
            x = (i * 4) % WIDTH
            frame = scene[:, x:x + WIDTH] + grains[i % len(grains)]
            writer.write_frame(np.clip(frame, 0, 255).astype(np.uint8))
            if i % FPS == FPS - 1:
                tone = 0.2 * np.sin(2 * np.pi * (220 + 20 * (i // FPS % 10)) * t)
                writer.write_audio((tone + 0.02 * rng.standard_normal(rate)).astype(np.float32))
    tmp.rename(path)
    return path


def remux_repeated(source: Path, path: Path, times: int) -> Path:
    """``source`` ``times`` times over, by stream copy (PyAV): a long film in seconds, not hours.

    Each pass's packets are shifted by that stream's span in the source (first DTS to last DTS +
    duration): exactly the film's length for video; AAC's priming frame makes audio's a few ms
    longer, so the audio drifts by that much per pass (harmless for timing).
    """
    import av

    if path.exists():
        return path
    tmp = path.with_suffix(".tmp.mp4")
    first: dict[int, int] = {}
    end: dict[int, int] = {}
    with av.open(str(source)) as src:
        for packet in src.demux():
            if packet.dts is not None:
                first.setdefault(packet.stream.index, packet.dts)
                end[packet.stream.index] = packet.dts + (packet.duration or 0)
    with av.open(str(tmp), "w") as out:
        mapping = {}
        with av.open(str(source)) as src:
            for stream in src.streams:
                if stream.type in ("video", "audio"):
                    mapping[stream.index] = out.add_stream_from_template(stream)
        for k in range(times):
            with av.open(str(source)) as src:
                streams = [s for s in src.streams if s.index in mapping]
                for packet in src.demux(*streams):
                    if packet.dts is None:
                        continue  # the demuxer's flush packet
                    index = packet.stream.index
                    shift = k * (end[index] - first[index])
                    packet.dts += shift
                    if packet.pts is not None:
                        packet.pts += shift
                    packet.stream = mapping[index]
                    out.mux(packet)
    tmp.rename(path)
    return path


# -- the model ----------------------------------------------------------------------------------

def backbones(device: str) -> list[Any]:
    import scenedet

    return [scenedet.create_backbone("resnet18", weights="random:0").to(device),
            scenedet.create_backbone("vggish", weights="random:0").to(device)]


def make_model_file(film: Path, path: Path, device: str) -> Path:
    """A head trained on ``film``'s fp32 features to tell alternate 10-second scenes apart:
    scores that spread over (0, 1) and segments that fall where the cuts are."""
    import torch

    from scenedet.inference.features import stream_backbone_features
    from scenedet.inference.model import prepare_for_inference
    from scenedet.inference.modelfile import ModelMeta, save_model_file

    bbs = [prepare_for_inference(b, device) for b in backbones(device)]
    feats = np.concatenate([np.concatenate(outs, 1) for outs in
                            stream_backbone_features(film, bbs, device=device, batch_size=32)])
    x = torch.tensor(feats)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    y = torch.tensor([(t // 10) % 2 for t in range(len(x))])
    torch.manual_seed(0)
    head = torch.nn.Linear(x.shape[1], 2)
    opt = torch.optim.Adam(head.parameters(), lr=1e-3, weight_decay=1e-2)
    for _ in range(150):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(head(x), y).backward()
        opt.step()
    with torch.no_grad():  # fold the standardisation into the head
        std = feats.std(0) + 1e-6
        w = head.weight / torch.tensor(std, dtype=torch.float32)
        head.bias -= (w * torch.tensor(feats.mean(0), dtype=torch.float32)).sum(1)
        head.weight.copy_(w)
    save_model_file(path, ModelMeta(scene="kissing", backbones=("resnet18", "vggish"),
                                    backbone_weights=tuple(b.weights_id for b in bbs),
                                    feature_dims=(512, 128)), head.state_dict())
    return path


# -- one measurement, in its own process ---------------------------------------------------------

def _kwargs_for(fn: Any, **wanted: Any) -> dict[str, Any]:
    """Keep the keyword arguments ``fn`` takes (``decode_workers`` exists only on newer trees)."""
    params = inspect.signature(fn).parameters
    return {k: v for k, v in wanted.items() if v is not None and k in params}


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    import torch

    from scenedet import profiling
    from scenedet.inference.model import SceneModel, prepare_for_inference

    device, film, stage = spec["device"], spec["film"], spec["stage"]
    batch_size = spec.get("batch_size", 64)
    out: dict[str, Any] = {}
    start = time.perf_counter()
    if stage == "decode":
        from scenedet.inference.stream import input_batches

        profiling.enable()
        kwargs = _kwargs_for(input_batches, device_preprocess=spec.get("device_preprocess"),
                             decode_workers=spec.get("decode_workers"))
        seconds = sum(b.size for b in input_batches(film, backbones("cpu"), batch_size, **kwargs))
        out["profile"] = profiling.PROFILE.to_dict()
    elif stage == "model":
        from scenedet.inference import gpu
        from scenedet.inference.stream import _to_device, input_batches

        model = prepare_for_inference(SceneModel(backbones("cpu"), torch.nn.Linear(640, 2)),
                                      device)
        if spec["precision"] != "fp32":
            model = gpu.half_model(model, _half_dtype(spec["precision"]))
        batch = next(iter(input_batches(film, list(model.backbones), batch_size)))
        _, inputs = next(_to_device(iter([batch]), torch.device(device), device != "cpu"))
        target = spec.get("seconds", 2048)
        with torch.inference_mode():
            gpu.positive_scores(model, inputs)  # warm-up (cuDNN autotuning, allocations)
            _sync(device)
            start = time.perf_counter()
            seconds = 0
            while seconds < target:
                gpu.positive_scores(model, inputs)
                seconds += batch.size
            _sync(device)
    elif stage == "e2e":
        from scenedet.inference.pipeline import run_scene

        kwargs = _kwargs_for(run_scene, decode_workers=spec.get("decode_workers"))
        result = run_scene(film, scene="kissing", model=spec["model"], device=device,
                           batch_size=batch_size, progress=False, precision=spec["precision"],
                           device_preprocess=spec.get("device_preprocess", False), profile=True,
                           **kwargs)
        seconds = len(result.scores)
        out["profile"] = result.profile
        out["precision_used"] = result.settings.get("precision", "fp32")
        if spec.get("scores"):
            np.save(spec["scores"], result.scores)
            Path(spec["scores"]).with_suffix(".json").write_text(
                json.dumps([[s.start, s.end] for s in result.segments]))
    elif stage == "compare":
        out.update(compare(film, spec["model"], device, spec["precision"], batch_size))
        seconds = out["seconds"]
    else:
        raise ValueError(stage)
    wall = time.perf_counter() - start
    return {**{k: spec.get(k) for k in ("label", "stage", "precision", "device_preprocess",
                                        "decode_workers")},
            "film": Path(film).name, "film_seconds": seconds, "wall_s": round(wall, 2),
            "rate": round(seconds / wall, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            **out}


def _left(deadline: float) -> float:
    return deadline - time.time()


def _half_dtype(precision: str) -> Any:
    import torch

    return {"fp16": torch.float16, "bf16": torch.bfloat16}[precision]


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def compare(film: str, model_file: str, device: str, precision: str, batch_size: int
            ) -> dict[str, Any]:
    """fp32 and half scores of every second from one decode: max difference, segments changed."""
    import torch

    from scenedet.inference import gpu
    from scenedet.inference.model import build_scene_model
    from scenedet.inference.modelfile import load_model_file
    from scenedet.inference.pipeline import prepare_run
    from scenedet.inference.stream import device_batches
    from scenedet.segmentation.segments import segment

    _, settings, _ = prepare_run("kissing", model=model_file)
    model = build_scene_model(load_model_file(model_file), "kissing", device=device)
    half = gpu.half_model(model, _half_dtype(precision))
    exact, approx = [], []
    with torch.inference_mode():
        for _, inputs in device_batches(film, list(model.backbones), batch_size, device):
            exact.append(gpu.positive_scores(model, inputs).cpu().numpy())
            approx.append(gpu.positive_scores(half, inputs).cpu().numpy())
    exact, approx = np.concatenate(exact), np.concatenate(approx)
    label = settings["label_threshold"]
    seg32 = [(s.start, s.end) for s in segment(exact, **settings)]
    seg16 = [(s.start, s.end) for s in segment(approx, **settings)]
    return {"seconds": len(exact), "max_score_diff": float(np.abs(approx - exact).max()),
            "labels_changed": int(((exact >= label) != (approx >= label)).sum()),
            "segments_fp32": len(seg32), "segments_changed": len(set(seg32) ^ set(seg16)),
            "scores_near_threshold": int((np.abs(exact - label) < 0.05).sum())}


def child(spec: dict[str, Any]) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {**spec, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the run ------------------------------------------------------------------------------------

def cuda_status() -> tuple[bool, str]:
    import torch

    if torch.cuda.is_available():
        return True, f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    return False, (f"CUDA is not available to torch {torch.__version__} "
                   f"(built for CUDA {torch.version.cuda or 'none'}; "
                   f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="CPU dry run: a 30 s film remuxed to 1 and 2 minutes, fp16 emulated")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(json.loads(args.child))))
        return 0

    began = time.perf_counter()
    # gpu.sh passes its own deadline (10 minutes from its start, setup included)
    deadline = float(os.environ.get("SCENEDET_GPU_DEADLINE", time.time() + BUDGET_S))
    for stale in FILMS.glob("gpu-scores-*"):
        stale.unlink()  # scores of an earlier run must not be compared with this one's
    has_cuda, status = cuda_status()
    if not has_cuda and not args.quick:
        print(f"NO GPU FIGURES: {status}. Run on a CUDA machine, or --quick for a CPU dry run.",
              file=sys.stderr)
        return 3
    device = "cuda" if has_cuda else "cpu"
    quick = args.quick
    print(f"device: {device} ({status}); {'QUICK DRY RUN, not GPU figures' if quick else 'full run'}",
          flush=True)
    base_s, mid_times, long_times = (30, 2, 4) if quick else (120, 5, 60)
    tag = "quick" if quick else "full"
    base = render_base(FILMS / f"gpu-base-{tag}.mp4", base_s)
    mid = remux_repeated(base, FILMS / f"gpu-720p-{tag}-{base_s * mid_times // 60}min.mp4", mid_times)
    long = remux_repeated(base, FILMS / f"gpu-720p-{tag}-{base_s * long_times // 60}min.mp4",
                          long_times)
    model_file = make_model_file(base, FILMS / f"gpu-model-{tag}.pt", device)
    print(f"films and model ready in {time.perf_counter() - began:.0f} s", flush=True)

    workers = []
    from scenedet.inference.pipeline import run_scene

    if "decode_workers" in inspect.signature(run_scene).parameters:
        workers = [w for w in (1, 4, 8, 16) if w <= (os.cpu_count() or 1)]
    half = "fp16" if has_cuda else "bf16"  # CPU float16 convolutions are too slow to emulate here
    batch = 64 if has_cuda else 16
    common = {"device": device, "batch_size": batch, "model": str(model_file),
              "seconds": 2048 if has_cuda else 64}
    # The rows that answer the questions first (a slow machine runs out of budget on the rest).
    plan: list[dict[str, Any]] = [
        {"label": "decode, cpu preprocess", "stage": "decode", "film": str(mid)},
        {"label": "e2e fp32", "stage": "e2e", "film": str(mid), "precision": "fp32",
         "scores": str(FILMS / "gpu-scores-fp32.npy")},
        # quick: the half-precision emulation is slow on a CPU, so the short film only
        {"label": f"{half} vs fp32", "stage": "compare", "film": str(base if quick else mid),
         "precision": half},
    ]
    if has_cuda:
        plan += [
            {"label": "e2e fp16", "stage": "e2e", "film": str(mid), "precision": "fp16",
             "scores": str(FILMS / "gpu-scores-fp16.npy")},
            {"label": "e2e auto", "stage": "e2e", "film": str(mid), "precision": "auto"},
        ]
    fast = "fp16" if has_cuda else "fp32"
    plan += [
        {"label": f"e2e {fast}, device preprocess", "stage": "e2e", "film": str(mid),
         "precision": fast, "device_preprocess": True},
        *({"label": f"e2e {fast}, {w} workers", "stage": "e2e", "film": str(mid),
           "precision": fast, "decode_workers": w} for w in workers),
    ]
    later: list[dict[str, Any]] = [
        {"label": "decode, uint8 stills", "stage": "decode", "film": str(mid),
         "device_preprocess": True},
        *({"label": f"decode, {w} workers", "stage": "decode", "film": str(mid),
           "decode_workers": w} for w in workers),
        {"label": "model fp32", "stage": "model", "film": str(base), "precision": "fp32"},
    ]
    if has_cuda:  # half-precision speed means nothing when emulated on a CPU
        later.append({"label": "model fp16", "stage": "model", "film": str(base),
                      "precision": "fp16"})
    rows: list[dict[str, Any]] = []

    def run_rows(specs: list[dict[str, Any]]) -> None:
        for spec in specs:
            if _left(deadline) < (60 if quick else 30):
                rows.append({**spec, "error": "skipped: time budget"})
            else:
                rows.append(child({**common, **spec}))
            print(_line(rows[-1]), flush=True)

    run_rows(plan)
    # the 2-hour film with what was fastest on the 10-minute one, if there is time for it
    e2e = [r for r in rows if r.get("stage") == "e2e" and "rate" in r]
    best = max(e2e, key=lambda r: r["rate"]) if e2e else None
    if best is not None:
        need = long_times * base_s / best["rate"] + 20
        spec = {**common, "label": f"e2e long, as '{best['label']}'", "stage": "e2e",
                "film": str(long), "precision": best.get("precision") or "fp32",
                "device_preprocess": bool(best.get("device_preprocess")),
                "decode_workers": best.get("decode_workers")}
        if need < _left(deadline):
            rows.append(child(spec))
        else:
            rows.append({**spec, "error": f"skipped: needs ~{need:.0f} s, "
                                          f"{_left(deadline):.0f} s left"})
        print(_line(rows[-1]), flush=True)
    run_rows(later)

    fp_diff = _e2e_fp16_diff()
    print()
    print(table([_flat(r) for r in rows],
                ["label", "film", "film_seconds", "wall_s", "rate", "peak_rss_mb", "wait",
                 "max_score_diff", "segments_changed", "precision_used", "error"]))
    if fp_diff is not None:
        print(f"\ne2e fp16 vs e2e fp32 on {mid.name}: max score diff {fp_diff['max_score_diff']:.2e}, "
              f"segments changed {fp_diff['segments_changed']}")
    for r in rows:
        if r.get("profile"):
            split = ", ".join(f"{k} {v['seconds']:.1f}s" for k, v in r["profile"]["stages"].items())
            print(f"profile [{r['label']}]: {split}")
    name = "gpu-quick-cpu" if quick else "gpu"
    path = save(name, {"device": device, "device_name": status, "quick": quick,
                       "note": ("CPU dry run: fp16 is bfloat16 emulated on the CPU, NOT GPU figures"
                                if not has_cuda else "GPU run"),
                       "films": {"base_s": base_s, "mid_s": base_s * mid_times,
                                 "long_s": base_s * long_times, "size": f"{WIDTH}x{HEIGHT}"},
                       "rows": rows, "e2e_fp16_vs_fp32": fp_diff,
                       "total_s": round(time.perf_counter() - began, 1)})
    print(f"wrote {path} in {time.perf_counter() - began:.0f} s")
    return 0


def _e2e_fp16_diff() -> dict[str, Any] | None:
    a, b = FILMS / "gpu-scores-fp32.npy", FILMS / "gpu-scores-fp16.npy"
    if not (a.exists() and b.exists()):
        return None
    s32, s16 = np.load(a), np.load(b)
    seg32 = {tuple(s) for s in json.loads(a.with_suffix(".json").read_text())}
    seg16 = {tuple(s) for s in json.loads(b.with_suffix(".json").read_text())}
    return {"max_score_diff": float(np.abs(s32 - s16).max()), "segments_fp32": len(seg32),
            "segments_changed": len(seg32 ^ seg16)}


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    wait = (row.get("profile") or {}).get("stages", {}).get("wait", {}).get("share")
    return {**row, "film": Path(row.get("film", "")).name,
            "wait": f"{wait:.0%}" if wait is not None else ""}


def _line(row: dict[str, Any]) -> str:
    keep = ("label", "rate", "wall_s", "peak_rss_mb", "max_score_diff", "segments_changed",
            "precision_used", "error")
    return json.dumps({k: row[k] for k in keep if k in row})


if __name__ == "__main__":
    sys.exit(main())
