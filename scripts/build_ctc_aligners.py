#!/usr/bin/env python
"""Assemble the offline CTC aligners (Whisper encoder + CTC head). See modeling_asa.tools.build_ctc_aligners."""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

from modeling_asa.tools.build_ctc_aligners import main

if __name__ == "__main__":
    sys.exit(main(project_dir=REPO_ROOT))
