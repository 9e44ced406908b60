"""The live window: spectrum bars, waterfall, meters, speech, captions, language and beats in pygame.

* :mod:`rtaudio.viz.sink` - :class:`VizSink`, the lock-free hand-over from the engine's reader thread;
* :mod:`rtaudio.viz.model` - :class:`DisplayModel` and :class:`ViewParams`, what is shown, animated
  frame-rate independently;
* :mod:`rtaudio.viz.render` - :class:`Renderer`, the drawing (pygame);
* :mod:`rtaudio.viz.window` - :class:`Window`, the main-thread loop, keys, screenshots;
* :mod:`rtaudio.viz.playback` - audio output through sounddevice and the playback clock;
* :mod:`rtaudio.viz.switch` - :class:`ScaleSwitchStage`, octave/mel bands switchable at run time;
* :mod:`rtaudio.viz.colormap` - perceptual colour maps as lookup tables.

pygame is imported only by ``render`` and ``window``.
"""
