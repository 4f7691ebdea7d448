/*
 * The little of the Linux kernel that drivers/virtio/virtio_ring.c (Linux 6.1)
 * needs, in user space: every <linux/...> header that file includes is a
 * one-line file of this directory that includes this one. This project's own
 * code (MIT), written for the build of make linux-check: the kernel's file is
 * compiled against it unmodified, at test time, and never kept here.
 *
 * What matters for the check:
 *  - guest memory: every allocation of the ring code (rings, indirect tables,
 *    its bookkeeping) comes from an arena inside the guest memory the device
 *    reaches (vio_glue.c), and virt_to_phys()/sg_phys() turn a pointer into
 *    that memory into the guest address the device sees;
 *  - PAGE_SIZE is a variable: the ring code runs as on a kernel of 4, 16 or
 *    64 KiB pages;
 *  - WARN_ON/BUG_ON and dev_err/dev_warn are recorded (vio_glue.c) and
 *    reported to Python: a warning of the ring code fails the check.
 */
#ifndef VIO_KERNEL_H
#define VIO_KERNEL_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ types */
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
typedef u8 __u8;
typedef u16 __u16;
typedef u32 __u32;
typedef u64 __u64;
typedef s16 __s16;
typedef s32 __s32;
typedef s64 __s64;
#define __bitwise
#define __force
typedef u16 __le16;
typedef u32 __le32;
typedef u64 __le64;
typedef u16 __be16;
typedef u32 __be32;
typedef u64 __be64;
typedef u16 __sum16;
typedef u32 __wsum;
#define cpu_to_le16(v) ((__le16)(u16)(v)) /* little-endian hosts only (x86-64, arm64) */
#define cpu_to_le32(v) ((__le32)(u32)(v))
#define cpu_to_le64(v) ((__le64)(u64)(v))
#define le16_to_cpu(v) ((u16)(v))
#define le32_to_cpu(v) ((u32)(v))
#define le64_to_cpu(v) ((u64)(v))
typedef u64 dma_addr_t;
typedef u64 phys_addr_t;
typedef unsigned int gfp_t;
typedef long long ktime_t;

#define GFP_KERNEL 0u
#define GFP_ATOMIC 1u
#define __GFP_NOWARN 0u
#define __GFP_HIGHMEM 0u
#define __GFP_ZERO 0x100u

/* ------------------------------------------------------------ compiler */
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define noinline __attribute__((noinline))
#define __must_check __attribute__((warn_unused_result))
#define __maybe_unused __attribute__((unused))
#define __read_mostly
#define __aligned(x) __attribute__((aligned(x)))
#define __packed __attribute__((packed))
#define __user
#define __iomem
#define __rcu
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define barrier() __asm__ __volatile__("" ::: "memory")
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) do { *(volatile __typeof__(x) *)&(x) = (v); } while (0)
#define data_race(expr) ({ expr; })
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b) ((t)(a) > (t)(b) ? (t)(a) : (t)(b))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define ALIGN(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define BIT(n) (1UL << (n))
#define BIT_ULL(n) (1ULL << (n))
#define EXPORT_SYMBOL(s)
#define EXPORT_SYMBOL_GPL(s)
#define MODULE_LICENSE(s)
#define MODULE_DESCRIPTION(s)
#define might_sleep() do { } while (0)

/* the ring code runs single-threaded here: the device is on the far side of a bus */
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define mb() smp_mb()
#define rmb() smp_rmb()
#define wmb() smp_wmb()
#define dma_rmb() smp_rmb()
#define dma_wmb() smp_wmb()
#define virt_mb() smp_mb()
#define virt_rmb() smp_rmb()
#define virt_wmb() smp_wmb()
#define virt_store_mb(var, value) do { WRITE_ONCE(var, value); smp_mb(); } while (0)

/* ------------------------------------------------------------ reports (vio_glue.c) */
void vio_report(const char *kind, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void vio_bug(const char *file, int line, const char *what) __attribute__((noreturn));
#define BUG() vio_bug(__FILE__, __LINE__, "BUG()")
#define BUG_ON(c) do { if (unlikely(c)) vio_bug(__FILE__, __LINE__, "BUG_ON(" #c ")"); } while (0)
#define WARN_ON(c) ({ int __w = !!(c); if (unlikely(__w)) vio_report("WARN_ON", __FILE__, __LINE__, "%s", #c); unlikely(__w); })
#define WARN_ON_ONCE(c) WARN_ON(c)
#define WARN(c, ...) ({ int __w = !!(c); if (unlikely(__w)) vio_report("WARN", __FILE__, __LINE__, __VA_ARGS__); unlikely(__w); })
#define dev_err(dev, ...) vio_report("dev_err", __FILE__, __LINE__, __VA_ARGS__)
#define dev_warn(dev, ...) vio_report("dev_warn", __FILE__, __LINE__, __VA_ARGS__)
#define dev_warn_once(dev, ...) dev_warn(dev, __VA_ARGS__)
#define pr_err(...) vio_report("pr_err", __FILE__, __LINE__, __VA_ARGS__)
#define pr_warn(...) vio_report("pr_warn", __FILE__, __LINE__, __VA_ARGS__)
#define pr_debug(...) do { } while (0)
#define pr_info(...) do { } while (0)

/* ------------------------------------------------------------ memory (vio_glue.c) */
extern unsigned long vio_page_size;
#define PAGE_SIZE vio_page_size
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & PAGE_MASK)
void *vio_alloc(size_t size, size_t align);
void vio_free(void *p);
dma_addr_t vio_virt_to_phys(const void *p);
/* as the kernel's: zeroed only when asked (__GFP_ZERO), else slab poison */
static inline void *vio_kalloc(size_t size, size_t align, gfp_t gfp)
{
	void *p = vio_alloc(size, align);
	if (p)
		memset(p, gfp & __GFP_ZERO ? 0 : 0x6b, size);
	return p;
}
static inline void *kmalloc(size_t size, gfp_t gfp) { return vio_kalloc(size, 16, gfp); }
static inline void *kzalloc(size_t size, gfp_t gfp) { return vio_kalloc(size, 16, gfp | __GFP_ZERO); }
static inline void *kmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	return n && size > SIZE_MAX / n ? NULL : kmalloc(n * size, gfp);
}
static inline void *kcalloc(size_t n, size_t size, gfp_t gfp)
{
	return n && size > SIZE_MAX / n ? NULL : kzalloc(n * size, gfp);
}
static inline void kfree(const void *p) { vio_free((void *)p); }
static inline void *alloc_pages_exact(size_t size, gfp_t gfp) { return vio_kalloc(size, PAGE_SIZE, gfp); }
static inline void free_pages_exact(void *p, size_t size) { (void)size; vio_free(p); }
#define virt_to_phys(p) vio_virt_to_phys(p)

