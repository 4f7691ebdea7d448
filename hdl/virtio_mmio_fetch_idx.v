`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * virtio-mmio fetch, first stage: a run of pops on one queue. Reads avail.idx
 * when the heads known are all asked for (the model: only when the last value
 * read is used up), checks it (AVAIL_IDX_JUMP), and reads the heads of
 * published chains in bursts (up to HEAD_BURST, never across the end of the
 * ring), as entries in avail-ring order for the next stage: HEAD, SHADOW
 * (a new avail.idx), and the run's end (NOTHING new, ERROR, YIELD after
 * RUN_MAX heads while other queues wait, ABORT).
 *
 * One read in flight; a read is issued only when the entry FIFO has room
 * for everything it brings back.
 */
module virtio_mmio_fetch_idx #
(
    // Width of DMA addresses
    parameter ADDR_WIDTH = 32,
    // Width of the ring read data path
    parameter DATA_WIDTH = 32,
    // Width of keep
    parameter KEEP_WIDTH = (DATA_WIDTH/8),
    // Heads read at once
    parameter HEAD_BURST = 16,
    // Heads of a run before it yields to other queues
    parameter RUN_MAX = 16,
    // Width of the entry FIFO's free count
    parameter SPACE_WIDTH = 6
)
(
    input  wire                     clk,
    input  wire                     rst,

    // a run is picked (load its start state, the queue's committed avail
    // state: the unit is idle) and starts (run_start: only in a cycle of run_load)
    input  wire                     run_load,
    input  wire                     run_start,
    input  wire [15:0]              start_last_avail,
    input  wire [15:0]              start_shadow,
    // the run's queue
    input  wire [15:0]              num,
    // num - 1
    input  wire [15:0]              num_mask,
    input  wire [ADDR_WIDTH-1:0]    avail_addr,
    input  wire                     others_waiting,

    // stop the run: abandoned, or ended by a later stage
    input  wire                     abort,

    output wire [ADDR_WIDTH-1:0]    rd_addr,
    output wire [15:0]              rd_len,
    output wire                     rd_valid,
    input  wire                     rd_ready,

    input  wire [DATA_WIDTH-1:0]    rsp_data,
    input  wire [KEEP_WIDTH-1:0]    rsp_keep,
    input  wire                     rsp_last,
    input  wire                     rsp_err,
    input  wire                     rsp_valid,

    output wire [2:0]               out_kind,
    output wire [15:0]              out_val,
    output wire [7:0]               out_cause,
    output wire                     out_valid,
    input  wire                     out_ready,
    input  wire [SPACE_WIDTH-1:0]   out_space,

    // the run's last entry is out and nothing is in flight
    output wire                     idle
);

`include "virtio_mmio_defs.vh"

localparam HB_W = $clog2(HEAD_BURST+1);
localparam [15:0] HEAD_BURST16 = HEAD_BURST[15:0];
localparam [15:0] RUN_MAX16 = RUN_MAX[15:0];
localparam LANES = KEEP_WIDTH;
localparam HBUF_W = 16*HEAD_BURST + DATA_WIDTH;

initial begin
    if (HEAD_BURST < 1 || HEAD_BURST > 64) begin
        $error("Error: HEAD_BURST must be 1 to 64 (instance %m)");
        $finish;
    end
    if (RUN_MAX < 1 || RUN_MAX > 65535) begin
        $error("Error: RUN_MAX must be 1 to 65535 (instance %m)");
        $finish;
    end
end

