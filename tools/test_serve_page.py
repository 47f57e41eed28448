"""The page of `sequnet serve` in a real browser: headless Chromium (Debian's
`chromium`), driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
JSON messages ending in a NUL byte on fds 3 and 4; no extra Python package).

It loads the page, presses Play with a real mouse click, lets it play, and
checks that at least 2 s of audio arrived and played with no underrun, on the
page and on the server. Run as a test (`make test` runs it) or as a script:

    python3 tools/test_serve_page.py --model models/sequnet-piano.safetensors \
        --binary .build/release/sequnet --screenshot docs/serve.png
"""
import argparse
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "Tests/Fixtures/checkpoints/tiny_sequnet_c4_l2_d1_k3.safetensors")


def find_binary():
    """The release build: a debug build of the engine runs slower than real
    time even on the tiny model, so it could not play live."""
    if os.environ.get("SEQUNET_BINARY"):
        return os.environ["SEQUNET_BINARY"]
    path = os.path.join(ROOT, ".build/release/sequnet")
    return path if os.path.exists(path) else None


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Serve:
    """`sequnet serve --port 0` in the background."""

    def __init__(self, binary, args):
        self.log = tempfile.NamedTemporaryFile(prefix="sequnet-serve-", suffix=".log", delete=False)
        self.process = subprocess.Popen([binary, "serve", "--port", "0"] + args, stdout=subprocess.DEVNULL,
                                        stderr=self.log, cwd=ROOT)
        deadline = time.time() + 60
        while time.time() < deadline and self.process.poll() is None:
            match = re.search(r"listening on (http://\S+)/", self.stderr())
            if match:
                self.url = match.group(1)
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("serve did not start: " + self.stderr())

    def stderr(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def info(self):
        with urllib.request.urlopen(self.url + "/api/info", timeout=10) as r:
            return json.load(r)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        os.unlink(self.log.name)


class Browser:
    """Headless Chromium with the DevTools protocol on a pipe."""

    def __init__(self, chromium, width=1100, height=1040):
        self.profile = tempfile.mkdtemp(prefix="sequnet-chromium-")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        # The child gets them as fds 3 (it reads) and 4 (it writes).
        high_r, high_w = os.dup(to_browser_r), os.dup(from_browser_w)
        while high_r < 5 or high_w < 5:
            high_r, high_w = os.dup(high_r), os.dup(high_w)

        def plumb():
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        args = [chromium, "--headless=new", "--remote-debugging-pipe", "--user-data-dir=" + self.profile,
                "--autoplay-policy=no-user-gesture-required", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                "--hide-scrollbars", f"--window-size={width},{height}", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")
        self.process = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=plumb, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        for fd in (to_browser_r, from_browser_w, high_r, high_w):
            os.close(fd)
        self.next_id = 0
        self.buffer = b""
        self.events = []
        self.session = None
        self.width, self.height = width, height

    def send(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while time.time() < deadline:
            reply = self.receive(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)
        raise TimeoutError(method)

    def receive(self, deadline):
        while b"\0" not in self.buffer:
            if time.time() > deadline:
                raise TimeoutError("no message from the browser")
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("the browser closed its pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def wait_for_event(self, method, timeout=30):
        deadline = time.time() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self.receive(deadline))

    def open(self, url):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})
        self.send("Page.navigate", {"url": url})
        self.wait_for_event("Page.loadEventFired")

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector):
        """A real mouse click (a user gesture) in the middle of the element."""
        box = self.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
                            " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})

    def stats(self):
        return self.evaluate("JSON.stringify(window.sequnetStats)")

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.to_browser)
        os.close(self.from_browser)
        shutil.rmtree(self.profile, ignore_errors=True)


def listen(binary, chromium, model, seconds, screenshot=None, serve_args=()):
    """Plays `seconds` of the page's stream; returns (page stats, server info while playing, after Stop)."""
    server = Serve(binary, ["-m", model] + list(serve_args))
    browser = None
    try:
        browser = Browser(chromium)
        browser.open(server.url + "/")
        browser.evaluate("document.getElementById('seed').value = 7")
        browser.click("#play")
        deadline = time.time() + seconds + 30
        while time.time() < deadline:
            stats = json.loads(browser.stats())
            if stats.get("error"):
                break
            if stats["contextSeconds"] >= seconds:
                break
            time.sleep(0.25)
        stats = json.loads(browser.stats())
        info = server.info()
        time.sleep(0.6)   # a fresh /api/info poll and spectrogram columns in the picture
        if screenshot:
            browser.screenshot(screenshot)
        browser.click("#play")   # Stop
        deadline = time.time() + 5
        while time.time() < deadline and server.info()["listeners"] != 0:
            time.sleep(0.05)
        after = server.info()
        return stats, info, after, server.stderr()
    finally:
        if browser:
            browser.close()
        server.stop()


class ServePageTest(unittest.TestCase):
    def test_page_plays_two_seconds_without_underrun(self):
        binary, chromium = find_binary(), find_chromium()
        if not binary:
            self.skipTest("no release sequnet binary (swift build -c release first)")
        if not chromium:
            self.skipTest("no chromium (scripts/install-deps.sh --tools installs it)")
        stats, info, after, log = listen(binary, chromium, TINY, seconds=3)
        self.assertIsNone(stats["error"], stats)
        self.assertGreaterEqual(stats["secondsReceived"], 2, stats)
        self.assertGreaterEqual(stats["contextSeconds"], 2, f"audio clock did not run: {stats}")
        self.assertEqual(stats["underruns"], 0, stats)
        self.assertEqual(info["underruns"], 0, info)
        self.assertEqual(info["listeners"], 1, info)
        self.assertEqual(after["listeners"], 0, "Stop frees the stream")
        self.assertIn("GET /api/stream?seed=7&temperature=1&min_p=0 200", log)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model")
    parser.add_argument("--binary")
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--screenshot")
    parser.add_argument("serve_args", nargs="*", help="more `sequnet serve` options (after --)")
    args, rest = parser.parse_known_args()
    if args.model is None:
        unittest.main(argv=[sys.argv[0]] + rest)
    else:
        stats, info, after, log = listen(args.binary or find_binary(), find_chromium(), args.model, args.seconds,
                                         args.screenshot, args.serve_args)
        print(json.dumps({"page": stats, "server_underruns": info["underruns"], "listeners_after_stop": after["listeners"]},
                         indent=1))
