"""pytest's configuration of the tests: QEMU's tests only where QEMU is
installed (make setup installs it; see docs/verification.md, "QEMU: the third
back end")."""

import shutil

collect_ignore = [] if shutil.which("qemu-system-aarch64") else ["test_qemu.py", "test_differential.py"]
