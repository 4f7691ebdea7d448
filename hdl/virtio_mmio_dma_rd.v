`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * virtio-mmio DMA read engine: byte-addressed reads for two clients, split
 * into AXI4 INCR bursts (bus-word aligned, full-width beats, no 4 KiB
 * crossing, at most AXI_MAX_BURST_LEN beats), up to MAX_OUTSTANDING bursts
 * in flight, one ID (data returns in issue order).
 *
 * Ring client: small reads (avail.idx, heads, descriptors, tables,
 * used_event) with a tag; each request comes back as its own packet of bytes
 * packed from lane 0, with the tag, no back-pressure (the requester has room
 * for what it asks). err: this beat or an earlier one of the request was
 * answered SLVERR/DECERR (the bytes before it are good).
 *
 * Data client: the readable segments of a chain; the segments of one chain
 * (req_last on the final one) come back as one packet packed from lane 0.
 * No back-pressure either: a burst is issued only while data_space (free
 * entries of the consumer's FIFO) covers every beat in flight. A beat
 * answered SLVERR/DECERR ends the packet at once with an error beat (keep 0,
 * last 1, err 1); the rest of the chain's bytes are read and dropped.
 *
 * Interrupt client: 16-bit fields (used_event or avail.flags), each
 * straight into the AR register in the cycle it is asked for, and its value
 * straight out of the R beat (the interrupt decision's latency).
 *
 * Priority on AR: interrupt, ring, data; data bursts never take the last
 * burst slot and never wait for anything but data credit, so a stalled
 * request stream never delays ring or interrupt reads.
 *
 * flush: drop requests not yet issued; bursts in flight are received and
 * dropped; busy falls once nothing is in flight. Requests made during a
 * flush are taken and dropped (the requesters start over after a flush).
 */
module virtio_mmio_dma_rd #
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
    // Maximum number of read bursts in flight
    parameter MAX_OUTSTANDING = 16,
    // Width of a ring read tag
    parameter TAG_WIDTH = 3,
    // Width of data_space
    parameter SPACE_WIDTH = 8
)
(
    input  wire                       clk,
    input  wire                       rst,

    /*
     * Ring reads: ring_req_len (1..65535) bytes from ring_req_addr
     */
    input  wire [AXI_ADDR_WIDTH-1:0]  ring_req_addr,
    input  wire [15:0]                ring_req_len,
    input  wire [TAG_WIDTH-1:0]       ring_req_tag,
    input  wire                       ring_req_valid,
    output wire                       ring_req_ready,

    output wire [AXI_DATA_WIDTH-1:0]  ring_rsp_data,
    output wire [AXI_STRB_WIDTH-1:0]  ring_rsp_keep,
    output wire                       ring_rsp_last,
    output wire                       ring_rsp_err,
    output wire [TAG_WIDTH-1:0]       ring_rsp_tag,
    output wire                       ring_rsp_valid,

    /*
     * Data reads: data_req_len (>= 1) bytes from data_req_addr; data_req_last
     * ends the packet
     */
    input  wire [AXI_ADDR_WIDTH-1:0]  data_req_addr,
    input  wire [31:0]                data_req_len,
    input  wire                       data_req_last,
    input  wire                       data_req_valid,
    output wire                       data_req_ready,

    output wire [AXI_DATA_WIDTH-1:0]  data_out_data,
    output wire [AXI_STRB_WIDTH-1:0]  data_out_keep,
    output wire                       data_out_last,
    output wire                       data_out_err,
    output wire                       data_out_valid,
    input  wire [SPACE_WIDTH-1:0]     data_space,

    /*
     * Interrupt-decision read: 2 bytes at an even irq_req_addr
     */
    input  wire [AXI_ADDR_WIDTH-1:0]  irq_req_addr,
    input  wire                       irq_req_valid,
    output wire                       irq_req_ready,
    output wire [15:0]                irq_rsp_data,
    output wire                       irq_rsp_err,
    output wire                       irq_rsp_valid,

    /*
     * Control and status
     */
    input  wire                       flush,
    output wire                       busy,

    /*
     * AXI master interface (read channels)
     */
    output wire [AXI_ID_WIDTH-1:0]    m_axi_arid,
    output wire [AXI_ADDR_WIDTH-1:0]  m_axi_araddr,
    output wire [7:0]                 m_axi_arlen,
    output wire [2:0]                 m_axi_arsize,
    output wire [1:0]                 m_axi_arburst,
    output wire                       m_axi_arlock,
    output wire [3:0]                 m_axi_arcache,
    output wire [2:0]                 m_axi_arprot,
    output wire                       m_axi_arvalid,
    input  wire                       m_axi_arready,
    input  wire [AXI_ID_WIDTH-1:0]    m_axi_rid,
    input  wire [AXI_DATA_WIDTH-1:0]  m_axi_rdata,
    input  wire [1:0]                 m_axi_rresp,
    input  wire                       m_axi_rlast,
    input  wire                       m_axi_rvalid,
    output wire                       m_axi_rready
);

localparam BYTE_LANES = AXI_STRB_WIDTH;
// byte offset within a bus word
localparam OFF_W = $clog2(BYTE_LANES);
// byte count 0..BYTE_LANES
localparam CNT_W = OFF_W+1;
localparam OUTS_W = $clog2(MAX_OUTSTANDING+1);
// request and burst bookkeeping (power of two above the bursts in flight)
localparam QD_W = $clog2(MAX_OUTSTANDING+1);
localparam QD = 2**QD_W;
localparam [CNT_W-1:0] LANES = BYTE_LANES[CNT_W-1:0];
localparam [OUTS_W-1:0] OUTS_MAX = MAX_OUTSTANDING[OUTS_W-1:0];
localparam [8:0] BURST_MAX = AXI_MAX_BURST_LEN[8:0];
localparam [2:0] AXI_SIZE = OFF_W[2:0];
// the data client's credit check, wide enough for a burst and the space
localparam CRED_W = (SPACE_WIDTH + 2 > 10) ? SPACE_WIDTH + 2 : 10;
// a data burst is issued only with this many spare FIFO entries besides its
// own beats: the packer's residual beat, and the consumer's count lagging a
// cycle behind its input and another in the registered credit
localparam [CRED_W-1:0] SPACE_MARGIN = 3;

localparam [1:0]
    CLIENT_RING = 2'd0,
    CLIENT_DATA = 2'd1,
    CLIENT_IRQ = 2'd2;
// data bursts leave a slot for ring reads, ring reads one for interrupt reads
localparam [OUTS_W-1:0] OUTS_RING_MAX = (MAX_OUTSTANDING > 1) ? OUTS_MAX - 1'b1 : OUTS_MAX;
localparam [OUTS_W-1:0] OUTS_DATA_MAX = (MAX_OUTSTANDING > 2) ? OUTS_RING_MAX - 1'b1 : OUTS_RING_MAX;

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
end

// AR side: the request each client is splitting into bursts
reg ring_active_reg, ring_active_next;
reg [AXI_ADDR_WIDTH-1:0] ring_ar_addr_reg, ring_ar_addr_next;
reg [16:0] ring_ar_beats_reg, ring_ar_beats_next;
reg data_active_reg, data_active_next;
reg [AXI_ADDR_WIDTH-1:0] data_ar_addr_reg, data_ar_addr_next;
reg [32:0] data_ar_beats_reg, data_ar_beats_next;
reg [OUTS_W-1:0] outstanding_reg;
// data beats asked for and not yet received (the consumer FIFO must hold them,
// so they never exceed its space)
reg [SPACE_WIDTH:0] data_pending_reg;
// each client's next burst, computed a cycle ahead from its registered address
// and beats (the 4 KiB and length clipping stays off the issue path); fresh
// while neither has changed since
reg [8:0] ring_burst_reg, data_burst_reg;
reg ring_fresh_reg, ring_fresh_next, data_fresh_reg, data_fresh_next;

reg [AXI_ADDR_WIDTH-1:0] m_axi_araddr_reg, m_axi_araddr_next;
reg [7:0] m_axi_arlen_reg, m_axi_arlen_next;
reg m_axi_arvalid_reg, m_axi_arvalid_next;

// bursts in flight: the client of each, in issue order
reg [1:0] burst_client [0:QD-1];
// an interrupt read's byte offset in its bus word
reg [OFF_W-1:0] burst_off [0:QD-1];
reg [QD_W:0] burst_wr_reg, burst_rd_reg;
// the head burst's client and offset in registers: the R path (and the
// interrupt decision after it) starts from them, not from a RAM read. A burst
// pushed into an empty FIFO is read into them the cycle after: its first R
// beat comes two edges after the push at the earliest (the AR register, then
// the AR handshake)
reg [1:0] head_client_reg;
reg [OFF_W-1:0] head_off_reg;

// requests in flight per client, in issue order: {offset, length, tag/last}
// (a request's first beat is split when it is taken, off the R path: the
// bytes it carries, whether it is the last, what is left after it and
// whether that fits one beat)
reg [OFF_W-1:0] ring_q_off [0:QD-1];
reg [CNT_W-1:0] ring_q_first_n [0:QD-1];
reg ring_q_first_end [0:QD-1];
reg [15:0] ring_q_rest [0:QD-1];
reg ring_q_rest_small [0:QD-1];
reg [TAG_WIDTH-1:0] ring_q_tag [0:QD-1];
reg [QD_W:0] ring_q_wr_reg, ring_q_rd_reg;
reg [OFF_W-1:0] data_q_off [0:QD-1];
reg [CNT_W-1:0] data_q_first_n [0:QD-1];
reg data_q_first_end [0:QD-1];
reg [31:0] data_q_rest [0:QD-1];
reg data_q_rest_small [0:QD-1];
reg data_q_last [0:QD-1];
reg [QD_W:0] data_q_wr_reg, data_q_rd_reg;

// R side, ring client: the request being received
reg ring_cur_reg, ring_cur_next;
reg [15:0] ring_left_reg, ring_left_next;
// the bytes left fit in one beat
reg ring_small_reg, ring_small_next;
reg [TAG_WIDTH-1:0] ring_tag_reg, ring_tag_next;
reg ring_err_reg, ring_err_next;
reg [AXI_DATA_WIDTH-1:0] ring_acc_reg, ring_acc_next;
reg [CNT_W-1:0] ring_acc_cnt_reg, ring_acc_cnt_next;
reg ring_rem_reg, ring_rem_next;

// R side, data client
reg data_cur_reg, data_cur_next;
reg [31:0] data_left_reg, data_left_next;
reg data_small_reg, data_small_next;
reg data_last_reg, data_last_next;
reg data_drop_reg, data_drop_next;
reg [AXI_DATA_WIDTH-1:0] data_acc_reg, data_acc_next;
reg [CNT_W-1:0] data_acc_cnt_reg, data_acc_cnt_next;
reg data_rem_reg, data_rem_next;
// RREADY is a register: every R decision starts from one flip-flop
reg rready_reg, rready_next;

// outputs
reg [AXI_DATA_WIDTH-1:0] ring_rsp_data_reg, ring_rsp_data_next;
reg [AXI_STRB_WIDTH-1:0] ring_rsp_keep_reg, ring_rsp_keep_next;
reg ring_rsp_last_reg, ring_rsp_last_next;
reg ring_rsp_err_reg, ring_rsp_err_next;
reg [TAG_WIDTH-1:0] ring_rsp_tag_reg, ring_rsp_tag_next;
reg ring_rsp_valid_reg, ring_rsp_valid_next;
reg [AXI_DATA_WIDTH-1:0] data_out_data_reg, data_out_data_next;
reg [AXI_STRB_WIDTH-1:0] data_out_keep_reg, data_out_keep_next;
reg data_out_last_reg, data_out_last_next;
reg data_out_err_reg, data_out_err_next;
reg data_out_valid_reg, data_out_valid_next;

// scratch
reg ring_req_take, data_req_take;
reg issue_ring, issue_data, issue_irq;
reg [8:0] ring_burst, data_burst;
reg [12:0] ring_4k, data_4k;
reg [32:0] ring_beats;
reg burst_push, burst_pop;
reg ring_q_pop, data_q_pop;
reg [1:0] beat_client;
reg [OFF_W-1:0] b_off;
reg [CNT_W-1:0] n_bytes;
reg [AXI_DATA_WIDTH-1:0] beat_bytes;
reg [2*AXI_DATA_WIDTH-1:0] pack;
reg [CNT_W:0] total;
reg b_end;

wire [CRED_W-1:0] credit_burst = {{(CRED_W-9){1'b0}}, data_burst_reg};
// the data client's spare credit: last cycle's data_space - data_pending_reg
// - SPACE_MARGIN (two's complement, CRED_W+1 bits), kept in a register: the
// issue check is then one compare, not a sum and a compare. Its next value is
// worked out both ways from registers and the issue decision picks.
reg [CRED_W:0] credit_slack_reg;
wire credit_ok = !credit_slack_reg[CRED_W] && credit_slack_reg[CRED_W-1:0] >= credit_burst;
wire data_beat_in = m_axi_rvalid && rready_reg && head_client == CLIENT_DATA;
wire [CRED_W:0] slack_kept = {{(CRED_W+1-SPACE_WIDTH){1'b0}}, data_space}
    - {{(CRED_W-SPACE_WIDTH){1'b0}}, data_pending_reg} + {{CRED_W{1'b0}}, data_beat_in}
    - {1'b0, SPACE_MARGIN};
wire [CRED_W:0] slack_issued = slack_kept - {1'b0, credit_burst};
// the data beats asked for and not yet received, worked out both ways too
wire [SPACE_WIDTH:0] pending_kept = data_pending_reg - {{SPACE_WIDTH{1'b0}}, data_beat_in};
wire [SPACE_WIDTH:0] pending_issued = pending_kept + credit_burst[SPACE_WIDTH:0];
wire ring_q_empty = ring_q_wr_reg == ring_q_rd_reg;
wire data_q_empty = data_q_wr_reg == data_q_rd_reg;
wire burst_empty = burst_wr_reg == burst_rd_reg;
wire burst_one = burst_rd_reg + 1'b1 == burst_wr_reg;
wire [1:0] head_client = head_client_reg;
wire ar_free = !flush && (!m_axi_arvalid_reg || m_axi_arready) && outstanding_reg < OUTS_MAX;
// an interrupt-decision read goes straight to AR when nothing else issues
// (its latency is the interrupt's); otherwise it is held, and the held read
// issues before ring and data reads
reg irq_hold_reg, irq_hold_next;
reg [AXI_ADDR_WIDTH-1:0] irq_hold_addr_reg;
wire [AXI_ADDR_WIDTH-1:0] irq_addr = irq_hold_reg ? irq_hold_addr_reg : irq_req_addr;
assign irq_req_ready = !irq_hold_reg;
assign irq_rsp_valid = m_axi_rvalid && m_axi_rready && head_client == CLIENT_IRQ && !flush;
wire [OFF_W-1:0] head_off = head_off_reg;
// the head after this cycle's pop
wire [QD_W:0] head_next_ptr = burst_rd_reg + {{QD_W{1'b0}}, burst_pop};
wire [QD_W-1:0] head_next_i = head_next_ptr[QD_W-1:0];
wire [1:0] push_client = issue_irq ? CLIENT_IRQ : issue_data ? CLIENT_DATA : CLIENT_RING;
wire [AXI_DATA_WIDTH-1:0] irq_shifted = m_axi_rdata >> {head_off, 3'b000};
assign irq_rsp_data = irq_shifted[15:0];
assign irq_rsp_err = m_axi_rresp[1];
// each request queue's head entry, in registers: the R beat's packing starts
// from flip-flops, not from a LUT RAM read behind the read pointer. They are
// loaded every cycle from the slot that is the head after this cycle's pop:
// both slots (at the read pointer and the one after it) are read side by side
// and the pop picks one. A slot written this cycle is read one cycle late, and
// after a flush the queue is empty; no R beat sees either: a request's first
// beat comes at least two cycles after it is taken (AR is issued from a
// register, and R follows the AR handshake).
reg [OFF_W-1:0] ring_h_off;
reg [CNT_W-1:0] ring_h_first_n;
reg ring_h_first_end;
reg [15:0] ring_h_rest;
reg ring_h_rest_small;
reg [TAG_WIDTH-1:0] ring_h_tag;
reg [OFF_W-1:0] data_h_off;
reg [CNT_W-1:0] data_h_first_n;
reg data_h_first_end;
reg [31:0] data_h_rest;
reg data_h_rest_small;
reg data_h_last;

// (the read pointer plus one is a register too: a pop picks the next head's
// slot instead of adding behind the R decision)
reg [QD_W:0] ring_q_rd1_reg, data_q_rd1_reg;
wire ring_q_adv = ring_q_pop && !ring_q_empty;
wire data_q_adv = data_q_pop && !data_q_empty;
wire [QD_W:0] ring_q_rd_next = flush ? ring_q_wr_reg : ring_q_adv ? ring_q_rd1_reg : ring_q_rd_reg;
wire [QD_W:0] data_q_rd_next = flush ? data_q_wr_reg : data_q_adv ? data_q_rd1_reg : data_q_rd_reg;
wire [QD_W:0] ring_q_rd1_next = flush ? ring_q_wr_reg + 1'b1 : ring_q_adv ? ring_q_rd1_reg + 1'b1 : ring_q_rd1_reg;
wire [QD_W:0] data_q_rd1_next = flush ? data_q_wr_reg + 1'b1 : data_q_adv ? data_q_rd1_reg + 1'b1 : data_q_rd1_reg;
wire [QD_W-1:0] ring_q_rd_i = ring_q_rd_reg[QD_W-1:0];
wire [QD_W-1:0] ring_q_rd1_i = ring_q_rd1_reg[QD_W-1:0];
wire [QD_W-1:0] data_q_rd_i = data_q_rd_reg[QD_W-1:0];
wire [QD_W-1:0] data_q_rd1_i = data_q_rd1_reg[QD_W-1:0];

// a request's first beat, split as it is taken
wire [CNT_W-1:0] ring_room = LANES - {1'b0, ring_req_addr[OFF_W-1:0]};
wire ring_first_end = {1'b0, ring_req_len} <= {{(17-CNT_W){1'b0}}, ring_room};
wire [CNT_W-1:0] ring_first_n = ring_first_end ? ring_req_len[CNT_W-1:0] : ring_room;
wire [15:0] ring_rest = ring_first_end ? 16'd0 : ring_req_len - {{(16-CNT_W){1'b0}}, ring_room};
wire ring_rest_small = {1'b0, ring_req_len} <= {{(17-CNT_W){1'b0}}, ring_room} + {{(17-CNT_W){1'b0}}, LANES};
wire [CNT_W-1:0] data_room = LANES - {1'b0, data_req_addr[OFF_W-1:0]};
wire data_first_end = {1'b0, data_req_len} <= {{(33-CNT_W){1'b0}}, data_room};
wire [CNT_W-1:0] data_first_n = data_first_end ? data_req_len[CNT_W-1:0] : data_room;
wire [31:0] data_rest = data_first_end ? 32'd0 : data_req_len - {{(32-CNT_W){1'b0}}, data_room};
wire data_rest_small = {1'b0, data_req_len} <= {{(33-CNT_W){1'b0}}, data_room} + {{(33-CNT_W){1'b0}}, LANES};

assign ring_req_ready = flush || !ring_active_reg;
assign data_req_ready = flush || !data_active_reg;

assign ring_rsp_data = ring_rsp_data_reg;
assign ring_rsp_keep = ring_rsp_keep_reg;
assign ring_rsp_last = ring_rsp_last_reg;
assign ring_rsp_err = ring_rsp_err_reg;
assign ring_rsp_tag = ring_rsp_tag_reg;
assign ring_rsp_valid = ring_rsp_valid_reg;
assign data_out_data = data_out_data_reg;
assign data_out_keep = data_out_keep_reg;
assign data_out_last = data_out_last_reg;
assign data_out_err = data_out_err_reg;
assign data_out_valid = data_out_valid_reg;

assign busy = ring_active_reg || data_active_reg || irq_hold_reg || m_axi_arvalid_reg || outstanding_reg != 0
    || ring_rem_reg || data_rem_reg;

assign m_axi_arid = {AXI_ID_WIDTH{1'b0}};
assign m_axi_araddr = m_axi_araddr_reg;
assign m_axi_arlen = m_axi_arlen_reg;
assign m_axi_arsize = AXI_SIZE;
assign m_axi_arburst = 2'b01;
assign m_axi_arlock = 1'b0;
assign m_axi_arcache = 4'b0011;
assign m_axi_arprot = 3'b010;
assign m_axi_arvalid = m_axi_arvalid_reg;
assign m_axi_rready = rready_reg;

// R beat IDs are not checked: every burst uses ID 0
wire unused_ok = &{1'b0, head_next_ptr[QD_W], m_axi_rid, m_axi_rresp[0], m_axi_rlast, ring_beats[32:17], irq_shifted};

// a burst's length: the least of BURST_MAX, the beats to the 4 KiB boundary
// and the beats left, its three compares side by side (not one after the other)
function [8:0] burst_of(input [12:0] to_4k, input [32:0] left);
    reg room_short, left_short, left_in_room;
    begin
        room_short = to_4k < {4'd0, BURST_MAX};
        left_short = left < {24'd0, BURST_MAX};
        left_in_room = left < {20'd0, to_4k};
        burst_of = room_short ? (left_in_room ? left[8:0] : to_4k[8:0])
            : (left_short ? left[8:0] : BURST_MAX);
    end
endfunction

// beats of a request: from its word-aligned start to its last byte
function [32:0] beats_of;
    input [OFF_W-1:0] off;
    input [31:0] len;
    begin
        beats_of = ({1'b0, len} + {{(33-OFF_W){1'b0}}, off} + {{(33-CNT_W){1'b0}}, LANES} - 33'd1) >> OFF_W;
    end
endfunction

always @* begin
    ring_active_next = ring_active_reg;
    ring_ar_addr_next = ring_ar_addr_reg;
    ring_ar_beats_next = ring_ar_beats_reg;
    data_active_next = data_active_reg;
    data_ar_addr_next = data_ar_addr_reg;
    data_ar_beats_next = data_ar_beats_reg;

    m_axi_araddr_next = m_axi_araddr_reg;
    m_axi_arlen_next = m_axi_arlen_reg;
    m_axi_arvalid_next = m_axi_arvalid_reg && !m_axi_arready;

    ring_cur_next = ring_cur_reg;
    ring_small_next = ring_small_reg;
    ring_left_next = ring_left_reg;
    ring_tag_next = ring_tag_reg;
    ring_err_next = ring_err_reg;
    ring_acc_next = ring_acc_reg;
    ring_acc_cnt_next = ring_acc_cnt_reg;
    ring_rem_next = ring_rem_reg;

    data_cur_next = data_cur_reg;
    data_small_next = data_small_reg;
    data_left_next = data_left_reg;
    data_last_next = data_last_reg;
    data_drop_next = data_drop_reg;
    data_acc_next = data_acc_reg;
    data_acc_cnt_next = data_acc_cnt_reg;
    data_rem_next = data_rem_reg;

    ring_rsp_data_next = ring_rsp_data_reg;
    ring_rsp_keep_next = ring_rsp_keep_reg;
    ring_rsp_last_next = 1'b0;
    ring_rsp_err_next = 1'b0;
    ring_rsp_tag_next = ring_rsp_tag_reg;
    ring_rsp_valid_next = 1'b0;
    data_out_data_next = data_out_data_reg;
    data_out_keep_next = data_out_keep_reg;
    data_out_last_next = 1'b0;
    data_out_err_next = 1'b0;
    data_out_valid_next = 1'b0;

    burst_push = 1'b0;
    burst_pop = 1'b0;
    ring_q_pop = 1'b0;
    data_q_pop = 1'b0;
    beat_client = head_client;
    b_off = {OFF_W{1'b0}};
    n_bytes = {CNT_W{1'b0}};
    beat_bytes = {AXI_DATA_WIDTH{1'b0}};
    pack = {2*AXI_DATA_WIDTH{1'b0}};
    total = {(CNT_W+1){1'b0}};
    b_end = 1'b0;

    // new requests: splitting starts next cycle
    ring_beats = 33'd0;
    ring_req_take = ring_req_valid && ring_req_ready && !flush;
    data_req_take = data_req_valid && data_req_ready && !flush;
    if (ring_req_take) begin
        ring_active_next = 1'b1;
        ring_ar_addr_next = {ring_req_addr[AXI_ADDR_WIDTH-1:OFF_W], {OFF_W{1'b0}}};
        ring_beats = beats_of(ring_req_addr[OFF_W-1:0], {16'd0, ring_req_len});
        ring_ar_beats_next = ring_beats[16:0];
    end
    if (data_req_take) begin
        data_active_next = 1'b1;
        data_ar_addr_next = {data_req_addr[AXI_ADDR_WIDTH-1:OFF_W], {OFF_W{1'b0}}};
        data_ar_beats_next = beats_of(data_req_addr[OFF_W-1:0], data_req_len);
    end

    // AR: the next burst, ring first; data only while its beats fit the consumer
    ring_4k = (13'h1000 - {1'b0, ring_ar_addr_reg[11:0]}) >> OFF_W;
    ring_burst = burst_of(ring_4k, {16'd0, ring_ar_beats_reg});
    data_4k = (13'h1000 - {1'b0, data_ar_addr_reg[11:0]}) >> OFF_W;
    data_burst = burst_of(data_4k, data_ar_beats_reg);

    issue_ring = 1'b0;
    issue_data = 1'b0;
    issue_irq = 1'b0;
    if (ar_free) begin
        if (irq_hold_reg) begin
            issue_irq = 1'b1;
        end else if (ring_active_reg && ring_fresh_reg && outstanding_reg < OUTS_RING_MAX) begin
            issue_ring = 1'b1;
        end else if (data_active_reg && data_fresh_reg && outstanding_reg < OUTS_DATA_MAX
                && credit_ok) begin
            issue_data = 1'b1;
        end else if (irq_req_valid) begin
            issue_irq = 1'b1;
        end
    end

    if (issue_ring) begin
        m_axi_araddr_next = ring_ar_addr_reg;
        m_axi_arlen_next = ring_burst_reg[7:0] - 8'd1;
        m_axi_arvalid_next = 1'b1;
        ring_ar_addr_next = ring_ar_addr_reg + {{(AXI_ADDR_WIDTH-9-OFF_W){1'b0}}, ring_burst_reg, {OFF_W{1'b0}}};
        ring_ar_beats_next = ring_ar_beats_reg - {8'd0, ring_burst_reg};
        ring_active_next = ring_ar_beats_reg != {8'd0, ring_burst_reg};
        burst_push = 1'b1;
    end
    if (issue_data) begin
        m_axi_araddr_next = data_ar_addr_reg;
        m_axi_arlen_next = data_burst_reg[7:0] - 8'd1;
        m_axi_arvalid_next = 1'b1;
        data_ar_addr_next = data_ar_addr_reg + {{(AXI_ADDR_WIDTH-9-OFF_W){1'b0}}, data_burst_reg, {OFF_W{1'b0}}};
        data_ar_beats_next = data_ar_beats_reg - {24'd0, data_burst_reg};
        data_active_next = data_ar_beats_reg != {24'd0, data_burst_reg};
        burst_push = 1'b1;
    end
    // (last: a direct interrupt read is decided late in the cycle, so it only
    // selects between values worked out from registers)
    if (issue_irq) begin
        m_axi_araddr_next = {irq_addr[AXI_ADDR_WIDTH-1:OFF_W], {OFF_W{1'b0}}};
        m_axi_arlen_next = 8'd0;
        m_axi_arvalid_next = 1'b1;
        burst_push = 1'b1;
    end

    irq_hold_next = irq_hold_reg ? !issue_irq : irq_req_valid && !issue_irq;

    ring_fresh_next = ring_active_reg && !ring_req_take && !issue_ring && !flush;
    data_fresh_next = data_active_reg && !data_req_take && !issue_data && !flush;

    // R: every beat is taken (its client has room; rready_reg), except in the
    // cycle a packer sends the rest of a packet that did not fit the beat before
    if (m_axi_rvalid && rready_reg) begin
        if (m_axi_rlast) begin
            burst_pop = 1'b1;
        end

        if (flush || beat_client == CLIENT_IRQ) begin
            // dropped, or the interrupt read's value (irq_rsp_*, above)
        end else if (beat_client == CLIENT_RING) begin
            if (ring_cur_reg) begin
                // a later beat: from lane 0, a whole beat or what is left
                n_bytes = ring_small_reg ? ring_left_reg[CNT_W-1:0] : LANES;
                b_end = ring_small_reg;
                ring_left_next = ring_left_reg - {{(16-CNT_W){1'b0}}, LANES};
                ring_small_next = ring_left_reg <= {{(15-CNT_W){1'b0}}, LANES, 1'b0};
            end else begin
                b_off = ring_h_off;
                n_bytes = ring_h_first_n;
                b_end = ring_h_first_end;
                ring_left_next = ring_h_rest;
                ring_small_next = ring_h_rest_small;
                ring_tag_next = ring_h_tag;
                ring_err_next = 1'b0;
            end
            beat_bytes = (m_axi_rdata >> {b_off, 3'b000}) & ~({AXI_DATA_WIDTH{1'b1}} << {n_bytes, 3'b000});
            pack = {{AXI_DATA_WIDTH{1'b0}}, ring_acc_reg} | ({{AXI_DATA_WIDTH{1'b0}}, beat_bytes} << {ring_acc_cnt_reg, 3'b000});
            total = {1'b0, ring_acc_cnt_reg} + {1'b0, n_bytes};
            ring_err_next = (ring_cur_reg ? ring_err_reg : 1'b0) || m_axi_rresp[1];
            ring_cur_next = !b_end;
            if (b_end) begin
                ring_q_pop = 1'b1;
            end
            ring_rsp_tag_next = ring_cur_reg ? ring_tag_reg : ring_h_tag;
            if (total >= {1'b0, LANES}) begin
                ring_rsp_data_next = pack[AXI_DATA_WIDTH-1:0];
                ring_rsp_keep_next = {AXI_STRB_WIDTH{1'b1}};
                ring_rsp_last_next = b_end && total == {1'b0, LANES};
                ring_rsp_err_next = ring_err_next;
                ring_rsp_valid_next = 1'b1;
                ring_acc_next = pack[2*AXI_DATA_WIDTH-1:AXI_DATA_WIDTH];
                ring_acc_cnt_next = total[CNT_W-1:0] - LANES;
                ring_rem_next = b_end && total != {1'b0, LANES};
            end else if (b_end) begin
                ring_rsp_data_next = pack[AXI_DATA_WIDTH-1:0];
                ring_rsp_keep_next = ~({AXI_STRB_WIDTH{1'b1}} << total[CNT_W-1:0]);
                ring_rsp_last_next = 1'b1;
                ring_rsp_err_next = ring_err_next;
                ring_rsp_valid_next = 1'b1;
                ring_acc_next = {AXI_DATA_WIDTH{1'b0}};
                ring_acc_cnt_next = {CNT_W{1'b0}};
            end else begin
                ring_acc_next = pack[AXI_DATA_WIDTH-1:0];
                ring_acc_cnt_next = total[CNT_W-1:0];
            end
        end else begin
            if (data_cur_reg) begin
                n_bytes = data_small_reg ? data_left_reg[CNT_W-1:0] : LANES;
                b_end = data_small_reg;
                data_left_next = data_left_reg - {{(32-CNT_W){1'b0}}, LANES};
                data_small_next = data_left_reg <= {{(31-CNT_W){1'b0}}, LANES, 1'b0};
            end else begin
                b_off = data_h_off;
                n_bytes = data_h_first_n;
                b_end = data_h_first_end;
                data_left_next = data_h_rest;
                data_small_next = data_h_rest_small;
                data_last_next = data_h_last;
            end
            beat_bytes = (m_axi_rdata >> {b_off, 3'b000}) & ~({AXI_DATA_WIDTH{1'b1}} << {n_bytes, 3'b000});
            pack = {{AXI_DATA_WIDTH{1'b0}}, data_acc_reg} | ({{AXI_DATA_WIDTH{1'b0}}, beat_bytes} << {data_acc_cnt_reg, 3'b000});
            total = {1'b0, data_acc_cnt_reg} + {1'b0, n_bytes};
            data_cur_next = !b_end;
            if (b_end) begin
                data_q_pop = 1'b1;
                // the packet ends with this request: the next one starts a new packet
                b_end = data_cur_reg ? data_last_reg : data_h_last;
                if (b_end) begin
                    data_drop_next = 1'b0;
                end
            end
            if (data_drop_reg) begin
                // the rest of a packet cut short by an error
            end else if (m_axi_rresp[1]) begin
                // SLVERR or DECERR: the packet ends here with an error beat
                data_out_data_next = {AXI_DATA_WIDTH{1'b0}};
                data_out_keep_next = {AXI_STRB_WIDTH{1'b0}};
                data_out_last_next = 1'b1;
                data_out_err_next = 1'b1;
                data_out_valid_next = 1'b1;
                data_acc_next = {AXI_DATA_WIDTH{1'b0}};
                data_acc_cnt_next = {CNT_W{1'b0}};
                data_drop_next = !b_end;
            end else if (total >= {1'b0, LANES}) begin
                data_out_data_next = pack[AXI_DATA_WIDTH-1:0];
                data_out_keep_next = {AXI_STRB_WIDTH{1'b1}};
                data_out_last_next = b_end && total == {1'b0, LANES};
                data_out_valid_next = 1'b1;
                data_acc_next = pack[2*AXI_DATA_WIDTH-1:AXI_DATA_WIDTH];
                data_acc_cnt_next = total[CNT_W-1:0] - LANES;
                data_rem_next = b_end && total != {1'b0, LANES};
            end else if (b_end) begin
                data_out_data_next = pack[AXI_DATA_WIDTH-1:0];
                data_out_keep_next = ~({AXI_STRB_WIDTH{1'b1}} << total[CNT_W-1:0]);
                data_out_last_next = 1'b1;
                data_out_valid_next = 1'b1;
                data_acc_next = {AXI_DATA_WIDTH{1'b0}};
                data_acc_cnt_next = {CNT_W{1'b0}};
            end else begin
                data_acc_next = pack[AXI_DATA_WIDTH-1:0];
                data_acc_cnt_next = total[CNT_W-1:0];
            end
        end
    end

    // the end of a packet that did not fit into the beat that filled up
    if (ring_rem_reg) begin
        ring_rsp_data_next = ring_acc_reg;
        ring_rsp_keep_next = ~({AXI_STRB_WIDTH{1'b1}} << ring_acc_cnt_reg);
        ring_rsp_last_next = 1'b1;
        ring_rsp_err_next = ring_err_reg;
        ring_rsp_valid_next = !flush;
        ring_acc_next = {AXI_DATA_WIDTH{1'b0}};
        ring_acc_cnt_next = {CNT_W{1'b0}};
        ring_rem_next = 1'b0;
    end
    if (data_rem_reg) begin
        data_out_data_next = data_acc_reg;
        data_out_keep_next = ~({AXI_STRB_WIDTH{1'b1}} << data_acc_cnt_reg);
        data_out_last_next = 1'b1;
        data_out_valid_next = !flush;
        data_acc_next = {AXI_DATA_WIDTH{1'b0}};
        data_acc_cnt_next = {CNT_W{1'b0}};
        data_rem_next = 1'b0;
    end

    if (flush) begin
        ring_active_next = 1'b0;
        data_active_next = 1'b0;
        irq_hold_next = 1'b0;
        ring_cur_next = 1'b0;
        data_cur_next = 1'b0;
        data_drop_next = 1'b0;
        ring_acc_cnt_next = {CNT_W{1'b0}};
        data_acc_cnt_next = {CNT_W{1'b0}};
        ring_acc_next = {AXI_DATA_WIDTH{1'b0}};
        data_acc_next = {AXI_DATA_WIDTH{1'b0}};
        ring_rsp_valid_next = 1'b0;
        data_out_valid_next = 1'b0;
    end

    rready_next = !ring_rem_next && !data_rem_next
        && (burst_push || (burst_pop ? !burst_one : !burst_empty));
end

always @(posedge clk) begin
    ring_active_reg <= ring_active_next;
    ring_ar_addr_reg <= ring_ar_addr_next;
    ring_ar_beats_reg <= ring_ar_beats_next;
    data_active_reg <= data_active_next;
    data_ar_addr_reg <= data_ar_addr_next;
    data_ar_beats_reg <= data_ar_beats_next;
    // (both sums from registers: the issue decision, late in the cycle, picks)
    if (burst_push && !burst_pop) begin
        outstanding_reg <= outstanding_reg + 1'b1;
    end else if (burst_pop && !burst_push) begin
        outstanding_reg <= outstanding_reg - 1'b1;
    end
    data_pending_reg <= issue_data ? pending_issued : pending_kept;
    credit_slack_reg <= issue_data ? slack_issued : slack_kept;
    irq_hold_reg <= irq_hold_next;
    if (!irq_hold_reg) begin
        irq_hold_addr_reg <= irq_req_addr;
    end
    ring_burst_reg <= ring_burst;
    data_burst_reg <= data_burst;
    ring_fresh_reg <= ring_fresh_next;
    data_fresh_reg <= data_fresh_next;

    m_axi_araddr_reg <= m_axi_araddr_next;
    m_axi_arlen_reg <= m_axi_arlen_next;
    m_axi_arvalid_reg <= m_axi_arvalid_next;

    ring_cur_reg <= ring_cur_next;
    ring_small_reg <= ring_small_next;
    ring_left_reg <= ring_left_next;
    ring_tag_reg <= ring_tag_next;
    ring_err_reg <= ring_err_next;
    ring_acc_reg <= ring_acc_next;
    ring_acc_cnt_reg <= ring_acc_cnt_next;
    ring_rem_reg <= ring_rem_next;
    rready_reg <= rready_next;

    data_cur_reg <= data_cur_next;
    data_small_reg <= data_small_next;
    data_left_reg <= data_left_next;
    data_last_reg <= data_last_next;
    data_drop_reg <= data_drop_next;
    data_acc_reg <= data_acc_next;
    data_acc_cnt_reg <= data_acc_cnt_next;
    data_rem_reg <= data_rem_next;

    ring_rsp_data_reg <= ring_rsp_data_next;
    ring_rsp_keep_reg <= ring_rsp_keep_next;
    ring_rsp_last_reg <= ring_rsp_last_next;
    ring_rsp_err_reg <= ring_rsp_err_next;
    ring_rsp_tag_reg <= ring_rsp_tag_next;
    ring_rsp_valid_reg <= ring_rsp_valid_next;
    data_out_data_reg <= data_out_data_next;
    data_out_keep_reg <= data_out_keep_next;
    data_out_last_reg <= data_out_last_next;
    data_out_err_reg <= data_out_err_next;
    data_out_valid_reg <= data_out_valid_next;

    // bursts in flight
    head_client_reg <= burst_client[head_next_i];
    head_off_reg <= burst_off[head_next_i];
    if (burst_push) begin
        burst_client[burst_wr_reg[QD_W-1:0]] <= push_client;
        burst_off[burst_wr_reg[QD_W-1:0]] <= irq_addr[OFF_W-1:0];
        burst_wr_reg <= burst_wr_reg + 1'b1;
    end
    if (burst_pop) begin
        burst_rd_reg <= burst_rd_reg + 1'b1;
    end


    // requests in flight
    if (ring_req_take) begin
        ring_q_off[ring_q_wr_reg[QD_W-1:0]] <= ring_req_addr[OFF_W-1:0];
        ring_q_first_n[ring_q_wr_reg[QD_W-1:0]] <= ring_first_n;
        ring_q_first_end[ring_q_wr_reg[QD_W-1:0]] <= ring_first_end;
        ring_q_rest[ring_q_wr_reg[QD_W-1:0]] <= ring_rest;
        ring_q_rest_small[ring_q_wr_reg[QD_W-1:0]] <= ring_rest_small;
        ring_q_tag[ring_q_wr_reg[QD_W-1:0]] <= ring_req_tag;
        ring_q_wr_reg <= ring_q_wr_reg + 1'b1;
    end
    ring_q_rd_reg <= ring_q_rd_next;
    ring_q_rd1_reg <= ring_q_rd1_next;
    ring_h_off <= ring_q_adv ? ring_q_off[ring_q_rd1_i] : ring_q_off[ring_q_rd_i];
    ring_h_first_n <= ring_q_adv ? ring_q_first_n[ring_q_rd1_i] : ring_q_first_n[ring_q_rd_i];
    ring_h_first_end <= ring_q_adv ? ring_q_first_end[ring_q_rd1_i] : ring_q_first_end[ring_q_rd_i];
    ring_h_rest <= ring_q_adv ? ring_q_rest[ring_q_rd1_i] : ring_q_rest[ring_q_rd_i];
    ring_h_rest_small <= ring_q_adv ? ring_q_rest_small[ring_q_rd1_i] : ring_q_rest_small[ring_q_rd_i];
    ring_h_tag <= ring_q_adv ? ring_q_tag[ring_q_rd1_i] : ring_q_tag[ring_q_rd_i];
    if (data_req_take) begin
        data_q_off[data_q_wr_reg[QD_W-1:0]] <= data_req_addr[OFF_W-1:0];
        data_q_first_n[data_q_wr_reg[QD_W-1:0]] <= data_first_n;
        data_q_first_end[data_q_wr_reg[QD_W-1:0]] <= data_first_end;
        data_q_rest[data_q_wr_reg[QD_W-1:0]] <= data_rest;
        data_q_rest_small[data_q_wr_reg[QD_W-1:0]] <= data_rest_small;
        data_q_last[data_q_wr_reg[QD_W-1:0]] <= data_req_last;
        data_q_wr_reg <= data_q_wr_reg + 1'b1;
    end
    data_q_rd_reg <= data_q_rd_next;
    data_q_rd1_reg <= data_q_rd1_next;
    data_h_off <= data_q_adv ? data_q_off[data_q_rd1_i] : data_q_off[data_q_rd_i];
    data_h_first_n <= data_q_adv ? data_q_first_n[data_q_rd1_i] : data_q_first_n[data_q_rd_i];
    data_h_first_end <= data_q_adv ? data_q_first_end[data_q_rd1_i] : data_q_first_end[data_q_rd_i];
    data_h_rest <= data_q_adv ? data_q_rest[data_q_rd1_i] : data_q_rest[data_q_rd_i];
    data_h_rest_small <= data_q_adv ? data_q_rest_small[data_q_rd1_i] : data_q_rest_small[data_q_rd_i];
    data_h_last <= data_q_adv ? data_q_last[data_q_rd1_i] : data_q_last[data_q_rd_i];

    if (rst) begin
        ring_active_reg <= 1'b0;
        data_active_reg <= 1'b0;
        outstanding_reg <= {OUTS_W{1'b0}};
        data_pending_reg <= {(SPACE_WIDTH+1){1'b0}};
        credit_slack_reg <= {(CRED_W+1){1'b0}} - {1'b0, SPACE_MARGIN};
        irq_hold_reg <= 1'b0;
        ring_fresh_reg <= 1'b0;
        data_fresh_reg <= 1'b0;
        m_axi_arvalid_reg <= 1'b0;
        ring_cur_reg <= 1'b0;
        ring_acc_reg <= {AXI_DATA_WIDTH{1'b0}};
        ring_acc_cnt_reg <= {CNT_W{1'b0}};
        ring_rem_reg <= 1'b0;
        data_cur_reg <= 1'b0;
        data_drop_reg <= 1'b0;
        data_acc_reg <= {AXI_DATA_WIDTH{1'b0}};
        data_acc_cnt_reg <= {CNT_W{1'b0}};
        data_rem_reg <= 1'b0;
        ring_rsp_valid_reg <= 1'b0;
        data_out_valid_reg <= 1'b0;
        burst_wr_reg <= {(QD_W+1){1'b0}};
        burst_rd_reg <= {(QD_W+1){1'b0}};
        rready_reg <= 1'b0;
        ring_q_wr_reg <= {(QD_W+1){1'b0}};
        ring_q_rd_reg <= {(QD_W+1){1'b0}};
        ring_q_rd1_reg <= {{QD_W{1'b0}}, 1'b1};
        data_q_wr_reg <= {(QD_W+1){1'b0}};
        data_q_rd_reg <= {(QD_W+1){1'b0}};
        data_q_rd1_reg <= {{QD_W{1'b0}}, 1'b1};
    end
end

`ifdef FORMAL
wire [QD_W-1:0] ring_q_head = ring_q_rd_reg[QD_W-1:0];
wire [QD_W-1:0] data_q_head = data_q_rd_reg[QD_W-1:0];
// the registered credit is the sum it replaces
reg [SPACE_WIDTH-1:0] f_space_reg;
always @(posedge clk) begin
    f_space_reg <= rst ? {SPACE_WIDTH{1'b0}} : data_space;
end
always @* begin
    if (!rst) begin
        inv_rd_credit_slack: assert(credit_slack_reg == {{(CRED_W+1-SPACE_WIDTH){1'b0}}, f_space_reg}
            - {{(CRED_W-SPACE_WIDTH){1'b0}}, data_pending_reg} - {1'b0, SPACE_MARGIN});
        inv_rd_rready: assert(rready_reg == (!ring_rem_reg && !data_rem_reg && !burst_empty));
        inv_rd_q_rd1: assert(ring_q_rd1_reg == ring_q_rd_reg + 1'b1 && data_q_rd1_reg == data_q_rd_reg + 1'b1);
        // the head registers hold the head slot at every beat that starts a request
        if (m_axi_rvalid && rready_reg && !flush && head_client == CLIENT_RING && !ring_cur_reg) begin
            inv_rd_ring_head: assert(ring_h_off == ring_q_off[ring_q_head] && ring_h_first_n == ring_q_first_n[ring_q_head]
                && ring_h_first_end == ring_q_first_end[ring_q_head] && ring_h_rest == ring_q_rest[ring_q_head]
                && ring_h_rest_small == ring_q_rest_small[ring_q_head] && ring_h_tag == ring_q_tag[ring_q_head]);
        end
        if (m_axi_rvalid && rready_reg && !flush && head_client == CLIENT_DATA && !data_cur_reg) begin
            inv_rd_data_head: assert(data_h_off == data_q_off[data_q_head] && data_h_first_n == data_q_first_n[data_q_head]
                && data_h_first_end == data_q_first_end[data_q_head] && data_h_rest == data_q_rest[data_q_head]
                && data_h_rest_small == data_q_rest_small[data_q_head] && data_h_last == data_q_last[data_q_head]);
        end
    end
end
`endif

endmodule

`resetall
