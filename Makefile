# The two commands a person needs are `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench fuzz install install-dev clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Bastion needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The reference vPDQ compiles against FFmpeg: where its build tools are missing (a plain machine, not CI)
# the tests that compare against it are skipped with that reason; under CI a failed build stops here.
$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet -e '.[reference]' || { [ -z "$$CI" ] && \
	  echo "note: the reference vpdq did not build (it needs cmake and FFmpeg's -dev packages, see .ci/run); its comparison tests will be skipped"; }
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,reference]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Install, prepare ./var/bastion.db (migrations, first admin) and serve on http://127.0.0.1:8000
run: $(VENV)/.installed
	$(BIN)/bastion init
	$(BIN)/bastion dev seed-demo
	$(BIN)/bastion serve --demo

## Install the dev extras and run the whole test suite
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Fuzz every decoder for FUZZ_SECONDS each (new inputs go to var/fuzz, never into the repo), then the
## API with FUZZ_EXAMPLES generated requests per operation and role
FUZZ_SECONDS ?= 300
FUZZ_EXAMPLES ?= 100
fuzz: $(VENV)/.installed-dev
	@for target in media ncmec_xml hash_list; do \
	  mkdir -p var/fuzz/$$target && cp -n tests/fuzz/corpus/$$target/* var/fuzz/$$target/; \
	  echo "== fuzzing $$target for $(FUZZ_SECONDS) s"; \
	  $(BIN)/python -m tests.fuzz.run $$target var/fuzz/$$target -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=var/fuzz/ || exit 1; \
	done
	SCHEMATHESIS_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider tests/fuzz/test_api_schemathesis.py

## Benchmarks (slow; never part of the test run)
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
