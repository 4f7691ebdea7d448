`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * virtio-mmio completion unit: the answer at the head of s_axis (tdest =
 * queue) completes the oldest chain in flight on that queue. Its bytes go
 * into the chain's writable segments, in order, through the write engine's
 * stream path (a DRAIN request after the last segment drops what does not
 * fit); the bytes each request wrote come back in order and add up to
 * used.len; the chain then goes to the publisher with the sequence number
 * its data writes must be answered by. An answer for a queue that is out of
 * range, not live, stopping, without a chain in flight, or any answer while
 * the device is broken, is dropped.
 */
module virtio_mmio_complete #
(
    parameter NUM_QUEUES = 2,
    parameter Q_W = 1,
    // QueueNumMax (power of two)
    parameter QUEUE_NUM_MAX = 16,
    // Per-queue segment buffer depth (power of two)
    parameter SEG_DEPTH = 32,
    parameter ADDR_WIDTH = 32,
    parameter AXIS_DEST_WIDTH = 8,
    parameter SEQ_WIDTH = 16,
    // chains completed and not yet taken by the publisher (power of two)
    parameter PUB_DEPTH = 8
)
(
    input  wire                         clk,
    input  wire                         rst,

    // the answer stream, observed (its data goes to the write engine)
    input  wire                         s_axis_tvalid,
    input  wire                         s_axis_tready,
    input  wire                         s_axis_tlast,
    input  wire [AXIS_DEST_WIDTH-1:0]   s_axis_tdest,

    input  wire [NUM_QUEUES-1:0]        q_live,
    // in-flight entries written, per queue, whose request packet has ended
    input  wire [NUM_QUEUES*($clog2(QUEUE_NUM_MAX)+1)-1:0] if_sent,
    output wire [NUM_QUEUES*($clog2(QUEUE_NUM_MAX)+1)-1:0] if_rd,
    output wire [NUM_QUEUES*($clog2(SEG_DEPTH)+1)-1:0] seg_tail,
    // the queue's seg_tail was written at the last clock edge (it may differ
    // from a copy taken then)
    output wire [NUM_QUEUES-1:0]        seg_tail_moved,

    // in-flight entries {head, first writable segment, writable count, segment end}
    output wire [Q_W+$clog2(QUEUE_NUM_MAX)-1:0] if_raddr,
    input  wire [16+3*($clog2(SEG_DEPTH)+1)-1:0] if_rdata,
    // writable segments {addr, len}
    output wire [Q_W+$clog2(SEG_DEPTH)-1:0] seg_raddr,
    input  wire [ADDR_WIDTH+31:0]       seg_rdata,

    // write engine, stream path
    output wire                         st_req_drain,
    output wire                         st_req_start,
    output wire [ADDR_WIDTH-1:0]        st_req_addr,
    output wire [31:0]                  st_req_len,
    output wire [7:0]                   st_req_tag,
    output wire                         st_req_valid,
    input  wire                         st_req_ready,
    input  wire [SEQ_WIDTH-1:0]         st_seq,
    input  wire                         st_rsp_valid,
    input  wire [31:0]                  st_rsp_count,
    input  wire                         st_rsp_drain,

    // a chain left the in-flight FIFO
    output wire                         done_valid,
    output wire [Q_W-1:0]               done_q,
    output wire [15:0]                  done_head,

    // to the publisher
    output wire [Q_W-1:0]               pub_q,
    output wire [15:0]                  pub_head,
    output wire [31:0]                  pub_len,
    output wire [SEQ_WIDTH-1:0]         pub_need,
    output wire                         pub_valid,
    input  wire                         pub_ready,
    input  wire [$clog2(PUB_DEPTH+2)-1:0] pub_space,

    input  wire                         halt,
    // the DMA engines are being flushed (reset, break): no answer starts
    input  wire                         flush,
    input  wire [NUM_QUEUES-1:0]        stopping,
    input  wire [NUM_QUEUES-1:0]        clr,

    output wire                         idle,
    // work held for each queue
    output wire [NUM_QUEUES-1:0]        holds
);

localparam SP_W = $clog2(SEG_DEPTH);
localparam SPP_W = SP_W+1;
localparam QN_W = $clog2(QUEUE_NUM_MAX);
localparam IFP_W = QN_W+1;
localparam CD = 4;
localparam CD_W = 2;
localparam [AXIS_DEST_WIDTH-1:0] NQ_DEST = NUM_QUEUES[AXIS_DEST_WIDTH-1:0];

localparam [2:0]
    S_IDLE = 3'd0,
    S_LOOKUP = 3'd1,
    S_GOT = 3'd2,
    S_SEG_ADDR = 3'd3,
    S_SEG_REQ = 3'd4,
    S_DRAIN_REQ = 3'd5;

reg [2:0] state_reg, state_next;
reg [Q_W-1:0] q_reg, q_next;
reg [15:0] head_reg, head_next;
reg [SPP_W-1:0] ptr_reg, ptr_next;
reg [SPP_W-1:0] left_reg, left_next;
reg first_reg, first_next;
reg drop_reg, drop_next;
// answers asked of the write engine whose packet has not ended yet
reg [1:0] open_reg;
// read ahead while idle, for an answer of the same queue as the last one: 1
// the oldest in-flight entry of q_reg is on if_rdata, 2 its first writable
// segment's read is issued, 3 that segment is on seg_rdata
reg [1:0] ahead_reg, ahead_next;

reg [IFP_W-1:0] if_rd_reg [0:NUM_QUEUES-1];
reg [SPP_W-1:0] seg_tail_reg [0:NUM_QUEUES-1];
reg [NUM_QUEUES-1:0] seg_tail_moved_reg;

reg st_req_drain_reg, st_req_drain_next;
reg st_req_start_reg, st_req_start_next;
reg [ADDR_WIDTH-1:0] st_req_addr_reg, st_req_addr_next;
reg [31:0] st_req_len_reg, st_req_len_next;
reg [7:0] st_req_tag_reg, st_req_tag_next;
reg st_req_valid_reg, st_req_valid_next;

// answers waiting for the byte counts of their requests, oldest first
reg [Q_W-1:0] c_q [0:CD-1];
reg [15:0] c_head [0:CD-1];
reg [SEQ_WIDTH-1:0] c_need [0:CD-1];
reg c_drop [0:CD-1];
reg [CD_W:0] c_wr_reg, c_rd_reg;
reg [31:0] c_sum_reg;

reg [Q_W-1:0] pub_q_reg;
reg [15:0] pub_head_reg;
reg [31:0] pub_len_reg;
reg [SEQ_WIDTH-1:0] pub_need_reg;
reg pub_valid_reg;

reg done_valid_reg;
reg [Q_W-1:0] done_q_reg;
reg [15:0] done_head_reg;

reg pop_entry;
reg seg_read;
// a writable segment's request goes out (S_SEG_REQ, or the first segment
// from the read ahead)
reg seg_req;
reg c_push;
reg c_push_drop;
reg c_close;
reg c_close_drop;
reg open_inc;

reg ans_ok, ahead_ok;
integer i;

// the entry of the answer being issued (the newest); in the IDLE drop path it
// is pushed and closed in the same cycle
wire [CD_W-1:0] c_last_i = c_push ? c_wr_reg[CD_W-1:0] : c_wr_reg[CD_W-1:0] - 1'b1;

// (a register of its own, kept by the pushes and pops: idle and the credit
// reach the commit stage and the ready of s_axis)
reg [CD_W:0] c_count;
wire c_empty = c_count == 0;
wire c_pop = st_rsp_valid && !c_empty && st_rsp_drain;
wire [CD_W-1:0] c_head_i = c_rd_reg[CD_W-1:0];
wire req_free = !st_req_valid_reg || st_req_ready;
wire [QN_W-1:0] if_e_head = if_rdata[16+3*SPP_W-1-(16-QN_W) -: QN_W];
wire [SPP_W-1:0] if_e_wfirst = if_rdata[3*SPP_W-1 -: SPP_W];
wire [SPP_W-1:0] if_e_wcnt = if_rdata[2*SPP_W-1 -: SPP_W];
wire [SPP_W-1:0] if_e_end = if_rdata[SPP_W-1:0];
wire [IFP_W-1:0] cur_if_rd = if_rd_reg[q_reg];
// the segment pointer after a request, both ways (the decision only picks)
wire [SPP_W-1:0] wfirst_inc = if_e_wfirst + 1'b1;
wire [SPP_W-1:0] ptr_inc = ptr_reg + 1'b1;
wire [IFP_W-1:0] if_c_sent = if_sent[q_reg*IFP_W +: IFP_W];
wire [Q_W-1:0] ans_q = s_axis_tdest[Q_W-1:0];
wire [IFP_W-1:0] ans_if_rd = if_rd_reg[ans_q];
// an in-flight entry keeps the head's 16 bits; heads are below QueueNumMax
wire unused_ok = &{1'b0, if_rdata[16+3*SPP_W-1:QN_W+3*SPP_W]};
// a completed chain needs a publisher entry free for each answer in the collector
// an answer taken in S_IDLE: it is looked at in this cycle
wire idle_take = state_reg == S_IDLE && s_axis_tvalid && open_reg == 2'd0 && req_free
    && c_count != CD[CD_W:0] && !flush;
wire pub_credit = {{(32-$clog2(PUB_DEPTH+2)){1'b0}}, pub_space} > {{(31-CD_W){1'b0}}, c_count} + {31'd0, pub_valid_reg};

assign idle = state_reg == S_IDLE && open_reg == 2'd0 && c_empty && !st_req_valid_reg && !pub_valid_reg;
assign if_raddr = {q_reg, cur_if_rd[QN_W-1:0]};
assign seg_raddr = {q_reg, ptr_reg[SP_W-1:0]};
assign st_req_drain = st_req_drain_reg;
assign st_req_start = st_req_start_reg;
assign st_req_addr = st_req_addr_reg;
assign st_req_len = st_req_len_reg;
assign st_req_tag = st_req_tag_reg;
assign st_req_valid = st_req_valid_reg;
assign done_valid = done_valid_reg;
assign done_q = done_q_reg;
assign done_head = done_head_reg;
assign pub_q = pub_q_reg;
assign pub_head = pub_head_reg;
assign pub_len = pub_len_reg;
assign pub_need = pub_need_reg;
assign pub_valid = pub_valid_reg;

genvar n;
generate
for (n = 0; n < NUM_QUEUES; n = n + 1) begin : state_out
    assign if_rd[n*IFP_W +: IFP_W] = if_rd_reg[n];
    assign seg_tail[n*SPP_W +: SPP_W] = seg_tail_reg[n];
    assign seg_tail_moved[n] = seg_tail_moved_reg[n];
    // the answer in progress or waiting for its counts
    wire [CD-1:0] in_collector;
    genvar k;
    for (k = 0; k < CD; k = k + 1) begin : scan
        assign in_collector[k] = k < c_count && c_q[(c_rd_reg[CD_W-1:0] + k) % CD] == n;
    end
    assign holds[n] = (state_reg != S_IDLE && q_reg == n) || |in_collector;
end
endgenerate

always @* begin
    state_next = state_reg;
    q_next = q_reg;
    head_next = head_reg;
    ptr_next = ptr_reg;
    left_next = left_reg;
    first_next = first_reg;
    drop_next = drop_reg;
    ahead_next = ahead_reg;
    st_req_drain_next = st_req_drain_reg;
    st_req_start_next = st_req_start_reg;
    st_req_addr_next = st_req_addr_reg;
    st_req_len_next = st_req_len_reg;
    st_req_tag_next = st_req_tag_reg;
    st_req_valid_next = st_req_valid_reg && !st_req_ready;
    pop_entry = 1'b0;
    seg_read = 1'b0;
    seg_req = 1'b0;
    c_push = 1'b0;
    c_push_drop = 1'b0;
    c_close = 1'b0;
    c_close_drop = 1'b0;
    open_inc = 1'b0;

    ans_ok = s_axis_tdest < NQ_DEST && q_live[ans_q] && !halt && !stopping[ans_q]
        && if_sent[ans_q*IFP_W +: IFP_W] != ans_if_rd;
    // the read-ahead's queue: a chain of it is in flight (the read ahead
    // started on one, and if_sent only grows until a pop or a clear, which
    // end the read ahead), so if_sent need not be looked at again
    ahead_ok = ahead_reg == 2'd3 && s_axis_tdest < NQ_DEST && ans_q == q_reg && q_live[q_reg]
        && !halt && !stopping[q_reg];

    case (state_reg)
        S_IDLE: begin
            // the next answer, once the previous one's packet has ended
            if (idle_take) begin
                q_next = ans_q;
                if (ahead_ok && pub_credit) begin
                    // S_LOOKUP, S_GOT and S_SEG_ADDR done while idle: the
                    // first segment's request goes now
                    pop_entry = 1'b1;
                    seg_req = if_e_wcnt != 0;
                    state_next = S_DRAIN_REQ;
                end else if (ans_ok && pub_credit) begin
                    state_next = S_LOOKUP;
                end else if (!ans_ok) begin
                    // no chain waits for it: dropped
                    st_req_drain_next = 1'b1;
                    st_req_start_next = 1'b1;
                    st_req_tag_next = {{(8-Q_W){1'b0}}, ans_q};
                    st_req_valid_next = 1'b1;
                    open_inc = 1'b1;
                    c_push = 1'b1;
                    c_push_drop = 1'b1;
                    c_close = 1'b1;
                    c_close_drop = 1'b1;
                end
            end
        end
        S_LOOKUP: begin
            // the in-flight entry's registered read
            state_next = S_GOT;
        end
        S_GOT: begin
            pop_entry = 1'b1;
            state_next = if_e_wcnt == 0 ? S_DRAIN_REQ : S_SEG_ADDR;
        end
        S_SEG_ADDR: begin
            // the segment buffer's registered read
            state_next = S_SEG_REQ;
        end
        S_SEG_REQ: begin
            if (halt || stopping[q_reg]) begin
                // cut short: the rest of the answer is dropped, nothing published
                drop_next = 1'b1;
                state_next = S_DRAIN_REQ;
            end else if (req_free) begin
                seg_req = 1'b1;
            end
        end
        S_DRAIN_REQ: begin
            // the bytes past the writable segments are dropped
            if (req_free) begin
                st_req_drain_next = 1'b1;
                st_req_start_next = first_reg;
                st_req_tag_next = {{(8-Q_W){1'b0}}, q_reg};
                st_req_valid_next = 1'b1;
                c_close = 1'b1;
                c_close_drop = drop_reg || halt || stopping[q_reg];
                state_next = S_IDLE;
            end
        end
        default: begin
            state_next = S_IDLE;
        end
    endcase

    // the chain is completed: it leaves the in-flight FIFO (in S_GOT, or while
    // idle when it was read ahead)
    if (pop_entry) begin
        head_next = {{(16-QN_W){1'b0}}, if_e_head};
        ptr_next = if_e_wfirst;
        left_next = if_e_wcnt;
        first_next = 1'b1;
        drop_next = 1'b0;
        open_inc = 1'b1;
        c_push = 1'b1;
    end
    // the segment on seg_rdata (the one at ptr: after a pop, the chain's first)
    if (seg_req) begin
        st_req_drain_next = 1'b0;
        st_req_start_next = first_next;
        st_req_addr_next = seg_rdata[ADDR_WIDTH+31:32];
        st_req_len_next = seg_rdata[31:0];
        st_req_tag_next = {{(8-Q_W){1'b0}}, q_reg};
        st_req_valid_next = 1'b1;
        state_next = left_next == {{(SPP_W-1){1'b0}}, 1'b1} ? S_DRAIN_REQ : S_SEG_ADDR;
        first_next = 1'b0;
        seg_read = 1'b1;
        ptr_next = pop_entry ? wfirst_inc : ptr_inc;
        left_next = left_next - 1'b1;
    end

    // the read ahead holds while idle on the same queue with its oldest chain in
    // flight; an answer taken ends it unless it waits for a publisher entry on
    // the same queue (decided from registers, not from what the answer is)
    if (state_reg != S_IDLE || (idle_take && (pub_credit || ans_q != q_reg)) || flush || halt
            || stopping[q_reg] || clr[q_reg] || if_c_sent == cur_if_rd) begin
        ahead_next = 2'd0;
    end else if (ahead_reg != 2'd3) begin
        ahead_next = ahead_reg + 1'b1;
        if (ahead_reg == 2'd1) begin
            ptr_next = if_e_wfirst;
        end
    end
end

always @(posedge clk) begin
    state_reg <= state_next;
    q_reg <= q_next;
    head_reg <= head_next;
    ptr_reg <= ptr_next;
    left_reg <= left_next;
    first_reg <= first_next;
    drop_reg <= drop_next;
    ahead_reg <= ahead_next;
    st_req_drain_reg <= st_req_drain_next;
    st_req_start_reg <= st_req_start_next;
    st_req_addr_reg <= st_req_addr_next;
    st_req_len_reg <= st_req_len_next;
    st_req_tag_reg <= st_req_tag_next;
    st_req_valid_reg <= st_req_valid_next;

    open_reg <= open_reg + {1'b0, open_inc} - {1'b0, s_axis_tvalid && s_axis_tready && s_axis_tlast && open_reg != 2'd0};

    done_valid_reg <= pop_entry;
    done_q_reg <= q_reg;
    done_head_reg <= {{(16-QN_W){1'b0}}, if_e_head};
    if (pop_entry) begin
        if_rd_reg[q_reg] <= cur_if_rd + 1'b1;
        // the readable segments are done with (the request packet has
        // ended); each writable one is given back once it has been read
        seg_tail_reg[q_reg] <= if_e_wcnt == 0 ? if_e_end : if_e_wfirst;
    end
    if (seg_read) begin
        seg_tail_reg[q_reg] <= ptr_reg + 1'b1;
    end

    // the collector: an entry per answer, from its first request; its DRAIN
    // request (always the last) is the one whose answering closes it
    if (c_push) begin
        c_q[c_wr_reg[CD_W-1:0]] <= q_next;
        c_head[c_wr_reg[CD_W-1:0]] <= {{(16-QN_W){1'b0}}, if_e_head};
        c_drop[c_wr_reg[CD_W-1:0]] <= c_push_drop;
        c_wr_reg <= c_wr_reg + 1'b1;
    end
    if (c_push && !c_pop) begin
        c_count <= c_count + 1'b1;
    end else if (c_pop && !c_push) begin
        c_count <= c_count - 1'b1;
    end
    if (c_close) begin
        // the DRAIN's sequence number: its data writes are all answered by then
        c_need[c_last_i] <= st_seq + (st_req_valid_reg ? 16'd2 : 16'd1);
        if (c_close_drop) begin
            c_drop[c_last_i] <= 1'b1;
        end
    end
    if (pub_valid_reg && pub_ready) begin
        pub_valid_reg <= 1'b0;
    end
    if (st_rsp_valid && !c_empty) begin
        if (st_rsp_drain) begin
            c_sum_reg <= 32'd0;
            c_rd_reg <= c_rd_reg + 1'b1;
            if (!c_drop[c_head_i] && !halt && !stopping[c_q[c_head_i]]) begin
                pub_valid_reg <= 1'b1;
                pub_q_reg <= c_q[c_head_i];
                pub_head_reg <= c_head[c_head_i];
                pub_len_reg <= c_sum_reg + st_rsp_count;
                pub_need_reg <= c_need[c_head_i];
            end
        end else begin
            c_sum_reg <= c_sum_reg + st_rsp_count;
        end
    end

    for (i = 0; i < NUM_QUEUES; i = i + 1) begin
        seg_tail_moved_reg[i] <= ((pop_entry || seg_read) && {{(32-Q_W){1'b0}}, q_reg} == i) || rst || clr[i];
        if (rst || clr[i]) begin
            if_rd_reg[i] <= {IFP_W{1'b0}};
            seg_tail_reg[i] <= {SPP_W{1'b0}};
        end
    end

    if (rst) begin
        state_reg <= S_IDLE;
        q_reg <= {Q_W{1'b0}};
        ahead_reg <= 2'd0;
        st_req_valid_reg <= 1'b0;
        open_reg <= 2'd0;
        done_valid_reg <= 1'b0;
        c_wr_reg <= {(CD_W+1){1'b0}};
        c_rd_reg <= {(CD_W+1){1'b0}};
        c_count <= {(CD_W+1){1'b0}};
        c_sum_reg <= 32'd0;
        pub_valid_reg <= 1'b0;
    end
end

`ifdef FORMAL
/*
 * Formal checks (docs/formal.md, `make formal`): an answer is written only
 * into writable buffers of the chain it completes. The chain is the oldest
 * in flight of its queue (its in-flight entry, popped in S_GOT); each STREAM
 * request must name a segment slot that the walk wrote, for this chain's
 * head, from a descriptor with VRING_DESC_F_WRITE, at the pointer the entry
 * gives (not written over since), inside the entry's writable segments, with
 * the segment's own address and length. The walk's shadow of each slot
 * comes in on the f_walk_seg_* wires, tied by formal/run.py to
 * virtio_mmio_walk's f_seg_* (Yosys reads no hierarchical names); the write
 * engine checks in turn that every byte it writes lies inside its request.
 */
