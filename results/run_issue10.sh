#!/usr/bin/env bash
# Issue 10's grids in the order that keeps every table usable when the machine stops: seed by seed, Table 1 then the
# batch-size sweep (whose batch-16 runs are copied from Table 1's), then the paper's own settings (about 35 min a
# run). Resumable: each grid skips its finished runs, so re-running continues where it stopped.
# WORKERS (default 2) walk the same order at once, one torch thread each (OMP_NUM_THREADS = cores / WORKERS); each
# trains the runs no live worker has claimed. On this 2-core CPU two 1-thread workers train 1.31 times as many steps
# per second as one 2-thread job (2.72 against 2.07 hybrid steps/s, 2026-12-04); each run takes 1.5 times longer.
# Usage: nohup bash results/run_issue10.sh > issue10.log 2>&1 &   (WORKERS=1 for one job; FEATURES= another folder;
# USE_CPU=false trains on a GPU; results/run_issue10_gpu.sh runs it on a lent GPU machine)
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS=${WORKERS:-2}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(( $(nproc) / WORKERS > 0 ? $(nproc) / WORKERS : 1 ))}

# A grid that fails (its summary, when another worker's run of it is still training; or a run) is logged and the
# worker goes on: the grids are resumable, so a later pass picks up whatever is left.
grid() { "$@" || echo "run_issue10: '$*' failed (exit $?); going on" >&2; }

worker() {
    for seed in 0 1 2 3 4; do
        SEEDS=$seed grid bash results/table1/run.sh
        # unseen speakers on unseen questions (item 6): short runs (on speechocean762 a seventh of the train answers)
        if [ "$seed" = 0 ]; then grid bash results/unseen_speakers/run.sh; fi
        if [ "$seed" -le 2 ]; then SEEDS=$seed grid bash results/batch_size/run.sh; fi
    done
    # the paper's settings train on unpooled frames: not on a packed features folder (PAPER_SETTINGS=0 skips them)
    if [ "${PAPER_SETTINGS:-1}" = 1 ]; then grid bash results/table1/run_paper_settings.sh; fi
}

for i in $(seq 1 "$WORKERS"); do
    worker 2>&1 | sed -u "s/^/[worker $i] /" &
    sleep 10  # the first worker claims its first run before the next one starts looking
done
wait
