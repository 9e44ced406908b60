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


# ---------------------------------------------------------------------------------------------- reach past the tolerance


def _connected(spans, step: float = 0.3) -> np.ndarray:
    """Touching words of ``step`` s over each (start, end) span (s)."""
    out = []
    for a, b in spans:
        edges = np.round(np.arange(a, b + 1e-9, step), 6)
        out += list(zip(edges[:-1], edges[1:], strict=True))
    return np.array(out)


def _speaking(words: np.ndarray, duration: float = 10.0):
    """The analysis of :func:`_analysis` with speech only where there are words (pauses between spans)."""
    analysis = _analysis(words, duration)
    runs = [list(words[0])]
    for w0, w1 in words[1:]:
        if w0 <= runs[-1][1] + 1e-9:
            runs[-1][1] = w1
        else:
            runs.append([w0, w1])
    analysis.speech.segments = np.array(runs)
    return analysis


def test_a_pause_past_the_tolerance_wins_over_a_word_boundary_within_it(tmp_path):
    from rtaudio.jobs.soundtrack.plan import Planner

    # touching 0.3 s words; pauses at 3.9-4.3 s and 7.0-8.3 s
    analysis = _speaking(_connected([(0.3, 3.9), (4.3, 7.0), (8.3, 9.8)]))
    cuts = tmp_path / "cuts.csv"
    # out at 3.55 s: 50 ms before a word boundary, 350 ms before the pause; in at 7.5 s, inside the long pause
    cuts.write_text("start,end\n0,3.55\n7.5,9.5\n")
    cut_list = read_cut_list(cuts)
    near = Planner(cut_list, analysis, SoundtrackParams(words=True, dialogue_reach_ms=250.0), 16000).plan()
    far = Planner(cut_list, analysis, SoundtrackParams(words=True, dialogue_reach_ms=500.0), 16000).plan()
    (join,) = near.joins
    assert join.snap_dialogue_ms == pytest.approx(50.0, abs=0.5)
    assert join.reasons == [] and "the dialogue switches between words" in join.notes[0], join.notes
    (join,) = far.joins
    # the pause keeps 25 ms from the speech around it: from 3.925 s, reached from 3.55 s at +375 ms
    assert join.snap_dialogue_ms == pytest.approx(375.0, abs=0.5)
    assert join.reasons == []
    assert "no pause within 250 ms: the dialogue switches in a pause 375 ms away" in join.notes, join.notes


def test_a_word_boundary_past_the_tolerance_is_flagged_and_the_quietest_point_without_reach(tmp_path):
    from rtaudio.jobs.soundtrack.plan import Planner
    from rtaudio.jobs.soundtrack.steps import review_reasons

    # a 0.8 s word (0.5-1.3 s) inside connected speech: its edges are 400 ms from its middle
    words = np.concatenate([_connected([(0.2, 0.5)]), [[0.5, 1.3]], _connected([(1.3, 5.0), (6.5, 9.5)])])
    analysis = _speaking(words)
    cuts = tmp_path / "cuts.csv"
    # out in the middle of the long word, in at the middle of the pause 5.0-6.5 s
    cuts.write_text("start,end\n0,0.9\n5.75,9.4\n")
    quiet = {"click": False, "click_excess_db": -20.0, "spectral_discontinuity": 1.0, "beat_phase_error_ms": None}
    quiet["loudness_step_db"] = 0.0
    verdicts = {}
    for reach in (250.0, 500.0):
        params = SoundtrackParams(words=True, dialogue_reach_ms=reach)
        (join,) = Planner(read_cut_list(cuts), analysis, params, 16000).plan().joins
        verdicts[reach] = (abs(join.snap_dialogue_ms), review_reasons(quiet, join.reasons, params, dialogue=True))
    moved, reasons = verdicts[250.0]
    assert moved <= 250.0 and reasons[0].startswith("cuts a word: the outgoing switch at"), reasons
    moved, reasons = verdicts[500.0]
    assert moved == pytest.approx(400.0, abs=0.5)
    assert reasons == [
        "far switch between words: no pause within 500 ms or word boundary within 250 ms; "
        "the dialogue switches 400 ms from the cut, between two touching words"
    ]


def test_dialogue_reach_must_be_a_number_of_milliseconds():
    from rtaudio.errors import ParameterError

    with pytest.raises(ParameterError, match=r"dialogue_reach_ms=-1 must be a number >= 0.0 and <= 5000.0"):
        SoundtrackParams(dialogue_reach_ms=-1)
