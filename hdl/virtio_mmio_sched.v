`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * virtio-mmio queue scheduler: which queue the fetch unit reads next.
 *
 * Per queue: a kick (a notify, or the backend becoming ready: the model's
 * wake), a kick seen during a run (kept when that run finds nothing new),
 * waiting for room in the segment buffer, a run in the pipeline. A queue is
 * eligible while it is live, kicked, its backend ready, not waiting for room,
 * without a run in the pipeline, not being stopped, and the device healthy;
 * the eligible queues are served round robin, one run at a time.
 *
 * The pick is registered and the run starts the cycle after it, if the queue
 * is still eligible and the fetch unit still free: the round robin's decision
 * does not reach the fetch units' state in the same cycle (one cycle a run).
 */
module virtio_mmio_sched #
(
    // Number of virtqueues
    parameter NUM_QUEUES = 2,
    // Width of a queue index
    parameter Q_W = 1
)
(
    input  wire                   clk,
    input  wire                   rst,

    input  wire [NUM_QUEUES-1:0]  q_live,
    input  wire [NUM_QUEUES-1:0]  backend_ready,
    input  wire                   halt,
    // queues being stopped (no run starts on them)
    input  wire [NUM_QUEUES-1:0]  stopping,
    // per-queue state cleared (stop or reset done)
    input  wire [NUM_QUEUES-1:0]  clr,

    input  wire                   notify_valid,
    input  wire [Q_W-1:0]         notify_queue,

    // the fetch unit takes a new run
    input  wire                   fetch_free,
    output wire                   run_start_valid,
    output wire [Q_W-1:0]         run_start_q,
    // a queue picked: run_start_q is the queue whose run may start now
    output wire                   pick_valid,
    // another queue would be served: the run in progress may yield
    output wire                   others_waiting,
    input  wire [Q_W-1:0]         fetch_q,

    // a run left the pipeline (its last token committed); run_end_kick:
    // the avail ring had nothing new (the kick is used up unless a notify
    // came during the run)
    input  wire                   run_end_valid,
    input  wire [Q_W-1:0]         run_end_q,
    input  wire                   run_end_kick,
    // the run stopped for lack of room in the segment buffer
    input  wire                   wait_space_set,
    input  wire [Q_W-1:0]         wait_space_q,
    // a completion freed room in that queue's segment buffer
    input  wire                   space_freed,
    input  wire [Q_W-1:0]         space_freed_q,

    output wire [NUM_QUEUES-1:0]  run_active,
    // a queue is waiting for the fetch unit
    output wire                   pending
);

localparam [Q_W:0] NQ_IDX = NUM_QUEUES[Q_W:0];

reg [NUM_QUEUES-1:0] kick_reg, kick_next;
reg [NUM_QUEUES-1:0] kick_again_reg, kick_again_next;
reg [NUM_QUEUES-1:0] wait_space_reg, wait_space_next;
reg [NUM_QUEUES-1:0] run_active_reg, run_active_next;
reg [NUM_QUEUES-1:0] ready_prev_reg;
reg [Q_W-1:0] rr_reg, rr_next;
reg pick_valid_reg;
reg [Q_W-1:0] pick_q_reg;

reg [NUM_QUEUES-1:0] eligible;
reg [NUM_QUEUES-1:0] wake;
reg pick_found;
reg [Q_W-1:0] pick_q;
reg [Q_W:0] idx;
reg [Q_W:0] next_idx;
integer i;

assign run_active = run_active_reg;
assign pending = pick_found || pick_valid_reg;
assign run_start_valid = pick_valid_reg && fetch_free && eligible[pick_q_reg];
assign run_start_q = pick_q_reg;
assign pick_valid = pick_valid_reg;

always @* begin
    eligible = q_live & kick_reg & backend_ready & ~wait_space_reg & ~run_active_reg & ~stopping
        & {NUM_QUEUES{!halt}};

    pick_found = 1'b0;
    pick_q = {Q_W{1'b0}};
    for (i = 0; i < NUM_QUEUES; i = i + 1) begin
        idx = {1'b0, rr_reg} + i[Q_W:0];
        if (idx >= NQ_IDX) begin
            idx = idx - NQ_IDX;
        end
        if (!pick_found && eligible[idx[Q_W-1:0]]) begin
            pick_found = 1'b1;
            pick_q = idx[Q_W-1:0];
        end
    end
end

// another queue than the one fetched is eligible
assign others_waiting = |(eligible & ~({{(NUM_QUEUES-1){1'b0}}, 1'b1} << fetch_q));

always @* begin
    kick_next = kick_reg;
    kick_again_next = kick_again_reg;
    wait_space_next = wait_space_reg;
    run_active_next = run_active_reg;
    rr_next = rr_reg;
    next_idx = {(Q_W+1){1'b0}};

    if (run_start_valid) begin
        run_active_next[pick_q_reg] = 1'b1;
        kick_again_next[pick_q_reg] = 1'b0;
        next_idx = {1'b0, pick_q_reg} + 1'b1;
        rr_next = (next_idx >= NQ_IDX) ? {Q_W{1'b0}} : next_idx[Q_W-1:0];
    end

    if (run_end_valid) begin
        run_active_next[run_end_q] = 1'b0;
        if (run_end_kick) begin
            kick_next[run_end_q] = kick_again_reg[run_end_q];
        end
    end

    if (wait_space_set) begin
        wait_space_next[wait_space_q] = 1'b1;
    end
    if (space_freed) begin
        wait_space_next[space_freed_q] = 1'b0;
    end

    // notifies and the backend becoming ready kick a live queue; during a
    // run they also mark it kicked again (the run may have read avail.idx
    // before the driver's update)
    for (i = 0; i < NUM_QUEUES; i = i + 1) begin
        wake[i] = (notify_valid && {{(32-Q_W){1'b0}}, notify_queue} == i) || (backend_ready[i] && !ready_prev_reg[i]);
        if (q_live[i] && !halt && wake[i]) begin
            kick_next[i] = 1'b1;
            kick_again_next[i] = 1'b1;
        end
    end

    for (i = 0; i < NUM_QUEUES; i = i + 1) begin
        if (clr[i]) begin
            kick_next[i] = 1'b0;
            kick_again_next[i] = 1'b0;
            wait_space_next[i] = 1'b0;
            run_active_next[i] = 1'b0;
        end
    end
end

always @(posedge clk) begin
    kick_reg <= kick_next;
    kick_again_reg <= kick_again_next;
    wait_space_reg <= wait_space_next;
    run_active_reg <= run_active_next;
    ready_prev_reg <= backend_ready;
    rr_reg <= rr_next;
    // a pick lasts a cycle: taken then, or picked again
    pick_valid_reg <= fetch_free && pick_found && !pick_valid_reg;
    pick_q_reg <= pick_q;

    if (rst) begin
        kick_reg <= {NUM_QUEUES{1'b0}};
        kick_again_reg <= {NUM_QUEUES{1'b0}};
        wait_space_reg <= {NUM_QUEUES{1'b0}};
        run_active_reg <= {NUM_QUEUES{1'b0}};
        ready_prev_reg <= {NUM_QUEUES{1'b0}};
        rr_reg <= {Q_W{1'b0}};
        pick_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
