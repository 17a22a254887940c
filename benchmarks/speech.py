"""Speech (Silero VAD): accuracy on generated films with known speech, speed, memory.

Films (``scenedet_speech.synth``): utterances by ``espeak-ng`` in eight languages and several
voice variants, with non-speech distractors in the pauses (music, applause-like noise, silence)
and a bed of music-like tones and pink noise under everything at 20, 10 and 0 dB SNR (the same
speech and distractors at each SNR). True speech is the clean speech track's activity, pauses
under 0.3 s bridged.

* accuracy: precision / recall / F1 of speech time on a 0.1 s grid, and of segment boundaries
  (starts matched to starts, ends to ends, one to one, within 0.5 s), on the evaluation films
  (seeds 1..N), with the plugin's defaults and with Silero's own defaults re-cut from the same
  saved probabilities (``resegment``, no second run);
* ``--tune``: a grid of the cutting options over a separate tuning set (seeds 101..), re-cut
  from saved probabilities, scored by the mean of time and boundary F1 over the three SNRs;
  prints the best and writes it into the results (the plugin's defaults,
  ``scenedet_speech.cutting.DEFAULTS``, are set from it by hand, never from the evaluation
  films);
* runtimes: the wheel's three models (the sequence ONNX graph the plugin uses, the streaming
  ONNX graph, TorchScript) on the same sound, time and largest difference;
* speed: ``scenedet.run`` end to end on a 60 s 720p H.264 + AAC film, decode included, with the
  ``--profile`` split; speech alone (only the sound is decoded) and speech + cues (one decode of
  the pictures and the sound);
* memory (``--minutes 60``): peak and over-time RSS (at each tenth of the run) of
  ``scenedet run -p speech`` on the 720p film repeated to 60 minutes by stream copy
  (``common.concat_film``), in a child process.

    python benchmarks/speech.py                    # accuracy, runtimes, speed (a few minutes)
    python benchmarks/speech.py --tune             # and the tuning grid
    python benchmarks/speech.py --minutes 60       # and memory on a 60-minute film
    python benchmarks/speech.py --films 2 --skip speed   # a quick look

Speed figures depend on the machine's load: rerun on a quiet machine before quoting them.
Prints Markdown tables and writes ``benchmarks/results/speech.json`` (the sections a run leaves
out are kept from the file's last run).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FILMS, RESULTS, concat_film, make_film, save, table  # noqa: E402

SNRS = (20, 10, 0)
SECONDS = 60
SILERO = {"threshold": 0.5, "release": 0.15, "min_speech": 0.25, "min_silence": 0.1,
          "padding": 0.03}
GRID = {"threshold": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8), "release": (0.1, 0.15, 0.25),
        "min_speech": (0.1, 0.25), "min_silence": (0.1, 0.2, 0.3, 0.5),
        "padding": (0.03, 0.1, 0.2)}


# -- scoring ---------------------------------------------------------------------------------
def prf(tp: int, n_true: int, n_found: int) -> dict[str, float]:
    p = tp / n_found if n_found else 1.0
    r = tp / n_true if n_true else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def time_scores(truth, found, duration: float, step: float = 0.1) -> dict[str, float]:
    """Speech time on a ``step`` grid: a bin is speech when its middle lies in a segment."""
    mids = np.arange(0, duration, step) + step / 2

    def mask(spans):
        m = np.zeros(len(mids), bool)
        for a, b in spans:
            m |= (mids >= a) & (mids < b)
        return m

    t, f = mask(truth), mask(found)
    return prf(int((t & f).sum()), int(t.sum()), int(f.sum()))


def _matched(truth: list[float], found: list[float], tolerance: float) -> int:
    """One-to-one matches within ``tolerance``, closest pairs first."""
    pairs = sorted((abs(a - b), i, j) for i, a in enumerate(truth) for j, b in enumerate(found)
                   if abs(a - b) <= tolerance)
    used_t, used_f, n = set(), set(), 0
    for _, i, j in pairs:
        if i not in used_t and j not in used_f:
            used_t.add(i)
            used_f.add(j)
            n += 1
    return n


def boundary_scores(truth, found, tolerance: float = 0.5) -> dict[str, float]:
    tp = (_matched([a for a, _ in truth], [a for a, _ in found], tolerance)
          + _matched([b for _, b in truth], [b for _, b in found], tolerance))
    return prf(tp, 2 * len(truth), 2 * len(found))


# -- films -----------------------------------------------------------------------------------
def films(seeds: list[int]) -> list[dict]:
    """Each seed's film at every SNR: path, truth and duration (written once, then reused)."""
    from scenedet_speech.synth import plan_sound, write_film

    out = []
    folder = FILMS / "speech"
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        for snr in SNRS:
            path = folder / f"speech-{seed}-{snr}dB.mp4"
            meta = path.with_suffix(".json")
            if not (path.exists() and meta.exists()):
                film = plan_sound(seed, SECONDS, snr)
                write_film(film, path.with_suffix(".tmp.mp4")).rename(path)
                meta.write_text(json.dumps({"speech": film.speech, "duration": film.duration,
                                            "distractors": film.distractors,
                                            "voices": film.voices}))
            out.append({"seed": seed, "snr": snr, "path": path, **json.loads(meta.read_text())})
    return out


