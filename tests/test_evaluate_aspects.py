"""modeling_asa.tools.evaluate_aspects: each aspect score against the hidden abilities, beside the holistic score."""

import csv
import json

import numpy as np
import pytest

from modeling_asa.tools.evaluate_aspects import evaluate_run, main


def _write(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def run_and_corpus(tmp_path):
    rng = np.random.default_rng(0)
    corpus, run = tmp_path / "corpus", tmp_path / "run"
    corpus.mkdir()
    run.mkdir()
    meta, predictions = [], []
    for i in range(40):
        delivery, content = rng.uniform(1, 5, size=2)
        meta.append({"response_id": f"r{i}", "delivery_ability": delivery, "content_ability": content})
        predictions.append({
            "response_id": f"r{i}", "predicted": 3, "expected_score": (delivery + content) / 2,
            "aspect_delivery": delivery + rng.normal(0, 0.1), "aspect_delivery_predicted": round(delivery),
            "aspect_delivery_reference": round(delivery),
            "aspect_content": rng.uniform(1, 5), "aspect_content_predicted": 3, "aspect_content_reference": 2,
        })  # fmt: skip
    _write(corpus / "metadata.csv", meta)
    _write(run / "predictions_test_known.csv", predictions[:20])
    _write(run / "predictions_test_unknown.csv", predictions[20:])
    return run, corpus


def test_aspect_scores_against_abilities(run_and_corpus):
    run, corpus = run_and_corpus
    result = evaluate_run(run, corpus, ["test_known", "test_unknown"])
    assert set(result) == {"delivery", "content"} and result["delivery"]["n"] == 40
    # the delivery score follows its ability closely, the holistic score only half as well; the content score is noise
    assert result["delivery"]["spearman_aspect"] > 0.95 > result["delivery"]["spearman_holistic"] > 0.4
    assert abs(result["content"]["spearman_aspect"]) < 0.4 and result["delivery"]["qwk"] == pytest.approx(1.0)


def test_command_line_table_and_errors(run_and_corpus, tmp_path, capsys):
    run, corpus = run_and_corpus
    assert main([str(run), str(run), "--corpus", str(corpus), "--output", str(tmp_path / "a.json")]) == 0
    table = capsys.readouterr().out
    assert "| delivery | 40 |" in table and "Spearman: aspect score vs ability" in table
    summary = json.loads((tmp_path / "a.json").read_text())["summary"]
    assert summary["delivery"]["runs"] == 2 and summary["delivery"]["gain_mean"] > 0
    assert main([str(run), "--corpus", str(corpus), "--splits", "dev"]) == 2
    assert "predictions_dev.csv: not found" in capsys.readouterr().err
