`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Burst planner of one write path of virtio_mmio_dma_wr: cuts each write
 * request into AXI4 INCR bursts (no 4 KiB crossing, at most
 * AXI_MAX_BURST_LEN beats) and proposes a burst only once every beat of it
 * is held in the path's beat FIFO, so W never waits after an AW.
 *
 * A request is announced at its start (plan: first word address, beats it
 * may need) and at its end (done: beats it produced, at most the plan: an
 * answer may end early). Beats are counted as the path pushes them. Once a
 * request has produced and issued all its beats, the planner proposes to
 * close it (the write engine then marks it done behind its last burst);
 * a burst known to be a request's last (burst_last) closes it at once.
 */
module virtio_mmio_wr_planner #
(
    // Width of AXI address bus in bits
    parameter ADDR_WIDTH = 32,
    // Byte lanes of the bus
    parameter BYTE_LANES = 4,
    // Maximum AXI burst length to generate
    parameter MAX_BURST_LEN = 16,
    // Width of the beat counters (holds the beats of the largest request)
    parameter BEAT_WIDTH = 33,
    // Requests announced ahead (power of two)
    parameter DEPTH = 4
)
(
    input  wire                     clk,
    input  wire                     rst,
    input  wire                     clear,

    input  wire [ADDR_WIDTH-1:0]    plan_addr,
    input  wire [BEAT_WIDTH-1:0]    plan_beats,
    input  wire                     plan_valid,
    output wire                     plan_ready,

    input  wire [BEAT_WIDTH-1:0]    done_beats,
    input  wire                     done_valid,

    // one beat pushed into the path's beat FIFO
    input  wire                     beat_pushed,

    output wire [ADDR_WIDTH-1:0]    burst_addr,
    output wire [8:0]               burst_len,
    output wire                     burst_valid,
    output wire                     burst_last,
    input  wire                     burst_take,

    output wire                     close_valid,
    input  wire                     close_take,

    // nothing announced and not closed
    output wire                     idle
);

localparam OFF_W = $clog2(BYTE_LANES);
localparam P_W = $clog2(DEPTH);
localparam [8:0] BURST_MAX = MAX_BURST_LEN[8:0];

reg [ADDR_WIDTH-1:0] plan_addr_mem [0:DEPTH-1];
reg [BEAT_WIDTH-1:0] plan_beats_mem [0:DEPTH-1];
reg [BEAT_WIDTH-1:0] done_mem [0:DEPTH-1];
reg [P_W:0] plan_wr_reg, plan_rd_reg, done_wr_reg, done_rd_reg;

// the request at the head: next word address, beats issued so far
reg cur_reg;
reg [ADDR_WIDTH-1:0] cur_addr_reg;
reg [BEAT_WIDTH-1:0] cur_issued_reg;
// beats pushed and not yet claimed by a burst
reg [BEAT_WIDTH-1:0] avail_reg;

wire plan_empty = plan_wr_reg == plan_rd_reg;
wire done_empty = done_wr_reg == done_rd_reg;
wire [ADDR_WIDTH-1:0] head_addr = cur_reg ? cur_addr_reg : plan_addr_mem[plan_rd_reg[P_W-1:0]];
wire [BEAT_WIDTH-1:0] head_issued = cur_reg ? cur_issued_reg : {BEAT_WIDTH{1'b0}};
wire head_ended = !done_empty;
// beats the request still owes: exact once it has ended, else the most it may need
wire [BEAT_WIDTH-1:0] head_left = head_ended ? done_mem[done_rd_reg[P_W-1:0]] - head_issued
    : plan_beats_mem[plan_rd_reg[P_W-1:0]] - head_issued;
wire [12:0] beats_4k = (13'h1000 - {1'b0, head_addr[11:0]}) >> OFF_W;

reg [8:0] len;

always @* begin
    len = BURST_MAX;
    if ({4'd0, len} > beats_4k) begin
        len = beats_4k[8:0];
    end
    if ({{(BEAT_WIDTH > 9 ? BEAT_WIDTH-9 : 0){1'b0}}, len} > head_left) begin
        len = head_left[8:0];
    end
end

assign plan_ready = (plan_wr_reg - plan_rd_reg) != DEPTH[P_W:0];
assign burst_addr = {head_addr[ADDR_WIDTH-1:OFF_W], {OFF_W{1'b0}}};
assign burst_len = len;
assign burst_valid = !plan_empty && head_left != 0 && avail_reg >= {{(BEAT_WIDTH-9){1'b0}}, len};
assign burst_last = head_ended && head_left == {{(BEAT_WIDTH-9){1'b0}}, len};
assign close_valid = !plan_empty && head_ended && head_left == 0;
assign idle = plan_empty;

always @(posedge clk) begin
    if (plan_valid && plan_ready) begin
        plan_addr_mem[plan_wr_reg[P_W-1:0]] <= plan_addr;
        plan_beats_mem[plan_wr_reg[P_W-1:0]] <= plan_beats;
        plan_wr_reg <= plan_wr_reg + 1'b1;
    end
    if (done_valid) begin
        done_mem[done_wr_reg[P_W-1:0]] <= done_beats;
        done_wr_reg <= done_wr_reg + 1'b1;
    end

    avail_reg <= avail_reg + {{(BEAT_WIDTH-1){1'b0}}, beat_pushed}
        - ((burst_valid && burst_take) ? {{(BEAT_WIDTH-9){1'b0}}, len} : {BEAT_WIDTH{1'b0}});

    if (burst_valid && burst_take) begin
        cur_reg <= 1'b1;
        cur_addr_reg <= head_addr + {{(ADDR_WIDTH-9-OFF_W){1'b0}}, len, {OFF_W{1'b0}}};
        cur_issued_reg <= head_issued + {{(BEAT_WIDTH-9){1'b0}}, len};
    end
    if ((close_valid && close_take) || (burst_valid && burst_take && burst_last)) begin
        cur_reg <= 1'b0;
        plan_rd_reg <= plan_rd_reg + 1'b1;
        done_rd_reg <= done_rd_reg + 1'b1;
    end

    if (rst || clear) begin
        plan_wr_reg <= {(P_W+1){1'b0}};
        plan_rd_reg <= {(P_W+1){1'b0}};
        done_wr_reg <= {(P_W+1){1'b0}};
        done_rd_reg <= {(P_W+1){1'b0}};
        cur_reg <= 1'b0;
        avail_reg <= {BEAT_WIDTH{1'b0}};
    end
end

endmodule

`resetall
