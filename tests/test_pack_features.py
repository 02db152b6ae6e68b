"""scripts/pack_features.py: a features folder packed with its frames pooled, unpacked, trains on the same averages."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import pack_features

from modeling_asa.features.store import load_features
from modeling_asa.modeling_asa import _downsample


def test_pool_frames_matches_the_models_masked_pooling():
    frames = np.random.default_rng(0).normal(size=(11, 3)).astype(np.float32)
    pooled = pack_features.pool_frames(frames, 4)
    expected, mask = _downsample(torch.from_numpy(frames)[None], torch.ones(1, 11, dtype=torch.long), 4)
    assert pooled.shape == (3, 3) and mask.tolist() == [[1, 1, 1]]
    np.testing.assert_allclose(pooled, expected[0].numpy(), rtol=1e-6)
    expanded = pack_features.expand_frames(pooled, 11, 4)
    assert expanded.shape == (11, 3)
    again, _ = _downsample(torch.from_numpy(expanded)[None], torch.ones(1, 11, dtype=torch.long), 4)
    np.testing.assert_allclose(again[0].numpy(), pooled, rtol=1e-6)


def test_pack_then_unpack_gives_the_same_pooled_features_and_everything_else_unchanged(trained, tmp_path):
    source = trained["root"] / "features"
    pack_features.main(["pack", str(source), str(tmp_path / "pack"), "--pool", "4"])
    assert not (tmp_path / "pack" / "dataset").exists()
    pack_features.main(["unpack", str(tmp_path / "pack"), str(tmp_path / "unpacked")])
    original, unpacked = load_features(source), load_features(tmp_path / "unpacked")
    assert unpacked.metadata["packed_from"]["pool"] == 4
    assert {k: v for k, v in unpacked.metadata.items() if k != "packed_from"} == original.metadata
    assert original.question_features.keys() == unpacked.question_features.keys()
    for qid, feats in original.question_features.items():
        np.testing.assert_array_equal(feats, unpacked.question_features[qid])
    assert list(original.dataset) == list(unpacked.dataset)
    for name in original.dataset:
        a, b = original.dataset[name], unpacked.dataset[name]
        assert a.features == b.features and len(a) == len(b)
        for column in a.column_names:
            if column == "acoustic_features":
                continue
            for x, y in zip(a[column], b[column]):
                np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=column)  # NaN equals NaN
        for x, y in zip(a["acoustic_features"], b["acoustic_features"]):
            assert x.shape == y.shape
            ones = torch.ones(1, len(x), dtype=torch.long)
            px, _ = _downsample(torch.from_numpy(x.astype(np.float32))[None], ones, 4)
            py, _ = _downsample(torch.from_numpy(y.astype(np.float32))[None], ones, 4)
            # the averages are rounded to float16 once more, nothing else changes
            np.testing.assert_allclose(py.numpy(), px.numpy(), rtol=2e-3, atol=2e-3)


def test_pack_and_unpack_refuse_to_overwrite_and_name_the_folder(trained, tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(SystemExit, match="out: already exists"):
        pack_features.main(["pack", str(trained["root"] / "features"), str(tmp_path / "out")])
    with pytest.raises(SystemExit, match="not a packed features folder"):
        pack_features.main(["unpack", str(tmp_path / "out"), str(tmp_path / "new")])
    with pytest.raises(SystemExit, match="not a features folder"):
        pack_features.main(["pack", str(tmp_path / "out"), str(tmp_path / "new")])
