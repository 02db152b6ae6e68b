#!/usr/bin/env bash
# Issue 10 item 6: unseen questions from unseen speakers, the variant that keeps test_unknown's speakers out of train
# (train_asa.py --exclude_test_unknown_speakers true): the hybrid with CE + W-RankSim and the two pooled linear
# baselines, 5 seeds, Table 1's settings otherwise; then the comparison with Table 1's runs, where test_unknown shares
# speakers with train and test_unknown_unseen is its unseen-speaker subset. Resumable.
# Usage: bash results/unseen_speakers/run.sh   (SEEDS=0 narrows it)
set -euo pipefail
cd "$(dirname "$0")/../.."
FEATURES=${FEATURES:-$HOME/.cache/modeling_asa/features/speechocean762}
SEEDS=${SEEDS:-0,1,2,3,4}
COMMON=(--disable_tqdm true --save_strategy no --use_cpu "${USE_CPU:-true}" --exclude_test_unknown_speakers true)
python scripts/run_experiments.py --features_dir "$FEATURES" --output results/unseen_speakers/runs --grid hybrid \
    --seeds "$SEEDS" --metrics_only -- "${COMMON[@]}"
python scripts/run_experiments.py --features_dir "$FEATURES" --output results/unseen_speakers/baselines \
    --grid baselines --seeds "$SEEDS" --metrics_only -- "${COMMON[@]}" --learning_rate 1e-3
T1=results/table1
python scripts/compare_settings.py --reference "baseline content, train without them" \
    --splits dev,test_known,test_unknown,test_unknown_unseen --output results/unseen_speakers/table.md \
    "hybrid CE + W-RankSim, train without test_unknown's speakers=results/unseen_speakers/runs/ce_w_ranksim_seed*" \
    "baseline content, train without them=results/unseen_speakers/baselines/content_pooled_0_ce_none_seed*" \
    "baseline all branches, train without them=results/unseen_speakers/baselines/content+delivery+language_use_pooled_0_ce_none_seed*" \
    "hybrid CE + W-RankSim, whole train (Table 1)=$T1/runs/content+delivery+language_use_ce_w_ranksim_seed*" \
    "baseline content, whole train (Table 1)=$T1/baselines/content_pooled_0_ce_none_seed*"
