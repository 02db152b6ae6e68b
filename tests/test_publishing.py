"""Publishing: ``train_asa.py --push_to_hub`` uploads the model, its remote code, its feature recipe and its card.

Everything runs for real up to the network: ``Trainer``'s own ``create_repo`` / ``upload_folder`` calls reach a
stand-in Hub API that copies what would be uploaded (with ``Trainer``'s ignore patterns) into a folder. That folder
must then load with ``AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True)`` in a
fresh interpreter that never imports ``modeling_asa``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[1]


class _HubStandIn:
    """Records ``create_repo`` and copies ``upload_folder``'s files (after its ignore patterns) to ``store``."""

    def __init__(self, store: Path):
        self.store = store
        self.repos: list[str] = []
        self.uploads: list[dict] = []

    def create_repo(self, repo_id, token=None, private=None, exist_ok=False, **kwargs):
        self.repos.append(repo_id)
        return SimpleNamespace(repo_id=repo_id)

    def upload_folder(self, repo_id, folder_path, commit_message=None, ignore_patterns=None, **kwargs):
        from huggingface_hub.utils import filter_repo_objects

        root = Path(folder_path)
        files = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
        kept = sorted(filter_repo_objects(files, ignore_patterns=ignore_patterns))
        for name in kept:
            (self.store / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, self.store / name)
        self.uploads.append({"repo_id": repo_id, "files": kept, "message": commit_message})
        return SimpleNamespace(commit_url=f"https://huggingface.co/{repo_id}/commit/0")


@pytest.mark.slow
def test_push_to_hub_uploads_a_folder_that_loads_without_the_library(trained, tmp_path, monkeypatch):
    import transformers.trainer
    from conftest import TINY

    sys.path.insert(0, str(REPO))
    from modeling_asa import training as train_asa

    hub = _HubStandIn(tmp_path / "hub")
    monkeypatch.setattr(transformers.trainer, "hf_api", lambda: hub)
    output = tmp_path / "model"
    train_asa.main([
        *TINY, "--features_dir", str(trained["root"] / "features"), "--output_dir", str(output),
        "--branches", ",".join(trained["stages"]), "--push_to_hub", "true", "--hub_model_id", "someone/asa-tiny",
        "--hub_strategy", "end",
    ])  # fmt: skip
    assert hub.repos == ["someone/asa-tiny"]
    assert len(hub.uploads) == 1 and hub.uploads[0]["repo_id"] == "someone/asa-tiny"
    uploaded = set(hub.uploads[0]["files"])
    expected = {"config.json", "model.safetensors", "modeling_asa.py", "configuration_asa.py", "losses.py",
                "feature_recipe.json", "README.md", "asa_results.json"}  # fmt: skip
    assert expected <= uploaded, expected - uploaded
    assert not any(name.startswith("checkpoint-") for name in uploaded)
    card = (hub.store / "README.md").read_text(encoding="utf-8")
    assert card == (output / "README.md").read_text(encoding="utf-8")  # our card, not Trainer's generic one
    assert "qwk" in card.lower() and "w_ranksim" in card.lower().replace("-", "_")
    assert json.loads((hub.store / "feature_recipe.json").read_text())["stages"]

    probe = (
        "import json, sys, torch, transformers\n"
        f"m = transformers.AutoModelForSequenceClassification.from_pretrained({str(hub.store)!r}, "
        "trust_remote_code=True)\n"
        "assert not [k for k in sys.modules if k == 'modeling_asa' or k.startswith('modeling_asa.')], 'imported'\n"
        "print(json.dumps({'class': type(m).__name__, 'labels': m.config.num_labels,"
        " 'sum': float(sum(p.double().sum() for p in m.parameters()))}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                            check=False, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    from modeling_asa import AsaHybridForOrdinalClassification

    reference = AsaHybridForOrdinalClassification.from_pretrained(output)
    assert loaded["class"] == type(reference).__name__ and loaded["labels"] == reference.config.num_labels
    assert loaded["sum"] == pytest.approx(
        float(sum(p.detach().double().sum() for p in reference.parameters())), rel=1e-9
    )
