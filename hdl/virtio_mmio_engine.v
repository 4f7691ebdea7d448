`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * virtio-mmio ring engine: the units of a pipelined split-ring device and
 * the state they share.
 *
 *   sched -> fetch_idx -> fetch_head -> walk -> data_fetch -> commit -> m_axis
 *   s_axis -> complete -> publish -> irq
 *   dma_rd (ring reads, chain data), dma_wr (answers, ring fields) -> m_axi
 *
 * The fetch unit reads ahead (heads, descriptors, readable bytes) for one
 * run of pops at a time; the commit stage pops in avail-ring order with the
 * model's rules; completion and publication run beside it. Per queue: the
 * segment buffer (walk writes, data_fetch and complete read), the in-flight
 * FIFO (commit writes, complete reads), the heads in flight.
 *
 * Reset (Status=0) and stop (QueuePFN=0): every unit drops the work of the
 * queues concerned and the DMA bursts already issued finish; then ctrl_ack,
 * and the per-queue state is cleared. Broken: everything stops, the DMA
 * engines finish their bursts; answers are dropped until the reset.
 */
module virtio_mmio_engine #
(
    parameter NUM_QUEUES = 2,
    parameter QUEUE_INDEX_WIDTH = (NUM_QUEUES > 1) ? $clog2(NUM_QUEUES) : 1,
    parameter QUEUE_NUM_MAX = 16,
    parameter INDIRECT_MAX = QUEUE_NUM_MAX,
    parameter SEG_DEPTH = 32,
    parameter [15:0] RING_INDEX_BASE = 16'd0,
    parameter AXI_DATA_WIDTH = 32,
    parameter AXI_ADDR_WIDTH = 32,
    parameter AXI_STRB_WIDTH = (AXI_DATA_WIDTH/8),
    parameter AXI_ID_WIDTH = 8,
    parameter AXI_MAX_BURST_LEN = 16,
    parameter DMA_MAX_OUTSTANDING = 16,
    parameter [63:0] DMA_BASE = 64'd0,
    parameter [64:0] DMA_SIZE = 65'd1 << AXI_ADDR_WIDTH,
    parameter AXIS_DEST_WIDTH = 8,
    parameter AXIS_USER_WIDTH = 33,
    // heads read at once
    parameter HEAD_BURST = 16,
    // first descriptors read ahead of the walk
    parameter DESC_PREFETCH = 8,
    // heads of a run before it yields to other waiting queues
    parameter RUN_MAX = 16,
    // descriptors of an indirect table read at once
    parameter INDIRECT_CHUNK = 8,
    // readable bytes read ahead, in bus words (power of two)
    parameter DATA_FIFO_DEPTH = 64,
    // answer bytes held for a burst, in bus words (power of two)
    parameter WRITE_FIFO_DEPTH = 2*AXI_MAX_BURST_LEN,
    // chains one used.idx write may publish
    parameter PUBLISH_BATCH = 16
)
(
    input  wire                                clk,
    input  wire                                rst,

    /*
     * Queue configuration and control from the register block
     */
    input  wire [NUM_QUEUES-1:0]               q_live,
    input  wire [NUM_QUEUES*16-1:0]            q_num,
    input  wire [NUM_QUEUES*AXI_ADDR_WIDTH-1:0] q_desc_addr,
    input  wire [NUM_QUEUES*AXI_ADDR_WIDTH-1:0] q_avail_addr,
    input  wire [NUM_QUEUES*AXI_ADDR_WIDTH-1:0] q_used_addr,
    input  wire                                feat_notify_on_empty,
    input  wire                                feat_indirect,
    input  wire                                feat_event_idx,
    // the register block's broken state of the next cycle
    input  wire                                broken_next,
    input  wire                                notify_valid,
    input  wire [QUEUE_INDEX_WIDTH-1:0]        notify_queue,
    input  wire                                ctrl_valid,
    input  wire                                ctrl_reset,
    input  wire [QUEUE_INDEX_WIDTH-1:0]        ctrl_queue,
    output wire                                ctrl_ack,
    output wire                                err_valid,
    output wire [7:0]                          err_cause,
    output wire [7:0]                          err_queue,
    output wire [15:0]                         err_info,
    output wire                                irq_vring,
    // nothing in progress: every unit idle, no queue waiting to be served
    // (for testbenches: the buses can stay quiet for a while during a walk)
    output wire                                idle,

    /*
     * Backend
     */
    input  wire [NUM_QUEUES-1:0]               backend_ready,

    output wire [AXI_DATA_WIDTH-1:0]           m_axis_tdata,
    output wire [AXI_STRB_WIDTH-1:0]           m_axis_tkeep,
    output wire                                m_axis_tvalid,
    input  wire                                m_axis_tready,
    output wire                                m_axis_tlast,
    output wire [AXIS_DEST_WIDTH-1:0]          m_axis_tdest,
    output wire [AXIS_USER_WIDTH-1:0]          m_axis_tuser,

    input  wire [AXI_DATA_WIDTH-1:0]           s_axis_tdata,
    input  wire [AXI_STRB_WIDTH-1:0]           s_axis_tkeep,
    input  wire                                s_axis_tvalid,
    output wire                                s_axis_tready,
    input  wire                                s_axis_tlast,
    input  wire [AXIS_DEST_WIDTH-1:0]          s_axis_tdest,

    /*
     * AXI master (DMA)
     */
    output wire [AXI_ID_WIDTH-1:0]             m_axi_awid,
    output wire [AXI_ADDR_WIDTH-1:0]           m_axi_awaddr,
    output wire [7:0]                          m_axi_awlen,
    output wire [2:0]                          m_axi_awsize,
    output wire [1:0]                          m_axi_awburst,
    output wire                                m_axi_awlock,
    output wire [3:0]                          m_axi_awcache,
    output wire [2:0]                          m_axi_awprot,
    output wire                                m_axi_awvalid,
    input  wire                                m_axi_awready,
    output wire [AXI_DATA_WIDTH-1:0]           m_axi_wdata,
    output wire [AXI_STRB_WIDTH-1:0]           m_axi_wstrb,
    output wire                                m_axi_wlast,
    output wire                                m_axi_wvalid,
    input  wire                                m_axi_wready,
    input  wire [AXI_ID_WIDTH-1:0]             m_axi_bid,
    input  wire [1:0]                          m_axi_bresp,
    input  wire                                m_axi_bvalid,
    output wire                                m_axi_bready,
    output wire [AXI_ID_WIDTH-1:0]             m_axi_arid,
    output wire [AXI_ADDR_WIDTH-1:0]           m_axi_araddr,
    output wire [7:0]                          m_axi_arlen,
    output wire [2:0]                          m_axi_arsize,
    output wire [1:0]                          m_axi_arburst,
    output wire                                m_axi_arlock,
    output wire [3:0]                          m_axi_arcache,
    output wire [2:0]                          m_axi_arprot,
    output wire                                m_axi_arvalid,
    input  wire                                m_axi_arready,
    input  wire [AXI_ID_WIDTH-1:0]             m_axi_rid,
    input  wire [AXI_DATA_WIDTH-1:0]           m_axi_rdata,
    input  wire [1:0]                          m_axi_rresp,
    input  wire                                m_axi_rlast,
    input  wire                                m_axi_rvalid,
    output wire                                m_axi_rready
);

`include "virtio_mmio_defs.vh"

localparam Q_W = QUEUE_INDEX_WIDTH;
localparam QN_W = $clog2(QUEUE_NUM_MAX);
localparam IFP_W = QN_W+1;
localparam SP_W = $clog2(SEG_DEPTH);
localparam SPP_W = SP_W+1;
localparam SEG_W = AXI_ADDR_WIDTH+32;
localparam IF_W = 16+3*SPP_W;
localparam SEQ_W = 16;
localparam TAG_W = 3;
localparam [TAG_W-1:0]
    TAG_IDX = 3'd0,
    TAG_FIRST = 3'd1,
    TAG_WALK = 3'd2,
    TAG_CONFIRM = 3'd3;
