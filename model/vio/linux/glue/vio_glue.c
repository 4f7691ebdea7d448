/*
 * The C side of make linux-check: Linux's own split-ring driver code
 * (drivers/virtio/virtio_ring.c of Linux 6.1, compiled unmodified next to
 * this file at test time) behind a small API that Python reaches with ctypes
 * (model/vio/linux/ring.py). This project's own code (MIT).
 *
 * Guest memory is the bytes the device reaches (the reference device's
 * GuestMemory, the RTL's AxiRam): Python hands over its buffer, and every
 * allocation of the ring code comes from an arena inside it, so rings and
 * indirect tables are where the device looks. A guest address is the offset
 * into that buffer plus the memory's base.
 *
 * The ring code's notify and callback go back to Python through two hooks.
 * A BUG() of the ring code does not kill the process: each entry point below
 * catches it (setjmp) and returns its failure value; BUG(), dev_err(),
 * WARN_ON() and the like are recorded for Python (vio_report_*).
 */
#include <setjmp.h>
#include <stdarg.h>

#include "vio_kernel.h"
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

unsigned long vio_page_size = 4096;

/* ------------------------------------------------------------ reports */
#define REPORTS 64
#define REPORT_LEN 256
static char reports[REPORTS][REPORT_LEN];
static int report_count; /* how many were made; the first REPORTS are kept */
static jmp_buf *bug_jmp; /* the innermost guarded call (callbacks nest calls) */

void vio_report(const char *kind, const char *file, int line, const char *fmt, ...)
{
	if (report_count < REPORTS) {
		char *out = reports[report_count];
		int n = snprintf(out, REPORT_LEN, "%s at %s:%d: ", kind, file, line);
		va_list ap;
		va_start(ap, fmt);
		if (n > 0 && n < REPORT_LEN)
			vsnprintf(out + n, REPORT_LEN - n, fmt, ap);
		va_end(ap);
	}
	report_count++;
}

void vio_bug(const char *file, int line, const char *what)
{
	vio_report("BUG", file, line, "%s", what);
	if (bug_jmp)
		longjmp(*bug_jmp, 1);
	fprintf(stderr, "vio_glue: %s at %s:%d outside a guarded call\n", what, file, line);
	abort();
}

int vio_report_count(void) { return report_count; }
const char *vio_report_text(int i) { return i >= 0 && i < REPORTS && i < report_count ? reports[i] : ""; }
void vio_reports_clear(void) { report_count = 0; }

/* every entry point that runs ring code: a BUG() returns `fail` from it */
#define GUARD(fail)                                     \
	jmp_buf guard_;                                 \
	jmp_buf *volatile outer_ = bug_jmp;             \
	if (setjmp(guard_)) {                           \
		bug_jmp = outer_;                       \
		return fail;                            \
	}                                               \
	bug_jmp = &guard_
#define DONE(value) do { __typeof__(value) done_ = (value); bug_jmp = outer_; return done_; } while (0)
#define DONE_VOID() do { bug_jmp = outer_; return; } while (0)

/* ------------------------------------------------------------ guest memory */
static char *mem_host;        /* the guest memory's bytes in this process */
static u64 mem_guest;         /* its guest address */
static size_t mem_size;
static size_t arena_lo, arena_hi; /* the ring code's allocations: offsets into the memory */

#define BLOCKS 8192
static struct block { size_t off, size; } blocks[BLOCKS]; /* in use, sorted by offset */
static int block_count;

int vio_memory(void *host, u64 guest, size_t size, size_t arena_offset, size_t arena_size)
{
	if (arena_offset > size || arena_size > size - arena_offset)
		return -EINVAL;
	mem_host = host;
	mem_guest = guest;
	mem_size = size;
	arena_lo = arena_offset;
	arena_hi = arena_offset + arena_size;
	block_count = 0;
	return 0;
}

int vio_set_page_size(unsigned long page_size)
{
	if (page_size < 4096 || (page_size & (page_size - 1)))
		return -EINVAL;
	vio_page_size = page_size;
	return 0;
}

void *vio_alloc(size_t size, size_t align)
{
	size_t start = arena_lo;
	if (!size)
		size = 1;
	for (int i = 0; i <= block_count; i++) {
		size_t end = i < block_count ? blocks[i].off : arena_hi;
		/* aligned in guest addresses: the device sees those */
		size_t at = (size_t)(ALIGN(mem_guest + start, (u64)align) - mem_guest);
		if (at + size <= end && block_count < BLOCKS) {
			memmove(&blocks[i + 1], &blocks[i], (block_count - i) * sizeof(blocks[0]));
			blocks[i].off = at;
			blocks[i].size = size;
			block_count++;
			return mem_host + at;
		}
		if (i < block_count)
			start = blocks[i].off + blocks[i].size;
	}
	vio_report("vio_alloc", __FILE__, __LINE__, "arena of %zu bytes full: %zu bytes aligned to %zu refused",
		   arena_hi - arena_lo, size, align);
	return NULL;
}

