`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * virtio-mmio fetch, second stage: the head checks of the model's pop, in
 * order, and the read of each chain's first descriptor ahead of the walk.
 *
 * - head >= QueueNum: ERROR HEAD_RANGE (nothing of the table is read);
 * - head maybe in flight (a committed chain of the queue not yet completed,
 *   or an earlier chain of this run not yet committed), or as many chains in
 *   flight as QueueNum: RECHECK. Chains ahead of it may complete before it
 *   would be popped; the commit stage decides in order, with the state then;
 * - else the first descriptor is read (tag FIRST) and the chain goes on.
 * Other entries pass through. The heads of the run's uncommitted chains are
 * kept (up to RUN_CHAINS; a full list waits for commits).
 *
 * An entry is looked up in a register stage before it is decided: the
 * in-flight map, this run's heads (with the one being added in that cycle)
 * and the range check, all registered. While an entry waits there, a chain
 * can only leave flight, so a wait errs on the side of RECHECK.
 */
module virtio_mmio_fetch_head #
(
    // Width of DMA addresses
    parameter ADDR_WIDTH = 32,
    // descriptor index within a ring
    parameter QN_W = 4,
    // in-flight count width
    parameter IFP_W = 5,
    // uncommitted chains of a run in the pipeline
    parameter RUN_CHAINS = 16
)
(
    input  wire                     clk,
    input  wire                     rst,

    // a run is picked (load its start state: the unit is idle) and starts
    // (run_start: only in a cycle of run_load)
    input  wire                     run_load,
    input  wire                     run_start,
    input  wire [15:0]              num,
    // num - 1, loaded with num (full1's compare then needs no addition)
    input  wire [15:0]              num_mask,
    input  wire [ADDR_WIDTH-1:0]    desc_addr,
    // chains of the run's queue committed and not yet completed
    input  wire [IFP_W-1:0]         inflight,
    // the head looked at is in flight (committed, not completed)
    output wire [15:0]              chk_head,
    input  wire                     chk_busy,
    // a chain of the run's queue was committed
    input  wire                     commit_chain,

    input  wire                     abort,
    // this stage ended the run: the first stage stops
    output wire                     terminate,

    input  wire [2:0]               in_kind,
    input  wire [15:0]              in_val,
    input  wire [7:0]               in_cause,
    input  wire                     in_valid,
    output wire                     in_ready,

    output wire [ADDR_WIDTH-1:0]    rd_addr,
    output wire                     rd_valid,
    input  wire                     rd_ready,
    // a first-descriptor slot is free in the walk stage
    input  wire                     first_credit,

    output wire [2:0]               out_kind,
    output wire [15:0]              out_val,
    output wire [7:0]               out_cause,
    output wire                     out_valid,
    input  wire                     out_ready,

    output wire                     idle
);

`include "virtio_mmio_defs.vh"

localparam RP_W = $clog2(RUN_CHAINS);

initial begin
    if (RUN_CHAINS < 2 || (RUN_CHAINS & (RUN_CHAINS-1)) != 0) begin
        $error("Error: RUN_CHAINS must be a power of two, at least 2 (instance %m)");
        $finish;
    end
end

reg active_reg, active_next;
// this stage has sent the run's last entry on
reg ended_reg, ended_next;
// the first stage's last entry has arrived
reg up_done_reg, up_done_next;
reg terminate_reg, terminate_next;

// heads of the run's chains not yet committed, oldest first
// (a valid bit per slot: the match needs no pointer arithmetic)
reg [QN_W-1:0] cam [0:RUN_CHAINS-1];
reg [RUN_CHAINS-1:0] cam_vld_reg;
reg [RP_W:0] cam_wr_reg, cam_rd_reg, cam_count_reg;

reg [ADDR_WIDTH-1:0] rd_addr_reg, rd_addr_next;
reg rd_valid_reg, rd_valid_next;

reg [2:0] out_kind_reg, out_kind_next;
reg [15:0] out_val_reg, out_val_next;
reg [7:0] out_cause_reg, out_cause_next;
reg out_valid_reg, out_valid_next;

// the entry looked up, waiting for its decision
reg pre_valid_reg;
reg [2:0] pre_kind_reg;
reg [15:0] pre_val_reg;
reg [7:0] pre_cause_reg;
reg pre_range_reg;
reg pre_maybe_reg;


reg pre_take;
reg in_take;
reg cam_push;
reg terminal_in;

wire [RP_W:0] cam_count = cam_count_reg;
// a commit leaves the list a cycle later (the commit decision stays off
// this stage's paths): meanwhile its head still matches, on the side of
// RECHECK; a run's start drops it (the run's chains are all committed by then)
reg commit_chain_reg;
wire cam_pop = commit_chain_reg && cam_count_reg != 0;

