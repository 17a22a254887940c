"""On-screen text (``text``, PP-OCRv4) and the cloud cue set (``cloud-cues``): accuracy on
generated films with known truth, what the sampling rate costs, speed at 720p with the
``--profile`` split, and memory on a long film.

Films (``scenedet_text.synth``, 1280x720, 25 fps, H.264, made once into benchmarks/.films):
credit rolls at several speeds and fonts, static credit cards, title cards, burned-in subtitles
over moving footage, footage with text-like texture (bricks, barcode stripes) and no text,
slates, black and colour bars.

    python benchmarks/text.py                      # accuracy x rates, speed, cue set (~15 min)
    python benchmarks/text.py --memory-minutes 60  # and peak/over-time RSS on a 60-minute film
    python benchmarks/text.py --quick              # one film, rate 2 only: a smoke test

Accuracy: a found segment matches a true one of the same label at tIoU >= 0.5 (one to one,
best first); "F1 (1 s)" also asks both its edges within 1 s. Results: benchmarks/results/text.json.
"""

from __future__ import annotations

import argparse
import os

import attrs
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FILMS, concat_film, save, table  # noqa: E402

from scenedet_text.synth import Part, truth, write_film  # noqa: E402

FPS = 25
SIZE = (1280, 720)
FILM_PLANS = {
    "text-a": [Part("bars", 3), Part("black", 1), Part("slate", 3, seed=1), Part("black", 2),
               Part("title", 4), Part("cards", 12, seed=2), Part("footage", 6, seed=3),
               Part("subtitles", 20, seed=4), Part("texture", 8, seed=5),
               Part("subtitles", 15, seed=6, font=2), Part("footage", 4, seed=7),
               Part("roll", 20, speed=0.08, font=1)],
    "text-b": [Part("title", 3, seed=1, font=3), Part("footage", 5, seed=8),
               Part("texture", 8, seed=9), Part("subtitles", 20, seed=10, font=4),
               Part("title", 4, seed=2, font=5), Part("footage", 6, seed=11),
               Part("cards", 15, seed=3, font=3), Part("texture", 6, seed=12),
               Part("roll", 15, speed=0.2, font=2), Part("black", 2)],
    "text-c": [Part("footage", 4, seed=13), Part("subtitles", 25, seed=14, font=1),
               Part("texture", 10, seed=15), Part("title", 3, seed=3, font=2),
               Part("footage", 3, seed=16), Part("roll", 25, speed=0.05, font=4),
               Part("cards", 9, seed=5, font=5)],
}


def film(name: str) -> Path:
    FILMS.mkdir(parents=True, exist_ok=True)
    path = FILMS / f"{name}.mp4"
    if not path.exists():
        write_film(path, FILM_PLANS[name], width=SIZE[0], height=SIZE[1], fps=FPS)
    return path


def match(found: list[tuple[str, float, float]], want: list[tuple[str, float, float]],
          edge: float | None) -> list[tuple[tuple, tuple]]:
    """One-to-one matches (found, true): same label, tIoU >= 0.5, edges within ``edge`` s."""
    pairs = []
    for f in found:
        for w in want:
            inter = max(0.0, min(f[2], w[2]) - max(f[1], w[1]))
            tiou = inter / (max(f[2], w[2]) - min(f[1], w[1]))
            ok = f[0] == w[0] and tiou >= 0.5
            if ok and edge is not None:
                ok = abs(f[1] - w[1]) <= edge and abs(f[2] - w[2]) <= edge
            if ok:
                pairs.append((tiou, f, w))
    used_f, used_w, out = set(), set(), []
    for _, f, w in sorted(pairs, key=lambda p: -p[0]):
        if f not in used_f and w not in used_w:
            used_f.add(f)
            used_w.add(w)
            out.append((f, w))
    return out


def prf(n_match: int, n_found: int, n_true: int) -> tuple[float, float, float]:
    p = n_match / n_found if n_found else 1.0
    r = n_match / n_true if n_true else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def text_truth(name: str) -> list[tuple[str, float, float]]:
    return [("title" if t.label == "slate" else t.label, t.start, t.end)
            for t in truth(FILM_PLANS[name], FPS, *SIZE)]


def accuracy(names: list[str], rates: list[float]) -> list[dict]:
    import scenedet

    rows = []
    for rate in rates:
        for refine in ((True, False) if rate == 2 else (True,)):
            found_all, true_all, m05, m1, errors, seconds, wall = 0, 0, 0, 0, [], 0.0, 0.0
            per_label: dict[str, list[int]] = {}
            for name in names:
                path = film(name)
                t0 = time.perf_counter()
                result = scenedet.run(path, ["text"], options={"text": {"rate": rate, "refine": refine}})
                wall += time.perf_counter() - t0
                (res,) = result.results.values()
                seconds += res.duration
                found = [(s.label, s.start, s.end) for s in res.segments]
                want = text_truth(name)
                pairs, strict = match(found, want, None), match(found, want, 1.0)
                found_all, true_all, m05, m1 = found_all + len(found), true_all + len(want), m05 + len(pairs), m1 + len(strict)
                errors += [abs(f[1] - w[1]) for f, w in pairs] + [abs(f[2] - w[2]) for f, w in pairs]
                for label in {w[0] for w in want} | {f[0] for f in found}:
                    c = per_label.setdefault(label, [0, 0, 0])
                    c[0] += sum(1 for f, _ in strict if f[0] == label)
                    c[1] += sum(1 for f in found if f[0] == label)
                    c[2] += sum(1 for w in want if w[0] == label)
            p, r, f1 = prf(m05, found_all, true_all)
            _, _, f1s = prf(m1, found_all, true_all)
            rows.append({"rate": rate, "refine": refine, "true": true_all, "found": found_all,
                         "P": round(p, 3), "R": round(r, 3), "F1": round(f1, 3),
                         "F1 (1 s)": round(f1s, 3),
                         "mean edge error s": round(sum(errors) / max(1, len(errors)), 3),
                         "max edge error s": round(max(errors or [0.0]), 3),
                         "film-s/s (under load)": round(seconds / wall, 2),
                         "per label F1 (1 s)": {k: round(prf(*v)[2], 3) for k, v in per_label.items()}})
            print(rows[-1], flush=True)
    return rows


