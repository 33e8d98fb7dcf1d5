"""Load test: many users asking at once, against the live web app on 127.0.0.1.

    .venv/bin/python eval/loadtest.py --users 20 --seconds 60 --report eval/load.md

starts `duty-assistant serve --port 7877` (model and index as shipped; no question log), waits until it answers,
then runs `--users` threads, each with its own gradio_client.Client, asking questions drawn at random from
eval/questions/dev.jsonl through the `/ask` API one after another with no pause (a closed loop: every user
always has a question waiting, the worst case for the queue): `--warmup` seconds (30; answers not counted,
errors are), then `--seconds` measured. Meanwhile one thread samples the server's resident memory every
`--sample` seconds and another times a GET of the page `/` every `--page-every` seconds. Then it stops the
server and writes the report: throughput, latency p50/p95/p99, errors (must be 0), memory over the run (must
not grow after the warm-up) and the page's response times. Exit status 1 if there were errors or the memory grew.

Only 127.0.0.1 is ever contacted; the run is bounded by `--seconds` (at most 600) and `--users` (at most 64,
the server's queue size). `--url URL --pid PID` runs against a server that is already up instead (a login is
read from DUTY_ASSISTANT_AUTH=user:password).

The questions repeat (390 of them), so the server it starts runs with its question memo off
(DUTY_ASSISTANT_QUESTION_MEMO=0): every answer encodes its question, as fresh questions would. `--memo` keeps
the memo on (repeated questions are then answered from it, as in real use when people repeat questions).

Soak (`--soak`, the report in eval/soak.md): weeks of use in ten minutes. 10 users (`--users`) for 600 s
(`--seconds`) after 120 s of warm-up, each question never asked before (a dev question in other words around it,
with a number: the memo, on as shipped, never has it) and each in a Gradio session of its own (a raw
`POST /gradio_api/call/ask` with a new session hash, as a script calling the API without gradio_client does:
the path that kept ~110 KB per call). It passes when there are no errors and the server's resident memory after
the warm-up stays within 50 MB (max − min of the samples).

    .venv/bin/python eval/loadtest.py --soak --report eval/soak.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests import live_server
from assistant.bench.stats import percentile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COMMAND = ".venv/bin/python eval/loadtest.py --users 20 --seconds 60 --report eval/load.md"
SOAK_COMMAND = ".venv/bin/python eval/loadtest.py --soak --report eval/soak.md"
SOAK = {"users": 10, "seconds": 600, "warmup": 120}  # the soak's defaults
MAX_USERS = 64
MAX_SECONDS = 600
STABLE_GROWTH = 0.05  # memory is stable if, after the warm-up, the last third of the run is within 5 % of the
STABLE_MB = 50  # first third (medians of the samples) or within 50 MB


def load_questions(path: Path) -> list[str]:
    questions = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                questions.append(json.loads(line)["question"])
    if not questions:
        raise SystemExit(f"no questions in {path}")
    return questions


# Around a dev question, so that every soak question is new (and of the dev set's lengths and styles)
OPENINGS = ["", "请问", "你好，", "麻烦问一下，", "我想问，", "老乡问：", "打扰一下，"]
ENDINGS = ["", "？", "，谢谢", "，急", "，在线等", "。", "？找哪个部门"]


def fresh_question(questions: list[str], rng: random.Random, number: int) -> str:
    """A question no one asked before: a dev question in other words around it, with a number."""
    return f"{rng.choice(OPENINGS)}{rng.choice(questions)}{rng.choice(ENDINGS)}（{number}）"


def ask_in_new_session(web, url: str, question: str, k: int = 5) -> dict:
    """One `/ask` call in a Gradio session of its own, as a script calling the API over HTTP does: POST
    /gradio_api/call/ask with a new session hash, then read the answer from the event stream."""
    started = web.post(url + "gradio_api/call/ask", json={"data": [question, k], "session_hash": uuid.uuid4().hex})
    if started.status_code != 200:
        raise RuntimeError(f"HTTP {started.status_code}: {started.text[:120]}")
    event_id = started.json()["event_id"]
    event = None
    with web.stream("GET", url + f"gradio_api/call/ask/{event_id}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line[len("event:"):].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = json.loads(line[len("data:"):])
                if event == "error":
                    raise RuntimeError(f"the server answered with an error: {str(data)[:120]}")
                return data[0]
    raise RuntimeError("the event stream ended without an answer")


def check_local(url: str) -> None:
    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to load-test {url}: only 127.0.0.1 is allowed")


# -- the server --------------------------------------------------------------------------------------------


def listening_addresses(pid: int) -> list[str]:
    import psutil

    try:
        conns = psutil.Process(pid).net_connections(kind="inet")
    except psutil.Error:
        return []
    return sorted({c.laddr.ip for c in conns if c.status == psutil.CONN_LISTEN})


def rss(pid: int) -> int:
    """Resident memory of the server and any children, in bytes."""
    import psutil

    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total


# -- the run -------------------------------------------------------------------------------------------------


@dataclass
class Results:
    users: int
    seconds: float
    url: str
    latencies: list[float] = field(default_factory=list)  # seconds, successful /ask calls
    per_user: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    declined: int = 0
    memory: list[tuple[float, int]] = field(default_factory=list)  # (seconds since the warm-up began, bytes)
    page: list[tuple[float, float, int]] = field(default_factory=list)  # (seconds since the warm-up, seconds, status)
    elapsed: float = 0.0  # the measured part (after the warm-up)
    warmup: float = 0.0
    warmup_answers: int = 0
    load_before: tuple[float, float, float] | None = None
    startup: float | None = None
    listening: list[str] = field(default_factory=list)
    memo: str = "as the running server has it"  # the server's question memo
    soak: bool = False  # fresh questions, each in a new session (see the module docstring)


def run(url: str, users: int, seconds: float, questions: list[str], pid: int | None = None,
        auth: tuple[str, str] | None = None, sample: float = 2.0, page_every: float = 5.0, seed: int = 0,
        warmup: float = 0.0, soak: bool = False) -> Results:
    """Ask from `users` threads for `warmup` + `seconds`; sample memory of `pid` and time GET / meanwhile. Answers
    given during the warm-up are not in the figures (errors are). `soak`: every question new, each in a new
    Gradio session over plain HTTP (instead of a gradio_client per user asking dev questions)."""
    import httpx
    from gradio_client import Client

    check_local(url)
    users = max(1, min(MAX_USERS, users))
    seconds = max(1.0, min(MAX_SECONDS, seconds))
    results = Results(users, seconds, url, per_user=[0] * users, warmup=max(0.0, warmup), soak=soak)
    results.load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    lock = threading.Lock()
    numbers = iter(range(1, 1 << 62))  # the soak's question numbers (next() under the GIL: one each)
    if soak:
        clients = []
        for _ in range(users):
            web = httpx.Client(timeout=120)
            if auth:
                web.post(url + "login", data={"username": auth[0], "password": auth[1]}).raise_for_status()
            clients.append(web)
        ask_in_new_session(clients[0], url, "谁管流浪狗")  # warm
    else:
        clients = [Client(url, auth=auth, verbose=False) for _ in range(users)]
        clients[0].predict("谁管流浪狗", api_name="/ask")  # warm: the first answer is never slower than the rest
    stop = threading.Event()
    ready = threading.Barrier(users + 1)
    t0 = 0.0
    measure_from = float("inf")  # perf_counter time at which the measured part begins

    def user(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        client = clients[number]
        ready.wait()
        while not stop.is_set():
            question = fresh_question(questions, rng, next(numbers)) if soak else rng.choice(questions)
            start = time.perf_counter()
            try:
                if soak:
                    answer = ask_in_new_session(client, url, question)
                else:
                    answer = client.predict(question, api_name="/ask")
                if not isinstance(answer, dict) or "answered" not in answer or answer.get("question") is None:
                    raise ValueError(f"unexpected answer {str(answer)[:120]}")
            except Exception as err:  # noqa: BLE001 - every failure is counted and reported
                with lock:
                    results.errors.append(f"{type(err).__name__}: {str(err)[:160]} (question {question[:40]!r})")
                continue
            took = time.perf_counter() - start
            with lock:
                if start < measure_from:
                    results.warmup_answers += 1
                    continue
                results.latencies.append(took)
                results.per_user[number] += 1
                results.declined += not answer["answered"]

    def memory() -> None:
        while not stop.is_set():
            try:
                results.memory.append((time.perf_counter() - t0, rss(pid)))
            except Exception:  # noqa: BLE001 - the server went away: the errors will say so
                pass
            stop.wait(sample)

    def page() -> None:
        with httpx.Client(timeout=30) as web:
            if auth:
                web.post(url + "login", data={"username": auth[0], "password": auth[1]})
            while not stop.wait(page_every):
                start = time.perf_counter()
                try:
                    status = web.get(url).status_code
                except httpx.HTTPError:
                    status = 0
                results.page.append((start - t0, time.perf_counter() - start, status))

    threads = [threading.Thread(target=user, args=(n,), name=f"user-{n}", daemon=True) for n in range(users)]
    for thread in threads:
        thread.start()
    helpers = [threading.Thread(target=page, name="page", daemon=True)]
    if pid:
        helpers.append(threading.Thread(target=memory, name="memory", daemon=True))
    ready.wait()  # every user is about to ask: the clock starts
    t0 = time.perf_counter()
    for thread in helpers:
        thread.start()
    time.sleep(results.warmup)
    measure_from = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    results.elapsed = time.perf_counter() - measure_from
    for thread in helpers:
        thread.join(timeout=35)
    if pid:
        results.memory.append((time.perf_counter() - t0, rss(pid)))
    for client in clients:
        try:
            client.close()
        except Exception:  # noqa: BLE001
            pass
    return results


# -- the report ------------------------------------------------------------------------------------------------


def memory_summary(samples: list[tuple[float, int]], warmup: float = 0.0) -> dict:
    """Memory at the start, after the warm-up and at the end; stable if the measured part did not grow; flat
    (the soak's test) if it stayed within STABLE_MB from its lowest to its highest sample."""
    measured = [b / 2**20 for t, b in samples if t >= warmup]
    if len(measured) < 3:
        return {"stable": None, "flat": None}
    values = [b / 2**20 for _, b in samples]
    third = max(1, len(measured) // 3)
    first, last = statistics.median(measured[:third]), statistics.median(measured[-third:])
    growth = last - first
    stable = growth <= max(STABLE_MB, STABLE_GROWTH * first)
    spread = max(measured) - min(measured)
    return {"start_mb": values[0], "after_warmup_mb": measured[0], "end_mb": values[-1], "min_mb": min(measured),
            "max_mb": max(measured), "first_third_mb": first, "last_third_mb": last, "growth_mb": growth,
            "stable": stable, "spread_mb": spread, "flat": spread <= STABLE_MB, "samples": len(values)}


def summary(results: Results) -> dict:
    lat = [x * 1000 for x in results.latencies]
    page_ok = [s * 1000 for _, s, status in results.page if status == 200]
    return {
        "users": results.users,
        "seconds": round(results.elapsed, 1),
        "requests": len(lat),
        "errors": len(results.errors),
        "throughput_per_s": len(lat) / results.elapsed if results.elapsed else 0.0,
        "declined": results.declined,
        "latency_ms": {"p50": percentile(lat, 50), "p95": percentile(lat, 95), "p99": percentile(lat, 99),
                       "max": max(lat, default=float("nan")), "mean": statistics.fmean(lat) if lat else float("nan")},
        "per_user": {"min": min(results.per_user, default=0), "max": max(results.per_user, default=0)},
        "page": {"requests": len(results.page), "ok": len(page_ok), "p50_ms": percentile(page_ok, 50),
                 "max_ms": max(page_ok, default=float("nan"))},
        "memory": memory_summary(results.memory, results.warmup),
        "warmup_s": results.warmup,
        "warmup_answers": results.warmup_answers,
        "load_before": results.load_before,
        "startup_s": results.startup,
        "listening": results.listening,
    }


def markdown(results: Results, stats: dict, command: str = COMMAND) -> str:
    lat, mem, page = stats["latency_ms"], stats["memory"], stats["page"]
    ok = passed(results, stats)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = stats.get("load_before")
    load_text = f"; load average {load[0]:.1f} when it began: the cores are shared, figures vary" if load else ""
    warm = stats.get("warmup_s") or 0
    who = (f"{stats['users']} users ask questions never asked before (a question of eval/questions/dev.jsonl in other "
           "words around it, with a number), each in a Gradio session of its own (a plain-HTTP `POST "
           "/gradio_api/call/ask` with a new session hash, as a script calling the API does), through the `/ask` "
           "API, one after another without pause" if results.soak else
           f"{stats['users']} users, each with its own gradio_client, ask questions drawn at random from "
           "eval/questions/dev.jsonl (390) through the `/ask` API, one after another without pause")
    lines = [
        "# Soak test: long use, in minutes" if results.soak else "# Load test: many users at once",
        "",
        f"Regenerate (starts and stops the server itself; about {'twelve' if results.soak else 'two'} minutes):",
        "",
        "```bash",
        command,
        "```",
        "",
        f"Run {now} on {os.cpu_count()} CPU cores ({platform.machine()}, Python {platform.python_version()}{load_text}), "
        f"against `duty-assistant serve` at {results.url} (listening on {', '.join(stats['listening']) or 'n/a'}) with "
        f"the shipped model and index and settings (feedback kept in a temporary state folder), no question log and "
        f"the question memo {results.memo}. "
        + who
        + (f": {warm:.0f} s of warm-up ({stats['warmup_answers']} answers, not in the figures below except errors), "
           f"then {results.seconds:.0f} s measured." if warm else f", for {results.seconds:.0f} s.")
        + f" The server answers {_concurrency()} questions at a time; the rest wait in Gradio's queue (64 places).",
        "",
        f"**Result: {'pass' if ok else 'FAIL'}** — {stats['errors']} errors, memory "
        + (f"{'flat' if mem.get('flat') else 'NOT flat'} after the warm-up ({mem.get('spread_mb', float('nan')):.0f} MB "
           f"from its lowest to its highest sample; flat if within {STABLE_MB} MB)" if results.soak else
           f"{'stable' if mem.get('stable') else 'NOT stable' if mem.get('stable') is False else 'not sampled'}")
        + f", page answered {page['ok']} of {page['requests']} times during the run.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| questions answered | {stats['requests']} in {stats['seconds']} s ({stats['declined']} of them declined as not in the list) |",
        f"| throughput | {stats['throughput_per_s']:.2f} questions/s |",
        f"| errors | {stats['errors']} |",
        f"| latency p50 / p95 / p99 | {lat['p50']:.0f} / {lat['p95']:.0f} / {lat['p99']:.0f} ms |",
        f"| latency mean / max | {lat['mean']:.0f} / {lat['max']:.0f} ms |",
        f"| questions per user (min–max) | {stats['per_user']['min']}–{stats['per_user']['max']} |",
        f"| page `GET /` during the run: p50 / max | {page['p50_ms']:.0f} / {page['max_ms']:.0f} ms ({page['ok']}/{page['requests']} OK) |",
    ]
    if stats.get("startup_s") is not None:
        lines.append(f"| server start (load model and index) | {stats['startup_s']:.0f} s |")
    if mem.get("stable") is not None:
        lines += [
            f"| server memory (RSS): loaded / after warm-up / end | {mem['start_mb']:.0f} / {mem['after_warmup_mb']:.0f} / "
            f"{mem['end_mb']:.0f} MB |",
            f"| memory while measured: first third → last third (medians) | {mem['first_third_mb']:.0f} → "
            f"{mem['last_third_mb']:.0f} MB ({mem['growth_mb']:+.0f} MB; stable if within {STABLE_MB} MB or "
            f"{STABLE_GROWTH:.0%}); min / max {mem['min_mb']:.0f} / {mem['max_mb']:.0f} MB |",
        ]
    lines += ["", "Latency is the whole round trip as a user sees it: waiting in the queue plus answering. With "
              f"{stats['users']} users and no pause between questions every user always has a question queued, so "
              "it is mostly queueing: throughput is bounded by the CPU, and latency ≈ users ÷ throughput. Real "
              "users pause to read, so they wait far less.",
              "",
              "Memory grows while the server first meets questions of new lengths (the allocator's arenas of the "
              "worker threads and the model's buffers grow to the largest seen) and then levels off; the warm-up "
              "absorbs most of that, and growth after it would mean a leak (`--seconds 180` shows the plateau)."]
    if results.memory:
        lines += ["", "## Memory over the run", "", "| s | phase | RSS MB |", "|---|---|---|"]
        step = max(1, len(results.memory) // 16)
        picked = results.memory[::step] + ([results.memory[-1]] if (len(results.memory) - 1) % step else [])
        lines += [f"| {t:.0f} | {'warm-up' if t < warm else 'measured'} | {b / 2**20:.0f} |" for t, b in picked]
    if results.page:
        lines += ["", "## The page during the run", "", "| s | GET / ms | status |", "|---|---|---|"]
        lines += [f"| {t:.0f} | {s * 1000:.0f} | {status or 'failed'} |" for t, s, status in results.page]
    if results.errors:
        lines += ["", "## Errors", ""] + [f"- {e}" for e in results.errors[:30]]
        if len(results.errors) > 30:
            lines.append(f"- … and {len(results.errors) - 30} more")
    return "\n".join(lines) + "\n"


def passed(results: Results, stats: dict) -> bool:
    """No errors, and memory stable (load test) or flat after the warm-up (soak)."""
    memory = stats["memory"]
    if results.soak:
        return stats["errors"] == 0 and memory.get("flat") is True
    return stats["errors"] == 0 and memory.get("stable") is not False


def _concurrency() -> int:
    try:
        from assistant.web.app import DEFAULT_CONCURRENCY

        return DEFAULT_CONCURRENCY
    except Exception:  # noqa: BLE001
        return 4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, help=f"concurrent users (1-{MAX_USERS}; default 20, soak 10)")
    parser.add_argument("--seconds", type=float, help=f"length of the measured run (at most {MAX_SECONDS} s; default 60, "
                                                       "soak 600)")
    parser.add_argument("--warmup", type=float, help="seconds of the same load before measuring (default 30, soak 120)")
    parser.add_argument("--soak", action="store_true", help="fresh questions, each in a new session, memo on; "
                                                            "passes if memory stays flat (eval/soak.md)")
    parser.add_argument("--port", type=int, default=7877, help="port for the server it starts (default 7877)")
    parser.add_argument("--questions", default=str(ROOT / "eval" / "questions" / "dev.jsonl"))
    parser.add_argument("--report", help="write the Markdown report here (e.g. eval/load.md)")
    parser.add_argument("--json", help="also write the figures as JSON here")
    parser.add_argument("--sample", type=float, default=2.0, help="seconds between memory samples")
    parser.add_argument("--page-every", type=float, default=5.0, help="seconds between GETs of the page")
    parser.add_argument("--url", help="use a server that is already running (127.0.0.1 only)")
    parser.add_argument("--pid", type=int, help="with --url: the server's process id, for memory samples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memo", action="store_true", help="keep the server's question memo on (default: off)")
    args = parser.parse_args(argv)
    defaults = SOAK if args.soak else {"users": 20, "seconds": 60, "warmup": 30}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if not 1 <= args.users <= MAX_USERS or not 1 <= args.seconds <= MAX_SECONDS:
        parser.error(f"--users must be 1-{MAX_USERS} and --seconds 1-{MAX_SECONDS}")
    questions = load_questions(Path(args.questions))

    server = None
    startup = None
    auth = None
    if args.url:
        url, pid = args.url if args.url.endswith("/") else args.url + "/", args.pid
        check_local(url)
        if os.environ.get("DUTY_ASSISTANT_AUTH"):
            user, _, password = os.environ["DUTY_ASSISTANT_AUTH"].split(",")[0].partition(":")
            auth = (user.strip(), password)
        log = None
    else:
        log = Path(tempfile.mkstemp(prefix="duty-loadtest-", suffix=".log")[1])
        print(f"starting the server on 127.0.0.1:{args.port} (log: {log}) …", flush=True)
        try:
            memo = None if args.memo or args.soak else "0"  # None: the server's default (the soak keeps it on)
            # what the server keeps of these questions (DUTY_ASSISTANT_KEEP, as shipped) goes to a state folder
            # of its own, removed afterwards: never into the real feedback database
            state = tempfile.mkdtemp(prefix="duty-loadtest-state-")
            server = live_server.start(log=log, port=args.port, timeout=300,
                                       env={"DUTY_ASSISTANT_QUESTION_MEMO": memo, "DUTY_ASSISTANT_STATE": state})
        except live_server.ServerError as err:
            raise SystemExit(str(err)) from None
        url, startup, pid = server.url, server.startup_s, server.process.pid
    try:
        listening = listening_addresses(pid) if pid else []
        print(f"server ready at {url}; {args.users} users for {args.warmup:.0f} s of warm-up + {args.seconds:.0f} s …",
              flush=True)
        results = run(url, args.users, args.seconds, questions, pid=pid, auth=auth, sample=args.sample,
                      page_every=args.page_every, seed=args.seed, warmup=min(args.warmup, MAX_SECONDS),
                      soak=args.soak)
        results.startup, results.listening = startup, listening
        if server is not None:
            results.memo = ("on, as shipped (no question repeats, so it never answers one)" if args.soak else
                            "on" if args.memo else "off (every answer encodes its question)")
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(state, ignore_errors=True)
    stats = summary(results)
    given = argv if argv is not None else sys.argv[1:]
    if args.soak and list(given) == ["--soak", "--report", "eval/soak.md"]:
        command = SOAK_COMMAND
    elif (args.users, args.seconds, args.report) == (20, 60, "eval/load.md") and not args.url and not args.soak:
        command = COMMAND
    else:
        command = " ".join([".venv/bin/python eval/loadtest.py", *given])
    text = markdown(results, stats, command)
    if args.report:
        Path(args.report).write_text(text, encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(stats, indent=1, default=float), encoding="utf-8")
    lat = stats["latency_ms"]
    print(f"{stats['requests']} answers in {stats['seconds']} s: {stats['throughput_per_s']:.2f}/s, p50 {lat['p50']:.0f} ms, "
          f"p95 {lat['p95']:.0f} ms, {stats['errors']} errors, memory stable: {stats['memory'].get('stable')}, flat: {stats['memory'].get('flat')}, "
          f"page p50 {stats['page']['p50_ms']:.0f} ms", flush=True)
    if log is not None and stats["errors"] == 0:
        log.unlink(missing_ok=True)
    return 0 if passed(results, stats) else 1


if __name__ == "__main__":
    sys.exit(main())