// chains of the run's queue in flight or on their way (committed and not
// completed, and this run's heads not yet committed) against QueueNum,
// registered: as many as QueueNum (full0), or one short of it (full1, for
// when a head was added in that cycle). A commit moves a chain from one
// count to the other (the list's count a cycle late: its pop is taken off);
// a completion only lowers the sum, so a value a cycle old errs on the side
// of RECHECK.
// The sum (inflight + list count - pop) >= num is compared as inflight >=
// num - (list count - pop): the right side comes from registers beside the
// in-flight count's lookup, so one compare follows it (negative: full).
// The pop is taken off after the compares: with a pop the room is one more,
// so full is inflight > room (the compares side by side; the pop picks one).
reg full0_reg, full1_reg, pushed_reg;
wire [16:0] room0 = {1'b0, num} - {{(16-RP_W){1'b0}}, cam_count_reg};
wire [16:0] room1 = {1'b0, num_mask} - {{(16-RP_W){1'b0}}, cam_count_reg};
wire [15:0] inflight16 = {{(16-IFP_W){1'b0}}, inflight};
wire full0_keep = room0[16] || inflight16 >= room0[15:0];
wire full0_pop = room0[16] || inflight16 > room0[15:0];
wire full1_keep = room1[16] || inflight16 >= room1[15:0];
wire full1_pop = room1[16] || inflight16 > room1[15:0];
wire claim_full = pushed_reg ? full1_reg : full0_reg;
wire [RUN_CHAINS-1:0] cam_match;

genvar k;
generate
for (k = 0; k < RUN_CHAINS; k = k + 1) begin : cam_cmp
    assign cam_match[k] = cam_vld_reg[k] && {{(16-QN_W){1'b0}}, cam[k]} == in_val;
end
endgenerate
wire out_free = !out_valid_reg || out_ready;
wire cam_hit = |cam_match || (cam_push && pre_val_reg == in_val);

assign terminate = terminate_reg;
assign chk_head = in_val;
assign in_ready = in_take;
assign rd_addr = rd_addr_reg;
assign rd_valid = rd_valid_reg;
assign out_kind = out_kind_reg;
assign out_val = out_val_reg;
assign out_cause = out_cause_reg;
assign out_valid = out_valid_reg;
assign idle = !active_reg;

always @* begin
    active_next = active_reg;
    ended_next = ended_reg;
    up_done_next = up_done_reg;
    terminate_next = terminate_reg;
    rd_addr_next = rd_addr_reg;
    rd_valid_next = rd_valid_reg && !rd_ready;
    out_kind_next = out_kind_reg;
    out_val_next = out_val_reg;
    out_cause_next = out_cause_reg;
    out_valid_next = out_valid_reg && !out_ready;
    pre_take = 1'b0;
    cam_push = 1'b0;

    terminal_in = pre_kind_reg != K_CHAIN && pre_kind_reg != K_SHADOW;

    if (run_load) begin
        active_next = run_start;
        ended_next = 1'b0;
        up_done_next = 1'b0;
        terminate_next = 1'b0;
    end else if (active_reg && pre_valid_reg) begin
        if (ended_reg) begin
            // after this stage ended the run (or abandoned, below): drop up to the first stage's end
            pre_take = 1'b1;
            if (terminal_in) begin
                up_done_next = 1'b1;
            end
        end else if (out_free) begin
            if (pre_kind_reg == K_CHAIN) begin
                if (pre_range_reg) begin
                    // hostile-input case 2
                    pre_take = 1'b1;
                    out_kind_next = K_ERROR;
                    out_val_next = pre_val_reg;
                    out_cause_next = CAUSE_HEAD_RANGE;
                    out_valid_next = 1'b1;
                    ended_next = 1'b1;
                    terminate_next = 1'b1;
                end else if (pre_maybe_reg || claim_full) begin
                    // case 13 unless chains ahead complete first: decided at commit
                    pre_take = 1'b1;
                    out_kind_next = K_RECHECK;
                    out_val_next = pre_val_reg;
                    out_valid_next = 1'b1;
                    ended_next = 1'b1;
                    terminate_next = 1'b1;
                end else if (!rd_valid_reg && first_credit && cam_count != RUN_CHAINS[RP_W:0]) begin
                    // (not in the cycle the previous read is granted: the grant
                    // would reach this list's write enables)
                    pre_take = 1'b1;
                    rd_addr_next = desc_addr + {{(ADDR_WIDTH-20){1'b0}}, pre_val_reg, 4'b0000};
                    rd_valid_next = 1'b1;
                    cam_push = 1'b1;
                    out_kind_next = K_CHAIN;
                    out_val_next = pre_val_reg;
                    out_valid_next = 1'b1;
                end
            end else begin
                pre_take = 1'b1;
                out_kind_next = pre_kind_reg;
                out_val_next = pre_val_reg;
                out_cause_next = pre_cause_reg;
                out_valid_next = 1'b1;
                if (terminal_in) begin
                    ended_next = 1'b1;
                    up_done_next = 1'b1;
                end
            end
        end
    end

    // abandoned (a stop, reset or break, or the run ended downstream): the
    // entry is dropped. This overrides the decision at its end, so that the
    // abort reaches only the control registers (the read's address and the
    // output's fields may load: neither is valid)
    if (!run_load && active_reg && pre_valid_reg && !ended_reg && abort && !terminal_in) begin
        pre_take = 1'b1;
        cam_push = 1'b0;
        rd_valid_next = rd_valid_reg && !rd_ready;
        out_valid_next = out_valid_reg && !out_ready;
        ended_next = ended_reg;
        terminate_next = terminate_reg;
    end

    // the next entry into the lookup stage
    in_take = active_reg && !run_load && in_valid && (!pre_valid_reg || pre_take);

    if (active_reg && ended_reg && up_done_reg && !pre_valid_reg && !rd_valid_reg && !out_valid_reg) begin
        active_next = 1'b0;
    end
end

always @(posedge clk) begin
    active_reg <= active_next;
    ended_reg <= ended_next;
    up_done_reg <= up_done_next;
    terminate_reg <= terminate_next;
    rd_addr_reg <= rd_addr_next;
    rd_valid_reg <= rd_valid_next;
    out_kind_reg <= out_kind_next;
    out_val_reg <= out_val_next;
    out_cause_reg <= out_cause_next;
    out_valid_reg <= out_valid_next;

    commit_chain_reg <= commit_chain && !run_load;
    full0_reg <= cam_pop ? full0_pop : full0_keep;
    // (the sum + 1 >= num: compared with num - 1, full when num is 0)
    full1_reg <= num == 16'd0 || (cam_pop ? full1_pop : full1_keep);
    pushed_reg <= cam_push;

    if (pre_take) begin
        pre_valid_reg <= 1'b0;
    end
    if (in_take) begin
        pre_valid_reg <= 1'b1;
        pre_kind_reg <= in_kind;
        pre_val_reg <= in_val;
        pre_cause_reg <= in_cause;
        pre_range_reg <= in_val >= num;
        pre_maybe_reg <= chk_busy || cam_hit;
    end

    if (cam_pop) begin
        cam_vld_reg[cam_rd_reg[RP_W-1:0]] <= 1'b0;
        cam_rd_reg <= cam_rd_reg + 1'b1;
    end
    // (the head is written into the free slot at cam_wr whether or not it is
    // pushed: only a valid slot matches)
    if (cam_count_reg != RUN_CHAINS[RP_W:0]) begin
        cam[cam_wr_reg[RP_W-1:0]] <= pre_val_reg[QN_W-1:0];
    end
    if (cam_push) begin
        cam_vld_reg[cam_wr_reg[RP_W-1:0]] <= 1'b1;
        cam_wr_reg <= cam_wr_reg + 1'b1;
    end
    if (cam_push && !cam_pop) begin
        cam_count_reg <= cam_count_reg + 1'b1;
    end else if (cam_pop && !cam_push) begin
        cam_count_reg <= cam_count_reg - 1'b1;
    end
    if (run_load) begin
        cam_vld_reg <= {RUN_CHAINS{1'b0}};
        cam_wr_reg <= {(RP_W+1){1'b0}};
        cam_rd_reg <= {(RP_W+1){1'b0}};
        cam_count_reg <= {(RP_W+1){1'b0}};
    end

    if (rst) begin
        commit_chain_reg <= 1'b0;
        active_reg <= 1'b0;
        ended_reg <= 1'b0;
        up_done_reg <= 1'b0;
        terminate_reg <= 1'b0;
        rd_valid_reg <= 1'b0;
        out_valid_reg <= 1'b0;
        pre_valid_reg <= 1'b0;
        cam_vld_reg <= {RUN_CHAINS{1'b0}};
        cam_wr_reg <= {(RP_W+1){1'b0}};
        cam_rd_reg <= {(RP_W+1){1'b0}};
        cam_count_reg <= {(RP_W+1){1'b0}};
    end
end

`ifdef FORMAL
// (docs/formal.md, `make formal`: the units' invariants) the slot at cam_wr
// is free while the list has room (a head written into it matches nothing)
always @* begin
    if (!rst && cam_count_reg != RUN_CHAINS[RP_W:0]) begin
        inv_fetch_head_cam_free: assert(!cam_vld_reg[cam_wr_reg[RP_W-1:0]]);
    end
end
// full0 and full1 are the sums they replaced (claim >= num, claim + 1 >=
// num) once a run has been loaded (num_mask is loaded with num at each pick)
wire [16:0] claim = {{(17-IFP_W){1'b0}}, inflight} + {{(16-RP_W){1'b0}}, cam_count_reg}
    - {16'd0, cam_pop};
reg [16:0] f_claim_reg;
reg [15:0] f_num_reg;
reg f_loaded_reg = 1'b0;
reg f_full1_known_reg = 1'b0;
always @(posedge clk) begin
    f_claim_reg <= claim;
    f_num_reg <= num;
    f_full1_known_reg <= f_loaded_reg;
    if (run_load) begin
        f_loaded_reg <= 1'b1;
    end
end
always @* begin
    if (f_full1_known_reg) begin
        inv_fetch_head_full: assert(full0_reg == (f_claim_reg >= {1'b0, f_num_reg})
            && full1_reg == (f_claim_reg + 17'd1 >= {1'b0, f_num_reg}));
    end
end
`endif

endmodule

`resetall