// entries between the fetch stages: {kind, val, cause}
localparam ENT_W = 3+16+8;
localparam ENT_DEPTH = (HEAD_BURST < 8) ? 8 : 2**$clog2(HEAD_BURST);
localparam ENT_SPACE_W = $clog2(ENT_DEPTH+2);
// tokens: {kind, q, val, cause, seg_start, rcnt, wfirst, wcnt, seg_end, wlen}
localparam TOK_W = 3+Q_W+16+8+5*SPP_W+32;
localparam DATA_SPACE_W = $clog2(DATA_FIFO_DEPTH+2);
localparam integer DATA_SPACE_MAX = DATA_FIFO_DEPTH+1;
localparam [DATA_SPACE_W-1:0] DATA_SPACE_EMPTY = DATA_SPACE_MAX[DATA_SPACE_W-1:0];

integer i;

// parameter checks (the submodules check their own)
initial begin
    if (NUM_QUEUES < 1 || NUM_QUEUES > 255) begin
        $error("Error: NUM_QUEUES must be 1 to 255 (instance %m)");
        $finish;
    end
    if (QUEUE_NUM_MAX < 2 || QUEUE_NUM_MAX > 32768 || (QUEUE_NUM_MAX & (QUEUE_NUM_MAX-1)) != 0) begin
        $error("Error: QUEUE_NUM_MAX must be a power of two, 2 to 32768 (instance %m)");
        $finish;
    end
    if (INDIRECT_MAX < 1 || INDIRECT_MAX > 32768) begin
        $error("Error: INDIRECT_MAX must be 1 to 32768 (instance %m)");
        $finish;
    end
    if ((SEG_DEPTH & (SEG_DEPTH-1)) != 0 || SEG_DEPTH < QUEUE_NUM_MAX+INDIRECT_MAX-1) begin
        $error("Error: SEG_DEPTH must be a power of two >= QUEUE_NUM_MAX+INDIRECT_MAX-1 (instance %m)");
        $finish;
    end
    if (AXIS_DEST_WIDTH < Q_W || AXIS_DEST_WIDTH > 8) begin
        $error("Error: AXIS_DEST_WIDTH must hold a queue index and be at most 8 (instance %m)");
        $finish;
    end
    if (AXIS_USER_WIDTH != 33) begin
        $error("Error: AXIS_USER_WIDTH must be 33 (instance %m)");
        $finish;
    end
    if (DATA_FIFO_DEPTH < 2*AXI_MAX_BURST_LEN || (DATA_FIFO_DEPTH & (DATA_FIFO_DEPTH-1)) != 0) begin
        $error("Error: DATA_FIFO_DEPTH must be a power of two, at least 2*AXI_MAX_BURST_LEN (instance %m)");
        $finish;
    end
end

/*
 * Control: reset, stop, broken
 */
reg ctrl_ack_reg;
reg halted_reg, halted_next;
reg flush_reg;
reg halt_prev_reg;
reg [1:0] ctrl_phase_reg;
reg [SEQ_W-1:0] st_mark_reg, im_mark_reg;
reg [NUM_QUEUES-1:0] clr_reg;

