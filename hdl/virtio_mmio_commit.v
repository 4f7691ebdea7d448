`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * virtio-mmio commit stage and request streamer: takes the fetch unit's
 * tokens in avail-ring order and does, for each, what the model's service
 * loop does at that point, with the queue's state as the model has it then:
 *
 * - CHAIN: pop it (last_avail, in-flight FIFO, avail_event with EVENT_IDX)
 *   if the backend is ready for its queue, and stream its readable bytes
 *   (read ahead by the data fetch) to m_axis as one request packet; if the
 *   backend is not ready, the rest of the run is dropped (the chain stays in
 *   the avail ring);
 * - SHADOW: the avail.idx read takes effect;
 * - NOTHING: the kick is used up (with EVENT_IDX once avail_event is
 *   written and a read of avail.idx after it shows nothing new);
 * - ERROR, RECHECK (and a bus error reading the readable bytes): wait until
 *   the device is where the serial model would be (the last request packet
 *   taken two cycles ago, every answer begun by then completed and
 *   published with its interrupt decided), then break, or for RECHECK
 *   break with HEAD_IN_FLIGHT only if the head is still in flight;
 * - WAIT_SPACE, YIELD, ABORT: the run ends.
 * backend_ready is looked at no earlier than the second rising edge after
 * the tlast handshake of the previous request packet.
 */
module virtio_mmio_commit #
(
    parameter NUM_QUEUES = 2,
    parameter Q_W = 1,
    // QueueNumMax (power of two)
    parameter QUEUE_NUM_MAX = 16,
    // Per-queue segment buffer depth (power of two)
    parameter SEG_DEPTH = 32,
    // avail/used index of a freshly activated queue
    parameter [15:0] RING_INDEX_BASE = 16'd0,
    parameter DATA_WIDTH = 32,
    parameter KEEP_WIDTH = (DATA_WIDTH/8),
    parameter ADDR_WIDTH = 32,
    parameter AXIS_DEST_WIDTH = 8,
    parameter AXIS_USER_WIDTH = 33,
    parameter SEQ_WIDTH = 16
)
(
    input  wire                         clk,
    input  wire                         rst,

    /*
     * Tokens
     */
    input  wire [2:0]                   tok_kind,
    input  wire [Q_W-1:0]               tok_q,
    input  wire [15:0]                  tok_val,
    input  wire [7:0]                   tok_cause,
    input  wire [$clog2(SEG_DEPTH):0]   tok_wfirst,
    input  wire [$clog2(SEG_DEPTH):0]   tok_wcnt,
    input  wire [$clog2(SEG_DEPTH):0]   tok_seg_end,
    input  wire [31:0]                  tok_wlen,
    input  wire                         tok_data_read,
    input  wire                         tok_valid,
    output wire                         tok_ready,

    // the token's queue
    input  wire [15:0]                  cfg_num,
    input  wire [ADDR_WIDTH-1:0]        cfg_avail,
    input  wire [ADDR_WIDTH-1:0]        cfg_used,
    input  wire                         chk_busy,
    input  wire [$clog2(QUEUE_NUM_MAX):0] chk_inflight,
    input  wire                         feat_event_idx,

    /*
     * Readable bytes read ahead, one packet per chain
     */
    input  wire [DATA_WIDTH-1:0]        data_data,
    input  wire [KEEP_WIDTH-1:0]        data_keep,
    input  wire                         data_last,
    input  wire                         data_err,
    input  wire                         data_valid,
    output wire                         data_ready,

    /*
     * Requests to the backend
     */
    output wire [DATA_WIDTH-1:0]        m_axis_tdata,
    output wire [KEEP_WIDTH-1:0]        m_axis_tkeep,
    output wire                         m_axis_tvalid,
    input  wire                         m_axis_tready,
    output wire                         m_axis_tlast,
    output wire [AXIS_DEST_WIDTH-1:0]   m_axis_tdest,
    output wire [AXIS_USER_WIDTH-1:0]   m_axis_tuser,
    input  wire [NUM_QUEUES-1:0]        backend_ready,

    // serial equivalence: no answer waiting, completion and publication idle
    input  wire                         s_axis_tvalid,
    input  wire                         complete_idle,
    input  wire                         publish_idle,

    /*
     * Committed state, per queue (flattened)
     */
    output wire [NUM_QUEUES*16-1:0]     last_avail,
    output wire [NUM_QUEUES*16-1:0]     shadow,
    output wire [NUM_QUEUES*($clog2(SEG_DEPTH)+1)-1:0] seg_commit,
    output wire [NUM_QUEUES*($clog2(QUEUE_NUM_MAX)+1)-1:0] if_wr,
    // chains whose request packet has ended (its last beat taken): only
    // these may be answered, as then their readable segments are done with
    output wire [NUM_QUEUES*($clog2(QUEUE_NUM_MAX)+1)-1:0] if_sent,

    // a chain popped: its in-flight entry {head, first writable segment, writable count, segment end}
    output wire                         pop_valid,
    output wire [Q_W-1:0]               pop_q,
    output wire [15:0]                  pop_head,
    output wire [3*($clog2(SEG_DEPTH)+1)-1:0] pop_segs,

    // runs
    output wire                         run_end_valid,
    output wire [Q_W-1:0]               run_end_q,
    output wire                         run_end_kick,
    output wire                         wait_space_set,
    output wire [NUM_QUEUES-1:0]        discard,

    // avail_event writes (EVENT_IDX)
    output wire [ADDR_WIDTH-1:0]        ae_addr,
    output wire [15:0]                  ae_data,
    output wire                         ae_valid,
    input  wire                         ae_ready,
    input  wire [SEQ_WIDTH-1:0]         im_seq,
    input  wire [SEQ_WIDTH-1:0]         im_acked,

    // avail.idx read confirming that nothing is new
    output wire [ADDR_WIDTH-1:0]        rd_addr,
    output wire                         rd_valid,
    input  wire                         rd_ready,
    input  wire [15:0]                  rsp_data,
    input  wire                         rsp_err,
    input  wire                         rsp_valid,

    // the device breaks
    output wire                         brk_valid,
    output wire [7:0]                   brk_cause,
    output wire [Q_W-1:0]               brk_q,
    output wire [15:0]                  brk_info,

    input  wire                         halt,
    input  wire                         flush,
    input  wire [NUM_QUEUES-1:0]        stopping,
    input  wire [NUM_QUEUES-1:0]        clr,

    // a request packet of this queue is on m_axis or still to be dropped
    output wire                         streaming,
    output wire [Q_W-1:0]               streaming_q,
    // the queue of the avail_event write offered; the queues of both waiting
    output wire [Q_W-1:0]               ae_q,
    output wire [NUM_QUEUES-1:0]        ae_holds,
    output wire                         idle
);

`include "virtio_mmio_defs.vh"

