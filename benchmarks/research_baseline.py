"""scenedet against the original research pipeline (amirziai/kissing-detector), side by side.

The original's inference path, re-implemented here from its description (none of its code is
copied) and run on the same film, machine and networks as ``scenedet``:

* video: OpenCV ``cv2.VideoCapture`` decodes EVERY frame with ``cap.read()``; one frame in
  ``floor(fps * 0.96)`` is kept (every 23rd at 24 fps), as a PIL image (OpenCV's BGR order, as the
  original, which never converts it), then resized/cropped to 224x224, ``ToTensor`` and
  ImageNet ``Normalize`` with torchvision, one frame at a time; all kept frames stay in a list;
* audio: moviepy ``VideoFileClip(film).audio.write_audiofile(<tmp>.wav)`` (44.1 kHz 16-bit, as
  moviepy writes by default), read back with soundfile as int16 / 32768, mixed to mono by the
  mean of the channels, resampled to 16 kHz with ``resampy`` and turned into 96x64 log-mel
  examples on a 0.96 s grid in NumPy, the AudioSet ``mel_features`` algorithm (STFT of 25 ms
  periodic-Hann frames every 10 ms, 512-point FFT magnitude, the mel-domain matrix of
  ``scenedet.media.logmel.mel_matrix``, ``log(mel + 0.01)``, 96-frame examples, hop 96);
* prediction: ResNet-18 (image) + VGGish (audio) + linear head on the concatenation, ONE example
  at a time (``model(audio[None], image[None])``, the original's ``Segmentor._predict``), argmax,
  without ``torch.no_grad`` (the original has none: with its ``feature_extract`` both networks
  are frozen and the head trainable, so autograd records the head's step), default memory
  layout, torch's default threads.

The original used its *training* transform at prediction (``RandomResizedCrop(224)`` +
``RandomHorizontalFlip``); this one is deterministic at the same cost: the centred
height-by-height square (about the average area a random crop reads at 720p) resized to 224
the same way (``resized_crop``, bilinear), and every other frame flipped.

The networks are scenedet's own (``resnet18`` and ``vggish`` backbones, ``random:0`` weights,
the seeded head of ``common.random_kissing_model``), so the model's arithmetic is the same on
both sides and only the pipeline differs. scenedet's rows time ``score_film`` as
``benchmarks/pipeline.py`` does (batch 16): with its defaults (backbones through the fastest
exact runtime, :mod:`scenedet.runtime`), with ``precision="auto"`` (bf16 guarded within 1e-3
on a CPU with native bf16), in torch eager (as before the runtime layer; every score
difference is measured from it) and with ``speedup="int8"``; the networks are converted
before the clock starts (the conversion is cached once per machine). Each row runs in
its own process, the three alternate, best of ``--repeats``; segmentation (cheap, and different
on each side) is not timed on either.

OpenCV, moviepy and resampy are the original's libraries, never scenedet's: install them for
this benchmark only (the script says so and exits 2 when they are missing):

    .venv/bin/python -m pip install opencv-python-headless moviepy resampy

    python benchmarks/research_baseline.py                # 10-minute 720p film, best of 2
    python benchmarks/research_baseline.py --seconds 60   # smoke run on a 1-minute film
    python benchmarks/research_baseline.py --threads 1    # both sides on one torch thread

Prints a Markdown table and writes ``benchmarks/results/research_baseline.json`` (full film,
default threads; a shorter film adds ``-<N>s`` to the name, ``--threads N`` adds ``-threadsN``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FILMS, make_film, random_kissing_model, save, table  # noqa: E402

INSTALL = ".venv/bin/python -m pip install opencv-python-headless moviepy resampy"
KEEP_EVERY_S = 0.96  # the original's "vggish_frame_rate": one still per VGGish example
IMAGE_SIZE = 224
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
KINDS = ("original", "scenedet", "scenedet-auto", "scenedet-torch", "scenedet-int8")
#: scenedet's rows: (runtime, precision, speedup). "scenedet" is the defaults (the fastest exact
#: runtime, fp32); "scenedet-torch" runs the backbones in torch eager (the reference of every
#: score difference), as scenedet did before its runtime layer.
SCENEDET = {"scenedet": ("auto", "fp32", "none"), "scenedet-auto": ("auto", "auto", "none"),
            "scenedet-torch": ("torch", "fp32", "none"), "scenedet-int8": ("torch", "fp32", "int8")}


def missing_libraries() -> list[str]:
    """The original's libraries that cannot be imported here (pip names)."""
    import importlib.util

    wanted = {"cv2": "opencv-python-headless", "moviepy": "moviepy", "resampy": "resampy",
              "torchvision": "torchvision"}
    return [pip for module, pip in wanted.items() if importlib.util.find_spec(module) is None]


