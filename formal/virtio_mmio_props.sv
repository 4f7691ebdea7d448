`default_nettype none

/*
 * Formal property wrapper of the top virtio_mmio (issue 5, "Formal").
 *
 * The DUT is instantiated with small parameters so that bounded model checking
 * (ABC's bmc3, formal/run.py) stays tractable. Every input is free except for the
 * environment rules below (assume): the bus partners obey their side of
 * AXI4-Lite, AXI4 and AXI4-Stream. Memory read data, read/write responses
 * (OKAY/SLVERR/DECERR), answer data, tdest, tkeep, backend_ready,
 * config_changed, and the register values the driver writes stay unconstrained
 * (hostile). Reset may be raised again at any time.
 *
 * Assertions on what the device drives (property groups, see formal/run.py):
 *   lite   AXI4-Lite slave: B/R held stable until ready; no B without an
 *          AW and a W taken, no R without an AR taken, at most one of each
 *          outstanding (one response per request); valids low after reset.
 *   axi    AXI4 master: AR/AW/W held stable until ready; INCR, full-width
 *          size, length <= AXI_MAX_BURST_LEN, no burst crosses 4 KiB; W
 *          beats only for an announced AW, WLAST exactly on its last beat;
 *          bursts in flight bounded by DMA_MAX_OUTSTANDING; valids low
 *          after reset.
 *   stream m_axis held stable until tready, tuser/tdest constant within a
 *          packet; config port request held until ready, one at a time.
 *   writes the write invariant, asserted in `ifdef FORMAL blocks of the
 *          units that know the facts (enabled by this wrapper's build):
 *          hdl/virtio_mmio_walk.v notes what each segment slot holds,
 *          virtio_mmio_complete.v checks each answer write against it,
 *          virtio_mmio_publish.v and virtio_mmio_engine.v the used ring
 *          writes, virtio_mmio_dma_wr.v every W lane against its request.
 * Witnesses (formal/run.py "cover"): answer bytes on W, a used.idx write, a
 * vring interrupt, so that the assumptions are not vacuous at the depth used.
 */
module virtio_mmio_props #
(
    parameter NUM_QUEUES = 1,
    parameter QUEUE_NUM_MAX = 2,
    parameter AXI_DATA_WIDTH = 32,
    parameter AXI_ADDR_WIDTH = 32,
    parameter AXI_MAX_BURST_LEN = 4,
    parameter DMA_MAX_OUTSTANDING = 2
)
(
    input  wire                          clk,
    input  wire                          rst,

    input  wire [8:0]                    s_axil_awaddr,
    input  wire [2:0]                    s_axil_awprot,
    input  wire                          s_axil_awvalid,
    input  wire [31:0]                   s_axil_wdata,
    input  wire [3:0]                    s_axil_wstrb,
    input  wire                          s_axil_wvalid,
    input  wire                          s_axil_bready,
    input  wire [8:0]                    s_axil_araddr,
    input  wire [2:0]                    s_axil_arprot,
    input  wire                          s_axil_arvalid,
    input  wire                          s_axil_rready,

    input  wire                          m_axi_awready,
    input  wire                          m_axi_wready,
    input  wire [1:0]                    m_axi_bresp,
    input  wire                          m_axi_bvalid,
    input  wire                          m_axi_arready,
    input  wire [AXI_DATA_WIDTH-1:0]     m_axi_rdata,
    input  wire [1:0]                    m_axi_rresp,
    input  wire                          m_axi_rlast,
    input  wire                          m_axi_rvalid,

    input  wire                          m_axis_tready,
    input  wire [AXI_DATA_WIDTH-1:0]     s_axis_tdata,
    input  wire [AXI_DATA_WIDTH/8-1:0]   s_axis_tkeep,
    input  wire                          s_axis_tvalid,
    input  wire                          s_axis_tlast,
    input  wire [7:0]                    s_axis_tdest,

    input  wire [NUM_QUEUES-1:0]         backend_ready,
    input  wire                          config_changed,
    input  wire                          cfg_req_ready,
    input  wire [31:0]                   cfg_rsp_rdata,
    input  wire                          cfg_rsp_valid
);

localparam STRB = AXI_DATA_WIDTH/8;
localparam [2:0] SIZE = $clog2(STRB);

wire irq;
wire s_axil_awready, s_axil_wready, s_axil_bvalid, s_axil_arready, s_axil_rvalid;
wire [1:0] s_axil_bresp, s_axil_rresp;
wire [31:0] s_axil_rdata;
wire [0:0] m_axi_awid, m_axi_arid;
wire [AXI_ADDR_WIDTH-1:0] m_axi_awaddr, m_axi_araddr;
wire [7:0] m_axi_awlen, m_axi_arlen;
wire [2:0] m_axi_awsize, m_axi_arsize, m_axi_awprot, m_axi_arprot;
wire [1:0] m_axi_awburst, m_axi_arburst;
wire m_axi_awlock, m_axi_arlock;
wire [3:0] m_axi_awcache, m_axi_arcache;
wire m_axi_awvalid, m_axi_wvalid, m_axi_wlast, m_axi_bready, m_axi_arvalid, m_axi_rready;
wire [AXI_DATA_WIDTH-1:0] m_axi_wdata;
wire [STRB-1:0] m_axi_wstrb;
wire [AXI_DATA_WIDTH-1:0] m_axis_tdata;
wire [STRB-1:0] m_axis_tkeep;
wire m_axis_tvalid, m_axis_tlast;
wire [7:0] m_axis_tdest;
wire [32:0] m_axis_tuser;
wire s_axis_tready;
wire backend_reset;
wire [8:0] cfg_req_addr;
wire cfg_req_write;
wire [31:0] cfg_req_wdata;
wire [3:0] cfg_req_wstrb;
wire cfg_req_valid;

virtio_mmio #(
    .NUM_QUEUES(NUM_QUEUES),
    .QUEUE_NUM_MAX(QUEUE_NUM_MAX),
    // tables as long as the ring: the segment buffer (and the state space) stays small
    .INDIRECT_MAX(QUEUE_NUM_MAX),
    // the engine's queues and read-ahead as short as they go: a chain is the
    // same sequence of steps, with fewer states to search
    .HEAD_BURST(2),
    .DESC_PREFETCH(2),
    .RUN_MAX(2),
    .INDIRECT_CHUNK(2),
    .DATA_FIFO_DEPTH(2*AXI_MAX_BURST_LEN),
    .WRITE_FIFO_DEPTH(2*AXI_MAX_BURST_LEN),
    .PUBLISH_BATCH(2),
    .CONFIG_SIZE(4),
    .AXIL_ADDR_WIDTH(9),
    .AXI_DATA_WIDTH(AXI_DATA_WIDTH),
    .AXI_ADDR_WIDTH(AXI_ADDR_WIDTH),
    .AXI_ID_WIDTH(1),
    .AXI_MAX_BURST_LEN(AXI_MAX_BURST_LEN),
    .DMA_MAX_OUTSTANDING(DMA_MAX_OUTSTANDING)
)
dut (
    .clk(clk), .rst(rst), .irq(irq),
    .s_axil_awaddr(s_axil_awaddr), .s_axil_awprot(s_axil_awprot),
    .s_axil_awvalid(s_axil_awvalid), .s_axil_awready(s_axil_awready),
    .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid), .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp), .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready),
    .s_axil_araddr(s_axil_araddr), .s_axil_arprot(s_axil_arprot),
    .s_axil_arvalid(s_axil_arvalid), .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp),
    .s_axil_rvalid(s_axil_rvalid), .s_axil_rready(s_axil_rready),
    .m_axi_awid(m_axi_awid), .m_axi_awaddr(m_axi_awaddr), .m_axi_awlen(m_axi_awlen),
    .m_axi_awsize(m_axi_awsize), .m_axi_awburst(m_axi_awburst), .m_axi_awlock(m_axi_awlock),
    .m_axi_awcache(m_axi_awcache), .m_axi_awprot(m_axi_awprot),
    .m_axi_awvalid(m_axi_awvalid), .m_axi_awready(m_axi_awready),
    .m_axi_wdata(m_axi_wdata), .m_axi_wstrb(m_axi_wstrb), .m_axi_wlast(m_axi_wlast),
    .m_axi_wvalid(m_axi_wvalid), .m_axi_wready(m_axi_wready),
    .m_axi_bid(1'b0), .m_axi_bresp(m_axi_bresp), .m_axi_bvalid(m_axi_bvalid),
    .m_axi_bready(m_axi_bready),
    .m_axi_arid(m_axi_arid), .m_axi_araddr(m_axi_araddr), .m_axi_arlen(m_axi_arlen),
    .m_axi_arsize(m_axi_arsize), .m_axi_arburst(m_axi_arburst), .m_axi_arlock(m_axi_arlock),
    .m_axi_arcache(m_axi_arcache), .m_axi_arprot(m_axi_arprot),
    .m_axi_arvalid(m_axi_arvalid), .m_axi_arready(m_axi_arready),
    .m_axi_rid(1'b0), .m_axi_rdata(m_axi_rdata), .m_axi_rresp(m_axi_rresp),
    .m_axi_rlast(m_axi_rlast), .m_axi_rvalid(m_axi_rvalid), .m_axi_rready(m_axi_rready),
    .m_axis_tdata(m_axis_tdata), .m_axis_tkeep(m_axis_tkeep), .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready), .m_axis_tlast(m_axis_tlast), .m_axis_tdest(m_axis_tdest),
    .m_axis_tuser(m_axis_tuser),
    .s_axis_tdata(s_axis_tdata), .s_axis_tkeep(s_axis_tkeep), .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready), .s_axis_tlast(s_axis_tlast), .s_axis_tdest(s_axis_tdest),
    .backend_ready(backend_ready), .backend_reset(backend_reset),
    .config_changed(config_changed),
    .cfg_req_addr(cfg_req_addr), .cfg_req_write(cfg_req_write),
    .cfg_req_wdata(cfg_req_wdata), .cfg_req_wstrb(cfg_req_wstrb),
    .cfg_req_valid(cfg_req_valid), .cfg_req_ready(cfg_req_ready),
    .cfg_rsp_rdata(cfg_rsp_rdata), .cfg_rsp_valid(cfg_rsp_valid)
);

