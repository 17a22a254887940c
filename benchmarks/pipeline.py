"""End-to-end speed and memory of ``scenedet run`` (ResNet-18 + VGGish) on the CPU.

For a generated 10-minute 1280x720 24 fps H.264+AAC film: decode-only (decode + extract +
preprocess, the producer thread's work), model-only (backbones + head on ready batches) and
end-to-end film-seconds per wall second, and peak RSS; then end-to-end on a 2-minute and a
60-minute low-resolution film to show that memory does not grow with the film. Each measurement
runs in its own process, so peak RSS is that run's alone. The decode-only and end-to-end rows run
with scenedet's profile on (``scenedet.profiling``: a clock read per stage, noise next to the
work) and the JSON keeps each row's split; the end-to-end split is printed under the table.

    python benchmarks/pipeline.py            # full run (generates films once, ~15 min)
    python benchmarks/pipeline.py --quick    # 1-minute films, for a smoke test
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import make_film, save, table  # noqa: E402


def _models():
    import scenedet
    from scenedet.inference.model import SceneModel, prepare_for_inference

    backbones = [scenedet.create_backbone("resnet18", weights="random:0"),
                 scenedet.create_backbone("vggish", weights="random:0")]
    head = scenedet.create_head("linear", in_features=640)
    return prepare_for_inference(SceneModel(backbones, head), "cpu")


def measure(film: str, stage: str, batch_size: int, threads: int | None) -> dict:
    import torch

    from scenedet import profiling
    from scenedet.media.probe import probe
    from scenedet.inference.pipeline import score_film, set_threads
    from scenedet.inference.stream import input_batches

    set_threads(threads)
    model = _models()
    n = probe(film).n_seconds
    profiling.enable(stage != "model")  # the model row times bare forward passes
    start = time.perf_counter()
    if stage == "decode":
        seconds = sum(b.size for b in input_batches(film, list(model.backbones), batch_size))
    elif stage == "model":
        batch = next(iter(input_batches(film, list(model.backbones), batch_size)))
        inputs = [x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x
                  for x in batch.inputs]
        with torch.inference_mode():
            model(inputs)  # warm-up
            start = time.perf_counter()
            seconds = 0
            while seconds < min(n, 240):
                torch.softmax(model(inputs), 1)
                seconds += batch.size
    else:
        seconds = len(score_film(model, film, batch_size=batch_size))
        assert seconds == n, (seconds, n)
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row = {"film": Path(film).name, "stage": stage, "film_seconds": seconds,
           "wall_s": round(wall, 2), "rate": seconds / wall, "peak_rss_mb": round(peak_mb)}
    if profiling.PROFILE.enabled:
        row["profile"] = profiling.PROFILE.to_dict()
    return row


def child(film: str, stage: str, batch_size: int, threads: int | None) -> dict:
    cmd = [sys.executable, __file__, "--child", film, "--stage", stage,
           "--batch-size", str(batch_size)] + (["--threads", str(threads)] if threads else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1-minute films instead of 10/2/60")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--child")
    parser.add_argument("--stage", default="e2e")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.stage, args.batch_size, args.threads)))
        return

    minutes = (1, 1, 2) if args.quick else (10, 2, 60)
    print("generating films (once; kept in benchmarks/.films)...", flush=True)
    hd = make_film(f"film-720p-{minutes[0]}min", seconds=60 * minutes[0], width=1280, height=720)
    short = make_film(f"film-180p-{minutes[1]}min", seconds=60 * minutes[1], width=320, height=180)
    long = make_film(f"film-180p-{minutes[2]}min", seconds=60 * minutes[2], width=320, height=180)

    rows = []
    for stage in ("decode", "model", "e2e"):
        rows.append(child(str(hd), stage, args.batch_size, args.threads))
        print(rows[-1], flush=True)
    decode, model, e2e = (r["rate"] for r in rows)
    serial = 1 / (1 / decode + 1 / model)
    for film in (short, long):
        rows.append(child(str(film), "e2e", args.batch_size, args.threads))
        print(rows[-1], flush=True)
    summary = {"decode_rate": decode, "model_rate": model, "e2e_rate": e2e,
               "serial_bound": serial, "e2e_over_serial": e2e / serial,
               "peak_rss_mb": {r["film"]: r["peak_rss_mb"] for r in rows if r["stage"] == "e2e"}}
    print()
    print(table(rows, ["film", "stage", "film_seconds", "wall_s", "rate", "peak_rss_mb"]))
    print()
    print(f"end-to-end {e2e:.2f} film-s/s = {e2e / serial:.2f} x the serial bound "
          f"1/(1/{decode:.2f} + 1/{model:.2f}) = {serial:.2f}")
    for row in rows:
        if row["stage"] == "e2e" and row.get("profile"):
            stages = row["profile"]["stages"]
            print(f"where the time went, {row['film']}: " + ", ".join(
                f"{name} {v['share']:.0%}" for name, v in stages.items()))
    path = save("pipeline-quick" if args.quick else "pipeline", {"batch_size": args.batch_size, "threads": args.threads,
                             "rows": rows, "summary": summary})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
