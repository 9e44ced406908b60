"""Any bytes in a cut list or a job list give a result or a one-line RtaudioError naming the file (issue 13)."""

from __future__ import annotations

import re
import tempfile
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtaudio.errors import RtaudioError
from rtaudio.jobs.batch import read_jobs
from rtaudio.jobs.soundtrack.cutlist import CutList, Segment, read_cut_list, write_cut_list

EXTS = [".csv", ".json", ".edl", ".xml", ".otio"]
NUMBERS = ["0", "-1", "-30", "NaN", "nan", "Infinity", "-Infinity", "1e-300", "1e400", "1e308", "abc", "", "29.97"]
SETTINGS = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _valid_texts() -> dict[str, str]:
    """A valid cut list in each format (two clips at 25 fps)."""
    folder = Path(tempfile.mkdtemp(prefix="rtaudio-cuts-"))
    segs = [Segment(Fraction(0), Fraction(1), "a"), Segment(Fraction(2), Fraction(3), "b")]
    out = {}
    for ext in EXTS:
        p = folder / f"valid{ext}"
        write_cut_list(segs, str(p), fps=25)
        out[ext] = p.read_text()
    return out


VALID = _valid_texts()


def _read(folder: Path, ext: str, data: bytes):
    p = folder / f"cuts{ext}"
    p.write_bytes(data)
    try:
        return read_cut_list(p, fps=25, duration=100.0)
    except RtaudioError as exc:
        assert p.name in str(exc), f"{type(exc).__name__} does not name the file: {exc}"
        assert "\n" not in str(exc).strip()
        return exc


@pytest.mark.parametrize("ext", EXTS)
@SETTINGS
@given(data=st.binary(max_size=400))
def test_any_bytes_give_a_cut_list_or_an_error_naming_the_file(tmp_path, ext, data):
    out = _read(tmp_path, ext, data)
    assert isinstance(out, (CutList, RtaudioError))


def _mutate(text: str, picks: list[int]) -> str:
    """``text`` with some of its numbers replaced by awkward values."""
    spots = list(re.finditer(r"-?\d+(\.\d+)?(e-?\d+)?", text))
    if not spots:
        return text
    out, last = [], 0
    for i, m in enumerate(spots):
        if i < len(picks) and picks[i] >= 0:
            out.append(text[last : m.start()])
            out.append(NUMBERS[picks[i] % len(NUMBERS)])
            last = m.end()
    out.append(text[last:])
    return "".join(out)


@pytest.mark.parametrize("ext", EXTS)
@SETTINGS
@given(picks=st.lists(st.integers(-8, len(NUMBERS) - 1), max_size=60))
def test_valid_cut_lists_with_bad_numbers_give_an_error_naming_the_file(tmp_path, ext, picks):
    out = _read(tmp_path, ext, _mutate(VALID[ext], picks).encode())
    assert isinstance(out, (CutList, RtaudioError))


@pytest.mark.parametrize(
    "ext, old, new, message",
    [
        (".otio", '"rate": 25.0', '"rate": 0', r"cuts.otio clip 1 .*frame rate 0.0; expected 0.5 to 1000"),
        (".otio", '"rate": 25.0', '"rate": NaN', r"cuts.otio clip 1 .*frame rate nan; expected 0.5 to 1000"),
        (".otio", '"rate": 25.0', '"rate": -30', r"cuts.otio clip 1 .*frame rate -30.0; expected 0.5 to 1000"),
        (".otio", '"value": 25.0', '"value": Infinity', r"cuts.otio clip 1 .*is inf frames; expected a finite"),
        (
            ".xml",
            "<timebase>25</timebase>",
            "<timebase>0</timebase>",
            r"cuts.xml clip 1 .clip1.: the clip.s (duration is inf frames|source start has the frame rate 0.0)",
        ),
        (
            ".xml",
            "<timebase>25</timebase>",
            "<timebase>NaN</timebase>",
            r"cuts.xml clip 1 .clip1.: the clip.s .*(nan|inf)",
        ),
    ],
)
def test_bad_rates_in_otio_and_fcp_xml_name_the_clip(tmp_path, ext, old, new, message):
    assert old in VALID[ext]
    out = _read(tmp_path, ext, VALID[ext].replace(old, new, 1).encode())
    assert isinstance(out, RtaudioError) and re.search(message, str(out)), out
    assert "--fps" not in str(out)


def test_a_drop_frame_edl_with_a_video_rate_is_read_at_29_97_df(tmp_path):
    """``FCM: DROP FRAME`` wins over the input video's (non-drop) 29.97 rate (as docs/soundtrack.md says)."""
    p = tmp_path / "df.edl"
    p.write_text(
        "TITLE: df\nFCM: DROP FRAME\n\n001  AX       V     C        00:10:00;00 00:10:10;00 00:00:00;00 00:00:10;00\n"
    )
    cuts = read_cut_list(p, default_fps="30000/1001")
    assert cuts.fps.drop_frame
    assert float(cuts.segments[0].start) == pytest.approx(600.0, abs=1e-3)  # 10 min DF = exactly 600 s
    assert any("drop-frame" in n for n in cuts.notes)


# ---------------------------------------------------------------------------------- the job list

JOB = '{"input": "a.wav", "cuts": [[0, 1.5]], "output": "o.wav", "report": "r.json", "music": "join"}\n'


def _jobs(folder: Path, data: bytes):
    p = folder / "jobs.jsonl"
    p.write_bytes(data)
    try:
        return read_jobs(p)
    except RtaudioError as exc:
        assert p.name in str(exc), f"{type(exc).__name__} does not name the file: {exc}"
        return exc


@SETTINGS
@given(data=st.binary(max_size=300))
def test_any_bytes_in_a_job_list_give_jobs_or_an_error_naming_the_file(tmp_path, data):
    assert isinstance(_jobs(tmp_path, data), (list, RtaudioError))


@SETTINGS
@given(
    data=st.lists(
        st.one_of(
            st.sampled_from([JOB.encode(), b"\xff\xfe\n", b"{}\n", b"[]\n", b'{"input": 1}\n', b"# c\n", b"\n"]),
            st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.dictionaries(
                st.sampled_from(["input", "cuts", "output", "report", "mux", "rate", "fps", "name", "x"]),
                st.one_of(
                    st.none(), st.integers(), st.floats(), st.text(max_size=8), st.lists(st.floats(), max_size=3)
                ),
            ).map(lambda d: (__import__("json").dumps(d) + "\n").encode()),
        ),
        max_size=6,
    )
)
def test_job_lists_of_odd_lines_give_jobs_or_an_error_naming_the_file(tmp_path, data):
    assert isinstance(_jobs(tmp_path, b"".join(data)), (list, RtaudioError))


def test_a_non_utf8_job_list_names_the_line(tmp_path):
    out = _jobs(tmp_path, JOB.encode() + b'{"input": "\xe9.wav"}\n')
    assert isinstance(out, RtaudioError)
    assert str(out).endswith(
        "jobs.jsonl line 2: not UTF-8 text (byte 0xe9 at column 12); expected a UTF-8 .jsonl file, one job a line"
    )


def test_edl_adapter_errors_name_the_line(tmp_path):
    p = tmp_path / "e.edl"
    p.write_text(
        "TITLE: x\nFCM: NON-DROP FRAME\n\n001  AX       V     Q        00:00:00:00 00:00:10:00 00:00:00:00 00:00:10:00\n"
    )
    with pytest.raises(
        RtaudioError, match=r"^e.edl line 4: not a readable cmx_3600 file \(EDLParseError: incorrect edit"
    ):
        read_cut_list(p, fps=25)
