`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * virtio-mmio fetch, third stage: walks each chain as the model's walk_chain,
 * with the same checks in the same order and the same cause codes:
 * index range, loop bound, indirect rules (nested, not negotiated, with
 * NEXT, size, window), zero length, DMA window, direction, total length.
 * The first descriptor of each chain was read ahead by the head stage;
 * the next ones are read here, one at a time in the ring's table and by
 * chunks of up to INDIRECT_CHUNK in an indirect table (a chain that leaves
 * the chunk drops the rest of it). Segments (address, length) go to the
 * queue's segment buffer; each walked chain, and every other entry, goes
 * on as a token in order. A chain that does not fit the segment buffer ends
 * the run with WAIT_SPACE (it stays in the avail ring).
 */
module virtio_mmio_walk #
(
    // Width of a queue index
    parameter Q_W = 1,
    // Width of DMA addresses
    parameter ADDR_WIDTH = 32,
    // Width of the ring read data path
    parameter DATA_WIDTH = 32,
    // Width of keep
    parameter KEEP_WIDTH = (DATA_WIDTH/8),
    // Largest indirect table accepted, in descriptors
    parameter INDIRECT_MAX = 32,
    // Per-queue segment buffer depth (power of two)
    parameter SEG_DEPTH = 32,
    // First descriptors read ahead
    parameter DESC_PREFETCH = 8,
    // Descriptors of an indirect table read at once (power of two)
    parameter INDIRECT_CHUNK = 8,
    // DMA window: [DMA_BASE, DMA_BASE+DMA_SIZE)
    parameter [63:0] DMA_BASE = 64'd0,
    parameter [64:0] DMA_SIZE = 65'd1 << ADDR_WIDTH
)
(
    input  wire                     clk,
    input  wire                     rst,

    // a run is picked (load its start state: the unit is idle) and starts
    // (run_start: only in a cycle of run_load)
    input  wire                     run_load,
    input  wire                     run_start,
    input  wire [Q_W-1:0]           run_q,
    // the run's queue: end of its committed segments, oldest segment in use
    input  wire [$clog2(SEG_DEPTH):0] start_seg,
    // the queue's seg_tail as it was a cycle ago, and whether it was written since
    input  wire [$clog2(SEG_DEPTH):0] seg_tail,
    input  wire                   seg_tail_moved,
    input  wire [15:0]              num,
    input  wire [ADDR_WIDTH-1:0]    desc_addr,
    input  wire                     feat_indirect,

    input  wire                     abort,
    output wire                     terminate,

    input  wire [2:0]               in_kind,
    input  wire [15:0]              in_val,
    input  wire [7:0]               in_cause,
    input  wire                     in_valid,
    output wire                     in_ready,

    // ring read responses: first descriptors (head stage), next descriptors (here)
    input  wire [DATA_WIDTH-1:0]    rsp_data,
    input  wire                     rsp_last,
    input  wire                     rsp_err,
    input  wire                     rsp_first_valid,
    input  wire                     rsp_walk_valid,
    input  wire                     first_issue,
    output wire                     first_credit,

    output wire [ADDR_WIDTH-1:0]    rd_addr,
    output wire [15:0]              rd_len,
    output wire                     rd_valid,
    input  wire                     rd_ready,

    output wire                     seg_we,
    output wire [Q_W+$clog2(SEG_DEPTH)-1:0] seg_waddr,
    output wire [ADDR_WIDTH+31:0]   seg_wdata,

    output wire [2:0]               tok_kind,
    output wire [Q_W-1:0]           tok_q,
    output wire [15:0]              tok_val,
    output wire [7:0]               tok_cause,
    output wire [$clog2(SEG_DEPTH):0] tok_seg_start,
    output wire [$clog2(SEG_DEPTH):0] tok_rcnt,
    output wire [$clog2(SEG_DEPTH):0] tok_wfirst,
    output wire [$clog2(SEG_DEPTH):0] tok_wcnt,
    output wire [$clog2(SEG_DEPTH):0] tok_seg_end,
    output wire [31:0]              tok_wlen,
    output wire                     tok_valid,
    input  wire                     tok_ready,

    output wire                     idle
);

`include "virtio_mmio_defs.vh"

