# `make demo` runs the demo benchmark, `make test` the whole test suite. Both install missing
# host prerequisites (scripts/host-tools.sh), create the virtual environment .venv
# (pip install -e .[test]) on first use and refresh it when pyproject.toml changes. `make test`
# builds the default and tumeda environments' images first (a no-op when they exist), so a cold
# build is a step of its own rather than part of some test's timeout.

PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed
MCUORCH := $(VENV)/bin/mcuorch
DEMO_ARGS ?= sine_model aww -b tvmaot -t host_x86 -t riscv_qemu -t mps3_an547 -t mps2_an386 --parallel 2 --label demo

.PHONY: demo test images host-tools bench clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

host-tools:
	@sh scripts/host-tools.sh

demo: host-tools $(STAMP)
	$(MCUORCH) run $(DEMO_ARGS)

# The tumeda images are built from pinned upstream sources: `sources fetch` imports them from
# $$MCUORCH_SOURCES_FROM (an offline mirror; .ci/run points it at ../shared/sources) or fetches
# the pinned commits from git.
images: host-tools $(STAMP)
	$(MCUORCH) images build
	$(MCUORCH) sources fetch --env tumeda
	$(MCUORCH) images build --env tumeda

test: images
	@sh scripts/host-tools.sh --test
	$(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/orchestration.py

clean-venv:
	rm -rf $(VENV)