void vio_free(void *p)
{
	if (!p)
		return;
	size_t off = (char *)p - mem_host;
	for (int i = 0; i < block_count; i++) {
		if (blocks[i].off == off) {
			memmove(&blocks[i], &blocks[i + 1], (block_count - i - 1) * sizeof(blocks[0]));
			block_count--;
			return;
		}
	}
	vio_bug(__FILE__, __LINE__, "kfree() of a pointer the arena never gave");
}

int vio_arena_blocks(void) { return block_count; }

dma_addr_t vio_virt_to_phys(const void *p)
{
	const char *c = p;
	if (c < mem_host || c >= mem_host + mem_size)
		vio_bug(__FILE__, __LINE__, "a buffer outside guest memory");
	return mem_guest + (u64)(c - mem_host);
}

static void *guest_to_host(u64 addr, u32 len)
{
	if (addr < mem_guest || addr - mem_guest > mem_size || len > mem_size - (addr - mem_guest))
		vio_bug(__FILE__, __LINE__, "a buffer outside guest memory");
	return mem_host + (addr - mem_guest);
}

/* ------------------------------------------------------------ hooks to Python */
typedef void (*vio_hook)(unsigned int queue);
static vio_hook notify_hook, callback_hook;

void vio_set_hooks(vio_hook notify, vio_hook callback)
{
	notify_hook = notify;
	callback_hook = callback;
}

static bool vio_notify(struct virtqueue *vq)
{
	notify_hook(vq->index); /* Python writes QueueNotify once the call returns */
	return true;
}

static void vio_callback(struct virtqueue *vq) { callback_hook(vq->index); }

/* ------------------------------------------------------------ devices and queues */
static const struct virtio_config_ops no_ops;

struct virtio_device *vio_device_new(u64 features)
{
	struct virtio_device *dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->dev.parent = &dev->dev;
	dev->config = &no_ops;
	INIT_LIST_HEAD(&dev->vqs);
	spin_lock_init(&dev->vqs_list_lock);
	dev->features = features;
	return dev;
}

void vio_device_free(struct virtio_device *dev) { free(dev); }

/* vm_finalize_features(): the ring code keeps the transport bits it implements */
u64 vio_finalize_features(struct virtio_device *dev)
{
	vring_transport_features(dev);
	return dev->features;
}

/* vm_setup_vq(): a ring of up to `num` entries aligned to `align` (Linux: PAGE_SIZE) */
struct virtqueue *vio_vq_new(struct virtio_device *dev, unsigned int index, unsigned int num, unsigned int align,
			     const char *name)
{
	GUARD(NULL);
	DONE(vring_create_virtqueue(index, num, align, dev, true, true, false, vio_notify, vio_callback, name));
}

void vio_vq_del(struct virtqueue *vq)
{
	GUARD();
	vring_del_virtqueue(vq);
	DONE_VOID();
}

/*
 * One request: `lists` scatterlists, the first `out` of them readable; list i
 * has counts[i] buffers, taken in order from guest addresses addrs[] and
 * lengths lens[]. mode 0: virtqueue_add_sgs(); 1: virtqueue_add_outbuf() and
 * 2: virtqueue_add_inbuf() (one list). `chain` splits every list of more than
 * one buffer in two arrays joined by a chain entry, as sg_chain() does.
 * Returns the ring code's result (0, -ENOSPC, -EIO...). A token of 0 is the
 * NULL the ring code refuses with a BUG().
 */
static int add_request(struct virtqueue *vq, unsigned int lists, unsigned int out, const u32 *counts,
		       const u64 *addrs, const u32 *lens, u64 token, int mode, int chain)
{
	struct scatterlist *sgs[64];
	unsigned int total = 0, k = 0;
	int err;

	for (unsigned int i = 0; i < lists; i++) {
		unsigned int n = counts[i], split = chain && n > 1 ? n / 2 : n;
		/* the entries before `split`, a chain entry, the rest */
		struct scatterlist *a = calloc(n + 1, sizeof(*a));
		if (!a)
			vio_bug(__FILE__, __LINE__, "out of host memory");
		for (unsigned int j = 0, slot = 0; j < n; j++, slot++, k++) {
			if (j == split && split < n) {
				a[slot].chain = &a[slot + 1];
				slot++;
			}
			a[slot].buf = guest_to_host(addrs[k], lens[k]);
			a[slot].length = lens[k];
			a[slot].last = j + 1 == n;
		}
		sgs[i] = a;
		total += n;
	}
	if (mode == 1)
		err = virtqueue_add_outbuf(vq, sgs[0], total, (void *)(uintptr_t)token, GFP_ATOMIC);
	else if (mode == 2)
		err = virtqueue_add_inbuf(vq, sgs[0], total, (void *)(uintptr_t)token, GFP_ATOMIC);
	else
		err = virtqueue_add_sgs(vq, sgs, out, lists - out, (void *)(uintptr_t)token, GFP_ATOMIC);
	for (unsigned int i = 0; i < lists; i++)
		free(sgs[i]); /* the ring holds addresses, not the scatterlists */
	return err;
}