def speed(name: str) -> dict:
    """One profiled run of ``text`` at its defaults over a 720p film, decode included."""
    import scenedet

    path = film(name)
    t0 = time.perf_counter()
    result = scenedet.run(path, ["text"], profile=True)
    wall = time.perf_counter() - t0
    (res,) = result.results.values()
    stages = {k: round(v["seconds"], 2) for k, v in result.profile["stages"].items()}
    return {"film": name, "seconds": round(res.duration, 2), "wall_s": round(wall, 2),
            "film-s/s (under load)": round(res.duration / wall, 2), "stages_s": stages,
            "load_1min": os.getloadavg()[0]}


def cue_set(names: list[str]) -> list[dict]:
    """The cloud cue set's labels against the films' parts, per frame."""
    import numpy as np
    import scenedet

    rows = []
    for name in names:
        plan = FILM_PLANS[name]
        result = scenedet.run(film(name), ["cloud-cues"])
        (res,) = result.results.values()
        n = res.n_frames
        want = np.full(n, "Content", object)
        ends = np.cumsum([int(round(p.seconds * FPS)) for p in plan])
        kinds = {"bars": "ColorBars", "black": "BlackFrames", "slate": "Slate"}
        for i, p in enumerate(plan):
            a, b = (ends[i - 1] if i else 0), ends[i]
            if p.kind in kinds:
                want[a:b] = kinds[p.kind]
            elif p.kind in ("title", "cards", "roll"):
                want[a:b] = "OpeningCredits" if a < 0.25 * n else ("EndCredits" if b > 0.75 * n else "Content")
        got = np.full(n, "", object)
        for s in res.segments:
            got[s.start_frame:s.end_frame] = s.label
        rows.append({"film": name, "frames": n, "frame agreement": round(float((got == want).mean()), 3),
                     "segments": [(s.label, round(s.start, 2), round(s.end, 2)) for s in res.segments]})
        print(rows[-1], flush=True)
    return rows


def memory(minutes: int) -> dict:
    """Peak and sampled RSS of ``text`` over a long 720p film (text-a, stream-copied end to end)."""
    base = film("text-a")
    copies = max(1, round(minutes * 60 / 98))
    long = concat_film(base, copies, f"text-a-x{copies}")
    code = ("import resource, threading, time, json, sys, scenedet\n"
            "rss=[]\n"
            "def watch():\n"
            "    while True:\n"
            "        rss.append(int(open('/proc/self/statm').read().split()[1])*4096/2**20); time.sleep(2)\n"
            "threading.Thread(target=watch, daemon=True).start()\n"
            "t=time.perf_counter(); r=scenedet.run(sys.argv[1], ['text']); w=time.perf_counter()-t\n"
            "(res,)=r.results.values()\n"
            "print(json.dumps({'seconds': res.duration, 'wall_s': w, 'segments': len(res.segments),"
            "'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024,"
            "'rss_10_50_100_mb': [rss[len(rss)//10], rss[len(rss)//2], rss[-1]] if rss else []}))\n")
    out = subprocess.run([sys.executable, "-c", code, str(long)], check=True, capture_output=True,
                         text=True).stdout
    import json

    return {"minutes": round(copies * 98 / 60, 1), **json.loads(out.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0])
    parser.add_argument("--memory-minutes", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="text")
    args = parser.parse_args()
    names = ["text-a"] if args.quick else list(FILM_PLANS)
    rates = [2.0] if args.quick else args.rates
    report = {"films": {n: [attrs.asdict(p) for p in FILM_PLANS[n]] for n in names},
              "size": list(SIZE), "fps": FPS, "load_before": os.getloadavg()[0]}
    report["accuracy"] = accuracy(names, rates)
    report["speed"] = speed(names[0])
    print(report["speed"], flush=True)
    report["cue_set"] = cue_set(names)
    if args.memory_minutes:
        report["memory"] = memory(args.memory_minutes)
        print(report["memory"], flush=True)
    report["load_after"] = os.getloadavg()[0]
    report["peak_rss_mb_this_process"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    path = save(args.out, report)
    print(table(report["accuracy"], ["rate", "refine", "true", "found", "P", "R", "F1", "F1 (1 s)",
                                     "mean edge error s", "max edge error s", "film-s/s (under load)"]))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
