`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * The trivial DUT of tb/bench_speed.py: a free-running counter. Its
 * simulation costs next to nothing, so a cocotb coroutine awaiting each of
 * its clock edges measures what cocotb and the simulator allow.
 */
module speed_counter
(
    input  wire        clk,
    input  wire        rst,
    output wire [31:0] count
);

reg [31:0] count_reg, count_next;

assign count = count_reg;

always @* begin
    count_next = count_reg + 32'd1;
end

always @(posedge clk) begin
    count_reg <= count_next;
    if (rst) begin
        count_reg <= 32'd0;
    end
end

endmodule

`resetall