// the first cycle is a reset; "past" below means: a previous cycle exists
// and was not a reset (so every handshake rule restarts after a reset)
reg f_init = 1'b1;
reg f_past = 1'b0;
always @(posedge clk) begin
    f_init <= 1'b0;
    f_past <= !rst;
end
always @* begin
    if (f_init) assume(rst);
end

// handshakes
wire l_aw = s_axil_awvalid && s_axil_awready;
wire l_w = s_axil_wvalid && s_axil_wready;
wire l_b = s_axil_bvalid && s_axil_bready;
wire l_ar = s_axil_arvalid && s_axil_arready;
wire l_r = s_axil_rvalid && s_axil_rready;
wire a_aw = m_axi_awvalid && m_axi_awready;
wire a_w = m_axi_wvalid && m_axi_wready;
wire a_b = m_axi_bvalid && m_axi_bready;
wire a_ar = m_axi_arvalid && m_axi_arready;
wire a_r = m_axi_rvalid && m_axi_rready;

/*
 * Environment: the bus partners keep their side of the protocols
 */
always @(posedge clk) begin
    if (rst) begin
        // a partner in reset drives its valids low
        assume(!s_axil_awvalid && !s_axil_wvalid && !s_axil_arvalid);
        assume(!m_axi_bvalid && !m_axi_rvalid && !s_axis_tvalid && !cfg_rsp_valid);
    end
