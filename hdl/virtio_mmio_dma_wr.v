`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * virtio-mmio DMA write engine: two request paths onto one AXI4 write port.
 *
 * Stream path (answers): STREAM requests write up to st_req_len bytes of the
 * answer stream (in_*, packed from lane 0) at st_req_addr, realigned to any
 * byte address at one beat a cycle; DRAIN requests consume and drop the rest
 * of the answer. Bytes left over stay for the next request: the writable
 * segments of a chain take one answer in turn (st_req_start marks the first
 * request of a new answer). Each request ends with one st_rsp pulse (bytes
 * written, answer used up, a DRAIN request), in request order.
 *
 * Immediate path (ring fields): up to 8 bytes of im_req_data at im_req_addr.
 *
 * An AW is issued only once every beat of its burst is held, so W never waits
 * for an answer that trickles in, and a trickling answer never holds the
 * immediate path (used elements, used.idx, avail_event of other queues).
 * Bursts: INCR, bus-word aligned, byte strobes, no 4 KiB crossing, at most
 * AXI_MAX_BURST_LEN beats; up to MAX_OUTSTANDING wait for B. Every request
 * gets a sequence number per path (st_seq / im_seq: the number the next
 * request gets); st_acked / im_acked count the requests whose every burst
 * has its B response, in request order. How im_acked moves next is told a
 * cycle ahead (im_acked_inc: one more; acked_catch_up: both counts become
 * the sequence numbers), for a user that keeps a compare with it in a register.
 *
 * Errors: a B with SLVERR/DECERR raises err_valid for one cycle with the
 * tag of its request (first error only; err stays set until err_clr).
 *
 * flush: take no more input or requests, send the W beats of bursts already
 * issued, wait for their B responses (busy), then forget everything held.
 */
module virtio_mmio_dma_wr #
(
    // Width of AXI data bus in bits
    parameter AXI_DATA_WIDTH = 32,
    // Width of AXI address bus in bits
    parameter AXI_ADDR_WIDTH = 32,
    // Width of AXI wstrb (width of data bus in words)
    parameter AXI_STRB_WIDTH = (AXI_DATA_WIDTH/8),
    // Width of AXI ID signal
    parameter AXI_ID_WIDTH = 8,
    // Maximum AXI burst length to generate
    parameter AXI_MAX_BURST_LEN = 16,
    // Maximum number of write bursts waiting for a response
    parameter MAX_OUTSTANDING = 16,
    // Beats of answer data held (power of two, at least 2*AXI_MAX_BURST_LEN)
    parameter STREAM_FIFO_DEPTH = 32,
    // Width of a request tag (reported with an error)
    parameter TAG_WIDTH = 8,
    // Width of the sequence numbers
    parameter SEQ_WIDTH = 16
)
(
    input  wire                       clk,
    input  wire                       rst,

    /*
     * Stream path
     */
    input  wire                       st_req_drain,
    input  wire                       st_req_start,
    input  wire [AXI_ADDR_WIDTH-1:0]  st_req_addr,
    input  wire [31:0]                st_req_len,
    input  wire [TAG_WIDTH-1:0]       st_req_tag,
    input  wire                       st_req_valid,
    output wire                       st_req_ready,
    output wire [SEQ_WIDTH-1:0]       st_seq,
    output wire                       st_rsp_valid,
    output wire [31:0]                st_rsp_count,
    output wire                       st_rsp_ended,
    output wire                       st_rsp_drain,
    output wire [SEQ_WIDTH-1:0]       st_acked,

    input  wire [AXI_DATA_WIDTH-1:0]  in_data,
    input  wire [AXI_STRB_WIDTH-1:0]  in_keep,
    input  wire                       in_last,
    input  wire                       in_valid,
    output wire                       in_ready,

    /*
     * Immediate path
     */
    input  wire [AXI_ADDR_WIDTH-1:0]  im_req_addr,
    input  wire [3:0]                 im_req_len,
    input  wire [63:0]                im_req_data,
    input  wire [TAG_WIDTH-1:0]       im_req_tag,
    input  wire                       im_req_valid,
    output wire                       im_req_ready,
    output wire [SEQ_WIDTH-1:0]       im_seq,
    output wire [SEQ_WIDTH-1:0]       im_acked,
    output wire                       im_acked_inc,
    output wire                       acked_catch_up,

    /*
     * Control and status
     */
    input  wire                       flush,
    // flush again, from a register of its own: the answer realigner's
    // decisions read this copy, placed beside them
    input  wire                       flush_st,
    input  wire                       err_clr,
    output wire                       busy,
    // nothing held at all: no request, byte or burst
    output wire                       idle,
    output wire                       err,
    output wire                       err_valid,
    output wire [TAG_WIDTH-1:0]       err_tag,

    /*
     * AXI master interface (write channels)
     */
    output wire [AXI_ID_WIDTH-1:0]    m_axi_awid,
    output wire [AXI_ADDR_WIDTH-1:0]  m_axi_awaddr,
    output wire [7:0]                 m_axi_awlen,
    output wire [2:0]                 m_axi_awsize,
    output wire [1:0]                 m_axi_awburst,
    output wire                       m_axi_awlock,
    output wire [3:0]                 m_axi_awcache,
    output wire [2:0]                 m_axi_awprot,
    output wire                       m_axi_awvalid,
    input  wire                       m_axi_awready,
    output wire [AXI_DATA_WIDTH-1:0]  m_axi_wdata,
    output wire [AXI_STRB_WIDTH-1:0]  m_axi_wstrb,
    output wire                       m_axi_wlast,
    output wire                       m_axi_wvalid,
    input  wire                       m_axi_wready,
    input  wire [AXI_ID_WIDTH-1:0]    m_axi_bid,
    input  wire [1:0]                 m_axi_bresp,
    input  wire                       m_axi_bvalid,
    output wire                       m_axi_bready
);

localparam BYTE_LANES = AXI_STRB_WIDTH;
localparam DW = AXI_DATA_WIDTH;
// byte offset within a bus word
localparam OFF_W = $clog2(BYTE_LANES);
// byte count 0..BYTE_LANES
localparam CNT_W = OFF_W+1;
// byte count 0..2*BYTE_LANES (the realigner's accumulator)
localparam ACC_CNT_W = OFF_W+2;
localparam OUTS_W = $clog2(MAX_OUTSTANDING+1);
localparam BEAT_W = 33;
// beats a planner counts as pushed and not yet claimed: at most a FIFO's depth
localparam AVAIL_W = $clog2(STREAM_FIFO_DEPTH+1) < 10 ? 10 : $clog2(STREAM_FIFO_DEPTH+1);
// B tracker: bursts in flight and the done marks between them
localparam BT_W = $clog2(2*MAX_OUTSTANDING+4);
localparam BT = 2**BT_W;
localparam [CNT_W-1:0] LANES = BYTE_LANES[CNT_W-1:0];
localparam [OUTS_W-1:0] OUTS_MAX = MAX_OUTSTANDING[OUTS_W-1:0];
localparam [2:0] AXI_SIZE = OFF_W[2:0];

localparam ST_REQ_W = 2 + AXI_ADDR_WIDTH + 32 + TAG_WIDTH;
localparam IM_REQ_W = AXI_ADDR_WIDTH + 4 + 64 + TAG_WIDTH;
localparam BEAT_ENTRY_W = DW + AXI_STRB_WIDTH;

localparam PATH_ST = 1'b0;
localparam PATH_IM = 1'b1;

initial begin
    if (AXI_DATA_WIDTH != 32 && AXI_DATA_WIDTH != 64 && AXI_DATA_WIDTH != 128) begin
        $error("Error: AXI data width must be 32, 64 or 128 (instance %m)");
        $finish;
    end

    if (AXI_STRB_WIDTH * 8 != AXI_DATA_WIDTH) begin
        $error("Error: AXI wstrb width must be AXI data width / 8 (instance %m)");
        $finish;
    end

    if (AXI_ADDR_WIDTH < 32 || AXI_ADDR_WIDTH > 64) begin
        $error("Error: AXI address width must be 32 to 64 (instance %m)");
        $finish;
    end

    if (AXI_MAX_BURST_LEN < 1 || AXI_MAX_BURST_LEN > 256) begin
        $error("Error: AXI_MAX_BURST_LEN must be 1 to 256 (instance %m)");
        $finish;
    end

    if (MAX_OUTSTANDING < 1 || MAX_OUTSTANDING > 64) begin
        $error("Error: MAX_OUTSTANDING must be 1 to 64 (instance %m)");
        $finish;
    end

    if (STREAM_FIFO_DEPTH < 2*AXI_MAX_BURST_LEN || (STREAM_FIFO_DEPTH & (STREAM_FIFO_DEPTH-1)) != 0) begin
        $error("Error: STREAM_FIFO_DEPTH must be a power of two, at least 2*AXI_MAX_BURST_LEN (instance %m)");
        $finish;
    end
end

// beats of a write of len bytes at byte offset off in a bus word
function [BEAT_W-1:0] beats_of;
    input [OFF_W-1:0] off;
    input [31:0] len;
    begin
        beats_of = ({1'b0, len} + {{(33-OFF_W){1'b0}}, off} + {{(33-CNT_W){1'b0}}, LANES} - 33'd1) >> OFF_W;
    end
endfunction

// bytes in a beat (tkeep contiguous from lane 0)
function [CNT_W-1:0] keep_count;
    input [AXI_STRB_WIDTH-1:0] keep;
    integer k;
    begin
        keep_count = {CNT_W{1'b0}};
        for (k = 0; k < AXI_STRB_WIDTH; k = k + 1) begin
            keep_count = keep_count + {{(CNT_W-1){1'b0}}, keep[k]};
        end
    end
endfunction

/*
 * Request queues
 */
wire st_q_drain, st_q_start;
wire [AXI_ADDR_WIDTH-1:0] st_q_addr;
wire [31:0] st_q_len;
wire [TAG_WIDTH-1:0] st_q_tag;
// a request's first beat, worked out as it is queued: the bytes it wants (to
// the bus word's end, or the request's), and whether it writes any
wire [CNT_W-1:0] st_q_want;
wire st_q_nz;
wire [CNT_W-1:0] st_req_room = LANES - {1'b0, st_req_addr[OFF_W-1:0]};
wire [CNT_W-1:0] st_req_want = st_req_len < {{(32-CNT_W){1'b0}}, st_req_room} ? st_req_len[CNT_W-1:0] : st_req_room;
wire st_req_nz = !st_req_drain && st_req_len != 32'd0;
wire st_q_valid;
reg st_q_ready;

wire [AXI_ADDR_WIDTH-1:0] im_q_addr;
wire [3:0] im_q_len;
wire [63:0] im_q_data;
wire [TAG_WIDTH-1:0] im_q_tag;
wire im_q_valid;
reg im_q_ready;

reg clear_reg;
wire [$clog2(4+2)-1:0] st_req_count, im_req_count;
wire [$clog2(STREAM_FIFO_DEPTH+2)-1:0] st_beat_count;
wire [$clog2(8+2)-1:0] im_beat_count;

reg [SEQ_WIDTH-1:0] st_seq_reg, im_seq_reg;
wire st_req_ready_int, im_req_ready_int;

// (both request FIFOs pass a request to an idle path in one cycle)
virtio_mmio_fifo #(.DEPTH(4), .WIDTH(ST_REQ_W + CNT_W + 1), .BYPASS(1))
st_req_fifo (
    .clk(clk), .rst(rst), .clear(clear_reg),
    .in_data({st_req_want, st_req_nz, st_req_drain, st_req_start, st_req_addr, st_req_len, st_req_tag}),
    .in_valid(st_req_valid && st_req_ready), .in_ready(st_req_ready_int),
    .out_data({st_q_want, st_q_nz, st_q_drain, st_q_start, st_q_addr, st_q_len, st_q_tag}),
    .out_valid(st_q_valid), .out_ready(st_q_ready),
    .count(st_req_count)
);

virtio_mmio_fifo #(.DEPTH(4), .WIDTH(IM_REQ_W), .BYPASS(1))
im_req_fifo (
    .clk(clk), .rst(rst), .clear(clear_reg),
    .in_data({im_req_addr, im_req_len, im_req_data, im_req_tag}),
    .in_valid(im_req_valid && im_req_ready), .in_ready(im_req_ready_int),
    .out_data({im_q_addr, im_q_len, im_q_data, im_q_tag}),
    .out_valid(im_q_valid), .out_ready(im_q_ready),
    .count(im_req_count)
);

// (not while the FIFOs are being cleared either: a request taken then would be lost)
assign st_req_ready = st_req_ready_int && !flush && !clear_reg;
assign im_req_ready = im_req_ready_int && !flush && !clear_reg;
assign st_seq = st_seq_reg;
assign im_seq = im_seq_reg;

/*
 * Beat FIFOs and planners
 */
reg [DW-1:0] st_beat_data;
reg [AXI_STRB_WIDTH-1:0] st_beat_strb;
reg st_beat_push;
wire st_beat_ready;
wire [DW-1:0] st_fifo_data;
wire [AXI_STRB_WIDTH-1:0] st_fifo_strb;
wire st_fifo_valid;
reg st_fifo_pop;

reg [DW-1:0] im_beat_data;
reg [AXI_STRB_WIDTH-1:0] im_beat_strb;
reg im_beat_push;
wire im_beat_ready;
wire [DW-1:0] im_fifo_data;
wire [AXI_STRB_WIDTH-1:0] im_fifo_strb;
wire im_fifo_valid;
reg im_fifo_pop;

virtio_mmio_fifo #(.DEPTH(STREAM_FIFO_DEPTH), .WIDTH(BEAT_ENTRY_W))
st_beat_fifo (
    .clk(clk), .rst(rst), .clear(clear_reg),
    .in_data({st_beat_data, st_beat_strb}), .in_valid(st_beat_push), .in_ready(st_beat_ready),
    .out_data({st_fifo_data, st_fifo_strb}), .out_valid(st_fifo_valid), .out_ready(st_fifo_pop),
    .count(st_beat_count)
);

virtio_mmio_fifo #(.DEPTH(8), .WIDTH(BEAT_ENTRY_W))
im_beat_fifo (
    .clk(clk), .rst(rst), .clear(clear_reg),
    .in_data({im_beat_data, im_beat_strb}), .in_valid(im_beat_push), .in_ready(im_beat_ready),
    .out_data({im_fifo_data, im_fifo_strb}), .out_valid(im_fifo_valid), .out_ready(im_fifo_pop),
    .count(im_beat_count)
);

reg [AXI_ADDR_WIDTH-1:0] st_plan_addr, im_plan_addr;
reg [BEAT_W-1:0] st_plan_beats, im_plan_beats, st_done_beats, im_done_beats;
reg st_plan_push, im_plan_push, st_done_push, im_done_push;
wire st_plan_ready, im_plan_ready;
wire [AXI_ADDR_WIDTH-1:0] st_burst_addr, im_burst_addr;
wire [8:0] st_burst_len, im_burst_len;
wire st_burst_valid, im_burst_valid, st_close_valid, im_close_valid;
wire st_burst_last, im_burst_last;
reg st_burst_take, im_burst_take, st_close_take;
wire st_plan_idle, im_plan_idle;

virtio_mmio_wr_planner #(
    .ADDR_WIDTH(AXI_ADDR_WIDTH), .BYTE_LANES(BYTE_LANES), .MAX_BURST_LEN(AXI_MAX_BURST_LEN),
    .BEAT_WIDTH(BEAT_W), .DEPTH(4), .AVAIL_WIDTH(AVAIL_W)
)
st_planner (
    .clk(clk), .rst(rst), .clear(clear_reg),
    .plan_addr(st_plan_addr), .plan_beats(st_plan_beats), .plan_valid(st_plan_push), .plan_ready(st_plan_ready),
    .done_beats(st_done_beats), .done_valid(st_done_push),
    .beat_pushed(st_beat_push && st_beat_ready),
    .burst_addr(st_burst_addr), .burst_len(st_burst_len), .burst_valid(st_burst_valid), .burst_last(st_burst_last), .burst_take(st_burst_take),
    .close_valid(st_close_valid), .close_take(st_close_take),
    .idle(st_plan_idle)
);

virtio_mmio_wr_planner #(
    .ADDR_WIDTH(AXI_ADDR_WIDTH), .BYTE_LANES(BYTE_LANES), .MAX_BURST_LEN(AXI_MAX_BURST_LEN),
    .BEAT_WIDTH(BEAT_W), .DEPTH(4), .AVAIL_WIDTH(AVAIL_W)
)
im_planner (
    .clk(clk), .rst(rst), .clear(clear_reg),
    .plan_addr(im_plan_addr), .plan_beats(im_plan_beats), .plan_valid(im_plan_push), .plan_ready(im_plan_ready),
    .done_beats(im_done_beats), .done_valid(im_done_push),
    .beat_pushed(im_beat_push && im_beat_ready),
    .burst_addr(im_burst_addr), .burst_len(im_burst_len), .burst_valid(im_burst_valid), .burst_last(im_burst_last), .burst_take(im_burst_take),
    // (never proposed: an immediate request's last burst closes it)
    .close_valid(im_close_valid), .close_take(1'b0),
    .idle(im_plan_idle)
);

/*
 * Stream realigner: the answer's bytes to bus words of the request's buffer
 */
reg st_active_reg, st_active_next;
reg st_drain_reg, st_drain_next;
reg [AXI_ADDR_WIDTH-1:0] st_addr_reg, st_addr_next;
reg [31:0] st_left_reg, st_left_next;
// the realigner's next beat wants this many bytes (up to the bus word's end
// and the request's), and bytes are left: both kept beside the address and
// length, so the beat's decision does not wait for a 32-bit compare
reg [CNT_W-1:0] st_want_reg, st_want_next;
reg st_left_nz_reg, st_left_nz_next;
reg [31:0] st_count_reg, st_count_next;
reg [BEAT_W-1:0] st_beats_reg, st_beats_next;
// the answer's last beat has been taken in
reg st_ended_reg, st_ended_next;
// bytes taken from the answer and not yet written, from lane 0 up
reg [2*DW-1:0] st_acc_reg, st_acc_next;
reg [ACC_CNT_W-1:0] st_acc_cnt_reg, st_acc_cnt_next;

reg st_rsp_valid_reg, st_rsp_valid_next;
reg [31:0] st_rsp_count_reg, st_rsp_count_next;
reg st_rsp_ended_reg, st_rsp_ended_next;
reg st_rsp_drain_reg, st_rsp_drain_next;

/*
 * Immediate emitter
 */
reg im_active_reg, im_active_next;
reg [2*DW+63:0] im_window_reg, im_window_next;
reg [2*AXI_STRB_WIDTH+7:0] im_mask_reg, im_mask_next;
reg [2:0] im_beat_reg, im_beat_next;
reg [2:0] im_beats_reg, im_beats_next;

/*
 * AW, W, B
 */
reg [AXI_ADDR_WIDTH-1:0] m_axi_awaddr_reg, m_axi_awaddr_next;
reg [7:0] m_axi_awlen_reg, m_axi_awlen_next;
reg m_axi_awvalid_reg, m_axi_awvalid_next;
reg [DW-1:0] m_axi_wdata_reg, m_axi_wdata_next;
reg [AXI_STRB_WIDTH-1:0] m_axi_wstrb_reg, m_axi_wstrb_next;
reg m_axi_wlast_reg, m_axi_wlast_next;
reg m_axi_wvalid_reg, m_axi_wvalid_next;

// W plan: the path and length of every burst issued, in AW order
reg wp_path [0:BT-1];
reg [8:0] wp_len [0:BT-1];
reg [BT_W:0] wp_wr_reg, wp_rd_reg;
reg [8:0] w_sent_reg, w_sent_next;

// B tracker: bursts waiting for B and request-done marks, in issue order
localparam BT_BURST = 1'b0;
localparam BT_DONE = 1'b1;
reg bt_kind [0:BT-1];
reg bt_path [0:BT-1];
// a burst that is its request's last: its B acknowledges the request
reg bt_last [0:BT-1];
reg [TAG_WIDTH-1:0] bt_tag [0:BT-1];
reg [BT_W:0] bt_wr_reg, bt_rd_reg;
// the head entry in registers of its own, loaded from the slot after it at a
// pop or from the push landing in an empty head, and whether there is one (the
// B decision starts from flip-flops, not from a LUT RAM read by the pointer)
reg bh_kind_reg, bh_path_reg, bh_last_reg, bt_any_reg;
reg [TAG_WIDTH-1:0] bh_tag_reg;
reg [OUTS_W-1:0] outstanding_reg, outstanding_next;
// B responses not yet matched with their burst (a done mark may be at the
// tracker's head when one arrives): their error flags, in order
reg [BT-1:0] bq_err_reg;
reg [BT_W:0] bq_count_reg, bq_count_next;
reg bq_pop;
wire [BT_W-1:0] bq_slot = bq_count_reg[BT_W-1:0];

reg [SEQ_WIDTH-1:0] st_acked_reg, st_acked_next;
reg [SEQ_WIDTH-1:0] im_acked_reg, im_acked_next;
reg err_reg, err_next;
reg err_valid_reg, err_valid_next;
reg [TAG_WIDTH-1:0] err_tag_reg, err_tag_next;

// the tag of the request each path is planning (for the B tracker)
reg [TAG_WIDTH-1:0] st_tag_mem [0:3];
reg [TAG_WIDTH-1:0] im_tag_mem [0:3];
reg [2:0] st_tag_wr_reg, st_tag_rd_reg, im_tag_wr_reg, im_tag_rd_reg;

// scratch
reg [OFF_W-1:0] off;
reg [CNT_W-1:0] want;
reg [CNT_W-1:0] take;
reg beat_go;
reg [2*DW-1:0] acc_after;
reg [ACC_CNT_W-1:0] cnt_after;
reg in_room;
reg take_want, take_all;
reg [2*DW-1:0] in_placed;
reg [CNT_W-1:0] n_in;
reg st_finish;
reg st_take_req;
reg im_take_req;
reg bt_push;
reg bt_push_kind;
reg bt_push_path;
reg bt_push_last;
reg [TAG_WIDTH-1:0] bt_push_tag;
reg wp_push;
reg bt_pop;
reg [OFF_W-1:0] im_off;

wire wp_empty = wp_wr_reg == wp_rd_reg;
wire [TAG_WIDTH-1:0] st_tag_head = st_tag_mem[st_tag_rd_reg[1:0]];
wire [TAG_WIDTH-1:0] im_tag_head = im_tag_mem[im_tag_rd_reg[1:0]];
wire bt_empty = !bt_any_reg;
// the tracker full, in a register: the AW decision starts from it, not from a
// subtraction (its next value compares the count with BT-1 beside the decision)
reg bt_full_reg;
wire bt_full = bt_full_reg;
wire [BT_W:0] bt_count = bt_wr_reg - bt_rd_reg;
wire [BT_W-1:0] wp_head = wp_rd_reg[BT_W-1:0];
wire [BT_W-1:0] bt_head = bt_rd_reg[BT_W-1:0];
wire wp_head_path = wp_path[wp_head];
wire [8:0] wp_head_len = wp_len[wp_head];
wire [BT_W-1:0] bt_head1 = bt_head + 1'b1;
wire bt_head_kind = bh_kind_reg;
wire bt_head_path = bh_path_reg;
wire bt_head_last = bh_last_reg;
wire [TAG_WIDTH-1:0] bt_head_tag = bh_tag_reg;

assign st_rsp_valid = st_rsp_valid_reg;
assign st_rsp_count = st_rsp_count_reg;
assign st_rsp_ended = st_rsp_ended_reg;
assign st_rsp_drain = st_rsp_drain_reg;
assign st_acked = st_acked_reg;
assign im_acked = im_acked_reg;
reg im_acked_inc_int;
assign im_acked_inc = im_acked_inc_int;
assign acked_catch_up = clear_reg;

// answer bytes are taken while the accumulator has room for a whole beat
assign in_ready = st_active_reg && !flush_st && !st_ended_reg && (st_drain_reg || in_room);

// The three ways a cycle goes (no beat, a beat of the wanted bytes, a last beat
// of every byte held): what each leaves in the accumulator, whether an answer
// beat then fits, and where that beat's bytes go, are worked out from the
// registers beside the decision, which only picks one.
wire [CNT_W-1:0] in_n = keep_count(in_keep);
wire [DW-1:0] in_bytes = in_data & ~({DW{1'b1}} << {in_n, 3'b000});
wire [ACC_CNT_W-1:0] cnt_want = st_acc_cnt_reg - {1'b0, st_want_reg};
wire [2*DW-1:0] acc_want = st_acc_reg >> {st_want_reg, 3'b000};
wire room_none = st_acc_cnt_reg <= {1'b0, LANES};
wire room_want = cnt_want <= {1'b0, LANES};
wire [2*DW-1:0] in_at_none = {{DW{1'b0}}, in_bytes} << {st_acc_cnt_reg, 3'b000};
wire [2*DW-1:0] in_at_want = {{DW{1'b0}}, in_bytes} << {cnt_want, 3'b000};

assign busy = m_axi_awvalid_reg || m_axi_wvalid_reg || !wp_empty || outstanding_reg != 0;
assign err = err_reg;
assign idle = !busy && !st_active_reg && !im_active_reg && st_plan_idle && im_plan_idle
    && st_req_count == 0 && im_req_count == 0 && bt_empty && !clear_reg;
assign err_valid = err_valid_reg;
assign err_tag = err_tag_reg;

assign m_axi_awid = {AXI_ID_WIDTH{1'b0}};
assign m_axi_awaddr = m_axi_awaddr_reg;
assign m_axi_awlen = m_axi_awlen_reg;
assign m_axi_awsize = AXI_SIZE;
assign m_axi_awburst = 2'b01;
assign m_axi_awlock = 1'b0;
assign m_axi_awcache = 4'b0011;
assign m_axi_awprot = 3'b010;
assign m_axi_awvalid = m_axi_awvalid_reg;
assign m_axi_wdata = m_axi_wdata_reg;
assign m_axi_wstrb = m_axi_wstrb_reg;
assign m_axi_wlast = m_axi_wlast_reg;
assign m_axi_wvalid = m_axi_wvalid_reg;
assign m_axi_bready = 1'b1;

// B IDs are not checked (every burst uses ID 0); the FIFOs' valid and the
// immediate planner's close are read by the formal checks only
wire unused_ok = &{1'b0, m_axi_bid, m_axi_bresp[0], st_beat_count, im_beat_count, im_close_valid,
    st_fifo_valid, im_fifo_valid};

// the realigner's next beat: how many bytes it takes from the accumulator
// (a block of its own: the input's ready depends on it)
always @* begin
    off = st_addr_reg[OFF_W-1:0];
    want = st_want_reg;
    take_want = 1'b0;
    take_all = 1'b0;
    if (st_active_reg && !st_drain_reg && !flush_st && st_left_nz_reg && st_beat_ready) begin
        if (st_acc_cnt_reg >= {1'b0, want}) begin
            take_want = 1'b1;
        end else if (st_ended_reg && st_acc_cnt_reg != 0) begin
            take_all = 1'b1;
        end
    end
    beat_go = take_want || take_all;
    // (the accumulator holds nothing above its count: taking all leaves zeros)
    if (take_want) begin
        take = want;
        acc_after = acc_want;
        cnt_after = cnt_want;
        in_room = room_want;
        in_placed = in_at_want;
    end else if (take_all) begin
        take = st_acc_cnt_reg[CNT_W-1:0];
        acc_after = {2*DW{1'b0}};
        cnt_after = {ACC_CNT_W{1'b0}};
        in_room = 1'b1;
        in_placed = {{DW{1'b0}}, in_bytes};
    end else begin
        take = {CNT_W{1'b0}};
        acc_after = st_acc_reg;
        cnt_after = st_acc_cnt_reg;
        in_room = room_none;
        in_placed = in_at_none;
    end
end

always @* begin
    st_active_next = st_active_reg;
    st_drain_next = st_drain_reg;
    st_addr_next = st_addr_reg;
    st_left_next = st_left_reg;
    st_want_next = st_want_reg;
    st_left_nz_next = st_left_nz_reg;
    st_count_next = st_count_reg;
    st_beats_next = st_beats_reg;
    st_ended_next = st_ended_reg;
    st_acc_next = st_acc_reg;
    st_acc_cnt_next = st_acc_cnt_reg;
    st_rsp_valid_next = 1'b0;
    st_rsp_count_next = st_rsp_count_reg;
    st_rsp_ended_next = st_rsp_ended_reg;
    st_rsp_drain_next = st_rsp_drain_reg;

    im_active_next = im_active_reg;
    im_window_next = im_window_reg;
    im_mask_next = im_mask_reg;
    im_beat_next = im_beat_reg;
    im_beats_next = im_beats_reg;

    m_axi_awaddr_next = m_axi_awaddr_reg;
    m_axi_awlen_next = m_axi_awlen_reg;
    m_axi_awvalid_next = m_axi_awvalid_reg && !m_axi_awready;
    m_axi_wdata_next = m_axi_wdata_reg;
    m_axi_wstrb_next = m_axi_wstrb_reg;
    m_axi_wlast_next = m_axi_wlast_reg;
    m_axi_wvalid_next = m_axi_wvalid_reg && !m_axi_wready;
    w_sent_next = w_sent_reg;

    outstanding_next = outstanding_reg;
    st_acked_next = st_acked_reg;
    im_acked_next = im_acked_reg;
    im_acked_inc_int = 1'b0;
    err_next = err_reg;
    err_valid_next = 1'b0;
    // (loaded until the first error, which it then holds: read only with
    // err_valid, so the load waits for no decision)
    err_tag_next = err_reg ? err_tag_reg : bt_head_tag;

    st_q_ready = 1'b0;
    im_q_ready = 1'b0;
    st_beat_data = {DW{1'b0}};
    st_beat_strb = {AXI_STRB_WIDTH{1'b0}};
    st_beat_push = 1'b0;
    im_beat_data = {DW{1'b0}};
    im_beat_strb = {AXI_STRB_WIDTH{1'b0}};
    im_beat_push = 1'b0;
    st_plan_addr = {st_q_addr[AXI_ADDR_WIDTH-1:OFF_W], {OFF_W{1'b0}}};
    st_plan_beats = st_q_drain ? {BEAT_W{1'b0}} : beats_of(st_q_addr[OFF_W-1:0], st_q_len);
    st_plan_push = 1'b0;
    st_done_beats = st_beats_reg;
    st_done_push = 1'b0;
    im_plan_addr = {im_q_addr[AXI_ADDR_WIDTH-1:OFF_W], {OFF_W{1'b0}}};
    im_off = im_q_addr[OFF_W-1:0];
    im_plan_beats = beats_of(im_off, {28'd0, im_q_len});
    im_plan_push = 1'b0;
    im_done_beats = im_plan_beats;
    im_done_push = 1'b0;
    st_burst_take = 1'b0;
    im_burst_take = 1'b0;
    st_close_take = 1'b0;
    st_fifo_pop = 1'b0;
    im_fifo_pop = 1'b0;

    n_in = {CNT_W{1'b0}};
    st_finish = 1'b0;
    st_take_req = 1'b0;
    im_take_req = 1'b0;
    bt_push = 1'b0;
    bt_push_kind = BT_BURST;
    bt_push_path = PATH_ST;
    bt_push_last = 1'b0;
    bt_push_tag = {TAG_WIDTH{1'b0}};
    wp_push = 1'b0;
    bt_pop = 1'b0;

    if (err_clr) begin
        err_next = 1'b0;
    end

    /*
     * stream realigner
     */
    if (beat_go) begin
        st_beat_data = st_acc_reg[DW-1:0] << {off, 3'b000};
        st_beat_strb = (~({AXI_STRB_WIDTH{1'b1}} << take)) << off;
        st_beat_push = 1'b1;
        st_acc_next = acc_after;
        st_acc_cnt_next = cnt_after;
        st_addr_next = st_addr_reg + {{(AXI_ADDR_WIDTH-CNT_W){1'b0}}, take};
        st_left_next = st_left_reg - {{(32-CNT_W){1'b0}}, take};
        st_left_nz_next = st_left_reg[31:CNT_W] != {(32-CNT_W){1'b0}} || st_left_reg[CNT_W-1:0] != take;
        if (take != want) begin
            // short of the bus word's end (the answer ended): the rest of it
            st_want_next = want - take;
        end else if (st_left_reg >= {{(32-CNT_W){1'b0}}, want} + {{(32-CNT_W){1'b0}}, LANES}) begin
            st_want_next = LANES;
        end else begin
            st_want_next = st_left_reg[CNT_W-1:0] - want;
        end
        st_count_next = st_count_reg + {{(32-CNT_W){1'b0}}, take};
        st_beats_next = st_beats_reg + 1'b1;
    end

    // answer bytes in, behind the bytes held (or dropped when draining)
    if (in_valid && in_ready) begin
        n_in = in_n;
        if (!st_drain_reg) begin
            st_acc_next = acc_after | in_placed;
            st_acc_cnt_next = cnt_after + {1'b0, n_in};
        end
        if (in_last) begin
            st_ended_next = 1'b1;
        end
    end

    // end of the request: the answer is used up, or every byte allowed is written
    // (never in a cycle with a beat: with no byte left to write, or none held
    // of an ended answer, no beat goes; inv_dma_wr_finish_no_beat. The next
    // request's acceptance waits for no beat decision.)
    if (st_active_reg && !flush_st) begin
        if (st_drain_reg) begin
            st_finish = st_ended_reg;
        end else begin
            st_finish = !st_left_nz_reg || (st_ended_reg && st_acc_cnt_reg == 0);
        end
    end
    if (st_finish) begin
        st_active_next = 1'b0;
        st_rsp_valid_next = 1'b1;
        st_rsp_count_next = st_count_reg;
        st_rsp_ended_next = st_ended_reg && st_acc_cnt_reg == 0;
        st_rsp_drain_next = st_drain_reg;
        st_done_push = 1'b1;
        if (st_drain_reg) begin
            st_acc_next = {2*DW{1'b0}};
            st_acc_cnt_next = {ACC_CNT_W{1'b0}};
        end
    end

    // next request: when idle, or in the cycle the current one finishes (a
    // chain's DRAIN and the next answer's first request follow back to back)
    if ((!st_active_reg || st_finish) && st_q_valid && st_plan_ready && !flush_st && !clear_reg) begin
        st_take_req = 1'b1;
        st_q_ready = 1'b1;
        st_plan_push = 1'b1;
        st_active_next = 1'b1;
        st_drain_next = st_q_drain;
        st_addr_next = st_q_addr;
        st_left_next = st_q_drain ? 32'd0 : st_q_len;
        st_left_nz_next = st_q_nz;
        st_want_next = st_q_want;
        st_count_next = 32'd0;
        st_beats_next = {BEAT_W{1'b0}};
        // (a new answer finds the accumulator empty: the one before ended
        // with every byte written, or drained, or a reset or flush emptied
        // it; inv_dma_wr_acc_empty_at_start)
        if (st_q_start) begin
            st_ended_next = 1'b0;
        end
    end

    /*
     * immediate emitter: the bytes placed at their lanes, beat by beat
     */
    if (im_active_reg) begin
        if (im_beat_ready && !flush) begin
            im_beat_data = im_window_reg[DW-1:0];
            im_beat_strb = im_mask_reg[AXI_STRB_WIDTH-1:0];
            im_beat_push = 1'b1;
            im_window_next = im_window_reg >> DW;
            im_mask_next = im_mask_reg >> AXI_STRB_WIDTH;
            im_beat_next = im_beat_reg + 1'b1;
            if (im_beat_reg + 1'b1 == im_beats_reg) begin
                im_active_next = 1'b0;
            end
        end
    end else if (im_q_valid && im_plan_ready && !flush && !clear_reg) begin
        im_take_req = 1'b1;
        im_q_ready = 1'b1;
        im_plan_push = 1'b1;
        im_done_push = 1'b1;
        im_active_next = 1'b1;
        im_window_next = {{(2*DW){1'b0}}, im_q_data} << {im_off, 3'b000};
        im_mask_next = ({{(2*AXI_STRB_WIDTH){1'b0}}, 8'hff} >> (4'd8 - im_q_len)) << im_off;
        im_beat_next = 3'd0;
        im_beats_next = im_plan_beats[2:0];
    end

    /*
     * AW: one burst or one request close a cycle; immediate writes first
     */
    if (!flush && !bt_full) begin
        if (im_burst_valid && outstanding_reg < OUTS_MAX && (!m_axi_awvalid_reg || m_axi_awready)) begin
            im_burst_take = 1'b1;
            m_axi_awaddr_next = im_burst_addr;
            m_axi_awlen_next = im_burst_len[7:0] - 8'd1;
            m_axi_awvalid_next = 1'b1;
            wp_push = 1'b1;
            bt_push = 1'b1;
            bt_push_kind = BT_BURST;
            bt_push_path = PATH_IM;
            bt_push_last = im_burst_last;
            bt_push_tag = im_tag_head;
        end else if (st_burst_valid && outstanding_reg < OUTS_MAX && (!m_axi_awvalid_reg || m_axi_awready)) begin
            st_burst_take = 1'b1;
            m_axi_awaddr_next = st_burst_addr;
            m_axi_awlen_next = st_burst_len[7:0] - 8'd1;
            m_axi_awvalid_next = 1'b1;
            wp_push = 1'b1;
            bt_push = 1'b1;
            bt_push_kind = BT_BURST;
            bt_push_path = PATH_ST;
            bt_push_last = st_burst_last;
            bt_push_tag = st_tag_head;
        end else if (st_close_valid) begin
            st_close_take = 1'b1;
            bt_push = 1'b1;
            bt_push_kind = BT_DONE;
            bt_push_path = PATH_ST;
            bt_push_tag = st_tag_head;
        end
    end
    if (bt_push && bt_push_kind == BT_BURST) begin
        outstanding_next = outstanding_next + 1'b1;
    end

    /*
     * W: the beats of the bursts issued, in AW order, from their path's FIFO
     */
    // (the beat is in its FIFO: a burst's AW goes out only once all its beats are)
    if (!wp_empty && (!m_axi_wvalid_reg || m_axi_wready)) begin
        if (wp_head_path == PATH_IM) begin
            im_fifo_pop = 1'b1;
            m_axi_wdata_next = im_fifo_data;
            m_axi_wstrb_next = im_fifo_strb;
        end else begin
            st_fifo_pop = 1'b1;
            m_axi_wdata_next = st_fifo_data;
            m_axi_wstrb_next = st_fifo_strb;
        end
        m_axi_wvalid_next = 1'b1;
        m_axi_wlast_next = w_sent_reg + 9'd1 == wp_head_len;
        w_sent_next = (w_sent_reg + 9'd1 == wp_head_len) ? 9'd0 : w_sent_reg + 9'd1;
    end

    /*
     * B: responses in issue order; a done mark at the head acknowledges its request
     */
    bq_pop = 1'b0;
    if (!bt_empty) begin
        if (bt_head_kind == BT_DONE) begin
            // (done marks are the stream path's: an immediate request's one
            // burst is its last and acknowledges it)
            bt_pop = 1'b1;
            st_acked_next = st_acked_reg + 1'b1;
        end else if (bq_count_reg != 0 || m_axi_bvalid) begin
            // the oldest B not yet matched (this cycle's if none is waiting)
            bt_pop = 1'b1;
            bq_pop = 1'b1;
            outstanding_next = outstanding_next - 1'b1;
            if (bt_head_last) begin
                if (bt_head_path == PATH_IM) begin
                    im_acked_next = im_acked_reg + 1'b1;
                    im_acked_inc_int = 1'b1;
                end else begin
                    st_acked_next = st_acked_reg + 1'b1;
                end
            end
            if (bq_count_reg != 0 ? bq_err_reg[0] : m_axi_bresp[1]) begin
                if (!err_reg) begin
                    err_valid_next = 1'b1;
                end
                err_next = 1'b1;
            end
        end
    end
    bq_count_next = bq_count_reg + {{BT_W{1'b0}}, m_axi_bvalid} - {{BT_W{1'b0}}, bq_pop};

    if (flush) begin
        st_active_next = 1'b0;
        im_active_next = 1'b0;
        st_acc_next = {2*DW{1'b0}};
        st_acc_cnt_next = {ACC_CNT_W{1'b0}};
        st_ended_next = 1'b0;
    end
end

always @(posedge clk) begin
    st_active_reg <= st_active_next;
    st_drain_reg <= st_drain_next;
    st_addr_reg <= st_addr_next;
    st_left_reg <= st_left_next;
    st_want_reg <= st_want_next;
    st_left_nz_reg <= st_left_nz_next;
    st_count_reg <= st_count_next;
    st_beats_reg <= st_beats_next;
    st_ended_reg <= st_ended_next;
    st_acc_reg <= st_acc_next;
    st_acc_cnt_reg <= st_acc_cnt_next;
    st_rsp_valid_reg <= st_rsp_valid_next;
    st_rsp_count_reg <= st_rsp_count_next;
    st_rsp_ended_reg <= st_rsp_ended_next;
    st_rsp_drain_reg <= st_rsp_drain_next;

    im_active_reg <= im_active_next;
    im_window_reg <= im_window_next;
    im_mask_reg <= im_mask_next;
    im_beat_reg <= im_beat_next;
    im_beats_reg <= im_beats_next;

    m_axi_awaddr_reg <= m_axi_awaddr_next;
    m_axi_awlen_reg <= m_axi_awlen_next;
    m_axi_awvalid_reg <= m_axi_awvalid_next;
    m_axi_wdata_reg <= m_axi_wdata_next;
    m_axi_wstrb_reg <= m_axi_wstrb_next;
    m_axi_wlast_reg <= m_axi_wlast_next;
    m_axi_wvalid_reg <= m_axi_wvalid_next;
    w_sent_reg <= w_sent_next;

    outstanding_reg <= outstanding_next;
    bq_count_reg <= bq_count_next;
    // B error flags, oldest at bit 0
    if (bq_pop) begin
        bq_err_reg <= bq_err_reg >> 1;
        if (m_axi_bvalid && bq_count_reg != 0) begin
            bq_err_reg[bq_slot - 1'b1] <= m_axi_bresp[1];
        end
    end else if (m_axi_bvalid) begin
        bq_err_reg[bq_slot] <= m_axi_bresp[1];
    end
    st_acked_reg <= st_acked_next;
    im_acked_reg <= im_acked_next;
    err_reg <= err_next;
    err_valid_reg <= err_valid_next;
    err_tag_reg <= err_tag_next;

    // a flush forgets what it held once every burst issued is answered
    clear_reg <= flush && !busy;

    if (st_req_valid && st_req_ready) begin
        st_seq_reg <= st_seq_reg + 1'b1;
    end
    if (im_req_valid && im_req_ready) begin
        im_seq_reg <= im_seq_reg + 1'b1;
    end

    if (st_take_req) begin
        st_tag_mem[st_tag_wr_reg[1:0]] <= st_q_tag;
        st_tag_wr_reg <= st_tag_wr_reg + 1'b1;
    end
    if (st_close_take || (st_burst_take && st_burst_last)) begin
        st_tag_rd_reg <= st_tag_rd_reg + 1'b1;
    end
    if (im_take_req) begin
        im_tag_mem[im_tag_wr_reg[1:0]] <= im_q_tag;
        im_tag_wr_reg <= im_tag_wr_reg + 1'b1;
    end
    if (im_burst_take && im_burst_last) begin
        im_tag_rd_reg <= im_tag_rd_reg + 1'b1;
    end

    if (wp_push) begin
        wp_path[wp_wr_reg[BT_W-1:0]] <= im_burst_take ? PATH_IM : PATH_ST;
        wp_len[wp_wr_reg[BT_W-1:0]] <= im_burst_take ? im_burst_len : st_burst_len;
        wp_wr_reg <= wp_wr_reg + 1'b1;
    end
    if ((st_fifo_pop || im_fifo_pop) && m_axi_wlast_next) begin
        wp_rd_reg <= wp_rd_reg + 1'b1;
    end

    if (bt_push) begin
        bt_kind[bt_wr_reg[BT_W-1:0]] <= bt_push_kind;
        bt_path[bt_wr_reg[BT_W-1:0]] <= bt_push_path;
        bt_last[bt_wr_reg[BT_W-1:0]] <= bt_push_last;
        bt_tag[bt_wr_reg[BT_W-1:0]] <= bt_push_tag;
        bt_wr_reg <= bt_wr_reg + 1'b1;
    end
    if (bt_pop) begin
        bt_rd_reg <= bt_rd_reg + 1'b1;
    end
    if (bt_push && !bt_pop) begin
        bt_full_reg <= bt_count == BT[BT_W:0] - 1'b1;
        bt_any_reg <= 1'b1;
    end else if (bt_pop && !bt_push) begin
        bt_full_reg <= 1'b0;
        bt_any_reg <= bt_count != {{BT_W{1'b0}}, 1'b1};
    end
    // (a push at a clear is the only entry left: the head)
    if (bt_push && (clear_reg || (bt_pop ? bt_wr_reg[BT_W-1:0] == bt_head1 : bt_empty))) begin
        bh_kind_reg <= bt_push_kind;
        bh_path_reg <= bt_push_path;
        bh_last_reg <= bt_push_last;
        bh_tag_reg <= bt_push_tag;
    end else if (bt_pop) begin
        bh_kind_reg <= bt_kind[bt_head1];
        bh_path_reg <= bt_path[bt_head1];
        bh_last_reg <= bt_last[bt_head1];
        bh_tag_reg <= bt_tag[bt_head1];
    end

    if (clear_reg) begin
        st_tag_wr_reg <= 3'd0;
        st_tag_rd_reg <= 3'd0;
        im_tag_wr_reg <= 3'd0;
        im_tag_rd_reg <= 3'd0;
        // done marks of requests the flush cut short: acknowledged (nothing
        // of them will reach the bus); the sequence numbers catch up
        bt_rd_reg <= bt_wr_reg;
        bt_full_reg <= 1'b0;
        bt_any_reg <= bt_push;
        st_acked_reg <= st_seq_reg;
        im_acked_reg <= im_seq_reg;
        // a request cut short (a drain waiting for an answer's end that the
        // flushed completion will never send) is dropped with its bytes
        st_active_reg <= 1'b0;
        st_ended_reg <= 1'b0;
        st_acc_reg <= {2*DW{1'b0}};
        st_acc_cnt_reg <= {ACC_CNT_W{1'b0}};
        st_rsp_valid_reg <= 1'b0;
        im_active_reg <= 1'b0;
    end

    if (rst) begin
        st_active_reg <= 1'b0;
        st_ended_reg <= 1'b0;
        st_acc_reg <= {2*DW{1'b0}};
        st_acc_cnt_reg <= {ACC_CNT_W{1'b0}};
        st_rsp_valid_reg <= 1'b0;
        im_active_reg <= 1'b0;
        m_axi_awvalid_reg <= 1'b0;
        m_axi_wvalid_reg <= 1'b0;
        w_sent_reg <= 9'd0;
        outstanding_reg <= {OUTS_W{1'b0}};
        bq_count_reg <= {(BT_W+1){1'b0}};
        st_acked_reg <= {SEQ_WIDTH{1'b0}};
        im_acked_reg <= {SEQ_WIDTH{1'b0}};
        err_reg <= 1'b0;
        err_valid_reg <= 1'b0;
        clear_reg <= 1'b0;
        st_seq_reg <= {SEQ_WIDTH{1'b0}};
        im_seq_reg <= {SEQ_WIDTH{1'b0}};
        st_tag_wr_reg <= 3'd0;
        st_tag_rd_reg <= 3'd0;
        im_tag_wr_reg <= 3'd0;
        im_tag_rd_reg <= 3'd0;
        wp_wr_reg <= {(BT_W+1){1'b0}};
        wp_rd_reg <= {(BT_W+1){1'b0}};
        bt_wr_reg <= {(BT_W+1){1'b0}};
        bt_rd_reg <= {(BT_W+1){1'b0}};
        bt_full_reg <= 1'b0;
        bt_any_reg <= 1'b0;
    end
end

`ifdef FORMAL
/*
 * Formal checks (docs/formal.md, `make formal`): every byte this engine
 * writes (a W beat's strobed lane) lies inside the request that produced it,
 * none at all for a DRAIN request. Split in two at the beat FIFOs: a beat
 * made by the realigner or the immediate emitter has its strobed lanes
 * inside its request at the bus word it is meant for; on W, each beat goes
 * to that word (its address counted from the AW of its burst, as a bus
 * slave places it) with the same strobes. Shadow FIFOs follow the beat
 * FIFOs (the word and strobes of each beat held); the AW address of each
 * burst is noted beside the W plan.
 */
