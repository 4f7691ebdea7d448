"""Building Linux's split-ring code for user space, at test time.

The kernel's ``drivers/virtio/virtio_ring.c`` and the three uapi headers it
needs come from Debian's ``linux-source-6.1`` package (its tarball
``/usr/src/linux-source-6.1.tar.xz``); they are extracted into ``build/``
and compiled, unmodified, with this project's shim headers
(``glue/include``) and C glue (``glue/vio_glue.c``) into one shared library
that ``vio.linux.ring`` loads. The kernel's files are GPL-2.0: they are never
copied into the repository, only built from the package on the machine that
runs the check.
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

TARBALL_ENV = "VIO_LINUX_SOURCE"  # another linux-source tarball (default: Debian's 6.1)
DEFAULT_TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
PACKAGE = "linux-source-6.1"
GLUE = Path(__file__).resolve().parent / "glue"
# what is taken from the tarball, relative to its top directory
KERNEL_FILES = (
    "drivers/virtio/virtio_ring.c",
    "include/uapi/linux/virtio_ring.h",
    "include/uapi/linux/virtio_config.h",
    "include/uapi/linux/virtio_types.h",
)
# the kernel's file as the kernel builds it (no strict aliasing), quiet about
# what its own build does not warn about either; our glue with -Werror
CFLAGS = ["-O2", "-g", "-fPIC", "-D__KERNEL__", "-fno-strict-aliasing", "-Wall"]
KERNEL_CFLAGS = ["-Wno-pointer-sign", "-Wno-unused-variable", "-Wno-unused-but-set-variable", "-Wno-maybe-uninitialized"]
GLUE_CFLAGS = ["-Wextra", "-Werror", "-Wno-unused-parameter"]


class LinuxSourceError(RuntimeError):
    """The kernel source is missing, or the ring code did not build."""


def tarball() -> Path:
    path = Path(os.environ.get(TARBALL_ENV, DEFAULT_TARBALL))
    if not path.is_file():
        raise LinuxSourceError(
            f"{path} not found: install the Debian package {PACKAGE} "
            f"(`make linux-check` does: apt-get install {PACKAGE}), or name a tarball in {TARBALL_ENV}"
        )
    return path


def kernel_version(source: Path) -> str:
    """The tarball's top directory, e.g. linux-source-6.1."""
    return source.name.split(".tar")[0]


def extract(source: Path, dest: Path) -> Path:
    """The kernel files of KERNEL_FILES from the tarball into ``dest`` (once:
    a stamp names the tarball they came from). Returns the source root."""
    stamp = dest / ".extracted"
    tag = f"{source} {source.stat().st_size} {source.stat().st_mtime_ns}"
    root = dest / kernel_version(source)
    if stamp.is_file() and stamp.read_text() == tag and all((root / f).is_file() for f in KERNEL_FILES):
        return root
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    wanted = {f"{kernel_version(source)}/{f}" for f in KERNEL_FILES}
    with tarfile.open(source, "r:*") as tar:
        for member in tar:  # one pass over the stream: the tarball is compressed as a whole
            if member.name in wanted:
                tar.extract(member, dest, filter="data")
                wanted.discard(member.name)
                if not wanted:
                    break
    if wanted:
        raise LinuxSourceError(f"{source} has no {', '.join(sorted(wanted))}")
    stamp.write_text(tag)
    return root


def library(build_dir: Path) -> Path:
    """The shared library (built again when the glue or the kernel file
    changed); processes that build at once take turns."""
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _library(build_dir, tarball())


def _library(build_dir: Path, source: Path) -> Path:
    root = extract(source, build_dir / "src")
    inputs = [root / KERNEL_FILES[0], GLUE / "vio_glue.c", *sorted((GLUE / "include").rglob("*.h"))]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in inputs) + " ".join(CFLAGS).encode()).hexdigest()[:16]
    lib = build_dir / f"libviolinux-{digest}.so"
    if lib.is_file():
        return lib
    includes = [f"-I{GLUE / 'include'}", f"-I{root / 'include'}", f"-I{root / 'include' / 'uapi'}"]
    objects = []
    for src, extra in ((root / KERNEL_FILES[0], KERNEL_CFLAGS), (GLUE / "vio_glue.c", GLUE_CFLAGS)):
        obj = build_dir / f"{src.stem}.o"
        _cc([*CFLAGS, *extra, *includes, "-c", str(src), "-o", str(obj)])
        objects.append(str(obj))
    _cc(["-shared", "-o", str(lib), *objects])
    return lib


def _cc(args: list[str]) -> None:
    cc = os.environ.get("CC", "cc")
    proc = subprocess.run([cc, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise LinuxSourceError(f"{cc} {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
