# genogan: the two commands a newcomer needs (see README.md).
#   make run    create the environment and run the demo workflow
#   make test   create the environment and run the test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: env run test test-slow test-slurm lint dry-run clean

env: $(VENV)/.installed
ifeq ($(GPU),1)
env: gpu-tensorflow
endif

# GPU=1: TensorFlow's CUDA build (tensorflow[and-cuda], the CUDA libraries from PyPI) instead of
# the CPU-only tensorflow-cpu; for GPU nodes. `make env GPU=1` on an existing venv switches it.
GPU ?= 0

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,slurm]'
	touch $@

.PHONY: gpu-tensorflow
gpu-tensorflow: $(VENV)/.installed
	$(BIN)/pip uninstall --quiet -y tensorflow-cpu
	$(BIN)/pip install --quiet -c constraints.txt 'tensorflow[and-cuda]'
	$(BIN)/python -c "import tensorflow as tf; print('TensorFlow', tf.__version__, \
	  'built with CUDA:', tf.test.is_built_with_cuda(), 'GPUs:', tf.config.list_physical_devices('GPU'))"

run: env
	$(BIN)/snakemake --profile profiles/local --cores $(CORES)
	$(BIN)/snakemake --profile profiles/local --report results/report.html --quiet all
	@$(BIN)/genogan verdict --config config/config.yaml
	@echo "Report: results/report.html"

dry-run: env
	$(BIN)/snakemake --profile profiles/local -n

test: env
	$(BIN)/pytest -n $(CORES) --dist loadgroup

test-slow: env
	$(BIN)/pytest -n $(CORES) --dist loadgroup -m slow

test-slurm: env
	$(BIN)/pytest -m slurm

lint: env
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/
	$(BIN)/ruff check src tests benchmarks workflow/scripts

clean:
	rm -rf results logs .snakemake resources/demo report.html
