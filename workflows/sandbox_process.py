"""One sandbox process (脚本沙箱进程) and the pipes to it, seen from the server's side.

``workflows.sandbox`` keeps a few of these and decides what to do when one overruns; this module
only starts the interpreter, sends a request line and waits for the answer line against a
wall-clock deadline, and kills the process.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ROOT = str(Path(__file__).resolve().parents[1])
# -I: no environment variables, user site or current directory decide what the child imports.
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from workflows.sandbox_child import main; main()"


@dataclass(frozen=True)
class SandboxLimits:
    budget_seconds: float = 2.0  # wall clock per evaluation, from sending it to its answer
    memory_bytes: int = 512 * 1024 * 1024  # each child's address space (RLIMIT_AS)
    max_reply_bytes: int = 16 * 1024 * 1024  # a larger answer would land in this process: refused
    workers: int = 2  # children at most; further concurrent evaluations wait for one
    start_seconds: float = 20.0  # a fresh interpreter's imports, not part of any script's budget


class NotListening(Exception):
    """The child was gone before it received the request: another child may take it."""


class Died(Exception):
    """The child died while running the request."""


class TooLate(Exception):
    """The wall-clock budget passed."""


class TooLarge(Exception):
    """The answer is larger than the limit."""


def _child_env() -> dict[str, str]:
    # Nothing of this process's environment (database URL, secret key) reaches scripts.
    return {"PATH": os.defpath, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


class SandboxProcess:
    """One sandbox process and the pipes to it, used by one thread at a time."""

    def __init__(self, limits: SandboxLimits) -> None:
        self.limits = limits
        command = [sys.executable, "-I", "-c", _BOOT, _ROOT, str(limits.memory_bytes)]
        command.append(str(limits.max_reply_bytes))
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_child_env(),
            close_fds=True,
            start_new_session=True,  # a Ctrl-C at the terminal is the server's, not the child's
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in, self._out = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)
        # poll, not select: a busy server's descriptors may be numbered above select's 1024.
        self._readable = select.poll()
        self._readable.register(self._out, select.POLLIN)
        self._writable = select.poll()
        self._writable.register(self._in, select.POLLOUT)
        self._buffer = bytearray()
        self.ready = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self) -> None:
        """Wait for the child's imports to finish (before any script's budget starts)."""
        if not self.ready:
            deadline = time.monotonic() + self.limits.start_seconds
            if json.loads(self._read_line(deadline)) != {"ready": True}:
                raise Died
            self.ready = True

    def exchange(self, request: bytes) -> bytes:
        deadline = time.monotonic() + self.limits.budget_seconds
        self._write(request, deadline)
        return self._read_line(deadline)

    def _write(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            _wait(self._writable, deadline)
            try:
                view = view[os.write(self._in, view) :]
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError) as exc:
                raise NotListening from exc

    def _read_line(self, deadline: float) -> bytes:
        searched = 0
        while True:
            end = self._buffer.find(b"\n", searched)
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line
            searched = len(self._buffer)
            if searched > self.limits.max_reply_bytes:
                raise TooLarge
            _wait(self._readable, deadline)
            try:
                chunk = os.read(self._out, 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                raise Died
            self._buffer += chunk

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        with contextlib.suppress(subprocess.TimeoutExpired):  # else reaped by subprocess's clean-up
            self.proc.wait(timeout=1)


def _wait(poller: Any, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    # poll retries by itself when a signal interrupts it (PEP 475); [] means the time is up.
    if remaining <= 0 or not poller.poll(math.ceil(remaining * 1000)):
        raise TooLate
