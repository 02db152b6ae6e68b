"""collator.tensor_format: feature arrays read as tensors give the collator the same batch, other columns untouched."""

import torch

from modeling_asa.collator import AsaDataCollator, tensor_format
from modeling_asa.synthetic import make_synthetic_features


def test_tensor_format_gives_the_same_batch_and_keeps_other_columns():
    data, questions = make_synthetic_features(num_examples=40, seed=5)
    plain = data["train"]
    fast = tensor_format(plain)
    rows_plain, rows_fast = [plain[i] for i in range(8)], fast.__getitems__(list(range(8)))
    assert isinstance(rows_fast[0]["acoustic_features"], torch.Tensor)
    assert not isinstance(rows_plain[0]["acoustic_features"], torch.Tensor)
    for key in plain.column_names:  # labels, ids and text stay as they were
        if not key.endswith("_features"):
            assert rows_fast[0][key] == rows_plain[0][key] and type(rows_fast[0][key]) is type(rows_plain[0][key])
    collate = AsaDataCollator(question_features=questions)
    a, b = collate(rows_plain), collate(rows_fast)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
