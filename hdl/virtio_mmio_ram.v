`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Simple dual-port RAM: one write port, one read port with a registered
 * read (the data of rd_addr comes out the cycle after), so that it maps to
 * block or distributed RAM.
 */
module virtio_mmio_ram #
(
    parameter ADDR_WIDTH = 5,
    parameter DATA_WIDTH = 64
)
(
    input  wire                   clk,

    input  wire                   wr_en,
    input  wire [ADDR_WIDTH-1:0]  wr_addr,
    input  wire [DATA_WIDTH-1:0]  wr_data,

    input  wire [ADDR_WIDTH-1:0]  rd_addr,
    output wire [DATA_WIDTH-1:0]  rd_data
);

reg [DATA_WIDTH-1:0] mem [0:(2**ADDR_WIDTH)-1];
reg [DATA_WIDTH-1:0] rd_data_reg;

assign rd_data = rd_data_reg;

always @(posedge clk) begin
    if (wr_en) begin
        mem[wr_addr] <= wr_data;
    end
    rd_data_reg <= mem[rd_addr];
end

endmodule

`resetall
