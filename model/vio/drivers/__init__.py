"""Class drivers on top of the VirtIO layer: console (multiport), block, entropy."""
