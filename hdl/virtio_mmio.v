`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Legacy (Version 1) virtio-mmio device: AXI4-Lite registers, AXI4 DMA
 * master for the split rings and buffers, AXI4-Stream ports to a device
 * backend. Behaviour follows the reference device model/vio/device/mmio.py;
 * hdl/README.md describes the backend protocol.
 */
module virtio_mmio #
(
    // DeviceID register (0xfff0 = the model's loopback personality)
    parameter DEVICE_ID = 32'h0000fff0,
    // VendorID register ("VIOK", the reference device's default)
    parameter VENDOR_ID = 32'h4b4f4956,
    // HostFeatures: device feature bits | transport bits this device implements
    // (NOTIFY_ON_EMPTY 24, ANY_LAYOUT 27, RING_INDIRECT_DESC 28, RING_EVENT_IDX 29)
    parameter [63:0] HOST_FEATURES = 64'h00000000_39000000,
    // Number of virtqueues (1 to 255)
    parameter NUM_QUEUES = 2,
    // QueueNumMax of every queue (power of two, 2 to 32768)
    parameter QUEUE_NUM_MAX = 16,
    // Largest indirect table accepted, in descriptors (1 to 32768); 32 takes
    // every table Linux's console, block (seg_max <= 30), entropy and net
    // drivers send at their defaults (docs/linux.md)
    parameter INDIRECT_MAX = 32,
    // Per-queue segment buffer depth: every legal chain fits in an empty buffer
    parameter SEG_DEPTH = 2**$clog2(QUEUE_NUM_MAX+INDIRECT_MAX-1),
    // avail/used index of a freshly activated queue (test hook for u16
    // wrap-around, as the reference device's ring_index_base; 0 normally)
    parameter [15:0] RING_INDEX_BASE = 16'd0,
    // Bytes of config space served by the backend (from offset 0x100)
    parameter CONFIG_SIZE = 256,
    // Width of AXI lite address bus in bits (the register window)
    parameter AXIL_ADDR_WIDTH = 9,
    // Width of AXI data bus in bits (also the AXI stream data width)
    parameter AXI_DATA_WIDTH = 32,
    // Width of AXI address bus in bits
    parameter AXI_ADDR_WIDTH = 32,
    // Width of AXI wstrb (width of data bus in words)
    parameter AXI_STRB_WIDTH = (AXI_DATA_WIDTH/8),
    // Width of AXI ID signal
    parameter AXI_ID_WIDTH = 8,
    // Maximum AXI burst length to generate
    parameter AXI_MAX_BURST_LEN = 16,
    // Maximum number of DMA bursts in flight per direction
    parameter DMA_MAX_OUTSTANDING = 16,
    // DMA window [DMA_BASE, DMA_BASE+DMA_SIZE): rings and buffers outside it break the device
    parameter [63:0] DMA_BASE = 64'd0,
    parameter [64:0] DMA_SIZE = 65'd1 << AXI_ADDR_WIDTH,
    // Width of AXI stream tdest (queue index)
    parameter AXIS_DEST_WIDTH = 8,
    // Heads read from the avail ring at once
    parameter HEAD_BURST = 16,
    // First descriptors read ahead of the chain walk
    parameter DESC_PREFETCH = 8,
    // Heads of one queue's run before it yields to other waiting queues
    parameter RUN_MAX = 16,
    // Descriptors of an indirect table read at once (power of two)
    parameter INDIRECT_CHUNK = 8,
    // Readable bytes read ahead of the request stream, in bus words (power of two)
    parameter DATA_FIFO_DEPTH = 64,
    // Answer bytes held for write bursts, in bus words (power of two, >= 2*AXI_MAX_BURST_LEN)
    parameter WRITE_FIFO_DEPTH = 2*AXI_MAX_BURST_LEN,
    // Chains one used.idx write may publish
    parameter PUBLISH_BATCH = 16,
    // Width of m_axis tuser: {abort, writable length[31:0]}
    parameter AXIS_USER_WIDTH = 33
)
(
    input  wire                          clk,
    input  wire                          rst,

    /*
     * Interrupt: high while InterruptStatus != 0
     */
    output wire                          irq,

    /*
     * AXI lite slave interface (registers, config space at 0x100)
     */
    input  wire [AXIL_ADDR_WIDTH-1:0]    s_axil_awaddr,
    input  wire [2:0]                    s_axil_awprot,
    input  wire                          s_axil_awvalid,
    output wire                          s_axil_awready,
    input  wire [31:0]                   s_axil_wdata,
    input  wire [3:0]                    s_axil_wstrb,
    input  wire                          s_axil_wvalid,
    output wire                          s_axil_wready,
    output wire [1:0]                    s_axil_bresp,
    output wire                          s_axil_bvalid,
    input  wire                          s_axil_bready,
    input  wire [AXIL_ADDR_WIDTH-1:0]    s_axil_araddr,
    input  wire [2:0]                    s_axil_arprot,
    input  wire                          s_axil_arvalid,
    output wire                          s_axil_arready,
    output wire [31:0]                   s_axil_rdata,
    output wire [1:0]                    s_axil_rresp,
    output wire                          s_axil_rvalid,
    input  wire                          s_axil_rready,

    /*
     * AXI master interface (DMA)
     */
    output wire [AXI_ID_WIDTH-1:0]       m_axi_awid,
    output wire [AXI_ADDR_WIDTH-1:0]     m_axi_awaddr,
    output wire [7:0]                    m_axi_awlen,
    output wire [2:0]                    m_axi_awsize,
    output wire [1:0]                    m_axi_awburst,
    output wire                          m_axi_awlock,
    output wire [3:0]                    m_axi_awcache,
    output wire [2:0]                    m_axi_awprot,
    output wire                          m_axi_awvalid,
    input  wire                          m_axi_awready,
    output wire [AXI_DATA_WIDTH-1:0]     m_axi_wdata,
    output wire [AXI_STRB_WIDTH-1:0]     m_axi_wstrb,
    output wire                          m_axi_wlast,
    output wire                          m_axi_wvalid,
    input  wire                          m_axi_wready,
    input  wire [AXI_ID_WIDTH-1:0]       m_axi_bid,
    input  wire [1:0]                    m_axi_bresp,
    input  wire                          m_axi_bvalid,
    output wire                          m_axi_bready,
    output wire [AXI_ID_WIDTH-1:0]       m_axi_arid,
    output wire [AXI_ADDR_WIDTH-1:0]     m_axi_araddr,
    output wire [7:0]                    m_axi_arlen,
    output wire [2:0]                    m_axi_arsize,
    output wire [1:0]                    m_axi_arburst,
    output wire                          m_axi_arlock,
    output wire [3:0]                    m_axi_arcache,
    output wire [2:0]                    m_axi_arprot,
    output wire                          m_axi_arvalid,
    input  wire                          m_axi_arready,
    input  wire [AXI_ID_WIDTH-1:0]       m_axi_rid,
    input  wire [AXI_DATA_WIDTH-1:0]     m_axi_rdata,
    input  wire [1:0]                    m_axi_rresp,
    input  wire                          m_axi_rlast,
    input  wire                          m_axi_rvalid,
    output wire                          m_axi_rready,

    /*
     * AXI stream to the backend: one packet per popped chain, its readable
     * bytes; tdest = queue, tuser = {abort, writable length}
     */
    output wire [AXI_DATA_WIDTH-1:0]     m_axis_tdata,
    output wire [AXI_STRB_WIDTH-1:0]     m_axis_tkeep,
    output wire                          m_axis_tvalid,
    input  wire                          m_axis_tready,
    output wire                          m_axis_tlast,
    output wire [AXIS_DEST_WIDTH-1:0]    m_axis_tdest,
    output wire [AXIS_USER_WIDTH-1:0]    m_axis_tuser,

    /*
     * AXI stream from the backend: one packet per answer, tdest = queue
     */
    input  wire [AXI_DATA_WIDTH-1:0]     s_axis_tdata,
    input  wire [AXI_STRB_WIDTH-1:0]     s_axis_tkeep,
    input  wire                          s_axis_tvalid,
    output wire                          s_axis_tready,
    input  wire                          s_axis_tlast,
    input  wire [AXIS_DEST_WIDTH-1:0]    s_axis_tdest,

    /*
     * Backend control: per-queue ready (Backend.ready(q)), reset pulse
     * (Backend.reset()), config change pulse (raises InterruptStatus bit 1)
     */
    input  wire [NUM_QUEUES-1:0]         backend_ready,
    output wire                          backend_reset,
    input  wire                          config_changed,

    /*
     * Config space port: one request at a time, each answered by one
     * cfg_rsp_valid pulse (with cfg_rsp_rdata for reads)
     */
    output wire [AXIL_ADDR_WIDTH-1:0]    cfg_req_addr,
    output wire                          cfg_req_write,
    output wire [31:0]                   cfg_req_wdata,
    output wire [3:0]                    cfg_req_wstrb,
    output wire                          cfg_req_valid,
    input  wire                          cfg_req_ready,
    input  wire [31:0]                   cfg_rsp_rdata,
    input  wire                          cfg_rsp_valid
);

localparam QUEUE_INDEX_WIDTH = (NUM_QUEUES > 1) ? $clog2(NUM_QUEUES) : 1;

// parameter checks (the submodules check their own)
initial begin
    if (AXI_STRB_WIDTH * 8 != AXI_DATA_WIDTH) begin
        $error("Error: AXI wstrb width must be AXI data width / 8 (instance %m)");
        $finish;
    end
end

wire [NUM_QUEUES-1:0] q_live;
wire [NUM_QUEUES*16-1:0] q_num;
wire [NUM_QUEUES*AXI_ADDR_WIDTH-1:0] q_desc_addr;
wire [NUM_QUEUES*AXI_ADDR_WIDTH-1:0] q_avail_addr;
wire [NUM_QUEUES*AXI_ADDR_WIDTH-1:0] q_used_addr;
wire feat_notify_on_empty;
wire feat_indirect;
wire feat_event_idx;
wire broken_next;
wire notify_valid;
wire [QUEUE_INDEX_WIDTH-1:0] notify_queue;
wire ctrl_valid;
wire ctrl_reset;
wire [QUEUE_INDEX_WIDTH-1:0] ctrl_queue;
wire ctrl_ack;
wire err_valid;
wire [7:0] err_cause;
wire [7:0] err_queue;
wire [15:0] err_info;
wire irq_vring;
// the ring engine has nothing in progress (testbenches wait for it: the
// buses may stay quiet for a while during a walk)
wire engine_idle;
wire unused_ok = &{1'b0, engine_idle};

virtio_mmio_regs #(
    .DEVICE_ID(DEVICE_ID),
    .VENDOR_ID(VENDOR_ID),
    .HOST_FEATURES(HOST_FEATURES),
    .NUM_QUEUES(NUM_QUEUES),
    .QUEUE_INDEX_WIDTH(QUEUE_INDEX_WIDTH),
    .QUEUE_NUM_MAX(QUEUE_NUM_MAX),
    .CONFIG_SIZE(CONFIG_SIZE),
    .AXIL_ADDR_WIDTH(AXIL_ADDR_WIDTH),
    .ADDR_WIDTH(AXI_ADDR_WIDTH),
    .DMA_BASE(DMA_BASE),
    .DMA_SIZE(DMA_SIZE)
)
regs_inst (
    .clk(clk),
    .rst(rst),

    .s_axil_awaddr(s_axil_awaddr),
    .s_axil_awprot(s_axil_awprot),
    .s_axil_awvalid(s_axil_awvalid),
    .s_axil_awready(s_axil_awready),
    .s_axil_wdata(s_axil_wdata),
    .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid),
    .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp),
    .s_axil_bvalid(s_axil_bvalid),
    .s_axil_bready(s_axil_bready),
    .s_axil_araddr(s_axil_araddr),
    .s_axil_arprot(s_axil_arprot),
    .s_axil_arvalid(s_axil_arvalid),
    .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata),
    .s_axil_rresp(s_axil_rresp),
    .s_axil_rvalid(s_axil_rvalid),
    .s_axil_rready(s_axil_rready),

    .cfg_req_addr(cfg_req_addr),
    .cfg_req_write(cfg_req_write),
    .cfg_req_wdata(cfg_req_wdata),
    .cfg_req_wstrb(cfg_req_wstrb),
    .cfg_req_valid(cfg_req_valid),
    .cfg_req_ready(cfg_req_ready),
    .cfg_rsp_rdata(cfg_rsp_rdata),
    .cfg_rsp_valid(cfg_rsp_valid),

    .config_changed(config_changed),
    .backend_reset(backend_reset),
    .irq(irq),

    .q_live(q_live),
    .q_num(q_num),
    .q_desc_addr(q_desc_addr),
    .q_avail_addr(q_avail_addr),
    .q_used_addr(q_used_addr),
    .feat_notify_on_empty(feat_notify_on_empty),
    .feat_indirect(feat_indirect),
    .feat_event_idx(feat_event_idx),
    .broken_next(broken_next),
    .notify_valid(notify_valid),
    .notify_queue(notify_queue),
    .ctrl_valid(ctrl_valid),
    .ctrl_reset(ctrl_reset),
    .ctrl_queue(ctrl_queue),
    .ctrl_ack(ctrl_ack),
    .err_valid(err_valid),
    .err_cause(err_cause),
    .err_queue(err_queue),
    .err_info(err_info),
    .irq_vring(irq_vring)
);

virtio_mmio_engine #(
    .NUM_QUEUES(NUM_QUEUES),
    .QUEUE_INDEX_WIDTH(QUEUE_INDEX_WIDTH),
    .QUEUE_NUM_MAX(QUEUE_NUM_MAX),
    .INDIRECT_MAX(INDIRECT_MAX),
    .SEG_DEPTH(SEG_DEPTH),
    .RING_INDEX_BASE(RING_INDEX_BASE),
    .AXI_DATA_WIDTH(AXI_DATA_WIDTH),
    .AXI_ADDR_WIDTH(AXI_ADDR_WIDTH),
    .AXI_STRB_WIDTH(AXI_STRB_WIDTH),
    .AXI_ID_WIDTH(AXI_ID_WIDTH),
    .AXI_MAX_BURST_LEN(AXI_MAX_BURST_LEN),
    .DMA_MAX_OUTSTANDING(DMA_MAX_OUTSTANDING),
    .DMA_BASE(DMA_BASE),
    .DMA_SIZE(DMA_SIZE),
    .AXIS_DEST_WIDTH(AXIS_DEST_WIDTH),
    .AXIS_USER_WIDTH(AXIS_USER_WIDTH),
    .HEAD_BURST(HEAD_BURST),
    .DESC_PREFETCH(DESC_PREFETCH),
    .RUN_MAX(RUN_MAX),
    .INDIRECT_CHUNK(INDIRECT_CHUNK),
    .DATA_FIFO_DEPTH(DATA_FIFO_DEPTH),
    .WRITE_FIFO_DEPTH(WRITE_FIFO_DEPTH),
    .PUBLISH_BATCH(PUBLISH_BATCH)
)
engine_inst (
    .clk(clk),
    .rst(rst),

    .q_live(q_live),
    .q_num(q_num),
    .q_desc_addr(q_desc_addr),
    .q_avail_addr(q_avail_addr),
    .q_used_addr(q_used_addr),
    .feat_notify_on_empty(feat_notify_on_empty),
    .feat_indirect(feat_indirect),
    .feat_event_idx(feat_event_idx),
    .broken_next(broken_next),
    .notify_valid(notify_valid),
    .notify_queue(notify_queue),
    .ctrl_valid(ctrl_valid),
    .ctrl_reset(ctrl_reset),
    .ctrl_queue(ctrl_queue),
    .ctrl_ack(ctrl_ack),
    .err_valid(err_valid),
    .err_cause(err_cause),
    .err_queue(err_queue),
    .err_info(err_info),
    .irq_vring(irq_vring),
    .idle(engine_idle),

    .backend_ready(backend_ready),

    .m_axis_tdata(m_axis_tdata),
    .m_axis_tkeep(m_axis_tkeep),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .m_axis_tlast(m_axis_tlast),
    .m_axis_tdest(m_axis_tdest),
    .m_axis_tuser(m_axis_tuser),

    .s_axis_tdata(s_axis_tdata),
    .s_axis_tkeep(s_axis_tkeep),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .s_axis_tlast(s_axis_tlast),
    .s_axis_tdest(s_axis_tdest),

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
    .m_axi_bready(m_axi_bready),
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

endmodule

`resetall
