"""Handing freed memory back to the operating system during `train` (glibc's allocator; a no-op elsewhere).

Measured on the real file (1,048,491 rows, 884,219 customers): after the anomaly stage the process held
~530 MB more than its live objects, and an `ingest` left ~500 MB behind for the `train` after it in the same
process. glibc raises its mmap threshold each time a large block is freed (up to 32 MB), so from then on the
8 MB arrays of a million-row pass come from the heap, and freeing them only keeps the pages for later,
scattered among live blocks where they are never trimmed. Two calls undo that:

- `unmap_large_blocks` pins the threshold, so every large block is mapped on its own and unmapped when freed;
- `return_freed_memory` is `malloc_trim(0)` (and Arrow's `release_unused`): the free pages inside every arena
  go back (madvise), once.

Arrow allocates from glibc's heap in every FinAssist process (`bot/__init__.py` sets
`ARROW_DEFAULT_MEMORY_POOL=system` unless it is set already), which `malloc_trim` returns: Arrow's own pool (mimalloc) kept 45-80 MB of an ingest's CSV parse
that `release_unused` did not give back, under everything a `train` after it in the same process built (peak
of ingest + train on the real file, 4 runs each: 1,495-1,535 MB -> 1,427-1,457 MB). Arrow reads the variable once, when it
is loaded, so it is set there, before any FinAssist code imports pyarrow; in a process that loaded pyarrow
earlier it changes nothing. Arrow's CSV parse of the real file is no slower on it (3 pairs
alone: 1.25-1.66 s against 1.58-2.63 s with mimalloc).

None of this changes what is computed; it only changes how much resident memory the same work needs.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3          # mallopt parameter number (glibc malloc.h)
LARGE_BLOCK = 1 << 20          # blocks of 1 MiB and more are mapped on their own (glibc's default starts at 128 KiB)



def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it (musl has no malloc_trim)
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()


def unmap_large_blocks(threshold: int = LARGE_BLOCK) -> bool:
    """Blocks of `threshold` bytes and more get their own mapping, returned to the system when freed
    (process-wide, and it stays so). False where the allocator is not glibc's."""
    if _LIBC is None:
        return False
    return bool(_LIBC.mallopt(M_MMAP_THRESHOLD, threshold))


def return_freed_memory() -> bool:
    """Give the free pages the allocators keep back to the system now: Arrow's pool (the store's columnar
    snapshot is read through it), then glibc's (`malloc_trim(0)`). False where the allocator is not glibc's."""
    arrow = sys.modules.get("pyarrow")   # only if something already uses it: never imported for this
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    if _LIBC is None:
        return False
    _LIBC.malloc_trim(0)
    return True
