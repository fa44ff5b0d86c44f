# Two entry points: `make demo` (install + whole pipeline on the bundled MovieLens log)
# and `make test` (install + test suite). .ci/run calls `make test`.
PYTHON ?= python3
PIP_FLAGS ?= --quiet --disable-pip-version-check
WORK ?= examples/out

.PHONY: install install-demo demo test bench clean

# Tests need pytest, polars and pyspark (Spark also needs Java 17+, see README).
# Both installs end by compiling the Numba kernels into the cache (graphemb/precompile.py),
# so the first graphemb command does not wait for the compiler.
install:
	$(PYTHON) -m pip install $(PIP_FLAGS) -e ".[test]"
	$(PYTHON) -m graphemb.precompile

# The demo needs graphemb's own dependencies only: no pytest, no pyspark.
install-demo:
	$(PYTHON) -m pip install $(PIP_FLAGS) -e .
	$(PYTHON) -m graphemb.precompile

demo: install-demo
	WORK=$(WORK) PYTHON=$(PYTHON) bash examples/demo.sh

test: install
	$(PYTHON) -m pytest -q

bench: install-demo
	$(PYTHON) benchmarks/pipeline.py

clean:
	rm -rf $(WORK) graphemb-out .pytest_cache
