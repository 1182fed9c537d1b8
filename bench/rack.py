#!/usr/bin/env python3
"""rack.py - the cost of many cards in one scwsemu (make bench, after run.py).

For each rack size (1, 100 and 1000 cards; --smoke: 1, 10 and 30):
  - time to ready: from the start of scwsemu to its ready file;
  - resident memory once ready and idle (VmRSS), and per card beyond the first;
  - idle: threads of the process and the CPU it burns over a quiet second
    (no per-card thread or timer may fire while nobody talks to a card);
  - a fetch from every card over BIP, each answer checked to be that card's
    own bootstrap (its DM server account names the card);
then, with the largest rack of 100 or fewer cards, fetches per second with the
same load spread across the cards against the same load on one card.

Each card is a copy of the shipped default card whose bootstrap names
dm-N.example.com. Every card port is ephemeral (--port-map 4116=0): the ports
come from the ready file. Results: a table on stdout and bench-rack.json in
the build directory. Memory figures of a sanitizer build are marked so.
"""
import argparse
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor


def log(msg):
    print("rack: " + msg, file=sys.stderr, flush=True)


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_cards(root, n, srcdir, builddir):
    """n card directories under root, stamped by scwsemu-card new --count:
    card-001 ... each serving its own bootstrap (DM server dm-N.example.com)
    with certificate and PSK TLS, as the default card."""
    os.makedirs(os.path.dirname(root), exist_ok=True)
    tmpl = root + "-bootstrap.xml"
    with open(os.path.join(srcdir, "cards", "default", "bootstrap.xml")) as f:
        boot = f.read()
    if "dm.example.com" not in boot:
        raise SystemExit("rack: cards/default/bootstrap.xml no longer names dm.example.com")
    with open(tmpl, "w") as f:
        f.write(boot.replace("dm.example.com", "dm-${N}.example.com"))
    subprocess.run([os.path.join(builddir, "src", "scwsemu-card"), "new", root,
                    "--count", str(n), "--bootstrap", tmpl,
                    "--psk", "rack-${NNN}:00112233445566778899AABBCCDDEEFF"],
                   check=True, stdout=subprocess.DEVNULL)


