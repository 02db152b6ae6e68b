"""The scoring web page (``modeling_asa.webapp``, ``asa-demo``, ``app.py``) on the tiny trained model of ``conftest``.

The fast tests call the page's Score callback directly: a good answer gives a level among the model's labels and its
figures; silent, garbage or missing audio, a missing question and an exception inside the scorer give one readable line
in the level box, never an exception. The browser test serves the page on a free localhost port and drives headless
Chromium with Selenium: pick a question, upload an answer, press Score, and read the level the page shows, which
must be the one :meth:`AsaScorer.score` gives for the same file and question. Its screenshot is kept in
``test-artifacts/webapp.png``.
"""

from __future__ import annotations

import ast
import logging
import os
import re
import shutil
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from modeling_asa import AsaScorer

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
LEVEL = re.compile(r"Predicted level:\s*(\S+)")


def _first_question(corpus: Path) -> tuple[str, str]:
    from modeling_asa.data import read_questions

    return next(iter(read_questions(corpus).items()))


def _answer(corpus: Path) -> Path:
    return min((corpus / "audio").rglob("*.wav"))


# The tiny recogniser says one word, and its fitted similarity floor is the minimum of a handful of answers: with the
# checks as fitted, most answers would be flagged. These tests are about the page; the flags have their own tests.
SCORE_EVERYTHING = {"min_words": 1, "min_speech_seconds": 0.0, "min_similarity": -1.0}


@pytest.fixture(scope="module")
def scorer(trained) -> AsaScorer:
    return AsaScorer.from_pretrained(trained["model"], device="cpu", thresholds=SCORE_EVERYTHING)


@pytest.fixture(scope="module")
def page(scorer, trained):
    pytest.importorskip("gradio")
    from modeling_asa.webapp import ScorePage

    return ScorePage(scorer, questions=trained["corpus"] / "questions.jsonl")


def test_importing_the_package_does_not_import_gradio():
    """gradio and matplotlib are an optional extra: imported inside functions only, and the package skips webapp."""
    tree = ast.parse((REPO / "modeling_asa" / "webapp.py").read_text())
    top_level = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    top_level |= {node.module.split(".")[0] for node in tree.body if isinstance(node, ast.ImportFrom) and node.module}
    assert not top_level & {"gradio", "matplotlib", "selenium"}
    assert "webapp" not in (REPO / "modeling_asa" / "__init__.py").read_text()