/* ------------------------------------------------------------ lists */
struct list_head {
	struct list_head *next, *prev;
};
static inline void INIT_LIST_HEAD(struct list_head *l) { l->next = l->prev = l; }
static inline void list_add_tail(struct list_head *n, struct list_head *head)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}
static inline void list_del(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = NULL;
}
#define list_for_each_entry(pos, head, member) \
	for (pos = container_of((head)->next, __typeof__(*pos), member); &pos->member != (head); \
	     pos = container_of(pos->member.next, __typeof__(*pos), member))

/* ------------------------------------------------------------ locks: one thread */
typedef struct { int unused; } spinlock_t;
#define spin_lock_init(l) do { (void)(l); } while (0)
#define spin_lock(l) do { (void)(l); } while (0)
#define spin_unlock(l) do { (void)(l); } while (0)
#define spin_lock_irqsave(l, f) do { (void)(l); (f) = 0; } while (0)
#define spin_unlock_irqrestore(l, f) do { (void)(l); (void)(f); } while (0)

/* ------------------------------------------------------------ devices */
struct device {
	struct device *parent;
};
typedef enum irqreturn { IRQ_NONE = 0, IRQ_HANDLED = 1, IRQ_WAKE_THREAD = 2 } irqreturn_t;
static inline int xen_domain(void) { return 0; }
static inline ktime_t ktime_get(void) { return 0; }

/* ------------------------------------------------------------ DMA: never used for a legacy device */
enum dma_data_direction { DMA_BIDIRECTIONAL = 0, DMA_TO_DEVICE = 1, DMA_FROM_DEVICE = 2, DMA_NONE = 3 };
#define DMA_MAPPING_ERROR (~(dma_addr_t)0)
/* vring_use_dma_api() is false without VIRTIO_F_ACCESS_PLATFORM (legacy): these are never reached */
#define dma_alloc_coherent(d, s, h, f) (vio_bug(__FILE__, __LINE__, "DMA API"), (void *)0)
#define dma_free_coherent(d, s, p, h) vio_bug(__FILE__, __LINE__, "DMA API")
#define dma_map_page(d, p, o, s, dir) (vio_bug(__FILE__, __LINE__, "DMA API"), (dma_addr_t)0)
#define dma_map_page_attrs(d, p, o, s, dir, a) dma_map_page(d, p, o, s, dir)
#define dma_map_single(d, p, s, dir) (vio_bug(__FILE__, __LINE__, "DMA API"), (dma_addr_t)0)
#define dma_map_single_attrs(d, p, s, dir, a) dma_map_single(d, p, s, dir)
#define dma_unmap_page(d, a, s, dir) vio_bug(__FILE__, __LINE__, "DMA API")
#define dma_unmap_page_attrs(d, a, s, dir, at) dma_unmap_page(d, a, s, dir)
#define dma_unmap_single(d, a, s, dir) vio_bug(__FILE__, __LINE__, "DMA API")
#define dma_unmap_single_attrs(d, a, s, dir, at) dma_unmap_single(d, a, s, dir)
#define dma_mapping_error(d, a) 0
#define dma_max_mapping_size(d) SIZE_MAX
#define dma_need_sync(d, a) false
#define dma_sync_single_range_for_cpu(d, a, o, s, dir) do { } while (0)
#define dma_sync_single_range_for_device(d, a, o, s, dir) do { } while (0)

/* ------------------------------------------------------------ scatterlists */
struct page;
struct scatterlist {
	void *buf; /* the buffer itself: every buffer lives in guest memory */
	unsigned int offset;
	unsigned int length;
	dma_addr_t dma_address;
	bool last;
	struct scatterlist *chain; /* set on a chain entry instead of buf */
};
static inline struct scatterlist *sg_next(struct scatterlist *sg)
{
	if (sg->last)
		return NULL;
	sg++;
	return sg->chain ? sg->chain : sg;
}
static inline void *sg_virt(struct scatterlist *sg) { return (char *)sg->buf + sg->offset; }
static inline struct page *sg_page(struct scatterlist *sg) { return (struct page *)sg->buf; }
static inline dma_addr_t sg_phys(struct scatterlist *sg) { return vio_virt_to_phys(sg_virt(sg)); }
#define sg_dma_address(sg) ((sg)->dma_address)
#define sg_dma_len(sg) ((sg)->length)
#define kmsan_handle_dma(page, offset, size, dir) do { } while (0)

#endif
