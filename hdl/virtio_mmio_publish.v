`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * virtio-mmio publisher: used ring updates and interrupt decisions.
 *
 * A: a completed chain's used element {id, len} is written once its buffer
 *    writes are answered (a failed data write leaves the used ring alone);
 * B: consecutive chains of one queue share one used.idx write (up to
 *    PUBLISH_BATCH), issued once their used elements are answered;
 * C: after each used.idx write is answered, the interrupt decision of the
 *    model's _should_interrupt for that write, with old = used.idx before it
 *    and new = the value written: NOTIFY_ON_EMPTY (nothing in flight, the
 *    avail ring used up), else EVENT_IDX vring_need_event(used_event, new,
 *    old), else avail.flags NO_INTERRUPT clear. For a batch this equals the
 *    OR of the decisions the model takes for its entries one by one.
 *    The reads of several writes may be in flight (each asked for as soon as
 *    its write is answered); the decisions are taken in order.
 * Entries of a queue being stopped, and everything while the device is
 * broken, are dropped.
 */
module virtio_mmio_publish #
(
    parameter NUM_QUEUES = 2,
    parameter Q_W = 1,
    // avail/used index of a freshly activated queue
    parameter [15:0] RING_INDEX_BASE = 16'd0,
    parameter ADDR_WIDTH = 32,
    parameter SEQ_WIDTH = 16,
    // completed chains waiting (power of two)
    parameter PUB_DEPTH = 8,
    // chains one used.idx write may publish
    parameter PUBLISH_BATCH = 16
)
(
    input  wire                         clk,
    input  wire                         rst,

    input  wire [Q_W-1:0]               in_q,
    input  wire [15:0]                  in_head,
    input  wire [31:0]                  in_len,
    input  wire [SEQ_WIDTH-1:0]         in_need,
    input  wire                         in_valid,
    output wire                         in_ready,
    output wire [$clog2(PUB_DEPTH+2)-1:0] in_space,

    input  wire [NUM_QUEUES*16-1:0]     q_num,
    input  wire [NUM_QUEUES*ADDR_WIDTH-1:0] q_avail_addr,
    input  wire [NUM_QUEUES*ADDR_WIDTH-1:0] q_used_addr,
    input  wire [NUM_QUEUES*16-1:0]     last_avail,
    input  wire [NUM_QUEUES*16-1:0]     shadow,
    input  wire                         feat_notify_on_empty,
    input  wire                         feat_event_idx,

    input  wire [SEQ_WIDTH-1:0]         st_acked,
    output wire [ADDR_WIDTH-1:0]        im_addr,
    output wire [3:0]                   im_len,
    output wire [63:0]                  im_data,
    output wire [7:0]                   im_tag,
    output wire                         im_valid,
    input  wire                         im_ready,
    input  wire [SEQ_WIDTH-1:0]         im_seq,
    input  wire [SEQ_WIDTH-1:0]         im_acked,
    // how im_acked moves next (+1; to im_seq)
    input  wire                         im_acked_inc,
    input  wire                         acked_catch_up,

    // the read of used_event or avail.flags (the DMA read engine's interrupt port)
    output wire [ADDR_WIDTH-1:0]        rd_addr,
    output wire                         rd_valid,
    input  wire                         rd_ready,
    input  wire [15:0]                  rsp_data,
    input  wire                         rsp_err,
    input  wire                         rsp_valid,

    output wire                         irq_vring,
    output wire                         brk_valid,
    output wire [Q_W-1:0]               brk_q,

    input  wire                         halt,
    input  wire [NUM_QUEUES-1:0]        stopping,
    input  wire [NUM_QUEUES-1:0]        clr,

    output wire                         idle,
    output wire [NUM_QUEUES-1:0]        holds
);

localparam PD_W = $clog2(PUB_DEPTH);
localparam CD = 4;
localparam CD_W = 2;
localparam BT_W = $clog2(PUBLISH_BATCH+1);

/*
 * Stage A: completed chains
 */
reg [Q_W-1:0] a_q [0:PUB_DEPTH-1];
reg [15:0] a_head [0:PUB_DEPTH-1];
reg [31:0] a_len [0:PUB_DEPTH-1];
reg [SEQ_WIDTH-1:0] a_need [0:PUB_DEPTH-1];
reg [PD_W:0] a_wr_reg, a_rd_reg;
// the head entry in registers of its own, loaded from the slot after it at a
// pop or from the input when it lands in an empty head (the decisions start
// from flip-flops, not from a LUT RAM read by the read pointer)
reg [Q_W-1:0] ah_q_reg;
reg [15:0] ah_head_reg;
reg [31:0] ah_len_reg;
reg [SEQ_WIDTH-1:0] ah_need_reg;

/*
 * Stage B: used elements written, waiting for their used.idx
 */
reg [Q_W-1:0] b_q [0:PUB_DEPTH-1];
reg [15:0] b_new [0:PUB_DEPTH-1];
reg [SEQ_WIDTH-1:0] b_need [0:PUB_DEPTH-1];
reg [PD_W:0] b_wr_reg, b_rd_reg;
// its head entry in registers, as stage A's
reg [Q_W-1:0] bh_q_reg;
reg [15:0] bh_new_reg;
reg [SEQ_WIDTH-1:0] bh_need_reg;
reg g_valid_reg;
reg [Q_W-1:0] g_q_reg;
reg [15:0] g_new_reg;
reg [SEQ_WIDTH-1:0] g_need_reg;
reg [BT_W-1:0] g_count_reg;
// g_count_reg == PUBLISH_BATCH, in a register (the gather decision, and
// through it stage A's, starts from it)
reg g_full_reg;
// the gathered used elements' writes answered (im_acked - g_need_reg >= 0),
// in a register: loaded from the next need and how im_acked moves, each way
// subtracted beside the others (the publish decision starts from a flip-flop)
reg g_acked_reg;

/*
 * Stage C: used.idx written, the interrupt decision to take
 */
reg [Q_W-1:0] c_q [0:CD-1];
reg [15:0] c_old [0:CD-1];
reg [15:0] c_new [0:CD-1];
// (registers, not a RAM: the decision read's request starts from them)
(* ram_style = "logic" *)
reg [SEQ_WIDTH-1:0] c_need [0:CD-1];
// what the issue pointer found: 0 a read was asked for, 1 NOTIFY_ON_EMPTY, 2 dropped
reg [1:0] c_how [0:CD-1];
reg [CD_W:0] c_wr_reg, c_rd_reg;
// the next entry to ask a read for (between c_rd and c_wr)
reg [CD_W:0] c_iss_reg;
// that entry's queue, new used.idx and sequence number, in registers of their
// own (the read's request starts from them; no lookup by c_iss in that cycle)
reg [Q_W-1:0] ci_q_reg;
reg [15:0] ci_new_reg;
reg [SEQ_WIDTH-1:0] ci_need_reg;

// per queue: used elements written, used.idx written
reg [15:0] elem_idx_reg [0:NUM_QUEUES-1];
reg [15:0] used_idx_reg [0:NUM_QUEUES-1];
// per queue: the address of its next used element and of the one after it,
// summed from the registers of the cycle before (stage A picks one by its
// entry's queue: no sum after the pick); a queue whose element was written in
// the cycle before takes the second
reg [NUM_QUEUES*ADDR_WIDTH-1:0] elem_addr0_reg, elem_addr1_reg;
reg [NUM_QUEUES-1:0] elem_step_reg;

reg [ADDR_WIDTH-1:0] im_addr_reg;
reg [3:0] im_len_reg;
reg [63:0] im_data_reg;
reg [7:0] im_tag_reg;
reg im_valid_reg;
// what the immediate write in the register is: 0 a used element, 1 used.idx
reg im_kind_reg;
reg [Q_W-1:0] im_q_reg;
reg [15:0] im_new_reg;
reg [15:0] im_old_reg;

reg brk_valid_reg;
reg [Q_W-1:0] brk_q_reg;

// A and B hold an entry, and B has room for two more: flags kept by the
// pushes and pops beside the counts (the decisions of both stages start from
// them, not from a compare of pointers or counts)
reg a_any_reg, b_any_reg, b_room_reg;
wire a_empty = !a_any_reg;
wire b_empty = !b_any_reg;
wire c_empty = c_wr_reg == c_rd_reg;
wire [PD_W-1:0] a_i = a_rd_reg[PD_W-1:0];
wire [PD_W-1:0] b_i = b_rd_reg[PD_W-1:0];
wire [CD_W-1:0] c_i = c_rd_reg[CD_W-1:0];
wire [CD_W-1:0] ci_i = c_iss_reg[CD_W-1:0];
wire c_to_issue = c_iss_reg != c_wr_reg;
wire c_issued = c_rd_reg != c_iss_reg;
// entries of A, B and C, and which slots hold one: registers of their own,
// kept by the pushes and pops (no pointer arithmetic in the ready and the
// per-queue hold)
reg [PD_W:0] a_count, b_count;
// PUB_DEPTH - a_count, kept beside it (the completion unit's credit starts from it)
reg [PD_W:0] a_space_reg;
reg [CD_W:0] c_count;
reg [PUB_DEPTH-1:0] a_vld, b_vld;
reg [CD-1:0] c_vld;
wire c_full = c_count == CD[CD_W:0];

wire [PD_W-1:0] a_i1 = a_i + 1'b1;
wire [PD_W-1:0] b_i1 = b_i + 1'b1;
wire [Q_W-1:0] aq = ah_q_reg;
wire [15:0] a_head_i = ah_head_reg;
wire [31:0] a_len_i = ah_len_reg;
wire [15:0] a_elem_idx = elem_idx_reg[aq];
wire [ADDR_WIDTH-1:0] a_elem_addr = elem_step_reg[aq] ? elem_addr1_reg[aq*ADDR_WIDTH +: ADDR_WIDTH]
    : elem_addr0_reg[aq*ADDR_WIDTH +: ADDR_WIDTH];
wire [Q_W-1:0] b_q_i = bh_q_reg;
wire [15:0] b_new_i = bh_new_reg;
wire [SEQ_WIDTH-1:0] b_need_i = bh_need_reg;
wire [15:0] g_used_idx = used_idx_reg[g_q_reg];
wire [SEQ_WIDTH-1:0] a_wait = st_acked - ah_need_reg;
// the entry decided next
wire [Q_W-1:0] cq = c_q[c_i];
wire [1:0] c_how_i = c_how[c_i];
wire [15:0] c_ev_new = c_new[c_i] - rsp_data - 16'd1;
wire [15:0] c_ev_span = c_new[c_i] - c_old[c_i];
// the entry whose read is asked for next, once its used.idx write is answered
wire [Q_W-1:0] ciq = ci_q_reg;
wire [SEQ_WIDTH-1:0] ci_wait = im_acked - ci_need_reg;
wire ci_acked = !ci_wait[SEQ_WIDTH-1];
wire [15:0] ciq_num = q_num[ciq*16 +: 16];
wire [ADDR_WIDTH-1:0] ciq_avail = q_avail_addr[ciq*ADDR_WIDTH +: ADDR_WIDTH];
wire ci_drop = halt || stopping[ciq];
// NOTIFY_ON_EMPTY: nothing in flight after this write, the avail ring used up
// (compared for every queue at once, then picked by the entry's queue: no
// compare waits for the lookup)
reg [NUM_QUEUES-1:0] q_noe;
integer qn;
always @* begin
    for (qn = 0; qn < NUM_QUEUES; qn = qn + 1) begin
        q_noe[qn] = last_avail[qn*16 +: 16] == ci_new_reg && last_avail[qn*16 +: 16] == shadow[qn*16 +: 16];
    end
end
wire ci_noe = feat_notify_on_empty && q_noe[ciq];
// the entry after it (the one the registers above hold once it is issued)
wire [CD_W:0] c_iss_inc = c_iss_reg + 1'b1;
wire im_free = !im_valid_reg || im_ready;
// B publishes its used.idx in a cycle the immediate register is free
wire b_pub_ok = g_valid_reg && !halt && !stopping[g_q_reg]
    && !(!b_empty && b_q_i == g_q_reg && !g_full_reg) && g_acked_reg && !c_full;

assign in_ready = a_count != PUB_DEPTH[PD_W:0];
assign in_space = a_space_reg;
assign im_addr = im_addr_reg;
assign im_len = im_len_reg;
assign im_data = im_data_reg;
assign im_tag = im_tag_reg;
assign im_valid = im_valid_reg;
// asked in the cycle its used.idx write is answered (the read engine puts it
// straight into its AR register)
assign rd_valid = c_to_issue && ci_acked && !ci_drop && !ci_noe;
assign rd_addr = feat_event_idx ? ciq_avail + 4 + {{(ADDR_WIDTH-17){1'b0}}, ciq_num, 1'b0} : ciq_avail;
assign brk_valid = brk_valid_reg;
assign brk_q = brk_q_reg;
assign idle = a_empty && b_empty && c_empty && !g_valid_reg && !im_valid_reg;

genvar n, k;
generate
for (n = 0; n < NUM_QUEUES; n = n + 1) begin : hold
    wire [PUB_DEPTH-1:0] in_a, in_b;
    wire [CD-1:0] in_c;
    for (k = 0; k < PUB_DEPTH; k = k + 1) begin : ab
        assign in_a[k] = a_vld[k] && a_q[k] == n;
        assign in_b[k] = b_vld[k] && b_q[k] == n;
    end
    for (k = 0; k < CD; k = k + 1) begin : c
        assign in_c[k] = c_vld[k] && c_q[k] == n;
    end
    assign holds[n] = |in_a || |in_b || |in_c || (g_valid_reg && g_q_reg == n)
        || (im_valid_reg && im_q_reg == n);
end
endgenerate

reg [PD_W:0] a_wr_next, a_rd_next, b_wr_next, b_rd_next;
reg [CD_W:0] c_wr_next, c_rd_next;
reg g_valid_next;
reg [Q_W-1:0] g_q_next;
reg [15:0] g_new_next;
reg [SEQ_WIDTH-1:0] g_need_next;
reg [BT_W-1:0] g_count_next;
reg g_full_next;
reg [CD_W:0] c_iss_next;
reg c_how_we;
reg [1:0] c_how_val;
reg [ADDR_WIDTH-1:0] im_addr_next;
reg [3:0] im_len_next;
reg [63:0] im_data_next;
reg [7:0] im_tag_next;
reg im_valid_next;
reg im_kind_next;
reg [Q_W-1:0] im_q_next;
reg [15:0] im_new_next;
reg [15:0] im_old_next;
reg irq_vring_next;
// decided in the cycle the read's value arrives (the register block holds it)
assign irq_vring = irq_vring_next;
reg brk_valid_next;
reg [Q_W-1:0] brk_q_next;

// per-queue and FIFO writes (applied in the clocked block)
reg a_push, b_push, c_push;
reg a_pop, b_pop, c_pop;
reg elem_we, used_we;
integer i;

// the address of queue q's used element at index idx: used + 4 + 8 * (idx mod num)
function [ADDR_WIDTH-1:0] elem_addr_of(input integer q, input [15:0] idx);
    begin
        elem_addr_of = q_used_addr[q*ADDR_WIDTH +: ADDR_WIDTH] + 4
            + {{(ADDR_WIDTH-19){1'b0}}, idx & (q_num[q*16 +: 16] - 16'd1), 3'b000};
    end
endfunction

always @* begin
    a_wr_next = a_wr_reg;
    a_rd_next = a_rd_reg;
    b_wr_next = b_wr_reg;
    b_rd_next = b_rd_reg;
    c_wr_next = c_wr_reg;
    c_rd_next = c_rd_reg;
    g_valid_next = g_valid_reg;
    g_q_next = g_q_reg;
    g_new_next = g_new_reg;
    g_need_next = g_need_reg;
    g_count_next = g_count_reg;
    g_full_next = g_full_reg;
    c_iss_next = c_iss_reg;
    c_how_we = 1'b0;
    c_how_val = 2'd0;
    im_addr_next = im_addr_reg;
    im_len_next = im_len_reg;
    im_data_next = im_data_reg;
    im_tag_next = im_tag_reg;
    im_valid_next = im_valid_reg && !im_ready;
    im_kind_next = im_kind_reg;
    im_q_next = im_q_reg;
    im_new_next = im_new_reg;
    im_old_next = im_old_reg;
    irq_vring_next = 1'b0;
    brk_valid_next = 1'b0;
    brk_q_next = brk_q_reg;
    a_push = in_valid && in_ready;
    a_pop = 1'b0;
    b_pop = 1'b0;
    c_pop = 1'b0;
    b_push = 1'b0;
    c_push = 1'b0;
    elem_we = 1'b0;
    used_we = 1'b0;

    if (a_push) begin
        a_wr_next = a_wr_reg + 1'b1;
    end

    // the immediate write taken: what it was for moves on (used element to
    // B with its sequence number, used.idx to C)
    if (im_valid_reg && im_ready) begin
        if (im_kind_reg == 1'b0) begin
            b_push = 1'b1;
            b_wr_next = b_wr_reg + 1'b1;
        end else begin
            c_push = 1'b1;
            c_wr_next = c_wr_reg + 1'b1;
        end
    end

    // B: gather a queue's consecutive chains, then their used.idx
    if (g_valid_reg && (halt || stopping[g_q_reg])) begin
        g_valid_next = 1'b0;
    end else if (!g_valid_reg) begin
        if (!b_empty) begin
            b_rd_next = b_rd_reg + 1'b1;
            b_pop = 1'b1;
            g_valid_next = 1'b1;
            g_q_next = b_q_i;
            g_new_next = b_new_i;
            g_need_next = b_need_i;
            g_count_next = {{(BT_W-1){1'b0}}, 1'b1};
            g_full_next = PUBLISH_BATCH == 1;
        end
    end else if (!b_empty && b_q_i == g_q_reg && !g_full_reg) begin
        b_rd_next = b_rd_reg + 1'b1;
        b_pop = 1'b1;
        g_new_next = b_new_i;
        g_need_next = b_need_i;
        g_count_next = g_count_reg + 1'b1;
        g_full_next = g_count_reg == PUBLISH_BATCH[BT_W-1:0] - 1'b1;
    end else if (g_acked_reg && im_free && !c_full) begin
        // the used elements are answered: publish them
        g_valid_next = 1'b0;
        im_valid_next = 1'b1;
        used_we = 1'b1;
    end

    // A: a chain's used element {id, len}, once its buffer writes are answered
    if (!a_empty && (halt || stopping[aq])) begin
        a_rd_next = a_rd_reg + 1'b1;
        a_pop = 1'b1;
    end else if (!a_empty && !a_wait[SEQ_WIDTH-1] && im_free && !used_we && b_room_reg) begin
        a_rd_next = a_rd_reg + 1'b1;
        a_pop = 1'b1;
        im_valid_next = 1'b1;
        elem_we = 1'b1;
    end

    // the immediate write's payload: loaded whenever the register is free,
    // with what B's used.idx write carries when B publishes once it is free,
    // else what A's used element carries. Only im_valid follows the
    // decisions (the payload waits for neither: inv_publish_im_payload).
    if (im_free) begin
        im_old_next = g_used_idx;
        if (b_pub_ok) begin
            im_kind_next = 1'b1;
            im_q_next = g_q_reg;
            im_new_next = g_new_reg;
            im_addr_next = q_used_addr[g_q_reg*ADDR_WIDTH +: ADDR_WIDTH] + 2;
            im_len_next = 4'd2;
            im_data_next = {48'd0, g_new_reg};
            im_tag_next = {{(8-Q_W){1'b0}}, g_q_reg};
        end else begin
            im_kind_next = 1'b0;
            im_q_next = aq;
            im_new_next = a_elem_idx + 16'd1;
            im_addr_next = a_elem_addr;
            im_len_next = 4'd8;
            im_data_next = {a_len_i, 16'd0, a_head_i};
            im_tag_next = {{(8-Q_W){1'b0}}, aq};
        end
    end

    // C, issue: once a used.idx write is answered, its interrupt decision
    // needs used_event or avail.flags (read now), or nothing (NOTIFY_ON_EMPTY)
    if (c_to_issue) begin
        if (ci_drop) begin
            c_how_we = 1'b1;
            c_how_val = 2'd2;
            c_iss_next = c_iss_reg + 1'b1;
        end else if (ci_acked && ci_noe) begin
            c_how_we = 1'b1;
            c_how_val = 2'd1;
            c_iss_next = c_iss_reg + 1'b1;
        end else if (rd_valid && rd_ready) begin
            c_how_we = 1'b1;
            c_how_val = 2'd0;
            c_iss_next = c_iss_reg + 1'b1;
        end
    end

    // C, decide: in order, each with its read's value (reads come back in order)
    if (c_issued) begin
        if (c_how_i == 2'd0) begin
            if (rsp_valid) begin
                c_rd_next = c_rd_reg + 1'b1;
                c_pop = 1'b1;
                if (halt || stopping[cq]) begin
                    // dropped
                end else if (rsp_err) begin
                    brk_valid_next = 1'b1;
                    brk_q_next = cq;
                end else if (feat_event_idx) begin
                    // vring_need_event(used_event, new, old)
                    irq_vring_next = c_ev_new < c_ev_span;
                end else begin
                    irq_vring_next = !rsp_data[0];
                end
            end
        end else begin
            c_rd_next = c_rd_reg + 1'b1;
                c_pop = 1'b1;
            irq_vring_next = c_how_i == 2'd1 && !halt && !stopping[cq];
        end
    end
end

wire [SEQ_WIDTH-1:0] g_wait_keep = im_acked - g_need_next;
wire [SEQ_WIDTH-1:0] g_wait_inc = im_acked + 1'b1 - g_need_next;
wire [SEQ_WIDTH-1:0] g_wait_jump = im_seq - g_need_next;
wire [SEQ_WIDTH-1:0] g_wait_next = acked_catch_up ? g_wait_jump : im_acked_inc ? g_wait_inc : g_wait_keep;

always @(posedge clk) begin
    a_wr_reg <= a_wr_next;
    a_rd_reg <= a_rd_next;
    b_wr_reg <= b_wr_next;
    b_rd_reg <= b_rd_next;
    c_wr_reg <= c_wr_next;
    c_rd_reg <= c_rd_next;
    g_valid_reg <= g_valid_next;
    g_q_reg <= g_q_next;
    g_new_reg <= g_new_next;
    g_need_reg <= g_need_next;
    g_count_reg <= g_count_next;
    g_full_reg <= g_full_next;
    g_acked_reg <= !g_wait_next[SEQ_WIDTH-1];
    c_iss_reg <= c_iss_next;
    if (c_how_we) begin
        c_how[ci_i] <= c_how_val;
    end
    im_addr_reg <= im_addr_next;
    im_len_reg <= im_len_next;
    im_data_reg <= im_data_next;
    im_tag_reg <= im_tag_next;
    im_valid_reg <= im_valid_next;
    im_kind_reg <= im_kind_next;
    im_q_reg <= im_q_next;
    im_new_reg <= im_new_next;
    im_old_reg <= im_old_next;
    brk_valid_reg <= brk_valid_next;
    brk_q_reg <= brk_q_next;

    if (a_pop) begin
        a_vld[a_rd_reg[PD_W-1:0]] <= 1'b0;
    end
    if (a_push) begin
        a_vld[a_wr_reg[PD_W-1:0]] <= 1'b1;
    end
    if (a_push && !a_pop) begin
        a_count <= a_count + 1'b1;
        a_space_reg <= a_space_reg - 1'b1;
        a_any_reg <= 1'b1;
    end else if (a_pop && !a_push) begin
        a_count <= a_count - 1'b1;
        a_space_reg <= a_space_reg + 1'b1;
        a_any_reg <= a_count != {{PD_W{1'b0}}, 1'b1};
    end
    if (b_pop) begin
        b_vld[b_rd_reg[PD_W-1:0]] <= 1'b0;
    end
    if (b_push) begin
        b_vld[b_wr_reg[PD_W-1:0]] <= 1'b1;
    end
    if (b_push && !b_pop) begin
        b_count <= b_count + 1'b1;
        b_any_reg <= 1'b1;
        b_room_reg <= b_count < PUB_DEPTH[PD_W:0] - {{(PD_W-1){1'b0}}, 2'd2};
    end else if (b_pop && !b_push) begin
        b_count <= b_count - 1'b1;
        b_any_reg <= b_count != {{PD_W{1'b0}}, 1'b1};
        b_room_reg <= b_count < PUB_DEPTH[PD_W:0];
    end
    if (c_pop) begin
        c_vld[c_rd_reg[CD_W-1:0]] <= 1'b0;
    end
    if (c_push) begin
        c_vld[c_wr_reg[CD_W-1:0]] <= 1'b1;
    end
    if (c_push && !c_pop) begin
        c_count <= c_count + 1'b1;
    end else if (c_pop && !c_push) begin
        c_count <= c_count - 1'b1;
    end

    if (a_push) begin
        a_q[a_wr_reg[PD_W-1:0]] <= in_q;
        a_head[a_wr_reg[PD_W-1:0]] <= in_head;
        a_len[a_wr_reg[PD_W-1:0]] <= in_len;
        a_need[a_wr_reg[PD_W-1:0]] <= in_need;
    end
    if (b_push) begin
        b_q[b_wr_reg[PD_W-1:0]] <= im_q_reg;
        b_new[b_wr_reg[PD_W-1:0]] <= im_new_reg;
        b_need[b_wr_reg[PD_W-1:0]] <= im_seq + 1'b1;
    end
    // the head entries: at a pop the slot after it (or the push landing
    // there, when the popped entry was the only one); into an empty FIFO, the push
    if (a_push && (a_pop ? a_wr_reg[PD_W-1:0] == a_i1 : a_empty)) begin
        ah_q_reg <= in_q;
        ah_head_reg <= in_head;
        ah_len_reg <= in_len;
        ah_need_reg <= in_need;
    end else if (a_pop) begin
        ah_q_reg <= a_q[a_i1];
        ah_head_reg <= a_head[a_i1];
        ah_len_reg <= a_len[a_i1];
        ah_need_reg <= a_need[a_i1];
    end
    if (b_push && (b_pop ? b_wr_reg[PD_W-1:0] == b_i1 : b_empty)) begin
        bh_q_reg <= im_q_reg;
        bh_new_reg <= im_new_reg;
        bh_need_reg <= im_seq + 1'b1;
    end else if (b_pop) begin
        bh_q_reg <= b_q[b_i1];
        bh_new_reg <= b_new[b_i1];
        bh_need_reg <= b_need[b_i1];
    end
    // the issue pointer's entry: the next one once it moves (as its decision
    // is noted: c_how_we), or this one pushed into the empty issue slot (a
    // push at c_wr is the newest)
    if (c_how_we) begin
        if (c_push && c_wr_reg == c_iss_inc) begin
            ci_q_reg <= im_q_reg;
            ci_new_reg <= im_new_reg;
            ci_need_reg <= im_seq + 1'b1;
        end else begin
            ci_q_reg <= c_q[c_iss_inc[CD_W-1:0]];
            ci_new_reg <= c_new[c_iss_inc[CD_W-1:0]];
            ci_need_reg <= c_need[c_iss_inc[CD_W-1:0]];
        end
    end else if (c_push && c_wr_reg == c_iss_reg) begin
        ci_q_reg <= im_q_reg;
        ci_new_reg <= im_new_reg;
        ci_need_reg <= im_seq + 1'b1;
    end
    if (c_push) begin
        c_q[c_wr_reg[CD_W-1:0]] <= im_q_reg;
        c_old[c_wr_reg[CD_W-1:0]] <= im_old_reg;
        c_new[c_wr_reg[CD_W-1:0]] <= im_new_reg;
        c_need[c_wr_reg[CD_W-1:0]] <= im_seq + 1'b1;
    end
    if (elem_we) begin
        elem_idx_reg[aq] <= a_elem_idx + 16'd1;
    end
    if (used_we) begin
        used_idx_reg[g_q_reg] <= g_new_reg;
    end

    for (i = 0; i < NUM_QUEUES; i = i + 1) begin
        elem_addr0_reg[i*ADDR_WIDTH +: ADDR_WIDTH] <= elem_addr_of(i, elem_idx_reg[i]);
        elem_addr1_reg[i*ADDR_WIDTH +: ADDR_WIDTH] <= elem_addr_of(i, elem_idx_reg[i] + 16'd1);
        elem_step_reg[i] <= elem_we && {{(32-Q_W){1'b0}}, aq} == i;
    end
    for (i = 0; i < NUM_QUEUES; i = i + 1) begin
        if (rst || clr[i]) begin
            elem_idx_reg[i] <= RING_INDEX_BASE;
            used_idx_reg[i] <= RING_INDEX_BASE;
        end
    end

    if (rst) begin
        a_wr_reg <= {(PD_W+1){1'b0}};
        a_rd_reg <= {(PD_W+1){1'b0}};
        b_wr_reg <= {(PD_W+1){1'b0}};
        b_rd_reg <= {(PD_W+1){1'b0}};
        c_wr_reg <= {(CD_W+1){1'b0}};
        c_rd_reg <= {(CD_W+1){1'b0}};
        a_count <= {(PD_W+1){1'b0}};
        a_space_reg <= PUB_DEPTH[PD_W:0];
        b_count <= {(PD_W+1){1'b0}};
        a_any_reg <= 1'b0;
        b_any_reg <= 1'b0;
        b_room_reg <= 1'b1;
        c_count <= {(CD_W+1){1'b0}};
        a_vld <= {PUB_DEPTH{1'b0}};
        b_vld <= {PUB_DEPTH{1'b0}};
        c_vld <= {CD{1'b0}};
        g_valid_reg <= 1'b0;
        c_iss_reg <= {(CD_W+1){1'b0}};
        im_valid_reg <= 1'b0;
        brk_valid_reg <= 1'b0;
        elem_step_reg <= {NUM_QUEUES{1'b0}};
    end
end

`ifdef FORMAL
/*
 * Formal checks (docs/formal.md, `make formal`): every immediate write of
 * the publisher (a used element, used.idx) is 1 to 8 bytes inside its
 * queue's used ring [used, used + 4 + 8*num + 2).
 */
