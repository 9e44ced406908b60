"""Signal-processing building blocks shared by the stages and the jobs (numpy and scipy only).

- :mod:`rtaudio.dsp.windows`: analysis windows (Hann, Hamming, Blackman, rectangular);
- :mod:`rtaudio.dsp.frames`: framing, STFT and inverse STFT;
- :mod:`rtaudio.dsp.filterbanks`: mel scale, mel and fractional-octave filter banks;
- :mod:`rtaudio.dsp.chroma`: pitch-class (chroma) filter bank;
- :mod:`rtaudio.dsp.dct`: the DCT-II as a matrix (cepstra);
- :mod:`rtaudio.dsp.kweighting`: the BS.1770 K-weighting filter.

Each function is tested once against librosa or the standard in ``tests/test_dsp.py``.
"""
