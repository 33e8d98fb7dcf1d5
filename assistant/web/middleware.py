"""What stands in front of Gradio when the app is served beyond one PC: plain ASGI middleware, handed to the
FastAPI app Gradio builds (`launch(app_kwargs={"middleware": stack(...)})`).

- `BodyLimit`: a request body over the limit is refused (413, with a message) before anything reads it; file
  uploads have their own, larger limit. Without it a 20 MB question was read, parsed and answered.
- `LoginThrottle`: after LOGIN_FAILURES wrong logins from one client address within LOGIN_WINDOW seconds, that
  address gets 429 (with Retry-After) until the oldest of them is LOGIN_WINDOW seconds old.
- `ApiCallCheck`: a call of the `/ask` API (`POST /gradio_api/call/ask` or `/run/ask`) without a question, with
  nothing to search for, or of the wrong shape is answered 400 with a message instead of Gradio's bare 500; a
  call that sends only the question gets the default k. Each such call runs in a Gradio session of its own
  (`api-…`; `/ask` keeps no state) and only the last API_SESSIONS finished ones are kept: Gradio keeps ~130 KB
  per session, and plain-HTTP calls would otherwise push the people using the page out of the sessions kept.

Every refusal is JSON `{"error": message, "detail": message}`: the message says what to send instead.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from typing import Callable

UPLOAD_PATHS = ("/gradio_api/upload",)
API_PATHS = ("/gradio_api/call/ask", "/gradio_api/run/ask")
LOGIN_FAILURES = 5  # wrong logins allowed from one address …
LOGIN_WINDOW = 60.0  # … within this many seconds
TRACKED_ADDRESSES = 10_000  # addresses remembered at most (the oldest entries go first)
API_SESSION = "api-"  # the session hash prefix of plain-HTTP /ask calls
API_SESSIONS = 16  # finished ones kept


def _header(scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value
    return None


async def reply(send, status: int, message: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    """A JSON error response: {"error": message, "detail": message}."""
    body = json.dumps({"error": message, "detail": message}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive, limit: int) -> tuple[bytes, bool]:
    """The request body, read up to `limit` bytes; (body, True) when it is longer (the rest is not read)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def replay(body: bytes, receive):
    """A `receive` that gives `body` once, then what the client sends next (a disconnect)."""
    sent = False

    async def receive_again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


def _with_length(scope, length: int):
    headers = [(k, v) for k, v in scope.get("headers") or [] if k.lower() not in (b"content-length", b"transfer-encoding")]
    return {**scope, "headers": headers + [(b"content-length", str(length).encode())]}


