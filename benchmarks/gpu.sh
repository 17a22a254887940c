#!/usr/bin/env bash
# The GPU path, measured in one go (under 10 minutes on a 16-core H200 machine):
#   bash benchmarks/gpu.sh            # on a CUDA machine; refuses (exit 3) without CUDA
#   bash benchmarks/gpu.sh --quick    # CPU dry run, short films: checks the script, no GPU figures
#
# Uses $SCENEDET_PYTHON if set, else .venv/bin/python if it has torch, else makes .venv-gpu
# (python -m venv --system-site-packages, so a torch already installed with CUDA is reused) and
# installs the core and the kissing plugin only (no test extras). Generates its films in
# benchmarks/.films, prints the table and writes benchmarks/results/gpu.json
# (gpu-quick-cpu.json for --quick). See docs/performance.md, "GPU path".
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

pick_python() {
  if [[ -n "${SCENEDET_PYTHON:-}" ]]; then echo "$SCENEDET_PYTHON"; return; fi
  for py in .venv/bin/python .venv-gpu/bin/python; do
    if [[ -x $py ]] && $py -c "import torch, scenedet, scenedet_kissing" 2>/dev/null; then
      echo "$py"; return
    fi
  done
  local base=${PYTHON:-python3}
  echo "setting up .venv-gpu with $($base --version 2>&1)..." >&2
  $base -m venv --system-site-packages .venv-gpu >&2
  .venv-gpu/bin/python -m pip install --disable-pip-version-check -q -e . -e plugins/scenedet-kissing >&2
  echo .venv-gpu/bin/python
}

PY=$(pick_python)
echo "python: $PY ($(( $(date +%s) - start )) s to set up)"
$PY - <<'EOF'
import torch
print(f"torch {torch.__version__}, CUDA build {torch.version.cuda}, "
      f"cuda available: {torch.cuda.is_available()}"
      + (f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""))
EOF
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
echo "cores: $(nproc); scenedet run --decode-workers: $($PY -c 'import sys; sys.argv = ["scenedet", "run", "--help"]; from scenedet.cli import main; main()' 2>/dev/null | grep -q -- --decode-workers && echo yes || echo no)"

export SCENEDET_OFFLINE=1  # random:0 weights only: nothing to download
# rows that would end after 9m50s from this script's start are skipped (and listed as skipped)
export SCENEDET_GPU_DEADLINE=${SCENEDET_GPU_DEADLINE:-$(( start + 590 ))}
set +e
$PY benchmarks/gpu.py "$@"
rc=$?
set -e
echo "gpu.sh: $(( $(date +%s) - start )) s in all (exit $rc)"
exit $rc