// broken or halted, registered from both next values: it reaches every unit's
// decisions, which then start from a register
reg halt_reg;
wire halt = halt_reg;
// the first cycle of a flush: the units start over (the DMA engines drain)
reg flush_hold;
wire flush_pulse;
wire unit_rst;
wire [NUM_QUEUES-1:0] ctrl_mask = ctrl_reset ? {NUM_QUEUES{1'b1}}
    : ({{(NUM_QUEUES-1){1'b0}}, 1'b1} << ctrl_queue);
// A request is registered before the units see it (it fans out to all of
// them); the control steps start once it is (ctrl_live_reg).
// (the cycle of the acknowledgement included: the queue's registers are
// cleared at its end, and nothing may start on it meanwhile)
reg ctrl_live_reg;
reg [NUM_QUEUES-1:0] stop_req_reg;
reg flush_req_reg;
// (clr_reg, set in the cycle after the acknowledgement, is always within
// stop_req_reg, which that cycle still holds: the register alone is the stop)
wire [NUM_QUEUES-1:0] stopping = stop_req_reg;
wire flush = flush_reg || flush_req_reg;
assign flush_pulse = flush && !flush_hold;
assign unit_rst = rst || flush_pulse;
reg flush_reg_next;
wire flush_req_next = ctrl_valid && ctrl_reset && !ctrl_ack_reg && !(ctrl_live_reg && ctrl_phase_reg == 2'd1);
wire flush_next = !rst && (flush_reg_next || flush_req_next);
wire halt_next = !rst && (broken_next || halted_next);
// flush and halt reach nearly every unit: each unit reads a copy of its own,
// loaded from the same next value (so the same in every cycle; kept, so that
// Yosys does not merge them), which the placer puts beside the decisions it
// feeds instead of one register fanning out across the engine
reg flush_rd_reg, flush_wr_reg, flush_wrst_reg, flush_cmt_reg, flush_cpl_reg, flush_dq_reg, flush_fetch_reg;
reg halt_sched_reg, halt_cmt_reg, halt_cpl_reg, halt_pub_reg, halt_walk_reg;
(* keep *) always @(posedge clk) flush_rd_reg <= flush_next;
(* keep *) always @(posedge clk) flush_wr_reg <= flush_next;
// (the write engine's answer realigner has one of its own)
(* keep *) always @(posedge clk) flush_wrst_reg <= flush_next;
(* keep *) always @(posedge clk) flush_cmt_reg <= flush_next;
(* keep *) always @(posedge clk) flush_cpl_reg <= flush_next;
(* keep *) always @(posedge clk) flush_dq_reg <= flush_next;
(* keep *) always @(posedge clk) flush_fetch_reg <= flush_next;
(* keep *) always @(posedge clk) halt_sched_reg <= halt_next;
(* keep *) always @(posedge clk) halt_cmt_reg <= halt_next;
(* keep *) always @(posedge clk) halt_cpl_reg <= halt_next;
(* keep *) always @(posedge clk) halt_pub_reg <= halt_next;
// (the walk stops for either)
(* keep *) always @(posedge clk) halt_walk_reg <= halt_next || flush_next;

/*
 * Per-queue configuration of the units' queues
 */
wire [Q_W-1:0] fetch_q;
wire [Q_W-1:0] tok_q;
// the fetch units' queue's size and ring addresses, loaded at each pick (so as
// its run starts): a queue's ring does not change while it is live, and it
// stays live until the units let go of it (inv_engine_fetch_ring)
reg [15:0] fetch_num;
// QueueNum - 1: the mask of a ring slot, ready before the run starts
reg [15:0] fetch_num_mask;
reg [AXI_ADDR_WIDTH-1:0] fetch_desc;
reg [AXI_ADDR_WIDTH-1:0] fetch_avail;
// the walk's queue's segment tail, a cycle old (exact unless the completion
// unit wrote it at the last edge: k_seg_tail_moved, inv_engine_walk_tail)
reg [SPP_W-1:0] walk_tail_reg;
wire [Q_W-1:0] walk_tail_q;
wire [15:0] tok_num = q_num[tok_q*16 +: 16];
wire [AXI_ADDR_WIDTH-1:0] tok_avail = q_avail_addr[tok_q*AXI_ADDR_WIDTH +: AXI_ADDR_WIDTH];
wire [AXI_ADDR_WIDTH-1:0] tok_used = q_used_addr[tok_q*AXI_ADDR_WIDTH +: AXI_ADDR_WIDTH];

/*
 * Shared per-queue state
 */
wire [NUM_QUEUES*16-1:0] c_last_avail, c_shadow;
wire [NUM_QUEUES*SPP_W-1:0] c_seg_commit, k_seg_tail;
wire [NUM_QUEUES-1:0] k_seg_tail_moved;
wire [NUM_QUEUES*IFP_W-1:0] c_if_wr, c_if_sent, k_if_rd;
// heads in flight (popped, not completed), one bit per {queue, head}
reg [(2**(Q_W+QN_W))-1:0] busy_map_reg;

wire [Q_W-1:0] run_start_q;
wire run_start_valid;
wire run_pick_valid;
assign walk_tail_q = run_pick_valid ? run_start_q : fetch_q;
wire [IFP_W-1:0] fetch_inflight = c_if_wr[fetch_q*IFP_W +: IFP_W] - k_if_rd[fetch_q*IFP_W +: IFP_W];
wire [IFP_W-1:0] tok_inflight = c_if_wr[tok_q*IFP_W +: IFP_W] - k_if_rd[tok_q*IFP_W +: IFP_W];

/*
 * Ring reads: five requesters, one read port; responses routed by tag
 */
wire [AXI_ADDR_WIDTH-1:0] idx_rd_addr, head_rd_addr, walk_rd_addr, cmt_rd_addr;
wire [15:0] idx_rd_len, walk_rd_len;
wire idx_rd_valid, head_rd_valid, walk_rd_valid, cmt_rd_valid;
reg idx_rd_ready, head_rd_ready, walk_rd_ready, cmt_rd_ready;

reg [AXI_ADDR_WIDTH-1:0] ring_req_addr_reg;
reg [15:0] ring_req_len_reg;
reg [TAG_W-1:0] ring_req_tag_reg;
reg ring_req_valid_reg;
wire ring_req_ready;
// a second request behind the one offered to the read engine: a requester is
// granted while this one is free, so the read engine's ready (and the flush in
// it) does not reach the requesters' state in the same cycle
reg [AXI_ADDR_WIDTH-1:0] ring_req2_addr_reg;
reg [15:0] ring_req2_len_reg;
reg [TAG_W-1:0] ring_req2_tag_reg;
reg ring_req2_valid_reg;
reg [AXI_ADDR_WIDTH-1:0] ring_grant_addr;
reg [15:0] ring_grant_len;
reg [TAG_W-1:0] ring_grant_tag;
wire ring_asked = cmt_rd_valid || walk_rd_valid || head_rd_valid || idx_rd_valid;
wire ring_offer_free = !ring_req_valid_reg || ring_req_ready;

wire [AXI_DATA_WIDTH-1:0] ring_rsp_data;
wire [AXI_STRB_WIDTH-1:0] ring_rsp_keep;
wire ring_rsp_last, ring_rsp_err, ring_rsp_valid;
wire [TAG_W-1:0] ring_rsp_tag;

always @* begin
    idx_rd_ready = 1'b0;
    head_rd_ready = 1'b0;
    walk_rd_ready = 1'b0;
    cmt_rd_ready = 1'b0;
    if (!ring_req2_valid_reg) begin
        // in pipeline order from the end
        if (cmt_rd_valid) begin
            cmt_rd_ready = 1'b1;
        end else if (walk_rd_valid) begin
            walk_rd_ready = 1'b1;
        end else if (head_rd_valid) begin
            head_rd_ready = 1'b1;
        end else if (idx_rd_valid) begin
            idx_rd_ready = 1'b1;
        end
    end
end

always @* begin
    if (cmt_rd_valid) begin
        ring_grant_addr = cmt_rd_addr;
        ring_grant_len = 16'd2;
        ring_grant_tag = TAG_CONFIRM;
    end else if (walk_rd_valid) begin
        ring_grant_addr = walk_rd_addr;
        ring_grant_len = walk_rd_len;
        ring_grant_tag = TAG_WALK;
    end else if (head_rd_valid) begin
        ring_grant_addr = head_rd_addr;
        ring_grant_len = 16'd16;
        ring_grant_tag = TAG_FIRST;
    end else begin
        ring_grant_addr = idx_rd_addr;
        ring_grant_len = idx_rd_len;
        ring_grant_tag = TAG_IDX;
    end
end

// in order: the offered request, the one behind it, the one granted now
always @(posedge clk) begin
    if (ring_offer_free) begin
        ring_req_valid_reg <= ring_req2_valid_reg || (ring_asked && !ring_req2_valid_reg);
        if (ring_req2_valid_reg) begin
            ring_req_addr_reg <= ring_req2_addr_reg;
            ring_req_len_reg <= ring_req2_len_reg;
            ring_req_tag_reg <= ring_req2_tag_reg;
        end else begin
            ring_req_addr_reg <= ring_grant_addr;
            ring_req_len_reg <= ring_grant_len;
            ring_req_tag_reg <= ring_grant_tag;
        end
    end
    if (ring_offer_free) begin
        ring_req2_valid_reg <= 1'b0;
    end else if (!ring_req2_valid_reg && ring_asked) begin
        ring_req2_valid_reg <= 1'b1;
        ring_req2_addr_reg <= ring_grant_addr;
        ring_req2_len_reg <= ring_grant_len;
        ring_req2_tag_reg <= ring_grant_tag;
    end
    if (rst) begin
        ring_req_valid_reg <= 1'b0;
        ring_req2_valid_reg <= 1'b0;
    end
end

/*
 * Scheduler
 */
wire fetch_idx_idle, fetch_head_idle, walk_idle;
wire fetch_free = fetch_idx_idle && fetch_head_idle && walk_idle;
wire others_waiting;
wire [NUM_QUEUES-1:0] run_active;
wire sched_pending;
wire run_end_valid;
wire [Q_W-1:0] run_end_q;
wire run_end_kick;
wire wait_space_set;
wire done_valid;
wire [Q_W-1:0] done_q;
wire [15:0] done_head;
reg [Q_W-1:0] fetch_q_reg;

assign fetch_q = fetch_q_reg;

always @(posedge clk) begin
    if (run_start_valid) begin
        fetch_q_reg <= run_start_q;
    end
    // (at each pick: the fetch units are idle, and a pick that does not start
    // leaves them idle)
    if (run_pick_valid) begin
        fetch_num <= q_num[run_start_q*16 +: 16];
        fetch_num_mask <= q_num[run_start_q*16 +: 16] - 16'd1;
        fetch_desc <= q_desc_addr[run_start_q*AXI_ADDR_WIDTH +: AXI_ADDR_WIDTH];
        fetch_avail <= q_avail_addr[run_start_q*AXI_ADDR_WIDTH +: AXI_ADDR_WIDTH];
    end
    // (a queue is picked only while the walk is idle)
    walk_tail_reg <= k_seg_tail[walk_tail_q*SPP_W +: SPP_W];
    if (rst) begin
        fetch_q_reg <= {Q_W{1'b0}};
    end
end

virtio_mmio_sched #(
    .NUM_QUEUES(NUM_QUEUES),
    .Q_W(Q_W)
)
sched_inst (
    .clk(clk),
    .rst(rst),
    .q_live(q_live),
    .backend_ready(backend_ready),
    .halt(halt_sched_reg),
    .stopping(stopping),
    .clr(clr_reg),
    .notify_valid(notify_valid),
    .notify_queue(notify_queue),
    .fetch_free(fetch_free && !flush_fetch_reg),
    .run_start_valid(run_start_valid),
    .run_start_q(run_start_q),
    .pick_valid(run_pick_valid),
    .others_waiting(others_waiting),
    .fetch_q(fetch_q),
    .run_end_valid(run_end_valid),
    .run_end_q(run_end_q),
    .run_end_kick(run_end_kick),
    .wait_space_set(wait_space_set),
    .wait_space_q(run_end_q),
    .space_freed(done_valid),
    .space_freed_q(done_q),
    .run_active(run_active),
    .pending(sched_pending)
);

/*
 * Fetch: avail.idx and heads -> head checks, first descriptors -> walk
 */
wire [NUM_QUEUES-1:0] discard;
wire fetch_abort = discard[fetch_q] || stopping[fetch_q] || halt || flush;
wire head_terminate, walk_terminate;

wire [2:0] ent_in_kind, ent_out_kind, wq_in_kind, wq_out_kind;
wire [15:0] ent_in_val, ent_out_val, wq_in_val, wq_out_val;
wire [7:0] ent_in_cause, ent_out_cause, wq_in_cause, wq_out_cause;
wire ent_in_valid, ent_in_ready, ent_out_valid, ent_out_ready;
wire wq_in_valid, wq_in_ready, wq_out_valid, wq_out_ready;
wire [ENT_SPACE_W-1:0] ent_count;
wire [$clog2(8+2)-1:0] wq_count;
wire [$clog2(4+2)-1:0] t1_count, t2_count;
wire dq_in_ready, wr_err;
wire [ENT_SPACE_W-1:0] ent_space = (ENT_DEPTH+1) - ent_count;

virtio_mmio_fetch_idx #(
    .ADDR_WIDTH(AXI_ADDR_WIDTH),
    .DATA_WIDTH(AXI_DATA_WIDTH),
    .KEEP_WIDTH(AXI_STRB_WIDTH),
    .HEAD_BURST(HEAD_BURST),
    .RUN_MAX(RUN_MAX),
    .SPACE_WIDTH(ENT_SPACE_W)
)
fetch_idx_inst (
    .clk(clk),
    .rst(unit_rst),
    .run_load(run_pick_valid),
    .run_start(run_start_valid),
    .start_last_avail(c_last_avail[run_start_q*16 +: 16]),
    .start_shadow(c_shadow[run_start_q*16 +: 16]),
    .num(fetch_num),
    .num_mask(fetch_num_mask),
    .avail_addr(fetch_avail),
    .others_waiting(others_waiting),
    .abort(fetch_abort || head_terminate || walk_terminate),
    .rd_addr(idx_rd_addr),
    .rd_len(idx_rd_len),
    .rd_valid(idx_rd_valid),
    .rd_ready(idx_rd_ready),
    .rsp_data(ring_rsp_data),
    .rsp_keep(ring_rsp_keep),
    .rsp_last(ring_rsp_last),
    .rsp_err(ring_rsp_err),
    .rsp_valid(ring_rsp_valid && ring_rsp_tag == TAG_IDX),
    .out_kind(ent_in_kind),
    .out_val(ent_in_val),
    .out_cause(ent_in_cause),
    .out_valid(ent_in_valid),
    .out_ready(ent_in_ready),
    .out_space(ent_space),
    .idle(fetch_idx_idle)
);

virtio_mmio_fifo #(
    .DEPTH(ENT_DEPTH),
    .WIDTH(ENT_W),
    .BYPASS(1)
)
ent_fifo (
    .clk(clk),
    .rst(rst),
    .clear(flush_pulse),
    .in_data({ent_in_kind, ent_in_val, ent_in_cause}),
    .in_valid(ent_in_valid),
    .in_ready(ent_in_ready),
    .out_data({ent_out_kind, ent_out_val, ent_out_cause}),
    .out_valid(ent_out_valid),
    .out_ready(ent_out_ready),
    .count(ent_count)
);

wire [15:0] head_chk;
wire first_credit;
wire head_rd_issue = head_rd_valid && head_rd_ready;

virtio_mmio_fetch_head #(
    .ADDR_WIDTH(AXI_ADDR_WIDTH),
    .QN_W(QN_W),
    .IFP_W(IFP_W),
    .RUN_CHAINS(16)
)
fetch_head_inst (
    .clk(clk),
    .rst(unit_rst),
    .run_load(run_pick_valid),
    .run_start(run_start_valid),
    .num(fetch_num),
    .num_mask(fetch_num_mask),
    .desc_addr(fetch_desc),
    .inflight(fetch_inflight),
    .chk_head(head_chk),
    .chk_busy(busy_map_reg[{fetch_q, head_chk[QN_W-1:0]}]),
    .commit_chain(pop_valid && pop_q == fetch_q),
    .abort(fetch_abort || walk_terminate),
    .terminate(head_terminate),
    .in_kind(ent_out_kind),
    .in_val(ent_out_val),
    .in_cause(ent_out_cause),
    .in_valid(ent_out_valid),
    .in_ready(ent_out_ready),
    .rd_addr(head_rd_addr),
    .rd_valid(head_rd_valid),
    .rd_ready(head_rd_ready),
    .first_credit(first_credit),
    .out_kind(wq_in_kind),
    .out_val(wq_in_val),
    .out_cause(wq_in_cause),
    .out_valid(wq_in_valid),
    .out_ready(wq_in_ready),
    .idle(fetch_head_idle)
);

virtio_mmio_fifo #(
    .DEPTH(8),
    .WIDTH(ENT_W),
    .BYPASS(1)
)
walk_queue (
    .clk(clk),
    .rst(rst),
    .clear(flush_pulse),
    .in_data({wq_in_kind, wq_in_val, wq_in_cause}),
    .in_valid(wq_in_valid),
    .in_ready(wq_in_ready),
    .out_data({wq_out_kind, wq_out_val, wq_out_cause}),
    .out_valid(wq_out_valid),
    .out_ready(wq_out_ready),
    .count(wq_count)
);

wire seg_we;
wire [Q_W+SP_W-1:0] seg_waddr;
wire [SEG_W-1:0] seg_wdata;
wire [2:0] wk_kind;
wire [Q_W-1:0] wk_q;
wire [15:0] wk_val;
wire [7:0] wk_cause;
wire [SPP_W-1:0] wk_seg_start, wk_rcnt, wk_wfirst, wk_wcnt, wk_seg_end;
wire [31:0] wk_wlen;
wire wk_valid, wk_ready;

virtio_mmio_walk #(
    .Q_W(Q_W),
    .ADDR_WIDTH(AXI_ADDR_WIDTH),
    .DATA_WIDTH(AXI_DATA_WIDTH),
    .KEEP_WIDTH(AXI_STRB_WIDTH),
    .INDIRECT_MAX(INDIRECT_MAX),
    .SEG_DEPTH(SEG_DEPTH),
    .DESC_PREFETCH(DESC_PREFETCH),
    .INDIRECT_CHUNK(INDIRECT_CHUNK),
    .DMA_BASE(DMA_BASE),
    .DMA_SIZE(DMA_SIZE)
)
walk_inst (
    .clk(clk),
    .rst(unit_rst),
    .run_load(run_pick_valid),
    .run_start(run_start_valid),
    .run_q(run_start_q),
    .start_seg(c_seg_commit[run_start_q*SPP_W +: SPP_W]),
    .seg_tail(walk_tail_reg),
    .seg_tail_moved(k_seg_tail_moved[fetch_q]),
    .num(fetch_num),
    .desc_addr(fetch_desc),
    .feat_indirect(feat_indirect),
    .abort(fetch_abort),
    .terminate(walk_terminate),
    .in_kind(wq_out_kind),
    .in_val(wq_out_val),
    .in_cause(wq_out_cause),
    .in_valid(wq_out_valid),
    .in_ready(wq_out_ready),
    .rsp_data(ring_rsp_data),
    .rsp_last(ring_rsp_last),
    .rsp_err(ring_rsp_err),
    .rsp_first_valid(ring_rsp_valid && ring_rsp_tag == TAG_FIRST),
    .rsp_walk_valid(ring_rsp_valid && ring_rsp_tag == TAG_WALK),
    .first_issue(head_rd_issue),
    .first_credit(first_credit),
    .rd_addr(walk_rd_addr),
    .rd_len(walk_rd_len),
    .rd_valid(walk_rd_valid),
    .rd_ready(walk_rd_ready),
    .seg_we(seg_we),
    .seg_waddr(seg_waddr),
    .seg_wdata(seg_wdata),
    .tok_kind(wk_kind),
    .tok_q(wk_q),
    .tok_val(wk_val),
    .tok_cause(wk_cause),
    .tok_seg_start(wk_seg_start),
    .tok_rcnt(wk_rcnt),
    .tok_wfirst(wk_wfirst),
    .tok_wcnt(wk_wcnt),
    .tok_seg_end(wk_seg_end),
    .tok_wlen(wk_wlen),
    .tok_valid(wk_valid),
    .tok_ready(wk_ready),
    .idle(walk_idle)
);

/*
 * Tokens: walk -> data fetch -> commit
 */
wire [TOK_W-1:0] t1_out;
wire t1_valid, t1_ready;
wire [2:0] t1_kind = t1_out[TOK_W-1 -: 3];
wire [Q_W-1:0] t1_q = t1_out[TOK_W-4 -: Q_W];
wire [SPP_W-1:0] t1_seg_start = t1_out[32+5*SPP_W-1 -: SPP_W];
wire [SPP_W-1:0] t1_rcnt = t1_out[32+4*SPP_W-1 -: SPP_W];

virtio_mmio_fifo #(
    .DEPTH(4),
    .WIDTH(TOK_W),
    .BYPASS(1)
)
tok_fifo_walked (
    .clk(clk),
    .rst(rst),
    .clear(flush_pulse),
    .in_data({wk_kind, wk_q, wk_val, wk_cause, wk_seg_start, wk_rcnt, wk_wfirst, wk_wcnt, wk_seg_end, wk_wlen}),
    .in_valid(wk_valid),
    .in_ready(wk_ready),
    .out_data(t1_out),
    .out_valid(t1_valid),
    .out_ready(t1_ready),
    .count(t1_count)
);