localparam F_SLOTS = 2**(Q_W+SP_W);
(* keep *) wire [F_SLOTS-1:0] f_walk_seg_w;
(* keep *) wire [F_SLOTS*SPP_W-1:0] f_walk_seg_ptr;
(* keep *) wire [F_SLOTS*16-1:0] f_walk_seg_head;
(* keep *) wire [F_SLOTS*(ADDR_WIDTH+32)-1:0] f_walk_seg_data;
// the entry of the chain being completed: its head, writable segments
reg [QN_W-1:0] f_head;
reg [SPP_W-1:0] f_wfirst, f_wcnt;
wire [Q_W+SP_W-1:0] f_slot = {q_reg, ptr_reg[SP_W-1:0]};
// (the read-ahead path reads the first segment in the cycle the entry is popped)
wire [QN_W-1:0] f_cur_head = pop_entry ? if_e_head : f_head;
wire [SPP_W-1:0] f_cur_wfirst = pop_entry ? if_e_wfirst : f_wfirst;
wire [SPP_W-1:0] f_cur_wcnt = pop_entry ? if_e_wcnt : f_wcnt;
wire [SPP_W-1:0] f_seg_index = ptr_reg - f_cur_wfirst;

always @(posedge clk) begin
    if (pop_entry) begin
        f_head <= if_e_head;
        f_wfirst <= if_e_wfirst;
        f_wcnt <= if_e_wcnt;
    end
end

// the registers that stand for a lookup: the collector's count, and the
// read-ahead's chain in flight (its fast path does not look at if_sent)
always @* begin
    if (!rst) begin
        inv_complete_count: assert(c_count == c_wr_reg - c_rd_reg);
        if (ahead_reg == 2'd3) begin
            inv_complete_ahead_in_flight: assert(if_c_sent != cur_if_rd);
        end
    end
end

always @* begin
    if (!rst && seg_read) begin
        assert(f_seg_index < f_cur_wcnt);
        assert(f_walk_seg_w[f_slot]);
        assert(f_walk_seg_ptr[f_slot*SPP_W +: SPP_W] == ptr_reg);
        assert(f_walk_seg_head[f_slot*16 +: 16] == {{(16-QN_W){1'b0}}, f_cur_head});
        assert({st_req_addr_next, st_req_len_next} == f_walk_seg_data[f_slot*(ADDR_WIDTH+32) +: ADDR_WIDTH+32]);
    end
end
`endif

endmodule

`resetall
