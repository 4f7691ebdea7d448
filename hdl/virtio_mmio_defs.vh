// virtio-mmio ring engine: codes shared by its modules (`include inside a module)

// cause codes of DEVICE_ERROR[7:0] (vio.constants.Cause)
localparam [7:0]
    CAUSE_AVAIL_IDX_JUMP = 8'd1,
    CAUSE_HEAD_RANGE = 8'd2,
    CAUSE_NEXT_RANGE = 8'd3,
    CAUSE_CHAIN_LOOP = 8'd4,
    CAUSE_ZERO_LENGTH = 8'd5,
    CAUSE_READ_AFTER_WRITE = 8'd6,
    CAUSE_INDIRECT_NOT_NEGOTIATED = 8'd7,
    CAUSE_INDIRECT_SIZE = 8'd8,
    CAUSE_INDIRECT_NESTED = 8'd9,
    CAUSE_INDIRECT_WITH_NEXT = 8'd10,
    CAUSE_DMA_WINDOW = 8'd11,
    CAUSE_LENGTH_OVERFLOW = 8'd12,
    CAUSE_HEAD_IN_FLIGHT = 8'd13,
    CAUSE_BUS_ERROR = 8'd14;

// DEVICE_ERROR info of a BUS_ERROR
localparam [15:0]
    BUS_INFO_READ = 16'h0000,
    BUS_INFO_WRITE = 16'h0001;

// descriptor flag bits
localparam
    DESC_F_NEXT = 0,
    DESC_F_WRITE = 1,
    DESC_F_INDIRECT = 2;

// what flows from the fetch unit to the commit stage, in avail-ring order:
// a chain (a head read from the ring, then the walked chain), a new avail.idx,
// and how a run of pops ends (the last token of every run is one of the
// kinds from K_NOTHING up)
localparam [2:0]
    K_CHAIN = 3'd0,       // head / walked chain
    K_SHADOW = 3'd1,      // avail.idx read: more chains published
    K_NOTHING = 3'd2,     // avail.idx read: nothing new (the kick is used up)
    K_ERROR = 3'd3,       // the device breaks here (cause, info)
    K_YIELD = 3'd4,       // run budget used up while other queues wait
    K_ABORT = 3'd5,       // run abandoned (refused, stopped, broken)
    K_RECHECK = 3'd6,     // head maybe in flight: decide at commit, in order
    K_WAIT_SPACE = 3'd7;  // segment buffer full: wait for a completion

// every module takes all of these; the ones it does not use are named here
wire unused_defs = &{1'b0, CAUSE_AVAIL_IDX_JUMP, CAUSE_HEAD_RANGE, CAUSE_NEXT_RANGE, CAUSE_CHAIN_LOOP,
    CAUSE_ZERO_LENGTH, CAUSE_READ_AFTER_WRITE, CAUSE_INDIRECT_NOT_NEGOTIATED, CAUSE_INDIRECT_SIZE,
    CAUSE_INDIRECT_NESTED, CAUSE_INDIRECT_WITH_NEXT, CAUSE_DMA_WINDOW, CAUSE_LENGTH_OVERFLOW,
    CAUSE_HEAD_IN_FLIGHT, CAUSE_BUS_ERROR, BUS_INFO_READ, BUS_INFO_WRITE, DESC_F_NEXT[0], DESC_F_WRITE[0],
    DESC_F_INDIRECT[0], K_CHAIN, K_SHADOW, K_NOTHING, K_ERROR, K_YIELD, K_ABORT, K_RECHECK, K_WAIT_SPACE};
