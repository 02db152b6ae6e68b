# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""A web page to score one recording with a trained model (Gradio): ``asa-demo`` and the Space's ``app.py``.

The page has a question picker (the questions of a corpus ``questions.jsonl``, or a question typed in), an audio
input (upload or microphone), a *Score* button, and the result: the predicted level, the expected score, the class
probabilities (bar chart), the transcript and the word timeline (words at their times, per-word pitch on the y-axis).
It loads :class:`~modeling_asa.scoring.AsaScorer` once and runs exactly the feature stages the model was trained with.

A recording that cannot be scored (unreadable or empty audio, no speech, no question for a model that reads it, any
error in a stage) shows one readable line on the page instead of a result; the exception goes to the log.

Gradio and matplotlib are an optional extra (``pip install "modeling_asa[demo]"``) imported only inside the
functions here, so ``import modeling_asa`` never imports them.

Example:
    >>> from modeling_asa.webapp import build_app
    >>> demo = build_app("outputs/gept-demo", questions="demo_data/gept/questions.jsonl")  # doctest: +SKIP
    >>> demo.launch()  # doctest: +SKIP

or from a shell: ``asa-demo --model outputs/gept-demo --questions demo_data/gept/questions.jsonl``.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .scoring import AsaScore, AsaScorer

logger = logging.getLogger(__name__)

GRADIO_MISSING = 'asa-demo needs gradio: pip install "modeling_asa[demo]"'
PITCH_FIELD = "pitch_mean_st"
"""The word timeline's y-axis: the word's mean F0 in semitones re 100 Hz (a delivery field)."""
MAX_LABEL = 14
"""Longest word label drawn on the timeline (longer ones end in an ellipsis)."""
LEVEL_ID = "asa-level"
"""``elem_id`` of the predicted-level box (``Predicted level: 3``, or the reason the recording was not scored)."""
LEVEL_PREFIX = "Predicted level:"
NOT_SCORED = "Could not score this recording:"
TITLE = "Automatic speech assessment"
LEVEL_WORDS = ("very limited", "limited", "adequate", "good", "very good")
"""How the page words a score by its place on the scale (lowest fifth to highest fifth)."""


def level_words(value: float, label_values: Sequence[Any]) -> str:
    """The rubric's words for a score on the model's scale (e.g. 3.2 on 1-5: "adequate")."""
    low, high = float(min(label_values)), float(max(label_values))
    position = 0.0 if high == low else (float(value) - low) / (high - low)
    return LEVEL_WORDS[min(len(LEVEL_WORDS) - 1, max(0, round(position * (len(LEVEL_WORDS) - 1))))]


def explain_expected(value: float, label_values: Sequence[Any]) -> str:
    """The expected score in plain words: where it lies between two levels."""
    low = max((v for v in label_values if v <= value), default=min(label_values))
    high = min((v for v in label_values if v >= value), default=max(label_values))
    if low == high or abs(value - round(value)) < 0.05:
        where = f"about level {round(value)}"
    else:
        where = f"between levels {low} and {high}, nearer {low if value - low < high - value else high}"
    return (
        f"Expected score: {value:.2f}: {where} ({level_words(value, label_values)}). It is the average of the "
        "levels, each weighted by how likely the model finds it."
    )


def aspects_text(aspects: Mapping[str, float | None], label_values: Sequence[Any]) -> str:
    """One line per rubric aspect: its score and the rubric's words."""
    lines = [
        f"- **{name.replace('_', ' ').capitalize()}**: {value:.2f} ({level_words(value, label_values)})"
        for name, value in aspects.items()
        if value is not None
    ]
    return ("\n\nEach aspect on its own:\n\n" + "\n".join(lines)) if lines else ""


class ScoringProblem(Exception):
    """A recording or question the page cannot score; its message is shown on the page as it is."""


