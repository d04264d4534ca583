# synth-ray: the two commands a new user types are `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The stamp's name changes when the pins change, so `make` reinstalls exactly then.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup demo test lint typecheck pytest constraints clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[all,dev]'
	rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP)  ## create .venv with every pinned dependency

demo: setup  ## the main job: the diamonds refresh DAG under Airflow (Ray, GX gate, Delta), end to end
	$(BIN)/python -m airflow_dags.main_job --workdir work

lint: setup
	$(BIN)/ruff check synth_ray spark_udfs expectations airflow_dags tests benchmarks

typecheck: setup
	$(BIN)/mypy synth_ray spark_udfs expectations airflow_dags

pytest: setup
	$(BIN)/python -m pytest -q

test: lint typecheck pytest  ## what CI runs

constraints:  ## re-pin the full environment after changing pyproject.toml
	{ echo "# Every package the project installs, pinned: pip install -c constraints.txt -e '.[all,dev]'"; \
	  echo "# Regenerate after changing pyproject.toml: make constraints"; \
	  $(BIN)/pip freeze --exclude-editable | grep -vi '^synth-ray' | sed 's/+cpu$$//'; } > constraints.txt

clean:
	rm -rf work .pytest_cache .mypy_cache .ruff_cache
