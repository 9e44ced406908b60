"""Cut-point soundtrack rendering: a source and a cut list in, a seamless soundtrack (and a report) out.

Modules, one job each:

* :mod:`.timecode`: frame rates, SMPTE (drop-frame) timecode, seconds;
* :mod:`.cutlist`: CSV / JSON / EDL / FCP XML / OTIO cut lists with per-cut overrides;
* :mod:`.features`, :mod:`.beats`, :mod:`.speech`: the analysis (spectra, beats, pauses);
* :mod:`.plan`: snapping and the joins of every stem;
* :mod:`.mixdown`: pieces to audio, loudness, limiter, files;
* :mod:`.metrics`: beat phase, spectral discontinuity, clicks, loudness steps;
* :mod:`.steps`: the job's steps; :mod:`.graph`: the job as one graph of those steps;
* :mod:`.render`: the job (:func:`render_soundtrack`: the graph in this process), with :mod:`.cache`;
* :mod:`.mux`, :mod:`.review`: the muxed video and the review sheet.

``render_soundtrack`` is imported lazily so ``import rtaudio.jobs.soundtrack`` stays light.
"""

__all__ = ["render_soundtrack", "read_cut_list", "SoundtrackParams"]


def __getattr__(name):
    if name == "render_soundtrack":
        from rtaudio.jobs.soundtrack.render import render_soundtrack

        return render_soundtrack
    if name == "read_cut_list":
        from rtaudio.jobs.soundtrack.cutlist import read_cut_list

        return read_cut_list
    if name == "SoundtrackParams":
        from rtaudio.jobs.soundtrack.params import SoundtrackParams

        return SoundtrackParams
    raise AttributeError(f"module 'rtaudio.jobs.soundtrack' has no attribute {name!r}")
