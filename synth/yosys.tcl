# FuseSoC's synth target (virtio_mmio.core): a generic Yosys synthesis of the
# top, as `make lint` does, instead of edalize's vendor synth_<arch> script.
# edalize_yosys_procs.tcl (written by edalize) reads the files and parameters;
# its procs shadow yosys commands of the same name, hence `yosys synth`.
yosys -import
source edalize_yosys_procs.tcl

verilog_defaults -push
verilog_defaults -add -defer
set_defines
set_incdirs
read_files
set_params
verilog_defaults -pop

yosys synth -flatten -top $top
yosys tee -q -o $name.stat stat
yosys write_json $name.json
