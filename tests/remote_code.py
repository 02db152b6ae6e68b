"""Run a script in a fresh interpreter where ``modeling_asa`` cannot be imported (remote-code loading tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

BLOCK_PACKAGE = textwrap.dedent(
    """
    import importlib.abc, json, sys
    import torch

    class BlockPackage(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "modeling_asa" or name.startswith("modeling_asa."):
                raise ImportError("modeling_asa is blocked in this interpreter")
            return None

    sys.meta_path.insert(0, BlockPackage())
    try:
        import modeling_asa  # noqa: F401
        raise SystemExit("modeling_asa should not be importable here")
    except ImportError:
        pass
    """
)


def run_without_package(body: str, args: list[str], tmp_path: Path) -> dict:
    """Run ``body`` (after a prelude that blocks ``modeling_asa``) with ``args``; return its last stdout line as JSON.

    The interpreter runs offline, outside the checkout (no ``PYTHONPATH``), with its own modules cache, so a model
    folder loads only through the code saved in it (``trust_remote_code=True``).
    """
    script = tmp_path / "load_remote.py"
    script.write_text(BLOCK_PACKAGE + textwrap.dedent(body))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"), TRANSFORMERS_VERBOSITY="error")
    result = subprocess.run([sys.executable, str(script), *args], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
