"""Peak and over-time RSS of ``scenedet run`` (ResNet-18 + VGGish) at real resolutions.

For generated 720p and 1080p H.264+AAC films of 10 and 60 minutes (ten generated seconds
remuxed 60 or 360 times, stream copy, no re-encode: see ``common.concat_film``), each
end-to-end run in its own process: peak RSS (``ru_maxrss``) and VmRSS sampled every 0.5 s by a
thread, summarised as the RSS at 10 %, 50 % and 100 % of the run, plus glibc's ``mallinfo2``
at the end (heap in arenas vs mmapped chunks). ``--allocator default`` turns off scenedet's
allocator tuning (``SCENEDET_MALLOC_TUNING=off``) to show what it changes.

    python benchmarks/memory.py                     # 720p and 1080p, 10 minutes
    python benchmarks/memory.py --minutes 10 60     # and the 60-minute films (~10-20 min each)
    python benchmarks/memory.py --allocator default # without the allocator tuning
    python benchmarks/memory.py --allocator default --env MALLOC_ARENA_MAX=1   # a hypothesis
    python benchmarks/memory.py --quick             # a 1-minute 360p film, a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import concat_film, make_film, save, table  # noqa: E402

SIZES = {"360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080)}


def vm_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def mallinfo2_mb() -> dict[str, float]:
    """glibc's main arena + mmapped chunks at the end of the run (MB; ``{}`` off glibc)."""
    from scenedet.inference.allocator import mallinfo2

    info = mallinfo2()
    return {"arena_mb": info["arena"] / 2**20, "mmapped_mb": info["hblkhd"] / 2**20,
            "mmapped_chunks": info["hblks"], "in_use_mb": info["uordblks"] / 2**20,
            "free_mb": info["fordblks"] / 2**20} if info else {}


def arenas_mb() -> list[dict[str, float]]:
    """Per malloc arena (``malloc_info``): the memory it holds from the system and how much of
    it is free; arena 0 is the main thread's, the others are other threads' (the decoder's)."""
    import ctypes
    import tempfile
    import xml.etree.ElementTree as ET

    try:
        libc = ctypes.CDLL(None)
        libc.fopen.restype = ctypes.c_void_p
        libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
        libc.fclose.argtypes = [ctypes.c_void_p]
    except (OSError, AttributeError):
        return []
    with tempfile.NamedTemporaryFile(suffix=".xml") as tmp:
        fp = libc.fopen(tmp.name.encode(), b"w")
        libc.malloc_info(0, fp)
        libc.fclose(fp)
        root = ET.parse(tmp.name).getroot()
    heaps = []
    for heap in root.findall("heap"):
        free = sum(int(t.get("size", 0)) for t in heap.findall("total") if t.get("type") in
                   ("fast", "rest"))
        system = next((int(s.get("size", 0)) for s in heap.findall("system")
                       if s.get("type") == "current"), 0)
        heaps.append({"arena": int(heap.get("nr", -1)), "system_mb": round(system / 2**20, 1),
                      "free_mb": round(free / 2**20, 1)})
    return heaps


class Sampler:
    """VmRSS every ``interval`` seconds on a daemon thread: ``samples`` = [(t, MB)]."""

    def __init__(self, interval: float = 0.5) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter() - self._t0, vm_rss_mb()))
            self._stop.wait(0.5)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.perf_counter() - self._t0, vm_rss_mb()))

    def at(self, fraction: float) -> float:
        """RSS at ``fraction`` of the run (the sample nearest that time)."""
        end = self.samples[-1][0]
        return min(self.samples, key=lambda s: abs(s[0] - fraction * end))[1]


