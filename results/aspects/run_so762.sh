#!/usr/bin/env bash
# Issue 37 on real expert aspects: speechocean762's accuracy, fluency, prosodic and completeness (0-10) as aspect
# heads beside the holistic `total` head, the hybrid with train_asa.py's defaults (CE + W-RankSim), 5 seeds; the
# same model without aspect heads is the so762_total grid's hybrid CE + W-RankSim run of each seed.
# The features: the total features plus the aspect columns (prepare_speechocean762.sh into another folder; with the
# total folder's stage cache hard-linked in, only the dataset is written again). Resumable.
# Usage: bash results/aspects/run_so762.sh   (SEEDS=0,1 for fewer)
set -euo pipefail
cd "$(dirname "$0")/../.."
TOTAL=${TOTAL:-$HOME/.cache/modeling_asa/features/speechocean762}
OUT=${OUT:-$HOME/.cache/modeling_asa/features/speechocean762-aspects}
SEEDS=${SEEDS:-0,1,2,3,4}
if [ ! -f "$OUT/features_metadata.json" ]; then
    mkdir -p "$OUT"
    [ -d "$OUT/cache" ] || { [ -d "$TOTAL/cache" ] && cp -al "$TOTAL/cache" "$OUT/"; }
    OUT="$OUT" bash scripts/prepare_speechocean762.sh --aspect-columns accuracy,fluency,prosodic,completeness
fi
python scripts/run_experiments.py --features_dir "$OUT" --output results/aspects/so762_runs --grid hybrid \
    --seeds "$SEEDS" --metrics_only -- --disable_tqdm true --save_strategy no --use_cpu true --threads 1
