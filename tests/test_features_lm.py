"""Tests for modeling_asa.features.lm (KenlmScorer), modeling_asa.tools.build_lm and scripts/build_kenlm.sh.

The unit tests score a hand-written bigram ARPA file and compare KenLM's numbers with values
computed by hand and with a plain-loop backoff reference written here. The integration tests need
the KenLM programs built by ``scripts/build_kenlm.sh`` (``.cache/kenlm/bin``) or the project's
offline English model (``.cache/lm/english-3gram.bin``) and skip with a reason when absent.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import math
import os
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from paths import ENGLISH_LM, REPO_ROOT

from modeling_asa.features.lm import KenlmScorer, LanguageModelError, normalize_text
from modeling_asa.tools import build_lm

BUILD_LM = REPO_ROOT / "scripts" / "build_lm.py"
BUILD_KENLM = REPO_ROOT / "scripts" / "build_kenlm.sh"
KENLM_BIN = REPO_ROOT / ".cache" / "kenlm" / "bin"

needs_kenlm = pytest.mark.skipif(
    importlib.util.find_spec("kenlm") is None, reason="the kenlm Python module is not installed (pip install kenlm)"
)
needs_lmplz = pytest.mark.skipif(
    not (KENLM_BIN / "lmplz").is_file() or not (KENLM_BIN / "build_binary").is_file(),
    reason=f"KenLM programs not built in {KENLM_BIN} (run scripts/build_kenlm.sh)",
)

# A bigram model written by hand: log10 probabilities and backoff weights.
UNIGRAMS = {  # word: (log10 p, log10 backoff)
    "<unk>": (-1.5, -0.1),
    "<s>": (-99.0, -0.5),
    "</s>": (-1.0, 0.0),
    "THE": (-0.7, -0.3),
    "CAT": (-1.2, -0.2),
    "SAT": (-1.3, -0.25),
    "DON'T": (-1.6, -0.15),
}
BIGRAMS = {  # (history, word): log10 p
    ("<s>", "THE"): -0.2,
    ("THE", "CAT"): -0.4,
    ("CAT", "SAT"): -0.3,
    ("SAT", "</s>"): -0.6,
    ("<s>", "DON'T"): -0.9,
}


def write_arpa(path: Path, lower: bool = False) -> Path:
    """Write :data:`UNIGRAMS`/:data:`BIGRAMS` as an ARPA file (vocabulary lower-cased if ``lower``)."""

    def w(token: str) -> str:
        return token.lower() if lower and not token.startswith("<") else token

    lines = ["\\data\\", f"ngram 1={len(UNIGRAMS)}", f"ngram 2={len(BIGRAMS)}", "", "\\1-grams:"]
    for word, (prob, backoff) in UNIGRAMS.items():
        lines.append(f"{prob}\t{w(word)}\t{backoff}" if word != "</s>" else f"{prob}\t{word}")
    lines += ["", "\\2-grams:"]
    lines += [f"{prob}\t{w(h)} {w(word)}" for (h, word), prob in BIGRAMS.items()]
    lines += ["", "\\end\\", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def reference_scores(tokens: list[str]) -> list[float]:
    """Plain-loop backoff bigram scoring of upper-case tokens (OOV -> ``<unk>``), from ``<s>``."""
    out, history = [], "<s>"
    for token in tokens:
        word = token if token in UNIGRAMS else "<unk>"
        if (history, word) in BIGRAMS:
            out.append(BIGRAMS[(history, word)])
        else:
            out.append(UNIGRAMS[history][1] + UNIGRAMS[word][0])
        history = word
    return out


@pytest.fixture()
def arpa(tmp_path: Path) -> Path:
    return write_arpa(tmp_path / "tiny.arpa")


@pytest.fixture()
def scorer(arpa: Path) -> KenlmScorer:
    pytest.importorskip("kenlm", reason="the kenlm Python module is not installed (pip install kenlm)")
    return KenlmScorer(arpa)


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("text", "case", "expected"),
    [
        ("Don't -- it's well-known, 'tis 2024!", "upper", "DON'T IT'S WELL KNOWN TIS"),
        ("Café  au\tlait", "lower", "cafe au lait"),
        ("\u2018Hello\u2019, she said \u2014 it\u2019s late.", "upper", "HELLO SHE SAID IT'S LATE"),
        ("_very_ dogs' ...", "upper", "VERY DOGS"),
        ("-- 42 !", "upper", ""),
    ],
)
def test_normalize_text(text, case, expected):
    assert normalize_text(text, case) == expected


def test_normalize_text_bad_case():
    with pytest.raises(ValueError, match=r"case='title' is not one of \('upper', 'lower'\)"):
        normalize_text("x", case="title")


# --------------------------------------------------------------------------- scoring the hand-written ARPA


def test_word_scores_bigram_hits(scorer):
    scores = scorer.word_scores(["the", "cat", "sat"])
    assert scores.dtype == np.float32 and scores.shape == (3,)
    np.testing.assert_allclose(scores, [-0.2, -0.4, -0.3], atol=1e-6)


def test_word_scores_backoff(scorer):
    # CAT | <s>: no bigram -> backoff(<s>) + p(CAT) = -0.5 - 1.2; THE | CAT: -0.2 - 0.7.
    np.testing.assert_allclose(scorer.word_scores(["CAT", "THE"]), [-1.7, -0.9], atol=1e-6)
    assert scorer.sentence_score(["CAT", "THE"]) == pytest.approx(-1.7 - 0.9 + (-0.3 - 1.0), abs=1e-5)


def test_word_scores_oov(scorer):
    # DOG is OOV: backoff(THE) + p(<unk>) = -0.3 - 1.5; SAT | <unk>: backoff(<unk>) + p(SAT) = -0.1 - 1.3.
    words = ["the", "dog", "sat"]
    np.testing.assert_allclose(scorer.word_scores(words), [-0.2, -1.8, -1.4], atol=1e-6)
    np.testing.assert_array_equal(scorer.oov_mask(words), [False, True, False])
    assert "cat" in scorer and "dog" not in scorer


def test_word_scores_match_reference_loop(scorer):
    rng = random.Random(0)
    vocab = ["THE", "CAT", "SAT", "DON'T", "DOG", "MAT"]
    for _ in range(50):
        words = [rng.choice(vocab) for _ in range(rng.randint(1, 8))]
        np.testing.assert_allclose(scorer.word_scores(words), reference_scores(words), atol=1e-5, err_msg=str(words))


def test_apostrophe_and_case_insensitive_input(scorer):
    np.testing.assert_allclose(scorer.word_scores(["don't"]), [-0.9], atol=1e-6)
    np.testing.assert_array_equal(scorer.word_scores(["The", "CAT"]), scorer.word_scores(["the", "cat"]))


def test_lower_case_model(tmp_path):
    pytest.importorskip("kenlm", reason="the kenlm Python module is not installed (pip install kenlm)")
    lower = KenlmScorer(write_arpa(tmp_path / "lower.arpa", lower=True), case="lower")
    np.testing.assert_allclose(lower.word_scores(["The", "CAT", "sat"]), [-0.2, -0.4, -0.3], atol=1e-6)
    # The same words normalised to the wrong case are all OOV.
    wrong = KenlmScorer(tmp_path / "lower.arpa", case="upper")
    assert wrong.oov_mask(["the", "cat"]).all()


def test_multi_token_and_letterless_words(scorer):
    # "the-cat" -> THE CAT (one word, two tokens: summed); "--" and "42" have no letter -> NaN, not in history.
    scores = scorer.word_scores(["the-cat", "--", "sat", "42"])
    assert scores[0] == pytest.approx(-0.2 - 0.4, abs=1e-6)
    assert math.isnan(scores[1]) and math.isnan(scores[3])
    assert scores[2] == pytest.approx(-0.3, abs=1e-6)  # CAT SAT bigram: "--" was skipped
    np.testing.assert_array_equal(scorer.oov_mask(["the-cat", "--"]), [False, False])
    assert scorer.word_scores([]).shape == (0,)


def test_sentence_score_and_eos(scorer):
    words = ["the", "cat", "sat"]
    assert scorer.sentence_score(words) == pytest.approx(-0.2 - 0.4 - 0.3 - 0.6, abs=1e-5)
    assert scorer.sentence_score(words, eos=False) == pytest.approx(
        float(np.nansum(scorer.word_scores(words))), abs=1e-5
    )


def test_perplexity(scorer):
    result = scorer.perplexity(["the cat sat", "the dog sat", "!!"])
    total = (-0.2 - 0.4 - 0.3 - 0.6) + (-0.2 - 1.8 - 1.4 - 0.6)
    assert result["n_sentences"] == 2 and result["n_tokens"] == 8 and result["n_oov"] == 1
    assert result["perplexity"] == pytest.approx(10 ** (-total / 8), rel=1e-5)
    assert result["perplexity_no_oov"] == pytest.approx(10 ** (-(total + 1.8) / 7), rel=1e-5)
    assert result["oov_rate"] == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match="no sentence with a word"):
        scorer.perplexity(["--"])


def test_properties_and_string_input(scorer, arpa):
    assert scorer.order == 2 and scorer.path == arpa and scorer.case == "upper"
    assert "order=2" in repr(scorer)
    with pytest.raises(TypeError, match="list of words, not a string"):
        scorer.word_scores("the cat")


# --------------------------------------------------------------------------- errors


@needs_kenlm
def test_missing_file(tmp_path):
    missing = tmp_path / "nope.bin"
    with pytest.raises(FileNotFoundError, match=r"nope\.bin: language model file not found"):
        KenlmScorer(missing)
    with pytest.raises(FileNotFoundError, match="language model file not found"):
        KenlmScorer(tmp_path)  # a folder is not a model file


@needs_kenlm
def test_unreadable_file(tmp_path):
    bad = tmp_path / "bad.arpa"
    bad.write_text("this is not an ARPA file\n", encoding="utf-8")
    with pytest.raises(LanguageModelError, match=r"bad\.arpa: KenLM cannot read this language model \(.*\\data\\"):
        KenlmScorer(bad)


def test_bad_case_argument(arpa):
    with pytest.raises(ValueError, match="case='Upper' is not one of"):
        KenlmScorer(arpa, case="Upper")


def test_import_without_kenlm(arpa, monkeypatch):
    """Without kenlm the module still works up to loading a model, which says how to install it."""
    import modeling_asa.features.lm as lm_module

    assert "kenlm" not in vars(lm_module)  # imported lazily, never at module level
    monkeypatch.setitem(sys.modules, "kenlm", None)  # makes `import kenlm` raise ImportError
    with pytest.raises(ImportError, match=r"KenlmScorer needs the kenlm Python module: pip install kenlm"):
        KenlmScorer(arpa)


# --------------------------------------------------------------------------- tools.build_lm (no KenLM programs)


def test_split_sentences_and_gutenberg():
    text = (
        "The Project Gutenberg EBook of Something\r\n\r\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***\r\n\r\n"
        'CHAPTER I\r\n\r\nMr. Weston came at\r\nten. "Was it late?" asked Mrs. Weston.  It was!\r\n\r\n'
        "She smiled.\r\n\r\n*** END OF THIS PROJECT GUTENBERG EBOOK X ***\r\nlicence text."
    )
    sentences = list(build_lm.split_sentences(build_lm.strip_gutenberg_boilerplate(text)))
    assert sentences == ["Mr. Weston came at ten.", '"Was it late?" asked Mrs. Weston.', "It was!", "She smiled."]


def _r_int(value: int) -> bytes:
    return struct.pack(">i", value)


def _r_chars(text: str) -> bytes:
    raw = text.encode("utf-8")
    return _r_int(0x00040009) + _r_int(len(raw)) + raw


def _r_strings(values: list[str]) -> bytes:
    return _r_int(16) + _r_int(len(values)) + b"".join(_r_chars(v) for v in values)


def _r_named_list(items: dict[str, bytes], names_ref: bool) -> bytes:
    """A VECSXP with a ``names`` attribute; the ``names`` symbol is written once, then referenced."""
    symbol = _r_int((1 << 8) | 255) if names_ref else _r_int(1) + _r_chars("names")
    body = b"".join(items.values())
    return (
        _r_int(19 | 1 << 9) + _r_int(len(items)) + body
        + _r_int(2 | 1 << 10) + symbol + _r_strings(list(items)) + _r_int(254)
    )  # fmt: skip


def _r_serialize(item: bytes) -> bytes:
    return b"X\n" + _r_int(3) + _r_int(0x040201) + _r_int(0x030500) + _r_int(5) + b"UTF-8" + item


def test_read_r_lazy_data(tmp_path):
    """An R lazy-load database written here byte by byte (R's XDR format) is read back."""
    objects = {"book": ["First line of a book.", "Second line."], "other": ["Hello there."]}
    blob, offsets = b"", {}
    for name, lines in objects.items():
        data = _r_serialize(_r_strings(lines))
        chunk = struct.pack(">I", len(data)) + zlib.compress(data)
        offsets[name] = (len(blob), len(chunk))
        blob += chunk
    variables = {name: _r_int(13) + _r_int(2) + _r_int(off) + _r_int(n) for name, (off, n) in offsets.items()}
    index = _r_named_list(
        {
            "variables": _r_named_list(variables, names_ref=False),
            "references": _r_int(19) + _r_int(0),
            "compressed": _r_int(10) + _r_int(1) + _r_int(1),
        },
        names_ref=True,
    )
    (tmp_path / "Rdata.rdb").write_bytes(blob)
    (tmp_path / "Rdata.rdx").write_bytes(gzip.compress(_r_serialize(index)))
    assert build_lm.read_r_lazy_data(tmp_path) == objects
    sentences = list(build_lm.iter_raw_sentences(rdata_dirs=[tmp_path]))
    assert sentences == ["First line of a book.", "Second line.", "Hello there."]
    with pytest.raises(FileNotFoundError, match=r"Rdata\.rdx: R lazy-load database file not found"):
        build_lm.read_r_lazy_data(tmp_path / "missing")


def test_write_normalized_sentences(tmp_path):
    raw = ["We call it bear.", "It is not to be done!", "--", "Hello.", "One two three.", "Go home now."]
    stats = build_lm.write_normalized_sentences(
        raw,
        tmp_path / "train.txt",
        min_words=2,
        exclude=["it is NOT to be done"],
        heldout_every=2,
        heldout_path=tmp_path / "heldout.txt",
    )
    assert stats == {"read": 6, "written": 2, "words": 7, "too_short": 2, "excluded": 1, "heldout": 1}
    assert (tmp_path / "train.txt").read_text().splitlines() == ["WE CALL IT BEAR", "GO HOME NOW"]
    assert (tmp_path / "heldout.txt").read_text().splitlines() == ["ONE TWO THREE"]


def test_read_sentence_and_text_files(tmp_path):
    (tmp_path / "q.jsonl").write_text('{"text": "We call it bear"}\n\n{"text": "It is done"}\n', encoding="utf-8")
    assert build_lm.read_sentence_file(tmp_path / "q.jsonl") == ["We call it bear", "It is done"]
    (tmp_path / "bad.jsonl").write_text('{"prompt": "x"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1: no JSON field 'text'"):
        build_lm.read_sentence_file(tmp_path / "bad.jsonl")
    with gzip.open(tmp_path / "book.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write("It was late. She smiled.\n")
    assert list(build_lm.iter_raw_sentences([tmp_path / "book.txt.gz"])) == ["It was late.", "She smiled."]
    assert list(build_lm.iter_raw_sentences([tmp_path / "book.txt.gz"], sentence_per_line=True)) == [
        "It was late. She smiled."
    ]
    with pytest.raises(FileNotFoundError, match=r"none\.txt: text file not found"):
        build_lm.read_text_file(tmp_path / "none.txt")


def test_build_lm_cli_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        build_lm.parse_args(["--output", "x.arpa"])  # no text source
    with pytest.raises(build_lm.LmBuildError, match="KenLM program 'lmplz' not found in .*build_kenlm.sh"):
        build_lm.find_kenlm_program("lmplz", tmp_path)
    with pytest.raises(SystemExit, match="0"):
        build_lm.parse_args(["--help"])
    help_text = capsys.readouterr().out
    assert "--order" in help_text and "--case {upper,lower}" in help_text
    assert build_lm.main(["--text", str(tmp_path / "missing.txt"), "--output", str(tmp_path / "x.arpa"),
                          "--kenlm-bin", str(tmp_path)]) == 1  # fmt: skip


def test_find_kenlm_program_default_folder(tmp_path, monkeypatch):
    """Without --kenlm-bin the default folder is searched first, then PATH; the error names both."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(build_lm.LmBuildError, match=r"not found in .*default or PATH"):
        build_lm.find_kenlm_program("lmplz", default_kenlm_bin=tmp_path / "default")
    with pytest.raises(build_lm.LmBuildError, match=r"'lmplz' not found in PATH"):
        build_lm.find_kenlm_program("lmplz")
    program = tmp_path / "default" / "lmplz"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    assert build_lm.find_kenlm_program("lmplz", default_kenlm_bin=program.parent) == program
    with pytest.raises(build_lm.LmBuildError, match="not found in"):  # an explicit folder is searched alone
        build_lm.find_kenlm_program("lmplz", tmp_path, default_kenlm_bin=program.parent)


def test_build_lm_script_help():
    """The thin script keeps its command line; its help names the checkout's KenLM folder as the default."""
    proc = subprocess.run([sys.executable, str(BUILD_LM), "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--order" in proc.stdout and "--case {upper,lower}" in proc.stdout
    assert "kenlm/bin" in " ".join(proc.stdout.split())


def test_build_kenlm_names_missing_tools(tmp_path):
    """Without cmake/make/g++ on PATH, build_kenlm.sh fails and names them."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    hidden = {"cmake", "make", "g++", "c++"}
    for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            if name not in hidden and not (fake_bin / name).exists():
                (fake_bin / name).symlink_to(os.path.join(folder, name))
    env = {**os.environ, "PATH": str(fake_bin)}
    proc = subprocess.run(
        ["bash", str(BUILD_KENLM), "--prefix", str(tmp_path / "kenlm")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1
    assert "cannot build KenLM, missing" in proc.stderr
    assert "program 'cmake'" in proc.stderr and "program 'g++'" in proc.stderr
    assert proc.stdout == ""


# --------------------------------------------------------------------------- integration: real KenLM programs / model

CORPUS = [
    "we call it bear",
    "the cat sat on the mat",
    "the dog sat on the mat",
    "it is not to be done",
    "we went to the market on monday",
    "she likes to read books in the evening",
    "the children play football after school",
    "my brother has a new phone",
    "we call the dog max",
    "the cat likes the mat",
] * 3


@pytest.mark.integration
@needs_kenlm
@needs_lmplz
@pytest.mark.parametrize("suffix", [".arpa", ".bin"])
def test_build_lm_function(tmp_path, suffix):
    output = build_lm.build_lm(CORPUS, tmp_path / f"small{suffix}", order=3, memory="100M", kenlm_bin=KENLM_BIN)
    assert output.is_file() and output.stat().st_size > 0
    lm = KenlmScorer(output)
    assert lm.order == 3
    seen, scrambled = ["the", "cat", "sat", "on", "the", "mat"], ["mat", "the", "on", "sat", "cat", "the"]
    assert np.sum(lm.word_scores(seen)) > np.sum(lm.word_scores(scrambled))
    assert not lm.oov_mask(seen).any() and lm.oov_mask(["zebra"]).all()
    if suffix == ".arpa":
        assert output.read_text().startswith("\\data\\")


@pytest.mark.integration
@needs_kenlm
@needs_lmplz
def test_build_lm_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = tmp_path / "domain.txt"
    text.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    output, report, heldout = tmp_path / "domain.bin", tmp_path / "report.json", tmp_path / "heldout.txt"
    argv = [
        "--text", str(text), "--sentence-per-line", "--order", "2", "--output", str(output),
        "--memory", "100M", "--case", "lower", "--heldout-every", "10", "--heldout-output", str(heldout),
        "--eval-text", str(heldout), "--report", str(report),
    ]  # fmt: skip
    assert build_lm.main(argv, default_kenlm_bin=KENLM_BIN) == 0
    data = json.loads(report.read_text())
    assert data["text"]["heldout"] == 3 and data["text"]["written"] == 27
    assert data["model_bytes"] == output.stat().st_size
    assert data["perplexity"][str(heldout)]["n_sentences"] == 3
    assert KenlmScorer(output, case="lower").order == 2


@pytest.mark.integration
@needs_lmplz
def test_build_kenlm_is_idempotent():
    proc = subprocess.run(["bash", str(BUILD_KENLM)], capture_output=True, text=True, check=True, timeout=60)
    assert proc.stdout.strip() == str(KENLM_BIN)
    assert "already built" in proc.stderr


@pytest.mark.integration
@needs_kenlm
@pytest.mark.skipif(not ENGLISH_LM.is_file(), reason=f"{ENGLISH_LM} not built (see docs/language_model.md)")
def test_offline_english_model():
    lm = KenlmScorer(ENGLISH_LM)
    assert lm.order == 3
    fluent = lm.sentence_score(["it", "is", "not", "to", "be", "done"])
    scrambled = lm.sentence_score(["done", "be", "to", "not", "is", "it"])
    assert fluent > scrambled + 3.0
    assert lm.word_scores(["we", "call", "it", "bear"]).shape == (4,)
