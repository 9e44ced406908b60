"""Two hearings of the dialogue: only the places between words both agree on count (issue 15, item 5)."""

from __future__ import annotations

import numpy as np
import pytest

from rtaudio.jobs.soundtrack.cutlist import read_cut_list
from rtaudio.jobs.soundtrack.params import SoundtrackParams
from rtaudio.jobs.soundtrack.speech import agreed_words
from rtaudio.testing import noise

WORDS = np.array([[0.5, 1.0], [1.0, 1.6], [1.6, 2.0], [2.3, 2.8], [2.8, 3.2]])
TEXTS = ("a", "b", "c", "d", "e")


def test_a_boundary_both_hearings_place_within_40_ms_moves_to_their_mean():
    other = np.array([[0.5, 1.03], [1.03, 1.6], [1.6, 2.0], [2.3, 2.8], [2.8, 3.2]])
    words, texts = agreed_words(WORDS, other, TEXTS, TEXTS)
    assert words[0, 1] == words[1, 0] == pytest.approx(1.015)
    np.testing.assert_allclose(words[1:], [[1.015, 1.6], [1.6, 2.0], [2.3, 2.8], [2.8, 3.2]])
    assert texts == TEXTS


def test_two_words_whose_boundary_the_hearings_place_apart_become_one():
    other = np.array([[0.5, 1.0], [1.0, 1.5], [1.5, 2.0], [2.3, 2.6], [2.6, 2.9], [2.9, 3.2]])
    words, texts = agreed_words(WORDS, other, TEXTS, tuple("ABCDEF"))
    np.testing.assert_allclose(words, [[0.5, 1.0], [1.0, 2.0], [2.3, 3.2]])
    assert texts == ("a", "b c", "d e")


def test_a_word_only_the_second_hearing_heard_in_a_gap_becomes_a_word():
    other = np.array([[0.5, 1.0], [1.0, 1.6], [1.6, 1.98], [2.1, 2.2], [2.33, 2.8], [2.8, 3.2]])
    words, texts = agreed_words(WORDS, other, TEXTS, tuple("ABCDEF"))
    # the gap 2.0-2.3 keeps the edges of the words around it (the first hearing's, the wider) and holds D
    np.testing.assert_allclose(words, [[0.5, 1.0], [1.0, 1.6], [1.6, 2.0], [2.1, 2.2], [2.3, 2.8], [2.8, 3.2]])
    assert texts == ("a", "b", "c", "D", "d", "e")


def test_one_hearing_agrees_with_itself():
    words, texts = agreed_words(WORDS, WORDS, TEXTS, TEXTS)
    np.testing.assert_allclose(words, WORDS)
    assert texts == TEXTS


def _analysis(words: np.ndarray, duration: float = 5.0, rate: int = 16000):
    from rtaudio.jobs.soundtrack.beats import Beats
    from rtaudio.jobs.soundtrack.features import compute
    from rtaudio.jobs.soundtrack.plan import Analysis
    from rtaudio.jobs.soundtrack.speech import Speech

    x = noise(duration, rate, 0.01, seed=3)
    f = compute(x, rate)
    speech = Speech(np.array([[0.0, duration]]), duration, "vad+energy", words=words, words_engine="whisper")
    return Analysis(duration, False, f, Beats(np.zeros(0), np.zeros(0), 0.0, 0.0), speech, f.rms_db)


def test_a_switch_at_a_boundary_the_hearings_dispute_is_flagged_and_an_agreed_one_is_not(tmp_path):
    from rtaudio.jobs.soundtrack.plan import Planner
    from rtaudio.jobs.soundtrack.steps import review_reasons

    # connected speech, words of 0.3 s; the second hearing splits the words at 1.7 s 100 ms later (1.8 s)
    edges = np.round(np.arange(0.2, 4.85, 0.3), 6)
    first = np.stack([edges[:-1], edges[1:]], axis=1)
    second = first.copy()
    k = int(np.argmin(np.abs(first[:, 1] - 1.7)))
    second[k, 1] = second[k + 1, 0] = 1.8
    second[:, :] += 0.01  # and hears every other boundary 10 ms later
    quiet = {"click": False, "click_excess_db": -20.0, "spectral_discontinuity": 1.0, "beat_phase_error_ms": None}
    quiet["loudness_step_db"] = 0.0
    cuts = tmp_path / "cuts.csv"
    # join 1: out at 1.7 (disputed) with a 20 ms tolerance, in at 3.5 (agreed); join 2: both agreed
    cuts.write_text("start,end\n0,1.7\n3.5,3.8\n4.1,4.7\n")
    params = SoundtrackParams(words=True, tolerance_ms=20.0)
    verdicts = {}
    for hearings, words in (("one", first), ("two", agreed_words(first, second)[0])):
        plan = Planner(read_cut_list(cuts), _analysis(words), params, 16000).plan()
        verdicts[hearings] = [review_reasons(quiet, j.reasons, params, dialogue=True) for j in plan.joins]
        if hearings == "two":
            out = 1.7 + plan.joins[0].snap_dialogue_ms / 1000
            assert plan.joins[1].snap_dialogue_ms == pytest.approx(5.0, abs=0.6)  # the mean of 4.1 and 4.11
    assert verdicts["one"] == [[], []]
    disputed, agreed = verdicts["two"]
    assert agreed == []
    assert disputed and disputed[0].startswith("cuts a word: the outgoing switch at"), (disputed, out)


def test_the_reason_names_words_the_hearings_split_differently(tmp_path):
    from rtaudio.jobs.soundtrack.plan import Planner

    other = np.array([[0.5, 1.0], [1.0, 1.5], [1.5, 2.0], [2.3, 2.8], [2.8, 3.2]])
    words, texts = agreed_words(WORDS, other, ("one", "two", "three", "four", "five"), tuple("ABCDE"))
    analysis = _analysis(words)
    analysis.speech.word_texts = texts
    cuts = tmp_path / "cuts.csv"
    cuts.write_text("start,end\n0,1.55\n3.0,4.5\n")
    plan = Planner(read_cut_list(cuts), analysis, SoundtrackParams(words=True, tolerance_ms=20.0), 16000).plan()
    reason = plan.joins[0].reasons[0]
    assert "inside the words 'two three' (the two hearings split them differently) at 1.00-2.00 s" in reason, reason


def test_word_hearings_must_be_one_or_two():
    from rtaudio.errors import ParameterError

    with pytest.raises(ParameterError, match=r"word_hearings=3 must be 1 or 2"):
        SoundtrackParams(word_hearings=3)
