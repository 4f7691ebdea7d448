`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * virtio-mmio ring engine: queue scheduler, split-ring chain walker and used
 * ring writer (legacy layout). The behaviour follows the reference device in
 * model/vio/device (mmio.py _service/_deliver/_complete, virtqueue.py pop,
 * walk_chain, publish): the same checks in the same order, the same cause
 * codes, the same interrupt decision per used entry.
 *
 * One operation at a time, completions before pops:
 *   - completion: the answer packet at the head of s_axis (tdest = queue)
 *     belongs to the oldest chain in flight on that queue; its bytes go into
 *     the chain's writable buffers (through the write engine), then the used
 *     element, then used.idx, then the interrupt decision;
 *   - pop: a queue whose kick is pending (notify, or its backend_ready bit
 *     rose) and whose backend_ready bit is set: read avail.idx if the last
 *     value read is used up, read the head, walk the chain (segments go to
 *     a per-queue segment buffer), commit, write avail_event (EVENT_IDX),
 *     then stream the readable bytes to m_axis as one packet.
 * Answers for a queue without a chain in flight, and every answer while
 * the device is broken, are dropped.
 */
module virtio_mmio_walker #
(
    // Number of virtqueues
    parameter NUM_QUEUES = 2,
    // Width of a queue index
    parameter QUEUE_INDEX_WIDTH = (NUM_QUEUES > 1) ? $clog2(NUM_QUEUES) : 1,
    // QueueNumMax of every queue (power of two)
    parameter QUEUE_NUM_MAX = 16,
    // Largest indirect table accepted, in descriptors
    parameter INDIRECT_MAX = QUEUE_NUM_MAX,
    // Per-queue segment buffer depth (power of two, >= QUEUE_NUM_MAX+INDIRECT_MAX-1)
    parameter SEG_DEPTH = 32,
    // avail/used index of a freshly activated queue (test hook, 0 normally)
    parameter [15:0] RING_INDEX_BASE = 16'd0,
    // Width of data path in bits (AXI and AXI stream)
    parameter DATA_WIDTH = 32,
    // Width of keep
    parameter KEEP_WIDTH = (DATA_WIDTH/8),
    // Width of DMA addresses
    parameter ADDR_WIDTH = 32,
    // DMA window: [DMA_BASE, DMA_BASE+DMA_SIZE)
    parameter [63:0] DMA_BASE = 64'd0,
    parameter [64:0] DMA_SIZE = 65'd1 << ADDR_WIDTH,
    // Width of AXI stream tdest
    parameter AXIS_DEST_WIDTH = 8,
    // Width of m_axis tuser: {abort, writable length[31:0]}
    parameter AXIS_USER_WIDTH = 33
)
(
    input  wire                                clk,
    input  wire                                rst,

    /*
     * Queue configuration and control from the register block
     */
    input  wire [NUM_QUEUES-1:0]               q_live,
    input  wire [NUM_QUEUES*16-1:0]            q_num,
    input  wire [NUM_QUEUES*ADDR_WIDTH-1:0]    q_desc_addr,
    input  wire [NUM_QUEUES*ADDR_WIDTH-1:0]    q_avail_addr,
    input  wire [NUM_QUEUES*ADDR_WIDTH-1:0]    q_used_addr,
    input  wire                                feat_notify_on_empty,
    input  wire                                feat_indirect,
    input  wire                                feat_event_idx,
    input  wire                                broken,
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

    /*
     * Backend
     */
    input  wire [NUM_QUEUES-1:0]               backend_ready,

    output wire [DATA_WIDTH-1:0]               m_axis_tdata,
    output wire [KEEP_WIDTH-1:0]               m_axis_tkeep,
    output wire                                m_axis_tvalid,
    input  wire                                m_axis_tready,
    output wire                                m_axis_tlast,
    output wire [AXIS_DEST_WIDTH-1:0]          m_axis_tdest,
    output wire [AXIS_USER_WIDTH-1:0]          m_axis_tuser,

    // s_axis is observed here; its data goes to the write engine
    input  wire                                s_axis_tvalid,
    input  wire                                s_axis_tready,
    input  wire                                s_axis_tlast,
    input  wire [AXIS_DEST_WIDTH-1:0]          s_axis_tdest,

    /*
     * DMA read engine
     */
    output wire [ADDR_WIDTH-1:0]               rd_req_addr,
    output wire [31:0]                         rd_req_len,
    output wire                                rd_req_last,
    output wire                                rd_req_valid,
    input  wire                                rd_req_ready,
    input  wire [DATA_WIDTH-1:0]               rd_out_data,
    input  wire [KEEP_WIDTH-1:0]               rd_out_keep,
    input  wire                                rd_out_last,
    input  wire                                rd_out_err,
    input  wire                                rd_out_valid,
    output wire                                rd_out_ready,
    output wire                                rd_flush,
    output wire                                rd_err_clr,
    input  wire                                rd_busy,
    input  wire                                rd_err,

    /*
     * DMA write engine
     */
    output wire [1:0]                          wr_req_mode,
    output wire                                wr_req_start,
    output wire [ADDR_WIDTH-1:0]               wr_req_addr,
    output wire [31:0]                         wr_req_len,
    output wire [63:0]                         wr_req_imm,
    output wire                                wr_req_valid,
    input  wire                                wr_req_ready,
    input  wire                                wr_resp_valid,
    input  wire [31:0]                         wr_resp_count,
    input  wire                                wr_resp_ended,
    output wire                                wr_flush,
    output wire                                wr_err_clr,
    input  wire                                wr_busy,
    input  wire                                wr_err
);

localparam Q_W = QUEUE_INDEX_WIDTH;
// descriptor index within a ring
localparam QN_W = $clog2(QUEUE_NUM_MAX);
// in-flight FIFO pointers (with wrap bit)
localparam IFP_W = QN_W+1;
// segment buffer pointers (with wrap bit)
localparam SP_W = $clog2(SEG_DEPTH);
localparam SPP_W = SP_W+1;

// segment buffer entry: {addr, len}
localparam SEG_W = ADDR_WIDTH+32;
// in-flight entry: {head, first writable segment, writable segment count}
localparam IF_W = QN_W+2*SPP_W;

localparam [SPP_W-1:0] SEG_FULL = SEG_DEPTH[SPP_W-1:0];
localparam [27:0] IND_MAX = INDIRECT_MAX[27:0];
localparam [AXIS_DEST_WIDTH-1:0] NQ_DEST = NUM_QUEUES[AXIS_DEST_WIDTH-1:0];
localparam [Q_W:0] NQ_IDX = NUM_QUEUES[Q_W:0];
localparam [65:0] DMA_BASE_X = {2'b00, DMA_BASE};
localparam [65:0] DMA_END_X = {2'b00, DMA_BASE} + {1'b0, DMA_SIZE};
localparam [5:0] LANES = KEEP_WIDTH[5:0];

// cause codes: model/vio/constants.py Cause
localparam [7:0]
    CAUSE_AVAIL_IDX_JUMP = 8'd1,
    CAUSE_HEAD_RANGE = 8'd2,
    CAUSE_NEXT_RANGE = 8'd3,
    CAUSE_CHAIN_LOOP = 8'd4,
    CAUSE_ZERO_LENGTH = 8'd5,
    CAUSE_READ_AFTER_WRITE = 8'd6,
    CAUSE_INDIRECT_NOT_NEGOTIATED = 8'd7,
    CAUSE_INDIRECT_SIZE = 8'd8,
    CAUSE_INDIRECT_NESTED = 8'd9,
    CAUSE_INDIRECT_WITH_NEXT = 8'd10,
    CAUSE_DMA_WINDOW = 8'd11,
    CAUSE_LENGTH_OVERFLOW = 8'd12,
    CAUSE_HEAD_IN_FLIGHT = 8'd13,
    CAUSE_BUS_ERROR = 8'd14;

// BUS_ERROR info field
localparam [15:0]
    BUS_INFO_READ = 16'h0000,
    BUS_INFO_WRITE = 16'h0001;

// write engine modes
localparam [1:0]
    MODE_STREAM = 2'd0,
    MODE_IMM = 2'd1,
    MODE_DRAIN = 2'd2;

// descriptor flags
localparam
    DESC_F_NEXT = 0,
    DESC_F_WRITE = 1,
    DESC_F_INDIRECT = 2;

localparam [4:0]
    STATE_IDLE = 5'd0,
    STATE_POP_START = 5'd1,
    STATE_AIDX_WAIT = 5'd2,
    STATE_HEAD_WAIT = 5'd3,
    STATE_DESC_RD = 5'd4,
    STATE_DESC_WAIT = 5'd5,
    STATE_POP_COMMIT = 5'd6,
    STATE_AEVT_WAIT = 5'd7,
    STATE_DATA_START = 5'd8,
    STATE_DATA_STREAM = 5'd9,
    STATE_POP_DONE = 5'd10,
    STATE_ANS_START = 5'd11,
    STATE_ANS_NEXT = 5'd12,
    STATE_ANS_SEG = 5'd13,
    STATE_ANS_DRAIN = 5'd14,
    STATE_ANS_FLUSH = 5'd15,
    STATE_USED_ELEM = 5'd16,
    STATE_USED_IDX = 5'd17,
    STATE_IRQ_WAIT = 5'd18,
    STATE_DRAIN = 5'd19,
    STATE_ABORT = 5'd20,
    STATE_ABORT_BEAT = 5'd21;

// parameter checks
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
end

// per-queue ring addresses from the register block
wire [15:0] num_arr [0:NUM_QUEUES-1];
wire [ADDR_WIDTH-1:0] desc_arr [0:NUM_QUEUES-1];
wire [ADDR_WIDTH-1:0] avail_arr [0:NUM_QUEUES-1];
wire [ADDR_WIDTH-1:0] used_arr [0:NUM_QUEUES-1];

genvar n;

generate

for (n = 0; n < NUM_QUEUES; n = n + 1) begin : queue_cfg
    assign num_arr[n] = q_num[n*16 +: 16];
    assign desc_arr[n] = q_desc_addr[n*ADDR_WIDTH +: ADDR_WIDTH];
    assign avail_arr[n] = q_avail_addr[n*ADDR_WIDTH +: ADDR_WIDTH];
    assign used_arr[n] = q_used_addr[n*ADDR_WIDTH +: ADDR_WIDTH];
end

endgenerate

// per-queue state
reg [15:0] last_avail_reg [0:NUM_QUEUES-1];
reg [15:0] shadow_avail_reg [0:NUM_QUEUES-1];
reg [15:0] used_idx_reg [0:NUM_QUEUES-1];
reg [IFP_W-1:0] if_wr_ptr_reg [0:NUM_QUEUES-1];
reg [IFP_W-1:0] if_rd_ptr_reg [0:NUM_QUEUES-1];
reg [SPP_W-1:0] seg_head_reg [0:NUM_QUEUES-1];
reg [SPP_W-1:0] seg_tail_reg [0:NUM_QUEUES-1];

reg [NUM_QUEUES-1:0] kick_reg, kick_next;
reg [NUM_QUEUES-1:0] wait_space_reg, wait_space_next;
reg [NUM_QUEUES-1:0] ready_prev_reg;
// heads in flight, one bit per {queue, head}
reg [(2**(Q_W+QN_W))-1:0] busy_map_reg, busy_map_next;

// segment buffers and in-flight FIFOs of all queues
reg [SEG_W-1:0] seg_ram [0:(2**(Q_W+SP_W))-1];
reg [IF_W-1:0] if_ram [0:(2**(Q_W+QN_W))-1];

// engine state
reg [4:0] state_reg, state_next;
reg [Q_W-1:0] cur_q_reg, cur_q_next;
reg [Q_W-1:0] rr_reg, rr_next;
reg abort_ctrl_reg, abort_ctrl_next;
reg halted_reg, halted_next;

// small read capture
reg [127:0] cap_reg, cap_next;
reg [5:0] cap_cnt_reg, cap_cnt_next;
reg cap_done_reg, cap_done_next;
reg cap_err_reg, cap_err_next;

// chain walk
reg [15:0] head_reg, head_next;
reg [ADDR_WIDTH-1:0] tbl_addr_reg, tbl_addr_next;
reg [16:0] tbl_len_reg, tbl_len_next;
reg [15:0] idx_reg, idx_next;
reg [16:0] seen_reg, seen_next;
reg [32:0] total_reg, total_next;
reg nested_reg, nested_next;
reg have_w_reg, have_w_next;
reg [SPP_W-1:0] walk_ptr_reg, walk_ptr_next;
reg [SPP_W-1:0] seg_start_reg, seg_start_next;
reg [SPP_W-1:0] rcnt_reg, rcnt_next;
reg [SPP_W-1:0] wfirst_reg, wfirst_next;
reg [SPP_W-1:0] wcnt_reg, wcnt_next;
reg [31:0] wlen_reg, wlen_next;

// segment iteration (readable part of a pop, writable part of a completion)
reg [SPP_W-1:0] sptr_reg, sptr_next;
reg [SPP_W-1:0] sleft_reg, sleft_next;

// completion
reg [QN_W-1:0] c_head_reg, c_head_next;
reg [SPP_W-1:0] c_free_reg, c_free_next;
reg [31:0] written_reg, written_next;
reg c_first_reg, c_first_next;
reg [15:0] irq_old_reg, irq_old_next;
reg irq_evt_reg, irq_evt_next;

// packets in progress on the streams
reg m_open_reg, m_open_next;
reg s_open_reg, s_open_next;

// outputs
reg ctrl_ack_reg, ctrl_ack_next;
reg err_valid_reg, err_valid_next;
reg [7:0] err_cause_reg, err_cause_next;
reg [7:0] err_queue_reg, err_queue_next;
reg [15:0] err_info_reg, err_info_next;
reg irq_vring_reg, irq_vring_next;
reg err_clr_reg, err_clr_next;

reg [ADDR_WIDTH-1:0] rd_req_addr_reg, rd_req_addr_next;
reg [31:0] rd_req_len_reg, rd_req_len_next;
reg rd_req_last_reg, rd_req_last_next;
reg rd_req_valid_reg, rd_req_valid_next;
reg rd_out_ready_int;

reg [1:0] wr_req_mode_reg, wr_req_mode_next;
reg wr_req_start_reg, wr_req_start_next;
reg [ADDR_WIDTH-1:0] wr_req_addr_reg, wr_req_addr_next;
reg [31:0] wr_req_len_reg, wr_req_len_next;
reg [63:0] wr_req_imm_reg, wr_req_imm_next;
reg wr_req_valid_reg, wr_req_valid_next;

reg [DATA_WIDTH-1:0] m_axis_tdata_reg, m_axis_tdata_next;
reg [KEEP_WIDTH-1:0] m_axis_tkeep_reg, m_axis_tkeep_next;
reg m_axis_tvalid_reg, m_axis_tvalid_next;
reg m_axis_tlast_reg, m_axis_tlast_next;
reg [AXIS_DEST_WIDTH-1:0] m_axis_tdest_reg, m_axis_tdest_next;
reg [AXIS_USER_WIDTH-1:0] m_axis_tuser_reg, m_axis_tuser_next;

// per-queue state update strobes (applied in the clocked block)
reg pop_commit;
reg used_commit;
reg shadow_we;
reg [15:0] shadow_val;
reg [NUM_QUEUES-1:0] clr_vec;
reg seg_we;
reg [SEG_W-1:0] seg_wdata;

// scratch
reg brk;
reg [7:0] brk_cause;
reg [15:0] brk_info;
reg rd_issue;
reg [ADDR_WIDTH-1:0] rd_issue_addr;
reg [31:0] rd_issue_len;
reg rd_issue_last;
reg wr_issue;
reg [1:0] wr_issue_mode;
reg wr_issue_start;
reg [ADDR_WIDTH-1:0] wr_issue_addr;
reg [31:0] wr_issue_len;
reg [63:0] wr_issue_imm;
reg [255:0] cap_shift;
reg [NUM_QUEUES-1:0] eligible;
reg pick_found;
reg [Q_W-1:0] pick_q;
reg [Q_W:0] pick_idx;
reg [Q_W:0] rr_idx;
reg busy_state;
reg abort_hit;
reg m_free;
reg [15:0] waiting;
reg [15:0] irq_new;
integer i;

// the current queue
wire [15:0] cq_num = num_arr[cur_q_reg];
wire [15:0] cq_mask = cq_num - 16'd1;
wire [ADDR_WIDTH-1:0] cq_desc = desc_arr[cur_q_reg];
wire [ADDR_WIDTH-1:0] cq_avail = avail_arr[cur_q_reg];
wire [ADDR_WIDTH-1:0] cq_used = used_arr[cur_q_reg];
wire [15:0] cq_last_avail = last_avail_reg[cur_q_reg];
wire [15:0] cq_shadow_avail = shadow_avail_reg[cur_q_reg];
wire [15:0] cq_used_idx = used_idx_reg[cur_q_reg];
wire [IFP_W-1:0] cq_if_wr_ptr = if_wr_ptr_reg[cur_q_reg];
wire [IFP_W-1:0] cq_if_rd_ptr = if_rd_ptr_reg[cur_q_reg];
wire [IFP_W-1:0] cq_inflight = cq_if_wr_ptr - cq_if_rd_ptr;
wire [SPP_W-1:0] cq_seg_head = seg_head_reg[cur_q_reg];
wire [SPP_W-1:0] cq_seg_tail = seg_tail_reg[cur_q_reg];
wire cq_avail_empty = cq_last_avail == cq_shadow_avail;

// ring addresses of the current queue (legacy layout, model/vio/ring.py VringLayout)
wire [15:0] avail_slot = cq_last_avail & cq_mask;
wire [15:0] used_slot = cq_used_idx & cq_mask;
wire [ADDR_WIDTH-1:0] addr_avail_idx = cq_avail + 2;
wire [ADDR_WIDTH-1:0] addr_avail_ring = cq_avail + 4 + {{(ADDR_WIDTH-17){1'b0}}, avail_slot, 1'b0};
wire [ADDR_WIDTH-1:0] addr_used_event = cq_avail + 4 + {{(ADDR_WIDTH-17){1'b0}}, cq_num, 1'b0};
wire [ADDR_WIDTH-1:0] addr_used_idx = cq_used + 2;
wire [ADDR_WIDTH-1:0] addr_used_elem = cq_used + 4 + {{(ADDR_WIDTH-19){1'b0}}, used_slot, 3'b000};
wire [ADDR_WIDTH-1:0] addr_avail_event = cq_used + 4 + {{(ADDR_WIDTH-19){1'b0}}, cq_num, 3'b000};
wire [ADDR_WIDTH-1:0] addr_desc = tbl_addr_reg + {{(ADDR_WIDTH-20){1'b0}}, idx_reg, 4'b0000};

// the descriptor just read: {u64 addr, u32 len, u16 flags, u16 next}
wire [63:0] d_addr = cap_reg[63:0];
wire [31:0] d_len = cap_reg[95:64];
wire [15:0] d_flags = cap_reg[111:96];
wire [15:0] d_next = cap_reg[127:112];
wire [65:0] d_end = {2'b00, d_addr} + {34'd0, d_len};
// (addr >= DMA_BASE written as a borrow, which stays meaningful when DMA_BASE is 0)
wire [66:0] d_below = {3'b000, d_addr} - {1'b0, DMA_BASE_X};
wire d_window_ok = !d_below[66] && d_end <= DMA_END_X;
wire d_indirect_size_ok = d_len != 0 && d_len[3:0] == 4'd0 && d_len[31:4] <= IND_MAX;
wire [32:0] d_total = total_reg + {1'b0, d_len};
wire [SPP_W-1:0] seg_used = walk_ptr_reg - cq_seg_tail;

// the answer at the head of s_axis
wire [Q_W-1:0] ans_q = s_axis_tdest[Q_W-1:0];
wire ans_q_ok = s_axis_tdest < NQ_DEST;
wire [IFP_W-1:0] ans_inflight = if_wr_ptr_reg[ans_q] - if_rd_ptr_reg[ans_q];

// segments and in-flight entries
wire [SEG_W-1:0] seg_rd = seg_ram[{cur_q_reg, sptr_reg[SP_W-1:0]}];
wire [ADDR_WIDTH-1:0] seg_rd_addr = seg_rd[SEG_W-1:32];
wire [31:0] seg_rd_len = seg_rd[31:0];
wire [IF_W-1:0] if_rd = if_ram[{cur_q_reg, cq_if_rd_ptr[QN_W-1:0]}];
wire [QN_W-1:0] if_rd_head = if_rd[IF_W-1:2*SPP_W];
wire [SPP_W-1:0] if_rd_wfirst = if_rd[2*SPP_W-1:SPP_W];
wire [SPP_W-1:0] if_rd_wcnt = if_rd[SPP_W-1:0];
wire [SPP_W-1:0] wfirst_eff = have_w_reg ? wfirst_reg : walk_ptr_reg;

assign ctrl_ack = ctrl_ack_reg;
assign err_valid = err_valid_reg;
assign err_cause = err_cause_reg;
assign err_queue = err_queue_reg;
assign err_info = err_info_reg;
assign irq_vring = irq_vring_reg;

assign m_axis_tdata = m_axis_tdata_reg;
assign m_axis_tkeep = m_axis_tkeep_reg;
assign m_axis_tvalid = m_axis_tvalid_reg;
assign m_axis_tlast = m_axis_tlast_reg;
assign m_axis_tdest = m_axis_tdest_reg;
assign m_axis_tuser = m_axis_tuser_reg;

assign rd_req_addr = rd_req_addr_reg;
assign rd_req_len = rd_req_len_reg;
assign rd_req_last = rd_req_last_reg;
assign rd_req_valid = rd_req_valid_reg;
assign rd_out_ready = rd_out_ready_int;
assign rd_flush = state_reg == STATE_ABORT;
assign rd_err_clr = err_clr_reg;

assign wr_req_mode = wr_req_mode_reg;
assign wr_req_start = wr_req_start_reg;
assign wr_req_addr = wr_req_addr_reg;
assign wr_req_len = wr_req_len_reg;
assign wr_req_imm = wr_req_imm_reg;
assign wr_req_valid = wr_req_valid_reg;
assign wr_flush = state_reg == STATE_ABORT;
assign wr_err_clr = err_clr_reg;

// flag bits the transport does not define, the byte count of a write
wire unused_ok = &{1'b0, d_flags[15:3], d_below[65:0]};

always @* begin
    state_next = state_reg;
    cur_q_next = cur_q_reg;
    rr_next = rr_reg;
    abort_ctrl_next = abort_ctrl_reg;
    halted_next = halted_reg;

    cap_next = cap_reg;
    cap_cnt_next = cap_cnt_reg;
    cap_done_next = cap_done_reg;
    cap_err_next = cap_err_reg;

    head_next = head_reg;
    tbl_addr_next = tbl_addr_reg;
    tbl_len_next = tbl_len_reg;
    idx_next = idx_reg;
    seen_next = seen_reg;
    total_next = total_reg;
    nested_next = nested_reg;
    have_w_next = have_w_reg;
    walk_ptr_next = walk_ptr_reg;
    seg_start_next = seg_start_reg;
    rcnt_next = rcnt_reg;
    wfirst_next = wfirst_reg;
    wcnt_next = wcnt_reg;
    wlen_next = wlen_reg;
    sptr_next = sptr_reg;
    sleft_next = sleft_reg;
    c_head_next = c_head_reg;
    c_free_next = c_free_reg;
    written_next = written_reg;
    c_first_next = c_first_reg;
    irq_old_next = irq_old_reg;
    irq_evt_next = irq_evt_reg;
    m_open_next = m_open_reg;
    s_open_next = s_open_reg;

    ctrl_ack_next = 1'b0;
    err_valid_next = 1'b0;
    err_cause_next = err_cause_reg;
    err_queue_next = err_queue_reg;
    err_info_next = err_info_reg;
    irq_vring_next = 1'b0;
    err_clr_next = 1'b0;

    rd_req_addr_next = rd_req_addr_reg;
    rd_req_len_next = rd_req_len_reg;
    rd_req_last_next = rd_req_last_reg;
    rd_req_valid_next = rd_req_valid_reg && !rd_req_ready;
    rd_out_ready_int = 1'b0;

    wr_req_mode_next = wr_req_mode_reg;
    wr_req_start_next = wr_req_start_reg;
    wr_req_addr_next = wr_req_addr_reg;
    wr_req_len_next = wr_req_len_reg;
    wr_req_imm_next = wr_req_imm_reg;
    wr_req_valid_next = wr_req_valid_reg && !wr_req_ready;

    m_axis_tdata_next = m_axis_tdata_reg;
    m_axis_tkeep_next = m_axis_tkeep_reg;
    m_axis_tvalid_next = m_axis_tvalid_reg && !m_axis_tready;
    m_axis_tlast_next = m_axis_tlast_reg;
    m_axis_tdest_next = m_axis_tdest_reg;
    m_axis_tuser_next = m_axis_tuser_reg;

    kick_next = kick_reg;
    wait_space_next = wait_space_reg;
    busy_map_next = busy_map_reg;

    pop_commit = 1'b0;
    used_commit = 1'b0;
    shadow_we = 1'b0;
    shadow_val = 16'd0;
    clr_vec = {NUM_QUEUES{1'b0}};
    seg_we = 1'b0;
    seg_wdata = {d_addr[ADDR_WIDTH-1:0], d_len};

    brk = 1'b0;
    brk_cause = 8'd0;
    brk_info = 16'd0;
    rd_issue = 1'b0;
    rd_issue_addr = {ADDR_WIDTH{1'b0}};
    rd_issue_len = 32'd0;
    rd_issue_last = 1'b1;
    wr_issue = 1'b0;
    wr_issue_mode = MODE_IMM;
    wr_issue_start = 1'b1;
    wr_issue_addr = {ADDR_WIDTH{1'b0}};
    wr_issue_len = 32'd0;
    wr_issue_imm = 64'd0;
    cap_shift = 256'd0;
    waiting = 16'd0;
    irq_new = irq_old_reg + 16'd1;

    m_free = !m_axis_tvalid_reg || m_axis_tready;

    // packets in progress on the streams
    if (m_axis_tvalid_reg && m_axis_tready) begin
        m_open_next = !m_axis_tlast_reg;
    end
    if (s_axis_tvalid && s_axis_tready) begin
        s_open_next = !s_axis_tlast;
    end

    // queues that may pop a chain, picked round robin
    eligible = q_live & kick_reg & backend_ready & ~wait_space_reg;
    pick_found = 1'b0;
    pick_q = {Q_W{1'b0}};
    pick_idx = {(Q_W+1){1'b0}};
    for (i = 0; i < NUM_QUEUES; i = i + 1) begin
        rr_idx = {1'b0, rr_reg} + i[Q_W:0];
        if (rr_idx >= NQ_IDX) begin
            rr_idx = rr_idx - NQ_IDX;
        end
        if (!pick_found && eligible[rr_idx[Q_W-1:0]]) begin
            pick_found = 1'b1;
            pick_q = rr_idx[Q_W-1:0];
        end
    end
    pick_idx = {1'b0, pick_q} + 1'b1;
    if (pick_idx >= NQ_IDX) begin
        pick_idx = {(Q_W+1){1'b0}};
    end

    // capture of small reads (ring fields, descriptors), packed from byte 0
    if (state_reg == STATE_AIDX_WAIT || state_reg == STATE_HEAD_WAIT
            || state_reg == STATE_DESC_WAIT || state_reg == STATE_IRQ_WAIT) begin
        rd_out_ready_int = 1'b1;
        if (rd_out_valid && !cap_done_reg) begin
            cap_shift[DATA_WIDTH-1:0] = rd_out_data;
            cap_shift = cap_shift << {cap_cnt_reg, 3'b000};
            cap_next = cap_reg | cap_shift[127:0];
            cap_cnt_next = cap_cnt_reg + LANES;
            if (rd_out_last) begin
                cap_done_next = 1'b1;
                cap_err_next = rd_out_err;
            end
        end
    end

    // a reset, or a stop of the queue being worked on, or the broken state
    // ends the operation in progress
    busy_state = state_reg != STATE_IDLE && state_reg != STATE_ABORT && state_reg != STATE_ABORT_BEAT;
    abort_hit = ctrl_valid && !ctrl_ack_reg
        && (ctrl_reset || (state_reg != STATE_DRAIN && ctrl_queue == cur_q_reg));

    if (busy_state && (abort_hit || ((broken || halted_reg) && state_reg != STATE_DRAIN))) begin
        state_next = STATE_ABORT;
        abort_ctrl_next = abort_hit;
    end else begin
        case (state_reg)
            STATE_IDLE: begin
                if (ctrl_valid && !ctrl_ack_reg) begin
                    // nothing in progress: reset or stop at once
                    ctrl_ack_next = 1'b1;
                    if (ctrl_reset) begin
                        clr_vec = {NUM_QUEUES{1'b1}};
                        err_clr_next = 1'b1;
                        halted_next = 1'b0;
                    end else begin
                        for (i = 0; i < NUM_QUEUES; i = i + 1) begin
                            clr_vec[i] = {{(32-Q_W){1'b0}}, ctrl_queue} == i;
                        end
                    end
                end else if (s_axis_tvalid || s_open_reg) begin
                    if (!s_open_reg && !broken && !halted_reg && ans_q_ok && q_live[ans_q] && ans_inflight != 0) begin
                        // answer to the oldest chain in flight on that queue
                        cur_q_next = ans_q;
                        state_next = STATE_ANS_START;
                    end else begin
                        // no chain waits for it (or broken): drop the packet
                        wr_issue = 1'b1;
                        wr_issue_mode = MODE_DRAIN;
                        wr_issue_start = 1'b1;
                        state_next = STATE_DRAIN;
                    end
                end else if (!broken && !halted_reg && pick_found) begin
                    cur_q_next = pick_q;
                    rr_next = pick_idx[Q_W-1:0];
                    state_next = STATE_POP_START;
                end
            end
            STATE_POP_START: begin
                // avail.idx is fetched only when the last value read is used up
                rd_issue = 1'b1;
                rd_issue_len = 32'd2;
                if (cq_avail_empty) begin
                    rd_issue_addr = addr_avail_idx;
                    state_next = STATE_AIDX_WAIT;
                end else begin
                    rd_issue_addr = addr_avail_ring;
                    state_next = STATE_HEAD_WAIT;
                end
            end
            STATE_AIDX_WAIT: begin
                if (cap_done_reg) begin
                    waiting = cap_reg[15:0] - cq_last_avail;
                    if (cap_err_reg) begin
                        brk = 1'b1;
                        brk_cause = CAUSE_BUS_ERROR;
                        brk_info = BUS_INFO_READ;
                    end else if (waiting > cq_num) begin
                        // case 1
                        brk = 1'b1;
                        brk_cause = CAUSE_AVAIL_IDX_JUMP;
                        brk_info = cap_reg[15:0];
                    end else begin
                        shadow_we = 1'b1;
                        shadow_val = cap_reg[15:0];
                        if (waiting == 0) begin
                            // nothing new: the kick is used up
                            kick_next[cur_q_reg] = 1'b0;
                            state_next = STATE_IDLE;
                        end else begin
                            rd_issue = 1'b1;
                            rd_issue_addr = addr_avail_ring;
                            rd_issue_len = 32'd2;
                            state_next = STATE_HEAD_WAIT;
                        end
                    end
                end
            end
            STATE_HEAD_WAIT: begin
                if (cap_done_reg) begin
                    if (cap_err_reg) begin
                        brk = 1'b1;
                        brk_cause = CAUSE_BUS_ERROR;
                        brk_info = BUS_INFO_READ;
                    end else if (cap_reg[15:0] >= cq_num) begin
                        // case 2
                        brk = 1'b1;
                        brk_cause = CAUSE_HEAD_RANGE;
                        brk_info = cap_reg[15:0];
                    end else if ({{(16-IFP_W){1'b0}}, cq_inflight} >= cq_num
                            || busy_map_reg[{cur_q_reg, cap_reg[QN_W-1:0]}]) begin
                        // case 13
                        brk = 1'b1;
                        brk_cause = CAUSE_HEAD_IN_FLIGHT;
                        brk_info = cap_reg[15:0];
                    end else begin
                        // walk_chain from the head, in the ring's own table
                        head_next = cap_reg[15:0];
                        idx_next = cap_reg[15:0];
                        tbl_addr_next = cq_desc;
                        tbl_len_next = {1'b0, cq_num};
                        seen_next = 17'd0;
                        total_next = 33'd0;
                        nested_next = 1'b0;
                        have_w_next = 1'b0;
                        walk_ptr_next = cq_seg_head;
                        seg_start_next = cq_seg_head;
                        rcnt_next = {SPP_W{1'b0}};
                        wfirst_next = cq_seg_head;
                        wcnt_next = {SPP_W{1'b0}};
                        wlen_next = 32'd0;
                        state_next = STATE_DESC_RD;
                    end
                end
            end
            STATE_DESC_RD: begin
                if ({1'b0, idx_reg} >= tbl_len_reg) begin
                    // case 3
                    brk = 1'b1;
                    brk_cause = CAUSE_NEXT_RANGE;
                    brk_info = idx_reg;
                end else if (seen_reg + 17'd1 > tbl_len_reg) begin
                    // cases 4 and 9: more descriptors than the table holds
                    brk = 1'b1;
                    brk_cause = CAUSE_CHAIN_LOOP;
                    brk_info = head_reg;
                end else begin
                    seen_next = seen_reg + 17'd1;
                    rd_issue = 1'b1;
                    rd_issue_addr = addr_desc;
                    rd_issue_len = 32'd16;
                    state_next = STATE_DESC_WAIT;
                end
            end
            STATE_DESC_WAIT: begin
                if (cap_done_reg) begin
                    if (cap_err_reg) begin
                        brk = 1'b1;
                        brk_cause = CAUSE_BUS_ERROR;
                        brk_info = BUS_INFO_READ;
                    end else if (d_flags[DESC_F_INDIRECT]) begin
                        if (nested_reg) begin
                            brk = 1'b1;
                            brk_cause = CAUSE_INDIRECT_NESTED;
                            brk_info = idx_reg;
                        end else if (!feat_indirect) begin
                            brk = 1'b1;
                            brk_cause = CAUSE_INDIRECT_NOT_NEGOTIATED;
                            brk_info = idx_reg;
                        end else if (d_flags[DESC_F_NEXT]) begin
                            brk = 1'b1;
                            brk_cause = CAUSE_INDIRECT_WITH_NEXT;
                            brk_info = idx_reg;
                        end else if (!d_indirect_size_ok) begin
                            brk = 1'b1;
                            brk_cause = CAUSE_INDIRECT_SIZE;
                            brk_info = idx_reg;
                        end else if (!d_window_ok) begin
                            brk = 1'b1;
                            brk_cause = CAUSE_DMA_WINDOW;
                            brk_info = idx_reg;
                        end else begin
                            // continue in the indirect table (WRITE flag ignored)
                            tbl_addr_next = d_addr[ADDR_WIDTH-1:0];
                            tbl_len_next = d_len[20:4];
                            idx_next = 16'd0;
                            seen_next = 17'd0;
                            nested_next = 1'b1;
                            state_next = STATE_DESC_RD;
                        end
                    end else if (d_len == 32'd0) begin
                        brk = 1'b1;
                        brk_cause = CAUSE_ZERO_LENGTH;
                        brk_info = idx_reg;
                    end else if (!d_window_ok) begin
                        brk = 1'b1;
                        brk_cause = CAUSE_DMA_WINDOW;
                        brk_info = idx_reg;
                    end else if (!d_flags[DESC_F_WRITE] && have_w_reg) begin
                        brk = 1'b1;
                        brk_cause = CAUSE_READ_AFTER_WRITE;
                        brk_info = idx_reg;
                    end else if (seg_used == SEG_FULL) begin
                        // no room to note the segment: leave the chain in the
                        // avail ring and walk it again after a completion
                        wait_space_next[cur_q_reg] = 1'b1;
                        state_next = STATE_IDLE;
                    end else begin
                        seg_we = 1'b1;
                        walk_ptr_next = walk_ptr_reg + 1'b1;
                        if (d_flags[DESC_F_WRITE]) begin
                            if (!have_w_reg) begin
                                wfirst_next = walk_ptr_reg;
                            end
                            have_w_next = 1'b1;
                            wcnt_next = wcnt_reg + 1'b1;
                            wlen_next = wlen_reg + d_len;
                        end else begin
                            rcnt_next = rcnt_reg + 1'b1;
                        end
                        total_next = d_total;
                        if (d_total[32]) begin
                            // case 12
                            brk = 1'b1;
                            brk_cause = CAUSE_LENGTH_OVERFLOW;
                            brk_info = idx_reg;
                        end else if (d_flags[DESC_F_NEXT]) begin
                            idx_next = d_next;
                            state_next = STATE_DESC_RD;
                        end else begin
                            state_next = STATE_POP_COMMIT;
                        end
                    end
                end
            end
            STATE_POP_COMMIT: begin
                // the chain is popped and in flight
                pop_commit = 1'b1;
                busy_map_next[{cur_q_reg, head_reg[QN_W-1:0]}] = 1'b1;
                sptr_next = seg_start_reg;
                sleft_next = rcnt_reg;
                if (feat_event_idx) begin
                    wr_issue = 1'b1;
                    wr_issue_mode = MODE_IMM;
                    wr_issue_addr = addr_avail_event;
                    wr_issue_len = 32'd2;
                    wr_issue_imm = {48'd0, cq_last_avail + 16'd1};
                end
                state_next = STATE_AEVT_WAIT;
            end
            STATE_AEVT_WAIT: begin
                // avail_event written before the readable bytes are read
                if (!wr_req_valid_reg && !wr_busy) begin
                    if (wr_err) begin
                        brk = 1'b1;
                        brk_cause = CAUSE_BUS_ERROR;
                        brk_info = BUS_INFO_WRITE;
                    end else begin
                        state_next = STATE_DATA_START;
                    end
                end
            end
            STATE_DATA_START: begin
                if (sleft_reg == 0) begin
                    // no readable bytes: an empty request packet
                    if (m_free) begin
                        m_axis_tdata_next = {DATA_WIDTH{1'b0}};
                        m_axis_tkeep_next = {KEEP_WIDTH{1'b0}};
                        m_axis_tlast_next = 1'b1;
                        m_axis_tdest_next = {{(AXIS_DEST_WIDTH-Q_W){1'b0}}, cur_q_reg};
                        m_axis_tuser_next = {1'b0, wlen_reg};
                        m_axis_tvalid_next = 1'b1;
                        state_next = STATE_POP_DONE;
                    end
                end else begin
                    state_next = STATE_DATA_STREAM;
                end
            end
            STATE_DATA_STREAM: begin
                // read requests for the readable segments, one after the other
                if (!rd_req_valid_reg && sleft_reg != 0 && !rd_err) begin
                    rd_issue = 1'b1;
                    rd_issue_addr = seg_rd_addr;
                    rd_issue_len = seg_rd_len;
                    rd_issue_last = sleft_reg == {{(SPP_W-1){1'b0}}, 1'b1};
                    sptr_next = sptr_reg + 1'b1;
                    sleft_next = sleft_reg - 1'b1;
                end
                // their packed bytes become the request packet
                rd_out_ready_int = m_free;
                if (rd_out_valid && m_free) begin
                    m_axis_tdata_next = rd_out_data;
                    m_axis_tkeep_next = rd_out_keep;
                    m_axis_tlast_next = rd_out_last;
                    m_axis_tdest_next = {{(AXIS_DEST_WIDTH-Q_W){1'b0}}, cur_q_reg};
                    m_axis_tuser_next = {rd_out_err, wlen_reg};
                    m_axis_tvalid_next = 1'b1;
                    if (rd_out_last) begin
                        if (rd_out_err) begin
                            brk = 1'b1;
                            brk_cause = CAUSE_BUS_ERROR;
                            brk_info = BUS_INFO_READ;
                        end else begin
                            state_next = STATE_POP_DONE;
                        end
                    end
                end
            end
            STATE_POP_DONE: begin
                // the backend has taken the whole request before the next
                // pop looks at backend_ready
                if (!m_axis_tvalid_reg) begin
                    state_next = STATE_IDLE;
                end
            end
            STATE_ANS_START: begin
                c_head_next = if_rd_head;
                c_free_next = if_rd_wfirst + if_rd_wcnt;
                c_first_next = 1'b1;
                written_next = 32'd0;
                sptr_next = if_rd_wfirst;
                sleft_next = if_rd_wcnt;
                if (if_rd_wcnt == 0) begin
                    // nothing writable: the answer is dropped, used.len = 0
                    wr_issue = 1'b1;
                    wr_issue_mode = MODE_DRAIN;
                    wr_issue_start = 1'b1;
                    state_next = STATE_ANS_DRAIN;
                end else begin
                    state_next = STATE_ANS_NEXT;
                end
            end
            STATE_ANS_NEXT: begin
                // the answer's next bytes into the next writable segment
                wr_issue = 1'b1;
                wr_issue_mode = MODE_STREAM;
                wr_issue_start = c_first_reg;
                c_first_next = 1'b0;
                sptr_next = sptr_reg + 1'b1;
                sleft_next = sleft_reg - 1'b1;
                state_next = STATE_ANS_SEG;
            end
            STATE_ANS_SEG: begin
                if (wr_resp_valid) begin
                    written_next = written_reg + wr_resp_count;
                    if (wr_resp_ended || wr_err) begin
                        state_next = STATE_ANS_FLUSH;
                    end else if (sleft_reg != 0) begin
                        state_next = STATE_ANS_NEXT;
                    end else begin
                        // every writable byte used: the rest of the answer is dropped
                        wr_issue = 1'b1;
                        wr_issue_mode = MODE_DRAIN;
                        wr_issue_start = 1'b0;
                        state_next = STATE_ANS_DRAIN;
                    end
                end
            end
            STATE_ANS_DRAIN: begin
                if (wr_resp_valid) begin
                    state_next = STATE_ANS_FLUSH;
                end
            end
            STATE_ANS_FLUSH: begin
                // every data write answered before the used element
                if (!wr_req_valid_reg && !wr_busy) begin
                    if (wr_err) begin
                        brk = 1'b1;
                        brk_cause = CAUSE_BUS_ERROR;
                        brk_info = BUS_INFO_WRITE;
                    end else begin
                        wr_issue = 1'b1;
                        wr_issue_mode = MODE_IMM;
                        wr_issue_addr = addr_used_elem;
                        wr_issue_len = 32'd8;
                        wr_issue_imm = {written_reg, {(32-QN_W){1'b0}}, c_head_reg};
                        state_next = STATE_USED_ELEM;
                    end
                end
            end
            STATE_USED_ELEM: begin
                // the used element written before used.idx
                if (!wr_req_valid_reg && !wr_busy) begin
                    if (wr_err) begin
                        brk = 1'b1;
                        brk_cause = CAUSE_BUS_ERROR;
                        brk_info = BUS_INFO_WRITE;
                    end else begin
                        wr_issue = 1'b1;
                        wr_issue_mode = MODE_IMM;
                        wr_issue_addr = addr_used_idx;
                        wr_issue_len = 32'd2;
                        wr_issue_imm = {48'd0, cq_used_idx + 16'd1};
                        state_next = STATE_USED_IDX;
                    end
                end
            end
            STATE_USED_IDX: begin
                if (!wr_req_valid_reg && !wr_busy) begin
                    if (wr_err) begin
                        brk = 1'b1;
                        brk_cause = CAUSE_BUS_ERROR;
                        brk_info = BUS_INFO_WRITE;
                    end else begin
                        // published: the chain leaves the in-flight FIFO
                        used_commit = 1'b1;
                        busy_map_next[{cur_q_reg, c_head_reg}] = 1'b0;
                        wait_space_next[cur_q_reg] = 1'b0;
                        irq_old_next = cq_used_idx;
                        // interrupt decision (mmio.py _should_interrupt)
                        if (feat_notify_on_empty && cq_inflight == {{(IFP_W-1){1'b0}}, 1'b1} && cq_avail_empty) begin
                            irq_vring_next = 1'b1;
                            state_next = STATE_IDLE;
                        end else begin
                            rd_issue = 1'b1;
                            rd_issue_len = 32'd2;
                            irq_evt_next = feat_event_idx;
                            if (feat_event_idx) begin
                                rd_issue_addr = addr_used_event;
                            end else begin
                                rd_issue_addr = cq_avail;
                            end
                            state_next = STATE_IRQ_WAIT;
                        end
                    end
                end
            end
            STATE_IRQ_WAIT: begin
                if (cap_done_reg) begin
                    if (cap_err_reg) begin
                        brk = 1'b1;
                        brk_cause = CAUSE_BUS_ERROR;
                        brk_info = BUS_INFO_READ;
                    end else begin
                        if (irq_evt_reg) begin
                            // vring_need_event(used_event, new, old)
                            irq_vring_next = (irq_new - cap_reg[15:0] - 16'd1) < (irq_new - irq_old_reg);
                        end else begin
                            // avail.flags NO_INTERRUPT
                            irq_vring_next = !cap_reg[0];
                        end
                        state_next = STATE_IDLE;
                    end
                end
            end
            STATE_DRAIN: begin
                if (wr_resp_valid) begin
                    state_next = STATE_IDLE;
                end
            end
            STATE_ABORT: begin
                // engines flush: bursts already issued complete, nothing new starts
                rd_req_valid_next = 1'b0;
                wr_req_valid_next = 1'b0;
                rd_out_ready_int = 1'b1;
                if (!rd_busy && !wr_busy && !m_axis_tvalid_reg) begin
                    if (m_open_reg) begin
                        // close the request packet cut short: null beat, tuser abort bit;
                        // tdest and the writable length stay those of the packet
                        m_axis_tdata_next = {DATA_WIDTH{1'b0}};
                        m_axis_tkeep_next = {KEEP_WIDTH{1'b0}};
                        m_axis_tlast_next = 1'b1;
                        m_axis_tdest_next = {{(AXIS_DEST_WIDTH-Q_W){1'b0}}, cur_q_reg};
                        m_axis_tuser_next = {1'b1, wlen_reg};
                        m_axis_tvalid_next = 1'b1;
                    end
                    state_next = STATE_ABORT_BEAT;
                end
            end
            STATE_ABORT_BEAT: begin
                if (!m_axis_tvalid_reg) begin
                    if (abort_ctrl_reg) begin
                        ctrl_ack_next = 1'b1;
                        abort_ctrl_next = 1'b0;
                        if (ctrl_reset) begin
                            clr_vec = {NUM_QUEUES{1'b1}};
                            err_clr_next = 1'b1;
                            halted_next = 1'b0;
                        end else begin
                            for (i = 0; i < NUM_QUEUES; i = i + 1) begin
                                clr_vec[i] = {{(32-Q_W){1'b0}}, ctrl_queue} == i;
                            end
                            if ((rd_err || wr_err) && !broken && !halted_reg) begin
                                // a burst of the stopped queue failed
                                halted_next = 1'b1;
                                err_valid_next = 1'b1;
                                err_cause_next = CAUSE_BUS_ERROR;
                                err_queue_next = {{(8-Q_W){1'b0}}, cur_q_reg};
                                err_info_next = wr_err ? BUS_INFO_WRITE : BUS_INFO_READ;
                            end
                        end
                    end
                    state_next = STATE_IDLE;
                end
            end
            default: begin
                state_next = STATE_IDLE;
            end
        endcase
    end

    // the device is broken: report once, then stop everything
    if (brk) begin
        halted_next = 1'b1;
        err_valid_next = 1'b1;
        err_cause_next = brk_cause;
        err_queue_next = {{(8-Q_W){1'b0}}, cur_q_reg};
        err_info_next = brk_info;
        abort_ctrl_next = 1'b0;
        state_next = STATE_ABORT;
    end

    if (rd_issue) begin
        rd_req_addr_next = rd_issue_addr;
        rd_req_len_next = rd_issue_len;
        rd_req_last_next = rd_issue_last;
        rd_req_valid_next = 1'b1;
        if (rd_issue_last) begin
            cap_next = 128'd0;
            cap_cnt_next = 6'd0;
            cap_done_next = 1'b0;
            cap_err_next = 1'b0;
        end
    end

    if (wr_issue) begin
        wr_req_mode_next = wr_issue_mode;
        wr_req_start_next = wr_issue_start;
        wr_req_imm_next = wr_issue_imm;
        wr_req_valid_next = 1'b1;
        if (wr_issue_mode == MODE_STREAM) begin
            // next writable segment
            wr_req_addr_next = seg_rd_addr;
            wr_req_len_next = seg_rd_len;
        end else begin
            wr_req_addr_next = wr_issue_addr;
            wr_req_len_next = wr_issue_len;
        end
    end

    // kicks: notify, or the backend became ready for the queue (its "wake");
    // after the FSM, so a kick arriving as the FSM clears one is not lost
    for (i = 0; i < NUM_QUEUES; i = i + 1) begin
        if (q_live[i] && !broken && !halted_reg) begin
            if (notify_valid && {{(32-Q_W){1'b0}}, notify_queue} == i) begin
                kick_next[i] = 1'b1;
            end
            if (backend_ready[i] && !ready_prev_reg[i]) begin
                kick_next[i] = 1'b1;
            end
        end
    end

    // per-queue state cleared by reset or stop
    for (i = 0; i < NUM_QUEUES; i = i + 1) begin
        if (clr_vec[i]) begin
            kick_next[i] = 1'b0;
            wait_space_next[i] = 1'b0;
            busy_map_next[i*(2**QN_W) +: 2**QN_W] = {(2**QN_W){1'b0}};
        end
    end
end

always @(posedge clk) begin
    state_reg <= state_next;
    cur_q_reg <= cur_q_next;
    rr_reg <= rr_next;
    abort_ctrl_reg <= abort_ctrl_next;
    halted_reg <= halted_next;

    cap_reg <= cap_next;
    cap_cnt_reg <= cap_cnt_next;
    cap_done_reg <= cap_done_next;
    cap_err_reg <= cap_err_next;

    head_reg <= head_next;
    tbl_addr_reg <= tbl_addr_next;
    tbl_len_reg <= tbl_len_next;
    idx_reg <= idx_next;
    seen_reg <= seen_next;
    total_reg <= total_next;
    nested_reg <= nested_next;
    have_w_reg <= have_w_next;
    walk_ptr_reg <= walk_ptr_next;
    seg_start_reg <= seg_start_next;
    rcnt_reg <= rcnt_next;
    wfirst_reg <= wfirst_next;
    wcnt_reg <= wcnt_next;
    wlen_reg <= wlen_next;
    sptr_reg <= sptr_next;
    sleft_reg <= sleft_next;
    c_head_reg <= c_head_next;
    c_free_reg <= c_free_next;
    written_reg <= written_next;
    c_first_reg <= c_first_next;
    irq_old_reg <= irq_old_next;
    irq_evt_reg <= irq_evt_next;
    m_open_reg <= m_open_next;
    s_open_reg <= s_open_next;

    ctrl_ack_reg <= ctrl_ack_next;
    err_valid_reg <= err_valid_next;
    err_cause_reg <= err_cause_next;
    err_queue_reg <= err_queue_next;
    err_info_reg <= err_info_next;
    irq_vring_reg <= irq_vring_next;
    err_clr_reg <= err_clr_next;

    rd_req_addr_reg <= rd_req_addr_next;
    rd_req_len_reg <= rd_req_len_next;
    rd_req_last_reg <= rd_req_last_next;
    rd_req_valid_reg <= rd_req_valid_next;

    wr_req_mode_reg <= wr_req_mode_next;
    wr_req_start_reg <= wr_req_start_next;
    wr_req_addr_reg <= wr_req_addr_next;
    wr_req_len_reg <= wr_req_len_next;
    wr_req_imm_reg <= wr_req_imm_next;
    wr_req_valid_reg <= wr_req_valid_next;

    m_axis_tdata_reg <= m_axis_tdata_next;
    m_axis_tkeep_reg <= m_axis_tkeep_next;
    m_axis_tvalid_reg <= m_axis_tvalid_next;
    m_axis_tlast_reg <= m_axis_tlast_next;
    m_axis_tdest_reg <= m_axis_tdest_next;
    m_axis_tuser_reg <= m_axis_tuser_next;

    kick_reg <= kick_next;
    wait_space_reg <= wait_space_next;
    busy_map_reg <= busy_map_next;
    ready_prev_reg <= backend_ready;

    // segment buffers and in-flight FIFOs
    if (seg_we) begin
        seg_ram[{cur_q_reg, walk_ptr_reg[SP_W-1:0]}] <= seg_wdata;
    end

    if (pop_commit) begin
        if_ram[{cur_q_reg, cq_if_wr_ptr[QN_W-1:0]}] <= {head_reg[QN_W-1:0], wfirst_eff, wcnt_reg};
        last_avail_reg[cur_q_reg] <= cq_last_avail + 16'd1;
        if_wr_ptr_reg[cur_q_reg] <= cq_if_wr_ptr + 1'b1;
        seg_head_reg[cur_q_reg] <= walk_ptr_reg;
    end

    if (shadow_we) begin
        shadow_avail_reg[cur_q_reg] <= shadow_val;
    end

    if (used_commit) begin
        used_idx_reg[cur_q_reg] <= cq_used_idx + 16'd1;
        if_rd_ptr_reg[cur_q_reg] <= cq_if_rd_ptr + 1'b1;
        seg_tail_reg[cur_q_reg] <= c_free_reg;
    end

    for (i = 0; i < NUM_QUEUES; i = i + 1) begin
        if (rst || clr_vec[i]) begin
            last_avail_reg[i] <= RING_INDEX_BASE;
            shadow_avail_reg[i] <= RING_INDEX_BASE;
            used_idx_reg[i] <= RING_INDEX_BASE;
            if_wr_ptr_reg[i] <= {IFP_W{1'b0}};
            if_rd_ptr_reg[i] <= {IFP_W{1'b0}};
            seg_head_reg[i] <= {SPP_W{1'b0}};
            seg_tail_reg[i] <= {SPP_W{1'b0}};
        end
    end

    if (rst) begin
        state_reg <= STATE_IDLE;
        rr_reg <= {Q_W{1'b0}};
        abort_ctrl_reg <= 1'b0;
        halted_reg <= 1'b0;
        cap_done_reg <= 1'b0;
        m_open_reg <= 1'b0;
        s_open_reg <= 1'b0;
        ctrl_ack_reg <= 1'b0;
        err_valid_reg <= 1'b0;
        irq_vring_reg <= 1'b0;
        err_clr_reg <= 1'b0;
        rd_req_valid_reg <= 1'b0;
        wr_req_valid_reg <= 1'b0;
        m_axis_tvalid_reg <= 1'b0;
        kick_reg <= {NUM_QUEUES{1'b0}};
        wait_space_reg <= {NUM_QUEUES{1'b0}};
        busy_map_reg <= {(2**(Q_W+QN_W)){1'b0}};
        ready_prev_reg <= {NUM_QUEUES{1'b0}};
    end
end

`ifdef FORMAL
/*
 * Formal checks (README "Formal proofs", `make formal`): the walker never issues a
 * write outside the used ring of the queue it services or outside a writable
 * buffer of the chain it completes (issue 5). Two shadow facts, noted when a
 * descriptor becomes a segment, are independent of the segment bookkeeping:
 * f_seg_w = the descriptor had VRING_DESC_F_WRITE, f_seg_tag = the in-flight
 * slot its chain takes when popped. A buffer write (MODE_STREAM) must use a
 * writable segment whose chain is the oldest in flight of the queue (the one
 * the answer completes); an immediate write (used element, used.idx,
 * avail_event) must lie inside the queue's used ring
 * [used, used + 4 + 8*num + 2). hdl/virtio_mmio_dma_wr.v checks in turn that
 * its AXI writes stay inside each request.
 */
