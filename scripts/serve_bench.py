#!/usr/bin/env python3
"""How many live listeners `sequnet serve` holds: N listeners that play in real
time, for a fixed duration, against aggregate samples/s and underruns.

Each listener is a plain HTTP client that reads its endless stream as it comes
and plays it, in its head, at 16 kHz after a 0.25 s pre-buffer (as the page
does). It counts an underrun whenever its playback position passes the samples
it has received; playback then resumes where it stopped. The server's own
count (`/api/info`: listeners that had taken everything and were due more) is
reported beside it, with the generators' load.

    scripts/serve_bench.py --listeners 1,4,8,12,16 --duration 60
    scripts/serve_bench.py --listeners 2,4 --duration 60 -- --arch sequnet:features=180,levels=11,depth=2,kernel=5 \\
        --precision int8 --threads 2

Everything after `--` goes to `sequnet serve`. One fresh server per row.
"""
import argparse
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATE = 16000
PREBUFFER = 0.25


class Listener:
    def __init__(self, host, port, seed):
        self.sock = socket.create_connection((host, port))
        self.sock.sendall(f"GET /api/stream?seed={seed} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        self.sock.setblocking(False)
        self.head = b""
        self.header_done = False
        self.bytes = 0          # body bytes, chunk framing included (a few per chunk: counted out below)
        self.pending = b""      # chunked-encoding state
        self.chunk_left = 0
        self.samples = 0
        self.start = None       # when playback of sample 0 would begin
        self.underruns = 0
        self.starving = False
        self.late = 0.0
        self.starved_at = 0.0
        self.first = None

    def feed(self, data, now):
        if not self.header_done:
            self.head += data
            if b"\r\n\r\n" not in self.head:
                return
            head, data = self.head.split(b"\r\n\r\n", 1)
            status = head.split(b" ")[1]
            if status != b"200":
                raise RuntimeError("listener refused: " + head.decode(errors="replace") + data.decode(errors="replace"))
            self.header_done = True
            self.skip = 44
        self.pending += data
        # De-chunk.
        while True:
            if self.chunk_left == 0:
                if b"\r\n" not in self.pending:
                    break
                line, rest = self.pending.split(b"\r\n", 1)
                if line == b"":
                    self.pending = rest
                    continue
                self.chunk_left = int(line, 16)
                self.pending = rest
                if self.chunk_left == 0:
                    break
            take = min(self.chunk_left, len(self.pending))
            if take == 0:
                break
            body, self.pending = self.pending[:take], self.pending[take:]
            self.chunk_left -= take
            if self.skip:
                cut = min(self.skip, len(body))
                self.skip -= cut
                body = body[cut:]
            self.bytes += len(body)
        samples = self.bytes // 2
        if samples > self.samples:
            if self.first is None:
                self.first = now
                self.start = now + PREBUFFER
            if self.starving:
                # Playback resumes with the new samples.
                self.late += now - self.starved_at
                self.start = now - self.samples / RATE
                self.starving = False
            self.samples = samples

    def check(self, now):
        if self.start is None or self.starving:
            return
        played = (now - self.start) * RATE
        if played > self.samples:
            self.underruns += 1
            self.starving = True
            self.starved_at = self.start + self.samples / RATE


def serve(binary, serve_args):
    log = tempfile.NamedTemporaryFile(prefix="serve-bench-", suffix=".log", delete=False)
    process = subprocess.Popen([binary, "serve", "--port", "0", "--max-streams", "256"] + serve_args,
                               stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 120
    while time.time() < deadline:
        text = open(log.name, errors="replace").read()
        match = re.search(r"listening on http://([\d.]+):(\d+)/", text)
        if match:
            return process, match.group(1), int(match.group(2)), log.name
        if process.poll() is not None:
            raise RuntimeError(text)
        time.sleep(0.05)
    raise RuntimeError("serve did not start")


def info(host, port):
    with urllib.request.urlopen(f"http://{host}:{port}/api/info", timeout=10) as r:
        return json.load(r)


def run(binary, serve_args, count, duration, stagger, warmup):
    process, host, port, log = serve(binary, serve_args)
    try:
        selector = selectors.DefaultSelector()
        listeners = []
        t0 = time.time()
        next_start = t0
        measure_from = None
        received_at_start = 0
        info_start = None
        end = None
        while True:
            now = time.time()
            if len(listeners) < count and now >= next_start:
                listener = Listener(host, port, seed=len(listeners) + 1)
                listeners.append(listener)
                selector.register(listener.sock, selectors.EVENT_READ, listener)
                next_start = now + stagger
            if len(listeners) == count and measure_from is None and all(l.first for l in listeners):
                if now - max(l.first for l in listeners) >= warmup:
                    measure_from = now
                    received_at_start = sum(l.samples for l in listeners)
                    underruns_at_start = sum(l.underruns for l in listeners)
                    info_start = info(host, port)
                    end = now + duration
            if end is not None and now >= end:
                break
            for key, _ in selector.select(timeout=0.01):
                data = key.fileobj.recv(1 << 16)
                if not data:
                    raise RuntimeError("a stream ended early")
                key.data.feed(data, time.time())
            now = time.time()
            for listener in listeners:
                listener.check(now)
        info_end = info(host, port)
        elapsed = time.time() - measure_from
        received = sum(l.samples for l in listeners) - received_at_start
        row = {
            "listeners": count,
            "seconds": round(elapsed, 1),
            "samples_per_second": round(received / elapsed),
            "real_time_listeners": round(received / elapsed / RATE, 2),
            "client_underruns": sum(l.underruns for l in listeners) - underruns_at_start,
            "client_underruns_in_warmup": underruns_at_start,
            "client_late_ms": round(1000 * sum(l.late for l in listeners)),
            "server_underruns": info_end["underruns"] - info_start["underruns"],
            "server_underruns_in_warmup": info_start["underruns"],
            "batches": len(info_end["batches"]),
            "load": round(info_end["load"], 3),
            "real_time_factor": round(info_end["real_time_factor"], 1),
            "first_sample_ms": round(max(s["first_sample_ms"] for s in info_end["streams"]), 1),
        }
        for listener in listeners:
            listener.sock.close()
        return row
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        os.unlink(log)


def main():
    argv = sys.argv[1:]
    serve_args = []
    if "--" in argv:
        at = argv.index("--")
        argv, serve_args = argv[:at], argv[at + 1:]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listeners", default="1,4,8,12,16", help="comma-separated listener counts, one row each")
    parser.add_argument("--duration", type=float, default=60, help="measured seconds per row")
    parser.add_argument("--warmup", type=float, default=3, help="seconds after the last listener's first sample")
    parser.add_argument("--stagger", type=float, default=0, help="seconds between listeners' arrivals "
                        "(0: all at once, one batch; more than the join window: a batch each)")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/sequnet"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    print(f"# sequnet serve {' '.join(serve_args)}; {args.duration:g} s per row, stagger {args.stagger:g} s, "
          f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    print("| listeners | batches | samples/s, all | real-time listeners | underruns (client / server) "
          "| late ms | generator load | real-time factor | first sample ms |", flush=True)
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    for count in [int(c) for c in args.listeners.split(",")]:
        row = run(args.binary, serve_args, count, args.duration, args.stagger, args.warmup)
        rows.append(row)
        print(f"| {count} | {row['batches']} | {row['samples_per_second']:,} | {row['real_time_listeners']} "
              f"| {row['client_underruns']} / {row['server_underruns']} | {row['client_late_ms']} "
              f"| {100 * row['load']:.0f} % | {row['real_time_factor']}x | {row['first_sample_ms']} |", flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
