"""Decoding speed of the per-second stills: seek vs sequential, by keyframe spacing.

For generated 1280x720 24 fps H.264 films with a keyframe every 24 frames (1 s, aligned with
the seconds), 30 frames (1.25 s, not aligned), 48 frames (2 s) and 250 frames (~10 s, x264's
default),
measures film-seconds decoded per wall second for the modes below. The films are encoded like
real ones: frame threads (``FilmWriter``), and x264's "veryfast" preset rather than the
"ultrafast" of the test fixtures, which turns off CABAC, B-frames and the deblocking filter and so
decodes unrealistically fast (and leaves ``skip_loop_filter`` nothing to skip).

* ``seek``: :func:`iter_seconds` with ``strategy="seek"`` (seeks, but decodes on instead of
  seeking when the next keyframe is not ahead of the decoder);
* ``seek+frame-threads``: the same with ``thread_type="AUTO"`` instead of slice threads;
* ``seek-naive``: seek to every second's end and decode forward from the keyframe, nothing
  reused: what "exact seeking" costs without that rule (PyAV directly, here; first 20 s);
* ``sequential``: ``strategy="sequential"`` (frame threads, RGB only for the kept frames);
* ``sequential+skip-lf``: the same with ``skip_loop_filter``, and how far its stills are from the
  exact ones (mean absolute difference, PSNR);
* ``sequential+audio``: with 16 kHz audio too (one demux pass).

Prints a Markdown table and writes ``benchmarks/results/decode.json``. The numbers justify the
``"auto"`` rule in :mod:`scenedet.media.keyframes` (seek when keyframes are <= ~1 s apart).

``--skip`` measures instead what leaving the non-reference frames no second shows undecoded
saves (:mod:`scenedet.media.nonref`): both strategies with and without it (``-noskip``), on
x264's default GOP (keyint 250 with scene cuts) and 1 s GOPs, with how many frames the decoder
decoded, and checks that the stills are byte-identical. Besides wall time it reports the
process's CPU time (all threads): on a shared machine the wall time follows the neighbours'
load, the CPU time follows the work done. Writes ``benchmarks/results/decode-skip.json``;
with ``--codec hevc`` the same on x265 films (its defaults: preset "medium", B-frames, keyint
250), ``benchmarks/results/decode-skip-hevc.json``.

    python benchmarks/decode.py            # 60 s films (generated once into benchmarks/.films)
    python benchmarks/decode.py --quick    # 20 s films
    python benchmarks/decode.py --skip --quick
    python benchmarks/decode.py --skip --quick --codec hevc
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

from scenedet.media.seconds import decode  # noqa: E402
from scenedet.media.seconds.decode import iter_seconds  # noqa: E402
from scenedet.media.probe import probe  # noqa: E402
from scenedet.media.types import MediaRequest  # noqa: E402

GOPS = (24, 30, 48, 250)
NAIVE_SECONDS = 20  # seek-naive is slow with long GOPs: timed on the first 20 s only


def stills(path: Path, strategy: str, *, audio: bool = False, skip_loop_filter: bool = False,
           skip_nonref: bool = True) -> list[np.ndarray]:
    request = MediaRequest(frames=1, audio=audio)
    return [s.still for s in iter_seconds(path, request, strategy=strategy,  # type: ignore[arg-type]
                                          skip_loop_filter=skip_loop_filter,
                                          skip_nonref=skip_nonref)]


def naive_seek(path: Path) -> list[np.ndarray]:
    """Seek to each second's end, decode forward to the last frame at or before it."""
    import av

    info = probe(path)
    out = []
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        video.thread_type = decode.SEEK_THREAD_TYPE
        tb = video.time_base
        for k in range(min(info.n_seconds, NAIVE_SECONDS)):
            target = int((k + 1) / tb)
            container.seek(target, stream=video, backward=True)
            kept = None
            for frame in container.decode(video):
                if frame.pts > target:
                    break
                kept = frame
            out.append(kept.to_ndarray(format="rgb24"))
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def _finite(x: float) -> float | None:
    """JSON has no infinity: identical stills have no PSNR (None)."""
    return None if x == float("inf") else round(x, 1)


MODES = ("seek", "seek+frame-threads", "seek-naive", "sequential", "sequential+skip-lf",
         "sequential+audio")


def run_mode(mode: str, path: Path) -> list[np.ndarray]:
    if mode == "seek-naive":
        return naive_seek(path)
    if mode == "seek+frame-threads":
        default, decode.SEEK_THREAD_TYPE = decode.SEEK_THREAD_TYPE, "AUTO"
        try:
            return stills(path, "seek")
        finally:
            decode.SEEK_THREAD_TYPE = default
    strategy, _, extra = mode.partition("+")
    return stills(path, strategy, audio=extra == "audio", skip_loop_filter=extra == "skip-lf")


