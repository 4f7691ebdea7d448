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
 *
 * Timing: the request at the head is held in registers, and the proposal is
 * computed from them over two registered stages (the 4 KiB and burst limits
 * and the saturated beats left, then their minimum); a proposal counts only
 * while the head has not changed since it was computed, so a burst can be
 * taken every third cycle, and nothing wider than AVAIL_WIDTH bits is
 * compared on the way to burst_valid.
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
    // Requests held, the head included (power of two)
    parameter DEPTH = 4,
    // Width of the count of beats pushed and not yet claimed (holds the
    // beat FIFO's depth; at least 10)
    parameter AVAIL_WIDTH = 10
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

initial begin
    if (AVAIL_WIDTH < 10 || OFF_W < 2 || OFF_W > 4) begin
        $error("Error: AVAIL_WIDTH must be at least 10 and BYTE_LANES 4, 8 or 16 (instance %m)");
        $finish;
    end
end
localparam P_W = $clog2(DEPTH);
localparam [8:0] BURST_MAX = MAX_BURST_LEN[8:0];
localparam [12-OFF_W:0] WORDS_4K = 1 << (12-OFF_W);

reg [ADDR_WIDTH-1:0] plan_addr_mem [0:DEPTH-1];
reg [BEAT_WIDTH-1:0] plan_beats_mem [0:DEPTH-1];
reg [BEAT_WIDTH-1:0] done_mem [0:DEPTH-1];
reg [P_W:0] plan_wr_reg, plan_rd_reg, done_wr_reg, done_rd_reg;

// the request at the head: next word address, beats it may still produce
// (exact once its done is absorbed), beats issued so far
reg cur_reg;
reg cur_ended_reg;
reg [ADDR_WIDTH-1:0] cur_addr_reg;
reg [BEAT_WIDTH-1:0] cur_left_reg;
reg [BEAT_WIDTH-1:0] cur_issued_reg;
// beats pushed and not yet claimed by a burst
reg [AVAIL_WIDTH-1:0] avail_reg;
// avail_reg >= s2_len_reg, registered: burst_valid starts from registers (the
// write engine's AW choice, and through it the other path's avail_reg, wait on
// it). Its next value, and avail_reg's, are worked out from registers for each
// of burst taken or not and beat pushed or not; the take and the push, late in
// the cycle, only pick.
reg avail_ok_reg;

// stage 1: the limits of the next burst
reg s1_ok_reg;
reg s1_ended_reg;
reg [8:0] s1_limit_reg;
reg [8:0] s1_left_reg;
reg s1_big_reg;
// the burst is the limit, not what is left: s1_big_reg || s1_left_reg >
// s1_limit_reg, compared beside the limit's own compare (stage 2 only picks)
reg s1_cut_reg;
// stage 2: the proposal
reg s2_ok_reg;
reg [8:0] s2_len_reg;
reg s2_last_reg;
reg s2_close_reg;