wire [SEQ_WIDTH-1:0] g_wait = im_acked - g_need_reg;
// what the decision that set im_valid wrote, as the payload was once loaded
reg f_im_kind;
reg [Q_W-1:0] f_im_q;
reg [15:0] f_im_new;
always @(posedge clk) begin
    if (used_we) begin
        f_im_kind <= 1'b1;
        f_im_q <= g_q_reg;
        f_im_new <= g_new_reg;
    end else if (elem_we) begin
        f_im_kind <= 1'b0;
        f_im_q <= aq;
        f_im_new <= a_elem_idx + 16'd1;
    end
end
wire [65:0] f_used_lo = {{(66-ADDR_WIDTH){1'b0}}, q_used_addr[im_q_reg*ADDR_WIDTH +: ADDR_WIDTH]};
wire [65:0] f_used_hi = f_used_lo + 66'd6 + {47'd0, q_num[im_q_reg*16 +: 16], 3'b000};
wire [65:0] f_im_lo = {{(66-ADDR_WIDTH){1'b0}}, im_addr_reg};
wire [65:0] f_im_hi = f_im_lo + {62'd0, im_len_reg};

always @* begin
    if (!rst && c_to_issue) begin
        inv_publish_issue_entry: assert(ci_q_reg == c_q[ci_i] && ci_new_reg == c_new[ci_i]
            && ci_need_reg == c_need[ci_i]);
    end
    if (!rst) begin
        inv_publish_space: assert(a_space_reg == PUB_DEPTH[PD_W:0] - a_count);
        inv_publish_fill: assert(a_any_reg == (a_wr_reg != a_rd_reg) && b_any_reg == (b_wr_reg != b_rd_reg)
            && b_room_reg == (b_count < PUB_DEPTH[PD_W:0] - 1'b1));
    end
    if (!rst && g_valid_reg) begin
        inv_publish_g_full: assert(g_full_reg == (g_count_reg == PUBLISH_BATCH[BT_W-1:0]));
        inv_publish_g_acked: assert(g_acked_reg == !g_wait[SEQ_WIDTH-1]);
    end
    if (!rst && !a_empty) begin
        inv_publish_a_head: assert(ah_q_reg == a_q[a_i] && ah_head_reg == a_head[a_i]
            && ah_len_reg == a_len[a_i] && ah_need_reg == a_need[a_i]);
    end
    if (!rst && !b_empty) begin
        inv_publish_b_head: assert(bh_q_reg == b_q[b_i] && bh_new_reg == b_new[b_i]
            && bh_need_reg == b_need[b_i]);
    end
    if (!rst && !a_empty) begin
        // the sum picked by the entry's queue is that of its registers now
        // (a queue's layout and elements change only while stage A holds none of it)
        inv_publish_elem_addr: assert(a_elem_addr == elem_addr_of(aq, a_elem_idx));
    end
    if (!rst && im_valid_reg) begin
        inv_publish_im_payload: assert(im_kind_reg == f_im_kind && im_q_reg == f_im_q && im_new_reg == f_im_new
            && im_len_reg == (f_im_kind ? 4'd2 : 4'd8) && (!f_im_kind || im_data_reg == {48'd0, f_im_new}));
        assert(im_len_reg != 4'd0 && im_len_reg <= 4'd8);
        assert(f_used_lo <= f_im_lo && f_im_hi <= f_used_hi);
    end
end
`endif

endmodule

`resetall