class BodyLimit:
    """Refuse request bodies over `limit` bytes (over `upload_limit` on the upload route) with 413.

    Args:
        app: the ASGI app behind it.
        limit: bytes, for every request but file uploads.
        upload_limit: bytes, for `UPLOAD_PATHS` (Gradio's own per-file limit applies too).
    """

    def __init__(self, app, limit: int, upload_limit: int):
        self.app, self.limit, self.upload_limit = app, limit, upload_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        limit = self.upload_limit if path.startswith(UPLOAD_PATHS) else self.limit
        too_big = (f"The request is larger than this server accepts ({limit // 1024} KB); "
                   "send a shorter question (or a smaller file).")
        length = _header(scope, b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                return await reply(send, 400, "The Content-Length header is not a number.")
            if declared > limit:
                return await reply(send, 413, too_big)
            return await self.app(scope, receive, send)  # the server reads no more than it declares
        body, over = await read_body(receive, limit)  # chunked: counted as it arrives
        if over:
            return await reply(send, 413, too_big)
        return await self.app(_with_length(scope, len(body)), replay(body, receive), send)


class LoginThrottle:
    """Rate-limit failed logins per client address (behind a proxy, the address the proxy forwards).

    Args:
        app: the ASGI app behind it.
        failures: wrong logins allowed from one address within `window` seconds; the next is refused (429).
        window: seconds.
        clock: time source (a test's fake clock).
    """

    def __init__(self, app, failures: int = LOGIN_FAILURES, window: float = LOGIN_WINDOW,
                 clock: Callable[[], float] = time.monotonic):
        self.app, self.failures, self.window, self.clock = app, failures, window, clock
        self.failed: dict[str, deque] = {}

    def _recent(self, address: str, now: float) -> deque:
        times = self.failed.get(address, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            self.failed.pop(address, None)
        return times

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or scope.get("method") != "POST"
                or not scope.get("path", "").rstrip("/").endswith("/login")):
            return await self.app(scope, receive, send)
        address = (scope.get("client") or ("unknown", 0))[0]
        recent = self._recent(address, self.clock())
        if len(recent) >= self.failures:
            wait = max(1, int(recent[0] + self.window - self.clock()) + 1)
            return await reply(send, 429, f"Too many failed logins from this address; try again in {wait} s.",
                               [(b"retry-after", str(wait).encode())])
        status = {}

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status.get("code") == 200:
            self.failed.pop(address, None)
        elif status.get("code", 500) in (400, 401, 403):  # wrong user name or password
            self.failed.setdefault(address, deque()).append(self.clock())
            if len(self.failed) > TRACKED_ADDRESSES:
                self.failed.pop(next(iter(self.failed)))


NO_QUESTION = ('No question: send {"data": ["谁管流浪狗"]}, or {"data": ["谁管流浪狗", 3]} for 3 duties '
               "(k, 1-10, default 5).")


class ApiCallCheck:
    """Answer malformed calls of the `/ask` API with 400 and a message; fill in a missing k.

    Args:
        app: the ASGI app behind it.
        check: question → why it cannot be searched (the assistant's own rule), or None.
        default_k: the k of a call that sends only the question.
        limit: bytes of body read at most (BodyLimit, in front, has already refused longer ones).
    """

    def __init__(self, app, check: Callable[[str], str | None], default_k: int = 5, limit: int = 1 << 20):
        self.app, self.check, self.default_k, self.limit = app, check, default_k, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path", "").rstrip("/") not in API_PATHS:
            return await self.app(scope, receive, send)
        body, over = await read_body(receive, self.limit)
        if over:
            return await reply(send, 413, "The request is too large; send a shorter question.")
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            return await reply(send, 400, f"The body is not JSON. {NO_QUESTION}")
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list) or len(data) > 2:
            return await reply(send, 400, f'Send the question (and k) as "data". {NO_QUESTION}')
        if not data or data[0] is None or not str(data[0]).strip():
            return await reply(send, 400, NO_QUESTION)
        problem = await asyncio.to_thread(self.check, str(data[0]))
        if problem:
            return await reply(send, 400, problem)
        if len(data) == 1:
            payload["data"] = [data[0], self.default_k]
        payload["session_hash"] = API_SESSION + uuid.uuid4().hex
        drop_finished_api_sessions(scope.get("app"))
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return await self.app(_with_length(scope, len(body)), replay(body, receive), send)


def drop_finished_api_sessions(app, keep: int = API_SESSIONS) -> list[str]:
    """Forget all but the `keep` newest sessions of plain-HTTP /ask calls whose events have finished (Gradio's
    App: its state holder and queue). Returns the session hashes dropped."""
    holder = getattr(app, "state_holder", None)
    if holder is None or not hasattr(holder, "session_data"):
        return []
    blocks = app.get_blocks() if hasattr(app, "get_blocks") else None
    queue = getattr(blocks, "_queue", None)
    pending = getattr(queue, "pending_event_ids_session", {}) or {}
    dropped = []
    with holder.lock:
        api = [s for s in holder.session_data if s.startswith(API_SESSION)]
        for session in api[:max(0, len(api) - keep)]:
            if pending.get(session):
                continue  # still answering
            holder.session_data.pop(session, None)
            holder.time_last_used.pop(session, None)
            dropped.append(session)
    messages = getattr(queue, "pending_messages_per_session", None)
    for session in dropped:
        if messages is not None:
            messages.pop(session, None)
    return dropped


def stack(*, max_body: int, max_upload: int, check_question: Callable[[str], str | None], default_k: int = 5) -> list:
    """The middleware for `launch(app_kwargs={"middleware": …})`, outermost first."""
    from starlette.middleware import Middleware

    return [
        Middleware(BodyLimit, limit=max_body, upload_limit=max_upload),
        Middleware(LoginThrottle),
        Middleware(ApiCallCheck, check=check_question, default_k=default_k, limit=max_body),
    ]