wire plan_empty = plan_wr_reg == plan_rd_reg;
wire done_empty = done_wr_reg == done_rd_reg;
wire [P_W:0] held = plan_wr_reg - plan_rd_reg + {{P_W{1'b0}}, cur_reg};
wire take = burst_valid && burst_take;
wire closing = (close_valid && close_take) || (take && burst_last);
wire load = !cur_reg && !plan_empty;
wire absorb = cur_reg && !cur_ended_reg && !done_empty && !take;
// the head changes at this edge: proposals computed from it are stale
wire head_moves = take || closing || load || absorb;
wire [12-OFF_W:0] words_4k = WORDS_4K - {1'b0, cur_addr_reg[11:OFF_W]};
wire limit_4k = {{OFF_W{1'b0}}, words_4k} < {4'd0, BURST_MAX};
wire left_big = cur_left_reg[BEAT_WIDTH-1:9] != {(BEAT_WIDTH-9){1'b0}};
wire left_over_4k = {{(4-OFF_W){1'b0}}, cur_left_reg[8:0]} > words_4k;
wire left_over_max = cur_left_reg[8:0] > BURST_MAX;
wire [8:0] s2_len_next = s1_cut_reg ? s1_limit_reg : s1_left_reg;
wire [AVAIL_WIDTH-1:0] len_next = {{(AVAIL_WIDTH-9){1'b0}}, s2_len_next};
// {taken, pushed}: 00 kept, 01 kept + 1, 10 taken, 11 taken + 1
wire [AVAIL_WIDTH-1:0] avail_k0 = avail_reg;
wire [AVAIL_WIDTH-1:0] avail_k1 = avail_reg + 1'b1;
wire [AVAIL_WIDTH-1:0] avail_t0 = avail_reg - {{(AVAIL_WIDTH-9){1'b0}}, s2_len_reg};
wire [AVAIL_WIDTH-1:0] avail_t1 = avail_k1 - {{(AVAIL_WIDTH-9){1'b0}}, s2_len_reg};
wire [3:0] avail_ok_next = {avail_t1 >= len_next, avail_t0 >= len_next, avail_k1 >= len_next, avail_k0 >= len_next};

assign plan_ready = held != DEPTH[P_W:0];
assign burst_addr = {cur_addr_reg[ADDR_WIDTH-1:OFF_W], {OFF_W{1'b0}}};
assign burst_len = s2_len_reg;
assign burst_valid = s2_ok_reg && s2_len_reg != 9'd0 && avail_ok_reg;
assign burst_last = s2_last_reg;
assign close_valid = s2_ok_reg && s2_close_reg;
assign idle = plan_empty && !cur_reg;

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

    case ({take, beat_pushed})
        2'b00: avail_reg <= avail_k0;
        2'b01: avail_reg <= avail_k1;
        2'b10: avail_reg <= avail_t0;
        default: avail_reg <= avail_t1;
    endcase
    avail_ok_reg <= avail_ok_next[{take, beat_pushed}];

    if (load) begin
        cur_reg <= 1'b1;
        cur_ended_reg <= 1'b0;
        cur_addr_reg <= plan_addr_mem[plan_rd_reg[P_W-1:0]];
        cur_left_reg <= plan_beats_mem[plan_rd_reg[P_W-1:0]];
        cur_issued_reg <= {BEAT_WIDTH{1'b0}};
        plan_rd_reg <= plan_rd_reg + 1'b1;
    end
    if (absorb) begin
        cur_ended_reg <= 1'b1;
        cur_left_reg <= done_mem[done_rd_reg[P_W-1:0]] - cur_issued_reg;
        done_rd_reg <= done_rd_reg + 1'b1;
    end
    if (take) begin
        cur_addr_reg <= cur_addr_reg + {{(ADDR_WIDTH-9-OFF_W){1'b0}}, s2_len_reg, {OFF_W{1'b0}}};
        cur_left_reg <= cur_left_reg - {{(BEAT_WIDTH-9){1'b0}}, s2_len_reg};
        cur_issued_reg <= cur_issued_reg + {{(BEAT_WIDTH-9){1'b0}}, s2_len_reg};
    end
    if (closing) begin
        cur_reg <= 1'b0;
    end

    s1_ok_reg <= cur_reg && !head_moves;
    s1_ended_reg <= cur_ended_reg;
    s1_limit_reg <= limit_4k ? words_4k[8:0] : BURST_MAX;
    s1_big_reg <= left_big;
    s1_cut_reg <= left_big || (limit_4k ? left_over_4k : left_over_max);
    s1_left_reg <= cur_left_reg[8:0];

    s2_ok_reg <= s1_ok_reg && !head_moves;
    s2_len_reg <= s2_len_next;
    s2_last_reg <= s1_ended_reg && !s1_cut_reg;
    s2_close_reg <= s1_ended_reg && !s1_big_reg && s1_left_reg == 9'd0;

    if (rst || clear) begin
        plan_wr_reg <= {(P_W+1){1'b0}};
        plan_rd_reg <= {(P_W+1){1'b0}};
        done_wr_reg <= {(P_W+1){1'b0}};
        done_rd_reg <= {(P_W+1){1'b0}};
        cur_reg <= 1'b0;
        avail_reg <= {AVAIL_WIDTH{1'b0}};
        avail_ok_reg <= s2_len_next == 9'd0;
        s1_ok_reg <= 1'b0;
        s2_ok_reg <= 1'b0;
    end
end

`ifdef FORMAL
always @* begin
    if (!rst && s1_ok_reg) begin
        inv_planner_s1_cut: assert(s1_cut_reg == (s1_big_reg || s1_left_reg > s1_limit_reg));
    end
    // (while a proposal counts: s2_len_reg is unknown until one is computed)
    if (!rst && s2_ok_reg) begin
        inv_planner_avail_ok: assert(avail_ok_reg == (avail_reg >= {{(AVAIL_WIDTH-9){1'b0}}, s2_len_reg}));
    end
end
`endif

endmodule

`resetall
