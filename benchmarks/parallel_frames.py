"""Parallel decoding of the frame stream: decode-only film-seconds per wall second by worker count.

The frame-level path (``scenedet run -p shots``, ``-p shots-content``, ``-p cues``, several
plugins) reads every frame at a small size through :class:`scenedet.media.frames.stream.MediaStream`.
For generated 1280x720 24 fps H.264+AAC films (x264 "veryfast", B-frames) with 1 s and 10 s GOPs
this times that stream at 48x27 with sound (what ``shots`` asks for) as today (one decode) and as
:class:`scenedet.media.parallel.frames.ParallelMediaStream` with 2 threads and 2 processes (and
any ``--workers``), checking every batch is identical to today's; then ``shots-content`` end to
end (:func:`scenedet.inference.framerun.run_detectors`) with 1 and 2 workers, checking the cuts
are the same. Modes take turns within each round, the best of ``--repeats`` is kept, and the
1-minute load average is recorded with each figure (a shared machine). Prints a Markdown table
and writes ``benchmarks/results/parallel_frames.json``.

    python benchmarks/parallel_frames.py                  # 120 s films (generated once)
    python benchmarks/parallel_frames.py --seconds 60 --workers 2 4
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import make_film, save, table  # noqa: E402

from scenedet.media.frames.stream import FrameBatch, MediaStream  # noqa: E402
from scenedet.media.parallel.frames import ParallelMediaStream  # noqa: E402

GOPS = (24, 240)
SIZE = (48, 27)


def decode(path: Path, kind: str, workers: int) -> tuple[str, int, float]:
    """(digest of every frame and time, frames, seconds) for one pass of the stream."""
    start = time.perf_counter()
    if kind == "today":
        stream = MediaStream(path, sizes=(SIZE,), audio=True)
    else:
        stream = ParallelMediaStream(path, sizes=(SIZE,), audio=True, workers=workers, kind=kind)
    digest, frames = hashlib.sha256(), 0
    for item in stream:
        if isinstance(item, FrameBatch):
            digest.update(item.times.tobytes())
            digest.update(item.frames(SIZE).tobytes())
            frames += len(item)
    return digest.hexdigest(), frames, time.perf_counter() - start


def end_to_end(path: Path, workers: int) -> tuple[list, float]:
    from scenedet.inference.framerun import run_detectors

    start = time.perf_counter()
    result = run_detectors(path, ["shots-content"], progress=False, decode_workers=workers)
    return result[0].to_dict()["cuts"], time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--kinds", nargs="+", default=["thread", "process"])
    parser.add_argument("--no-end-to-end", action="store_true")
    args = parser.parse_args()
    modes = [("today", 1)] + [(k, w) for k in args.kinds for w in args.workers if w > 1]
    rows = []
    for gop in GOPS:
        path = make_film(f"pardecode-720p-{args.seconds}s-gop{gop}", seconds=args.seconds,
                         width=1280, height=720, fps=24, gop=gop)
        best = dict.fromkeys(modes, float("inf"))
        load = dict.fromkeys(modes, 0.0)
        reference = None
        for _ in range(args.repeats):
            for mode in modes:
                digest, frames, took = decode(path, *mode)
                if took < best[mode]:
                    best[mode], load[mode] = took, os.getloadavg()[0]
                assert reference is None or (digest, frames) == reference, f"{mode}: frames differ"
                reference = (digest, frames)
        today = args.seconds / best[("today", 1)]
        for kind, workers in modes:
            speed = args.seconds / best[(kind, workers)]
            rows.append({"gop_s": gop / 24, "what": "decode 48x27 + sound", "kind": kind,
                         "workers": workers, "film_s_per_s": round(speed, 2),
                         "vs_today": round(speed / today, 2), "load_1min": round(load[(kind, workers)], 2)})
        if args.no_end_to_end:
            continue
        e2e: dict[int, float] = {}
        cuts = None
        for _ in range(args.repeats):
            for workers in (1, 2):
                found, took = end_to_end(path, workers)
                assert cuts is None or found == cuts, "shots-content: cuts differ"
                cuts = found
                if took < e2e.get(workers, float("inf")):
                    e2e[workers] = took
                    load[("e2e", workers)] = os.getloadavg()[0]
        for workers in (1, 2):
            speed = args.seconds / e2e[workers]
            rows.append({"gop_s": gop / 24, "what": "shots-content end to end",
                         "kind": "today" if workers == 1 else "thread", "workers": workers,
                         "film_s_per_s": round(speed, 2),
                         "vs_today": round(speed / (args.seconds / e2e[1]), 2),
                         "load_1min": round(load[("e2e", workers)], 2)})
    columns = ["gop_s", "what", "kind", "workers", "film_s_per_s", "vs_today", "load_1min"]
    print(table(rows, columns))
    print(f"cores: {os.cpu_count()}")
    out = save("parallel_frames", {"film": {"width": 1280, "height": 720, "fps": 24,
                                            "seconds": args.seconds, "size": list(SIZE)},
                                   "rows": rows})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
