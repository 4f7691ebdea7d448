`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * A DUT for tb/bench_speed.py's bus-model floor: an AXI4 master that keeps
 * its channels busy with INCR bursts of 16 full beats (READ: AR and R, WRITE:
 * AW, W and B), every VALID and READY it drives high whenever the protocol
 * allows, so that the memory model serving it moves a beat at every cycle it
 * can. Its logic is a few counters: the simulator's share of each cycle is
 * nearly nil and the time measured is the memory model's.
 */
module speed_axi_master #
(
    parameter DATA_WIDTH = 32,
    parameter ADDR_WIDTH = 16,
    // 1: reads only, 2: writes only, 3: both
    parameter MODE = 1
)
(
    input  wire                    clk,
    input  wire                    rst,

    output wire [ADDR_WIDTH-1:0]   m_axi_araddr,
    output wire [7:0]              m_axi_arlen,
    output wire [2:0]              m_axi_arsize,
    output wire [1:0]              m_axi_arburst,
    output wire [3:0]              m_axi_arid,
    output wire                    m_axi_arvalid,
    input  wire                    m_axi_arready,
    input  wire [DATA_WIDTH-1:0]   m_axi_rdata,
    input  wire [1:0]              m_axi_rresp,
    input  wire                    m_axi_rlast,
    input  wire [3:0]              m_axi_rid,
    input  wire                    m_axi_rvalid,
    output wire                    m_axi_rready,

    output wire [ADDR_WIDTH-1:0]   m_axi_awaddr,
    output wire [7:0]              m_axi_awlen,
    output wire [2:0]              m_axi_awsize,
    output wire [1:0]              m_axi_awburst,
    output wire [3:0]              m_axi_awid,
    output wire                    m_axi_awvalid,
    input  wire                    m_axi_awready,
    output wire [DATA_WIDTH-1:0]   m_axi_wdata,
    output wire [DATA_WIDTH/8-1:0] m_axi_wstrb,
    output wire                    m_axi_wlast,
    output wire                    m_axi_wvalid,
    input  wire                    m_axi_wready,
    input  wire [1:0]              m_axi_bresp,
    input  wire [3:0]              m_axi_bid,
    input  wire                    m_axi_bvalid,
    output wire                    m_axi_bready,

    // beats moved, and responses not OKAY or R beats whose RLAST is off:
    // for the test to check that the bus was busy and sane
    output wire [31:0]             r_beats,
    output wire [31:0]             w_beats,
    output wire [31:0]             errors
);

localparam BURST_BYTES = 16 * DATA_WIDTH / 8;
localparam integer SIZE_LOG2 = $clog2(DATA_WIDTH/8);
localparam [2:0] SIZE = SIZE_LOG2[2:0];

initial begin
    if (MODE < 1 || MODE > 3) begin
        $error("Error: MODE must be 1 (reads), 2 (writes) or 3 (both) (instance %m)");
        $finish;
    end
end

reg [ADDR_WIDTH-1:0] ar_addr_reg, aw_addr_reg;
reg [3:0] w_beat_reg;
reg [3:0] r_beat_reg;
reg [31:0] r_beats_reg, w_beats_reg, errors_reg;

// the data and IDs it reads are not looked at
wire unused = &{1'b0, m_axi_rdata, m_axi_rid, m_axi_bid};

assign m_axi_araddr = ar_addr_reg;
assign m_axi_arlen = 8'd15;
assign m_axi_arsize = SIZE;
assign m_axi_arburst = 2'b01;
assign m_axi_arid = 4'd0;
assign m_axi_arvalid = !rst && MODE != 2;
assign m_axi_rready = 1'b1;

assign m_axi_awaddr = aw_addr_reg;
assign m_axi_awlen = 8'd15;
assign m_axi_awsize = SIZE;
assign m_axi_awburst = 2'b01;
assign m_axi_awid = 4'd0;
assign m_axi_awvalid = !rst && MODE != 1;
assign m_axi_wdata = {DATA_WIDTH/32{w_beats_reg}};
assign m_axi_wstrb = {DATA_WIDTH/8{1'b1}};
assign m_axi_wlast = w_beat_reg == 4'd15;
assign m_axi_wvalid = !rst && MODE != 1;
assign m_axi_bready = 1'b1;

assign r_beats = r_beats_reg;
assign w_beats = w_beats_reg;
assign errors = errors_reg;

always @(posedge clk) begin
    if (m_axi_arvalid && m_axi_arready) begin
        ar_addr_reg <= ar_addr_reg + BURST_BYTES[ADDR_WIDTH-1:0];
    end
    if (m_axi_awvalid && m_axi_awready) begin
        aw_addr_reg <= aw_addr_reg + BURST_BYTES[ADDR_WIDTH-1:0];
    end
    if (m_axi_rvalid) begin
        r_beat_reg <= r_beat_reg + 4'd1;
        r_beats_reg <= r_beats_reg + 32'd1;
    end
    if ((m_axi_rvalid && (m_axi_rresp != 2'b00 || m_axi_rlast != (r_beat_reg == 4'd15)))
            || (m_axi_bvalid && m_axi_bresp != 2'b00)) begin
        errors_reg <= errors_reg + 32'd1;
    end
    if (m_axi_wvalid && m_axi_wready) begin
        w_beat_reg <= w_beat_reg + 4'd1;
        w_beats_reg <= w_beats_reg + 32'd1;
    end
    if (rst) begin
        ar_addr_reg <= {ADDR_WIDTH{1'b0}};
        aw_addr_reg <= {ADDR_WIDTH{1'b0}};
        w_beat_reg <= 4'd0;
        r_beat_reg <= 4'd0;
        errors_reg <= 32'd0;
        r_beats_reg <= 32'd0;
        w_beats_reg <= 32'd0;
    end
end

endmodule

`resetall
