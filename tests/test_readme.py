"""The README is for users: every Python block runs verbatim after a (tiny) main job, and it stays short."""

import contextlib
import io
import re
import shutil
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_is_short_and_undated():
    text = README.read_text()
    assert len(text.splitlines()) <= 300
    dated = [line for line in text.splitlines() if re.search(r"\b20\d\d-\d\d-\d\d\b", line)]
    assert len(dated) <= 5, dated


def test_every_python_block_runs(trained, tmp_path, monkeypatch):
    """The blocks read `outputs/gept-demo` and `demo_data/gept/...`, which `bash scripts/demo.sh` leaves; here the
    tiny trained model and one answer of its corpus stand in for them at the same paths."""
    import soundfile as sf

    shutil.copytree(trained["model"], tmp_path / "outputs" / "gept-demo")
    answer = tmp_path / "demo_data" / "gept" / "audio" / "T004" / "T004_D_P.flac"
    answer.parent.mkdir(parents=True)
    wave, rate = sf.read(min((trained["corpus"] / "audio").rglob("*.wav")))
    sf.write(answer, wave, rate)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 3
    for number, block in enumerate(blocks, 1):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            try:
                exec(compile(block, f"README.md python block {number}", "exec"), {"__name__": "__readme__"})  # noqa: S102
            except Exception as err:  # noqa: BLE001 - the block's own error, named
                pytest.fail(f"README python block {number} failed: {type(err).__name__}: {err}\n{block}")
        assert printed.getvalue().strip(), f"block {number} printed nothing"