end

always @(posedge clk) begin
    if (f_past && !rst) begin
        // AXI4-Lite master: valid and payload held until ready
        if ($past(s_axil_awvalid && !s_axil_awready))
            assume(s_axil_awvalid && $stable(s_axil_awaddr) && $stable(s_axil_awprot));
        if ($past(s_axil_wvalid && !s_axil_wready))
            assume(s_axil_wvalid && $stable(s_axil_wdata) && $stable(s_axil_wstrb));
        if ($past(s_axil_arvalid && !s_axil_arready))
            assume(s_axil_arvalid && $stable(s_axil_araddr) && $stable(s_axil_arprot));
        // AXI4 slave (memory): R held until ready (data and response hostile
        // but stable while stalled)
        if ($past(m_axi_rvalid && !m_axi_rready))
            assume(m_axi_rvalid && $stable(m_axi_rdata) && $stable(m_axi_rresp) && $stable(m_axi_rlast));
        if ($past(m_axi_bvalid && !m_axi_bready))
            assume(m_axi_bvalid && $stable(m_axi_bresp));
        // AXI4-Stream source (backend answers)
        if ($past(s_axis_tvalid && !s_axis_tready))
            assume(s_axis_tvalid && $stable(s_axis_tdata) && $stable(s_axis_tkeep)
                && $stable(s_axis_tlast) && $stable(s_axis_tdest));
    end
