"""Put a soundtrack into an edited video with PyAV: the video stream is copied packet for packet.

The output container takes the video stream(s) of ``video`` unchanged (no
decoding, no re-encoding: the packets are byte-identical, timestamps kept) and
one new AAC audio stream; other audio streams of the video are dropped.
Packets are interleaved by time.
"""

from __future__ import annotations

import heapq
import os

import numpy as np

from rtaudio.errors import InputError, ParameterError


def mux_audio(
    video: str | os.PathLike, audio: np.ndarray, rate: int, output: str | os.PathLike, bit_rate: int = 256000
) -> dict:
    """Write ``output``: the video streams of ``video`` copied, plus ``audio`` ((n, ch) float32) as AAC.

    Returns
    -------
    dict
        ``path``, ``video_packets`` (copied), ``video_duration_s``, ``audio_duration_s``,
        and ``warning`` when the two lengths differ by more than a frame.
    """
    import av

    from rtaudio.jobs.soundtrack.mixdown import encode_aac_frames

    video, output = os.fspath(video), os.fspath(output)
    if not os.path.exists(video):
        raise InputError(f"mux={video!r} does not exist; expected the edited video", params=("mux",))
    from rtaudio.outputs import atomic, same_file

    if same_file(video, output):
        raise ParameterError(
            f"the muxed video {output!r} would overwrite the edited video mux={video!r}; choose another path",
            params=("mux",),
        )
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise ParameterError(
            f"cannot write the muxed video {output!r}: the folder {folder!r} is missing or not writable"
        )
    if audio.shape[1] > 2:
        raise InputError(f"the soundtrack has {audio.shape[1]} channels; muxing takes mono or stereo")
    try:
        src = av.open(video)
    except av.error.FFmpegError as exc:
        raise InputError(
            f"mux={video!r} is not readable ({exc}); expected an edited video file", params=("mux",)
        ) from None
    with src:
        vstreams = list(src.streams.video)
        if not vstreams:
            raise InputError(f"mux={video!r} has no video stream; expected the edited video", params=("mux",))
        fps = float(vstreams[0].average_rate or 25)  # read while the container is open
        with atomic(output, "the muxed video", (OSError, av.error.FFmpegError)) as tmp, av.open(tmp, "w") as out:
            mapping = {}
            for s in vstreams:
                mapping[s.index] = out.add_stream_from_template(s)
            astream = out.add_stream("aac", rate=rate, layout="mono" if audio.shape[1] == 1 else "stereo")
            astream.bit_rate = bit_rate
            copied = 0
            vdur = 0.0

            def video_packets():
                nonlocal copied, vdur
                for packet in src.demux(*vstreams):
                    if packet.dts is None and packet.size == 0:
                        continue  # the demuxer's flush packet
                    t = float((packet.dts if packet.dts is not None else packet.pts or 0) * packet.time_base)
                    end = float(((packet.pts or 0) + (packet.duration or 0)) * packet.time_base)
                    vdur = max(vdur, end)
                    packet.stream = mapping[packet.stream.index]
                    copied += 1
                    yield t, 0, packet

            def audio_packets():
                for packet in encode_aac_frames(astream, audio, rate):
                    t = (
                        float((packet.dts if packet.dts is not None else 0) * packet.time_base)
                        if packet.time_base
                        else 0.0
                    )
                    yield t, 1, packet

            for _, _, packet in heapq.merge(video_packets(), audio_packets(), key=lambda item: (item[0], item[1])):
                out.mux(packet)
    adur = len(audio) / rate
    result = {
        "path": os.path.abspath(output),
        "video_packets": copied,
        "video_duration_s": round(vdur, 4),
        "audio_duration_s": round(adur, 4),
    }
    if abs(vdur - adur) > 1.0 / fps + 1e-3:
        result["warning"] = (
            f"the soundtrack lasts {adur:.3f} s and the video {vdur:.3f} s: the cut list may not match this edit"
        )
    return result


def video_packet_bytes(path: str | os.PathLike) -> list[bytes]:
    """The payload of every video packet of a file, in order (to check a copy is exact)."""
    import av

    with av.open(os.fspath(path)) as c:
        return [bytes(p) for p in c.demux(*c.streams.video) if p.size]