def measure(film: str, batch_size: int, threads: int | None) -> dict:
    from pipeline import _models

    from scenedet.inference.pipeline import score_film, set_threads
    from scenedet.media.probe import probe

    set_threads(threads)
    model = _models()
    n = probe(film).n_seconds
    before = vm_rss_mb()
    start = time.perf_counter()
    with Sampler() as sampler:
        seconds = len(score_film(model, film, batch_size=batch_size))
    wall = time.perf_counter() - start
    assert seconds == n, (seconds, n)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss = [round(mb) for _, mb in sampler.samples]
    return {"film": Path(film).name, "film_seconds": seconds, "wall_s": round(wall, 1),
            "rate": seconds / wall, "peak_rss_mb": round(peak_mb), "models_mb": round(before),
            "rss_10pct_mb": round(sampler.at(0.1)), "rss_50pct_mb": round(sampler.at(0.5)),
            "rss_end_mb": round(sampler.at(1.0)),
            "allocator": os.environ.get("SCENEDET_MALLOC_TUNING", "scenedet") + "".join(
                f" {k}={v}" for k, v in os.environ.items() if k.startswith(("MALLOC_", "GLIBC_"))),
            "mallinfo2": {k: round(v, 1) for k, v in mallinfo2_mb().items()},
            "arenas": arenas_mb(),
            # one sample in ~100, for plots
            "rss_series_mb": rss[:: max(1, len(rss) // 100)]}


def model_speed(rounds: int) -> dict:
    """Model-only seconds per batch of 16 with large blocks mmapped (scenedet's threshold) and
    from the heap (a 32 MiB threshold, where glibc's dynamic one ends up), alternated in one
    process: the page faults of fresh mappings are the tuning's cost."""
    import ctypes

    import torch
    from pipeline import _models

    from scenedet.inference.allocator import M_MMAP_THRESHOLD, MMAP_THRESHOLD

    libc = ctypes.CDLL(None)
    model = _models()
    g = torch.Generator().manual_seed(0)
    inputs = [torch.rand(16, 3, 224, 224, generator=g).contiguous(memory_format=torch.channels_last),
              torch.rand(16, 1, 96, 64, generator=g)]
    stats: dict[str, list[tuple[float, float, int]]] = {"mmapped": [], "heap": []}
    with torch.inference_mode():
        model(inputs)
        for _ in range(rounds):
            for name, threshold in (("mmapped", MMAP_THRESHOLD), ("heap", 32 << 20)):
                libc.mallopt(M_MMAP_THRESHOLD, threshold)
                model(inputs)  # one pass to settle the heap at this threshold
                before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
                model(inputs)
                after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - start
                cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
                stats[name].append((wall, cpu, after.ru_minflt - before.ru_minflt))
    # CPU seconds and page faults per pass barely depend on the machine's load; wall time does.
    out = {}
    for name, rows in stats.items():
        out[f"{name}_wall_s"] = round(sorted(r[0] for r in rows)[len(rows) // 2], 3)
        out[f"{name}_cpu_s"] = round(sorted(r[1] for r in rows)[len(rows) // 2], 3)
        out[f"{name}_minor_faults"] = sorted(r[2] for r in rows)[len(rows) // 2]
    return out


def child(film: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", str(film), "--batch-size", str(args.batch_size)]
    cmd += ["--threads", str(args.threads)] if args.threads else []
    env = dict(os.environ)
    if args.allocator == "default":
        env["SCENEDET_MALLOC_TUNING"] = "off"
    env.update(kv.split("=", 1) for kv in args.env)  # e.g. MALLOC_ARENA_MAX=1, a hypothesis
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["720p", "1080p"], choices=sorted(SIZES))
    parser.add_argument("--minutes", nargs="+", type=int, default=[10], choices=[1, 10, 60])
    parser.add_argument("--allocator", choices=["scenedet", "default"], default="scenedet")
    parser.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE",
                        help="environment of the runs, e.g. MALLOC_ARENA_MAX=1")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="one 1-minute 360p film")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--child")
    parser.add_argument("--model-speed", type=int, metavar="ROUNDS",
                        help="only time the models with and without the tuning")
    args = parser.parse_args()
    if args.model_speed:
        row = model_speed(args.model_speed)
        print(row, f"load {os.getloadavg()}")
        save("memory-model-speed", {"row": row, "load": os.getloadavg()})
        return
    if args.child:
        print(json.dumps(measure(args.child, args.batch_size, args.threads)))
        return
    if args.quick:
        args.sizes, args.minutes = ["360p"], [1]

    rows = []
    for size in args.sizes:
        width, height = SIZES[size]
        # Ten generated seconds (x264 at 1080p is slow on 2 shared cores), remuxed to length.
        base = make_film(f"film-{size}-10s", seconds=10, width=width, height=height)
        for minutes in args.minutes:
            film = concat_film(base, 6 * minutes, f"film-{size}-{minutes}min-x")
            for _ in range(args.repeat):
                row = {"size": size, "minutes": minutes, **child(film, args)}
                rows.append(row)
                print({k: v for k, v in row.items() if k != "rss_series_mb"}, flush=True)
    print()
    print(table(rows, ["size", "minutes", "allocator", "rate", "models_mb", "rss_10pct_mb",
                       "rss_50pct_mb", "rss_end_mb", "peak_rss_mb"]))
    print(f"load: {os.getloadavg()}")
    suffix = "" if args.allocator == "scenedet" else "-default-malloc"
    path = save(f"memory{suffix}", {"batch_size": args.batch_size, "threads": args.threads,
                                    "load": os.getloadavg(), "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