localparam SP_W = $clog2(SEG_DEPTH);
localparam SPP_W = SP_W+1;
localparam QN_W = $clog2(QUEUE_NUM_MAX);
localparam IFP_W = QN_W+1;

localparam [2:0]
    S_IDLE = 3'd0,
    S_STREAM = 3'd1,
    S_ABORT = 3'd2,
    S_DRAIN = 3'd3,
    S_EQUIV = 3'd4,
    S_CONFIRM = 3'd5,
    S_CONFIRM_RD = 3'd6;

reg [2:0] state_reg, state_next;
reg [Q_W-1:0] cur_q_reg, cur_q_next;
reg [31:0] cur_wlen_reg, cur_wlen_next;
// the packet's last beat has been taken from the data FIFO
reg data_done_reg, data_done_next;
// what S_EQUIV decides: break with the token's cause (0), recheck (1), a bus
// error reading the readable bytes (2)
reg [1:0] equiv_what_reg, equiv_what_next;
// cycles since the last tlast handshake on m_axis (saturating)
reg [1:0] age_reg;

reg [15:0] last_avail_reg [0:NUM_QUEUES-1];
reg [15:0] shadow_reg [0:NUM_QUEUES-1];
reg [SPP_W-1:0] seg_commit_reg [0:NUM_QUEUES-1];
reg [IFP_W-1:0] if_wr_reg [0:NUM_QUEUES-1];
reg [IFP_W-1:0] if_sent_reg [0:NUM_QUEUES-1];
reg [NUM_QUEUES-1:0] discard_reg, discard_next;

