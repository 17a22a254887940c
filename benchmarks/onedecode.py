"""A per-second scene and a shot detector: two decodes (before) against one (after).

``scenedet run -p kissing -p shots-content film.mp4`` used to decode the film twice (once per
second for the scene, once frame by frame for the detector); now one pass feeds both
(:func:`scenedet.engine.passes.one_pass`). This times ``scenedet.run`` with
``one_decode=False`` (the old way, still there) and ``True`` on a generated film, each
run in a process of its own (so neither warms the other's caches), alternating, and records
``uptime`` before and after (the machine may be shared).

    python benchmarks/onedecode.py                      # 2 min 640x360, shots-content
    python benchmarks/onedecode.py --seconds 60 --detector shots --repeats 1

The scene is the kissing recipe (ResNet-18 + VGGish + a linear head) with ``random:0``
weights: the speed is the pretrained one's. Prints a Markdown table and writes
``benchmarks/results/onedecode.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from common import FILMS, make_film, random_kissing_model, save, table

CHILD = """
import json, sys, time
import scenedet
film, model, detector, one = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
t = time.perf_counter()
scenedet.run(film, ["kissing", detector], model=model, one_decode=one, progress=False)
print(json.dumps({"wall_s": time.perf_counter() - t}))
"""


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--detector", default="shots-content")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    film = make_film(f"onedecode-{args.seconds}s-{args.size}", seconds=args.seconds,
                     width=width, height=height)
    model = random_kissing_model(FILMS / "onedecode-model.pt")
    env = {**os.environ, "SCENEDET_OFFLINE": "1"}
    load_before = uptime()
    rows: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.repeats):
        for one in (False, True):
            out = subprocess.run([sys.executable, "-c", CHILD, str(film), str(model),
                                  args.detector, "1" if one else "0"],
                                 capture_output=True, text=True, env=env, check=True)
            rows[one].append(json.loads(out.stdout.strip().splitlines()[-1])["wall_s"])
    load_after = uptime()
    table_rows = [{"decodes": "two (before)" if not one else "one (after)",
                   "runs": len(times), "best wall s": min(times),
                   "film-s per wall s": args.seconds / min(times),
                   "all wall s": " ".join(f"{t:.1f}" for t in times)}
                  for one, times in rows.items()]
    print(f"{args.seconds} s {args.size} 24 fps, kissing + {args.detector}")
    print(table(table_rows, ["decodes", "runs", "best wall s", "film-s per wall s", "all wall s"]))
    print(f"uptime before: {load_before}\nuptime after:  {load_after}")
    save("onedecode", {"film": {"seconds": args.seconds, "size": args.size, "fps": 24},
                       "detector": args.detector, "rows": table_rows,
                       "uptime_before": load_before, "uptime_after": load_after,
                       "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})


if __name__ == "__main__":
    main()