wire [Q_W+SP_W-1:0] seg_a_raddr;
wire [SEG_W-1:0] seg_a_rdata;
wire [AXI_ADDR_WIDTH-1:0] data_req_addr;
wire [31:0] data_req_len;
wire data_req_last, data_req_valid, data_req_ready;
wire [TOK_W-1:0] df_tok;
wire df_data_read, df_valid, df_ready, df_idle;

virtio_mmio_ram #(
    .ADDR_WIDTH(Q_W+SP_W),
    .DATA_WIDTH(SEG_W)
)
seg_ram_a (
    .clk(clk),
    .wr_en(seg_we),
    .wr_addr(seg_waddr),
    .wr_data(seg_wdata),
    .rd_addr(seg_a_raddr),
    .rd_data(seg_a_rdata)
);

virtio_mmio_data_fetch #(
    .NUM_QUEUES(NUM_QUEUES),
    .Q_W(Q_W),
    .ADDR_WIDTH(AXI_ADDR_WIDTH),
    .SEG_DEPTH(SEG_DEPTH),
    .TOK_W(TOK_W)
)
data_fetch_inst (
    .clk(clk),
    .rst(unit_rst),
    .in_tok(t1_out),
    .in_kind(t1_kind),
    .in_q(t1_q),
    .in_seg_start(t1_seg_start),
    .in_rcnt(t1_rcnt),
    .in_valid(t1_valid),
    .in_ready(t1_ready),
    .skip(discard | stopping),
    .halt(halt_walk_reg),
    .seg_raddr(seg_a_raddr),
    .seg_rdata(seg_a_rdata),
    .data_req_addr(data_req_addr),
    .data_req_len(data_req_len),
    .data_req_last(data_req_last),
    .data_req_valid(data_req_valid),
    .data_req_ready(data_req_ready),
    .out_tok(df_tok),
    .out_data_read(df_data_read),
    .out_valid(df_valid),
    .out_ready(df_ready),
    .idle(df_idle)
);