localparam F_WORD_W = AXI_ADDR_WIDTH-OFF_W;
localparam F_ST_W = $clog2(2*STREAM_FIFO_DEPTH);
localparam F_IM_W = 4;
reg [AXI_ADDR_WIDTH:0] f_st_lo, f_st_hi, f_im_lo, f_im_hi;
reg [F_WORD_W-1:0] f_im_word;
reg [F_WORD_W+AXI_STRB_WIDTH-1:0] f_st_beat [0:(2**F_ST_W)-1];
reg [F_WORD_W+AXI_STRB_WIDTH-1:0] f_im_beat [0:(2**F_IM_W)-1];
reg [F_ST_W-1:0] f_st_wr, f_st_rd;
reg [F_IM_W-1:0] f_im_wr, f_im_rd;
reg [F_WORD_W-1:0] f_wp_word [0:BT-1];
// the beat on W: the word its burst puts it at, the word and strobes it was made for
reg [F_WORD_W-1:0] f_w_word;
reg [F_WORD_W+AXI_STRB_WIDTH-1:0] f_w_made;
reg f_w_from_im;   // (the formal wrapper's witness of answer bytes on W reads it)
wire f_st_push = st_beat_push && st_beat_ready;
wire f_im_push = im_beat_push && im_beat_ready;
wire [F_WORD_W-1:0] f_st_push_word = st_addr_reg[AXI_ADDR_WIDTH-1:OFF_W];
wire [F_WORD_W-1:0] f_im_push_word = f_im_word + {{(F_WORD_W-3){1'b0}}, im_beat_reg};
reg [AXI_ADDR_WIDTH:0] f_lane;
integer f_i;

always @(posedge clk) begin
    if (st_take_req) begin
        f_st_lo <= {1'b0, st_q_addr};
        f_st_hi <= {1'b0, st_q_addr} + (st_q_drain ? {(AXI_ADDR_WIDTH+1){1'b0}}
            : {{(AXI_ADDR_WIDTH-31){1'b0}}, st_q_len});
    end
    if (im_take_req) begin
        f_im_lo <= {1'b0, im_q_addr};
        f_im_hi <= {1'b0, im_q_addr} + {{(AXI_ADDR_WIDTH-3){1'b0}}, im_q_len};
        f_im_word <= im_q_addr[AXI_ADDR_WIDTH-1:OFF_W];
    end
    if (f_st_push) begin
        f_st_beat[f_st_wr] <= {f_st_push_word, st_beat_strb};
        f_st_wr <= f_st_wr + 1'b1;
    end
    if (st_fifo_pop) begin
        f_st_rd <= f_st_rd + 1'b1;
    end
    if (f_im_push) begin
        f_im_beat[f_im_wr] <= {f_im_push_word, im_beat_strb};
        f_im_wr <= f_im_wr + 1'b1;
    end
    if (im_fifo_pop) begin
        f_im_rd <= f_im_rd + 1'b1;
    end
    if (wp_push) begin
        f_wp_word[wp_wr_reg[BT_W-1:0]] <= m_axi_awaddr_next[AXI_ADDR_WIDTH-1:OFF_W];
    end
    if (st_fifo_pop || im_fifo_pop) begin
        f_w_word <= f_wp_word[wp_head] + {{(F_WORD_W-9){1'b0}}, w_sent_reg};
        f_w_made <= st_fifo_pop ? f_st_beat[f_st_rd] : f_im_beat[f_im_rd];
        f_w_from_im <= im_fifo_pop;
    end
    if (rst || clear_reg) begin
        f_st_wr <= {F_ST_W{1'b0}};
        f_st_rd <= {F_ST_W{1'b0}};
        f_im_wr <= {F_IM_W{1'b0}};
        f_im_rd <= {F_IM_W{1'b0}};
    end
end

always @* begin
    f_lane = {(AXI_ADDR_WIDTH+1){1'b0}};
    if (!rst) begin
        for (f_i = 0; f_i < AXI_STRB_WIDTH; f_i = f_i + 1) begin
            if (f_st_push && st_beat_strb[f_i]) begin
                f_lane = {1'b0, f_st_push_word, {OFF_W{1'b0}}} + f_i;
                assert(f_st_lo <= f_lane && f_lane < f_st_hi);
            end
            if (f_im_push && im_beat_strb[f_i]) begin
                f_lane = {1'b0, f_im_push_word, {OFF_W{1'b0}}} + f_i;
                assert(f_im_lo <= f_lane && f_lane < f_im_hi);
            end
        end
        if (m_axi_wvalid_reg) begin
            assert({f_w_word, m_axi_wstrb_reg} == f_w_made);
        end
    end
end

/*
 * The engine's invariants, on which its decisions rely: the immediate
 * planner never proposes to close a request (an immediate request's plan
 * and done go in together, so its last burst is known and closes it), so
 * every done mark is the stream path's; W finds each beat of a burst issued
 * in its path's FIFO (the AW went out only once all of them were pushed);
 * the registered tracker-full flag is the count's, its head registers the
 * entry at its read pointer; a request finishes in no cycle that also makes
 * a beat; a new answer's first request finds the accumulator empty (nothing
 * of the answer before it is left to be written into its buffers).
 */
always @* begin
    if (!rst) begin
        inv_dma_wr_im_no_close: assert(!im_close_valid);
        if (!wp_empty && (!m_axi_wvalid_reg || m_axi_wready)) begin
            inv_dma_wr_w_beat_held: assert(wp_head_path == PATH_IM ? im_fifo_valid : st_fifo_valid);
        end
        inv_dma_wr_bt_full: assert(bt_full_reg == (bt_count == BT[BT_W:0]));
        inv_dma_wr_bt_head: assert(bt_any_reg == (bt_wr_reg != bt_rd_reg) && (!bt_any_reg
            || (bh_kind_reg == bt_kind[bt_head] && bh_path_reg == bt_path[bt_head]
            && bh_last_reg == bt_last[bt_head] && bh_tag_reg == bt_tag[bt_head])));
        if (st_finish) begin
            inv_dma_wr_finish_no_beat: assert(!beat_go);
        end
        if (st_take_req && st_q_start) begin
            inv_dma_wr_acc_empty_at_start: assert(st_acc_next == {2*DW{1'b0}} && st_acc_cnt_next == {ACC_CNT_W{1'b0}});
        end
    end
end
`endif

endmodule

`resetall
