`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * virtio-mmio DMA write engine: writes bytes of a packed input stream (or a
 * small immediate value) to a byte address with AXI4 INCR bursts (split at
 * 4 KiB and AXI_MAX_BURST_LEN), byte strobes for unaligned starts and ends.
 *
 * Request modes:
 *   MODE_STREAM: write up to req_len bytes taken from the input stream.
 *                Finishes when req_len bytes are written or the input packet
 *                has ended (in_last seen and every byte of it written).
 *                Bytes left over in a beat stay for the next request, so the
 *                writable segments of a chain take one answer packet in turn.
 *                req_start=1 marks the first request of a new input packet.
 *   MODE_IMM:    write req_len (1..8) bytes of req_imm (little-endian).
 *   MODE_DRAIN:  consume and drop the rest of the input packet (req_start=1
 *                for a packet not yet begun); no bus access.
 * Each request ends with one resp_valid pulse: resp_count = bytes written,
 * resp_ended = the input packet is used up.
 *
 * An AW is issued only when data for it is held; if the packet ends in the
 * middle of an issued burst, the rest of that burst goes out with wstrb 0.
 * Up to MAX_OUTSTANDING bursts wait for their B response.
 *
 * Errors: SLVERR/DECERR on B sets err (sticky until err_clr). The caller
 * waits for busy to fall before it trusts err.
 *
 * flush: stop taking input, finish the burst in progress with wstrb 0 beats,
 * issue nothing new; busy falls once every B response is back.
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
    parameter MAX_OUTSTANDING = 4
)
(
    input  wire                       clk,
    input  wire                       rst,

    /*
     * Write request
     */
    input  wire [1:0]                 req_mode,
    input  wire                       req_start,
    input  wire [AXI_ADDR_WIDTH-1:0]  req_addr,
    input  wire [31:0]                req_len,
    input  wire [63:0]                req_imm,
    input  wire                       req_valid,
    output wire                       req_ready,

    /*
     * Request completion
     */
    output wire                       resp_valid,
    output wire [31:0]                resp_count,
    output wire                       resp_ended,

    /*
     * Packed byte stream in (tkeep contiguous from lane 0)
     */
    input  wire [AXI_DATA_WIDTH-1:0]  in_data,
    input  wire [AXI_STRB_WIDTH-1:0]  in_keep,
    input  wire                       in_last,
    input  wire                       in_valid,
    output wire                       in_ready,

    /*
     * Control and status
     */
    input  wire                       flush,
    input  wire                       err_clr,
    output wire                       busy,
    output wire                       err,

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
// byte offset within a bus word
localparam OFF_W = $clog2(BYTE_LANES);
// byte count 0..BYTE_LANES
localparam CNT_W = OFF_W+1;
// byte count 0..2*BYTE_LANES (the accumulator)
localparam ACC_CNT_W = OFF_W+2;
localparam OUTS_W = $clog2(MAX_OUTSTANDING+1);

localparam [1:0]
    MODE_STREAM = 2'd0,
    MODE_IMM = 2'd1,
    MODE_DRAIN = 2'd2;

localparam [CNT_W-1:0] LANES = BYTE_LANES[CNT_W-1:0];
localparam [OUTS_W-1:0] OUTS_MAX = MAX_OUTSTANDING[OUTS_W-1:0];
localparam [8:0] BURST_MAX = AXI_MAX_BURST_LEN[8:0];
localparam [2:0] AXI_SIZE = OFF_W[2:0];

// bus parameter checks
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

    if (MAX_OUTSTANDING < 1) begin
        $error("Error: MAX_OUTSTANDING must be at least 1 (instance %m)");
        $finish;
    end
end

reg active_reg, active_next;
reg [1:0] mode_reg, mode_next;
// next byte address to write, bytes still allowed, bytes written
reg [AXI_ADDR_WIDTH-1:0] addr_reg, addr_next;
reg [31:0] left_reg, left_next;
reg [31:0] count_reg, count_next;
// the input packet's last beat has been taken in
reg ended_reg, ended_next;

// bytes taken from the input and not yet written, from lane 0 up
reg [2*AXI_DATA_WIDTH-1:0] acc_reg, acc_next;
reg [ACC_CNT_W-1:0] acc_cnt_reg, acc_cnt_next;

// W beats still owed to the burst last issued
reg [8:0] w_beats_reg, w_beats_next;
reg [OUTS_W-1:0] outstanding_reg, outstanding_next;
reg err_reg, err_next;

reg resp_valid_reg, resp_valid_next;
reg [31:0] resp_count_reg, resp_count_next;
reg resp_ended_reg, resp_ended_next;

reg [AXI_ADDR_WIDTH-1:0] m_axi_awaddr_reg, m_axi_awaddr_next;
reg [7:0] m_axi_awlen_reg, m_axi_awlen_next;
reg m_axi_awvalid_reg, m_axi_awvalid_next;
reg [AXI_DATA_WIDTH-1:0] m_axi_wdata_reg, m_axi_wdata_next;
reg [AXI_STRB_WIDTH-1:0] m_axi_wstrb_reg, m_axi_wstrb_next;
reg m_axi_wlast_reg, m_axi_wlast_next;
reg m_axi_wvalid_reg, m_axi_wvalid_next;

// scratch
reg [OFF_W-1:0] off;
reg [CNT_W-1:0] want;
reg [CNT_W-1:0] take;
reg beat_go;
reg [2*AXI_DATA_WIDTH-1:0] acc_after;
reg [ACC_CNT_W-1:0] cnt_after;
reg [CNT_W-1:0] n_in;
reg [31:0] eff_left;
reg [32:0] beats_left;
reg [12:0] beats_4k;
reg [8:0] burst;
integer i;

assign req_ready = !active_reg && !flush;

assign resp_valid = resp_valid_reg;
assign resp_count = resp_count_reg;
assign resp_ended = resp_ended_reg;

// input is taken while the accumulator has room for a whole beat
assign in_ready = active_reg && !flush && !ended_reg
    && (mode_reg == MODE_DRAIN || (mode_reg == MODE_STREAM && acc_cnt_reg <= {1'b0, LANES}));

assign busy = active_reg || m_axi_awvalid_reg || m_axi_wvalid_reg || w_beats_reg != 0 || outstanding_reg != 0;
assign err = err_reg;

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

// B IDs are not checked: every burst uses ID 0
wire unused_ok = &{1'b0, m_axi_bid, m_axi_bresp[0]};

always @* begin
    active_next = active_reg;
    mode_next = mode_reg;
    addr_next = addr_reg;
    left_next = left_reg;
    count_next = count_reg;
    ended_next = ended_reg;
    acc_next = acc_reg;
    acc_cnt_next = acc_cnt_reg;
    w_beats_next = w_beats_reg;
    outstanding_next = outstanding_reg;
    err_next = err_reg;

    resp_valid_next = 1'b0;
    resp_count_next = resp_count_reg;
    resp_ended_next = resp_ended_reg;

    m_axi_awaddr_next = m_axi_awaddr_reg;
    m_axi_awlen_next = m_axi_awlen_reg;
    m_axi_awvalid_next = m_axi_awvalid_reg && !m_axi_awready;
    m_axi_wdata_next = m_axi_wdata_reg;
    m_axi_wstrb_next = m_axi_wstrb_reg;
    m_axi_wlast_next = m_axi_wlast_reg;
    m_axi_wvalid_next = m_axi_wvalid_reg && !m_axi_wready;

    off = addr_reg[OFF_W-1:0];
    want = {CNT_W{1'b0}};
    take = {CNT_W{1'b0}};
    beat_go = 1'b0;
    n_in = {CNT_W{1'b0}};
    eff_left = 32'd0;
    beats_left = 33'd0;
    beats_4k = 13'd0;
    burst = 9'd0;

    if (err_clr) begin
        err_next = 1'b0;
    end

    // W: next beat of the burst in progress, once its bytes are held
    // (or the packet has ended, or a flush turns the rest into padding)
    if (left_reg < {{(32-CNT_W){1'b0}}, LANES - {1'b0, off}}) begin
        want = left_reg[CNT_W-1:0];
    end else begin
        want = LANES - {1'b0, off};
    end

    if (w_beats_reg != 0 && (!m_axi_wvalid_reg || m_axi_wready)) begin
        if (flush) begin
            take = {CNT_W{1'b0}};
            beat_go = 1'b1;
        end else if (acc_cnt_reg >= {1'b0, want}) begin
            take = want;
            beat_go = 1'b1;
        end else if (ended_reg) begin
            take = acc_cnt_reg[CNT_W-1:0];
            beat_go = 1'b1;
        end
    end

    acc_after = acc_reg >> {take, 3'b000};
    cnt_after = acc_cnt_reg - {1'b0, take};

    if (beat_go) begin
        m_axi_wdata_next = acc_reg[AXI_DATA_WIDTH-1:0] << {off, 3'b000};
        m_axi_wstrb_next = (~({AXI_STRB_WIDTH{1'b1}} << take)) << off;
        m_axi_wlast_next = w_beats_reg == 9'd1;
        m_axi_wvalid_next = 1'b1;
        w_beats_next = w_beats_reg - 9'd1;
        acc_next = acc_after;
        acc_cnt_next = cnt_after;
        addr_next = addr_reg + {{(AXI_ADDR_WIDTH-CNT_W){1'b0}}, take};
        left_next = left_reg - {{(32-CNT_W){1'b0}}, take};
        count_next = count_reg + {{(32-CNT_W){1'b0}}, take};
    end

    // input: append behind the bytes held (or drop them when draining)
    if (in_valid && in_ready) begin
        for (i = 0; i < AXI_STRB_WIDTH; i = i + 1) begin
            n_in = n_in + {{(CNT_W-1){1'b0}}, in_keep[i]};
        end
        if (mode_reg == MODE_STREAM) begin
            acc_next = acc_next | ({{AXI_DATA_WIDTH{1'b0}}, in_data & ~({AXI_DATA_WIDTH{1'b1}} << {n_in, 3'b000})} << {cnt_after, 3'b000});
            acc_cnt_next = cnt_after + {1'b0, n_in};
        end
        if (in_last) begin
            ended_next = 1'b1;
        end
    end

    // AW: next burst, once there is something to write
    if (ended_reg && {{(32-ACC_CNT_W){1'b0}}, acc_cnt_reg} < left_reg) begin
        eff_left = {{(32-ACC_CNT_W){1'b0}}, acc_cnt_reg};
    end else begin
        eff_left = left_reg;
    end
    beats_4k = (13'h1000 - {1'b0, addr_reg[11:OFF_W], {OFF_W{1'b0}}}) >> OFF_W;
    beats_left = ({1'b0, eff_left} + {{(33-OFF_W){1'b0}}, off} + {{(33-CNT_W){1'b0}}, LANES} - 33'd1) >> OFF_W;
    burst = BURST_MAX;
    if ({4'd0, burst} > beats_4k) begin
        burst = beats_4k[8:0];
    end
    if ({24'd0, burst} > beats_left) begin
        burst = beats_left[8:0];
    end
    if (active_reg && mode_reg != MODE_DRAIN && !flush && w_beats_reg == 0 && !m_axi_awvalid_reg
            && eff_left != 0 && acc_cnt_reg != 0 && outstanding_reg < OUTS_MAX) begin
        m_axi_awaddr_next = {addr_reg[AXI_ADDR_WIDTH-1:OFF_W], {OFF_W{1'b0}}};
        m_axi_awlen_next = burst[7:0] - 8'd1;
        m_axi_awvalid_next = 1'b1;
        w_beats_next = burst;
        outstanding_next = outstanding_next + 1'b1;
    end

    // B
    if (m_axi_bvalid) begin
        outstanding_next = outstanding_next - 1'b1;
        if (m_axi_bresp[1]) begin
            err_next = 1'b1;
        end
    end

    // end of request
    if (active_reg && !flush) begin
        if (mode_reg == MODE_DRAIN) begin
            if (ended_reg) begin
                active_next = 1'b0;
                resp_valid_next = 1'b1;
                resp_count_next = 32'd0;
                resp_ended_next = 1'b1;
            end
        end else if (w_beats_reg == 0 && (left_reg == 0 || (ended_reg && acc_cnt_reg == 0))) begin
            active_next = 1'b0;
            resp_valid_next = 1'b1;
            resp_count_next = count_reg;
            resp_ended_next = ended_reg && acc_cnt_reg == 0;
        end
    end

    // new request
    if (req_valid && req_ready) begin
        active_next = 1'b1;
        mode_next = req_mode;
        addr_next = req_addr;
        left_next = req_len;
        count_next = 32'd0;
        case (req_mode)
            MODE_IMM: begin
                acc_next = {2*AXI_DATA_WIDTH{1'b0}};
                acc_next[63:0] = req_imm;
                acc_cnt_next = req_len[ACC_CNT_W-1:0];
                ended_next = 1'b1;
            end
            MODE_DRAIN: begin
                acc_next = {2*AXI_DATA_WIDTH{1'b0}};
                acc_cnt_next = {ACC_CNT_W{1'b0}};
                if (req_start) begin
                    ended_next = 1'b0;
                end
            end
            default: begin
                if (req_start) begin
                    acc_next = {2*AXI_DATA_WIDTH{1'b0}};
                    acc_cnt_next = {ACC_CNT_W{1'b0}};
                    ended_next = 1'b0;
                end
            end
        endcase
    end

    if (flush) begin
        acc_next = {2*AXI_DATA_WIDTH{1'b0}};
        acc_cnt_next = {ACC_CNT_W{1'b0}};
        if (w_beats_next == 0) begin
            active_next = 1'b0;
        end
    end
end

always @(posedge clk) begin
    active_reg <= active_next;
    mode_reg <= mode_next;
    addr_reg <= addr_next;
    left_reg <= left_next;
    count_reg <= count_next;
    ended_reg <= ended_next;
    acc_reg <= acc_next;
    acc_cnt_reg <= acc_cnt_next;
    w_beats_reg <= w_beats_next;
    outstanding_reg <= outstanding_next;
    err_reg <= err_next;

    resp_valid_reg <= resp_valid_next;
    resp_count_reg <= resp_count_next;
    resp_ended_reg <= resp_ended_next;

    m_axi_awaddr_reg <= m_axi_awaddr_next;
    m_axi_awlen_reg <= m_axi_awlen_next;
    m_axi_awvalid_reg <= m_axi_awvalid_next;
    m_axi_wdata_reg <= m_axi_wdata_next;
    m_axi_wstrb_reg <= m_axi_wstrb_next;
    m_axi_wlast_reg <= m_axi_wlast_next;
    m_axi_wvalid_reg <= m_axi_wvalid_next;

    if (rst) begin
        active_reg <= 1'b0;
        ended_reg <= 1'b0;
        acc_cnt_reg <= {ACC_CNT_W{1'b0}};
        w_beats_reg <= 9'd0;
        outstanding_reg <= {OUTS_W{1'b0}};
        err_reg <= 1'b0;
        resp_valid_reg <= 1'b0;
        m_axi_awvalid_reg <= 1'b0;
        m_axi_wvalid_reg <= 1'b0;
    end
end

`ifdef FORMAL
/*
 * Formal check (README "Formal proofs", `make formal`): every byte this engine
 * writes (a W beat's strobed lane) lies inside the request that produced it,
 * [req_addr, req_addr + req_len), none at all for MODE_DRAIN. The beat's
 * address is counted from the AW it belongs to, as a bus slave places it.
 */