class Rack:
    def __init__(self, args, n, tmp):
        self.args, self.n = args, n
        self.dir = os.path.join(tmp, "cards-%d" % n)
        make_cards(self.dir, n, args.srcdir, args.builddir)
        self.ready = os.path.join(tmp, "ready-%d.json" % n)
        self.logf = open(os.path.join(tmp, "scwsemu-%d.log" % n), "w")
        argv = [os.path.join(args.builddir, "src", "scwsemu"), "--cards", self.dir,
                "--no-tcpip", "--bip-listen", "127.0.0.1", "--port-map", "4116=0",
                "--port-map", "3516=0", "--ready-file", self.ready, "-q",
                "--max-clients-per-peer", "1024"]
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stderr=self.logf)
        deadline = self.t0 + 300
        while not os.path.exists(self.ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("rack: %d cards: scwsemu did not get ready (see %s)" %
                                 (n, self.logf.name))
            time.sleep(0.005)
        self.ready_s = time.monotonic() - self.t0
        with open(self.ready) as f:
            self.doc = json.load(f)

    def url(self, i):
        c = self.doc["cards"][i]
        for e in c["endpoints"]:
            if e["card_port"] == 4116 and e["host"] == "127.0.0.1":
                return c["name"], e["port"]
        raise SystemExit("rack: card %s has no 4116" % c["name"])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()


def get_bootstrap(port, ctx):
    """The bootstrap over HTTPS (a GET, as a pre-CR client does): its bytes."""
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(b"GET /OMA/DM/Bootstrap.xml HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Connection: close\r\n\r\n")
            out = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
    return out


def fetch_every_card(rack, ctx):
    """Each card's own bootstrap through its own port: (ok, seconds)."""
    def one(i):
        name, port = rack.url(i)
        body = get_bootstrap(port, ctx)
        n = int(name.split("-")[1])
        return b" 200 " in body.split(b"\r\n", 1)[0] and \
            ("dm-%d.example.com" % n).encode() in body
    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        ok = sum(pool.map(one, range(rack.n)))
    return ok, time.monotonic() - t0


def load(args, rack, cards, workers, requests):
    """requests fetches by `workers` scwsemu-fetch load generators, worker k on
    card k % cards: fetches per second over all of them."""
    fetch = os.path.join(args.builddir, "src", "scwsemu-fetch")
    cacert = os.path.join(args.srcdir, "pki", "scws-ca.crt")
    procs = []
    t0 = time.monotonic()
    for k in range(workers):
        _, port = rack.url(k % cards)
        procs.append(subprocess.Popen(
            [fetch, "https://127.0.0.1:%d/OMA/DM/Bootstrap.xml" % port, "--cacert", cacert,
             "--concurrency", "2", "--requests", str(requests), "--json", "--timeout", "20"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
    ok = 0
    for p in procs:
        out, _ = p.communicate(timeout=600)
        try:
            ok += json.loads(out).get("ok", 0)
        except ValueError:
            pass
    seconds = time.monotonic() - t0
    return ok, ok / seconds if seconds else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--srcdir", required=True)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--sizes", default="")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x] or \
        ([1, 10, 30] if args.smoke else [1, 100, 1000])
    exe = os.path.join(args.builddir, "src", "scwsemu")
    sanitized = b"__asan_init" in open(exe, "rb").read()
    ctx = ssl.create_default_context(cafile=os.path.join(args.srcdir, "pki", "scws-ca.crt"))
    tmp = tempfile.mkdtemp(prefix="scwsemu-rack.")
    rows, result = [], {"sanitized": sanitized, "racks": []}
    try:
        base_rss = None
        for n in sizes:
            log("%d cards" % n)
            rack = Rack(args, n, tmp)
            try:
                time.sleep(0.3)
                pid = rack.proc.pid
                rss = status_kb(pid, "VmRSS")
                threads = status_kb(pid, "Threads")
                c0 = cpu_seconds(pid)
                time.sleep(1.0)
                idle_cpu_ms = (cpu_seconds(pid) - c0) * 1000
                if base_rss is None and n == 1:
                    base_rss = rss
                per_card = (rss - base_rss) / (n - 1) if base_rss is not None and n > 1 \
                    else None
                ok, secs = fetch_every_card(rack, ctx)
                r = {"cards": n, "ready_s": round(rack.ready_s, 3), "rss_kb": rss,
                     "kb_per_card_beyond_first": round(per_card, 1) if per_card else None,
                     "threads": threads, "idle_cpu_ms_per_s": round(idle_cpu_ms, 1),
                     "own_bootstrap_fetched": ok, "fetch_all_s": round(secs, 2)}
                if 1 < n <= 100 and (not result.get("spread")
                                     or n > result["spread"]["cards"]):
                    workers = min(n, 8)
                    reqs = 20 if args.smoke else 200
                    one_ok, one_rate = load(args, rack, 1, workers, reqs)
                    all_ok, all_rate = load(args, rack, n, workers, reqs)
                    result["spread"] = {
                        "cards": n, "workers": workers, "requests_per_worker": reqs,
                        "one_card_fetches_per_s": round(one_rate, 1), "one_card_ok": one_ok,
                        "spread_fetches_per_s": round(all_rate, 1), "spread_ok": all_ok,
                        "ratio": round(all_rate / one_rate, 2) if one_rate else None}
            finally:
                rack.stop()
                shutil.rmtree(rack.dir, ignore_errors=True)
            result["racks"].append(r)
            rows.append(r)
            if ok != n:
                raise SystemExit("rack: %d cards: only %d served their own bootstrap" % (n, ok))
            if threads != 1:
                raise SystemExit("rack: %d cards: %d threads (one expected)" % (n, threads))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    note = " (ASan build: memory not representative)" if sanitized else ""
    print("\nMany cards in one process%s" % note)
    print("%6s %10s %10s %14s %8s %12s %16s" % ("cards", "ready s", "RSS KB", "KB/card>1st",
                                                 "threads", "idle CPU ms/s",
                                                 "own bootstrap"))
    for r in rows:
        print("%6d %10.3f %10d %14s %8d %12.1f %11d/%-4d" % (
            r["cards"], r["ready_s"], r["rss_kb"],
            "-" if r["kb_per_card_beyond_first"] is None else r["kb_per_card_beyond_first"],
            r["threads"], r["idle_cpu_ms_per_s"], r["own_bootstrap_fetched"], r["cards"]))
    s = result.get("spread")
    if s:
        print("fetches/s, %d load generators: across %d cards %.1f, on one card %.1f "
              "(ratio %.2f)" % (s["workers"], s["cards"], s["spread_fetches_per_s"],
                                s["one_card_fetches_per_s"], s["ratio"] or 0))
    with open(os.path.join(args.builddir, "bench-rack.json"), "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
