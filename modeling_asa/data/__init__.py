"""Corpus contract for modeling_asa: load, validate and split an ASA corpus folder.

See :mod:`modeling_asa.data.corpus` for the folder layout and :mod:`modeling_asa.data.splits`
for the paper's train / dev / test_known / test_unknown split.
"""

from .corpus import (
    DEFAULT_LABEL_COLUMN,
    METADATA_FILE,
    QUESTIONS_FILE,
    RATER_LABEL,
    RATER_RULES,
    REQUIRED_COLUMNS,
    Corpus,
    CorpusError,
    CorpusProblem,
    apply_rater_rule,
    format_problems,
    label_warnings,
    load_corpus,
    read_questions,
    validate_corpus,
)
from .splits import (
    SPLIT_COLUMN,
    SPLIT_NAMES,
    assign_splits,
    load_assignment,
    save_assignment,
    split_counts,
    split_dataset,
)

__all__ = [
    "DEFAULT_LABEL_COLUMN",
    "METADATA_FILE",
    "QUESTIONS_FILE",
    "RATER_LABEL",
    "RATER_RULES",
    "REQUIRED_COLUMNS",
    "SPLIT_COLUMN",
    "SPLIT_NAMES",
    "Corpus",
    "CorpusError",
    "CorpusProblem",
    "apply_rater_rule",
    "assign_splits",
    "format_problems",
    "label_warnings",
    "load_assignment",
    "load_corpus",
    "read_questions",
    "save_assignment",
    "split_counts",
    "split_dataset",
    "validate_corpus",
]
