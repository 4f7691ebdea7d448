/* Barriers and the vring constructors, as Linux 6.1's <linux/virtio_ring.h>
 * declares them (this project's own code: see vio_kernel.h); the ring
 * layout itself is the kernel's uapi header. */
#ifndef VIO_LINUX_VIRTIO_RING_H
#define VIO_LINUX_VIRTIO_RING_H
#include "vio_kernel.h"
#include <uapi/linux/virtio_ring.h>

static inline void virtio_mb(bool weak_barriers) { (void)weak_barriers; mb(); }
static inline void virtio_rmb(bool weak_barriers) { (void)weak_barriers; rmb(); }
static inline void virtio_wmb(bool weak_barriers) { (void)weak_barriers; wmb(); }
#define virtio_store_mb(weak_barriers, p, v) do { (void)(weak_barriers); WRITE_ONCE(*(p), v); mb(); } while (0)

struct virtio_device;
struct virtqueue;

struct virtqueue *vring_create_virtqueue(unsigned int index, unsigned int num, unsigned int vring_align,
					 struct virtio_device *vdev, bool weak_barriers, bool may_reduce_num,
					 bool ctx, bool (*notify)(struct virtqueue *vq),
					 void (*callback)(struct virtqueue *vq), const char *name);
void vring_del_virtqueue(struct virtqueue *vq);
void vring_transport_features(struct virtio_device *vdev);
irqreturn_t vring_interrupt(int irq, void *_vq);
#endif