int vio_vq_add(struct virtqueue *vq, unsigned int lists, unsigned int out, const u32 *counts, const u64 *addrs,
	       const u32 *lens, u64 token, int mode, int chain)
{
	if (!lists || lists > 64 || out > lists || (mode && lists != 1))
		return -EINVAL;
	for (unsigned int i = 0; i < lists; i++)
		if (!counts[i])
			return -EINVAL; /* a scatterlist has at least one entry */
	GUARD(-EFAULT);
	DONE(add_request(vq, lists, out, counts, addrs, lens, token, mode, chain));
}

/*
 * The test hook for u16 wrap-around (the device's RING_INDEX_BASE /
 * ring_index_base): before the queue is given to the device, play device for
 * `n` requests of the ring code (virtqueue_add_outbuf of the byte at guest
 * address `byte`, its used entry and used.idx written, avail_event moved on
 * as a device does, virtqueue_get_buf), so that the ring code's indices stand
 * at `n`, where the device's start. Returns 0, or -EIO if the ring code
 * disagreed.
 */
int vio_vq_advance(struct virtqueue *vq, unsigned int n, u64 byte)
{
	unsigned int num = virtqueue_get_vring_size(vq);
	struct vring_avail *avail = guest_to_host(virtqueue_get_avail_addr(vq), 4 + 2 * num);
	struct vring_used *used = guest_to_host(virtqueue_get_used_addr(vq), 4 + 8 * num + 2);
	struct scatterlist sg = {.buf = guest_to_host(byte, 1), .length = 1, .last = true};
	void *token = (void *)(uintptr_t)1;

	GUARD(-EFAULT);
	for (unsigned int i = 0; i < n; i++) {
		unsigned int len = 0;
		if (virtqueue_add_outbuf(vq, &sg, 1, token, GFP_ATOMIC))
			DONE(-EIO);
		virtqueue_kick_prepare(vq); /* no notify: the device is not there yet */
		u16 idx = avail->idx;
		used->ring[used->idx % num].id = avail->ring[(u16)(idx - 1) % num];
		used->ring[used->idx % num].len = 0;
		used->idx++;
		*(__virtio16 *)&used->ring[num] = idx; /* avail_event */
		if (virtqueue_get_buf(vq, &len) != token)
			DONE(-EIO);
	}
	DONE(0);
}

int vio_vq_kick_prepare(struct virtqueue *vq) { GUARD(-1); DONE(virtqueue_kick_prepare(vq)); }
int vio_vq_notify(struct virtqueue *vq) { GUARD(-1); DONE(virtqueue_notify(vq)); }

u64 vio_vq_get_buf(struct virtqueue *vq, u32 *len)
{
	GUARD(0);
	unsigned int n = 0;
	void *token = virtqueue_get_buf_ctx(vq, &n, NULL);
	*len = n;
	DONE((u64)(uintptr_t)token);
}

int vio_vq_disable_cb(struct virtqueue *vq) { GUARD(-1); virtqueue_disable_cb(vq); DONE(0); }
int vio_vq_enable_cb(struct virtqueue *vq) { GUARD(-1); DONE(virtqueue_enable_cb(vq)); }
long vio_vq_enable_cb_prepare(struct virtqueue *vq) { GUARD(-1); DONE((long)virtqueue_enable_cb_prepare(vq)); }
int vio_vq_poll(struct virtqueue *vq, unsigned int opaque) { GUARD(-1); DONE(virtqueue_poll(vq, opaque)); }
int vio_vq_enable_cb_delayed(struct virtqueue *vq) { GUARD(-1); DONE(virtqueue_enable_cb_delayed(vq)); }
u64 vio_vq_detach_unused_buf(struct virtqueue *vq) { GUARD(0); DONE((u64)(uintptr_t)virtqueue_detach_unused_buf(vq)); }
int vio_vq_interrupt(struct virtqueue *vq) { GUARD(-1); DONE(vring_interrupt(0, vq)); }
int vio_vq_is_broken(struct virtqueue *vq) { return virtqueue_is_broken(vq); }
unsigned int vio_vq_size(struct virtqueue *vq) { return virtqueue_get_vring_size(vq); }
unsigned int vio_vq_num_free(struct virtqueue *vq) { return vq->num_free; }
u64 vio_vq_desc_addr(struct virtqueue *vq) { return virtqueue_get_desc_addr(vq); }
u64 vio_vq_avail_addr(struct virtqueue *vq) { return virtqueue_get_avail_addr(vq); }
u64 vio_vq_used_addr(struct virtqueue *vq) { return virtqueue_get_used_addr(vq); }