reg [DATA_WIDTH-1:0] m_axis_tdata_reg, m_axis_tdata_next;
reg [KEEP_WIDTH-1:0] m_axis_tkeep_reg, m_axis_tkeep_next;
reg m_axis_tvalid_reg, m_axis_tvalid_next;
reg m_axis_tlast_reg, m_axis_tlast_next;
reg [AXIS_DEST_WIDTH-1:0] m_axis_tdest_reg, m_axis_tdest_next;
reg [AXIS_USER_WIDTH-1:0] m_axis_tuser_reg, m_axis_tuser_next;

reg [ADDR_WIDTH-1:0] ae_addr_reg, ae_addr_next;
reg [Q_W-1:0] ae_q_reg, ae_q_next;
reg [15:0] ae_data_reg, ae_data_next;
reg ae_valid_reg, ae_valid_next;
// a second avail_event write, behind the one offered: a pop needs only this
// register free, not the write engine's ready (which would reach the pop
// decision through the write arbiter)
reg [ADDR_WIDTH-1:0] ae2_addr_reg, ae2_addr_next;
reg [Q_W-1:0] ae2_q_reg, ae2_q_next;
reg [15:0] ae2_data_reg, ae2_data_next;
reg ae2_valid_reg, ae2_valid_next;
// im_acked reaches this once the last avail_event write is answered
reg [SEQ_WIDTH-1:0] ae_need_reg, ae_need_next;

reg [ADDR_WIDTH-1:0] rd_addr_reg, rd_addr_next;
reg rd_valid_reg, rd_valid_next;

reg brk_valid_reg, brk_valid_next;
reg [7:0] brk_cause_reg, brk_cause_next;
reg [Q_W-1:0] brk_q_reg, brk_q_next;
reg [15:0] brk_info_reg, brk_info_next;

reg run_end_valid_int;
reg run_end_kick_int;
reg wait_space_int;
reg pop_int;
reg ae_push;
reg shadow_we;
reg tok_ready_int;
// a beat of the request packet may go out this cycle
reg stream_now;
reg skip;
reg terminal;
integer i;
// (the clocked block's own loop variable: one driver per variable)
integer qi;

