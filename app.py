"""The scoring web page as a Hugging Face Space (``python app.py``; Spaces run this file).

Environment:
    ASA_MODEL: the trained model folder (default ``outputs/gept-demo``, written by ``bash scripts/demo.sh``).
    ASA_QUESTIONS: the questions file for the picker (default ``demo_data/gept/questions.jsonl`` when it exists).

Relative paths are read from the current folder, else from this file's folder. The page is
:func:`modeling_asa.webapp.build_app`; ``asa-demo --model DIR`` serves the same page from a shell.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL = "outputs/gept-demo"
DEFAULT_QUESTIONS = "demo_data/gept/questions.jsonl"


def _find(path: str) -> Path:
    """``path`` as given when it exists, else relative to this file's folder (the repository root)."""
    given = Path(path).expanduser()
    return given if given.exists() or given.is_absolute() else HERE / given


def main() -> int:
    """Build the page from ``ASA_MODEL`` and ``ASA_QUESTIONS`` and serve it; 2 when the model folder is missing."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s - %(name)s - %(message)s")
    model = _find(os.environ.get("ASA_MODEL") or DEFAULT_MODEL)
    if not model.is_dir():
        print(f"app.py: no model folder at {model}: run bash scripts/demo.sh first, or set ASA_MODEL", file=sys.stderr)
        return 2
    questions = os.environ.get("ASA_QUESTIONS")
    if questions:
        questions = _find(questions)
    elif _find(DEFAULT_QUESTIONS).is_file():
        questions = _find(DEFAULT_QUESTIONS)
    from modeling_asa.webapp import serve

    return serve(model, questions, prog="app.py")  # Spaces set GRADIO_SERVER_NAME / GRADIO_SERVER_PORT


if __name__ == "__main__":
    sys.exit(main())
