"""modeling_asa.metrics.stats: the mean ± std [CI] cells and the per-setting table every results script prints."""

from modeling_asa.metrics.stats import settings_table, summary_cell


def test_summary_cell_marks_missing_and_partial_values():
    assert summary_cell([]) == "-"
    assert summary_cell([0.5]) == "0.500"
    assert summary_cell([0.70, 0.74, 0.72]) == "0.720 ± 0.020 [±0.050]"
    assert summary_cell([0.70, 0.74], expected=3) == "0.720 ± 0.028 [±0.254] (n=2)"


def test_settings_table_rows_columns_and_runs_lacking_a_split():
    runs = [{"dev": {"qwk": 0.7}, "test": {"qwk": 0.6}}, {"dev": {"qwk": 0.8}}]
    table = settings_table({"a": runs, "b": runs[:1]}, ["dev", "test"], ["qwk"], count="seeds").splitlines()
    assert table[0] == "| setting | seeds | dev qwk | test qwk |"
    assert table[1] == "|---|---|---|---|"
    assert table[2].startswith("| a | 2 | 0.750 ± 0.071 [±") and table[2].endswith(" | 0.600 (n=1) |")
    assert table[3] == "| b | 1 | 0.700 | 0.600 |"