wire m_free = !m_axis_tvalid_reg || m_axis_tready;
// backend_ready may be looked at: the last request packet left two edges ago
wire age_ok = !m_axis_tvalid_reg && age_reg != 2'd0;
wire equiv = age_ok && complete_idle && publish_idle && !s_axis_tvalid;
// the recheck's head-in-flight test, a cycle old: S_EQUIV decides on it once
// equiv has held for a cycle, when nothing that moves it can have moved (the
// in-flight counts and marks change only with pops and completions)
wire over_now = chk_busy || {{(16-IFP_W){1'b0}}, chk_inflight} >= cfg_num;
reg over_reg, equiv_prev_reg;
wire [15:0] tq_last_avail = last_avail_reg[tok_q];
wire [15:0] cur_shadow = shadow_reg[cur_q_reg];
wire [SEQ_WIDTH-1:0] ae_wait = im_acked - ae_need_reg;
// a pop's avail_event write: the used ring's last field, the next avail index
wire [ADDR_WIDTH-1:0] ae_pop_addr = cfg_used + 4 + {{(ADDR_WIDTH-19){1'b0}}, cfg_num, 3'b000};
wire [15:0] ae_pop_data = tq_last_avail + 16'd1;

assign tok_ready = tok_ready_int;
// data_ready: the bytes are dropped (S_DRAIN) or go out as the request
// packet (stream_now, when m_axis has room), written out as one sum of
// products of registers and inputs, so that the data FIFO's pop across the
// engine waits for none of the FSM's decisions (inv_commit_data_ready)
wire [NUM_QUEUES-1:0] q_stream_ok = ~discard_reg & ~stopping & backend_ready;
assign data_ready = state_reg == S_DRAIN
    || (state_reg == S_STREAM && m_free && !flush && !halt && !stopping[cur_q_reg])
    || (state_reg == S_IDLE && tok_valid && tok_kind == K_CHAIN && tok_data_read && q_stream_ok[tok_q]
        && age_ok && !ae2_valid_reg && !halt && !flush);
// m_axis's payload: loaded whenever m_axis is free with what a beat sent
// from this state carries (a null beat in S_ABORT and for a chain popped
// without readable bytes, else the data FIFO's head; the queue and writable
// length of the token in S_IDLE, else of the chain being sent); only
// tvalid follows the decisions, so the payload's 100-odd flip-flops wait for
// none of them (inv_commit_axis_beat)
wire pl_idle = state_reg == S_IDLE;
wire pl_null = state_reg == S_ABORT || (pl_idle && !tok_data_read);
always @* begin
    m_axis_tdata_next = m_axis_tdata_reg;
    m_axis_tkeep_next = m_axis_tkeep_reg;
    m_axis_tlast_next = m_axis_tlast_reg;
    m_axis_tdest_next = m_axis_tdest_reg;
    m_axis_tuser_next = m_axis_tuser_reg;
    if (m_free) begin
        m_axis_tdata_next = pl_null ? {DATA_WIDTH{1'b0}} : data_data;
        m_axis_tkeep_next = pl_null ? {KEEP_WIDTH{1'b0}} : data_keep;
        m_axis_tlast_next = pl_null || data_last;
        m_axis_tdest_next = {{(AXIS_DEST_WIDTH-Q_W){1'b0}}, pl_idle ? tok_q : cur_q_reg};
        m_axis_tuser_next = {state_reg == S_ABORT || (!pl_null && data_err), pl_idle ? tok_wlen : cur_wlen_reg};
    end
end
assign m_axis_tdata = m_axis_tdata_reg;
assign m_axis_tkeep = m_axis_tkeep_reg;
assign m_axis_tvalid = m_axis_tvalid_reg;
assign m_axis_tlast = m_axis_tlast_reg;
assign m_axis_tdest = m_axis_tdest_reg;
assign m_axis_tuser = m_axis_tuser_reg;
assign pop_valid = pop_int;
assign pop_q = tok_q;
assign pop_head = tok_val;
assign pop_segs = {tok_wfirst, tok_wcnt, tok_seg_end};
assign run_end_valid = run_end_valid_int;
assign run_end_q = tok_q;
assign run_end_kick = run_end_kick_int;
assign wait_space_set = wait_space_int;
assign discard = discard_reg;
assign ae_addr = ae_addr_reg;
assign ae_data = ae_data_reg;
assign ae_valid = ae_valid_reg;
assign rd_addr = rd_addr_reg;
assign rd_valid = rd_valid_reg;
assign brk_valid = brk_valid_reg;
assign brk_cause = brk_cause_reg;
assign brk_q = brk_q_reg;
assign brk_info = brk_info_reg;
assign streaming = state_reg == S_STREAM || state_reg == S_ABORT || state_reg == S_DRAIN || m_axis_tvalid_reg;
assign streaming_q = cur_q_reg;
assign ae_q = ae_q_reg;
genvar gq;
generate
    for (gq = 0; gq < NUM_QUEUES; gq = gq + 1) begin : g_ae_holds
        assign ae_holds[gq] = (ae_valid_reg && ae_q_reg == gq) || (ae2_valid_reg && ae2_q_reg == gq);
    end
endgenerate
assign idle = state_reg == S_IDLE && !m_axis_tvalid_reg && !ae_valid_reg && !ae2_valid_reg && !rd_valid_reg
    && !brk_valid_reg;

genvar n;
generate
for (n = 0; n < NUM_QUEUES; n = n + 1) begin : state_out
    assign last_avail[n*16 +: 16] = last_avail_reg[n];
    assign shadow[n*16 +: 16] = shadow_reg[n];
    assign seg_commit[n*SPP_W +: SPP_W] = seg_commit_reg[n];
    assign if_wr[n*IFP_W +: IFP_W] = if_wr_reg[n];
    assign if_sent[n*IFP_W +: IFP_W] = if_sent_reg[n];
end
endgenerate

always @* begin
    state_next = state_reg;
    cur_q_next = cur_q_reg;
    cur_wlen_next = cur_wlen_reg;
    data_done_next = data_done_reg;
    equiv_what_next = equiv_what_reg;
    discard_next = discard_reg;

    m_axis_tvalid_next = m_axis_tvalid_reg && !m_axis_tready;

    ae_addr_next = ae_addr_reg;
    ae_q_next = ae_q_reg;
    ae_data_next = ae_data_reg;
    ae_valid_next = ae_valid_reg && !ae_ready;
    ae_need_next = ae_need_reg;
    ae2_addr_next = ae2_addr_reg;
    ae2_q_next = ae2_q_reg;
    ae2_data_next = ae2_data_reg;
    ae2_valid_next = ae2_valid_reg;
    if (ae2_valid_reg && (!ae_valid_reg || ae_ready)) begin
        ae_addr_next = ae2_addr_reg;
        ae_q_next = ae2_q_reg;
        ae_data_next = ae2_data_reg;
        ae_valid_next = 1'b1;
        ae2_valid_next = 1'b0;
    end
    rd_addr_next = rd_addr_reg;
    rd_valid_next = rd_valid_reg && !rd_ready;

    brk_valid_next = 1'b0;
    brk_cause_next = brk_cause_reg;
    brk_q_next = brk_q_reg;
    brk_info_next = brk_info_reg;

    run_end_valid_int = 1'b0;
    run_end_kick_int = 1'b0;
    wait_space_int = 1'b0;
    pop_int = 1'b0;
    ae_push = 1'b0;
    shadow_we = 1'b0;
    tok_ready_int = 1'b0;
    stream_now = 1'b0;

    skip = discard_reg[tok_q] || halt || stopping[tok_q];
    terminal = tok_kind != K_CHAIN && tok_kind != K_SHADOW;

    if (ae_valid_reg && ae_ready) begin
        ae_need_next = im_seq + 1'b1;
    end

    case (state_reg)
        S_IDLE: begin
            // what S_EQUIV waits for, loaded from every token (S_EQUIV alone reads it)
            equiv_what_next = tok_kind == K_ERROR ? 2'd0 : 2'd1;
            if (tok_valid) begin
                if (skip) begin
                    // a run being dropped: its chains' bytes read ahead are dropped too
                    tok_ready_int = 1'b1;
                    if (tok_kind == K_CHAIN && tok_data_read && !flush && !halt) begin
                        cur_q_next = tok_q;
                        data_done_next = 1'b0;
                        state_next = S_DRAIN;
                    end
                    if (terminal) begin
                        run_end_valid_int = 1'b1;
                        discard_next[tok_q] = 1'b0;
                    end
                end else if (tok_kind == K_WAIT_SPACE || tok_kind == K_YIELD || tok_kind == K_ABORT) begin
                    tok_ready_int = 1'b1;
                    run_end_valid_int = 1'b1;
                    wait_space_int = tok_kind == K_WAIT_SPACE && chk_inflight != 0;
                end else if (age_ok) begin
                    if (!backend_ready[tok_q]) begin
                        // the model's loop stops here: the rest of the run is dropped
                        tok_ready_int = 1'b1;
                        if (terminal) begin
                            run_end_valid_int = 1'b1;
                        end else begin
                            discard_next[tok_q] = 1'b1;
                            if (tok_kind == K_CHAIN && tok_data_read) begin
                                cur_q_next = tok_q;
                                data_done_next = 1'b0;
                                state_next = S_DRAIN;
                            end
                        end
                    end else begin
                        case (tok_kind)
                            K_CHAIN: begin
                                if (!ae2_valid_reg) begin
                                    // popped
                                    tok_ready_int = 1'b1;
                                    pop_int = 1'b1;
                                    if (feat_event_idx) begin
                                        ae_push = 1'b1;
                                    end
                                    cur_q_next = tok_q;
                                    cur_wlen_next = tok_wlen;
                                    if (tok_data_read) begin
                                        data_done_next = 1'b0;
                                        state_next = S_STREAM;
                                        // its first beat goes out with the pop
                                        stream_now = !flush && !halt && !stopping[tok_q];
                                    end else begin
                                        // no readable bytes: an empty request packet
                                        m_axis_tvalid_next = 1'b1;
                                    end
                                end
                            end
                            K_SHADOW: begin
                                tok_ready_int = 1'b1;
                                shadow_we = 1'b1;
                            end
                            K_NOTHING: begin
                                if (feat_event_idx) begin
                                    cur_q_next = tok_q;
                                    state_next = S_CONFIRM;
                                end else begin
                                    tok_ready_int = 1'b1;
                                    run_end_valid_int = 1'b1;
                                    run_end_kick_int = 1'b1;
                                end
                            end
                            K_ERROR: begin
                                cur_q_next = tok_q;
                                state_next = S_EQUIV;
                            end
                            default: begin
                                // K_RECHECK
                                cur_q_next = tok_q;
                                state_next = S_EQUIV;
                            end
                        endcase
                    end
                end
            end
        end
        S_STREAM: begin
            if (flush || halt || stopping[cur_q_reg]) begin
                state_next = S_ABORT;
            end else begin
                stream_now = 1'b1;
            end
        end
        S_ABORT: begin
            // close the packet cut short: null beat, tuser abort bit; tdest and
            // the writable length stay those of the packet
            if (m_free) begin
                m_axis_tvalid_next = 1'b1;
                state_next = (data_done_reg || flush) ? S_IDLE : S_DRAIN;
            end
        end
        S_DRAIN: begin
            // the bytes of a chain not popped (or cut short): dropped (data_ready)
            if (flush) begin
                state_next = S_IDLE;
            end else if (data_valid && data_last) begin
                state_next = S_IDLE;
            end
        end
        S_EQUIV: begin
            if (flush || (halt && equiv_what_reg != 2'd2) || stopping[cur_q_reg]) begin
                // overtaken by a reset, a stop or another break
                tok_ready_int = equiv_what_reg != 2'd2;
                run_end_valid_int = equiv_what_reg != 2'd2;
                state_next = S_IDLE;
            end else if (equiv && (equiv_prev_reg || equiv_what_reg != 2'd1)) begin
                state_next = S_IDLE;
                if (equiv_what_reg == 2'd2) begin
                    brk_valid_next = 1'b1;
                    brk_cause_next = CAUSE_BUS_ERROR;
                    brk_q_next = cur_q_reg;
                    brk_info_next = BUS_INFO_READ;
                end else begin
                    tok_ready_int = 1'b1;
                    run_end_valid_int = 1'b1;
                    if (equiv_what_reg == 2'd0) begin
                        brk_valid_next = 1'b1;
                        brk_cause_next = tok_cause;
                        brk_q_next = tok_q;
                        brk_info_next = tok_val;
                    end else if (over_reg) begin
                        // case 13: still in flight now that the chains ahead are done
                        brk_valid_next = 1'b1;
                        brk_cause_next = CAUSE_HEAD_IN_FLIGHT;
                        brk_q_next = tok_q;
                        brk_info_next = tok_val;
                    end
                end
            end
        end
        S_CONFIRM: begin
            // nothing new: with EVENT_IDX only after avail_event is written
            // and avail.idx is read again behind it (no notify lost)
            if (flush || halt || stopping[cur_q_reg]) begin
                tok_ready_int = 1'b1;
                run_end_valid_int = 1'b1;
                state_next = S_IDLE;
            end else if (!ae_valid_reg && !ae2_valid_reg && !ae_wait[SEQ_WIDTH-1] && !rd_valid_reg) begin
                rd_addr_next = cfg_avail + 2;
                rd_valid_next = 1'b1;
                state_next = S_CONFIRM_RD;
            end
        end
        S_CONFIRM_RD: begin
            // (a stop waits for the read asked for: no DMA of the queue after it)
            if (flush) begin
                // the read is dropped with everything else
                tok_ready_int = 1'b1;
                run_end_valid_int = 1'b1;
                state_next = S_IDLE;
            end else if (rsp_valid) begin
                tok_ready_int = 1'b1;
                run_end_valid_int = 1'b1;
                run_end_kick_int = !rsp_err && rsp_data == cur_shadow;
                state_next = S_IDLE;
            end
        end
        default: begin
            state_next = S_IDLE;
        end
    endcase

    // the readable bytes become the request packet (tdest and tuser: the
    // popped chain's, in the cycle of the pop too)
    if (stream_now) begin
        if (data_valid && m_free) begin
            m_axis_tvalid_next = 1'b1;
            if (data_last) begin
                data_done_next = 1'b1;
                if (data_err) begin
                    // the bytes could not be read: the packet is closed
                    // by the abort beat, and the device breaks in order
                    equiv_what_next = 2'd2;
                    state_next = S_EQUIV;
                end else begin
                    state_next = S_IDLE;
                end
            end
        end
    end

    // the pop's avail_event write: offered now if the offer register is free
    // (only the data path looks at ae_ready), else behind it. The address,
    // data and queue registers load the pop's values whenever they are free
    // (a pop needs the second one empty), without waiting for the pop
    // decision; only the valid bits follow it
    if (!ae_valid_next) begin
        ae_addr_next = ae_pop_addr;
        ae_data_next = ae_pop_data;
        ae_q_next = tok_q;
    end
    if (!ae2_valid_reg) begin
        ae2_addr_next = ae_pop_addr;
        ae2_data_next = ae_pop_data;
        ae2_q_next = tok_q;
    end
    if (ae_push) begin
        if (ae_valid_next) begin
            ae2_valid_next = 1'b1;
        end else begin
            ae_valid_next = 1'b1;
        end
    end

    if (flush) begin
        discard_next = {NUM_QUEUES{1'b0}};
        ae_valid_next = 1'b0;
        ae2_valid_next = 1'b0;
    end
    for (i = 0; i < NUM_QUEUES; i = i + 1) begin
        if (clr[i]) begin
            discard_next[i] = 1'b0;
        end
    end
end

always @(posedge clk) begin
    state_reg <= state_next;
    cur_q_reg <= cur_q_next;
    cur_wlen_reg <= cur_wlen_next;
    data_done_reg <= data_done_next;
    equiv_what_reg <= equiv_what_next;
    discard_reg <= discard_next;

    m_axis_tdata_reg <= m_axis_tdata_next;
    m_axis_tkeep_reg <= m_axis_tkeep_next;
    m_axis_tvalid_reg <= m_axis_tvalid_next;
    m_axis_tlast_reg <= m_axis_tlast_next;
    m_axis_tdest_reg <= m_axis_tdest_next;
    m_axis_tuser_reg <= m_axis_tuser_next;

    ae_addr_reg <= ae_addr_next;
    ae_q_reg <= ae_q_next;
    ae_data_reg <= ae_data_next;
    ae_valid_reg <= ae_valid_next;
    ae_need_reg <= ae_need_next;
    ae2_addr_reg <= ae2_addr_next;
    ae2_q_reg <= ae2_q_next;
    ae2_data_reg <= ae2_data_next;
    ae2_valid_reg <= ae2_valid_next;
    rd_addr_reg <= rd_addr_next;
    rd_valid_reg <= rd_valid_next;

    over_reg <= over_now;
    equiv_prev_reg <= equiv;
    brk_valid_reg <= brk_valid_next;
    brk_cause_reg <= brk_cause_next;
    brk_q_reg <= brk_q_next;
    brk_info_reg <= brk_info_next;

    if (m_axis_tvalid_reg && m_axis_tready && m_axis_tlast_reg) begin
        age_reg <= 2'd0;
    end else if (age_reg != 2'd2) begin
        age_reg <= age_reg + 2'd1;
    end

    if (pop_int) begin
        last_avail_reg[tok_q] <= tq_last_avail + 16'd1;
        seg_commit_reg[tok_q] <= tok_seg_end;
        if_wr_reg[tok_q] <= if_wr_reg[tok_q] + 1'b1;
    end
    if (shadow_we) begin
        shadow_reg[tok_q] <= tok_val;
    end
    // (every request packet is a popped chain's; a stop clears its queue
    // only once its packet has ended)
    if (m_axis_tvalid_reg && m_axis_tready && m_axis_tlast_reg) begin
        if_sent_reg[m_axis_tdest_reg[Q_W-1:0]] <= if_sent_reg[m_axis_tdest_reg[Q_W-1:0]] + 1'b1;
    end

    for (qi = 0; qi < NUM_QUEUES; qi = qi + 1) begin
        if (rst || clr[qi]) begin
            last_avail_reg[qi] <= RING_INDEX_BASE;
            shadow_reg[qi] <= RING_INDEX_BASE;
            seg_commit_reg[qi] <= {SPP_W{1'b0}};
            if_wr_reg[qi] <= {IFP_W{1'b0}};
            if_sent_reg[qi] <= {IFP_W{1'b0}};
        end
    end

    if (rst) begin
        state_reg <= S_IDLE;
        discard_reg <= {NUM_QUEUES{1'b0}};
        m_axis_tvalid_reg <= 1'b0;
        ae_valid_reg <= 1'b0;
        ae2_valid_reg <= 1'b0;
        ae_need_reg <= {SEQ_WIDTH{1'b0}};
        rd_valid_reg <= 1'b0;
        brk_valid_reg <= 1'b0;
        age_reg <= 2'd2;
    end
end

`ifdef FORMAL
always @* begin
    // at every recheck decision the registered test is the current one
    if (!rst && state_reg == S_EQUIV && equiv_what_reg == 2'd1 && state_next == S_IDLE
            && !flush && !halt && !stopping[cur_q_reg]) begin
        inv_commit_recheck_now: assert(over_reg == over_now);
    end
    if (!rst) begin
        // a beat sent carries what the decision that sent it chose: the data
        // FIFO's head when streamed, else a null beat (an empty packet, an abort)
        if (m_axis_tvalid_next && m_free) begin
            inv_commit_axis_beat: assert(m_axis_tdata_next == (stream_now ? data_data : {DATA_WIDTH{1'b0}})
                && m_axis_tkeep_next == (stream_now ? data_keep : {KEEP_WIDTH{1'b0}})
                && m_axis_tlast_next == (!stream_now || data_last)
                && m_axis_tdest_next == {{(AXIS_DEST_WIDTH-Q_W){1'b0}}, cur_q_next}
                && m_axis_tuser_next == {stream_now ? data_err : state_reg == S_ABORT, cur_wlen_next});
        end
        inv_commit_data_ready: assert(data_ready == (state_reg == S_DRAIN || (stream_now && m_free)));
        // a pop's avail_event write finds the second offer register free
        // (its address and data registers load without the pop decision)
        if (ae_push) begin
            inv_commit_ae_push_free: assert(!ae2_valid_reg);
        end
    end
end
`endif

endmodule

`resetall