end

/*
 * Engine signals the witnesses and the start states look at, tied by
 * formal/run.py after flattening (Yosys 0.23 reads no hierarchical names)
 */
(* keep *) wire f_tie_pop;               // the commit stage pops a chain
(* keep *) wire f_tie_w_from_im;         // the beat on W came from the immediate path
(* keep *) wire f_tie_im_valid_next;     // the publisher asks for an immediate write
(* keep *) wire f_tie_im_kind_next;      // ... of used.idx
(* keep *) wire f_tie_im_valid;          // the publisher's immediate write
(* keep *) wire f_tie_im_kind;           // ... is a used.idx
(* keep *) wire f_tie_im_ready;          // ... and the write engine takes it
(* keep *) wire f_tie_irq_vring;         // the publisher raises a vring interrupt

/*
 * Start states after the set-up (formal/run.py STARTS, docs/formal.md):
 * the sequencer's outputs are named after this wrapper's inputs; run.py
 * simulates from reset with the inputs tied to them, and a start state is
 * the state of the first cycle in which its f_start_* event is high (the
 * sequencer is removed, every input free again from there). The events, on
 * the second chain's way (the first one has completed, in ring slot 0): the
 * commit stage pops it; the publisher asks for its used element; the
 * publisher asks for the used.idx write.
 */
wire f_setup_second, f_setup_done;
(* keep *) wire f_start_pop = f_setup_second && f_tie_pop;
(* keep *) wire f_start_publish = f_setup_second && f_tie_im_valid_next;
(* keep *) wire f_start_used_idx = f_setup_second && f_tie_im_valid_next && f_tie_im_kind_next;
virtio_mmio_setup #(
    .NUM_QUEUES(NUM_QUEUES)
)
setup (
    .clk(clk),
    .s_axil_awready(s_axil_awready), .s_axil_wready(s_axil_wready), .s_axil_bvalid(s_axil_bvalid),
    .m_axi_awvalid(m_axi_awvalid), .m_axi_wvalid(m_axi_wvalid), .m_axi_wlast(m_axi_wlast),
    .m_axi_bready(m_axi_bready), .m_axi_araddr(m_axi_araddr), .m_axi_arlen(m_axi_arlen),
    .m_axi_arvalid(m_axi_arvalid), .m_axi_rready(m_axi_rready),
    .m_axis_tvalid(m_axis_tvalid), .m_axis_tlast(m_axis_tlast), .s_axis_tready(s_axis_tready),
    .irq(irq), .second(f_setup_second), .done(f_setup_done)
);

// after the set-up the driver leaves the registers alone (the groups from
// reset keep every AXI4-Lite access free)
always @* begin
    if (f_setup_done) setup_lite_idle: assume(!s_axil_awvalid && !s_axil_wvalid && !s_axil_arvalid);
end