localparam SP_W = $clog2(SEG_DEPTH);
localparam SPP_W = SP_W+1;
localparam FD_W = $clog2(DESC_PREFETCH);
localparam FD = 2**FD_W;
localparam [FD_W+1:0] FIRST_MAX = DESC_PREFETCH[FD_W+1:0];
localparam CK_W = $clog2(INDIRECT_CHUNK);
localparam LANES = KEEP_WIDTH;
localparam [27:0] IND_MAX = INDIRECT_MAX[27:0];
localparam [16:0] CHUNK17 = INDIRECT_CHUNK[16:0];
localparam [65:0] DMA_BASE_X = {2'b00, DMA_BASE};
localparam [65:0] DMA_END_X = {2'b00, DMA_BASE} + {1'b0, DMA_SIZE};

localparam [2:0]
    S_IDLE = 3'd0,
    S_CHECK = 3'd1,
    S_DECIDE = 3'd2,
    S_NEXT = 3'd3,
    S_FETCH = 3'd4,
    S_TOKEN = 3'd5,
    S_DRAIN = 3'd6;

initial begin
    if (DESC_PREFETCH < 2 || DESC_PREFETCH > 16) begin
        $error("Error: DESC_PREFETCH must be 2 to 16 (instance %m)");
        $finish;
    end
    if (INDIRECT_CHUNK < 1 || INDIRECT_CHUNK > 32 || (INDIRECT_CHUNK & (INDIRECT_CHUNK-1)) != 0) begin
        $error("Error: INDIRECT_CHUNK must be a power of two, 1 to 32 (instance %m)");
        $finish;
    end
    if (SEG_DEPTH < 2 || (SEG_DEPTH & (SEG_DEPTH-1)) != 0) begin
        $error("Error: SEG_DEPTH must be a power of two, at least 2 (instance %m)");
        $finish;
    end
end

/*
 * Descriptor assembly: 16 bytes from the packed response beats
 */
reg [127:0] f_asm_reg, w_asm_reg;
reg [4:0] f_cnt_reg, w_cnt_reg;
reg f_err_reg, w_err_reg;

// first descriptors, in head order
reg [128:0] first_mem [0:FD-1];
reg [FD_W:0] first_wr_reg, first_rd_reg;
reg [FD_W:0] first_pend_reg;
// next descriptors of the read in flight
reg [128:0] walk_mem [0:INDIRECT_CHUNK-1];
reg [CK_W:0] walk_wr_reg, walk_rd_reg;

wire [FD_W:0] first_count = first_wr_reg - first_rd_reg;
wire [128:0] first_head = first_mem[first_rd_reg[FD_W-1:0]];
wire [128:0] walk_head = walk_mem[walk_rd_reg[CK_W-1:0]];
// (a flag of its own, kept by the pushes and pops: the chain's acceptance
// starts from it, not from a compare of the pointers)
reg first_any_reg;
wire first_empty = !first_any_reg;
wire walk_empty = walk_wr_reg == walk_rd_reg;
// first descriptors held or asked for (first_count + first_pend_reg), a register
// of its own: the credit is a compare with a constant. The head stage loads a
// read only while none of its own waits, so none is issued in the cycle it looks.
reg [FD_W+1:0] first_claim_reg;
assign first_credit = first_claim_reg < FIRST_MAX;

// a 16-byte descriptor completes with this beat
reg [127:0] f_asm_next, w_asm_next;
reg [4:0] f_cnt_next, w_cnt_next;
reg f_err_next, w_err_next;
reg f_push, w_push;
reg [255:0] asm_shift;

always @* begin
    f_asm_next = f_asm_reg;
    f_cnt_next = f_cnt_reg;
    f_err_next = f_err_reg;
    w_asm_next = w_asm_reg;
    w_cnt_next = w_cnt_reg;
    w_err_next = w_err_reg;
    f_push = 1'b0;
    w_push = 1'b0;
    asm_shift = 256'd0;

    if (rsp_first_valid) begin
        asm_shift[DATA_WIDTH-1:0] = rsp_data;
        asm_shift = asm_shift << {f_cnt_reg, 3'b000};
        f_asm_next = f_asm_reg | asm_shift[127:0];
        f_err_next = f_err_reg || rsp_err;
        f_cnt_next = f_cnt_reg + LANES[4:0];
        if (rsp_last) begin
            f_push = 1'b1;
            f_cnt_next = 5'd0;
        end
    end
    if (rsp_walk_valid) begin
        asm_shift = 256'd0;
        asm_shift[DATA_WIDTH-1:0] = rsp_data;
        asm_shift = asm_shift << {w_cnt_reg, 3'b000};
        w_asm_next = w_asm_reg | asm_shift[127:0];
        w_err_next = w_err_reg || rsp_err;
        w_cnt_next = w_cnt_reg + LANES[4:0];
        if (w_cnt_next >= 5'd16) begin
            w_push = 1'b1;
            w_cnt_next = 5'd0;
        end
    end
end

/*
 * The walk
 */
reg [2:0] state_reg, state_next;
reg active_reg, active_next;
reg ended_reg, ended_next;
reg up_done_reg, up_done_next;
reg terminate_reg, terminate_next;
reg [Q_W-1:0] q_reg;

// the descriptor being checked: {u64 addr, u32 len, u16 flags, u16 next}, read error
reg [127:0] d_reg, d_next;
reg d_err_reg, d_err_next;
// registered sums of the checks
reg d_window_ok_reg;
reg [32:0] d_total_reg;
reg d_len_zero_reg;
// S_NEXT's checks, registered from S_DECIDE's values (the next index against
// the table, the descriptors seen); an indirect table starts at 0 with room
reg nx_range_reg, nx_loop_reg, nx_table_reg, nx_table_next;
reg d_indirect_size_ok_reg;

reg [15:0] head_reg, head_next;
reg [ADDR_WIDTH-1:0] tbl_addr_reg, tbl_addr_next;
reg [16:0] tbl_len_reg, tbl_len_next;
reg [15:0] idx_reg, idx_next;
reg [16:0] seen_reg, seen_next;
reg [32:0] total_reg, total_next;
reg nested_reg, nested_next;
reg have_w_reg, have_w_next;
reg [SPP_W-1:0] wptr_reg, wptr_next;
reg [SPP_W-1:0] start_reg, start_next;
reg [SPP_W-1:0] rcnt_reg, rcnt_next;
reg [SPP_W-1:0] wfirst_reg, wfirst_next;
reg [SPP_W-1:0] wcnt_reg, wcnt_next;
reg [31:0] wlen_reg, wlen_next;

// the next-descriptor read in flight: first index, descriptors not yet taken
reg [15:0] chunk_next_reg, chunk_next_next;
reg [16:0] chunk_left_reg, chunk_left_next;

reg [ADDR_WIDTH-1:0] rd_addr_reg, rd_addr_next;
reg [15:0] rd_len_reg, rd_len_next;
reg rd_valid_reg, rd_valid_next;

reg [2:0] tok_kind_reg, tok_kind_next;
reg [15:0] tok_val_reg, tok_val_next;
reg [7:0] tok_cause_reg, tok_cause_next;
reg [SPP_W-1:0] tok_seg_start_reg, tok_seg_start_next;
reg [SPP_W-1:0] tok_rcnt_reg, tok_rcnt_next;
reg [SPP_W-1:0] tok_wfirst_reg, tok_wfirst_next;
reg [SPP_W-1:0] tok_wcnt_reg, tok_wcnt_next;
reg [SPP_W-1:0] tok_seg_end_reg, tok_seg_end_next;
reg [31:0] tok_wlen_reg, tok_wlen_next;
reg tok_valid_reg, tok_valid_next;

reg seg_we_int;
reg in_ready_int;
reg first_pop;
reg walk_pop;
reg emit;
reg [2:0] emit_kind;
reg [15:0] emit_val;
reg [7:0] emit_cause;
reg [16:0] n;
reg terminal_in;
reg take_data;
reg drop;

// (addr >= DMA_BASE as a borrow, which stays meaningful when DMA_BASE is 0)
wire [66:0] d_below = {3'b000, d_reg[63:0]} - {1'b0, DMA_BASE_X};
wire [63:0] d_addr = d_reg[63:0];
wire [31:0] d_len = d_reg[95:64];
wire [15:0] d_flags = d_reg[111:96];
wire [15:0] d_next_idx = d_reg[127:112];
wire [65:0] d_end = {2'b00, d_reg[63:0]} + {34'd0, d_reg[95:64]};
wire d_window_ok = d_window_ok_reg;
wire d_indirect_size_ok = d_indirect_size_ok_reg;
// the segment buffer is full when wptr is SEG_DEPTH ahead of the tail: with
// SEG_DEPTH a power of two and pointers one bit wider, that is the tail with
// its top bit flipped (an equality, no subtraction)
wire seg_full = wptr_reg == {~seg_tail[SP_W], seg_tail[SP_W-1:0]};
wire tok_free = !tok_valid_reg || tok_ready;

assign terminate = terminate_reg;
assign in_ready = in_ready_int;
assign rd_addr = rd_addr_reg;
assign rd_len = rd_len_reg;
assign rd_valid = rd_valid_reg;
assign seg_we = seg_we_int;
assign seg_waddr = {q_reg, wptr_reg[SP_W-1:0]};
assign seg_wdata = {d_addr[ADDR_WIDTH-1:0], d_len};
assign tok_kind = tok_kind_reg;
assign tok_q = q_reg;
assign tok_val = tok_val_reg;
assign tok_cause = tok_cause_reg;
assign tok_seg_start = tok_seg_start_reg;
assign tok_rcnt = tok_rcnt_reg;
assign tok_wfirst = tok_wfirst_reg;
assign tok_wcnt = tok_wcnt_reg;
assign tok_seg_end = tok_seg_end_reg;
assign tok_wlen = tok_wlen_reg;
assign tok_valid = tok_valid_reg;
assign idle = !active_reg;

// flag bits the transport does not define
wire unused_ok = &{1'b0, d_flags[15:3], d_end[65], d_addr, d_below[65:0]};

always @* begin
    state_next = state_reg;
    active_next = active_reg;
    ended_next = ended_reg;
    up_done_next = up_done_reg;
    terminate_next = terminate_reg;
    d_next = d_reg;
    d_err_next = d_err_reg;
    head_next = head_reg;
    tbl_addr_next = tbl_addr_reg;
    tbl_len_next = tbl_len_reg;
    idx_next = idx_reg;
    seen_next = seen_reg;
    nx_table_next = state_reg == S_NEXT ? nx_table_reg : 1'b0;
    total_next = total_reg;
    nested_next = nested_reg;
    have_w_next = have_w_reg;
    wptr_next = wptr_reg;
    start_next = start_reg;
    rcnt_next = rcnt_reg;
    wfirst_next = wfirst_reg;
    wcnt_next = wcnt_reg;
    wlen_next = wlen_reg;
    chunk_next_next = chunk_next_reg;
    chunk_left_next = chunk_left_reg;
    rd_addr_next = rd_addr_reg;
    rd_len_next = rd_len_reg;
    rd_valid_next = rd_valid_reg && !rd_ready;
    tok_kind_next = tok_kind_reg;
    tok_val_next = tok_val_reg;
    tok_cause_next = tok_cause_reg;
    tok_seg_start_next = tok_seg_start_reg;
    tok_rcnt_next = tok_rcnt_reg;
    tok_wfirst_next = tok_wfirst_reg;
    tok_wcnt_next = tok_wcnt_reg;
    tok_seg_end_next = tok_seg_end_reg;
    tok_wlen_next = tok_wlen_reg;
    tok_valid_next = tok_valid_reg && !tok_ready;

    seg_we_int = 1'b0;
    in_ready_int = 1'b0;
    first_pop = 1'b0;
    walk_pop = 1'b0;
    emit = 1'b0;
    emit_kind = K_ERROR;
    emit_val = 16'd0;
    emit_cause = 8'd0;
    n = 17'd0;
    terminal_in = in_kind != K_CHAIN && in_kind != K_SHADOW;
    take_data = in_kind == K_CHAIN && !first_empty;
    // a stop, reset or break drops the chain being decided: it overrides the
    // decision at its end (below), so that it reaches only the control registers
    drop = abort && (state_reg == S_DECIDE || state_reg == S_NEXT);

    if (run_load) begin
        active_next = run_start;
        ended_next = 1'b0;
        up_done_next = 1'b0;
        terminate_next = 1'b0;
        wptr_next = start_seg;
        state_next = S_IDLE;
    end else if (active_reg) begin
        case (state_reg)
            S_IDLE: begin
                if (take_data) begin
                    // the chain's own registers, loaded as it is offered (until
                    // it is taken, only S_CHECK reads them)
                    d_next = first_head[127:0];
                    d_err_next = first_head[128];
                    head_next = in_val;
                    idx_next = in_val;
                    tbl_addr_next = desc_addr;
                    tbl_len_next = {1'b0, num};
                    seen_next = 17'd1;
                    total_next = 33'd0;
                    nested_next = 1'b0;
                end
                if (in_valid && tok_free) begin
                    if (ended_reg || (abort && !terminal_in)) begin
                        // after the run ended here, or abandoned: drop up to
                        // the first stage's end (a chain's first descriptor with it)
                        if (in_kind != K_CHAIN || !first_empty) begin
                            in_ready_int = 1'b1;
                            first_pop = in_kind == K_CHAIN;
                            if (terminal_in) begin
                                up_done_next = 1'b1;
                            end
                        end
                    end else if (in_kind == K_CHAIN) begin
                        if (!first_empty) begin
                            // walk_chain from the head, in the ring's own table
                            in_ready_int = 1'b1;
                            first_pop = 1'b1;
                            have_w_next = 1'b0;
                            start_next = wptr_reg;
                            rcnt_next = {SPP_W{1'b0}};
                            wfirst_next = wptr_reg;
                            wcnt_next = {SPP_W{1'b0}};
                            wlen_next = 32'd0;
                            state_next = S_CHECK;
                        end
                    end else begin
                        in_ready_int = 1'b1;
                        emit = 1'b1;
                        emit_kind = in_kind;
                        emit_val = in_val;
                        emit_cause = in_cause;
                        if (terminal_in) begin
                            ended_next = 1'b1;
                            up_done_next = 1'b1;
                        end
                    end
                end
            end
            S_CHECK: begin
                // the sums are registered for the decision next cycle
                state_next = abort ? S_DRAIN : S_DECIDE;
            end
            S_DECIDE: begin
                // (the token register is free from S_CHECK to S_TOKEN: a chain
                // is taken only when it is, and nothing is emitted before its end)
                if (d_err_reg) begin
                    emit = 1'b1;
                    emit_kind = K_ERROR;
                    emit_cause = CAUSE_BUS_ERROR;
                    emit_val = BUS_INFO_READ;
                end else if (d_flags[DESC_F_INDIRECT]) begin
                    if (nested_reg) begin
                        emit = 1'b1;
                        emit_cause = CAUSE_INDIRECT_NESTED;
                        emit_val = idx_reg;
                    end else if (!feat_indirect) begin
                        emit = 1'b1;
                        emit_cause = CAUSE_INDIRECT_NOT_NEGOTIATED;
                        emit_val = idx_reg;
                    end else if (d_flags[DESC_F_NEXT]) begin
                        emit = 1'b1;
                        emit_cause = CAUSE_INDIRECT_WITH_NEXT;
                        emit_val = idx_reg;
                    end else if (!d_indirect_size_ok) begin
                        emit = 1'b1;
                        emit_cause = CAUSE_INDIRECT_SIZE;
                        emit_val = idx_reg;
                    end else if (!d_window_ok) begin
                        emit = 1'b1;
                        emit_cause = CAUSE_DMA_WINDOW;
                        emit_val = idx_reg;
                    end else begin
                        // on in the indirect table (its WRITE flag is ignored)
                        tbl_addr_next = d_addr[ADDR_WIDTH-1:0];
                        tbl_len_next = d_len[20:4];
                        idx_next = 16'd0;
                        seen_next = 17'd0;
                        nested_next = 1'b1;
                        nx_table_next = 1'b1;
                        state_next = S_NEXT;
                    end
                end else if (d_len_zero_reg) begin
                    emit = 1'b1;
                    emit_cause = CAUSE_ZERO_LENGTH;
                    emit_val = idx_reg;
                end else if (!d_window_ok) begin
                    emit = 1'b1;
                    emit_cause = CAUSE_DMA_WINDOW;
                    emit_val = idx_reg;
                end else if (!d_flags[DESC_F_WRITE] && have_w_reg) begin
                    emit = 1'b1;
                    emit_cause = CAUSE_READ_AFTER_WRITE;
                    emit_val = idx_reg;
                end else if (seg_full) begin
                    // no room to note the segment: the chain stays in the avail
                    // ring and the run waits for a completion. (A completion
                    // only frees room: with the tail a cycle old, room seen is
                    // room; full is trusted only if the tail did not move,
                    // else decided again next cycle.)
                    if (!seg_tail_moved) begin
                        emit = 1'b1;
                        emit_kind = K_WAIT_SPACE;
                    end
                end else begin
                    seg_we_int = 1'b1;
                    wptr_next = wptr_reg + 1'b1;
                    if (d_flags[DESC_F_WRITE]) begin
                        if (!have_w_reg) begin
                            wfirst_next = wptr_reg;
                        end
                        have_w_next = 1'b1;
                        wcnt_next = wcnt_reg + 1'b1;
                        wlen_next = wlen_reg + d_len;
                    end else begin
                        rcnt_next = rcnt_reg + 1'b1;
                    end
                    total_next = d_total_reg;
                    if (d_total_reg[32]) begin
                        // case 12
                        emit = 1'b1;
                        emit_cause = CAUSE_LENGTH_OVERFLOW;
                        emit_val = idx_reg;
                    end else if (d_flags[DESC_F_NEXT]) begin
                        idx_next = d_next_idx;
                        state_next = S_NEXT;
                    end else begin
                        state_next = S_TOKEN;
                    end
                end
            end
            S_NEXT: begin
                if (nx_range_reg && !nx_table_reg) begin
                    // case 3
                    emit = 1'b1;
                    emit_cause = CAUSE_NEXT_RANGE;
                    emit_val = idx_reg;
                end else if (nx_loop_reg && !nx_table_reg) begin
                    // cases 4 and 9: more descriptors than the table holds
                    emit = 1'b1;
                    emit_cause = CAUSE_CHAIN_LOOP;
                    emit_val = head_reg;
                end else begin
                    seen_next = seen_reg + 17'd1;
                    state_next = S_FETCH;
                end
            end
            S_FETCH: begin
                // descriptor idx: from the chunk in flight, or a new read
                if (chunk_left_reg != 0) begin
                    if (!walk_empty) begin
                        walk_pop = 1'b1;
                        chunk_left_next = chunk_left_reg - 17'd1;
                        chunk_next_next = chunk_next_reg + 16'd1;
                        if (chunk_next_reg == idx_reg) begin
                            // (loaded under a stop too: S_CHECK alone reads it)
                            d_next = walk_head[127:0];
                            d_err_next = walk_head[128];
                            if (!abort) begin
                                state_next = S_CHECK;
                            end
                        end
                    end
                end else begin
                    // (no read waits: a read leaves descriptors to take until it is taken)
                    if (nested_reg) begin
                        n = tbl_len_reg - {1'b0, idx_reg};
                        if (n > CHUNK17) begin
                            n = CHUNK17;
                        end
                    end else begin
                        n = 17'd1;
                    end
                    // (the address, length and first index of a read load under a
                    // stop too: nothing reads them unless it is issued)
                    rd_addr_next = tbl_addr_reg + {{(ADDR_WIDTH-20){1'b0}}, idx_reg, 4'b0000};
                    rd_len_next = {n[11:0], 4'b0000};
                    chunk_next_next = idx_reg;
                    if (abort) begin
                        state_next = S_DRAIN;
                    end else begin
                        rd_valid_next = 1'b1;
                        chunk_left_next = n;
                    end
                end
            end
            S_TOKEN: begin
                emit = 1'b1;
                emit_kind = K_CHAIN;
                emit_val = head_reg;
            end
            S_DRAIN: begin
                // an abandoned chain: its next descriptors in flight are dropped
                if (chunk_left_reg != 0) begin
                    if (!walk_empty) begin
                        walk_pop = 1'b1;
                        chunk_left_next = chunk_left_reg - 17'd1;
                    end
                end else begin
                    state_next = S_IDLE;
                end
            end
            default: begin
                state_next = S_IDLE;
            end
        endcase

        if (active_reg && ended_reg && up_done_reg && state_reg == S_IDLE && first_empty && first_pend_reg == 0
                && chunk_left_reg == 0 && !rd_valid_reg && !tok_valid_reg) begin
            active_next = 1'b0;
        end
    end

    // a token out; an error, or the run's end found here, ends the run
    if (emit) begin
        tok_kind_next = emit_kind;
        tok_val_next = emit_val;
        tok_cause_next = emit_cause;
        tok_seg_start_next = start_reg;
        tok_rcnt_next = rcnt_next;
        tok_wfirst_next = have_w_next ? wfirst_next : wptr_next;
        tok_wcnt_next = wcnt_next;
        tok_seg_end_next = wptr_next;
        tok_wlen_next = wlen_next;
        tok_valid_next = 1'b1;
        if (state_reg != S_IDLE) begin
            if (emit_kind == K_CHAIN) begin
                state_next = S_IDLE;
            end else begin
                ended_next = 1'b1;
                terminate_next = 1'b1;
                state_next = S_DRAIN;
            end
        end
    end

    // the decision dropped: no segment, token or count of it is kept (the
    // token's data and the chain's own registers may change: the token is not
    // valid, and the next chain loads its registers)
    if (drop && active_reg && !run_load) begin
        state_next = S_DRAIN;
        seg_we_int = 1'b0;
        ended_next = ended_reg;
        terminate_next = terminate_reg;
        tok_valid_next = tok_valid_reg && !tok_ready;
        have_w_next = have_w_reg;
        wptr_next = wptr_reg;
        rcnt_next = rcnt_reg;
        wfirst_next = wfirst_reg;
        wcnt_next = wcnt_reg;
        wlen_next = wlen_reg;
    end
end

always @(posedge clk) begin
    state_reg <= state_next;
    active_reg <= active_next;
    ended_reg <= ended_next;
    up_done_reg <= up_done_next;
    terminate_reg <= terminate_next;
    if (run_load) begin
        q_reg <= run_q;
    end

    d_reg <= d_next;
    d_err_reg <= d_err_next;
    // the window and length sums of the descriptor, for the decision
    d_window_ok_reg <= !d_below[66] && d_end <= DMA_END_X;
    d_total_reg <= total_reg + {1'b0, d_reg[95:64]};
    d_len_zero_reg <= d_len == 32'd0;
    nx_range_reg <= {1'b0, d_next_idx} >= tbl_len_reg;
    nx_loop_reg <= seen_reg >= tbl_len_reg;
    nx_table_reg <= nx_table_next;
    d_indirect_size_ok_reg <= d_len != 0 && d_len[3:0] == 4'd0 && d_len[31:4] <= IND_MAX;

    head_reg <= head_next;
    tbl_addr_reg <= tbl_addr_next;
    tbl_len_reg <= tbl_len_next;
    idx_reg <= idx_next;
    seen_reg <= seen_next;
    total_reg <= total_next;
    nested_reg <= nested_next;
    have_w_reg <= have_w_next;
    wptr_reg <= wptr_next;
    start_reg <= start_next;
    rcnt_reg <= rcnt_next;
    wfirst_reg <= wfirst_next;
    wcnt_reg <= wcnt_next;
    wlen_reg <= wlen_next;
    chunk_next_reg <= chunk_next_next;
    chunk_left_reg <= chunk_left_next;
    rd_addr_reg <= rd_addr_next;
    rd_len_reg <= rd_len_next;
    rd_valid_reg <= rd_valid_next;
    tok_kind_reg <= tok_kind_next;
    tok_val_reg <= tok_val_next;
    tok_cause_reg <= tok_cause_next;
    tok_seg_start_reg <= tok_seg_start_next;
    tok_rcnt_reg <= tok_rcnt_next;
    tok_wfirst_reg <= tok_wfirst_next;
    tok_wcnt_reg <= tok_wcnt_next;
    tok_seg_end_reg <= tok_seg_end_next;
    tok_wlen_reg <= tok_wlen_next;
    tok_valid_reg <= tok_valid_next;

    // descriptor assembly
    f_asm_reg <= f_push ? 128'd0 : f_asm_next;
    f_cnt_reg <= f_cnt_next;
    f_err_reg <= f_push ? 1'b0 : f_err_next;
    w_asm_reg <= w_push ? 128'd0 : w_asm_next;
    w_cnt_reg <= w_cnt_next;
    w_err_reg <= w_push ? 1'b0 : w_err_next;
    if (f_push) begin
        first_mem[first_wr_reg[FD_W-1:0]] <= {f_err_next, f_asm_next};
        first_wr_reg <= first_wr_reg + 1'b1;
    end
    if (first_pop) begin
        first_rd_reg <= first_rd_reg + 1'b1;
    end
    if (f_push && !first_pop) begin
        first_any_reg <= 1'b1;
    end else if (first_pop && !f_push) begin
        first_any_reg <= first_count != {{FD_W{1'b0}}, 1'b1};
    end
    first_pend_reg <= first_pend_reg + {{FD_W{1'b0}}, first_issue} - {{FD_W{1'b0}}, f_push};
    first_claim_reg <= first_claim_reg + {{(FD_W+1){1'b0}}, first_issue} - {{(FD_W+1){1'b0}}, first_pop};
    if (w_push) begin
        walk_mem[walk_wr_reg[CK_W-1:0]] <= {w_err_next, w_asm_next};
        walk_wr_reg <= walk_wr_reg + 1'b1;
    end
    if (walk_pop) begin
        walk_rd_reg <= walk_rd_reg + 1'b1;
    end

    if (rst) begin
        state_reg <= S_IDLE;
        active_reg <= 1'b0;
        ended_reg <= 1'b0;
        up_done_reg <= 1'b0;
        terminate_reg <= 1'b0;
        chunk_left_reg <= 17'd0;
        rd_valid_reg <= 1'b0;
        tok_valid_reg <= 1'b0;
        f_asm_reg <= 128'd0;
        f_cnt_reg <= 5'd0;
        f_err_reg <= 1'b0;
        w_asm_reg <= 128'd0;
        w_cnt_reg <= 5'd0;
        w_err_reg <= 1'b0;
        first_wr_reg <= {(FD_W+1){1'b0}};
        first_rd_reg <= {(FD_W+1){1'b0}};
        first_any_reg <= 1'b0;
        first_pend_reg <= {(FD_W+1){1'b0}};
        first_claim_reg <= {(FD_W+2){1'b0}};
        walk_wr_reg <= {(CK_W+1){1'b0}};
        walk_rd_reg <= {(CK_W+1){1'b0}};
    end
end

`ifdef FORMAL
/*
 * Formal shadow (docs/formal.md, `make formal`): what each segment slot was
 * written from, independent of the segment buffer and the tokens. The
 * completion unit checks each answer write against it (its f_walk_seg_*
 * wires are tied to these by formal/run.py: Yosys reads no hierarchical
 * names; keep: nothing in this unit reads them). Per slot {queue, slot}: the descriptor had VRING_DESC_F_WRITE, the
 * segment pointer it was written at (with its wrap bit), the chain's head,
 * the segment {addr, len}.
 */
localparam F_SLOTS = 2**(Q_W+SP_W);
(* keep *) reg [F_SLOTS-1:0] f_seg_w;
(* keep *) reg [F_SLOTS*SPP_W-1:0] f_seg_ptr;
(* keep *) reg [F_SLOTS*16-1:0] f_seg_head;
(* keep *) reg [F_SLOTS*(ADDR_WIDTH+32)-1:0] f_seg_data;

always @(posedge clk) begin
    if (seg_we) begin
        f_seg_w[seg_waddr] <= d_flags[DESC_F_WRITE];
        f_seg_ptr[seg_waddr*SPP_W +: SPP_W] <= wptr_reg;
        f_seg_head[seg_waddr*16 +: 16] <= head_reg;
        f_seg_data[seg_waddr*(ADDR_WIDTH+32) +: ADDR_WIDTH+32] <= seg_wdata;
    end
end

/*
 * The walk's invariants, on which its decisions rely (they wait for nothing
 * here): the token register is empty from S_CHECK to S_TOKEN (a chain is
 * taken only when it is free, and nothing is emitted before the chain's
 * end); a next-descriptor read not yet taken leaves descriptors to take (it
 * is issued with its count, 1 or more, which drops only as they come back);
 * the first-descriptor claim and fill flag follow the pointers.
 */
always @* begin
    if (!rst) begin
        if (state_reg != S_IDLE && state_reg != S_DRAIN) begin
            inv_walk_token_free: assert(!tok_valid_reg);
        end
        if (rd_valid_reg) begin
            inv_walk_read_counted: assert(chunk_left_reg != 17'd0);
        end
        inv_walk_first_claim: assert(first_claim_reg == {1'b0, first_count} + {1'b0, first_pend_reg});
        inv_walk_first_any: assert(first_any_reg == (first_count != {(FD_W+1){1'b0}}));
    end
end
`endif

endmodule

`resetall