# -- the original's way --------------------------------------------------------------------------

def original_stills(film: str) -> list:
    """Every frame decoded by OpenCV; one in floor(fps * 0.96) transformed and kept (a list)."""
    import cv2
    from PIL import Image
    from torchvision.transforms import functional as F

    capture = cv2.VideoCapture(film)
    step = math.floor(capture.get(cv2.CAP_PROP_FPS) * KEEP_EVERY_S)
    stills = []
    while capture.isOpened():
        index = capture.get(cv2.CAP_PROP_POS_FRAMES)
        ok, frame = capture.read()
        if not ok:
            break
        if index % step == 0:
            image = Image.fromarray(frame)  # BGR taken as RGB, as the original does
            side = min(image.width, image.height)
            image = F.resized_crop(image, (image.height - side) // 2, (image.width - side) // 2,
                                   side, side, [IMAGE_SIZE, IMAGE_SIZE])
            if len(stills) % 2:
                image = F.hflip(image)
            stills.append(F.normalize(F.to_tensor(image), MEAN, STD))
    capture.release()
    return stills


def original_examples(film: str):
    """moviepy's temporary WAV -> mono -> resampy to 16 kHz -> (N, 96, 64) log-mel examples."""
    import numpy as np
    import resampy
    import soundfile

    try:
        from moviepy.editor import VideoFileClip  # moviepy 1.x, the original's
    except ImportError:
        from moviepy import VideoFileClip  # moviepy 2.x
    from scenedet.media.logmel import FFT, HOP, LOG_OFFSET, N_FRAMES, WINDOW, mel_matrix

    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "tmp.wav")
        clip = VideoFileClip(film)
        clip.audio.write_audiofile(wav)
        data, rate = soundfile.read(wav, dtype="int16")
        clip.close()
    samples = data / 32768.0
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    samples = resampy.resample(samples, rate, 16_000)
    frames = np.lib.stride_tricks.sliding_window_view(samples, WINDOW)[::HOP]
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW) / WINDOW)  # periodic
    magnitude = np.abs(np.fft.rfft(frames * hann, FFT))
    log_mel = np.log(magnitude @ mel_matrix() + LOG_OFFSET)
    n = (len(log_mel) - N_FRAMES) // N_FRAMES + 1
    return log_mel[:n * N_FRAMES].reshape(n, N_FRAMES, -1)


def original_model(model_path: Path):
    """ResNet-18 + VGGish + linear, called as ``model(audio, image)``; frozen as the original."""
    import torch

    import scenedet
    from scenedet.inference.modelfile import load_model_file

    class Original(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = scenedet.create_backbone("resnet18", weights="random:0")
            self.vggish = scenedet.create_backbone("vggish", weights="random:0")
            self.combined = torch.nn.Linear(640, 2)

        def forward(self, audio, image):
            c, a = self.conv(image), self.vggish(audio)
            return self.combined(torch.cat((c.view(c.size(0), -1), a.view(a.size(0), -1)), 1))

    model = Original()
    model.combined.load_state_dict(load_model_file(model_path).head_state)
    for p in [*model.conv.parameters(), *model.vggish.parameters()]:  # "feature_extract"
        p.requires_grad_(False)
    return model.eval()


def run_original(film: str, model_path: Path) -> tuple[int, float, dict[str, float]]:
    """Stills, then audio, then batch-1 predictions; the wall time and each step's share."""
    import torch

    model = original_model(model_path)
    clock = [time.perf_counter()]
    stills = original_stills(film)
    clock.append(time.perf_counter())
    examples = original_examples(film)
    clock.append(time.perf_counter())
    n = min(len(examples), len(stills))
    audio = [torch.from_numpy(examples[i][None]).float() for i in range(n)]
    predictions = [int(torch.max(model(audio[i][None], stills[i][None]), 1)[1][0])
                   for i in range(n)]
    clock.append(time.perf_counter())
    steps = dict(zip(("stills_s", "audio_s", "predict_s"),
                     (round(b - a, 2) for a, b in zip(clock, clock[1:]))))
    return len(predictions), clock[-1] - clock[0], steps


def run_scenedet(film: str, model_path: Path, kind: str) -> tuple[int, float]:
    """``score_film`` with the kind's runtime, precision and speed-up; the scores are saved
    beside the model (``<kind>.scores.npy``) for the parent to compare."""
    import numpy as np

    from scenedet.inference.model import build_scene_model
    from scenedet.inference.modelfile import load_model_file
    from scenedet.inference.pipeline import score_film

    runtime, precision, speedup = SCENEDET[kind]
    model = build_scene_model(load_model_file(model_path), "kissing")
    model.use_runtime(runtime)
    score_film(model, film, batch_size=16, stop_second=2, speedup="none")  # converted, cached
    start = time.perf_counter()
    scores = score_film(model, film, batch_size=16, speedup=speedup, precision=precision)
    wall = time.perf_counter() - start
    np.save(model_path.with_name(f"{kind}.scores.npy"), np.asarray(scores, np.float64))
    return len(scores), wall


def measure(kind: str, film: str, model_path: Path, threads: int | None) -> dict:
    import torch

    from scenedet.media.probe import probe

    if threads:
        torch.set_num_threads(threads)

    steps: dict[str, float] = {}
    if kind == "original":
        predictions, wall, steps = run_original(film, model_path)
    else:
        predictions, wall = run_scenedet(film, model_path, kind)
    seconds = probe(film).n_seconds
    # The Python process's own peak (ru_maxrss, KiB on Linux). moviepy's ffmpeg children are
    # left out: RUSAGE_CHILDREN reports the forked interpreter's RSS, not ffmpeg's.
    to_mb = 1 / 1024
    return {"pipeline": kind, "film_seconds": seconds, "predictions": predictions,
            "wall_s": round(wall, 2), "rate": seconds / wall,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * to_mb),
            **steps}


