`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Set-up sequencer of the formal wrapper (formal/run.py's start states other
 * than reset; docs/formal.md). Its outputs are named after the wrapper's
 * input ports: run.py ties each port to its value here, simulates the design
 * from reset with Yosys's `sim`, keeps the state of the chosen cycle as the
 * model's initial state and removes the sequencer, so that bmc starts there
 * with every input free again.
 *
 * What it plays: a reset, then a legacy driver's set-up over AXI4-Lite as
 * Linux's virtio_mmio makes it (GuestPageSize, Status ACKNOWLEDGE and
 * DRIVER, GuestFeatures with every feature offered, QueueSel, QueueNum,
 * QueueAlign, QueuePFN, Status DRIVER_OK) and one QueueNotify; a memory
 * holding one published chain, answering every burst at once; a backend
 * that is ready and answers the chain's request packet with one beat.
 * Everything else stays idle.
 *
 * The chain: a readable descriptor (4 bytes at 0x1000) and a writable one
 * (6 bytes at 0x2ffd, across a 4 KiB boundary). The ring: QueueNum 2, pages
 * of 4 KiB, the descriptor table at 0xffffe000, the avail ring after it, the
 * used ring at 0xfffff000 (the top of the address space); EVENT_IDX, with
 * used_event 0.
 */
module virtio_mmio_setup #
(
    // the wrapper's (its data and address buses are 32 bits wide, as here)
    parameter NUM_QUEUES = 1
)
(
    input  wire                          clk,

    // what the sequencer watches of the device
    input  wire                          s_axil_awready,
    input  wire                          s_axil_wready,
    input  wire                          s_axil_bvalid,
    input  wire                          m_axi_awvalid,
    input  wire                          m_axi_wvalid,
    input  wire                          m_axi_wlast,
    input  wire                          m_axi_bready,
    input  wire [31:0]                   m_axi_araddr,
    input  wire [7:0]                    m_axi_arlen,
    input  wire                          m_axi_arvalid,
    input  wire                          m_axi_rready,
    input  wire                          m_axis_tvalid,
    input  wire                          m_axis_tlast,
    input  wire                          s_axis_tready,
    input  wire                          irq,

    // the second chain is published
    output wire                          second,
    // the driver's register writes are all done
    output reg                           done = 1'b0,

    // the wrapper's inputs (kept: run.py ties the ports to them)
    (* keep *) output wire                          rst,
    (* keep *) output wire [8:0]                    s_axil_awaddr,
    (* keep *) output wire [2:0]                    s_axil_awprot,
    (* keep *) output wire                          s_axil_awvalid,
    (* keep *) output wire [31:0]                   s_axil_wdata,
    (* keep *) output wire [3:0]                    s_axil_wstrb,
    (* keep *) output wire                          s_axil_wvalid,
    (* keep *) output wire                          s_axil_bready,
    (* keep *) output wire [8:0]                    s_axil_araddr,
    (* keep *) output wire [2:0]                    s_axil_arprot,
    (* keep *) output wire                          s_axil_arvalid,
    (* keep *) output wire                          s_axil_rready,
    (* keep *) output wire                          m_axi_awready,
    (* keep *) output wire                          m_axi_wready,
    (* keep *) output wire [1:0]                    m_axi_bresp,
    (* keep *) output wire                          m_axi_bvalid,
    (* keep *) output wire                          m_axi_arready,
    (* keep *) output wire [31:0]                   m_axi_rdata,
    (* keep *) output wire [1:0]                    m_axi_rresp,
    (* keep *) output wire                          m_axi_rlast,
    (* keep *) output wire                          m_axi_rvalid,
    (* keep *) output wire                          m_axis_tready,
    (* keep *) output wire [31:0]                   s_axis_tdata,
    (* keep *) output wire [3:0]                    s_axis_tkeep,
    (* keep *) output wire                          s_axis_tvalid,
    (* keep *) output wire                          s_axis_tlast,
    (* keep *) output wire [7:0]                    s_axis_tdest,
    (* keep *) output wire [NUM_QUEUES-1:0]         backend_ready,
    (* keep *) output wire                          config_changed,
    (* keep *) output wire                          cfg_req_ready,
    (* keep *) output wire [31:0]                   cfg_rsp_rdata,
    (* keep *) output wire                          cfg_rsp_valid
);

localparam [3:0] WRITES = 4'd12, ACK = 4'd10;

// cycles from the start: the first one is the reset (a counter of its own, so
// that no other register of the wrapper is tied to a port)
reg [9:0] cycle_reg = 10'd0;

/*
 * The driver: one register write at a time, AW and W together
 */
reg [3:0] step_reg = 4'd0;
reg aw_done_reg = 1'b0, w_done_reg = 1'b0;
reg [7:0] reg_addr;
reg [31:0] reg_data;

always @* begin
    case (step_reg)
        4'd0: {reg_addr, reg_data} = {8'h28, 32'd4096};        // GuestPageSize
        4'd1: {reg_addr, reg_data} = {8'h70, 32'd1};           // Status ACKNOWLEDGE
        4'd2: {reg_addr, reg_data} = {8'h70, 32'd3};           // + DRIVER
        4'd3: {reg_addr, reg_data} = {8'h20, 32'h39000000};    // GuestFeatures: all offered
        4'd4: {reg_addr, reg_data} = {8'h30, 32'd0};           // QueueSel 0
        4'd5: {reg_addr, reg_data} = {8'h38, 32'd2};           // QueueNum 2
        4'd6: {reg_addr, reg_data} = {8'h3c, 32'd4096};        // QueueAlign
        4'd7: {reg_addr, reg_data} = {8'h40, 32'h000ffffe};    // QueuePFN
        4'd8: {reg_addr, reg_data} = {8'h70, 32'd7};           // + DRIVER_OK
        4'd10: {reg_addr, reg_data} = {8'h64, 32'd1};          // InterruptACK, once irq is high
        default: {reg_addr, reg_data} = {8'h50, 32'd0};        // QueueNotify 0
    endcase
end

// the driver waits for the first chain's interrupt, then acknowledges it,
// publishes the second chain and notifies
wire reg_write = step_reg != WRITES && (step_reg != ACK || irq);
assign second = step_reg > ACK;

assign rst = cycle_reg == 10'd0;
assign s_axil_awaddr = {1'b0, reg_addr};
assign s_axil_awprot = 3'd0;
assign s_axil_awvalid = !rst && reg_write && !aw_done_reg;
assign s_axil_wdata = reg_data;
assign s_axil_wstrb = 4'hf;
assign s_axil_wvalid = !rst && reg_write && !w_done_reg;
assign s_axil_bready = 1'b1;
assign s_axil_araddr = 9'd0;
assign s_axil_arprot = 3'd0;
assign s_axil_arvalid = 1'b0;
assign s_axil_rready = 1'b1;

/*
 * The memory: the ring and the chain; bursts answered in order, a beat a cycle
 */
function [31:0] mem_word(input [31:0] addr, input second_chain);
    case (addr[31:2])
        30'h3fff_f800: mem_word = 32'h0000_1000;   // desc[0].addr
        30'h3fff_f802: mem_word = 32'd4;           // desc[0].len
        30'h3fff_f803: mem_word = 32'h0001_0001;   // desc[0].flags NEXT, .next 1
        30'h3fff_f804: mem_word = 32'h0000_2ffd;   // desc[1].addr
        30'h3fff_f806: mem_word = 32'd6;           // desc[1].len
        30'h3fff_f807: mem_word = 32'h0000_0002;   // desc[1].flags WRITE
        30'h3fff_f808: mem_word = second_chain ? 32'h0002_0000 : 32'h0001_0000;  // avail.flags 0, avail.idx
        30'h3fff_f80a: mem_word = second_chain ? 32'd1 : 32'd0;  // used_event
        30'h0000_0400: mem_word = 32'hddcc_bbaa;   // the readable bytes
        default: mem_word = 32'd0;                 // avail.ring[0], [1]: head 0
    endcase
endfunction

reg [31:0] ar_addr_reg [0:3];
reg [7:0] ar_len_reg [0:3];
reg [2:0] ar_count_reg = 3'd0;
reg [7:0] r_beat_reg = 8'd0;
reg [2:0] aw_count_reg = 3'd0;      // AW taken, B not given
reg [2:0] wlast_count_reg = 3'd0;   // last W beat taken, B not given
reg answer_reg = 1'b0;              // the request packet ended: answer it

wire ar_take = m_axi_arvalid && m_axi_arready;
wire r_take = m_axi_rvalid && m_axi_rready;
wire r_end = r_take && m_axi_rlast;
wire b_take = m_axi_bvalid && m_axi_bready;

assign m_axi_awready = 1'b1;
assign m_axi_wready = 1'b1;
assign m_axi_bresp = 2'b00;
assign m_axi_bvalid = !rst && aw_count_reg != 0 && wlast_count_reg != 0;
assign m_axi_arready = 1'b1;
assign m_axi_rdata = mem_word(ar_addr_reg[0] + {22'd0, r_beat_reg, 2'b00}, second);
assign m_axi_rresp = 2'b00;
assign m_axi_rlast = r_beat_reg == ar_len_reg[0];
assign m_axi_rvalid = !rst && ar_count_reg != 0;

/*
 * The backend: ready, one beat of answer after each request packet
 */
assign m_axis_tready = 1'b1;
assign s_axis_tdata = 32'h4433_2211;
assign s_axis_tkeep = 4'hf;
assign s_axis_tvalid = !rst && answer_reg;
assign s_axis_tlast = 1'b1;
assign s_axis_tdest = 8'd0;
assign backend_ready = {NUM_QUEUES{1'b1}};
assign config_changed = 1'b0;
assign cfg_req_ready = 1'b0;
assign cfg_rsp_rdata = 32'd0;
assign cfg_rsp_valid = 1'b0;

always @(posedge clk) begin
    cycle_reg <= cycle_reg + 10'd1;
    // (nothing is looked at in the reset cycle: the device's outputs are unknown then)
    if (!rst) begin
        if (s_axil_awvalid && s_axil_awready) aw_done_reg <= 1'b1;
        if (s_axil_wvalid && s_axil_wready) w_done_reg <= 1'b1;
        if (s_axil_bvalid) begin
            aw_done_reg <= 1'b0;
            w_done_reg <= 1'b0;
            step_reg <= step_reg + 4'd1;
            done <= step_reg + 4'd1 == WRITES;
        end

        if (r_end) begin
            ar_addr_reg[0] <= ar_addr_reg[1];
            ar_addr_reg[1] <= ar_addr_reg[2];
            ar_addr_reg[2] <= ar_addr_reg[3];
            ar_len_reg[0] <= ar_len_reg[1];
            ar_len_reg[1] <= ar_len_reg[2];
            ar_len_reg[2] <= ar_len_reg[3];
        end
        if (ar_take) begin
            ar_addr_reg[ar_count_reg - (r_end ? 3'd1 : 3'd0)] <= m_axi_araddr;
            ar_len_reg[ar_count_reg - (r_end ? 3'd1 : 3'd0)] <= m_axi_arlen;
        end
        ar_count_reg <= ar_count_reg + (ar_take ? 3'd1 : 3'd0) - (r_end ? 3'd1 : 3'd0);
        if (r_take) r_beat_reg <= m_axi_rlast ? 8'd0 : r_beat_reg + 8'd1;
        aw_count_reg <= aw_count_reg + ((m_axi_awvalid && m_axi_awready) ? 3'd1 : 3'd0) - (b_take ? 3'd1 : 3'd0);
        wlast_count_reg <= wlast_count_reg + ((m_axi_wvalid && m_axi_wready && m_axi_wlast) ? 3'd1 : 3'd0)
            - (b_take ? 3'd1 : 3'd0);

        if (m_axis_tvalid && m_axis_tready && m_axis_tlast) answer_reg <= 1'b1;
        if (s_axis_tvalid && s_axis_tready) answer_reg <= 1'b0;
    end
end

endmodule

`resetall
