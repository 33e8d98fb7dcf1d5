"""glibc's memory allocator, tuned for a server that runs for weeks: fewer arenas, freed memory handed back.

Gradio runs each request's handler on one of up to 40 worker threads, and glibc gives threads memory arenas of
their own (up to 8 per core), each keeping the memory its threads freed. Over a long run that alone grew the
server's resident memory by tens of MB more than the same questions asked from four threads (measured with 1,000
fresh questions: +69 MB after the first 200 as shipped, +30 MB with two arenas and trimming; eval/soak.md has the
server's figures). `tune()` caps the arenas at ARENAS and starts a thread that hands freed memory back to the
system every TRIM_SECONDS. Where the C library is not glibc (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import threading

M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)
ARENAS = 2
TRIM_SECONDS = 30.0

_started = threading.Event()


def tune(arenas: int = ARENAS, every: float = TRIM_SECONDS) -> bool:
    """Cap glibc's arenas and trim its free memory periodically (once per process). Returns False where the C
    library is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt, trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):
        return False
    if _started.is_set():
        return True
    _started.set()
    mallopt(M_ARENA_MAX, arenas)

    def hand_back():
        while True:
            threading.Event().wait(every)
            trim(0)

    threading.Thread(target=hand_back, name="malloc-trim", daemon=True).start()
    return True