// a witness needs one trace, not every one: a memory that is always ready
// and answers OKAY and a ready backend let the model checker find it sooner
// (only the cover-* groups keep these; the others keep every stall and error)
always @* begin
    coop_ready: assume(m_axi_awready && m_axi_wready && m_axi_arready && m_axis_tready);
    coop_okay: assume(m_axi_rresp == 2'b00 && m_axi_bresp == 2'b00 && &backend_ready);
end

/*
 * AXI4 master bookkeeping: bursts announced on AW/AR, in order
 */
localparam FQ = 4;  // > DMA_MAX_OUTSTANDING + 1: room for every burst the rules allow
reg [AXI_ADDR_WIDTH-1:0] f_awq_addr [0:FQ-1];
reg [7:0] f_awq_len [0:FQ-1];
reg [2:0] f_awq_n;          // AW taken whose W beats are not all sent
reg [7:0] f_wbeat;          // W beats sent of the oldest such burst
reg f_w_ahead;              // all W beats of a burst sent before its AW was taken
reg [2:0] f_wr_out;         // AW taken, B not yet returned
reg [2:0] f_wdone;          // bursts whose W beats are all sent, B not yet returned
reg [7:0] f_arq_len [0:FQ-1];
reg [2:0] f_arq_n;          // AR taken, R beats not all returned
reg [7:0] f_rbeat;

// the burst the W channel is writing: the oldest taken AW, or the one on AW now
wire [7:0] f_wcur_len = (f_awq_n != 0) ? f_awq_len[0] : m_axi_awlen;
wire f_wcur_known = (f_awq_n != 0) || (m_axi_awvalid && !f_w_ahead);
wire f_w_pop = a_w && m_axi_wlast && (f_awq_n != 0);
// the last W beat of the burst on AW (no taken AW waiting for W beats)
wire f_w_end_ahead = a_w && m_axi_wlast && (f_awq_n == 0);
// an AW goes into the FIFO unless its W beats are all sent already (before
// or with it)
wire f_aw_push = a_aw && !f_w_ahead && !f_w_end_ahead;
integer k;

always @(posedge clk) begin
    if (a_w) f_wbeat <= m_axi_wlast ? 8'd0 : f_wbeat + 8'd1;
    if (f_w_end_ahead && !a_aw) f_w_ahead <= 1'b1;
    if (a_aw && f_w_ahead) f_w_ahead <= 1'b0;
    // AW FIFO: push on the AW handshake, pop when the burst's last W beat goes
    if (f_w_pop) begin
        for (k = 0; k < FQ-1; k = k + 1) begin
            f_awq_addr[k] <= f_awq_addr[k+1];
            f_awq_len[k] <= f_awq_len[k+1];
        end
    end
    if (f_aw_push) begin
        f_awq_addr[f_awq_n - (f_w_pop ? 3'd1 : 3'd0)] <= m_axi_awaddr;
        f_awq_len[f_awq_n - (f_w_pop ? 3'd1 : 3'd0)] <= m_axi_awlen;
    end
    f_awq_n <= f_awq_n + (f_aw_push ? 3'd1 : 3'd0) - (f_w_pop ? 3'd1 : 3'd0);
    f_wr_out <= f_wr_out + (a_aw ? 3'd1 : 3'd0) - (a_b ? 3'd1 : 3'd0);
    f_wdone <= f_wdone + ((a_w && m_axi_wlast) ? 3'd1 : 3'd0) - (a_b ? 3'd1 : 3'd0);

    if (a_r) f_rbeat <= m_axi_rlast ? 8'd0 : f_rbeat + 8'd1;
    if (a_r && m_axi_rlast) begin
        for (k = 0; k < FQ-1; k = k + 1) begin
            f_arq_len[k] <= f_arq_len[k+1];
        end
    end
    if (a_ar) f_arq_len[f_arq_n - ((a_r && m_axi_rlast) ? 3'd1 : 3'd0)] <= m_axi_arlen;
    f_arq_n <= f_arq_n + (a_ar ? 3'd1 : 3'd0) - ((a_r && m_axi_rlast) ? 3'd1 : 3'd0);

    if (rst) begin
        f_awq_n <= 3'd0;
        f_wbeat <= 8'd0;
        f_w_ahead <= 1'b0;
        f_wr_out <= 3'd0;
        f_wdone <= 3'd0;
        f_arq_n <= 3'd0;
        f_rbeat <= 8'd0;
    end