wire [TOK_W:0] t2_out;
wire t2_valid, t2_ready;
wire [2:0] t2_kind = t2_out[TOK_W -: 3];
wire [Q_W-1:0] t2_q = t2_out[TOK_W-3 -: Q_W];
wire [15:0] t2_val = t2_out[TOK_W-3-Q_W -: 16];
wire [7:0] t2_cause = t2_out[TOK_W-19-Q_W -: 8];
wire [SPP_W-1:0] t2_wfirst = t2_out[33+3*SPP_W-1 -: SPP_W];
wire [SPP_W-1:0] t2_wcnt = t2_out[33+2*SPP_W-1 -: SPP_W];
wire [SPP_W-1:0] t2_seg_end = t2_out[33+SPP_W-1 -: SPP_W];
wire [31:0] t2_wlen = t2_out[32:1];
wire t2_data_read = t2_out[0];

assign tok_q = t2_q;

virtio_mmio_fifo #(
    .DEPTH(4),
    .WIDTH(TOK_W+1),
    .BYPASS(1)
)
tok_fifo_read (
    .clk(clk),
    .rst(rst),
    .clear(flush_pulse),
    .in_data({df_tok, df_data_read}),
    .in_valid(df_valid),
    .in_ready(df_ready),
    .out_data(t2_out),
    .out_valid(t2_valid),
    .out_ready(t2_ready),
    .count(t2_count)
);

/*
 * Readable bytes read ahead (one packet per chain)
 */
wire [AXI_DATA_WIDTH-1:0] rd_data_data, dq_data;
wire [AXI_STRB_WIDTH-1:0] rd_data_keep, dq_keep;
wire rd_data_last, rd_data_err, rd_data_valid;
wire dq_last, dq_err, dq_valid, dq_ready;
wire [DATA_SPACE_W-1:0] dq_count;
wire [DATA_SPACE_W-1:0] dq_space = DATA_SPACE_EMPTY - dq_count;

virtio_mmio_fifo #(
    .DEPTH(DATA_FIFO_DEPTH),
    .WIDTH(AXI_DATA_WIDTH+AXI_STRB_WIDTH+2)
)
data_fifo (
    .clk(clk),
    .rst(rst),
    .clear(flush_dq_reg),
    .in_data({rd_data_data, rd_data_keep, rd_data_last, rd_data_err}),
    .in_valid(rd_data_valid),
    .in_ready(dq_in_ready),
    .out_data({dq_data, dq_keep, dq_last, dq_err}),
    .out_valid(dq_valid),
    .out_ready(dq_ready),
    .count(dq_count)
);

/*
 * Commit
 */
wire pop_valid;
wire [Q_W-1:0] pop_q;
wire [15:0] pop_head;
wire [3*SPP_W-1:0] pop_segs;
wire [AXI_ADDR_WIDTH-1:0] ae_addr;
wire [15:0] ae_data;
wire ae_valid;
reg ae_ready;
wire [SEQ_W-1:0] wr_im_seq, wr_im_acked, wr_st_seq, wr_st_acked;
wire wr_im_acked_inc, wr_acked_catch_up;
wire cmt_brk_valid;
wire [7:0] cmt_brk_cause;
wire [Q_W-1:0] cmt_brk_q;
wire [15:0] cmt_brk_info;
wire cmt_streaming;
wire cmt_idle;
wire [Q_W-1:0] cmt_ae_q;
wire [NUM_QUEUES-1:0] cmt_ae_holds;
wire [Q_W-1:0] cmt_streaming_q;
wire complete_idle, publish_idle;

virtio_mmio_commit #(
    .NUM_QUEUES(NUM_QUEUES),
    .Q_W(Q_W),
    .QUEUE_NUM_MAX(QUEUE_NUM_MAX),
    .SEG_DEPTH(SEG_DEPTH),
    .RING_INDEX_BASE(RING_INDEX_BASE),
    .DATA_WIDTH(AXI_DATA_WIDTH),
    .KEEP_WIDTH(AXI_STRB_WIDTH),
    .ADDR_WIDTH(AXI_ADDR_WIDTH),
    .AXIS_DEST_WIDTH(AXIS_DEST_WIDTH),
    .AXIS_USER_WIDTH(AXIS_USER_WIDTH),
    .SEQ_WIDTH(SEQ_W)
)
commit_inst (
    .clk(clk),
    .rst(rst),
    .tok_kind(t2_kind),
    .tok_q(t2_q),
    .tok_val(t2_val),
    .tok_cause(t2_cause),
    .tok_wfirst(t2_wfirst),
    .tok_wcnt(t2_wcnt),
    .tok_seg_end(t2_seg_end),
    .tok_wlen(t2_wlen),
    .tok_data_read(t2_data_read),
    .tok_valid(t2_valid),
    .tok_ready(t2_ready),
    .cfg_num(tok_num),
    .cfg_avail(tok_avail),
    .cfg_used(tok_used),
    .chk_busy(busy_map_reg[{tok_q, t2_val[QN_W-1:0]}]),
    .chk_inflight(tok_inflight),
    .feat_event_idx(feat_event_idx),
    .data_data(dq_data),
    .data_keep(dq_keep),
    .data_last(dq_last),
    .data_err(dq_err),
    .data_valid(dq_valid),
    .data_ready(dq_ready),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tkeep(m_axis_tkeep),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .m_axis_tlast(m_axis_tlast),
    .m_axis_tdest(m_axis_tdest),
    .m_axis_tuser(m_axis_tuser),
    .backend_ready(backend_ready),
    .s_axis_tvalid(s_axis_tvalid),
    .complete_idle(complete_idle),
    .publish_idle(publish_idle),
    .last_avail(c_last_avail),
    .shadow(c_shadow),
    .seg_commit(c_seg_commit),
    .if_wr(c_if_wr),
    .if_sent(c_if_sent),
    .pop_valid(pop_valid),
    .pop_q(pop_q),
    .pop_head(pop_head),
    .pop_segs(pop_segs),
    .run_end_valid(run_end_valid),
    .run_end_q(run_end_q),
    .run_end_kick(run_end_kick),
    .wait_space_set(wait_space_set),
    .discard(discard),
    .ae_addr(ae_addr),
    .ae_data(ae_data),
    .ae_valid(ae_valid),
    .ae_ready(ae_ready),
    .im_seq(wr_im_seq),
    .im_acked(wr_im_acked),
    .rd_addr(cmt_rd_addr),
    .rd_valid(cmt_rd_valid),
    .rd_ready(cmt_rd_ready),
    .rsp_data(ring_rsp_data[15:0]),
    .rsp_err(ring_rsp_err),
    .rsp_valid(ring_rsp_valid && ring_rsp_tag == TAG_CONFIRM),
    .brk_valid(cmt_brk_valid),
    .brk_cause(cmt_brk_cause),
    .brk_q(cmt_brk_q),
    .brk_info(cmt_brk_info),
    .halt(halt_cmt_reg),
    .flush(flush_cmt_reg),
    .stopping(stopping),
    .clr(clr_reg),
    .streaming(cmt_streaming),
    .streaming_q(cmt_streaming_q),
    .ae_q(cmt_ae_q),
    .ae_holds(cmt_ae_holds),
    .idle(cmt_idle)
);

