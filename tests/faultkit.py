"""Real processes for fault-injection tests: a redis-server, a TCP proxy in front of PostgreSQL that
can refuse or stall, and gunicorn with 2 workers. Everything listens on 127.0.0.1 only, on ports
the kernel hands out, and stops when its fixture ends (tests/predictions/test_serving_faults.py).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1) -> float:
    """Seconds until ``predicate()`` held; fails the test after ``timeout``. Exceptions count as False."""
    started = time.monotonic()
    while True:
        with contextlib.suppress(Exception):
            if predicate():
                return time.monotonic() - started
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


def stop_process(process: subprocess.Popen[Any], *, group: bool = True) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(process.pid, signal.SIGTERM)
            else:
                process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL) if group else process.kill()
        process.wait(timeout=10)


# --- Redis ---------------------------------------------------------------------------------------
@dataclass
class RedisServer:
    """A redis-server of the test's own, which it can stop, start again, or freeze (SIGSTOP)."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed (scripts/services.sh installs it)")
        self.process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self.answers, timeout=10, what="redis-server start")

    def answers(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGCONT)
            stop_process(self.process)
            self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- A TCP proxy that can refuse or stall -----------------------------------------------------------
@dataclass
class FaultProxy:
    """127.0.0.1:port -> target. ``refuse()``: every connection is closed and new ones are refused
    (a stopped server). ``stall()``: connections stay open but nothing is forwarded either way (a
    hung server or network). ``heal()``: back to normal."""

    target: tuple[str, int]
    port: int = field(default_factory=free_port)
    mode: str = "ok"
    _listener: socket.socket | None = None
    _pairs: list[tuple[socket.socket, socket.socket]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self._listen()
        threading.Thread(target=self._pump, name="fault-proxy-pump", daemon=True).start()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="fault-proxy-accept", daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))

    def _pump(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                pairs = list(self._pairs)
            if self.mode != "ok" or not pairs:
                time.sleep(0.02)
                continue
            sockets = [s for pair in pairs for s in pair]
            try:
                readable, _, _ = select.select(sockets, [], [], 0.05)
            except (OSError, ValueError):
                self._prune()
                continue
            for sock in readable:
                if self.mode != "ok":
                    break
                pair = next((p for p in pairs if sock in p), None)
                if pair is None:
                    continue
                other = pair[1] if sock is pair[0] else pair[0]
                try:
                    data = sock.recv(65536)
                    if not data:
                        raise OSError("closed")
                    other.sendall(data)
                except OSError:
                    self._drop(pair)

    def _drop(self, pair: tuple[socket.socket, socket.socket]) -> None:
        with self._lock:
            if pair in self._pairs:
                self._pairs.remove(pair)
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _prune(self) -> None:
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            if any(s.fileno() < 0 for s in pair):
                self._drop(pair)

    def _drop_all(self) -> None:
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            self._drop(pair)

    def refuse(self) -> None:
        self.mode = "refuse"
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._drop_all()

    def stall(self) -> None:
        self.mode = "stall"  # accepted connections (old and new) get no byte in either direction

    def heal(self) -> None:
        if self.mode == "stall":
            self._drop_all()  # what was stalled is half-read: the clients must reconnect, as after a real hang
        if self._listener is None:
            self._listen()
        self.mode = "ok"

    def close(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
        self._drop_all()


@contextlib.contextmanager
def fault_proxy(target: tuple[str, int]) -> Iterator[FaultProxy]:
    proxy = FaultProxy(target=target)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()


# --- gunicorn ---------------------------------------------------------------------------------------
def database_url(settings_dict: dict[str, Any], *, host: str | None = None, port: int | None = None) -> str:
    return (
        f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD']}@{host or settings_dict['HOST'] or '127.0.0.1'}"
        f":{port or settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    )


@dataclass
class Gunicorn:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@contextlib.contextmanager
def gunicorn(*, env: dict[str, str], tmp_path: Path, workers: int = 2) -> Iterator[Gunicorn]:
    """gunicorn with deploy/gunicorn.conf.py (preload, sync workers), DEBUG off, on a free port."""
    port = free_port()
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "COV_", "CELERY_")) and k not in {"REDIS_URL", "DATABASE_URL"}
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="vcp_platform.settings",
        DEBUG="0",
        SECRET_KEY="fault-test-only-" + "k" * 48,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        VCP_LOG_TO_FILE="0",
        VCP_DATA_DIR=str(tmp_path / "data"),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS=str(workers),
        GUNICORN_ACCESSLOG="/dev/null",
        VCP_WEB_METRICS_PORT="0",
        CELERY_TASK_ALWAYS_EAGER="1",
        PYTHONPATH=str(ROOT),
    )
    environment.update(env)
    log = tmp_path / f"gunicorn-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "vcp_platform.wsgi:application"],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Gunicorn(port=port, process=process, log=log)
    try:
        try:
            wait_until(
                lambda: process.poll() is None and requests.get(f"{server.url}/api/v1/health", timeout=2).ok,
                timeout=60,
                what="gunicorn start",
                interval=0.2,
            )
        except BaseException:
            print(server.log_tail())
            raise
        yield server
    finally:
        stop_process(process)