end

// memory: R beats only for a burst asked for, RLAST on its last beat;
// B only for a burst whose AW and W beats are all taken
always @* begin
    if (!rst) begin
        if (m_axi_rvalid) assume(f_arq_n != 0 && m_axi_rlast == (f_rbeat == f_arq_len[0]));
        if (m_axi_bvalid) assume(f_wr_out != 0 && f_wdone != 0);
    end
end

/*
 * AXI4-Lite bookkeeping: requests taken, responses given
 */
reg [2:0] f_l_aw, f_l_w, f_l_ar;   // taken and not yet answered
always @(posedge clk) begin
    f_l_aw <= f_l_aw + (l_aw ? 3'd1 : 3'd0) - (l_b ? 3'd1 : 3'd0);
    f_l_w <= f_l_w + (l_w ? 3'd1 : 3'd0) - (l_b ? 3'd1 : 3'd0);
    f_l_ar <= f_l_ar + (l_ar ? 3'd1 : 3'd0) - (l_r ? 3'd1 : 3'd0);
    if (rst) begin
        f_l_aw <= 3'd0;
        f_l_w <= 3'd0;
        f_l_ar <= 3'd0;
    end
end

// config port: one request at a time, each answered by one cfg_rsp_valid
reg f_cfg_pend;
always @(posedge clk) begin
    if (cfg_req_valid && cfg_req_ready) f_cfg_pend <= 1'b1;
    if (cfg_rsp_valid) f_cfg_pend <= 1'b0;
    if (rst) f_cfg_pend <= 1'b0;
end
always @* begin
    if (!rst && cfg_rsp_valid) assume(f_cfg_pend || (cfg_req_valid && cfg_req_ready));
end

// m_axis packet in progress (tuser/tdest constant over a packet)
reg f_m_open;
reg [32:0] f_m_tuser;
reg [7:0] f_m_tdest;
always @(posedge clk) begin
    if (m_axis_tvalid && m_axis_tready) begin
        f_m_open <= !m_axis_tlast;
        f_m_tuser <= m_axis_tuser;
        f_m_tdest <= m_axis_tdest;
    end
    if (rst) f_m_open <= 1'b0;
end

/*
 * Assertions, labelled by group (formal/run.py keeps the labels of the group
 * it checks: lite_*, axi_*, stream_*; the write invariant is in hdl/)
 */
always @(posedge clk) begin
    if (f_past && !rst) begin
        // B and R held until ready, payload stable
        if ($past(s_axil_bvalid && !s_axil_bready))
            lite_b_held: assert(s_axil_bvalid && $stable(s_axil_bresp));
        if ($past(s_axil_rvalid && !s_axil_rready))
            lite_r_held: assert(s_axil_rvalid && $stable(s_axil_rdata) && $stable(s_axil_rresp));
        if ($past(m_axi_awvalid && !m_axi_awready))
            axi_aw_held: assert(m_axi_awvalid && $stable(m_axi_awaddr) && $stable(m_axi_awlen)
                && $stable(m_axi_awsize) && $stable(m_axi_awburst));
        if ($past(m_axi_wvalid && !m_axi_wready))
            axi_w_held: assert(m_axi_wvalid && $stable(m_axi_wdata) && $stable(m_axi_wstrb)
                && $stable(m_axi_wlast));
        if ($past(m_axi_arvalid && !m_axi_arready))
            axi_ar_held: assert(m_axi_arvalid && $stable(m_axi_araddr) && $stable(m_axi_arlen)
                && $stable(m_axi_arsize) && $stable(m_axi_arburst));
        if ($past(m_axis_tvalid && !m_axis_tready))
            stream_m_axis_held: assert(m_axis_tvalid && $stable(m_axis_tdata) && $stable(m_axis_tkeep)
                && $stable(m_axis_tlast) && $stable(m_axis_tdest) && $stable(m_axis_tuser));
        if ($past(cfg_req_valid && !cfg_req_ready))
            stream_cfg_held: assert(cfg_req_valid && $stable(cfg_req_addr) && $stable(cfg_req_write)
                && $stable(cfg_req_wdata) && $stable(cfg_req_wstrb));
    end
    // reset: every valid the device drives is low in the cycle after a reset
    if (!f_init && $past(rst)) begin
        lite_reset: assert(!s_axil_bvalid && !s_axil_rvalid);
        axi_reset: assert(!m_axi_awvalid && !m_axi_wvalid && !m_axi_arvalid);
        stream_reset: assert(!m_axis_tvalid && !cfg_req_valid);
    end
