# Set-up and everyday commands. `make demo` and `make test` do everything on a fresh Debian machine as root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := libportaudio2 jackd2 espeak-ng libsndfile1

.PHONY: demo test bench system venv clean

demo: system venv  ## install, then synthesize a sample video and analyse it
	$(BIN)/rtaudio demo

test: system venv  ## install, then run the test suite
	$(BIN)/python -m pytest

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
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) rtaudio-demo .pytest_cache .benchmarks
