`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * virtio-mmio DMA read engine: byte-addressed read requests to AXI4 INCR
 * bursts (split at 4 KiB and AXI_MAX_BURST_LEN), data out as a pack_data byte
 * stream. Requests with req_last=0 continue the same output packet, so the
 * readable segments of a chain come out as one pack_data packet.
 *
 * Every burst is issued at the bus-word-aligned address with full-width
 * beats; the bytes outside [req_addr, req_addr+req_len) are dropped here.
 * Up to MAX_OUTSTANDING bursts of one request are in flight; one request is
 * served at a time.
 *
 * Errors: an R beat with SLVERR/DECERR stops the request: no new bursts, the
 * data of the bursts already issued is received and dropped, then one
 * terminator beat (keep 0, last 1, err 1) ends the packet. err stays set and
 * no request is accepted until err_clr.
 *
 * flush: drop the current request and any buffered data; bursts already
 * issued are completed (their data dropped). busy falls once nothing is in
 * flight.
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
    parameter MAX_OUTSTANDING = 4
)
(
    input  wire                       clk,
    input  wire                       rst,

    /*
     * Read request: req_len (>= 1) bytes from byte address req_addr
     */
    input  wire [AXI_ADDR_WIDTH-1:0]  req_addr,
    input  wire [31:0]                req_len,
    input  wire                       req_last,
    input  wire                       req_valid,
    output wire                       req_ready,

    /*
     * Packed byte stream out (bytes from lane 0 up; only a last beat is partial)
     */
    output wire [AXI_DATA_WIDTH-1:0]  out_data,
    output wire [AXI_STRB_WIDTH-1:0]  out_keep,
    output wire                       out_last,
    output wire                       out_err,
    output wire                       out_valid,
    input  wire                       out_ready,

    /*
     * Control and status
     */
    input  wire                       flush,
    input  wire                       err_clr,
    output wire                       busy,
    output wire                       err,

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

// request state: AR side
reg [AXI_ADDR_WIDTH-1:0] ar_addr_reg, ar_addr_next;
reg [32:0] ar_beats_reg, ar_beats_next;
reg [OUTS_W-1:0] outstanding_reg, outstanding_next;

// request state: R side
reg active_reg, active_next;
reg last_req_reg, last_req_next;
reg [OFF_W-1:0] r_off_reg, r_off_next;
reg [31:0] r_bytes_reg, r_bytes_next;

// packer: bytes not yet sent, from lane 0 up
reg [AXI_DATA_WIDTH-1:0] acc_reg, acc_next;
reg [CNT_W-1:0] acc_cnt_reg, acc_cnt_next;
// the packer holds the end of a packet still to be sent
reg rem_reg, rem_next;
// error terminator still to be sent
reg term_reg, term_next;
reg err_reg, err_next;

reg [AXI_ADDR_WIDTH-1:0] m_axi_araddr_reg, m_axi_araddr_next;
reg [7:0] m_axi_arlen_reg, m_axi_arlen_next;
reg m_axi_arvalid_reg, m_axi_arvalid_next;

// internal datapath
reg  [AXI_DATA_WIDTH-1:0] out_data_int;
reg  [AXI_STRB_WIDTH-1:0] out_keep_int;
reg                       out_last_int;
reg                       out_err_int;
reg                       out_valid_int;
reg                       out_ready_int_reg;
wire                      out_ready_int_early;

// output datapath (Forencich-style skid register)
reg [AXI_DATA_WIDTH-1:0] out_data_reg;
reg [AXI_STRB_WIDTH-1:0] out_keep_reg;
reg out_last_reg;
reg out_err_reg;
reg out_valid_reg, out_valid_next;

reg [AXI_DATA_WIDTH-1:0] temp_data_reg;
reg [AXI_STRB_WIDTH-1:0] temp_keep_reg;
reg temp_last_reg;
reg temp_err_reg;
reg temp_valid_reg, temp_valid_next;

reg store_int_to_output;
reg store_int_to_temp;
reg store_temp_to_output;

// R channel accept (from registers only)
reg rready_int;

// scratch
reg [12:0] beats_4k;
reg [8:0] burst;
reg [CNT_W-1:0] n_bytes;
reg [AXI_DATA_WIDTH-1:0] beat_bytes;
reg [2*AXI_DATA_WIDTH-1:0] pack_data;
reg [CNT_W:0] total;
reg pkt_end;

assign req_ready = !active_reg && !rem_reg && !term_reg && !err_reg && !flush;

assign out_data = out_data_reg;
assign out_keep = out_keep_reg;
assign out_last = out_last_reg;
assign out_err = out_err_reg;
assign out_valid = out_valid_reg;

assign busy = active_reg || rem_reg || term_reg || m_axi_arvalid_reg || outstanding_reg != 0;
assign err = err_reg;

assign m_axi_arid = {AXI_ID_WIDTH{1'b0}};
assign m_axi_araddr = m_axi_araddr_reg;
assign m_axi_arlen = m_axi_arlen_reg;
assign m_axi_arsize = AXI_SIZE;
assign m_axi_arburst = 2'b01;
assign m_axi_arlock = 1'b0;
assign m_axi_arcache = 4'b0011;
assign m_axi_arprot = 3'b010;
assign m_axi_arvalid = m_axi_arvalid_reg;
assign m_axi_rready = rready_int;

// enable ready input next cycle if output is ready or the temp reg will not be filled
assign out_ready_int_early = out_ready || (!temp_valid_reg && (!out_valid_reg || !out_valid_int));

// R beat IDs are not checked: every burst uses ID 0
wire unused_ok = &{1'b0, m_axi_rid, m_axi_rresp[0]};

always @* begin
    ar_addr_next = ar_addr_reg;
    ar_beats_next = ar_beats_reg;
    outstanding_next = outstanding_reg;
    active_next = active_reg;
    last_req_next = last_req_reg;
    r_off_next = r_off_reg;
    r_bytes_next = r_bytes_reg;
    acc_next = acc_reg;
    acc_cnt_next = acc_cnt_reg;
    rem_next = rem_reg;
    term_next = term_reg;
    err_next = err_reg;

    m_axi_araddr_next = m_axi_araddr_reg;
    m_axi_arlen_next = m_axi_arlen_reg;
    m_axi_arvalid_next = m_axi_arvalid_reg && !m_axi_arready;

    out_data_int = {AXI_DATA_WIDTH{1'b0}};
    out_keep_int = {AXI_STRB_WIDTH{1'b0}};
    out_last_int = 1'b0;
    out_err_int = 1'b0;
    out_valid_int = 1'b0;

    beats_4k = 13'd0;
    burst = 9'd0;
    n_bytes = {CNT_W{1'b0}};
    beat_bytes = {AXI_DATA_WIDTH{1'b0}};
    pack_data = {2*AXI_DATA_WIDTH{1'b0}};
    total = {(CNT_W+1){1'b0}};
    pkt_end = 1'b0;

    // R beats: accepted while a request wants them and the output can take a beat;
    // dropped while flushing or after an error
    if (flush || err_reg) begin
        rready_int = outstanding_reg != 0;
    end else begin
        rready_int = active_reg && !rem_reg && out_ready_int_reg && outstanding_reg != 0;
    end

    if (err_clr) begin
        err_next = 1'b0;
    end

    // new request
    if (req_valid && req_ready) begin
        ar_addr_next = {req_addr[AXI_ADDR_WIDTH-1:OFF_W], {OFF_W{1'b0}}};
        ar_beats_next = ({1'b0, req_len} + {{(33-OFF_W){1'b0}}, req_addr[OFF_W-1:0]} + {{(33-CNT_W){1'b0}}, LANES} - 33'd1) >> OFF_W;
        r_off_next = req_addr[OFF_W-1:0];
        r_bytes_next = req_len;
        last_req_next = req_last;
        active_next = 1'b1;
    end

    // AR: next burst of the request, at most to the next 4 KiB boundary
    beats_4k = (13'h1000 - {1'b0, ar_addr_reg[11:0]}) >> OFF_W;
    burst = BURST_MAX;
    if ({4'd0, burst} > beats_4k) begin
        burst = beats_4k[8:0];
    end
    if ({24'd0, burst} > ar_beats_reg) begin
        burst = ar_beats_reg[8:0];
    end
    if (active_reg && ar_beats_reg != 0 && !err_reg && !flush
            && (!m_axi_arvalid_reg || m_axi_arready) && outstanding_reg < OUTS_MAX) begin
        m_axi_araddr_next = ar_addr_reg;
        m_axi_arlen_next = burst[7:0] - 8'd1;
        m_axi_arvalid_next = 1'b1;
        ar_addr_next = ar_addr_reg + {{(AXI_ADDR_WIDTH-9-OFF_W){1'b0}}, burst[8:0], {OFF_W{1'b0}}};
        ar_beats_next = ar_beats_reg - {24'd0, burst};
        outstanding_next = outstanding_next + 1'b1;
    end

    // R: pack the valid bytes of each beat behind the bytes already held
    if (m_axi_rvalid && rready_int) begin
        if (m_axi_rlast) begin
            outstanding_next = outstanding_next - 1'b1;
        end

        if (!flush && !err_reg) begin
            if (m_axi_rresp[1]) begin
                // SLVERR or DECERR: stop, drop the rest, then send the terminator
                err_next = 1'b1;
                term_next = 1'b1;
                active_next = 1'b0;
                acc_next = {AXI_DATA_WIDTH{1'b0}};
                acc_cnt_next = {CNT_W{1'b0}};
            end else begin
                if ({1'b0, r_bytes_reg} < {{(33-CNT_W){1'b0}}, LANES - {1'b0, r_off_reg}}) begin
                    n_bytes = r_bytes_reg[CNT_W-1:0];
                end else begin
                    n_bytes = LANES - {1'b0, r_off_reg};
                end

                beat_bytes = (m_axi_rdata >> {r_off_reg, 3'b000}) & ~({AXI_DATA_WIDTH{1'b1}} << {n_bytes, 3'b000});
                pack_data = {{AXI_DATA_WIDTH{1'b0}}, acc_reg} | ({{AXI_DATA_WIDTH{1'b0}}, beat_bytes} << {acc_cnt_reg, 3'b000});
                total = {1'b0, acc_cnt_reg} + {1'b0, n_bytes};

                r_off_next = {OFF_W{1'b0}};
                r_bytes_next = r_bytes_reg - {{(32-CNT_W){1'b0}}, n_bytes};
                if (r_bytes_reg == {{(32-CNT_W){1'b0}}, n_bytes}) begin
                    // last byte of this request
                    active_next = 1'b0;
                    pkt_end = last_req_reg;
                end

                if (total >= {1'b0, LANES}) begin
                    out_data_int = pack_data[AXI_DATA_WIDTH-1:0];
                    out_keep_int = {AXI_STRB_WIDTH{1'b1}};
                    out_last_int = pkt_end && total == {1'b0, LANES};
                    out_valid_int = 1'b1;
                    acc_next = pack_data[2*AXI_DATA_WIDTH-1:AXI_DATA_WIDTH];
                    acc_cnt_next = total[CNT_W-1:0] - LANES;
                    if (pkt_end && total != {1'b0, LANES}) begin
                        rem_next = 1'b1;
                    end
                end else if (pkt_end) begin
                    out_data_int = pack_data[AXI_DATA_WIDTH-1:0];
                    out_keep_int = ~({AXI_STRB_WIDTH{1'b1}} << total[CNT_W-1:0]);
                    out_last_int = 1'b1;
                    out_valid_int = 1'b1;
                    acc_next = {AXI_DATA_WIDTH{1'b0}};
                    acc_cnt_next = {CNT_W{1'b0}};
                end else begin
                    acc_next = pack_data[AXI_DATA_WIDTH-1:0];
                    acc_cnt_next = total[CNT_W-1:0];
                end
            end
        end
    end

    // the end of a packet that did not fit into the beat that filled up
    if (rem_reg && out_ready_int_reg && !flush) begin
        out_data_int = acc_reg;
        out_keep_int = ~({AXI_STRB_WIDTH{1'b1}} << acc_cnt_reg);
        out_last_int = 1'b1;
        out_valid_int = 1'b1;
        acc_next = {AXI_DATA_WIDTH{1'b0}};
        acc_cnt_next = {CNT_W{1'b0}};
        rem_next = 1'b0;
    end

    // error terminator, once every issued burst is back
    if (term_reg && outstanding_reg == 0 && !m_axi_arvalid_reg && out_ready_int_reg && !flush) begin
        out_keep_int = {AXI_STRB_WIDTH{1'b0}};
        out_last_int = 1'b1;
        out_err_int = 1'b1;
        out_valid_int = 1'b1;
        term_next = 1'b0;
    end

    if (flush) begin
        active_next = 1'b0;
        ar_beats_next = 33'd0;
        rem_next = 1'b0;
        term_next = 1'b0;
        acc_next = {AXI_DATA_WIDTH{1'b0}};
        acc_cnt_next = {CNT_W{1'b0}};
    end

    // output datapath logic
    out_valid_next = out_valid_reg;
    temp_valid_next = temp_valid_reg;

    store_int_to_output = 1'b0;
    store_int_to_temp = 1'b0;
    store_temp_to_output = 1'b0;

    if (out_ready_int_reg) begin
        // input is ready
        if (out_ready || !out_valid_reg) begin
            // output is ready or currently not valid, transfer data to output
            out_valid_next = out_valid_int;
            store_int_to_output = 1'b1;
        end else begin
            // output is not ready, store input in temp
            temp_valid_next = out_valid_int;
            store_int_to_temp = 1'b1;
        end
    end else if (out_ready) begin
        // input is not ready, but output is ready
        out_valid_next = temp_valid_reg;
        temp_valid_next = 1'b0;
        store_temp_to_output = 1'b1;
    end

    if (flush) begin
        out_valid_next = 1'b0;
        temp_valid_next = 1'b0;
    end
end

always @(posedge clk) begin
    ar_addr_reg <= ar_addr_next;
    ar_beats_reg <= ar_beats_next;
    outstanding_reg <= outstanding_next;
    active_reg <= active_next;
    last_req_reg <= last_req_next;
    r_off_reg <= r_off_next;
    r_bytes_reg <= r_bytes_next;
    acc_reg <= acc_next;
    acc_cnt_reg <= acc_cnt_next;
    rem_reg <= rem_next;
    term_reg <= term_next;
    err_reg <= err_next;

    m_axi_araddr_reg <= m_axi_araddr_next;
    m_axi_arlen_reg <= m_axi_arlen_next;
    m_axi_arvalid_reg <= m_axi_arvalid_next;

    out_valid_reg <= out_valid_next;
    temp_valid_reg <= temp_valid_next;
    out_ready_int_reg <= out_ready_int_early;

    // datapath
    if (store_int_to_output) begin
        out_data_reg <= out_data_int;
        out_keep_reg <= out_keep_int;
        out_last_reg <= out_last_int;
        out_err_reg <= out_err_int;
    end else if (store_temp_to_output) begin
        out_data_reg <= temp_data_reg;
        out_keep_reg <= temp_keep_reg;
        out_last_reg <= temp_last_reg;
        out_err_reg <= temp_err_reg;
    end

    if (store_int_to_temp) begin
        temp_data_reg <= out_data_int;
        temp_keep_reg <= out_keep_int;
        temp_last_reg <= out_last_int;
        temp_err_reg <= out_err_int;
    end

    if (rst) begin
        ar_beats_reg <= 33'd0;
        outstanding_reg <= {OUTS_W{1'b0}};
        active_reg <= 1'b0;
        acc_cnt_reg <= {CNT_W{1'b0}};
        acc_reg <= {AXI_DATA_WIDTH{1'b0}};
        rem_reg <= 1'b0;
        term_reg <= 1'b0;
        err_reg <= 1'b0;
        m_axi_arvalid_reg <= 1'b0;
        out_valid_reg <= 1'b0;
        temp_valid_reg <= 1'b0;
        out_ready_int_reg <= 1'b0;
    end
end

endmodule

`resetall
