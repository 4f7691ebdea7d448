`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * virtio-mmio legacy (Version 1) register block: AXI4-Lite slave, the
 * register map of model/vio/device/mmio.py (read, write, _write_pfn, _reset),
 * the broken state with DEVICE_ERROR at 0x0f0, and the config-space port.
 *
 * One register access at a time. The write response of Status=0 waits until
 * the ring engine is idle (so Status reads 0 only then), that of QueuePFN=0
 * on a live queue until the engine has stopped the queue, that of a config
 * write until the backend has answered it.
 *
 * Below 0x100 only whole aligned words are registers: a write with a wstrb
 * other than 4'b1111 or an unaligned awaddr is ignored, an unaligned araddr
 * reads 0. Unmapped offsets read 0, writes to them and to read-only
 * registers are ignored. Every response is OKAY.
 */
module virtio_mmio_regs #
(
    // DeviceID register
    parameter DEVICE_ID = 32'h0000fff0,
    // VendorID register
    parameter VENDOR_ID = 32'h4b4f4956,
    // HostFeatures (64 bits: device features and transport features)
    parameter [63:0] HOST_FEATURES = 64'h00000000_39000000,
    // Number of virtqueues
    parameter NUM_QUEUES = 2,
    // Width of a queue index
    parameter QUEUE_INDEX_WIDTH = (NUM_QUEUES > 1) ? $clog2(NUM_QUEUES) : 1,
    // QueueNumMax of every queue (power of two)
    parameter QUEUE_NUM_MAX = 16,
    // Bytes of config space forwarded to the backend (from 0x100)
    parameter CONFIG_SIZE = 256,
    // Width of AXI lite address bus in bits
    parameter AXIL_ADDR_WIDTH = 9,
    // Width of DMA addresses
    parameter ADDR_WIDTH = 32,
    // DMA window: [DMA_BASE, DMA_BASE+DMA_SIZE)
    parameter [63:0] DMA_BASE = 64'd0,
    parameter [64:0] DMA_SIZE = 65'd1 << ADDR_WIDTH
)
(
    input  wire                              clk,
    input  wire                              rst,

    /*
     * AXI lite slave interface
     */
    input  wire [AXIL_ADDR_WIDTH-1:0]        s_axil_awaddr,
    input  wire [2:0]                        s_axil_awprot,
    input  wire                              s_axil_awvalid,
    output wire                              s_axil_awready,
    input  wire [31:0]                       s_axil_wdata,
    input  wire [3:0]                        s_axil_wstrb,
    input  wire                              s_axil_wvalid,
    output wire                              s_axil_wready,
    output wire [1:0]                        s_axil_bresp,
    output wire                              s_axil_bvalid,
    input  wire                              s_axil_bready,
    input  wire [AXIL_ADDR_WIDTH-1:0]        s_axil_araddr,
    input  wire [2:0]                        s_axil_arprot,
    input  wire                              s_axil_arvalid,
    output wire                              s_axil_arready,
    output wire [31:0]                       s_axil_rdata,
    output wire [1:0]                        s_axil_rresp,
    output wire                              s_axil_rvalid,
    input  wire                              s_axil_rready,

    /*
     * Config space port (to the backend)
     */
    output wire [AXIL_ADDR_WIDTH-1:0]        cfg_req_addr,
    output wire                              cfg_req_write,
    output wire [31:0]                       cfg_req_wdata,
    output wire [3:0]                        cfg_req_wstrb,
    output wire                              cfg_req_valid,
    input  wire                              cfg_req_ready,
    input  wire [31:0]                       cfg_rsp_rdata,
    input  wire                              cfg_rsp_valid,

    /*
     * Device events
     */
    input  wire                              config_changed,
    output wire                              backend_reset,
    output wire                              irq,

    /*
     * Ring engine
     */
    output wire [NUM_QUEUES-1:0]             q_live,
    output wire [NUM_QUEUES*16-1:0]          q_num,
    output wire [NUM_QUEUES*ADDR_WIDTH-1:0]  q_desc_addr,
    output wire [NUM_QUEUES*ADDR_WIDTH-1:0]  q_avail_addr,
    output wire [NUM_QUEUES*ADDR_WIDTH-1:0]  q_used_addr,
    output wire                              feat_notify_on_empty,
    output wire                              feat_indirect,
    output wire                              feat_event_idx,
    // the broken state of the next cycle (the engine keeps its own copy)
    output wire                              broken_next,
    output wire                              notify_valid,
    output wire [QUEUE_INDEX_WIDTH-1:0]      notify_queue,
    output wire                              ctrl_valid,
    output wire                              ctrl_reset,
    output wire [QUEUE_INDEX_WIDTH-1:0]      ctrl_queue,
    input  wire                              ctrl_ack,
    input  wire                              err_valid,
    input  wire [7:0]                        err_cause,
    input  wire [7:0]                        err_queue,
    input  wire [15:0]                       err_info,
    input  wire                              irq_vring
);

localparam Q_W = QUEUE_INDEX_WIDTH;

// register offsets (model/vio/constants.py)
localparam [7:0]
    REG_MAGIC_VALUE = 8'h00,
    REG_VERSION = 8'h04,
    REG_DEVICE_ID = 8'h08,
    REG_VENDOR_ID = 8'h0c,
    REG_HOST_FEATURES = 8'h10,
    REG_HOST_FEATURES_SEL = 8'h14,
    REG_GUEST_FEATURES = 8'h20,
    REG_GUEST_FEATURES_SEL = 8'h24,
    REG_GUEST_PAGE_SIZE = 8'h28,
    REG_QUEUE_SEL = 8'h30,
    REG_QUEUE_NUM_MAX = 8'h34,
    REG_QUEUE_NUM = 8'h38,
    REG_QUEUE_ALIGN = 8'h3c,
    REG_QUEUE_PFN = 8'h40,
    REG_QUEUE_NOTIFY = 8'h50,
    REG_INTERRUPT_STATUS = 8'h60,
    REG_INTERRUPT_ACK = 8'h64,
    REG_STATUS = 8'h70,
    REG_DEVICE_ERROR = 8'hf0;

localparam [31:0] MAGIC_VALUE = 32'h74726976;
localparam [31:0] LEGACY_VERSION = 32'd1;
localparam [31:0] DEVICE_ID_VAL = DEVICE_ID[31:0];
localparam [31:0] VENDOR_ID_VAL = VENDOR_ID[31:0];
localparam [31:0] NUM_MAX = QUEUE_NUM_MAX[31:0];
localparam [15:0] NUM_MAX16 = QUEUE_NUM_MAX[15:0];
localparam [31:0] NQ32 = NUM_QUEUES[31:0];
localparam [AXIL_ADDR_WIDTH-1:0] CONFIG_BASE = 256;
localparam [31:0] CONFIG_SIZE32 = CONFIG_SIZE[31:0];

localparam [7:0]
    STATUS_DRIVER_OK = 8'h04,
    STATUS_NEEDS_RESET = 8'h40;

localparam [7:0] CAUSE_DMA_WINDOW = 8'd11;


localparam [3:0]
    STATE_IDLE = 4'd0,
    STATE_WRITE = 4'd1,
    STATE_WR_CTRL = 4'd2,
    STATE_WR_CFG = 4'd3,
    STATE_BRESP = 4'd4,
    STATE_READ = 4'd5,
    STATE_RD_CFG = 4'd6,
    STATE_RRESP = 4'd7,
    STATE_WR_LAYOUT = 4'd8;

// parameter checks
initial begin
    if (AXIL_ADDR_WIDTH < 9 || AXIL_ADDR_WIDTH > 24) begin
        $error("Error: AXIL_ADDR_WIDTH must be 9 to 24 (instance %m)");
        $finish;
    end

    if (CONFIG_SIZE < 0 || CONFIG_SIZE % 4 != 0 || CONFIG_SIZE > (2**AXIL_ADDR_WIDTH) - 256) begin
        $error("Error: CONFIG_SIZE must be a multiple of 4 that fits above 0x100 (instance %m)");
        $finish;
    end

    if (DMA_SIZE == 0 || {1'b0, DMA_BASE} + DMA_SIZE > (65'd1 << ADDR_WIDTH)) begin
        $error("Error: the DMA window must be non-empty and inside the address space (instance %m)");
        $finish;
    end
end

reg [3:0] state_reg, state_next;
reg prefer_read_reg, prefer_read_next;

// the access being served
reg [AXIL_ADDR_WIDTH-1:0] addr_reg, addr_next;
reg [31:0] wdata_reg, wdata_next;
reg [3:0] wstrb_reg, wstrb_next;

reg s_axil_awready_reg, s_axil_awready_next;
reg s_axil_wready_reg, s_axil_wready_next;
reg s_axil_bvalid_reg, s_axil_bvalid_next;
reg s_axil_arready_reg, s_axil_arready_next;
reg [31:0] s_axil_rdata_reg, s_axil_rdata_next;
reg s_axil_rvalid_reg, s_axil_rvalid_next;

reg [AXIL_ADDR_WIDTH-1:0] cfg_req_addr_reg, cfg_req_addr_next;
reg cfg_req_write_reg, cfg_req_write_next;
reg [31:0] cfg_req_wdata_reg, cfg_req_wdata_next;
reg [3:0] cfg_req_wstrb_reg, cfg_req_wstrb_next;
reg cfg_req_valid_reg, cfg_req_valid_next;

// device registers
reg [7:0] status_reg, status_next;
reg [1:0] isr_reg, isr_next;
reg [31:0] error_reg, error_next;
// error_reg != 0, registered beside it: the broken state fans out to every unit
reg broken_reg;
wire broken = broken_reg;
reg [31:0] host_features_sel_reg, host_features_sel_next;
reg [31:0] guest_features_sel_reg, guest_features_sel_next;
reg [63:0] guest_features_reg, guest_features_next;
reg [4:0] page_shift_reg, page_shift_next;
reg [31:0] queue_sel_reg, queue_sel_next;

// per-queue registers
reg [15:0] num_reg [0:NUM_QUEUES-1];
reg [4:0] align_shift_reg [0:NUM_QUEUES-1];
reg [31:0] pfn_reg [0:NUM_QUEUES-1];
// pfn_reg != 0, kept beside it (the engine's decisions read it, not a 32-bit compare)
reg [NUM_QUEUES-1:0] live_reg;
reg [ADDR_WIDTH-1:0] desc_reg [0:NUM_QUEUES-1];
reg [ADDR_WIDTH-1:0] avail_reg [0:NUM_QUEUES-1];
reg [ADDR_WIDTH-1:0] used_reg [0:NUM_QUEUES-1];

reg ctrl_valid_reg, ctrl_valid_next;
reg ctrl_reset_reg, ctrl_reset_next;
reg [Q_W-1:0] ctrl_queue_reg, ctrl_queue_next;
reg notify_valid_reg, notify_valid_next;
reg [Q_W-1:0] notify_queue_reg, notify_queue_next;
reg backend_reset_reg, backend_reset_next;
reg irq_reg;

// per-queue register update strobes (applied in the clocked block)
reg q_num_we;
reg q_align_we;
reg q_pfn_we;
reg q_pfn_clr;
reg q_reset_all;

// scratch
reg [1:0] isr_ack;
reg act_fail;
reg [4:0] wdata_log2;
integer i;
// (the clocked block's own loop variable: one driver per variable)
integer qi;

wire [NUM_QUEUES-1:0] live;
wire any_live = |live;

// the selected queue
wire qsel_ok = queue_sel_reg < NQ32;
wire [Q_W-1:0] qsel = queue_sel_reg[Q_W-1:0];
wire qsel_live = qsel_ok && live[qsel];
wire [31:0] sel_pfn = pfn_reg[qsel];

// decode of the access being served
wire in_config = addr_reg >= CONFIG_BASE;
wire [AXIL_ADDR_WIDTH-1:0] cfg_word = {addr_reg[AXIL_ADDR_WIDTH-1:2], 2'b00} - CONFIG_BASE;
wire cfg_in_range = {{(32-AXIL_ADDR_WIDTH){1'b0}}, cfg_word} < CONFIG_SIZE32;
// config writes of 1, 2 or 4 naturally aligned bytes
wire cfg_strb_ok = wstrb_reg == 4'b0001 || wstrb_reg == 4'b0010 || wstrb_reg == 4'b0100 || wstrb_reg == 4'b1000
    || wstrb_reg == 4'b0011 || wstrb_reg == 4'b1100 || wstrb_reg == 4'b1111;
wire reg_word_ok = addr_reg[1:0] == 2'b00;
wire [7:0] reg_off = addr_reg[7:0];
wire wdata_pow2 = wdata_reg != 0 && (wdata_reg & (wdata_reg - 32'd1)) == 0;

// legacy ring layout of the selected queue for QueuePFN = wdata (model/vio/ring.py)
wire [15:0] sel_num = num_reg[qsel];
wire [4:0] sel_align_shift = align_shift_reg[qsel];
reg layout_start;
wire layout_done, layout_ok;
wire [ADDR_WIDTH-1:0] layout_desc, layout_avail, layout_used;

virtio_mmio_layout #(
    .ADDR_WIDTH(ADDR_WIDTH),
    .DMA_BASE(DMA_BASE),
    .DMA_SIZE(DMA_SIZE)
)
layout_inst (
    .clk(clk),
    .rst(rst),
    .start(layout_start),
    .pfn(wdata_reg),
    .page_shift(page_shift_reg),
    .align_shift(sel_align_shift),
    .num(sel_num),
    .done(layout_done),
    .ok(layout_ok),
    .desc(layout_desc),
    .avail(layout_avail),
    .used(layout_used)
);

assign s_axil_awready = s_axil_awready_reg;
assign s_axil_wready = s_axil_wready_reg;
assign s_axil_bresp = 2'b00;
assign s_axil_bvalid = s_axil_bvalid_reg;
assign s_axil_arready = s_axil_arready_reg;
assign s_axil_rdata = s_axil_rdata_reg;
assign s_axil_rresp = 2'b00;
assign s_axil_rvalid = s_axil_rvalid_reg;

assign cfg_req_addr = cfg_req_addr_reg;
assign cfg_req_write = cfg_req_write_reg;
assign cfg_req_wdata = cfg_req_wdata_reg;
assign cfg_req_wstrb = cfg_req_wstrb_reg;
assign cfg_req_valid = cfg_req_valid_reg;

assign backend_reset = backend_reset_reg;
assign irq = irq_reg;

assign q_live = live;
// negotiated = accepted by the driver and offered by the device
assign feat_notify_on_empty = guest_features_reg[24] && HOST_FEATURES[24];
assign feat_indirect = guest_features_reg[28] && HOST_FEATURES[28];
assign feat_event_idx = guest_features_reg[29] && HOST_FEATURES[29];
assign broken_next = error_next != 32'd0;
assign notify_valid = notify_valid_reg;
assign notify_queue = notify_queue_reg;
assign ctrl_valid = ctrl_valid_reg;
assign ctrl_reset = ctrl_reset_reg;
assign ctrl_queue = ctrl_queue_reg;

genvar n;

generate

for (n = 0; n < NUM_QUEUES; n = n + 1) begin : queue_out
    assign live[n] = live_reg[n];
    assign q_num[n*16 +: 16] = num_reg[n];
    assign q_desc_addr[n*ADDR_WIDTH +: ADDR_WIDTH] = desc_reg[n];
    assign q_avail_addr[n*ADDR_WIDTH +: ADDR_WIDTH] = avail_reg[n];
    assign q_used_addr[n*ADDR_WIDTH +: ADDR_WIDTH] = used_reg[n];
end

endgenerate

// protection bits are not used; the layout is inside the DMA window, whose
// top lies within ADDR_WIDTH bits
wire unused_ok = &{1'b0, s_axil_awprot, s_axil_arprot};

always @* begin
    state_next = state_reg;
    prefer_read_next = prefer_read_reg;

    addr_next = addr_reg;
    wdata_next = wdata_reg;
    wstrb_next = wstrb_reg;

    s_axil_awready_next = 1'b0;
    s_axil_wready_next = 1'b0;
    s_axil_bvalid_next = s_axil_bvalid_reg && !s_axil_bready;
    s_axil_arready_next = 1'b0;
    s_axil_rdata_next = s_axil_rdata_reg;
    s_axil_rvalid_next = s_axil_rvalid_reg && !s_axil_rready;

    cfg_req_addr_next = cfg_req_addr_reg;
    cfg_req_write_next = cfg_req_write_reg;
    cfg_req_wdata_next = cfg_req_wdata_reg;
    cfg_req_wstrb_next = cfg_req_wstrb_reg;
    cfg_req_valid_next = cfg_req_valid_reg && !cfg_req_ready;

    status_next = status_reg;
    isr_next = isr_reg;
    error_next = error_reg;
    host_features_sel_next = host_features_sel_reg;
    guest_features_sel_next = guest_features_sel_reg;
    guest_features_next = guest_features_reg;
    page_shift_next = page_shift_reg;
    queue_sel_next = queue_sel_reg;

    ctrl_valid_next = ctrl_valid_reg;
    ctrl_reset_next = ctrl_reset_reg;
    ctrl_queue_next = ctrl_queue_reg;
    notify_valid_next = 1'b0;
    notify_queue_next = notify_queue_reg;
    backend_reset_next = 1'b0;

    q_num_we = 1'b0;
    q_align_we = 1'b0;
    q_pfn_we = 1'b0;
    layout_start = 1'b0;
    q_pfn_clr = 1'b0;
    q_reset_all = 1'b0;

    isr_ack = 2'b00;
    act_fail = 1'b0;

    // log2 of a power-of-two write value
    wdata_log2 = 5'd0;
    for (i = 0; i < 32; i = i + 1) begin
        if (wdata_reg[i]) begin
            wdata_log2 = i[4:0];
        end
    end

    case (state_reg)
        STATE_IDLE: begin
            if (s_axil_awready_reg) begin
                // AW and W handshake this cycle
                addr_next = s_axil_awaddr;
                wdata_next = s_axil_wdata;
                wstrb_next = s_axil_wstrb;
                prefer_read_next = 1'b1;
                state_next = STATE_WRITE;
            end else if (s_axil_arready_reg) begin
                // AR handshake this cycle
                addr_next = s_axil_araddr;
                prefer_read_next = 1'b0;
                state_next = STATE_READ;
            end else if (s_axil_awvalid && s_axil_wvalid && (!s_axil_arvalid || !prefer_read_reg)) begin
                s_axil_awready_next = 1'b1;
                s_axil_wready_next = 1'b1;
            end else if (s_axil_arvalid) begin
                s_axil_arready_next = 1'b1;
            end
        end
        STATE_WRITE: begin
            state_next = STATE_BRESP;
            s_axil_bvalid_next = 1'b1;
            if (in_config) begin
                if (cfg_in_range && cfg_strb_ok) begin
                    cfg_req_addr_next = cfg_word;
                    cfg_req_write_next = 1'b1;
                    cfg_req_wdata_next = wdata_reg;
                    cfg_req_wstrb_next = wstrb_reg;
                    cfg_req_valid_next = 1'b1;
                    s_axil_bvalid_next = 1'b0;
                    state_next = STATE_WR_CFG;
                end
            end else if (wstrb_reg == 4'b1111 && reg_word_ok) begin
                case (reg_off)
                    REG_HOST_FEATURES_SEL: begin
                        host_features_sel_next = wdata_reg;
                    end
                    REG_GUEST_FEATURES: begin
                        // frozen once DRIVER_OK is set
                        if (guest_features_sel_reg < 2 && (status_reg & STATUS_DRIVER_OK) == 0) begin
                            if (guest_features_sel_reg[0]) begin
                                guest_features_next[63:32] = wdata_reg;
                            end else begin
                                guest_features_next[31:0] = wdata_reg;
                            end
                        end
                    end
                    REG_GUEST_FEATURES_SEL: begin
                        guest_features_sel_next = wdata_reg;
                    end
                    REG_GUEST_PAGE_SIZE: begin
                        // case 17: not while a queue is live
                        if (wdata_pow2 && !any_live) begin
                            page_shift_next = wdata_log2;
                        end
                    end
                    REG_QUEUE_SEL: begin
                        queue_sel_next = wdata_reg;
                    end
                    REG_QUEUE_NUM: begin
                        // cases 15 and 17: ignored unless a power of two <= QueueNumMax on an idle queue
                        if (qsel_ok && !qsel_live && wdata_pow2 && wdata_reg <= NUM_MAX) begin
                            q_num_we = 1'b1;
                        end
                    end
                    REG_QUEUE_ALIGN: begin
                        if (qsel_ok && !qsel_live && wdata_pow2) begin
                            q_align_we = 1'b1;
                        end
                    end
                    REG_QUEUE_PFN: begin
                        if (qsel_ok && !broken) begin
                            if (wdata_reg == 0) begin
                                if (qsel_live) begin
                                    // case 18: the engine stops the queue first
                                    ctrl_valid_next = 1'b1;
                                    ctrl_reset_next = 1'b0;
                                    ctrl_queue_next = qsel;
                                    s_axil_bvalid_next = 1'b0;
                                    state_next = STATE_WR_CTRL;
                                end
                            end else if (!qsel_live) begin
                                // activate: the whole ring inside the DMA window (case 11),
                                // once its layout is computed
                                layout_start = 1'b1;
                                s_axil_bvalid_next = 1'b0;
                                state_next = STATE_WR_LAYOUT;
                            end
                        end
                    end
                    REG_QUEUE_NOTIFY: begin
                        // case 16: the engine ignores missing, idle or broken queues
                        if (wdata_reg < NQ32) begin
                            notify_valid_next = 1'b1;
                            notify_queue_next = wdata_reg[Q_W-1:0];
                        end
                    end
                    REG_INTERRUPT_ACK: begin
                        isr_ack = wdata_reg[1:0];
                    end
                    REG_STATUS: begin
                        if (wdata_reg == 0) begin
                            // case 19: the engine stops first
                            ctrl_valid_next = 1'b1;
                            ctrl_reset_next = 1'b1;
                            s_axil_bvalid_next = 1'b0;
                            state_next = STATE_WR_CTRL;
                        end else begin
                            status_next = wdata_reg[7:0] & ~STATUS_NEEDS_RESET;
                        end
                    end
                    default: begin
                        // read-only or unmapped: ignored
                    end
                endcase
            end
        end
        STATE_WR_CTRL: begin
            if (ctrl_ack) begin
                ctrl_valid_next = 1'b0;
                if (ctrl_reset_reg) begin
                    q_reset_all = 1'b1;
                    backend_reset_next = 1'b1;
                end else begin
                    q_pfn_clr = 1'b1;
                end
                s_axil_bvalid_next = 1'b1;
                state_next = STATE_BRESP;
            end
        end
        STATE_WR_LAYOUT: begin
            if (layout_done) begin
                if (layout_ok) begin
                    q_pfn_we = 1'b1;
                end else begin
                    act_fail = 1'b1;
                end
                s_axil_bvalid_next = 1'b1;
                state_next = STATE_BRESP;
            end
        end
        STATE_WR_CFG: begin
            if (cfg_rsp_valid && (!cfg_req_valid_reg || cfg_req_ready)) begin
                s_axil_bvalid_next = 1'b1;
                state_next = STATE_BRESP;
            end
        end
        STATE_BRESP: begin
            if (!s_axil_bvalid_reg || s_axil_bready) begin
                state_next = STATE_IDLE;
            end
        end
        STATE_READ: begin
            state_next = STATE_RRESP;
            s_axil_rvalid_next = 1'b1;
            s_axil_rdata_next = 32'd0;
            if (in_config) begin
                if (cfg_in_range) begin
                    cfg_req_addr_next = cfg_word;
                    cfg_req_write_next = 1'b0;
                    cfg_req_wdata_next = 32'd0;
                    cfg_req_wstrb_next = 4'b0000;
                    cfg_req_valid_next = 1'b1;
                    s_axil_rvalid_next = 1'b0;
                    state_next = STATE_RD_CFG;
                end
            end else if (reg_word_ok) begin
                case (reg_off)
                    REG_MAGIC_VALUE: s_axil_rdata_next = MAGIC_VALUE;
                    REG_VERSION: s_axil_rdata_next = LEGACY_VERSION;
                    REG_DEVICE_ID: s_axil_rdata_next = DEVICE_ID_VAL;
                    REG_VENDOR_ID: s_axil_rdata_next = VENDOR_ID_VAL;
                    REG_HOST_FEATURES: begin
                        if (host_features_sel_reg == 0) begin
                            s_axil_rdata_next = HOST_FEATURES[31:0];
                        end else if (host_features_sel_reg == 1) begin
                            s_axil_rdata_next = HOST_FEATURES[63:32];
                        end
                    end
                    REG_QUEUE_NUM_MAX: s_axil_rdata_next = qsel_ok ? NUM_MAX : 32'd0;
                    REG_QUEUE_PFN: s_axil_rdata_next = qsel_ok ? sel_pfn : 32'd0;
                    REG_INTERRUPT_STATUS: s_axil_rdata_next = {30'd0, isr_reg};
                    REG_STATUS: s_axil_rdata_next = {24'd0, status_reg | (broken ? STATUS_NEEDS_RESET : 8'd0)};
                    REG_DEVICE_ERROR: s_axil_rdata_next = error_reg;
                    default: s_axil_rdata_next = 32'd0;
                endcase
            end
        end
        STATE_RD_CFG: begin
            if (cfg_rsp_valid && (!cfg_req_valid_reg || cfg_req_ready)) begin
                s_axil_rdata_next = cfg_rsp_rdata;
                s_axil_rvalid_next = 1'b1;
                state_next = STATE_RRESP;
            end
        end
        STATE_RRESP: begin
            if (!s_axil_rvalid_reg || s_axil_rready) begin
                state_next = STATE_IDLE;
            end
        end
        default: begin
            state_next = STATE_IDLE;
        end
    endcase

    // interrupt status and the broken state; the engine's reports are
    // dropped while a reset is in progress
    isr_next = isr_reg & ~isr_ack;
    if (!(ctrl_valid_reg && ctrl_reset_reg)) begin
        if (irq_vring) begin
            isr_next[0] = 1'b1;
        end
        if (config_changed && !broken) begin
            isr_next[1] = 1'b1;
        end
        if (err_valid && !broken) begin
            error_next = {err_info, err_queue, err_cause};
            isr_next[1] = 1'b1;
        end else if (act_fail) begin
            error_next = {16'd0, {(8-Q_W){1'b0}}, qsel, CAUSE_DMA_WINDOW};
            isr_next[1] = 1'b1;
        end
    end

    // Status=0 done: every register back to its reset value but the page
    // size, which Linux writes once, before its Status=0 (as QEMU, only rst
    // sets it; docs/linux.md, the reset table)
    if (q_reset_all) begin
        status_next = 8'd0;
        isr_next = 2'b00;
        error_next = 32'd0;
        host_features_sel_next = 32'd0;
        guest_features_sel_next = 32'd0;
        guest_features_next = 64'd0;
        queue_sel_next = 32'd0;
    end
end

always @(posedge clk) begin
    state_reg <= state_next;
    prefer_read_reg <= prefer_read_next;

    addr_reg <= addr_next;
    wdata_reg <= wdata_next;
    wstrb_reg <= wstrb_next;

    s_axil_awready_reg <= s_axil_awready_next;
    s_axil_wready_reg <= s_axil_wready_next;
    s_axil_bvalid_reg <= s_axil_bvalid_next;
    s_axil_arready_reg <= s_axil_arready_next;
    s_axil_rdata_reg <= s_axil_rdata_next;
    s_axil_rvalid_reg <= s_axil_rvalid_next;

    cfg_req_addr_reg <= cfg_req_addr_next;
    cfg_req_write_reg <= cfg_req_write_next;
    cfg_req_wdata_reg <= cfg_req_wdata_next;
    cfg_req_wstrb_reg <= cfg_req_wstrb_next;
    cfg_req_valid_reg <= cfg_req_valid_next;

    status_reg <= status_next;
    isr_reg <= isr_next;
    error_reg <= error_next;
    broken_reg <= broken_next;
    host_features_sel_reg <= host_features_sel_next;
    guest_features_sel_reg <= guest_features_sel_next;
    guest_features_reg <= guest_features_next;
    page_shift_reg <= page_shift_next;
    queue_sel_reg <= queue_sel_next;

    ctrl_valid_reg <= ctrl_valid_next;
    ctrl_reset_reg <= ctrl_reset_next;
    ctrl_queue_reg <= ctrl_queue_next;
    notify_valid_reg <= notify_valid_next;
    notify_queue_reg <= notify_queue_next;
    backend_reset_reg <= backend_reset_next;
    irq_reg <= isr_next != 0;

    if (q_num_we) begin
        num_reg[qsel] <= wdata_reg[15:0];
    end

    if (q_align_we) begin
        align_shift_reg[qsel] <= wdata_log2;
    end

    if (q_pfn_we) begin
        pfn_reg[qsel] <= wdata_reg;
        live_reg[qsel] <= wdata_reg != 32'd0;
        desc_reg[qsel] <= layout_desc;
        avail_reg[qsel] <= layout_avail;
        used_reg[qsel] <= layout_used;
    end

    if (q_pfn_clr) begin
        pfn_reg[ctrl_queue_reg] <= 32'd0;
        live_reg[ctrl_queue_reg] <= 1'b0;
    end

    for (qi = 0; qi < NUM_QUEUES; qi = qi + 1) begin
        if (rst || q_reset_all) begin
            num_reg[qi] <= NUM_MAX16;
            align_shift_reg[qi] <= 5'd12;
            pfn_reg[qi] <= 32'd0;
            live_reg[qi] <= 1'b0;
        end
    end

    if (rst) begin
        state_reg <= STATE_IDLE;
        prefer_read_reg <= 1'b0;
        s_axil_awready_reg <= 1'b0;
        s_axil_wready_reg <= 1'b0;
        s_axil_bvalid_reg <= 1'b0;
        s_axil_arready_reg <= 1'b0;
        s_axil_rvalid_reg <= 1'b0;
        cfg_req_valid_reg <= 1'b0;
        status_reg <= 8'd0;
        isr_reg <= 2'd0;
        error_reg <= 32'd0;
        broken_reg <= 1'b0;
        host_features_sel_reg <= 32'd0;
        guest_features_sel_reg <= 32'd0;
        guest_features_reg <= 64'd0;
        page_shift_reg <= 5'd12;
        queue_sel_reg <= 32'd0;
        ctrl_valid_reg <= 1'b0;
        notify_valid_reg <= 1'b0;
        backend_reset_reg <= 1'b0;
        irq_reg <= 1'b0;
    end
end

endmodule

`resetall
