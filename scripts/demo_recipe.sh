# The main job's model (sourced by scripts/demo.sh and the results/ scripts that measure it): a smaller hybrid than
# the paper's (one 128-wide layer per branch, Whisper frames pooled by 8, lr 1e-3), chosen on the demo's dev split
# (dev QWK 0.66 over seeds 0-1 against 0.58 for the real-data settings, 5x faster).
# shellcheck disable=SC2034  # used by the scripts that source this file
DEMO_MODEL=(--acoustic_downsample 8 --hidden_size 128 --intermediate_size 256 --num_hidden_layers 1 --learning_rate 1e-3)