def load_questions(
    questions: str | os.PathLike | Mapping[str, str] | Sequence[str | tuple[str, str]] | None,
) -> list[tuple[str, str]]:
    """The question picker's choices as ``(shown label, question text)`` pairs.

    Args:
        questions: A corpus ``questions.jsonl`` file (JSON lines with ``question_id`` and ``text``) or the corpus
            folder holding one, a ``question_id -> text`` mapping, a list of question texts (or of ``(label, text)``
            pairs), or ``None`` (no choices).

    Raises:
        CorpusError: The questions file is missing or malformed (every problem listed).
    """
    if questions is None:
        return []
    if isinstance(questions, (str, os.PathLike)):
        from .data import read_questions

        questions = read_questions(questions)
    if isinstance(questions, Mapping):
        return [(f"{qid}: {text}", str(text)) for qid, text in questions.items()]
    return [(str(q[0]), str(q[1])) if isinstance(q, tuple) else (str(q), str(q)) for q in questions]


def _needs_question(scorer: AsaScorer) -> bool:
    """Whether the model's recipe has a per-question stage (the content branch reads the question)."""
    return any(getattr(stage, "per_question", False) for stage in scorer.stages.values())


def _readable(message: str, audio: str | None) -> str:
    """One line, without the server-side temporary path of the upload (its file name is kept)."""
    text = " ".join(str(message).split())
    if audio:
        text = text.replace(str(audio), Path(audio).name)
    return text