reg f_seg_w [0:(2**(Q_W+SP_W))-1];
reg [IFP_W-1:0] f_seg_tag [0:(2**(Q_W+SP_W))-1];
wire [65:0] f_used_lo = {{(66-ADDR_WIDTH){1'b0}}, cq_used};
wire [65:0] f_used_hi = f_used_lo + 66'd6 + {47'd0, cq_num, 3'b000};
wire [65:0] f_imm_lo = {{(66-ADDR_WIDTH){1'b0}}, wr_issue_addr};
wire [65:0] f_imm_hi = f_imm_lo + {34'd0, wr_issue_len};
wire [Q_W+SP_W-1:0] f_seg_sel = {cur_q_reg, sptr_reg[SP_W-1:0]};

always @(posedge clk) begin
    if (seg_we) begin
        f_seg_w[{cur_q_reg, walk_ptr_reg[SP_W-1:0]}] <= d_flags[DESC_F_WRITE];
        f_seg_tag[{cur_q_reg, walk_ptr_reg[SP_W-1:0]}] <= cq_if_wr_ptr;
    end
end

`ifndef FORMAL_WITNESS
always @* begin
    if (!rst && wr_issue) begin
        if (wr_issue_mode == MODE_STREAM) begin
            assert(state_reg == STATE_ANS_NEXT && sleft_reg != 0);
            assert(f_seg_w[f_seg_sel]);
            assert(f_seg_tag[f_seg_sel] == cq_if_rd_ptr && cq_inflight != 0);
        end
        if (wr_issue_mode == MODE_IMM) begin
            assert(wr_issue_len != 0 && wr_issue_len <= 32'd8);
            assert(f_used_lo <= f_imm_lo && f_imm_hi <= f_used_hi);
        end
    end
end
`endif

// reachability: a buffer written, a chain completed (used.idx written), a
// vring interrupt. formal/run.py asks for one of them at a time with
// FORMAL_WITNESS (1, 2, 3) and has the model checker refute "never reached".
`ifdef FORMAL_WITNESS
always @* begin
    if (!rst) begin
        case (`FORMAL_WITNESS)
            1: assert(!(wr_issue && wr_issue_mode == MODE_STREAM));
            2: assert(!used_commit);
            default: assert(!irq_vring_reg);
        endcase
    end
end
`endif
`endif

endmodule

`resetall
