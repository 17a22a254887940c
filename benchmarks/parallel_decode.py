"""Parallel decoding of one film: decode-only film-seconds per wall second by worker count and kind.

For generated 1280x720 24 fps H.264+AAC films (x264 "veryfast", B-frames) with 1 s and 10 s GOPs,
decodes the per-second stills and 16 kHz audio (what ``scenedet run`` with the kissing scene
asks for) with :func:`scenedet.media.seconds.decode.iter_seconds` (today's default, "auto" strategy) and
with :func:`scenedet.media.parallel.seconds.iter_seconds_parallel` for 1, 2, 4 workers as threads and as
processes; checks the stills and audio are identical to the one-pass decode. Optionally
(``--end-to-end``) times ``score_film`` (ResNet-18 + VGGish, random weights) with each worker count
on the CPU, on the long-GOP film. Modes take turns within each round and the best of ``--repeats`` is kept (a shared
machine). Prints a Markdown table and writes ``benchmarks/results/parallel_decode.json``.

    python benchmarks/parallel_decode.py                  # 150 s films (generated once)
    python benchmarks/parallel_decode.py --seconds 60 --end-to-end
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import make_film, save, table  # noqa: E402

from scenedet.media.seconds.decode import iter_seconds  # noqa: E402
from scenedet.media.parallel.seconds import chunk_seconds_for, iter_seconds_parallel  # noqa: E402
from scenedet.media.probe import probe  # noqa: E402
from scenedet.media.types import MediaRequest  # noqa: E402

REQUEST = MediaRequest(frames=1, audio=True)
GOPS = (24, 240)


def decode(path: Path, mode: tuple[str, int]) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    kind, workers = mode
    start = time.perf_counter()
    if kind == "today":
        seconds = iter_seconds(path, REQUEST)
    else:
        seconds = iter_seconds_parallel(path, REQUEST, workers=workers, kind=kind)  # type: ignore[arg-type]
    stills, sounds = [], []
    for s in seconds:
        stills.append(s.still)
        sounds.append(s.audio)
    return stills, sounds, time.perf_counter() - start


def end_to_end(path: Path, workers: int, kind: str) -> float:
    """``score_film`` with ResNet-18 + VGGish (random weights) on the CPU: film-s per wall s."""
    import scenedet
    from scenedet.inference.model import SceneModel, prepare_for_inference
    from scenedet.inference.pipeline import score_film

    backbones = [scenedet.create_backbone("resnet18", weights="random:0"),
                 scenedet.create_backbone("vggish", weights="random:0")]
    model = prepare_for_inference(SceneModel(backbones, scenedet.create_head(
        "linear", in_features=640)), "cpu")
    start = time.perf_counter()
    scores = score_film(model, path, decode_workers=workers, decode_worker_kind=kind)
    return len(scores) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--kinds", nargs="+", default=["thread", "process"])
    parser.add_argument("--end-to-end", action="store_true")
    args = parser.parse_args()
    modes = [("today", 1)] + [(k, w) for k in args.kinds for w in args.workers if w > 1]
    rows = []
    for gop in GOPS:
        path = make_film(f"pardecode-720p-{args.seconds}s-gop{gop}", seconds=args.seconds,
                         width=1280, height=720, fps=24, gop=gop)
        info = probe(path)
        best = dict.fromkeys(modes, float("inf"))
        reference = None
        for _ in range(args.repeats):
            for mode in modes:
                stills, sounds, took = decode(path, mode)
                best[mode] = min(best[mode], took)
                if reference is None:
                    reference = (stills, sounds)
                else:  # (the "seek" one pass's audio is not the sequential one's: see the docs)
                    assert all(np.array_equal(a, b) for a, b in zip(stills, reference[0]))
                    assert (info.strategy == "seek"
                            or all(np.array_equal(a, b) for a, b in zip(sounds, reference[1])))
        today = info.n_seconds / best[("today", 1)]
        for kind, workers in modes:
            fps = info.n_seconds / best[(kind, workers)]
            rows.append({"gop_s": gop / 24, "strategy": info.strategy, "kind": kind,
                         "workers": workers, "decode_film_s_per_s": round(fps, 2),
                         "vs_today": round(fps / today, 2),
                         "chunk_s": chunk_seconds_for(info, REQUEST, workers) if workers > 1 else ""})
        if args.end_to_end and gop == GOPS[-1]:  # the long-GOP film, 1 and 2 workers
            for kind, workers in [m for m in modes if m[1] <= 2]:
                e2e = end_to_end(path, workers, "thread" if kind == "today" else kind)
                for row in rows:
                    if row["gop_s"] == gop / 24 and (row["kind"], row["workers"]) == (kind, workers):
                        row["end_to_end_film_s_per_s"] = round(e2e, 2)
    load = os.getloadavg()
    columns = ["gop_s", "strategy", "kind", "workers", "chunk_s", "decode_film_s_per_s", "vs_today"]
    if args.end_to_end:
        columns.append("end_to_end_film_s_per_s")
    print(table(rows, columns))
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, cores: {os.cpu_count()}")
    out = save("parallel_decode", {"film": {"width": 1280, "height": 720, "fps": 24,
                                            "seconds": args.seconds},
                                   "load_average": [round(x, 2) for x in load], "rows": rows})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