def probabilities(film: dict) -> dict:
    """One run of the detector over ``film``: its saved probabilities and segments."""
    import scenedet

    doc = scenedet.run(film["path"], ["speech"]).documents()["speech"]
    return {"scores": doc["scores"], "segments": [(s["start"], s["end"]) for s in doc["segments"]],
            "fps": doc["fps"], "duration": doc["duration"],
            "score_start": doc["settings"]["score_start"]}


def recut(run: dict, options: dict) -> list[tuple[float, float]]:
    from scenedet_speech.detector import resegment

    return [(s.start, s.end) for s in resegment(run["scores"], fps=run["fps"],
                                                 duration=run["duration"],
                                                 score_start=run["score_start"], **options)]


def evaluate(set_films: list[dict], runs: list[dict], options: dict | None) -> dict:
    """Mean time and boundary scores per SNR (``options=None``: the run's own segments)."""
    by_snr: dict[int, list[dict]] = {}
    for film, run in zip(set_films, runs):
        found = run["segments"] if options is None else recut(run, options)
        truth = [tuple(s) for s in film["speech"]]
        row = {f"time_{k}": v for k, v in time_scores(truth, found, film["duration"]).items()}
        row.update({f"bound_{k}": v for k, v in boundary_scores(truth, found).items()})
        by_snr.setdefault(film["snr"], []).append(row)
    return {snr: {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
            for snr, rows in by_snr.items()}


def tune(tuning: list[dict], runs: list[dict]) -> tuple[dict, list[dict]]:
    """The grid's best options for the mean of (time F1 + boundary F1) / 2 over the three SNRs
    (at 20 and 10 dB alone the grid is flat within 0.005: 0 dB tells the options apart)."""
    rows = []
    for values in itertools.product(*GRID.values()):
        options = dict(zip(GRID, values))
        scores = evaluate(tuning, runs, options)
        objective = float(np.mean([(scores[s]["time_f1"] + scores[s]["bound_f1"]) / 2
                                   for s in SNRS]))
        rows.append({**options, "objective": objective,
                     **{f"time_f1_{s}dB": scores[s]["time_f1"] for s in SNRS}})
    rows.sort(key=lambda r: -r["objective"])
    return {k: rows[0][k] for k in GRID}, rows[:10]


# -- runtimes, speed, memory -------------------------------------------------------------------
def runtimes(film: dict) -> list[dict]:
    """The wheel's three models on the same 16 kHz sound: seconds and largest difference."""
    import importlib.util

    import onnxruntime as ort

    from scenedet_speech import model
    from scenedet_speech.synth import plan_sound, resample

    sound = resample(plan_sound(film["seed"], SECONDS, film["snr"]).sound, 48_000, 16_000)
    n = len(sound) // 512 * 512
    windows = sound[:n].reshape(-1, 512)
    rows = []
    vad = model.SileroVAD()
    start = time.perf_counter()
    sequence = np.concatenate([vad(windows[i:i + 256]) for i in range(0, len(windows), 256)])
    rows.append({"runtime": "ONNX Runtime, sequence graph (the plugin's)", "x realtime":
                 n / 16_000 / (time.perf_counter() - start), "max |diff|": 0.0})
    data = Path(importlib.util.find_spec("silero_vad").submodule_search_locations[0]) / "data"
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    stream = ort.InferenceSession(str(data / "silero_vad.onnx"), sess_options=options,
                                  providers=["CPUExecutionProvider"])
    state, context, out = np.zeros((2, 1, 128), np.float32), np.zeros((1, 64), np.float32), []
    start = time.perf_counter()
    for w in windows:
        x = np.concatenate([context, w[None]], axis=1)
        p, state = stream.run(None, {"input": x, "state": state, "sr": np.array(16_000)})
        out.append(float(p.reshape(-1)[0]))
        context = x[:, -64:]
    rows.append({"runtime": "ONNX Runtime, streaming graph (one window a call)", "x realtime":
                 n / 16_000 / (time.perf_counter() - start),
                 "max |diff|": float(np.abs(np.asarray(out) - sequence).max())})
    try:  # OpenVINO on the same sequence graph, in float32 (its CPU default is lower precision)
        import openvino as ov

        core = ov.Core()
        net = core.compile_model(core.read_model(str(data / model.MODEL)), "CPU",
                                 {"INFERENCE_NUM_THREADS": 1, "INFERENCE_PRECISION_HINT": "f32"})
        h, c, context, out = (np.zeros((1, 1, 128), np.float32), np.zeros((1, 1, 128), np.float32),
                              np.zeros(64, np.float32), [])
        start = time.perf_counter()
        for i in range(0, len(windows), 256):
            block = windows[i:i + 256]
            contexts = np.concatenate([context[None], block[:-1, -64:]])
            r = net({"input": np.concatenate([contexts, block], axis=1), "h": h, "c": c})
            out.append(r[net.output("speech_probs")].reshape(-1))
            h, c, context = r[net.output("hn")], r[net.output("cn")], block[-1, -64:]
        rows.append({"runtime": "OpenVINO, sequence graph, f32", "x realtime":
                     n / 16_000 / (time.perf_counter() - start),
                     "max |diff|": float(np.abs(np.concatenate(out) - sequence).max())})
    except ImportError:
        pass
    import torch

    torch.set_num_threads(1)
    jit = torch.jit.load(str(data / "silero_vad.jit"), map_location="cpu").eval()
    start = time.perf_counter()
    with torch.inference_mode():
        out = [float(jit(torch.from_numpy(w[None].copy()), 16_000)) for w in windows]
    rows.append({"runtime": "torch, TorchScript (one window a call)", "x realtime":
                 n / 16_000 / (time.perf_counter() - start),
                 "max |diff|": float(np.abs(np.asarray(out) - sequence).max())})
    return rows


def film_720p(seconds: int = SECONDS) -> Path:
    """A 720p film of ``common.make_film`` (x264 veryfast, CRF 23, textured panning picture,
    ~2.5 Mb/s) whose sound is evaluation film 1's at 20 dB; written once."""
    from scenedet_speech.synth import RATE, plan_sound

    assert RATE == 48_000  # make_film's sound rate
    return make_film(f"speech-720p-{seconds}s", seconds=seconds, width=1280, height=720,
                     sound=plan_sound(1, seconds, 20).sound)


def speed(path: Path, repeats: int) -> list[dict]:
    import scenedet

    rows = []
    for plugins in (["speech"], ["speech", "cues"]):
        best = None
        for _ in range(repeats):
            start = time.perf_counter()
            result = scenedet.run(path, plugins, profile=True, progress=False)
            wall = time.perf_counter() - start
            if best is None or wall < best[0]:
                best = (wall, result)
        wall, result = best
        duration = result.results["speech"].duration
        stages = {k: v["seconds"] for k, v in result.profile["stages"].items()}
        rows.append({"plugins": " + ".join(plugins), "film_s_per_s": duration / wall,
                     "wall_s": wall, "profile": stages})
    rows.append(cli_speed(path, repeats))
    return rows


def cli_speed(path: Path, repeats: int) -> dict:
    """``scenedet run -p speech`` as a command: the process's start (Python, scenedet, the
    torch stack the core imports) included."""
    import tempfile

    best = None
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "scenedet", "run", "-p", "speech", str(path),
                            "-q", "-o", str(Path(tmp) / "speech.json")], check=True)
            wall = time.perf_counter() - start
            best = wall if best is None else min(best, wall)
        duration = json.loads((Path(tmp) / "speech.json").read_text())["duration"]
    return {"plugins": "speech (command line)", "film_s_per_s": duration / best, "wall_s": best,
            "profile": {}}


