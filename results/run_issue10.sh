#!/usr/bin/env bash
# Issue 10's grids in the order that keeps every table usable when the machine stops: seed by seed, Table 1 then the
# batch-size sweep (whose batch-16 runs are copied from Table 1's), then the paper's own settings (about 35 min a
# run). Resumable: each grid skips its finished runs, so re-running continues where it stopped.
# Usage: bash results/run_issue10.sh   (nohup ... & for a background job; FEATURES= another features folder)
set -euo pipefail
cd "$(dirname "$0")/.."
for seed in 0 1 2 3 4; do
    SEEDS=$seed bash results/table1/run.sh
    # unseen speakers on unseen questions (item 6): short runs (a tenth of the training answers), once Table 1's
    # seed-0 runs are there to compare with
    [ "$seed" = 0 ] && bash results/unseen_speakers/run.sh
    if [ "$seed" -le 2 ]; then
        SEEDS=$seed bash results/batch_size/run.sh
    fi
done
bash results/table1/run_paper_settings.sh
