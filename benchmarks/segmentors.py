"""Wall time per call of the two segmentors, by input length and kind of input.

``algorithm1`` (the literal reference) runs for n = 100, 300, 1,000 and 3,000, each case in a child
process that is stopped past ``--limit`` seconds (60 by default; a stopped case also skips the
larger ones of its regime, which could only be slower). ``interval`` runs for those and for
n = 10,000, 86,400 (a day) and 1,000,000, in this process. Three regimes, all seeded:

* ``sparse``: independent noise, each second positive with p = 0.1;
* ``clustered``: scenes of 30-120 s at 90 % density, 2-8 minutes apart, in 5 % noise;
* ``ones``: every second positive (the most candidates there can be).

Parameters are the paper's: m = 10 s, t = 7/10. Times are the best of several repeats (calls are
looped so that one timed batch lasts >= 20 ms), so they measure the code rather than the noise of a
shared machine. Where ``algorithm1`` finishes, its output is compared with ``interval``'s.

    python benchmarks/segmentors.py                 # prints a Markdown table, writes
                                                    # benchmarks/results/segmentors.json
    python benchmarks/segmentors.py --limit 10      # a quicker look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, table  # noqa: E402

from scenedet_kissing.segmentors import algorithm1, interval  # noqa: E402

REGIMES = ("sparse", "clustered", "ones")
REFERENCE_SIZES = (100, 300, 1_000, 3_000)
SIZES = (*REFERENCE_SIZES, 10_000, 86_400, 1_000_000)
MIN_LENGTH, THRESHOLD = 10, Fraction(7, 10)
SEGMENTORS = {"algorithm1": algorithm1, "interval": interval}


def labels(regime: str, n: int, seed: int = 0) -> np.ndarray:
    """The per-second labels of one case; the same for a given ``(regime, n, seed)``."""
    rng = np.random.default_rng([seed, n, REGIMES.index(regime)])
    if regime == "ones":
        return np.ones(n, dtype=bool)
    if regime == "sparse":
        return rng.random(n) < 0.1
    out = rng.random(n) < 0.05
    position = int(rng.integers(0, 240))
    while position < n:
        length = int(rng.integers(30, 121))
        scene = out[position:position + length]
        scene[:] = rng.random(scene.size) < 0.9
        position += length + int(rng.integers(120, 481))
    return out


def best_time(fn, *args, budget: float = 0.02, repeats: int = 5,
              limit: float = float("inf")) -> tuple[float, list]:
    """Best seconds per call over ``repeats`` batches of calls, each batch lasting >= ``budget``.

    A call slower than a second is repeated only while the total stays within ``limit``, so that
    a case stopped by the parent is one whose single call is too slow, not its repeats.
    """
    start = time.perf_counter()
    result = fn(*args)
    first = time.perf_counter() - start
    if first > 1.0:  # slow: single calls are precise enough
        times = [first]
        while len(times) < 3 and time.perf_counter() - start + min(times) < limit:
            times.append(_once(fn, args))
        return min(times), result
    loops = max(1, int(budget / max(first, 1e-9)))
    best = first
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            fn(*args)
        best = min(best, (time.perf_counter() - start) / loops)
    return best, result


def _once(fn, args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def child(name: str, regime: str, n: int, limit: float) -> None:
    """Entry point of the child process: time one case, print JSON on stdout."""
    try:  # the reference's candidate list can grow large: never take the shared machine down
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    except (ImportError, ValueError, OSError):
        pass
    seconds, scenes = best_time(SEGMENTORS[name], labels(regime, n), MIN_LENGTH, THRESHOLD,
                                repeats=3, limit=limit)
    print(json.dumps({"seconds": seconds, "scenes": scenes}))


def run_reference(regime: str, n: int, limit: float) -> dict:
    """``algorithm1`` in a child process, stopped past ``limit`` seconds (startup not counted)."""
    cmd = [sys.executable, __file__, "--child", "algorithm1", regime, str(n), str(limit)]
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=limit + 5)
    except subprocess.TimeoutExpired:
        return {"status": "stopped", "seconds": None, "note": f"stopped after {limit:g} s"}
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"status": "failed", "seconds": None, "note": tail}
    out = json.loads(done.stdout)
    if out["seconds"] > limit:  # finished within the slack, but past the limit all the same
        return {"status": "stopped", "seconds": None, "note": f"took {out['seconds']:.0f} s > {limit:g} s"}
    out["status"] = "ok"
    out["wall"] = time.perf_counter() - start
    return out


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=float, default=60.0, help="seconds before a reference case is stopped")
    parser.add_argument("--child", nargs=4, metavar=("NAME", "REGIME", "N", "LIMIT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, regime, n, limit = args.child
        child(name, regime, int(n), float(limit))
        return

    rows, cases = [], []
    for regime in REGIMES:
        stopped_at = None
        for n in SIZES:
            fast, fast_scenes = best_time(interval, labels(regime, n), MIN_LENGTH, THRESHOLD)
            case = {"regime": regime, "n": n, "interval_s": fast, "scenes": len(fast_scenes)}
            ref = None
            if n in REFERENCE_SIZES:
                if stopped_at is None:
                    ref = run_reference(regime, n, args.limit)
                    if ref["status"] == "stopped":
                        stopped_at = n
                else:
                    ref = {"status": "skipped", "seconds": None,
                           "note": f"not run: n = {stopped_at:,} already passed {args.limit:g} s"}
                case["algorithm1_s"] = ref["seconds"]
                case["algorithm1_status"] = ref["status"]
                if ref["status"] == "ok":
                    case["agree"] = [tuple(s) for s in ref["scenes"]] == fast_scenes
                    case["speedup"] = ref["seconds"] / fast
                elif ref["status"] == "stopped":  # a lower bound
                    case["speedup_at_least"] = args.limit / fast
                case["note"] = ref.get("note", "")
            cases.append(case)
            rows.append(_row(case, ref, args.limit))
            print(f"{regime:9} n={n:>9,}  interval {fmt(fast):>9}  algorithm1 {rows[-1]['algorithm1']}",
                  file=sys.stderr, flush=True)

    columns = ["regime", "n", "scenes", "algorithm1", "interval", "speed-up", "equal"]
    text = table(rows, columns)
    print(text)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    path = save("segmentors", {"command": "python benchmarks/segmentors.py" +
                               (f" --limit {args.limit:g}" if args.limit != 60 else ""),
                               "min_length": MIN_LENGTH, "threshold": str(THRESHOLD),
                               "limit_s": args.limit, "numpy": np.__version__, "loadavg": load,
                               "cases": cases, "table": text})
    print(f"\nwritten to {path}", file=sys.stderr)


def _ratio(x: float) -> str:
    return f"{x:.2g}x" if x < 10 else f"{x:,.0f}x"


def _row(case: dict, ref: dict | None, limit: float) -> dict:
    row = {"regime": case["regime"], "n": f"{case['n']:,}", "scenes": case["scenes"],
           "interval": fmt(case["interval_s"]), "algorithm1": "", "speed-up": "", "equal": ""}
    if ref is None:
        return row
    if ref["status"] == "ok":
        row["algorithm1"] = fmt(ref["seconds"])
        row["speed-up"] = _ratio(case["speedup"])
        row["equal"] = "yes" if case["agree"] else "**NO**"
    elif ref["status"] == "stopped":
        row["algorithm1"] = f"> {limit:g} s (stopped)"
        row["speed-up"] = "> " + _ratio(case["speedup_at_least"])
    else:
        row["algorithm1"] = "not run" if ref["status"] == "skipped" else f"failed: {ref['note']}"
    return row


if __name__ == "__main__":
    main()
