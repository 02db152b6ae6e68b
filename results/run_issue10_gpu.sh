#!/usr/bin/env bash
# Issue 10's grids on a lent GPU machine (the workplace's `device` tool), which has no datasets, no internet, and
# carries at most 64 MiB with the repository. Prepare here, in the repository root:
#   python scripts/pack_features.py pack ~/.cache/modeling_asa/features/speechocean762 .devfeat --pool 16   # 52 MB
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 -d .whl \
#       datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 coral-pytorch==1.4.0 soundfile cffi pycparser evaluate
#   (.devfeat and .whl in .git/info/exclude; ctc_heads/ and results/recipe/ set aside for the call: 57 MiB in all)
# then run there:  DEADLINE=450 bash results/run_issue10_gpu.sh   with .devfeat and .whl carried.
# It unpacks the features (train_asa.py --acoustic_downsample 16 then sees the same averages, rounded to float16),
# trains WORKERS (15) runs at a time on the GPU in run_issue10.sh's order (the paper's settings need unpooled frames
# and are skipped), stops at DEADLINE seconds, and leaves the finished runs in $OUT/runs.tgz, refreshed every 30 s
# so that a call cut short still returns them.
# State, 2026-12-04: not yet run to completion. Three tries spent this session's 15 device minutes: soundfile needed
# cffi; a symlinked `python` left the image's virtual environment; the third ran past its limit and returned nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
DEADLINE=${DEADLINE:-450}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT" /tmp/bin
export PYTHONUNBUFFERED=1
# a wrapper, not a symlink: a symlinked python does not find the image's virtual environment
printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v python3)" > /tmp/bin/python && chmod +x /tmp/bin/python
export PATH=/tmp/bin:$PATH
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD
{ date -u; nvidia-smi -L; nproc; python3 -c "import torch, transformers, datasets; print(torch.__version__, transformers.__version__, datasets.__version__)"; } > "$OUT/device.txt" 2>&1
FEATURES=$HOME/.cache/modeling_asa/features/speechocean762
if [ ! -d "$FEATURES" ]; then python3 scripts/pack_features.py unpack .devfeat "$FEATURES" > /tmp/unpack.log 2>&1 || { tail -3 /tmp/unpack.log; exit 1; }; fi
echo "features ready at $(( $(date +%s) - T0 )) s" >> "$OUT/device.txt"

collect() {  # the finished runs since the start, written beside $OUT and moved in whole
    find results -name asa_results.json -newer /tmp/stamp -printf '%h\n' | sort > /tmp/done.txt
    tar czf /tmp/runs.tgz -T /tmp/done.txt 2>/dev/null && mv /tmp/runs.tgz "$OUT/runs.tgz"
}
touch /tmp/stamp
USE_CPU=false PAPER_SETTINGS=0 WORKERS=${WORKERS:-15} setsid bash results/run_issue10.sh > /tmp/grid.log 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null && [ $(( $(date +%s) - T0 )) -lt "$DEADLINE" ]; do
    sleep 30
    collect
done
kill -KILL -- -"$pid" 2>/dev/null
collect
echo "stopped at $(( $(date +%s) - T0 )) s; finished runs: $(wc -l < /tmp/done.txt)" | tee -a "$OUT/device.txt"
grep -v "{'" /tmp/grid.log | tail -c 20000 | gzip > "$OUT/grid.log.gz"