CHILD = """
import json, resource, sys, time
import scenedet
start = time.perf_counter()
doc = scenedet.run(sys.argv[1], ["speech"], progress=False).documents()["speech"]
print(json.dumps({"wall_s": time.perf_counter() - start, "duration": doc["duration"],
                  "segments": len(doc["segments"]), "scores": len(doc["scores"]),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def memory(minutes: int) -> dict:
    """Peak RSS of a child process running speech over the film repeated to ``minutes``, and
    its RSS sampled every 0.5 s (at each tenth of the run: flat memory is a flat row)."""
    path = concat_film(film_720p(), minutes, f"speech-720p-{minutes}min")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    samples = []
    while child.poll() is None:
        try:
            with open(f"/proc/{child.pid}/status") as status:
                rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
            samples.append(rss / 1024)
        except (OSError, StopIteration):
            pass
        time.sleep(0.5)
    out = json.loads(child.stdout.read().strip().splitlines()[-1])
    out["command_line"] = cli_speed(path, 1)
    at = {"rss_by_tenth_mb": [round(samples[min(len(samples) - 1, len(samples) * p // 10)])
                              for p in range(1, 11)]} if samples else {}
    return {"minutes": minutes, **out, **at, "film_s_per_s": out["duration"] / out["wall_s"]}


# -- main ------------------------------------------------------------------------------------
def accuracy_rows(scores: dict, label: str) -> list[dict]:
    return [{"options": label, "SNR": f"{snr} dB",
             **{k: round(v, 3) for k, v in scores[snr].items()}} for snr in SNRS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--films", type=int, default=6, help="evaluation films (seeds 1..N)")
    parser.add_argument("--tune", action="store_true", help="tune on seeds 101.. first")
    parser.add_argument("--tuning-films", type=int, default=4)
    parser.add_argument("--minutes", type=int, default=0, help="memory on a film this long")
    parser.add_argument("--repeats", type=int, default=2, help="speed: best of this many runs")
    parser.add_argument("--skip", default="", help="comma list of: accuracy,runtimes,speed")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    payload: dict = {"seconds_per_film": SECONDS, "snr_db": list(SNRS)}
    from scenedet.plugin import get_detector_spec

    defaults = {o.name: o.default for o in get_detector_spec("speech").options}
    payload["defaults"] = defaults
    if args.tune:
        tuning = films(list(range(101, 101 + args.tuning_films)))
        runs = [probabilities(f) for f in tuning]
        best, top = tune(tuning, runs)
        payload["tuning"] = {"seeds": [101, 100 + args.tuning_films], "best": best, "top": top}
        print("## tuning (seeds 101..): best", best)
        print(table(top, list(GRID) + ["objective"] + [f"time_f1_{s}dB" for s in SNRS]))
    if "accuracy" not in skip:
        evaluation = films(list(range(1, args.films + 1)))
        runs = [probabilities(f) for f in evaluation]
        rows = (accuracy_rows(evaluate(evaluation, runs, None), "plugin defaults")
                + accuracy_rows(evaluate(evaluation, runs, SILERO), "Silero's defaults"))
        payload["accuracy"] = rows
        payload["films"] = [{k: f[k] for k in ("seed", "snr", "duration", "voices",
                                               "distractors")} for f in evaluation]
        print(f"\n## accuracy ({args.films} films of {SECONDS} s per SNR)")
        print(table(rows, ["options", "SNR", "time_precision", "time_recall", "time_f1",
                           "bound_precision", "bound_recall", "bound_f1"]))
    if "runtimes" not in skip:
        rows = runtimes({"seed": 1, "snr": 20})
        payload["runtimes"] = rows
        print("\n## runtimes (60 s of sound, one thread)")
        print(table(rows, ["runtime", "x realtime", "max |diff|"]))
    if "speed" not in skip:
        rows = speed(film_720p(), args.repeats)
        payload["speed"] = rows
        print("\n## speed at 720p, decode included (measure on a quiet machine)")
        print(table(rows, ["plugins", "film_s_per_s", "wall_s"]))
        for r in rows:
            print(r["plugins"], {k: round(v, 2) for k, v in r["profile"].items()})
    if args.minutes:
        payload["memory"] = memory(args.minutes)
        print("\n## memory", payload["memory"])
    old = RESULTS / "speech.json"  # sections not run this time are kept from the last run
    kept = {k: v for k, v in json.loads(old.read_text()).items() if k != "machine"} \
        if old.exists() else {}
    print("\nwrote", save("speech", {**kept, **payload}))


if __name__ == "__main__":
    main()
