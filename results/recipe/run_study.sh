#!/usr/bin/env bash
# The recipe study (issue 13): each setting cross-validated on the same speaker folds of train + dev
# (results/recipe/folds.json: 5 folds, seed 0, stratified by age band). No test split is read here.
# Resumable: a finished fold is skipped, so re-running continues where an interrupted run stopped.
# Usage: bash results/recipe/run_study.sh [SETTING ...]   (default: every setting, in the order below)
#   FOLDS=0,1,2 runs only those folds (planned for the hybrid settings, to fit the CPU budget).
# hybrid_pool4_layers reads features with every Whisper layer (FEATURES_LAYERS): copy the features folder, then
#   OUT=$FEATURES_LAYERS bash scripts/prepare_speechocean762.sh --acoustic-layers all   (recomputes the content stage only)
set -euo pipefail
cd "$(dirname "$0")/../.."
FEATURES=${FEATURES:-$HOME/.cache/modeling_asa/features/speechocean762}
FEATURES_LAYERS=${FEATURES_LAYERS:-$HOME/.cache/modeling_asa/features/speechocean762-layers}
OUT=results/recipe/runs
# No checkpoint selection inside a fold: the final model is scored, and the per-epoch curve chooses the epochs.
COMMON=(--load_best_model_at_end false --save_strategy no --disable_tqdm true)
declare -A SETTINGS=(
  # the floor: mean-pooled answer states (+ pooled question tokens) into a linear output layer
  # (--acoustic_downsample 1: as they ran, before train_asa.py's features default became 4)
  [baseline_linear]="--branches content --branch_encoder pooled --head_hidden_size 0 --learning_rate 1e-3 --num_train_epochs 10 --acoustic_downsample 1"
  # the floor with every branch pooled (delivery and language-use means next to the content)
  [baseline_linear_all]="--branch_encoder pooled --head_hidden_size 0 --learning_rate 1e-3 --num_train_epochs 10 --acoustic_downsample 1"
  # the README's hybrid recipe (H=512, pool 4, RAdam 2e-4, CE + W-RankSim), run for 10 epochs for the curve
  [hybrid_pool4]="--acoustic_downsample 4 --num_train_epochs 10"
  # factors, one at a time against hybrid_pool4
  [hybrid_pool4_balanced]="--acoustic_downsample 4 --num_train_epochs 10 --class_weighting balanced"
  [hybrid_pool16]="--acoustic_downsample 16 --num_train_epochs 10"
  [hybrid_pool4_lr5e-4_warmup]="--acoustic_downsample 4 --num_train_epochs 10 --learning_rate 5e-4 --warmup_steps 0.1"
  [hybrid_pool4_dropout0.3]="--acoustic_downsample 4 --num_train_epochs 10 --hidden_dropout_prob 0.3"
  # batches of similar length (a speed-up: less padding; it also changes which answers share a batch)
  [hybrid_pool4_grouped]="--acoustic_downsample 4 --num_train_epochs 10 --train_sampling_strategy group_by_length"
  # a learned weighted sum of the 7 Whisper-base layers instead of the last one (features: FEATURES_LAYERS)
  [hybrid_pool4_layers]="--acoustic_downsample 4 --num_train_epochs 10"
  # pool 16 matched pool 4 by CV at half the time per epoch, so it became the recipe; the remaining factors are
  # measured against it (hybrid_pool16), one at a time
  [hybrid_pool16_lr5e-4_warmup]="--acoustic_downsample 16 --num_train_epochs 10 --learning_rate 5e-4 --warmup_steps 0.1"
  [hybrid_pool16_dropout0.3]="--acoustic_downsample 16 --num_train_epochs 10 --hidden_dropout_prob 0.3"
  [hybrid_pool16_balanced]="--acoustic_downsample 16 --num_train_epochs 10 --class_weighting balanced"
  [hybrid_pool16_layers]="--acoustic_downsample 16 --num_train_epochs 10"
  # the floor on the same every-layer features (its mean-pooled states through the same learned layer sum)
  [baseline_linear_layers]="--branches content --branch_encoder pooled --head_hidden_size 0 --learning_rate 1e-3 --num_train_epochs 10 --acoustic_downsample 1"
  # bf16 autocast (this CPU has AVX512-BF16: scripts/benchmark_bf16.py, 1.72x on two encoder layers); a speed-up to check for
  # free like pooling: the weights stay float32, the losses' similarities are computed in float32
  [hybrid_pool16_bf16]="--acoustic_downsample 16 --num_train_epochs 10 --bf16 true --use_cpu true"
)
declare -A SETTING_FEATURES=([hybrid_pool4_layers]="$FEATURES_LAYERS" [hybrid_pool16_layers]="$FEATURES_LAYERS"
                             [baseline_linear_layers]="$FEATURES_LAYERS")
ORDER=(baseline_linear baseline_linear_all hybrid_pool4 hybrid_pool4_grouped hybrid_pool4_balanced hybrid_pool16
       hybrid_pool16_lr5e-4_warmup hybrid_pool16_dropout0.3 hybrid_pool16_bf16 hybrid_pool16_balanced
       hybrid_pool16_layers baseline_linear_layers)
[ $# -gt 0 ] && ORDER=("$@")
for name in "${ORDER[@]}"; do
  [ -n "${SETTINGS[$name]+x}" ] || { echo "run_study.sh: unknown setting $name; known: ${!SETTINGS[*]}" >&2; exit 2; }
  # shellcheck disable=SC2086
  python scripts/cross_validate.py --features_dir "${SETTING_FEATURES[$name]:-$FEATURES}" --folds_file results/recipe/folds.json \
    --output "$OUT/$name" ${FOLDS:+--only_folds "$FOLDS"} -- "${COMMON[@]}" ${SETTINGS[$name]}
done
python -m modeling_asa.tools.cross_validate "$OUT"/*/ --reference baseline_linear | tee results/recipe/table.md