def test_asa_demo_without_gradio_says_how_to_install_it(monkeypatch, capsys):
    from modeling_asa.webapp import GRADIO_MISSING, main

    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio -> ImportError
    assert main(["--model", "/nowhere"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [GRADIO_MISSING]


def test_asa_demo_is_a_console_script():
    from importlib.metadata import entry_points

    from modeling_asa.webapp import build_parser

    assert [e.value for e in entry_points(group="console_scripts", name="asa-demo")] == ["modeling_asa.webapp:main"]
    args = build_parser().parse_args(["--model", "m", "--questions", "q.jsonl", "--share"])
    assert (args.host, args.port, args.share, args.questions) == ("127.0.0.1", 7860, True, "q.jsonl")


def test_app_py_names_the_missing_model_folder(monkeypatch, tmp_path, capsys):
    import runpy

    monkeypatch.setenv("ASA_MODEL", str(tmp_path / "no-model"))
    app = runpy.run_path(str(REPO / "app.py"))  # not __main__: defines main() only
    assert app["main"]() == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-model" in err[0] and "run bash scripts/demo.sh first, or set ASA_MODEL" in err[0]


def test_page_scores_a_good_answer(page, scorer, trained):
    from matplotlib.figure import Figure

    from modeling_asa.features.delivery import DELIVERY_FIELDS
    from modeling_asa.webapp import PITCH_FIELD

    assert PITCH_FIELD in DELIVERY_FIELDS

    qid, question = _first_question(trained["corpus"])
    assert (f"{qid}: {question}", question) in page.choices and page.needs_question
    audio = _answer(trained["corpus"])
    level, expected, probabilities, transcript, timeline = page.score(str(audio), picked=question)
    shown = LEVEL.search(level)
    assert shown, level
    reference = scorer.score(str(audio), question=question)
    assert shown.group(1) == str(reference.predicted) and reference.predicted in scorer.label_values
    assert expected.startswith(f"Expected score: {reference.expected_score:.2f}: ")
    assert "weighted by how likely" in expected  # the expected score in plain words
    for name, value in reference.aspects.items():  # each aspect with its score and the rubric's words
        assert f"**{name.capitalize()}**: {value:.2f} (" in expected
    assert transcript == reference.transcript and transcript
    assert isinstance(probabilities, Figure) and isinstance(timeline, Figure)
    bars = probabilities.axes[0].patches
    assert [round(b.get_height(), 6) for b in bars] == [round(p, 6) for p in reference.probabilities.values()]
    aspect_bars = probabilities.axes[1].patches  # the small chart of the aspects beside the level
    assert [round(b.get_x() + b.get_width(), 6) for b in aspect_bars] == [
        round(v, 6) for v in reference.aspects.values()
    ]
    segments = [line for line in timeline.axes[0].lines if line.get_label() != "no pitch"]
    assert len(segments) == len(reference.words) >= 1  # one segment per word, at its times
    (start, _), (y, _) = segments[0].get_data()
    assert start == pytest.approx(reference.words[0]["start"])
    if reference.words[0][PITCH_FIELD] is not None:
        assert y == pytest.approx(reference.words[0][PITCH_FIELD])
    # a typed question wins over the picked one
    typed = "Tell me about your favourite food."
    level, *_ = page.score(str(audio), picked=question, typed=typed)
    assert LEVEL.search(level).group(1) == str(scorer.score(str(audio), question=typed).predicted)


def test_page_gives_no_level_to_a_flagged_answer(trained):
    """An answer the non-scorable checks flag gets the reason in plain words instead of a level."""
    pytest.importorskip("gradio")
    from modeling_asa.scorability import FLAG_REASONS
    from modeling_asa.webapp import NOT_SCORED, ScorePage

    strict = AsaScorer.from_pretrained(
        trained["model"], device="cpu", thresholds={**SCORE_EVERYTHING, "min_words": 10**6}
    )
    page = ScorePage(strict, questions=trained["corpus"] / "questions.jsonl")
    _, question = _first_question(trained["corpus"])
    level, expected, probabilities, transcript, _ = page.score(str(_answer(trained["corpus"])), picked=question)
    assert level == f"**{NOT_SCORED}** {FLAG_REASONS['too_short']}." and not LEVEL.search(level)
    assert expected == "" and probabilities is None and transcript  # the words are still shown


def test_page_explains_what_it_cannot_score(page, trained, tmp_path):
    from modeling_asa.webapp import NOT_SCORED

    _, question = _first_question(trained["corpus"])
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, dtype=np.float32), 16000)
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF\x00\x00not audio at all" * 8)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    cases = {
        "silent": (str(silent), question, "silent.wav"),
        "garbage": (str(garbage), question, "garbage.wav"),
        "empty": (str(empty), question, "empty"),
        "no audio": (None, question, "no recording"),
        "gone": (str(tmp_path / "gone.wav"), question, "not there any more"),
        "no question": (str(_answer(trained["corpus"])), None, "no question"),
    }
    for name, (audio, picked, expect) in cases.items():
        level, expected, probabilities, transcript, timeline = page.score(audio, picked=picked)
        assert level.startswith(f"**{NOT_SCORED}**") and expect in level, (name, level)
        assert "\n" not in level and str(tmp_path) not in level, (name, level)  # one line, no server path
        assert (expected, probabilities, transcript, timeline) == ("", None, "", None), name


def test_an_exception_while_scoring_is_one_line_on_the_page_and_logged(page, trained, monkeypatch, caplog):
    from modeling_asa.webapp import NOT_SCORED

    def explode(*args, **kwargs):
        raise RuntimeError("the acoustic encoder ran out of memory\nwhile encoding")

    monkeypatch.setattr(page.scorer, "score", explode)
    with caplog.at_level(logging.ERROR, logger="modeling_asa.webapp"):
        level, *rest = page.score(str(_answer(trained["corpus"])), typed="Any question?")
    assert level == f"**{NOT_SCORED}** RuntimeError: the acoustic encoder ran out of memory while encoding"
    assert rest == ["", None, "", None]
    assert any(r.exc_info and "scoring" in r.getMessage() for r in caplog.records)