// the in-flight FIFOs of all queues
wire [Q_W+QN_W-1:0] if_raddr;
wire [IF_W-1:0] if_rdata;

virtio_mmio_ram #(
    .ADDR_WIDTH(Q_W+QN_W),
    .DATA_WIDTH(IF_W)
)
inflight_ram (
    .clk(clk),
    .wr_en(pop_valid),
    .wr_addr({pop_q, c_if_wr[pop_q*IFP_W +: QN_W]}),
    .wr_data({pop_head, pop_segs}),
    .rd_addr(if_raddr),
    .rd_data(if_rdata)
);

always @(posedge clk) begin
    if (pop_valid) begin
        busy_map_reg[{pop_q, pop_head[QN_W-1:0]}] <= 1'b1;
    end
    if (done_valid) begin
        busy_map_reg[{done_q, done_head[QN_W-1:0]}] <= 1'b0;
    end
    for (i = 0; i < NUM_QUEUES; i = i + 1) begin
        if (clr_reg[i]) begin
            busy_map_reg[i*(2**QN_W) +: 2**QN_W] <= {(2**QN_W){1'b0}};
        end
    end
    if (rst) begin
        busy_map_reg <= {(2**(Q_W+QN_W)){1'b0}};
    end
end

/*
 * Completion and publication
 */
wire [Q_W+SP_W-1:0] seg_b_raddr;
wire [SEG_W-1:0] seg_b_rdata;

virtio_mmio_ram #(
    .ADDR_WIDTH(Q_W+SP_W),
    .DATA_WIDTH(SEG_W)
)
seg_ram_b (
    .clk(clk),
    .wr_en(seg_we),
    .wr_addr(seg_waddr),
    .wr_data(seg_wdata),
    .rd_addr(seg_b_raddr),
    .rd_data(seg_b_rdata)
);

wire st_req_drain, st_req_start;
wire [AXI_ADDR_WIDTH-1:0] st_req_addr;
wire [31:0] st_req_len;
wire [7:0] st_req_tag;
wire st_req_valid, st_req_ready;
wire st_rsp_valid, st_rsp_ended, st_rsp_drain;
wire [31:0] st_rsp_count;
wire [Q_W-1:0] pub_in_q;
wire [15:0] pub_in_head;
wire [31:0] pub_in_len;
wire [SEQ_W-1:0] pub_in_need;
wire pub_in_valid, pub_in_ready;
wire [$clog2(8+2)-1:0] pub_in_space;
wire [NUM_QUEUES-1:0] complete_holds, publish_holds;

virtio_mmio_complete #(
    .NUM_QUEUES(NUM_QUEUES),
    .Q_W(Q_W),
    .QUEUE_NUM_MAX(QUEUE_NUM_MAX),
    .SEG_DEPTH(SEG_DEPTH),
    .ADDR_WIDTH(AXI_ADDR_WIDTH),
    .AXIS_DEST_WIDTH(AXIS_DEST_WIDTH),
    .SEQ_WIDTH(SEQ_W),
    .PUB_DEPTH(8)
)
complete_inst (
    .clk(clk),
    .rst(unit_rst),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .s_axis_tlast(s_axis_tlast),
    .s_axis_tdest(s_axis_tdest),
    .q_live(q_live),
    .if_sent(c_if_sent),
    .if_rd(k_if_rd),
    .seg_tail(k_seg_tail),
    .seg_tail_moved(k_seg_tail_moved),
    .if_raddr(if_raddr),
    .if_rdata(if_rdata),
    .seg_raddr(seg_b_raddr),
    .seg_rdata(seg_b_rdata),
    .st_req_drain(st_req_drain),
    .st_req_start(st_req_start),
    .st_req_addr(st_req_addr),
    .st_req_len(st_req_len),
    .st_req_tag(st_req_tag),
    .st_req_valid(st_req_valid),
    .st_req_ready(st_req_ready),
    .st_seq(wr_st_seq),
    .st_rsp_valid(st_rsp_valid),
    .st_rsp_count(st_rsp_count),
    .st_rsp_drain(st_rsp_drain),
    .done_valid(done_valid),
    .done_q(done_q),
    .done_head(done_head),
    .pub_q(pub_in_q),
    .pub_head(pub_in_head),
    .pub_len(pub_in_len),
    .pub_need(pub_in_need),
    .pub_valid(pub_in_valid),
    .pub_ready(pub_in_ready),
    .pub_space(pub_in_space),
    .halt(halt_cpl_reg),
    .flush(flush_cpl_reg),
    .stopping(stopping),
    .clr(clr_reg),
    .idle(complete_idle),
    .holds(complete_holds)
);

wire [AXI_ADDR_WIDTH-1:0] pub_im_addr;
wire [3:0] pub_im_len;
wire [63:0] pub_im_data;
wire [7:0] pub_im_tag;
wire pub_im_valid;
reg pub_im_ready;
wire pub_brk_valid;
wire [AXI_ADDR_WIDTH-1:0] irq_rd_addr;
wire irq_rd_valid, irq_rd_ready;
wire [15:0] irq_rsp_data;
wire irq_rsp_err, irq_rsp_valid;
wire [Q_W-1:0] pub_brk_q;

virtio_mmio_publish #(
    .NUM_QUEUES(NUM_QUEUES),
    .Q_W(Q_W),
    .RING_INDEX_BASE(RING_INDEX_BASE),
    .ADDR_WIDTH(AXI_ADDR_WIDTH),
    .SEQ_WIDTH(SEQ_W),
    .PUB_DEPTH(8),
    .PUBLISH_BATCH(PUBLISH_BATCH)
)
publish_inst (
    .clk(clk),
    .rst(unit_rst),
    .in_q(pub_in_q),
    .in_head(pub_in_head),
    .in_len(pub_in_len),
    .in_need(pub_in_need),
    .in_valid(pub_in_valid),
    .in_ready(pub_in_ready),
    .in_space(pub_in_space),
    .q_num(q_num),
    .q_avail_addr(q_avail_addr),
    .q_used_addr(q_used_addr),
    .last_avail(c_last_avail),
    .shadow(c_shadow),
    .feat_notify_on_empty(feat_notify_on_empty),
    .feat_event_idx(feat_event_idx),
    .st_acked(wr_st_acked),
    .im_addr(pub_im_addr),
    .im_len(pub_im_len),
    .im_data(pub_im_data),
    .im_tag(pub_im_tag),
    .im_valid(pub_im_valid),
    .im_ready(pub_im_ready),
    .im_seq(wr_im_seq),
    .im_acked(wr_im_acked),
    .im_acked_inc(wr_im_acked_inc),
    .acked_catch_up(wr_acked_catch_up),
    .rd_addr(irq_rd_addr),
    .rd_valid(irq_rd_valid),
    .rd_ready(irq_rd_ready),
    .rsp_data(irq_rsp_data),
    .rsp_err(irq_rsp_err),
    .rsp_valid(irq_rsp_valid),
    .irq_vring(irq_vring),
    .brk_valid(pub_brk_valid),
    .brk_q(pub_brk_q),
    .halt(halt_pub_reg),
    .stopping(stopping),
    .clr(clr_reg),
    .idle(publish_idle),
    .holds(publish_holds)
);

/*
 * DMA engines
 */
wire wr_im_ready;
wire rd_busy, wr_busy, wr_idle;
wire wr_err_valid;
wire [7:0] wr_err_tag;

// immediate writes: the publisher's, then avail_event
always @* begin
    pub_im_ready = wr_im_ready && pub_im_valid;
    ae_ready = wr_im_ready && !pub_im_valid;
end

virtio_mmio_dma_rd #(
    .AXI_DATA_WIDTH(AXI_DATA_WIDTH),
    .AXI_ADDR_WIDTH(AXI_ADDR_WIDTH),
    .AXI_STRB_WIDTH(AXI_STRB_WIDTH),
    .AXI_ID_WIDTH(AXI_ID_WIDTH),
    .AXI_MAX_BURST_LEN(AXI_MAX_BURST_LEN),
    .MAX_OUTSTANDING(DMA_MAX_OUTSTANDING),
    .TAG_WIDTH(TAG_W),
    .SPACE_WIDTH(DATA_SPACE_W)
)
dma_rd_inst (
    .clk(clk),
    .rst(rst),
    .ring_req_addr(ring_req_addr_reg),
    .ring_req_len(ring_req_len_reg),
    .ring_req_tag(ring_req_tag_reg),
    .ring_req_valid(ring_req_valid_reg),
    .ring_req_ready(ring_req_ready),
    .ring_rsp_data(ring_rsp_data),
    .ring_rsp_keep(ring_rsp_keep),
    .ring_rsp_last(ring_rsp_last),
    .ring_rsp_err(ring_rsp_err),
    .ring_rsp_tag(ring_rsp_tag),
    .ring_rsp_valid(ring_rsp_valid),
    .data_req_addr(data_req_addr),
    .data_req_len(data_req_len),
    .data_req_last(data_req_last),
    .data_req_valid(data_req_valid),
    .data_req_ready(data_req_ready),
    .data_out_data(rd_data_data),
    .data_out_keep(rd_data_keep),
    .data_out_last(rd_data_last),
    .data_out_err(rd_data_err),
    .data_out_valid(rd_data_valid),
    .data_space(dq_space),
    .irq_req_addr(irq_rd_addr),
    .irq_req_valid(irq_rd_valid),
    .irq_req_ready(irq_rd_ready),
    .irq_rsp_data(irq_rsp_data),
    .irq_rsp_err(irq_rsp_err),
    .irq_rsp_valid(irq_rsp_valid),
    .flush(flush_rd_reg),
    .busy(rd_busy),
    .m_axi_arid(m_axi_arid),
    .m_axi_araddr(m_axi_araddr),
    .m_axi_arlen(m_axi_arlen),
    .m_axi_arsize(m_axi_arsize),
    .m_axi_arburst(m_axi_arburst),
    .m_axi_arlock(m_axi_arlock),
    .m_axi_arcache(m_axi_arcache),
    .m_axi_arprot(m_axi_arprot),
    .m_axi_arvalid(m_axi_arvalid),
    .m_axi_arready(m_axi_arready),
    .m_axi_rid(m_axi_rid),
    .m_axi_rdata(m_axi_rdata),
    .m_axi_rresp(m_axi_rresp),
    .m_axi_rlast(m_axi_rlast),
    .m_axi_rvalid(m_axi_rvalid),
    .m_axi_rready(m_axi_rready)
);

