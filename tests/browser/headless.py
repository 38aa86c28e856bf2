"""Open a map page in headless Chromium and look at it: console errors, DOM queries, hover, screenshot.

A tiny DevTools-protocol client over ``--remote-debugging-pipe`` (file descriptors 3 and 4,
NUL-separated JSON): no websocket library and no browser download; Debian's ``chromium`` is enough.
Used by the tests and to make the README screenshots. Network access other than ``file:`` and
``data:`` URLs can be blocked, to prove that a page renders offline.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def find_chromium() -> str | None:
    """Path of a Chromium binary, or None (tests skip)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageLog:
    """What the page did while loading: console messages, uncaught errors, dialogs, requests."""

    console: list[tuple[str, str]] = field(default_factory=list)  # (level, text)
    exceptions: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Uncaught exceptions and console errors."""
        return self.exceptions + [text for level, text in self.console if level in ("error", "assert")]


class Browser:
    """One headless Chromium process driven over a DevTools pipe; use as a context manager."""

    def __init__(self, width: int = 1000, height: int = 800, offline: bool = True, binary: str | None = None,
                 allow: tuple[str, ...] = ()):
        """``offline`` blocks every http(s)/ws request except URLs starting with one of ``allow``
        (a local test server on 127.0.0.1)."""
        self.binary = binary or find_chromium()
        if self.binary is None:
            raise RuntimeError("chromium not found (Debian: apt-get install chromium)")
        self.width, self.height, self.offline, self.allow = width, height, offline, tuple(allow)
        self.log = PageLog()
        self._id = 0
        self._buffer = b""
        self._events: list[dict] = []

    # ------------------------------------------------------------ process and protocol

    def __enter__(self) -> Browser:
        self._profile = tempfile.mkdtemp(prefix="coterm-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # The browser reads commands on fd 3 and writes replies on fd 4: move our ends above
        # 10 first so that the shell's redirections cannot clobber one with the other.
        child_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
        child_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
        for fd in (to_child_r, from_child_w):
            os.close(fd)
        args = [self.binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio",
                "--hide-scrollbars", f"--user-data-dir={self._profile}", f"--window-size={self.width},{self.height}"]
        if self.offline:
            args.append("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
        self._proc = subprocess.Popen(["bash", "-c", f'exec "$@" 3<&{child_r} 4>&{child_w}', "bash", *args, "about:blank"],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      pass_fds=(child_r, child_w))
        os.close(child_r)
        os.close(child_w)
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self._session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Network.enable", "Log.enable"):
            self.send(domain)
        self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height, deviceScaleFactor=1,
                  mobile=False)
        if self.offline:
            self.send("Fetch.enable", patterns=[{"urlPattern": "http*"}, {"urlPattern": "ws*"}])
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)

    def _write(self, message: dict) -> int:
        self._id += 1
        message["id"] = self._id
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        return self._id

    def _read(self, timeout: float) -> dict | None:
        import select

        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_child], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def _handle_event(self, msg: dict) -> None:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.log.console.append((params.get("type", ""), text))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exc = details.get("exception", {})
            self.log.exceptions.append(exc.get("description") or details.get("text", "exception"))
        elif method == "Page.javascriptDialogOpening":
            self.log.dialogs.append(params.get("message", ""))
            self.send("Page.handleJavaScriptDialog", accept=True, wait=False)
        elif method == "Network.requestWillBeSent":
            self.log.requests.append(params.get("request", {}).get("url", ""))
        elif method == "Fetch.requestPaused":
            url = params.get("request", {}).get("url", "")
            if self.allow and url.startswith(self.allow):
                self.send("Fetch.continueRequest", requestId=params["requestId"], wait=False)
            else:
                self.log.blocked.append(url)
                self.send("Fetch.failRequest", requestId=params["requestId"], errorReason="InternetDisconnected",
                          wait=False)
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.log.console.append((entry.get("level", ""), entry.get("text", "")))
        self._events.append(msg)

    def call(self, method: str, timeout: float = 30, **params) -> dict:
        """Send a browser-level command and wait for its reply."""
        return self._roundtrip({"method": method, "params": params}, timeout)

    def send(self, method: str, wait: bool = True, timeout: float = 30, **params) -> dict:
        """Send a command to the page session (and wait for its reply unless ``wait=False``)."""
        msg = {"method": method, "params": params, "sessionId": self._session}
        if not wait:
            self._write(msg)
            return {}
        return self._roundtrip(msg, timeout)

    def _roundtrip(self, msg: dict, timeout: float) -> dict:
        ident = self._write(msg)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"chromium did not answer {msg['method']} in {timeout:g} s")
            reply = self._read(left)
            if reply is None:
                continue
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{msg['method']}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self._handle_event(reply)

    def pump(self, seconds: float) -> None:
        """Handle events for ``seconds`` (let timers and late scripts run)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            msg = self._read(left)
            if msg and "method" in msg:
                self._handle_event(msg)

    # ------------------------------------------------------------ page actions

    def open(self, path: str | Path, settle: float = 1.0, timeout: float = 60) -> PageLog:
        """Load a local file (or an http:// URL) and wait for its load event (then ``settle`` seconds)."""
        self.log = PageLog()
        self._events = []
        url = str(path) if str(path).startswith(("http://", "https://")) else Path(path).resolve().as_uri()
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{url} did not finish loading in {timeout:g} s")
            msg = self._read(left)
            if msg and "method" in msg:
                self._handle_event(msg)
        self.pump(settle)
        return self.log

    def evaluate(self, expression: str):
        """Value of a JavaScript expression in the page (JSON-serialisable results only)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return result.get("result", {}).get("value")

    def hover(self, x: float, y: float, settle: float = 0.3) -> None:
        """Move the mouse to a point of the page, as a person would."""
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=float(x), y=float(y))
        self.pump(settle)

    def click(self, x: float, y: float, settle: float = 0.3) -> None:
        """Click a point of the page."""
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=float(x), y=float(y), button="left", clickCount=1)
        self.pump(settle)

    def screenshot(self, path: str | Path) -> Path:
        """Write a PNG of the viewport."""
        data = self.send("Page.captureScreenshot", format="png")["data"]
        target = Path(path)
        target.write_bytes(base64.b64decode(data))
        return target
