"""The command line's surface: fast --help without torch, every default shown, one spelling across commands."""

import subprocess
import sys

import pytest

from modeling_asa.cli import build_prepare_parser, build_score_parser
from modeling_asa.webapp import build_parser as build_demo_parser

PARSERS = {"asa-prepare": build_prepare_parser, "asa-score": build_score_parser, "asa-demo": build_demo_parser}


def test_help_does_not_import_torch():
    """A console script's --help builds its parser from the light modules only (torch loads after parsing)."""
    code = (
        "import sys; sys.argv = ['asa-score']\n"
        "from modeling_asa.cli import build_prepare_parser, build_score_parser\n"
        "from modeling_asa.webapp import build_parser\n"
        "build_prepare_parser().format_help(); build_score_parser().format_help(); build_parser().format_help()\n"
        "heavy = [m for m in ('torch', 'transformers', 'datasets') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_console_script_help(command):
    result = subprocess.run([command, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.startswith(f"usage: {command}")


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_every_option_shows_its_default(command):
    parser = PARSERS[command]()
    for action in parser._actions:
        if not action.option_strings or action.required or action.nargs == 0 or action.dest == "help":
            continue  # positionals, required options and flags have no default to show
        text = action.help or ""
        assert "default" in text, f"{command} {action.option_strings[0]}: help shows no default"


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_options_are_kebab_case_and_underscores_are_accepted(command):
    parser = PARSERS[command]()
    names = [name for action in parser._actions for name in action.option_strings if name.startswith("--")]
    assert all("_" not in name for name in names), names
    required = {"asa-prepare": ["corpus", "--output", "out"], "asa-score": ["--model", "m", "a.wav"],
                "asa-demo": ["--model", "m"]}[command]  # fmt: skip
    dashed = parser.parse_args([*required, "--log-level", "ERROR"])
    underscored = parser.parse_args([*required, "--log_level=ERROR"])
    assert dashed.log_level == underscored.log_level == "ERROR"


def test_option_values_are_written_once():
    """The light settings module is the one definition; the self-contained aligner code (it travels with the
    aligner folders as remote code) keeps its own copy, which must agree."""
    import modeling_asa
    from modeling_asa.ctc.configuration_whisper_ctc import ACOUSTIC_WINDOWS
    from modeling_asa.features.runner import PrepareSettings
    from modeling_asa.settings import ACOUSTIC_WINDOWS as SETTINGS_WINDOWS
    from modeling_asa.settings import PrepareSettings as Settings

    assert ACOUSTIC_WINDOWS == SETTINGS_WINDOWS and PrepareSettings is Settings
    assert set(modeling_asa.__all__) == {*modeling_asa._EXPORTS, "__version__", "load"}


def test_portable_recipe_names_every_option_of_a_shared_folder(tmp_path):
    """One local folder serving several options (Whisper-base: content encoder and recogniser) is recorded for each,
    by name, with no absolute path left in the recipe; a Hub id stays as it is."""
    import json

    from modeling_asa.features.recipe import portable_recipe

    whisper = tmp_path / "models" / "whisper-base"
    whisper.mkdir(parents=True)
    (whisper / "config.json").write_text("{}")
    recipe = {
        "format": 1,
        "stages": {
            "content": {"acoustic_encoder": str(whisper)},
            "recognition": {"recognizer": str(whisper), "backend": "auto"},
            "delivery": {"ctc_model": "facebook/wav2vec2-base-960h", "content_encoder": str(whisper)},
        },
    }
    out = portable_recipe(recipe, folder=tmp_path / "model")
    assert set(out["local_models"]) == {"acoustic_encoder", "recognizer"}
    assert out["local_models"]["recognizer"]["name"] == "whisper-base"
    assert out["local_models"]["recognizer"]["relative_path"] == "../models/whisper-base"
    assert out["stages"]["delivery"] == {"ctc_model": "facebook/wav2vec2-base-960h", "content_encoder": "whisper-base"}
    assert str(tmp_path) not in json.dumps(out)
