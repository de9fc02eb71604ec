# Two entry points for a fresh clone (see README.md):
#   make demo   set up, package the assignments, grade the sample class, write the exports
#   make test   set up and run the whole test suite (what CI runs)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch that lies on the course machines' disk; TORCH=torch takes
# whatever build suits your machine instead.
TORCH ?= torch==2.13.0
OUT ?= out
DB ?= $(OUT)/gradebook.sqlite

.PHONY: setup sandbox demo test test-fast validate sample-class bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

setup: $(VENV)/.installed

# `grade` runs student code in bubblewrap; install it where the package manager allows.
sandbox:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; \
	  else \
	    echo "bubblewrap (bwrap) is missing: install it with your package manager (see docs/grading.md)"; exit 1; \
	  fi; }

demo: setup sandbox
	$(BIN)/rnnkit package --out $(OUT)/packages
	$(BIN)/rnnkit grade examples/submissions --assignment vanilla_rnn --db $(DB) --roster examples/roster.csv
	$(BIN)/rnnkit report --db $(DB) --out $(OUT)/reports --roster examples/roster.csv --assignment vanilla_rnn \
	  --format csv --format gradescope --format canvas --format moodle --format otter --format feedback --format html
	$(BIN)/rnnkit grade examples/submissions_gated_rnn --assignment gated_rnn --db $(DB)
	$(BIN)/rnnkit report --db $(DB) --out $(OUT)/reports --assignment gated_rnn \
	  --format csv --format gradescope --format feedback --format html
	$(BIN)/rnnkit grade examples/submissions_attention_lm --assignment attention_lm --db $(DB)
	$(BIN)/rnnkit report --db $(DB) --out $(OUT)/reports --assignment attention_lm \
	  --format csv --format gradescope --format feedback --format html

test: setup sandbox
	$(BIN)/python -m pytest -m "slow or not slow"

test-fast: setup sandbox
	$(BIN)/python -m pytest

validate: setup
	$(BIN)/rnnkit validate

sample-class: setup
	$(BIN)/python examples/sample_class.py
	$(BIN)/python examples/sample_class_gated_rnn.py
	$(BIN)/python examples/sample_class_attention_lm.py

bench: setup sandbox
	$(BIN)/python bench/grade_time.py
	$(BIN)/python bench/fast_lstm.py
	$(BIN)/python bench/char_lm.py --minutes 5 --out $(OUT)/char_lm.safetensors

clean:
	rm -rf $(OUT) .pytest_cache