def measure(seconds: int, repeats: int) -> list[dict]:
    """Best of ``repeats`` rounds per mode; the modes take turns within a round, so a burst of
    load from elsewhere on a shared machine does not land on one mode only."""
    rows = []
    for gop in GOPS:
        path = make_film(f"decode-720p-film-{seconds}s-gop{gop}", seconds=seconds, width=1280,
                         height=720, fps=24, gop=gop)
        info = probe(path)
        best = dict.fromkeys(MODES, float("inf"))
        got: dict[str, list[np.ndarray]] = {}
        for _ in range(repeats):
            for mode in MODES:
                start = time.perf_counter()
                got[mode] = run_mode(mode, path)
                best[mode] = min(best[mode], time.perf_counter() - start)
        exact, rate_seq = got["sequential"], info.n_seconds / best["sequential"]
        for mode in MODES:
            n = len(got[mode])
            assert n == (min(info.n_seconds, NAIVE_SECONDS) if mode == "seek-naive"
                         else info.n_seconds), (mode, n)
            pairs = list(zip(got[mode], exact))
            rows.append({
                "gop": gop, "keyframe_s": round(info.keyframe_interval or 0, 2),
                "auto": info.strategy, "mode": mode, "film_s": n,
                "wall_s": round(best[mode], 2), "film_s_per_s": n / best[mode],
                "vs_sequential": n / best[mode] / rate_seq,
                "mean_abs_diff": float(np.mean([np.abs(a.astype(np.int16) - b).mean()
                                                for a, b in pairs])),
                "min_psnr_db": _finite(min(psnr(a, b) for a, b in pairs)),
            })
            print(f"gop {gop:3d} {mode:20s} {n / best[mode]:7.2f} film-s/s", flush=True)
    return rows


SKIP_MODES = ("sequential", "sequential-noskip", "seek", "seek-noskip")


def decoded_frames(path: Path, mode: str) -> tuple[list[np.ndarray], int, int]:
    """(stills, frames decoded, video packets) of one run of ``mode`` (a SKIP_MODES entry)."""
    from scenedet.media import nonref

    made: list[nonref.NonrefSkip] = []
    real = nonref.NonrefSkip.__init__

    def spy(skip, *args, **kwargs):  # type: ignore[no-untyped-def]
        real(skip, *args, **kwargs)
        made.append(skip)

    strategy, _, noskip = mode.partition("-")
    nonref.NonrefSkip.__init__ = spy  # type: ignore[method-assign]
    try:
        got = stills(path, strategy, skip_nonref=not noskip)
    finally:
        nonref.NonrefSkip.__init__ = real  # type: ignore[method-assign]
    if made:  # the flush packet is not a frame
        return got, sum(m.frames for m in made), sum(m.packets - 1 for m in made)
    return got, -1, -1


def measure_skip(seconds: int, repeats: int, codec: str = "h264") -> list[dict]:
    rows = []
    encoder = "x265" if codec == "hevc" else "x264"
    for gop in (None, 24):
        name = f"decode-720p-film-{seconds}s-gop{gop or 'default'}"
        if codec == "hevc":
            name += "-hevc"
        path = make_film(name, seconds=seconds, width=1280, height=720, fps=24, gop=gop,
                         codec=f"lib{encoder}")
        info = probe(path)
        best = dict.fromkeys(SKIP_MODES, float("inf"))
        cpu = dict.fromkeys(SKIP_MODES, float("inf"))
        got: dict[str, list[np.ndarray]] = {}
        counts: dict[str, tuple[int, int]] = {}
        for _ in range(repeats):
            for mode in SKIP_MODES:
                start, start_cpu = time.perf_counter(), time.process_time()
                got[mode], frames, packets = decoded_frames(path, mode)
                best[mode] = min(best[mode], time.perf_counter() - start)
                cpu[mode] = min(cpu[mode], time.process_time() - start_cpu)
                if frames >= 0:
                    counts[mode] = (frames, packets)
        exact = got["sequential-noskip"]
        for mode in SKIP_MODES:
            assert len(got[mode]) == info.n_seconds
            frames, packets = counts.get(mode, (None, None))
            rate = info.n_seconds / best[mode]
            noskip = mode.split("-")[0] + "-noskip"
            rows.append({
                "gop": gop or f"{encoder} default", "keyframe_s": round(info.keyframe_interval or 0, 2),
                "mode": mode, "film_s": info.n_seconds, "wall_s": round(best[mode], 2),
                "film_s_per_s": rate,
                "vs_noskip": best[noskip] / best[mode],
                "cpu_s": round(cpu[mode], 2), "cpu_vs_noskip": cpu[mode] / cpu[noskip],
                "frames_decoded": frames, "packets": packets,
                "identical": all(np.array_equal(a, b) for a, b in zip(got[mode], exact)),
            })
            print(f"gop {gop or 'default'} {mode:18s} {rate:7.2f} film-s/s "
                  f"cpu {cpu[mode]:6.2f} s frames {frames}/{packets}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 s films instead of 60 s")
    parser.add_argument("--repeats", type=int, default=3, help="best of N rounds (default 3)")
    parser.add_argument("--skip", action="store_true",
                        help="measure skipping non-reference frames (decode-skip.json)")
    parser.add_argument("--codec", choices=["h264", "hevc"], default="h264",
                        help="with --skip: the films' codec (hevc: decode-skip-hevc.json)")
    args = parser.parse_args()
    seconds = 20 if args.quick else 60
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if args.skip:
        rows = measure_skip(seconds, args.repeats, args.codec)
        print(table(rows, ["gop", "keyframe_s", "mode", "film_s_per_s", "vs_noskip", "cpu_s",
                           "cpu_vs_noskip", "frames_decoded", "packets", "identical"]))
        suffix = "-hevc" if args.codec == "hevc" else ""
        preset = "medium (x265)" if args.codec == "hevc" else "veryfast"
        path = save(f"decode-skip{suffix}", {"film": {"width": 1280, "height": 720, "fps": 24,
                                                      "seconds": seconds, "preset": preset},
                                    "load_average_before": load, "rows": rows})
        print(f"wrote {path}")
        return
    rows = measure(seconds, args.repeats)
    columns = ["gop", "keyframe_s", "auto", "mode", "film_s_per_s", "vs_sequential",
               "mean_abs_diff", "min_psnr_db"]
    print(table(rows, columns))
    path = save("decode", {"film": {"width": 1280, "height": 720, "fps": 24, "seconds": seconds},
                           "load_average_before": load, "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