end

always @* begin
    if (!rst) begin
        // one response per request: none without a request taken, and at most
        // one request of each kind outstanding
        if (s_axil_bvalid) lite_b_asked: assert(f_l_aw != 0 && f_l_w != 0);
        if (s_axil_rvalid) lite_r_asked: assert(f_l_ar != 0);
        lite_one_each: assert(f_l_aw <= 1 && f_l_w <= 1 && f_l_ar <= 1);
        // burst shape: INCR, full-width beats, length limit, no 4 KiB crossing
        if (m_axi_awvalid) begin
            axi_aw_incr: assert(m_axi_awburst == 2'b01 && m_axi_awsize == SIZE);
            axi_aw_len: assert({1'b0, m_axi_awlen} < AXI_MAX_BURST_LEN);
            axi_aw_4k: assert({1'b0, m_axi_awaddr[11:0]} + (({5'd0, m_axi_awlen} + 13'd1) << SIZE) <= 13'h1000);
        end
        if (m_axi_arvalid) begin
            axi_ar_incr: assert(m_axi_arburst == 2'b01 && m_axi_arsize == SIZE);
            axi_ar_len: assert({1'b0, m_axi_arlen} < AXI_MAX_BURST_LEN);
            axi_ar_4k: assert({1'b0, m_axi_araddr[11:0]} + (({5'd0, m_axi_arlen} + 13'd1) << SIZE) <= 13'h1000);
        end
        // W beats only for an announced burst, never more than it announced,
        // WLAST exactly on its last beat
        if (m_axi_wvalid) begin
            axi_w_announced: assert(f_wcur_known);
            axi_w_count: assert(f_wbeat <= f_wcur_len);
            axi_w_last: assert(m_axi_wlast == (f_wbeat == f_wcur_len));
        end
        // bursts in flight bounded
        axi_wr_out: assert(f_wr_out <= DMA_MAX_OUTSTANDING);
        axi_rd_out: assert(f_arq_n <= DMA_MAX_OUTSTANDING);
        axi_w_pending: assert(f_awq_n <= 2);
        // a request packet keeps its tdest and tuser (writable length, abort)
        if (m_axis_tvalid && f_m_open)
            stream_packet: assert(m_axis_tdest == f_m_tdest && m_axis_tuser[31:0] == f_m_tuser[31:0]);
        // config port: no new request while one is unanswered
        if (f_cfg_pend) stream_cfg_one: assert(!cfg_req_valid);
    end
end

/*
 * Witnesses (formal/run.py's cover-* groups keep one of them): each says the
 * event never happens, and the model checker must refute it within the
 * group's depth
 */
always @* begin
    if (!rst) begin
        cover_request: assert(!(m_axis_tvalid && m_axis_tready && m_axis_tlast));
        cover_buffer: assert(!(m_axi_wvalid && m_axi_wready && !f_tie_w_from_im && m_axi_wstrb != 0));
        cover_used: assert(!(f_tie_im_valid && f_tie_im_ready && f_tie_im_kind));
        cover_irq: assert(!f_tie_irq_vring);
    end
end

endmodule

`resetall