def test_build_app_gives_the_page_with_its_elements(scorer, trained):
    gr = pytest.importorskip("gradio")
    from modeling_asa.webapp import LEVEL_ID, build_app

    audio = _answer(trained["corpus"])
    demo = build_app(scorer, questions=trained["corpus"] / "questions.jsonl", examples=[(audio, "Describe it.")])
    assert isinstance(demo, gr.Blocks)
    ids = {getattr(block, "elem_id", None) for block in demo.blocks.values()}
    assert {LEVEL_ID, "asa-question", "asa-question-text", "asa-audio", "asa-score", "asa-timeline"} <= ids
    assert any(isinstance(block, gr.Dataset) for block in demo.blocks.values())  # the examples


# ------------------------------------------------------------------------------------------------ real browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _browser_missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return 'selenium is not installed (pip install "modeling_asa[demo]")'
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not (tool.is_file() and os.access(tool, os.X_OK)):
            return f"{tool} not found (apt-get install chromium chromium-driver)"
    return None


@pytest.mark.browser
def test_the_page_in_a_real_browser(scorer, trained, tmp_path, monkeypatch):
    """Pick a question, upload an answer, press Score: the page shows the scorer's level (and a screenshot is kept)."""
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    pytest.importorskip("gradio")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from modeling_asa.webapp import LEVEL_ID, build_app

    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    qid, question = _first_question(trained["corpus"])
    audio = _answer(trained["corpus"])
    expected = scorer.score(str(audio), question=question)
    assert expected.error is None, expected.error

    demo = build_app(trained["model"], questions=trained["corpus"] / "questions.jsonl", device="cpu")
    port = _free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1500"):
        options.add_argument(argument)
    driver = None
    screenshot = tmp_path / "webapp.png"
    try:
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
        wait = WebDriverWait(driver, 60)
        driver.get(f"http://127.0.0.1:{port}/")
        # the question picker: open it and click the corpus's first question
        picker = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#asa-question input")))
        picker.click()
        options_shown = wait.until(
            ec.visibility_of_all_elements_located((By.CSS_SELECTOR, "#asa-question li[data-testid='dropdown-option']"))
        )
        next(o for o in options_shown if o.get_attribute("aria-label") == f"{qid}: {question}").click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#asa-question input").get_attribute("value"))
        assert picker.get_attribute("value") == f"{qid}: {question}"
        # the answer: through the page's file input, then wait until the upload is on the server
        driver.find_element(By.CSS_SELECTOR, "#asa-audio input[type=file]").send_keys(str(audio))
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#asa-audio a[data-testid='download-link']")))
        driver.find_element(By.ID, "asa-score").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, LEVEL_ID), "Predicted level:"))
        shown = LEVEL.search(driver.find_element(By.ID, LEVEL_ID).text)
        shown_expected = driver.find_element(By.ID, "asa-expected").text
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#asa-timeline img")))
        driver.find_element(By.TAG_NAME, "body").click()  # close any open menu before the screenshot
        assert driver.save_screenshot(str(screenshot))
    finally:
        if driver is not None:
            driver.quit()
        demo.close()
    assert shown is not None and shown.group(1) == str(expected.predicted)
    assert f"Expected score: {expected.expected_score:.2f}" in shown_expected
    assert screenshot.is_file() and screenshot.stat().st_size > 0
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shutil.copyfile(screenshot, artifacts / "webapp.png")
    assert (artifacts / "webapp.png").stat().st_size > 0


def test_plain_words_for_scores():
    from modeling_asa.webapp import explain_expected, level_words

    assert level_words(1.0, [1, 2, 3, 4, 5]) == "very limited" and level_words(5, [1, 2, 3, 4, 5]) == "very good"
    assert level_words(5.0, list(range(11))) == "adequate"
    text = explain_expected(3.74, [1, 2, 3, 4, 5])
    assert text.startswith("Expected score: 3.74: between levels 3 and 4, nearer 4 (good).")
    assert "about level 2" in explain_expected(2.01, [1, 2, 3, 4, 5])