virtio_mmio_dma_wr #(
    .AXI_DATA_WIDTH(AXI_DATA_WIDTH),
    .AXI_ADDR_WIDTH(AXI_ADDR_WIDTH),
    .AXI_STRB_WIDTH(AXI_STRB_WIDTH),
    .AXI_ID_WIDTH(AXI_ID_WIDTH),
    .AXI_MAX_BURST_LEN(AXI_MAX_BURST_LEN),
    .MAX_OUTSTANDING(DMA_MAX_OUTSTANDING),
    .STREAM_FIFO_DEPTH(WRITE_FIFO_DEPTH),
    .TAG_WIDTH(8),
    .SEQ_WIDTH(SEQ_W)
)
dma_wr_inst (
    .clk(clk),
    .rst(rst),
    .st_req_drain(st_req_drain),
    .st_req_start(st_req_start),
    .st_req_addr(st_req_addr),
    .st_req_len(st_req_len),
    .st_req_tag(st_req_tag),
    .st_req_valid(st_req_valid),
    .st_req_ready(st_req_ready),
    .st_seq(wr_st_seq),
    .st_rsp_valid(st_rsp_valid),
    .st_rsp_count(st_rsp_count),
    .st_rsp_ended(st_rsp_ended),
    .st_rsp_drain(st_rsp_drain),
    .st_acked(wr_st_acked),
    .in_data(s_axis_tdata),
    .in_keep(s_axis_tkeep),
    .in_last(s_axis_tlast),
    .in_valid(s_axis_tvalid),
    .in_ready(s_axis_tready),
    .im_req_addr(pub_im_valid ? pub_im_addr : ae_addr),
    .im_req_len(pub_im_valid ? pub_im_len : 4'd2),
    .im_req_data(pub_im_valid ? pub_im_data : {48'd0, ae_data}),
    .im_req_tag(pub_im_valid ? pub_im_tag : {{(8-Q_W){1'b0}}, cmt_ae_q}),
    .im_req_valid(pub_im_valid || ae_valid),
    .im_req_ready(wr_im_ready),
    .im_seq(wr_im_seq),
    .im_acked(wr_im_acked),
    .im_acked_inc(wr_im_acked_inc),
    .acked_catch_up(wr_acked_catch_up),
    .flush(flush_wr_reg),
    .flush_st(flush_wrst_reg),
    .err_clr(clr_reg[0] && ctrl_reset_done_reg),
    .busy(wr_busy),
    .idle(wr_idle),
    .err(wr_err),
    .err_valid(wr_err_valid),
    .err_tag(wr_err_tag),
    .m_axi_awid(m_axi_awid),
    .m_axi_awaddr(m_axi_awaddr),
    .m_axi_awlen(m_axi_awlen),
    .m_axi_awsize(m_axi_awsize),
    .m_axi_awburst(m_axi_awburst),
    .m_axi_awlock(m_axi_awlock),
    .m_axi_awcache(m_axi_awcache),
    .m_axi_awprot(m_axi_awprot),
    .m_axi_awvalid(m_axi_awvalid),
    .m_axi_awready(m_axi_awready),
    .m_axi_wdata(m_axi_wdata),
    .m_axi_wstrb(m_axi_wstrb),
    .m_axi_wlast(m_axi_wlast),
    .m_axi_wvalid(m_axi_wvalid),
    .m_axi_wready(m_axi_wready),
    .m_axi_bid(m_axi_bid),
    .m_axi_bresp(m_axi_bresp),
    .m_axi_bvalid(m_axi_bvalid),
    .m_axi_bready(m_axi_bready)
);

/*
 * Errors: the first report wins at the register block; one at a time here
 */
reg err_valid_reg;
reg [7:0] err_cause_reg;
reg [7:0] err_queue_reg;
reg [15:0] err_info_reg;

assign err_valid = err_valid_reg;
assign err_cause = err_cause_reg;
assign err_queue = err_queue_reg;
assign err_info = err_info_reg;
assign ctrl_ack = ctrl_ack_reg;

always @(posedge clk) begin
    err_valid_reg <= 1'b0;
    if (!halted_reg) begin
        if (wr_err_valid) begin
            err_valid_reg <= 1'b1;
            err_cause_reg <= CAUSE_BUS_ERROR;
            err_queue_reg <= wr_err_tag;
            err_info_reg <= BUS_INFO_WRITE;
        end else if (pub_brk_valid) begin
            err_valid_reg <= 1'b1;
            err_cause_reg <= CAUSE_BUS_ERROR;
            err_queue_reg <= {{(8-Q_W){1'b0}}, pub_brk_q};
            err_info_reg <= BUS_INFO_READ;
        end else if (cmt_brk_valid) begin
            err_valid_reg <= 1'b1;
            err_cause_reg <= cmt_brk_cause;
            err_queue_reg <= {{(8-Q_W){1'b0}}, cmt_brk_q};
            err_info_reg <= cmt_brk_info;
        end
    end
    if (rst) begin
        err_valid_reg <= 1'b0;
    end
end

/*
 * Reset and stop: the units let go of the queues concerned, the DMA bursts
 * issued finish; then the acknowledgement and the per-queue state cleared.
 * A break flushes the DMA engines once (queued bursts dropped).
 */
reg ctrl_reset_done_reg;

// decoded with && so that a queue number not yet written (X in simulation) of a
// unit that is not busy marks no queue
wire [NUM_QUEUES-1:0] unit_q_busy;
genvar gq;
generate
    for (gq = 0; gq < NUM_QUEUES; gq = gq + 1) begin : g_unit_q_busy
        assign unit_q_busy[gq] = (cmt_streaming && cmt_streaming_q == gq)
            || cmt_ae_holds[gq] || (!fetch_free && fetch_q == gq);
    end
endgenerate
wire [NUM_QUEUES-1:0] q_busy = run_active | complete_holds | publish_holds | unit_q_busy;
wire [SEQ_W-1:0] st_mark_wait = wr_st_acked - st_mark_reg;
wire [SEQ_W-1:0] im_mark_wait = wr_im_acked - im_mark_reg;
wire units_let_go = ctrl_reset ? (fetch_free && !t1_valid && !df_valid && !t2_valid && !cmt_streaming
        && complete_idle && publish_idle && !rd_busy && !wr_busy)
    : ((q_busy & ctrl_mask) == {NUM_QUEUES{1'b0}});
// registered (it gathers every unit's state); trusted from the second cycle the
// units see the request, when no unit can have started on its queues since
reg units_let_go_reg;
reg ctrl_settled_reg;

// a break: the DMA engines drop what they hold, bursts issued finish; over
// once they are idle (the next flush, a reset, starts the units over again)
// or when a reset is acknowledged
always @* begin
    flush_reg_next = flush_reg;
    if (halt && !halt_prev_reg) begin
        flush_reg_next = 1'b1;
    end else if (flush_reg && flush_hold && !rd_busy && !wr_busy) begin
        flush_reg_next = 1'b0;
    end
    if (ctrl_valid && ctrl_reset && !ctrl_ack_reg && ctrl_live_reg && ctrl_phase_reg == 2'd1) begin
        flush_reg_next = 1'b0;
    end
end

// halted by the engine's own error report, until a device reset is acknowledged
always @* begin
    halted_next = halted_reg;
    if (ctrl_valid && ctrl_reset && !ctrl_ack_reg && ctrl_live_reg && ctrl_phase_reg == 2'd1) begin
        halted_next = 1'b0;
    end
    if (err_valid_reg && !(ctrl_valid && ctrl_reset)) begin
        halted_next = 1'b1;
    end
end

always @(posedge clk) begin
    ctrl_ack_reg <= 1'b0;
    clr_reg <= {NUM_QUEUES{1'b0}};
    ctrl_reset_done_reg <= 1'b0;
    halt_prev_reg <= halt;
    halted_reg <= halted_next;
    halt_reg <= halt_next;
    flush_reg <= flush_reg_next;

    if (halt && !halt_prev_reg) begin
        flush_hold <= 1'b0;
    end else if (flush_reg) begin
        flush_hold <= 1'b1;
        if (flush_hold && !rd_busy && !wr_busy) begin
            flush_hold <= 1'b0;
        end
    end

    ctrl_live_reg <= ctrl_valid && !ctrl_ack_reg;
    ctrl_settled_reg <= ctrl_valid && !ctrl_ack_reg && ctrl_live_reg;
    units_let_go_reg <= units_let_go;
    stop_req_reg <= (ctrl_valid && !ctrl_ack_reg) ? ctrl_mask : {NUM_QUEUES{1'b0}};
    // (a reset is acknowledged in its phase 1: the flush ends with it)
    flush_req_reg <= flush_req_next;

    if (ctrl_valid && !ctrl_ack_reg && ctrl_live_reg) begin
        if (ctrl_reset) begin
            flush_hold <= 1'b1;
        end
        case (ctrl_phase_reg)
            2'd0: begin
                // the units let go of the queues concerned
                if (units_let_go_reg && ctrl_settled_reg) begin
                    st_mark_reg <= wr_st_seq;
                    im_mark_reg <= wr_im_seq;
                    ctrl_phase_reg <= 2'd1;
                end
            end
            2'd1: begin
                // every write they asked for is answered
                if (ctrl_reset || (!st_mark_wait[SEQ_W-1] && !im_mark_wait[SEQ_W-1])) begin
                    ctrl_ack_reg <= 1'b1;
                    clr_reg <= ctrl_mask;
                    ctrl_phase_reg <= 2'd0;
                    if (ctrl_reset) begin
                        flush_hold <= 1'b0;
                        ctrl_reset_done_reg <= 1'b1;
                    end
                end
            end
            default: begin
                ctrl_phase_reg <= 2'd0;
            end
        endcase
    end

    if (rst) begin
        ctrl_ack_reg <= 1'b0;
        clr_reg <= {NUM_QUEUES{1'b0}};
        halted_reg <= 1'b0;
        halt_reg <= 1'b0;
        flush_reg <= 1'b0;
        flush_hold <= 1'b0;
        halt_prev_reg <= 1'b0;
        ctrl_phase_reg <= 2'd0;
        ctrl_reset_done_reg <= 1'b0;
        ctrl_live_reg <= 1'b0;
        ctrl_settled_reg <= 1'b0;
        stop_req_reg <= {NUM_QUEUES{1'b0}};
        flush_req_reg <= 1'b0;
    end
end

assign idle = fetch_free && !sched_pending && !t1_valid && df_idle && !t2_valid && cmt_idle
    && complete_idle && publish_idle && !ring_req_valid_reg && !ring_req2_valid_reg && !rd_busy && wr_idle
    && !ctrl_valid && !flush_reg && !err_valid_reg && !dq_valid;

wire unused_ok = &{1'b0, st_rsp_ended, ring_rsp_keep, wq_count, t1_count, t2_count, dq_in_ready, wr_err,
    done_head, head_chk, t2_out[32+5*SPP_W:33+3*SPP_W]};

`ifdef FORMAL
/*
 * Formal check (docs/formal.md, `make formal`): the commit stage's
 * avail_event write (EVENT_IDX) is 2 bytes inside its queue's used ring
 * [used, used + 4 + 8*num + 2) (the publisher checks its own writes; the
 * commit stage does not see the used ring of the write it holds).
 */
wire [65:0] f_ae_used_lo = {{(66-AXI_ADDR_WIDTH){1'b0}}, q_used_addr[cmt_ae_q*AXI_ADDR_WIDTH +: AXI_ADDR_WIDTH]};
wire [65:0] f_ae_used_hi = f_ae_used_lo + 66'd6 + {47'd0, q_num[cmt_ae_q*16 +: 16], 3'b000};
wire [65:0] f_ae_lo = {{(66-AXI_ADDR_WIDTH){1'b0}}, ae_addr};

// a queue was picked in the cycle before (the walk's tail register then holds
// the picked queue's, whether or not its run started)
reg f_walk_tail_picked;
always @(posedge clk) begin
    f_walk_tail_picked <= run_pick_valid;
end

always @* begin
    if (!rst && ae_valid) begin
        assert(f_ae_used_lo <= f_ae_lo && f_ae_lo + 66'd2 <= f_ae_used_hi);
    end
    if (!rst) begin
        inv_engine_clr_in_stop: assert((clr_reg & ~stop_req_reg) == {NUM_QUEUES{1'b0}});
        inv_engine_flush_copies: assert({flush_rd_reg, flush_wr_reg, flush_wrst_reg, flush_cmt_reg, flush_cpl_reg,
            flush_dq_reg, flush_fetch_reg} == {7{flush}});
        inv_engine_halt_copies: assert({halt_sched_reg, halt_cmt_reg, halt_cpl_reg, halt_pub_reg} == {4{halt}}
            && halt_walk_reg == (halt || flush));
        if ((!walk_idle || !f_walk_tail_picked) && !k_seg_tail_moved[fetch_q]) begin
            inv_engine_walk_tail: assert(walk_tail_reg == k_seg_tail[fetch_q*SPP_W +: SPP_W]);
        end
        if (!fetch_free) begin
            inv_engine_fetch_ring: assert(fetch_num == q_num[fetch_q*16 +: 16]
                && fetch_num_mask == fetch_num - 16'd1
                && fetch_desc == q_desc_addr[fetch_q*AXI_ADDR_WIDTH +: AXI_ADDR_WIDTH]
                && fetch_avail == q_avail_addr[fetch_q*AXI_ADDR_WIDTH +: AXI_ADDR_WIDTH]);
        end
    end
end
`endif

endmodule

`resetall