reg [AXI_ADDR_WIDTH:0] f_lo, f_hi;           // request in progress
reg [AXI_ADDR_WIDTH:0] f_burst_addr;          // AW of the burst being filled
reg [8:0] f_beat;                             // beats made of that burst
reg [AXI_ADDR_WIDTH:0] f_w_addr, f_w_lo, f_w_hi;  // the beat on W: address, window
reg [AXI_ADDR_WIDTH:0] f_lane_addr;
integer f_i;

always @(posedge clk) begin
    if (req_valid && req_ready) begin
        f_lo <= {1'b0, req_addr};
        f_hi <= {1'b0, req_addr} + ((req_mode == MODE_DRAIN) ? {(AXI_ADDR_WIDTH+1){1'b0}}
            : {{(AXI_ADDR_WIDTH-31){1'b0}}, req_len});
    end
    if (m_axi_awvalid_next && !m_axi_awvalid_reg) begin
        f_burst_addr <= {1'b0, m_axi_awaddr_next};
        f_beat <= 9'd0;
    end
    if (beat_go) begin
        f_beat <= f_beat + 9'd1;
        f_w_addr <= f_burst_addr + ({{(AXI_ADDR_WIDTH-8){1'b0}}, f_beat} << OFF_W);
        f_w_lo <= f_lo;
        f_w_hi <= f_hi;
    end
end

`ifndef FORMAL_WITNESS
always @* begin
    f_lane_addr = {(AXI_ADDR_WIDTH+1){1'b0}};
    if (!rst && m_axi_wvalid_reg) begin
        for (f_i = 0; f_i < AXI_STRB_WIDTH; f_i = f_i + 1) begin
            f_lane_addr = f_w_addr + f_i;
            if (m_axi_wstrb_reg[f_i]) begin
                assert(f_w_lo <= f_lane_addr && f_lane_addr < f_w_hi);
            end
        end
    end
end
`endif
`endif

endmodule

`resetall
