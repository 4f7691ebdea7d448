"""Linux 6.1's own split-ring code against our devices (make linux-check): docs/linux.md."""
