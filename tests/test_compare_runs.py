"""modeling_asa.tools.compare_runs: the demo's comparison table, read from run folders."""

import json

from modeling_asa.tools import compare_runs


def _run(folder, probabilities, references, qwk):
    folder.mkdir()
    (folder / "asa_results.json").write_text(json.dumps({"test_known": {"accuracy": 0.5, "macro_f1": 0.4, "qwk": qwk}}))
    lines = ["response_id,predicted,expected_score,prob_1,prob_2,prob_3,reference"]
    for i, (p, ref) in enumerate(zip(probabilities, references)):
        lines.append(f"r{i},0,0,{p[0]},{p[1]},{p[2]},{ref}")
    (folder / "predictions_test_known.csv").write_text("\n".join(lines) + "\n")


def test_table_adds_the_expected_score_qwk(tmp_path, capsys):
    references = [1, 2, 3, 3]
    # same argmax levels (1, 2, 2, 3) for both runs; only the second one's probabilities put answer 3 nearer 3
    _run(tmp_path / "a", [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]], references, 0.7)
    _run(tmp_path / "b", [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.0, 0.5, 0.5], [0.1, 0.1, 0.8]], references, 0.7)
    assert compare_runs.main([str(tmp_path / "a"), str(tmp_path / "b"), "--labels", "A,B"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| model | known content (n=4) acc | macro-F1 | QWK | QWK (expected) |"
    a, b = (line.split(" | ") for line in lines[2:4])
    assert a[1:4] == b[1:4] == ["0.500", "0.400", "0.700"]
    # b's expected level for answer 3 is 2.5 -> 3 (right), a's 2.0 -> 2: b's expected-score QWK is 1.0
    assert float(a[4].rstrip(" |")) < 1.0 and b[4] == "1.000 |"


def test_unfinished_run_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    assert compare_runs.main([str(tmp_path / "x")]) == 1
    assert (
        capsys.readouterr().err.strip()
        == f"compare_runs: {tmp_path / 'x'}: no asa_results.json (the run did not finish)"
    )


def test_malformed_predictions_are_a_one_line_error_naming_the_file_and_line(tmp_path, capsys):
    _run(tmp_path / "a", [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1]], [1, 4], 0.7)  # 4 is not one of the levels 1-3
    assert compare_runs.main([str(tmp_path / "a")]) == 1
    path = tmp_path / "a" / "predictions_test_known.csv"
    assert capsys.readouterr().err.strip() == (
        f"compare_runs: {path}, line 3: reference '4' is not one of the levels ['1', '2', '3']"
    )
    path.write_text("response_id,predicted\nr0,1\n")
    assert compare_runs.main([str(tmp_path / "a")]) == 1
    assert "not a train_asa.py predictions file" in capsys.readouterr().err
