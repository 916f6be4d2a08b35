"""Atomically exchanges two directories: after it, each path names what the other named.

    python3 python/swap_dirs.py A B

Exit 0 on success, 3 when the system has no atomic exchange (the caller falls back), 1 on any
other error. Linux: renameat2(RENAME_EXCHANGE); macOS: renamex_np(RENAME_SWAP). There is no
moment at which either path is missing or half-filled, which a pair of renames cannot promise.
Plain ctypes, so any Python 3 works; torch is not needed.
"""

import ctypes
import errno
import os
import sys

AT_FDCWD = -100
RENAME_EXCHANGE = 2  # linux/fs.h
RENAME_SWAP = 2  # macOS stdio.h


def exchange(a: bytes, b: bytes) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        result = libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        result = libc.renamex_np(a, b, RENAME_SWAP)
    else:
        return errno.ENOSYS
    return 0 if result == 0 else ctypes.get_errno()


def main() -> int:
    a, b = (os.fsencode(p) for p in sys.argv[1:3])
    err = exchange(a, b)
    if err == 0:
        return 0
    print(f"swap_dirs: {os.strerror(err)}", file=sys.stderr)
    return 3 if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EXDEV) else 1


if __name__ == "__main__":
    sys.exit(main())