reg active_reg, active_next;
reg ended_reg, ended_next;
reg [15:0] heads_ptr_reg, heads_ptr_next;
reg [15:0] shadow_reg, shadow_next;
reg [15:0] budget_reg, budget_next;
// budget_reg == 0, kept beside it (the yield decision starts from it); its
// next value at a heads read compares registers, off the issue decision
reg budget_zero_reg, budget_zero_next;
wire [15:0] budget_left = budget_zero_reg ? RUN_MAX16 : budget_reg;
wire budget_used_up = budget_left == {{(16-HB_W){1'b0}}, calc_n_reg};

// the read in flight: avail.idx (0) or heads (1), and how many heads
reg rd_out_reg, rd_out_next;
reg rd_heads_reg, rd_heads_next;
reg [HB_W-1:0] rd_n_reg, rd_n_next;
reg [ADDR_WIDTH-1:0] rd_addr_reg, rd_addr_next;
reg [15:0] rd_len_reg, rd_len_next;
reg rd_valid_reg, rd_valid_next;

// heads received, sent on one a cycle
reg [HBUF_W-1:0] hbuf_reg, hbuf_next;
reg [7:0] hbytes_reg, hbytes_next;
reg [HB_W-1:0] emit_n_reg, emit_n_next;
reg [HB_W-1:0] emit_i_reg, emit_i_next;

// the entry out
reg [2:0] out_kind_int;
reg [15:0] out_val_int;
reg [7:0] out_cause_int;
reg out_valid_int;
// an entry decided from a response, waiting for its turn (never more than one)
reg pend_reg, pend_next;
reg [2:0] pend_kind_reg, pend_kind_next;
reg [15:0] pend_val_reg, pend_val_next;
reg [7:0] pend_cause_reg, pend_cause_next;

// a heads read's size, worked out in the two cycles before the read goes out
// (four limits: a long chain of compares kept off the read's address and
// length): the published heads up to a burst and the room (ring's end, entry
// FIFO) first, then their least with the run's budget
reg [1:0] calc_reg, calc_next;
reg [HB_W-1:0] calc_ring_reg, calc_ring_next;
reg [15:0] calc_room_reg, calc_room_next;
reg [HB_W-1:0] calc_n_reg, calc_n_next;
// avail.idx as read, judged the cycle after it arrives (the read stays out
// until then)
reg idx_hold_reg, idx_hold_next;
reg [15:0] idx_val_reg, idx_val_next;

reg [15:0] slot;
reg [15:0] n;
reg [15:0] n_ring, n_room;
reg [15:0] waiting;
reg [15:0] idx_val;
reg [HBUF_W-1:0] beat_bits;

assign rd_addr = rd_addr_reg;
assign rd_len = rd_len_reg;
assign rd_valid = rd_valid_reg;
assign out_kind = out_kind_int;
assign out_val = out_val_int;
assign out_cause = out_cause_int;
assign out_valid = out_valid_int;
assign idle = !active_reg;

wire unused_ok = &{1'b0, rsp_keep};

always @* begin
    active_next = active_reg;
    ended_next = ended_reg;
    heads_ptr_next = heads_ptr_reg;
    shadow_next = shadow_reg;
    budget_next = budget_reg;
    budget_zero_next = budget_zero_reg;
    rd_out_next = rd_out_reg;
    rd_heads_next = rd_heads_reg;
    rd_n_next = rd_n_reg;
    rd_addr_next = rd_addr_reg;
    rd_len_next = rd_len_reg;
    rd_valid_next = rd_valid_reg && !rd_ready;
    hbuf_next = hbuf_reg;
    hbytes_next = hbytes_reg;
    emit_n_next = emit_n_reg;
    emit_i_next = emit_i_reg;
    pend_next = pend_reg;
    pend_kind_next = pend_kind_reg;
    pend_val_next = pend_val_reg;
    pend_cause_next = pend_cause_reg;

    out_kind_int = K_CHAIN;
    out_val_int = 16'd0;
    out_cause_int = 8'd0;
    out_valid_int = 1'b0;

    calc_next = 2'd0;
    calc_ring_next = calc_ring_reg;
    calc_room_next = calc_room_reg;
    idx_hold_next = 1'b0;
    idx_val_next = idx_val_reg;
    calc_n_next = calc_n_reg;
    slot = heads_ptr_reg & num_mask;
    n = 16'd0;
    n_ring = 16'd0;
    n_room = 16'd0;
    waiting = 16'd0;
    idx_val = idx_val_reg;
    beat_bits = {HBUF_W{1'b0}};

    // a heads read's size (the decisions below use these only in the stage
    // of calc_reg that follows the one that loaded them, so they load every
    // cycle, behind no decision): at most a burst, up to the ring's end, what
    // the entry FIFO holds, then the run's budget
    n_ring = shadow_reg - heads_ptr_reg;
    if (n_ring > HEAD_BURST16) begin
        n_ring = HEAD_BURST16;
    end
    n_room = num - slot;
    if (n_room > {{(16-SPACE_WIDTH){1'b0}}, out_space}) begin
        n_room = {{(16-SPACE_WIDTH){1'b0}}, out_space};
    end
    calc_ring_next = n_ring[HB_W-1:0];
    calc_room_next = n_room;
    n = {{(16-HB_W){1'b0}}, calc_ring_reg} > calc_room_reg ? calc_room_reg : {{(16-HB_W){1'b0}}, calc_ring_reg};
    if (!budget_zero_reg && n > budget_reg) begin
        n = budget_reg;
    end
    if (calc_reg == 2'd1) begin
        calc_n_next = n[HB_W-1:0];
    end

    if (run_load) begin
        active_next = run_start;
        ended_next = 1'b0;
        heads_ptr_next = start_last_avail;
        shadow_next = start_shadow;
        budget_next = RUN_MAX16;
        budget_zero_next = 1'b0;
        emit_n_next = {HB_W{1'b0}};
        emit_i_next = {HB_W{1'b0}};
        pend_next = 1'b0;
    end

    // responses
    if (rsp_valid && rd_out_reg) begin
        if (rd_heads_reg) begin
            beat_bits[DATA_WIDTH-1:0] = rsp_data;
            // (a read's first beat starts the buffer afresh: no clear at the
            // read's issue, behind its decision)
            hbuf_next = (hbytes_reg == 8'd0 ? {HBUF_W{1'b0}} : hbuf_reg) | (beat_bits << {hbytes_reg, 3'b000});
            hbytes_next = hbytes_reg + LANES[7:0];
        end
        if (rsp_last && !rd_heads_reg && !rsp_err) begin
            idx_hold_next = 1'b1;
            idx_val_next = rsp_data[15:0];
        end else if (rsp_last) begin
            rd_out_next = 1'b0;
            if (abort || ended_reg) begin
                // dropped
            end else if (rsp_err) begin
                pend_next = 1'b1;
                pend_kind_next = K_ERROR;
                pend_val_next = BUS_INFO_READ;
                pend_cause_next = CAUSE_BUS_ERROR;
                ended_next = 1'b1;
            end else begin
                // a heads read (avail.idx without an error is held above)
                emit_n_next = rd_n_reg;
                emit_i_next = {HB_W{1'b0}};
                heads_ptr_next = heads_ptr_reg + {{(16-HB_W){1'b0}}, rd_n_reg};
            end
        end
    end
    if (idx_hold_reg) begin
        rd_out_next = 1'b0;
        if (!abort && !ended_reg) begin
            // avail.idx (the model's read_avail_idx)
            waiting = idx_val - shadow_reg;
            pend_next = 1'b1;
            pend_val_next = idx_val;
            if (waiting > num) begin
                pend_kind_next = K_ERROR;
                pend_cause_next = CAUSE_AVAIL_IDX_JUMP;
                ended_next = 1'b1;
            end else if (waiting == 16'd0) begin
                pend_kind_next = K_NOTHING;
                ended_next = 1'b1;
            end else begin
                pend_kind_next = K_SHADOW;
                shadow_next = idx_val;
            end
        end
    end

    // entries out: heads received, then the entry a response decided
    if (active_reg) begin
        if (emit_i_reg != emit_n_reg) begin
            out_kind_int = K_CHAIN;
            out_val_int = hbuf_reg[{emit_i_reg, 4'b0000} +: 16];
            out_valid_int = !abort;
            // (the entry FIFO takes it: the read was sized to its room)
            emit_i_next = emit_i_reg + 1'b1;
        end else if (pend_reg) begin
            out_kind_int = pend_kind_reg;
            out_val_int = pend_val_reg;
            out_cause_int = pend_cause_reg;
            out_valid_int = !(abort && pend_kind_reg == K_SHADOW);
            if (out_ready || !out_valid_int) begin
                pend_next = 1'b0;
            end
        end else if (ended_reg) begin
            // the run's last entry is out, and nothing is in flight: every
            // way of ending leaves none, and no read is issued after it
            active_next = 1'b0;
        end else if (abort) begin
            if (!rd_out_reg && !rd_valid_reg) begin
                pend_next = 1'b1;
                pend_kind_next = K_ABORT;
                ended_next = 1'b1;
            end
        end else if (!rd_out_reg && !rd_valid_reg) begin
            if (budget_zero_reg && others_waiting) begin
                pend_next = 1'b1;
                pend_kind_next = K_YIELD;
                ended_next = 1'b1;
            end else if (heads_ptr_reg != shadow_reg) begin
                // heads of published chains, sized above in two stages
                if (calc_reg == 2'd0) begin
                    calc_next = 2'd1;
                end else if (calc_reg == 2'd1) begin
                    calc_next = 2'd2;
                end else if (calc_n_reg != {HB_W{1'b0}}) begin
                    rd_addr_next = avail_addr + 4 + {{(ADDR_WIDTH-17){1'b0}}, slot, 1'b0};
                    rd_len_next = {{(15-HB_W){1'b0}}, calc_n_reg, 1'b0};
                    rd_valid_next = 1'b1;
                    rd_out_next = 1'b1;
                    rd_heads_next = 1'b1;
                    rd_n_next = calc_n_reg;
                    hbytes_next = 8'd0;
                    budget_next = budget_left - {{(16-HB_W){1'b0}}, calc_n_reg};
                    budget_zero_next = budget_used_up;
                end
            end else if (out_space != 0) begin
                // the known heads are all asked for: look at avail.idx
                rd_addr_next = avail_addr + 2;
                rd_len_next = 16'd2;
                rd_valid_next = 1'b1;
                rd_out_next = 1'b1;
                rd_heads_next = 1'b0;
                if (budget_zero_reg) begin
                    budget_next = RUN_MAX16;
                    budget_zero_next = 1'b0;
                end
            end
        end
    end
end

always @(posedge clk) begin
    active_reg <= active_next;
    ended_reg <= ended_next;
    heads_ptr_reg <= heads_ptr_next;
    shadow_reg <= shadow_next;
    budget_reg <= budget_next;
    budget_zero_reg <= budget_zero_next;
    idx_hold_reg <= idx_hold_next;
    idx_val_reg <= idx_val_next;
    calc_reg <= calc_next;
    calc_ring_reg <= calc_ring_next;
    calc_room_reg <= calc_room_next;
    calc_n_reg <= calc_n_next;
    rd_out_reg <= rd_out_next;
    rd_heads_reg <= rd_heads_next;
    rd_n_reg <= rd_n_next;
    rd_addr_reg <= rd_addr_next;
    rd_len_reg <= rd_len_next;
    rd_valid_reg <= rd_valid_next;
    hbuf_reg <= hbuf_next;
    hbytes_reg <= hbytes_next;
    emit_n_reg <= emit_n_next;
    emit_i_reg <= emit_i_next;
    pend_reg <= pend_next;
    pend_kind_reg <= pend_kind_next;
    pend_val_reg <= pend_val_next;
    pend_cause_reg <= pend_cause_next;

    if (rst) begin
        active_reg <= 1'b0;
        ended_reg <= 1'b0;
        calc_reg <= 2'd0;
        idx_hold_reg <= 1'b0;
        rd_out_reg <= 1'b0;
        rd_valid_reg <= 1'b0;
        emit_n_reg <= {HB_W{1'b0}};
        emit_i_reg <= {HB_W{1'b0}};
        pend_reg <= 1'b0;
    end
end

`ifdef FORMAL
/*
 * Formal checks (docs/formal.md, `make formal`): the invariants the stage's
 * decisions rely on. A head received goes into the entry FIFO at once (its
 * read was sized to the room the FIFO had, which only grows until the heads
 * are out); the run ends with no read in flight, and none is issued after;
 * the register that says the run's budget is used up agrees with the budget.
 */
always @* begin
    if (!rst) begin
        if (active_reg && emit_i_reg != emit_n_reg && !abort) begin
            inv_fetch_idx_head_room: assert(out_ready);
        end
        if (ended_reg) begin
            inv_fetch_idx_ended_quiet: assert(!rd_out_reg && !rd_valid_reg);
        end
        if (active_reg) begin
            inv_fetch_idx_budget_zero: assert(budget_zero_reg == (budget_reg == 16'd0));
        end
    end
end
`endif

endmodule

`resetall
