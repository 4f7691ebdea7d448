"""Runnable examples of the driver model against the reference device."""
