"""``python -m rtaudio`` is the ``rtaudio`` command."""

import sys

from rtaudio.cli import main

sys.exit(main())
