"""cocotb glue: the driver model's HAL over cocotbext-axi, the backend stream
adapter, scoreboards. Everything cocotb-specific lives here, not in model/."""
