`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Synchronous FIFO with a valid/ready stream on each side: storage in a RAM
 * with a registered read (block or distributed RAM), one output register,
 * first word fall-through. Holds DEPTH entries plus the output register.
 * count = entries held; clear empties it in one cycle. With BYPASS, an
 * entry pushed while the RAM is empty and the output register free goes
 * straight to the output register: out_valid the cycle after in_valid (else
 * two cycles, through the RAM's registered read).
 */
module virtio_mmio_fifo #
(
    // RAM entries (power of two, at least 2)
    parameter DEPTH = 16,
    // Entry width in bits
    parameter WIDTH = 8,
    // Width of count (holds DEPTH+1)
    parameter COUNT_WIDTH = $clog2(DEPTH+2),
    // 1: an entry pushed into an empty FIFO skips the RAM (one cycle less)
    parameter BYPASS = 0
)
(
    input  wire                    clk,
    input  wire                    rst,
    input  wire                    clear,

    input  wire [WIDTH-1:0]        in_data,
    input  wire                    in_valid,
    output wire                    in_ready,

    output wire [WIDTH-1:0]        out_data,
    output wire                    out_valid,
    input  wire                    out_ready,

    output wire [COUNT_WIDTH-1:0]  count
);

localparam PTR_W = $clog2(DEPTH);

initial begin
    if (DEPTH < 2 || (DEPTH & (DEPTH-1)) != 0) begin
        $error("Error: DEPTH must be a power of two, at least 2 (instance %m)");
        $finish;
    end
    if (BYPASS != 0 && BYPASS != 1) begin
        $error("Error: BYPASS must be 0 or 1 (instance %m)");
        $finish;
    end
end

reg [WIDTH-1:0] mem [0:DEPTH-1];
reg [PTR_W:0] wr_ptr_reg, rd_ptr_reg;
// entries in the RAM, a register of its own: full and empty come without a
// subtraction of the pointers (a consumer's ready reaches far)
reg [PTR_W:0] held_reg;
reg [WIDTH-1:0] out_data_reg;
reg out_valid_reg;
// entries held (RAM and output register), a register too: a count read across
// the engine (the read engine's credit) starts from flip-flops, not a sum
reg [COUNT_WIDTH-1:0] count_reg;

wire ram_empty = held_reg == 0;
wire push = in_valid && in_ready;
wire pop = !ram_empty && (!out_valid_reg || out_ready);
wire bypass = BYPASS != 0 && push && ram_empty && (!out_valid_reg || out_ready);
wire store = push && !bypass;

assign in_ready = !held_reg[PTR_W];
assign out_data = out_data_reg;
assign out_valid = out_valid_reg;
assign count = count_reg;
wire leave = out_valid_reg && out_ready;

always @(posedge clk) begin
    // the slot at the write pointer is free whenever a push is taken, so it
    // is written at every push, stored or bypassed: the RAM's write enable
    // waits for no consumer's ready (only the pointer does)
    if (push) begin
        mem[wr_ptr_reg[PTR_W-1:0]] <= in_data;
    end
    if (store) begin
        wr_ptr_reg <= wr_ptr_reg + 1'b1;
    end

    if (store && !pop) begin
        held_reg <= held_reg + 1'b1;
    end else if (pop && !store) begin
        held_reg <= held_reg - 1'b1;
    end

    if (push && !leave) begin
        count_reg <= count_reg + 1'b1;
    end else if (leave && !push) begin
        count_reg <= count_reg - 1'b1;
    end

    if (pop) begin
        out_data_reg <= mem[rd_ptr_reg[PTR_W-1:0]];
        rd_ptr_reg <= rd_ptr_reg + 1'b1;
        out_valid_reg <= 1'b1;
    end else if (bypass) begin
        out_data_reg <= in_data;
        out_valid_reg <= 1'b1;
    end else if (out_ready) begin
        out_valid_reg <= 1'b0;
    end

    if (rst || clear) begin
        wr_ptr_reg <= {(PTR_W+1){1'b0}};
        rd_ptr_reg <= {(PTR_W+1){1'b0}};
        held_reg <= {(PTR_W+1){1'b0}};
        count_reg <= {COUNT_WIDTH{1'b0}};
        out_valid_reg <= 1'b0;
    end
end

`ifdef FORMAL
always @* begin
    if (!rst) begin
        inv_fifo_count: assert(count_reg == {{(COUNT_WIDTH-PTR_W-1){1'b0}}, held_reg}
            + {{(COUNT_WIDTH-1){1'b0}}, out_valid_reg});
    end
end
`endif

endmodule

`resetall
