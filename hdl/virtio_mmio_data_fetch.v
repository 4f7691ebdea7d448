`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * virtio-mmio data fetch: asks the DMA read engine for the readable bytes of
 * each walked chain (its readable segments, in order, as one packet), ahead
 * of the chain's commit, so that the request packet is ready when the chain
 * is popped. The token goes on before the reads are asked for: the read
 * engine asks the bus only for what the data FIFO can hold, and the FIFO
 * drains as the commit stage streams the chain. A chain's bytes are read only once its walk passed every check.
 * Chains of a queue whose run is being dropped (refused, stopped) or of a
 * broken device are not read. Every token goes on to the commit stage,
 * noting whether a packet of its bytes was asked for.
 */
module virtio_mmio_data_fetch #
(
    parameter NUM_QUEUES = 2,
    parameter Q_W = 1,
    // Width of DMA addresses
    parameter ADDR_WIDTH = 32,
    // Per-queue segment buffer depth (power of two)
    parameter SEG_DEPTH = 32,
    // Width of a token
    parameter TOK_W = 64
)
(
    input  wire                         clk,
    input  wire                         rst,

    input  wire [TOK_W-1:0]             in_tok,
    input  wire [2:0]                   in_kind,
    input  wire [Q_W-1:0]               in_q,
    input  wire [$clog2(SEG_DEPTH):0]   in_seg_start,
    input  wire [$clog2(SEG_DEPTH):0]   in_rcnt,
    input  wire                         in_valid,
    output wire                         in_ready,

    input  wire [NUM_QUEUES-1:0]        skip,
    input  wire                         halt,

    output wire [Q_W+$clog2(SEG_DEPTH)-1:0] seg_raddr,
    input  wire [ADDR_WIDTH+31:0]       seg_rdata,

    output wire [ADDR_WIDTH-1:0]        data_req_addr,
    output wire [31:0]                  data_req_len,
    output wire                         data_req_last,
    output wire                         data_req_valid,
    input  wire                         data_req_ready,

    output wire [TOK_W-1:0]             out_tok,
    output wire                         out_data_read,
    output wire                         out_valid,
    input  wire                         out_ready,

    output wire                         idle
);

`include "virtio_mmio_defs.vh"

localparam SP_W = $clog2(SEG_DEPTH);
localparam SPP_W = SP_W+1;

localparam [1:0]
    S_IDLE = 2'd0,
    S_ADDR = 2'd1,
    S_REQ = 2'd2;

reg [1:0] state_reg, state_next;
reg [Q_W-1:0] q_reg, q_next;
reg [SPP_W-1:0] ptr_reg, ptr_next;
reg [SPP_W-1:0] left_reg, left_next;

reg [ADDR_WIDTH-1:0] data_req_addr_reg, data_req_addr_next;
reg [31:0] data_req_len_reg, data_req_len_next;
reg data_req_last_reg, data_req_last_next;
reg data_req_valid_reg, data_req_valid_next;

reg [TOK_W-1:0] out_tok_reg, out_tok_next;
reg out_data_read_reg, out_data_read_next;
reg out_valid_reg, out_valid_next;

reg in_ready_int;

wire out_free = !out_valid_reg || out_ready;

assign in_ready = in_ready_int;
assign seg_raddr = {q_reg, ptr_reg[SP_W-1:0]};
assign data_req_addr = data_req_addr_reg;
assign data_req_len = data_req_len_reg;
assign data_req_last = data_req_last_reg;
assign data_req_valid = data_req_valid_reg;
assign out_tok = out_tok_reg;
assign out_data_read = out_data_read_reg;
assign out_valid = out_valid_reg;
assign idle = state_reg == S_IDLE && !data_req_valid_reg && !out_valid_reg;

always @* begin
    state_next = state_reg;
    q_next = q_reg;
    ptr_next = ptr_reg;
    left_next = left_reg;
    data_req_addr_next = data_req_addr_reg;
    data_req_len_next = data_req_len_reg;
    data_req_last_next = data_req_last_reg;
    data_req_valid_next = data_req_valid_reg && !data_req_ready;
    out_tok_next = out_tok_reg;
    out_data_read_next = out_data_read_reg;
    out_valid_next = out_valid_reg && !out_ready;
    in_ready_int = 1'b0;

    case (state_reg)
        S_IDLE: begin
            if (in_valid && out_free) begin
                in_ready_int = 1'b1;
                if (in_kind == K_CHAIN && in_rcnt != 0 && !halt && !skip[in_q]) begin
                    // the token goes on at once (its packet streams out as its
                    // bytes arrive), then the segments are asked for
                    q_next = in_q;
                    ptr_next = in_seg_start;
                    left_next = in_rcnt;
                    out_tok_next = in_tok;
                    out_data_read_next = 1'b1;
                    out_valid_next = 1'b1;
                    state_next = S_ADDR;
                end else begin
                    out_tok_next = in_tok;
                    out_data_read_next = 1'b0;
                    out_valid_next = 1'b1;
                end
            end
        end
        S_ADDR: begin
            // the segment buffer's registered read
            state_next = S_REQ;
        end
        S_REQ: begin
            if (halt) begin
                // broken or reset: the rest is not read (the data FIFO is cleared)
                data_req_valid_next = 1'b0;
                state_next = S_IDLE;
            end else if (!data_req_valid_reg || data_req_ready) begin
                data_req_addr_next = seg_rdata[ADDR_WIDTH+31:32];
                data_req_len_next = seg_rdata[31:0];
                data_req_last_next = left_reg == {{(SPP_W-1){1'b0}}, 1'b1};
                data_req_valid_next = 1'b1;
                ptr_next = ptr_reg + 1'b1;
                left_next = left_reg - 1'b1;
                state_next = left_reg == {{(SPP_W-1){1'b0}}, 1'b1} ? S_IDLE : S_ADDR;
            end
        end
        default: begin
            state_next = S_IDLE;
        end
    endcase
end

always @(posedge clk) begin
    state_reg <= state_next;
    q_reg <= q_next;
    ptr_reg <= ptr_next;
    left_reg <= left_next;
    data_req_addr_reg <= data_req_addr_next;
    data_req_len_reg <= data_req_len_next;
    data_req_last_reg <= data_req_last_next;
    data_req_valid_reg <= data_req_valid_next;
    out_tok_reg <= out_tok_next;
    out_data_read_reg <= out_data_read_next;
    out_valid_reg <= out_valid_next;

    if (rst) begin
        state_reg <= S_IDLE;
        data_req_valid_reg <= 1'b0;
        out_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
