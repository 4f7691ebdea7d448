`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Legacy split-ring layout of a queue (model/vio/ring.py VringLayout) for
 * QueuePFN = pfn: descriptor table at pfn << page_shift, avail ring after it,
 * used ring at the next align boundary; ok when the whole ring as placed,
 * [base, used + 6 + 8*num), lies inside the DMA window. One add or compare a
 * cycle (the register write waits LATENCY cycles): the 64-bit arithmetic
 * stays off the register block's critical path.
 */
module virtio_mmio_layout #
(
    // Width of DMA addresses
    parameter ADDR_WIDTH = 32,
    // DMA window: [DMA_BASE, DMA_BASE+DMA_SIZE)
    parameter [63:0] DMA_BASE = 64'd0,
    parameter [64:0] DMA_SIZE = 65'd1 << ADDR_WIDTH
)
(
    input  wire                   clk,
    input  wire                   rst,

    input  wire                   start,
    input  wire [31:0]            pfn,
    input  wire [4:0]             page_shift,
    input  wire [4:0]             align_shift,
    input  wire [15:0]            num,

    output wire                   done,
    output wire                   ok,
    output wire [ADDR_WIDTH-1:0]  desc,
    output wire [ADDR_WIDTH-1:0]  avail,
    output wire [ADDR_WIDTH-1:0]  used
);

localparam [65:0] DMA_BASE_X = {2'b00, DMA_BASE};
localparam [65:0] DMA_END_X = {2'b00, DMA_BASE} + {1'b0, DMA_SIZE};

// one stage a cycle
reg [5:0] stage_reg;
reg [15:0] num_reg;
reg [63:0] mask_reg;
reg [63:0] base_reg;
reg below_reg;
reg [63:0] avail_reg;
reg [64:0] used_raw_reg;
reg [63:0] used_reg;
reg [65:0] end_reg;
reg ok_reg;

// (base >= DMA_BASE as a borrow, which stays meaningful when DMA_BASE is 0)
wire [66:0] below = {3'b000, base_reg} - {1'b0, DMA_BASE_X};

assign done = stage_reg[5];
assign ok = ok_reg;
assign desc = base_reg[ADDR_WIDTH-1:0];
assign avail = avail_reg[ADDR_WIDTH-1:0];
assign used = used_reg[ADDR_WIDTH-1:0];

// a ring inside the window lies below 2^ADDR_WIDTH
wire unused_ok = &{1'b0, base_reg, avail_reg, used_reg, below[65:0], used_raw_reg[64]};

always @(posedge clk) begin
    stage_reg <= {stage_reg[4:0], start};
    if (start) begin
        base_reg <= {32'd0, pfn} << page_shift;
        num_reg <= num;
        mask_reg <= ({63'd0, 1'b1} << align_shift) - 64'd1;
    end
    // the avail ring after the descriptors
    avail_reg <= base_reg + {44'd0, num_reg, 4'd0};
    below_reg <= below[66];
    // the used ring at the next align boundary after the avail ring (+ used_event)
    used_raw_reg <= {1'b0, avail_reg} + {48'd0, num_reg, 1'b0} + 65'd6 + {1'b0, mask_reg};
    used_reg <= used_raw_reg[63:0] & ~mask_reg;
    // its true end as placed (aligned absolutely), not base + vring_size
    end_reg <= {2'b00, used_reg} + {47'd0, num_reg, 3'd0} + 66'd6;
    ok_reg <= !below_reg && end_reg <= DMA_END_X;

    if (rst) begin
        stage_reg <= 6'd0;
    end
end

endmodule

`resetall
