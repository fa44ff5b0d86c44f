# Two entry points: `make demo` (install + whole pipeline on the bundled MovieLens log)
# and `make test` (install + test suite). .ci/run calls `make test`.
PYTHON ?= python3
PIP_FLAGS ?= --quiet --disable-pip-version-check
WORK ?= examples/out

.PHONY: install demo test bench clean

install:
	$(PYTHON) -m pip install $(PIP_FLAGS) -e ".[test]"

demo: install
	WORK=$(WORK) PYTHON=$(PYTHON) bash examples/demo.sh

test: install
	$(PYTHON) -m pytest -q

bench: install
	$(PYTHON) benchmarks/pipeline.py

clean:
	rm -rf $(WORK) graphemb-out .pytest_cache