def _new_figure(width: float, height: float) -> Figure:
    """A matplotlib figure on the Agg canvas (no pyplot state: safe in Gradio's worker threads)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def probability_figure(
    probabilities: Mapping[Any, float], predicted: Any = None, aspects: Mapping[str, float | None] | None = None
) -> Figure:
    """A bar chart of the class probabilities (the predicted class highlighted) and, for a model with aspect heads,
    a second small chart of each aspect's score on the same scale.

    Args:
        probabilities: Label value -> probability, in the model's class order.
        predicted: The predicted label value.
        aspects: Aspect name -> expected score (``AsaScore.aspects``).
    """
    shown = {k: v for k, v in (aspects or {}).items() if v is not None}
    figure = _new_figure(8.5 if shown else 5.0, 2.8)
    axes = figure.add_subplot(1, 2, 1) if shown else figure.add_subplot()
    if shown:
        scale = [float(v) for v in probabilities]
        side = figure.add_subplot(1, 2, 2)
        names = [n.replace("_", " ") for n in shown]
        bars = side.barh(names, [v - min(scale) for v in shown.values()], left=min(scale), color="tab:green")
        side.bar_label(bars, labels=[f"{v:.1f}" for v in shown.values()], fontsize=8)
        side.set_xlim(min(scale), max(scale) + 0.3)
        side.invert_yaxis()
        side.set_xlabel("score")
        side.set_title("Each aspect")
    labels = [str(label) for label in probabilities]
    values = [float(p) for p in probabilities.values()]
    colours = ["tab:orange" if label == predicted else "tab:blue" for label in probabilities]
    bars = axes.bar(labels, values, color=colours)
    axes.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=8)
    axes.set_ylim(0, 1.1)
    axes.set_xlabel("level")
    axes.set_ylabel("how likely")
    axes.set_title("How likely each level is")
    return figure


def timeline_figure(words: Sequence[Mapping[str, Any]], pitch_field: str = PITCH_FIELD) -> Figure:
    """The word timeline: each word as a segment at its start-end time, at its pitch.

    Words without a pitch (unvoiced or unaligned) sit on a dashed baseline below the lowest pitch; labels longer
    than :data:`MAX_LABEL` characters are shortened.

    Args:
        words: :attr:`AsaScore.words <modeling_asa.scoring.AsaScore.words>` (``word``, ``start``, ``end`` and the
            raw delivery fields).
        pitch_field: The delivery field on the y-axis.
    """
    figure = _new_figure(9.0, 3.2)
    axes = figure.add_subplot()
    axes.set_title("Word timeline")
    axes.set_xlabel("time (s)")
    if not words:
        axes.text(0.5, 0.5, "No word timeline: this model has no delivery stage.", ha="center", va="center",
                  transform=axes.transAxes)  # fmt: skip
        axes.set_axis_off()
        return figure

    def pitch(word: Mapping[str, Any]) -> float | None:
        value = word.get(pitch_field)
        return float(value) if value is not None and math.isfinite(float(value)) else None

    pitches = [p for p in (pitch(w) for w in words) if p is not None]
    baseline = (min(pitches) - 2.0) if pitches else 0.0
    for word in words:
        start, end = float(word["start"]), float(word["end"])
        value = pitch(word)
        y, colour = (value, "tab:blue") if value is not None else (baseline, "tab:gray")
        axes.plot([start, max(end, start + 0.01)], [y, y], color=colour, linewidth=4, solid_capstyle="butt")
        text = str(word["word"])
        text = text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "\u2026"
        axes.annotate(text, ((start + end) / 2, y), xytext=(0, 5), textcoords="offset points", ha="center",
                      va="bottom", fontsize=8, rotation=30, color=colour)  # fmt: skip
    if len(pitches) < len(words):
        axes.axhline(baseline, color="tab:gray", linestyle="--", linewidth=0.8, label="no pitch")
        axes.legend(loc="upper right", fontsize=8)
    top = max(pitches) if pitches else baseline
    axes.set_ylim(baseline - 1.0, top + 3.0)
    axes.set_xlim(0.0, max(float(w["end"]) for w in words) + 0.2)
    axes.set_ylabel("voice pitch (higher up)" if pitch_field.endswith("_st") else pitch_field)
    return figure


class ScorePage:
    """The web page around one loaded [`AsaScorer`]: the scoring callback and the Gradio layout.

    Args:
        scorer: The loaded scorer.
        questions: The question picker's choices (see :func:`load_questions`).
        examples: ``(audio path, question text)`` pairs shown as clickable examples.
    """

    def __init__(
        self,
        scorer: AsaScorer,
        questions: str | os.PathLike | Mapping[str, str] | Sequence[str | tuple[str, str]] | None = None,
        examples: Sequence[tuple[str | os.PathLike, str]] | None = None,
    ):
        self.scorer = scorer
        self.choices = load_questions(questions)
        self.examples = [[os.fspath(audio), str(question)] for audio, question in (examples or [])]
        self.needs_question = _needs_question(scorer)

    # -- the callback --------------------------------------------------------------------------------------------

    def run(self, audio: str | None, question: str | None) -> AsaScore:
        """Score one recording.

        Args:
            audio: The recording's file path (Gradio's upload or microphone file).
            question: The question text (``None`` or blank: no question).

        Returns:
            The [`AsaScore`] (``error`` is never set).

        Raises:
            ScoringProblem: The recording or question cannot be scored (a readable one-line message).
        """
        if not audio:
            raise ScoringProblem("no recording: upload an audio file or record one with the microphone.")
        if not Path(audio).is_file():
            raise ScoringProblem(f"the recording {Path(audio).name} is not there any more; upload it again.")
        if self.needs_question and not question:
            raise ScoringProblem("no question: pick one or type it (this model scores the answer against it).")
        try:
            score = self.scorer.score(str(audio), question=question or None)
        except Exception as err:  # shown as one line on the page; the traceback goes to the log
            logger.exception("scoring %s failed", audio)
            raise ScoringProblem(_readable(f"{type(err).__name__}: {err}", audio)) from err
        if score.error:
            logger.warning("%s: %s", audio, score.error)
            raise ScoringProblem(_readable(score.error, audio))
        return score

    def score(
        self, audio: str | None, picked: str | None = None, typed: str | None = None
    ) -> tuple[str, str, Figure | None, str, Figure | None]:
        """The Score button's callback: never raises; a problem is shown in the level box.

        Args:
            audio: The recording's file path, or ``None``.
            picked: The question chosen in the picker (its text), or ``None``.
            typed: A question typed in; it wins over ``picked`` when not blank.

        Returns:
            ``(level, expected score, probability figure, transcript, word timeline figure)``: Markdown, Markdown, a
            matplotlib figure, text, a matplotlib figure; on a problem ``(message, "", None, "", None)``.
        """
        question = (typed or "").strip() or (picked or "").strip() or None
        try:
            result = self.run(audio, question)
            labels = self.scorer.label_values
            expected = (
                explain_expected(result.expected_score, labels) + aspects_text(result.aspects, labels)
                if result.expected_score is not None
                else "Expected score: n/a (the labels are not numbers)"
            )
            if result.flags:  # no level for an answer that cannot be scored: the reason, in plain words
                from .scorability import describe

                return (
                    f"**{NOT_SCORED}** {describe(result.flags)}.",
                    "",
                    None,
                    result.transcript or "",
                    timeline_figure(result.words),
                )
            return (
                f"### {LEVEL_PREFIX} {result.predicted}",
                expected,
                probability_figure(result.probabilities, result.predicted, result.aspects),
                result.transcript or "",
                timeline_figure(result.words),
            )
        except ScoringProblem as problem:
            return f"**{NOT_SCORED}** {problem}", "", None, "", None
        except Exception as err:  # e.g. a plotting error: one line on the page, traceback in the log
            logger.exception("showing the score of %s failed", audio)
            return f"**{NOT_SCORED}** {_readable(f'{type(err).__name__}: {err}', audio)}", "", None, "", None

    # -- the layout ----------------------------------------------------------------------------------------------

    def build(self, title: str = TITLE):
        """The Gradio page (``gradio.Blocks``); call ``.launch()`` on it.

        Element ids for scripts and browser tests: ``asa-question`` (picker), ``asa-question-text`` (typed
        question), ``asa-audio``, ``asa-score``, ``asa-level``, ``asa-expected``, ``asa-probabilities``,
        ``asa-transcript``, ``asa-timeline``.
        """
        import gradio as gr
        import matplotlib

        if "matplotlib.pyplot" not in sys.modules:  # Gradio's plot component imports pyplot: no GUI backend in a
            matplotlib.use("Agg")  # server (a notebook that already chose its backend keeps it; figures use Agg)
        labels = ", ".join(str(v) for v in self.scorer.label_values)
        with gr.Blocks(title=title) as demo:
            gr.Markdown(
                f"# {title}\nPick or type the question, upload or record the answer, and press **Score**. "
                f"The model predicts one of the levels {labels}."
            )
            with gr.Row():
                with gr.Column():
                    picked = gr.Dropdown(
                        choices=self.choices, value=None, label="Question", elem_id="asa-question",
                        info="The corpus's questions" if self.choices else "No questions file given: type one below",
                    )  # fmt: skip
                    typed = gr.Textbox(label="...or type a question", lines=2, elem_id="asa-question-text",
                                       placeholder="Used instead of the picked question when not empty")  # fmt: skip
                    audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Answer",
                                     elem_id="asa-audio")  # fmt: skip
                    button = gr.Button("Score", variant="primary", elem_id="asa-score")
                with gr.Column():
                    level = gr.Markdown(elem_id=LEVEL_ID)
                    expected = gr.Markdown(elem_id="asa-expected")
                    probabilities = gr.Plot(label="How likely each level is (and each aspect's score)", format="png",
                                            elem_id="asa-probabilities")  # fmt: skip
            transcript = gr.Textbox(label="What the recogniser heard", interactive=False, elem_id="asa-transcript")
            timeline = gr.Plot(label="The words heard, in time (height: voice pitch)", format="png",
                               elem_id="asa-timeline")  # fmt: skip
            if self.examples:
                gr.Examples(examples=self.examples, inputs=[audio, typed], label="Examples")
            button.click(
                self.score,
                inputs=[audio, picked, typed],
                outputs=[level, expected, probabilities, transcript, timeline],
                concurrency_limit=1,  # one scorer: one recording at a time
                api_name="score",
            )
        return demo


def build_app(
    model_dir: str | os.PathLike | AsaScorer,
    questions: str | os.PathLike | Mapping[str, str] | Sequence[str] | None = None,
    examples: Sequence[tuple[str | os.PathLike, str]] | None = None,
    device: str | None = None,
):
    """Load a trained model once and build its scoring page.

    Args:
        model_dir: A model folder written by ``train_asa.py`` (or a Hub id of one), or an already loaded
            [`AsaScorer`].
        questions: The question picker's choices: a ``questions.jsonl`` file (or its corpus folder), a
            ``question_id -> text`` mapping, or a list of texts.
        examples: ``(audio path, question text)`` pairs shown as clickable examples.
        device: ``cpu``, ``cuda``, ...; ``None`` picks CUDA when available.

    Returns:
        The page, a ``gradio.Blocks``; ``.launch()`` serves it.

    Raises:
        ImportError: Gradio is not installed.
        RecipeError: The model folder has no usable recipe.
        CorpusError: The questions file is missing or malformed.
    """
    import gradio  # noqa: F401 - fail before loading the model when the extra is missing

    from .scoring import AsaScorer

    choices = load_questions(questions)  # a bad questions file fails before the model loads
    scorer = model_dir if isinstance(model_dir, AsaScorer) else AsaScorer.from_pretrained(model_dir, device=device)
    return ScorePage(scorer, choices, examples).build()


def build_parser() -> argparse.ArgumentParser:
    """The ``asa-demo`` command line."""
    from .cli import ArgumentParser
    from .settings import LOG_LEVELS

    parser = ArgumentParser(
        prog="asa-demo",
        description="Serve a web page that scores a recording with a trained model (Gradio).",
    )
    parser.add_argument("--model", required=True, help="model folder written by train_asa.py (or a Hub id)")
    parser.add_argument(
        "--questions", default=None, help="questions.jsonl (question_id, text) for the picker (default: none)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=7860, help="port (default: %(default)s)")
    parser.add_argument("--share", action="store_true", help="also open a temporary public Gradio link")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: CUDA when available)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the cores available)")
    parser.add_argument("--log-level", default="WARNING", choices=LOG_LEVELS, help="(default: %(default)s)")
    return parser


def serve(
    model: str | os.PathLike,
    questions: str | os.PathLike | None = None,
    device: str | None = None,
    prog: str = "asa-demo",
    **launch: Any,
) -> int:
    """Build the page and serve it until interrupted: ``asa-demo`` and the Space's ``app.py``.

    Args:
        model: The model folder (or Hub id).
        questions: A ``questions.jsonl`` for the picker.
        device: ``cpu``, ``cuda``, ...
        prog: The command named in error lines.
        **launch: Arguments of ``gradio.Blocks.launch`` (server name, port, share).

    Returns:
        0 after the server stops, 2 (one line on stderr) when gradio, the model or the questions are missing, 130
        on Ctrl-C.
    """
    try:
        import gradio  # noqa: F401
    except ImportError:
        print(GRADIO_MISSING, file=sys.stderr)
        return 2
    from .data import CorpusError
    from .features.recipe import RecipeError

    try:
        demo = build_app(model, questions=questions, device=device)
    except (RecipeError, CorpusError, ValueError, OSError) as err:
        print(f"{prog}: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    try:
        demo.launch(**launch)
    except KeyboardInterrupt:
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``asa-demo`` (see :func:`serve` for the exit status)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level), format="%(levelname)s - %(name)s - %(message)s")
    logging.getLogger("ctc_segmentation").setLevel(logging.WARNING)
    import modeling_asa

    from .runtime import configure_threads

    modeling_asa.load()
    try:
        configure_threads(args.threads)
    except ValueError as err:
        print(f"asa-demo: {err}", file=sys.stderr)
        return 2
    return serve(args.model, args.questions, args.device, server_name=args.host, server_port=args.port,
                 share=args.share)  # fmt: skip


__all__ = [
    "GRADIO_MISSING",
    "LEVEL_ID",
    "MAX_LABEL",
    "NOT_SCORED",
    "PITCH_FIELD",
    "ScorePage",
    "ScoringProblem",
    "build_app",
    "build_parser",
    "load_questions",
    "main",
    "probability_figure",
    "serve",
    "timeline_figure",
]

if __name__ == "__main__":
    sys.exit(main())
