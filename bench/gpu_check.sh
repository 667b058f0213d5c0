#!/usr/bin/env bash
# The speed issue's GPU checks as one script, run from the repository root on a CUDA machine:
# the CUDA tests, the benchmark table, and the seed's 40,001-step runs timed through train.py
# (random images of MNIST's shape: the GPU machine has no dataset). Results go to $OUT.
set -uo pipefail
status=0
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
OUT=${OUT:-/tmp/gpu-check}
RUNS=/tmp/gpu-check-runs
mkdir -p "$OUT" "$RUNS"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -m pytest -q -p no:cacheprovider tests/run/test_acceleration.py tests/core/test_layers.py \
  tests/run/test_checkpoint.py tests/core/test_step.py tests/core/stacking \
  > "$OUT/tests.txt" 2>&1 || status=1
tail -4 "$OUT/tests.txt"
python3 bench/speed.py device=cuda steps=500 rounds=3 | tee "$OUT/speed.md" || status=1
# The stacked launcher's per-run step against one run (README, "Many runs in one process").
python3 bench/stacked.py device=cuda ks=1,4,16,64 steps=200 rounds=3 | tee "$OUT/stacked.md" \
  || status=1
FAKE=("dataset.make_dataset._target_=tests.fakes.FakeMNIST" "+dataset.make_dataset.size=60000"
      "dataset.download=false")
for d in fc cnn; do
  python3 train.py discriminator=$d eval.every=0 train.print_every=20000 "${FAKE[@]}" \
    hydra.run.dir="$RUNS/$d" 2>&1 | grep -E "Epoch|Final|error|Error" | tail -3
  cp "$RUNS/$d/metrics.json" "$OUT/metrics_$d.json"
  python3 -c "import json; m = json.load(open('$OUT/metrics_$d.json')); \
print('$d: 40,001 steps, loop', round(m['loop_seconds'], 2), 's =', \
round(1e3 * m['loop_seconds'] / m['steps'], 3), 'ms/step, wall', round(m['wall_seconds'], 1), 's')"
done
# Evaluation on the GPU: 10,000 samples every 1,000 steps, logged like a CPU run's.
python3 train.py train.steps=2001 eval.every=1000 "${FAKE[@]}" hydra.run.dir="$RUNS/eval" \
  2>&1 | grep -E "Eval|error|Error"
python3 -c "import json; m = json.load(open('$RUNS/eval/metrics.json')); \
print('eval_seconds', round(m['eval_seconds'], 2), 'of loop', round(m['loop_seconds'], 2))"
exit $status