def child(kind: str, film: Path, model_path: Path, threads: int | None) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--film", str(film),
           "--model", str(model_path)] + (["--threads", str(threads)] if threads else [])
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{kind} run failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _scores(model_path: Path, kind: str):
    import numpy as np

    return np.load(model_path.with_name(f"{kind}.scores.npy"))


def _against(exact, got) -> dict:
    """The largest score difference from torch eager fp32, and whether the kissing scene's
    segments (its recipe's settings) are the same."""
    import numpy as np

    import scenedet
    from scenedet.plugin import get_scene

    recipe = get_scene("kissing")
    cut = dict(min_length=recipe.min_length, threshold=recipe.threshold,
               aggregator=recipe.aggregator, label_threshold=recipe.label_threshold)
    return {"max_score_diff": float(np.abs(got - exact).max()),
            "same_segments": scenedet.segment(got, **cut) == scenedet.segment(exact, **cut)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600, help="film length (default 600)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each pipeline (best kept)")
    parser.add_argument("--threads", type=int,
                        help="torch threads on both sides (default: torch's default)")
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--film", help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    missing = missing_libraries()
    if missing:
        print(f"research_baseline: the original's libraries are missing ({', '.join(missing)}); "
              f"install them for this benchmark only: {INSTALL}", file=sys.stderr)
        sys.exit(2)
    if args.child:
        print(json.dumps(measure(args.child, args.film, args.model, args.threads)))
        return

    name = "film-720p-10min" if args.seconds == 600 else f"film-720p-{args.seconds}s"
    print(f"film {name} (generated once, kept in benchmarks/.films)...", flush=True)
    film = make_film(name, seconds=args.seconds, width=1280, height=720)
    model_path = random_kissing_model(FILMS / "kissing-random.pt")
    load_before = os.getloadavg()
    runs: list[dict] = []
    for repeat in range(args.repeats):
        for kind in KINDS:
            runs.append({"repeat": repeat, **child(kind, film, model_path, args.threads)})
            print(runs[-1], flush=True)
    load_after = os.getloadavg()
    best = [max((r for r in runs if r["pipeline"] == kind), key=lambda r: r["rate"])
            for kind in KINDS]
    original = best[0]["rate"]
    exact = _scores(model_path, "scenedet-torch")
    for row in best:
        row["x_original"] = row["rate"] / original
        if row["pipeline"] in SCENEDET:
            row.update(_against(exact, _scores(model_path, row["pipeline"])))
        row["rates"] = [round(r["rate"], 2) for r in runs if r["pipeline"] == row["pipeline"]]
    print()
    print(table(best, ["pipeline", "film_seconds", "predictions", "wall_s", "rate", "x_original",
                       "peak_rss_mb", "max_score_diff", "same_segments", "rates"]))
    print(f"\nload average before {load_before}, after {load_after}; {os.cpu_count()} cores")
    suffix = ("" if args.seconds == 600 else f"-{args.seconds}s") + \
        (f"-threads{args.threads}" if args.threads else "")
    path = save("research_baseline" + suffix,
                {"threads": args.threads, "film": {"name": film.name, "seconds": args.seconds, "width": 1280,
                          "height": 720, "fps": 24},
                 "repeats": args.repeats, "rows": best, "runs": runs,
                 "load_before": load_before, "load_after": load_after,
                 "cores": os.cpu_count()})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
