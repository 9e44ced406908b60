"""Models: one registry resolves a model name to a path (see :mod:`rtaudio.models.registry`)."""
