# The two commands of the README: `make sim` and `make test`. Each sets up
# .venv (and the system packages the simulators need) on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SYSTAMP := $(VENV)/.sysdeps
SIM    ?= model
# tools the co-simulation needs that PyPI does not ship: command:debian-package
SYSTEM_TOOLS := iverilog:iverilog g++:g++ perl:perl make:make

.PHONY: sim test bench-model setup clean

setup: $(STAMP) $(SYSTAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e .
	@touch $@

# Installs missing system tools with apt-get where we can (root, or sudo without
# a password); otherwise stops and names the packages.
$(SYSTAMP): | $(STAMP)
	@missing=""; for t in $(SYSTEM_TOOLS); do \
	  command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	  else echo "error: please install these Debian packages:$$missing" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing \
	    || { echo "error: apt-get could not install:$$missing" >&2; exit 1; }; \
	fi
	@touch $@

sim: setup
ifeq ($(SIM),model)
	$(PY) -m vio.examples.console
else
	@echo "error: SIM=$(SIM): only SIM=model exists until the RTL lands" >&2; exit 2
endif

test: setup
	$(PY) -m pytest -n auto -q

bench-model: setup
	$(PY) -m vio.bench

clean:
	rm -rf $(VENV) build sim_build .pytest_cache .hypothesis
