"""jieba, the Chinese word segmenter, set up once for this project.

jieba keeps a cache of its dictionary (a marshal file) and by default writes it to, and reads it back from, a
fixed name in the shared temporary folder (`/tmp/jieba.cache`), where any other user of the machine can replace
it. Here it lives in the project's cache folder (`$DUTY_ASSISTANT_CACHE/jieba/`, private), and jieba logs
nothing. Every use of jieba in this package goes through `segmenter()`.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_ready = False


def segmenter():
    """The jieba module, its dictionary cache under the project's cache folder (set before its first use)."""
    global _ready
    import jieba

    if not _ready:
        with _lock:
            if not _ready:
                from assistant.settings import current

                folder = current().cache / "jieba"
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                jieba.dt.tmp_dir = str(folder)
                jieba.setLogLevel(60)
                _ready = True
    return jieba
