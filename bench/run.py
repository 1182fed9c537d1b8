#!/usr/bin/env python3
"""bench/run.py - scwsemu against references, measured alternately in one run.

Started by `make bench` (bench/local.mk); python3 standard library only.

Fetches: nginx (Debian nginx-light, generated configuration: one worker, the
same certificate, key, bootstrap bytes and TLS versions, no session cache, no
tickets; scwsemu's card likewise with tls.resumption = false), scwsemu in TCP/IP mode, scwsemu in BIP mode (in-process card and
gateway) and, when pcscd and vpcd are there, scwsemu BIP with the gateway and
the card in two processes through pcscd (--reader and --vpcd). Every fetch is
scwsemu-fetch's POST on a new connection with a full TLS handshake. Per round
and per server, in an order that rotates each round: fetches per second,
server CPU time per fetch (utime + stime of the server's processes from
/proc/PID/stat around the window), latency p50 and p99. Medians over rounds.
Memory: VmRSS (and PSS) idle after start, and with 100 TLS connections open
and idle. Start-up: time from exec to the ready file, 20 starts.

APDUs: through a private pcscd and vsmartcard's vpcd, the same SELECT MF /
READ BINARY loop (bench/apdu_loop) against a card that answers 90 00 at once
(bench/trivial_card, the ceiling of the path), scwsemu --vpcd, and vsmartcard's
vicc (bench/vicc_card.py), as shipped and with TCP_QUICKACK.

Output: one table on stdout, the same figures in BUILDDIR/bench-results.json.
Speed never decides the exit status: 0 when the harness worked, 1 when a
measurement it could not skip failed, 2 for bad usage."""

import argparse
import datetime
import json
import os
import platform
import pwd
import random
import re
import resource
import select
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
FETCH_METRICS = ("fetches_per_second", "server_cpu_ms_per_fetch", "server_sys_ms_per_fetch",
                 "client_cpu_ms_per_fetch", "p50_ms", "p99_ms")
APDU_METRICS = ("apdus_per_second", "cpu_us_per_apdu", "card_cpu_us_per_apdu",
                "pcscd_cpu_us_per_apdu", "client_cpu_us_per_apdu")
VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
VSMARTCARD_MODULES = "/usr/lib/python3/site-packages/virtualsmartcard"
SYSTEM_PYTHON = "/usr/bin/python3"
BOOTSTRAP_PATH = "/OMA/DM/Bootstrap.xml"
READY_TIMEOUT_S = 15.0


class BenchError(Exception):
    """A measurement that cannot go on; the message says why."""


T0 = time.monotonic()


def log(msg):
    print("bench: %6.1fs %s" % (time.monotonic() - T0, msg), file=sys.stderr, flush=True)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def paired_ratios(rounds, base_rounds, keys):
    """Median over rounds of this round's figure over the reference's in the
    same round: the two windows are seconds apart, so a machine that is
    slower for a while (other load, a noisy neighbour) slows both."""
    by_round = {m["round"]: m for m in base_rounds}
    out = {}
    for k in keys:
        out[k] = median([m[k] / by_round[m["round"]][k] for m in rounds
                         if m["round"] in by_round and m[k] is not None
                         and by_round[m["round"]][k]])
    return out


# ---- /proc ---------------------------------------------------------------

def proc_stat_fields(pid):
    """Fields of /proc/PID/stat after the command name (field 3 is [0])."""
    with open("/proc/%d/stat" % pid) as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()


def cpu_times(pids):
    """(utime, stime) of the processes in seconds (all their threads, dead
    ones too)."""
    user = system = 0
    for pid in pids:
        fields = proc_stat_fields(pid)
        user += int(fields[11])
        system += int(fields[12])
    return user / CLK_TCK, system / CLK_TCK


def cpu_seconds(pids):
    return sum(cpu_times(pids))


def machine_busy_seconds():
    """CPU time the whole machine spent busy (all CPUs; steal included)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / CLK_TCK


class Window:
    """Wall time and the machine's busy time around one measured window,
    to tell how much of the machine other work took meanwhile."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.busy0 = machine_busy_seconds()

    def other_load(self, ours_seconds):
        wall = time.monotonic() - self.t0
        other = machine_busy_seconds() - self.busy0 - ours_seconds
        cpus = len(os.sched_getaffinity(0))
        return max(0.0, other / (wall * cpus)) if wall > 0 else None


def gone(pid):
    """True once pid has exited (a zombie that nobody reaps counts)."""
    try:
        return proc_stat_fields(pid)[0] in ("Z", "X")
    except OSError:
        return True


def proc_status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def memory_kb(pids):
    rss = sum(proc_status_kb(p, "VmRSS") for p in pids)
    pss = [pss_kb(p) for p in pids]
    return rss, (sum(pss) if None not in pss else None)


def children_of(pid):
    kids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if int(proc_stat_fields(int(name))[1]) == pid:
                kids.append(int(name))
        except (OSError, ValueError, IndexError):
            continue
    return kids


def processes_named(comm):
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % name) as f:
                if f.read().strip() == comm:
                    found.append(int(name))
        except OSError:
            continue
    return found


def listening_tcp_ports():
    ports = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "0A":
                        ports.add(int(parts[1].rsplit(":", 1)[1], 16))
        except OSError:
            continue
    return ports


def free_port(count=1):
    """A port p with p .. p+count-1 free on every address (best effort: the
    port is released before the server binds it)."""
    for _ in range(200):
        p = random.randrange(20000, 60000 - count)
        socks = []
        try:
            for i in range(count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind(("0.0.0.0", p + i))
            return p
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise BenchError("no free TCP port")


# ---- callgrind -----------------------------------------------------------

def callgrind_self_costs(path):
    """Self cost (Ir) per function from a callgrind output file: the cost
    lines under each fn=, less the inclusive lines that follow calls=."""
    names = {}
    cost = {}
    objects = {}
    fn = ob = None
    after_calls = False
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^(c?fn|c?ob|fl|fi|fe|cfi|cfl)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
            if m:
                kind, ident, name = m.groups()
                key = (kind.lstrip("c"), ident)
                if name is not None:
                    names[key] = name
                if kind == "fn":
                    fn = names.get(key, ident)
                    objects.setdefault(fn, ob)
                elif kind == "ob":
                    ob = names.get(key, ident)
                continue
            if line.startswith("calls="):
                after_calls = True
                continue
            if line[:1].isdigit() or line[:1] in "+-*":
                if after_calls:
                    after_calls = False
                    continue
                parts = line.split()
                if len(parts) >= 2 and fn is not None:
                    cost[fn] = cost.get(fn, 0) + int(parts[1])
    return cost, objects


# ---- processes -----------------------------------------------------------

class Proc:
    """A started process, its log file, and the pids whose CPU counts."""

    def __init__(self, name, argv, logdir, env=None):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(logdir, re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".log")
        self.log_file = open(self.log_path, "wb")
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                      stderr=subprocess.STDOUT, env=env,
                                      start_new_session=True)
        self.pid = self.popen.pid
        self.extra_pids = []

    def pids(self):
        return [self.pid] + self.extra_pids

    def alive(self):
        return self.popen.poll() is None

    def log_tail(self, lines=5):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self, timeout=3.0):
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(signal.SIGTERM)
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
            except ProcessLookupError:
                pass
        self.log_file.close()
        return self.popen.returncode


def wait_for(what, predicate, timeout, proc=None):
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if predicate():
            return
        if proc is not None and not proc.alive():
            raise BenchError("%s exited (%s) before %s:\n%s" %
                             (proc.name, proc.popen.returncode, what, proc.log_tail()))
        time.sleep(0.005)
    raise BenchError("no %s after %.0f s%s" % (what, timeout,
                                               (":\n" + proc.log_tail()) if proc else ""))


def read_ready(path):
    with open(path) as f:
        return json.load(f)


def ready_url(ready, transport):
    for e in ready["endpoints"]:
        if e["transport"] == transport and e["scheme"] == "https":
            return e["url"]
    raise BenchError("the ready file lists no %s https endpoint" % transport)


def can_connect(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


# ---- the servers ---------------------------------------------------------

class Server:
    """One fetch target: its processes, URL and figures."""

    def __init__(self, key, label):
        self.key = key
        self.label = label
        self.procs = []
        self.url = None
        self.cpu_pids = []  # every process whose CPU counts for this server
        self.mem_pids = []  # the processes whose memory counts
        self.rounds = []
        self.result = {"label": label}
        self.skipped = None

    def stop(self):
        for p in reversed(self.procs):
            p.stop()


def nginx_config(tmp, port, srcdir, user, resume=False):
    root = os.path.join(tmp, "html")
    lines = [
        "daemon off;",
        "master_process on;",
        "worker_processes 1;",
    ]
    if user:
        lines.append("user %s;" % user)
    lines += [
        "pid %s/nginx.pid;" % tmp,
        "error_log %s/error.log warn;" % tmp,
        # Room for the 1,000-client windows (each client is one
        # connection; the listener and the log files count too).
        "worker_rlimit_nofile 8192;",
        "events { worker_connections 4096; }",
        "http {",
        "    access_log %s/access.log;" % tmp,
    ]
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        lines.append("    %s_temp_path %s/%s_temp;" % (kind, tmp, kind))
    lines += [
        "    server {",
        "        listen 127.0.0.1:%d ssl;" % port,
        "        ssl_certificate %s/pki/scws-server.crt;" % srcdir,
        "        ssl_certificate_key %s/pki/scws-server.key;" % srcdir,
        "        ssl_protocols TLSv1.2 TLSv1.3;",
        # Resumed handshakes (the resumed row): a session cache for TLS
        # 1.2 session ids and tickets for both versions, as scwsemu's card
        # with tls.resumption = true offers.
        "        ssl_session_cache %s;" % ("shared:SSL:1m" if resume else "off"),
        "        ssl_session_tickets %s;" % ("on" if resume else "off"),
        "        root %s;" % root,
        "        location = %s {" % BOOTSTRAP_PATH,
        "            types { }",
        "            default_type application/vnd.syncml.dm+wbxml;",
        "            add_header Cache-Control no-store;",
        # The static module answers POST with 405; this turns it into the
        # file (nginx redirects internally as a GET), so the same POST that
        # scwsemu-fetch sends to scwsemu gets the same bytes here.
        "            error_page 405 =200 $uri;",
        "        }",
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"


class Bench:
    def __init__(self, args):
        self.args = args
        self.builddir = os.path.abspath(args.builddir)
        self.srcdir = os.path.abspath(args.srcdir)
        self.card = os.path.join(self.srcdir, "cards", "default")
        self.cacert = os.path.join(self.srcdir, "pki", "scws-ca.crt")
        self.bin = {
            "scwsemu": os.path.join(self.builddir, "src", "scwsemu"),
            "fetch": os.path.join(self.builddir, "src", "scwsemu-fetch"),
            "card": os.path.join(self.builddir, "src", "scwsemu-card"),
            "trivial": os.path.join(self.builddir, "bench", "trivial_card"),
            "apdu_loop": os.path.join(self.builddir, "bench", "apdu_loop"),
        }
        self.tmp = tempfile.mkdtemp(prefix="scwsemu-bench-")
        # Full handshakes on both sides: nginx has no session cache and no
        # tickets, so the card runs with tls.resumption = false (tickets
        # would cost the server work on every connection that no client
        # here ever uses).
        self.card = self.full_handshake_card()
        self.procs = []
        self.notes = []
        self.servers = []
        self.pcscd = None
        self.pcsc_env = None
        self.foreign_pcscd = None
        self.readers = {}
        self.results = {}

    # -- helpers

    def full_handshake_card(self):
        """cards/default with tls.resumption = false, in self.tmp."""
        src = os.path.join(self.srcdir, "cards", "default")
        d = os.path.join(self.tmp, "card")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(src, "card.conf")) as f:
            conf = f.read()
        conf = conf.replace("../../pki", os.path.join(self.srcdir, "pki"))
        for name in ("bootstrap.xml", "index.html"):
            conf = conf.replace('"%s"' % name, '"%s"' % os.path.join(src, name))
        if "resumption = true;" not in conf:
            raise BenchError("cards/default/card.conf: no 'resumption = true;' to turn off")
        conf = conf.replace("resumption = true;", "resumption = false;")
        with open(os.path.join(d, "card.conf"), "w") as f:
            f.write(conf)
        return d

    def start(self, name, argv, env=None):
        p = Proc(name, argv, self.tmp, env)
        self.procs.append(p)
        self.write_pidfile()
        return p

    def pidfile(self):
        return os.path.join(self.builddir, "bench-pids")

    def write_pidfile(self):
        """Every process this run started, so that a run killed before its
        clean-up can be cleaned up by the next one."""
        lines = []
        for p in self.procs:
            try:
                lines.append("%d %s %s\n" % (p.pid, proc_stat_fields(p.pid)[19], p.name))
            except OSError:
                continue
        with open(self.pidfile(), "w") as f:
            f.writelines(lines)

    def stop_stale(self):
        """Stops what an earlier run of this harness left running: the pid
        and its start time must both match, so no other process is hit."""
        try:
            with open(self.pidfile()) as f:
                entries = [line.split(None, 2) for line in f]
        except OSError:
            return
        for pid_text, start, name in (e for e in entries if len(e) == 3):
            pid = int(pid_text)
            try:
                if proc_stat_fields(pid)[19] != start:
                    continue
                log("stopping %s (pid %d) left by an earlier bench run" % (name.strip(), pid))
                os.kill(pid, signal.SIGTERM)
                wait_for("pid %d to stop" % pid, lambda: gone(pid), 5)
            except (OSError, ValueError, BenchError):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        os.unlink(self.pidfile())

    def note(self, text):
        self.notes.append(text)
        log(text)

    def daemon_help(self):
        try:
            return subprocess.run([self.bin["scwsemu"], "--help"], capture_output=True,
                                  text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    def is_sanitized(self):
        try:
            with open(self.bin["scwsemu"], "rb") as f:
                return b"__asan_init" in f.read()
        except OSError:
            return False

    # -- environment

    def machine(self):
        cpu = "?"
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        cpu = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass

        def version(argv, pattern):
            try:
                out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
                m = re.search(pattern, out.stdout + out.stderr)
                return m.group(1) if m else None
            except (OSError, subprocess.SubprocessError):
                return None

        with open("/proc/loadavg") as f:
            load = f.read().split()[:3]
        return {
            "nproc": len(os.sched_getaffinity(0)),
            "cpu": cpu,
            "kernel": platform.release(),
            "loadavg_start": [float(x) for x in load],
            "versions": {
                "scwsemu": version([self.bin["scwsemu"], "--version"], r"scwsemu (\S+)"),
                "nginx": version(["nginx", "-v"], r"nginx/(\S+)"),
                "openssl": version(["openssl", "version"], r"OpenSSL (\S+)"),
                "pcscd": version(["pcscd", "--version"], r"pcsc-lite version (\d[\d.]*\d)"),
            },
        }

    # -- servers

    def start_nginx(self, key="nginx", label="nginx", resume=False):
        srv = Server(key, label)
        if not shutil.which("nginx"):
            srv.skipped = "nginx is not installed (Debian nginx-light)"
            return srv
        d = os.path.join(self.tmp, key)
        html = os.path.join(d, "html", "OMA", "DM")
        os.makedirs(html)
        boot = subprocess.run([self.bin["card"], "bootstrap", self.card], capture_output=True)
        if boot.returncode != 0 or not boot.stdout:
            raise BenchError("scwsemu-card bootstrap failed: %s" % boot.stderr.decode())
        with open(os.path.join(html, "Bootstrap.xml"), "wb") as f:
            f.write(boot.stdout)
        srv.result["bootstrap_bytes"] = len(boot.stdout)
        # As root the master would hand the worker to "nobody": keep it the
        # current user, as the other servers run.
        user = pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() == 0 else None
        conf = os.path.join(d, "nginx.conf")
        for attempt in range(3):
            port = free_port()
            with open(conf, "w") as f:
                f.write(nginx_config(d, port, self.srcdir, user, resume))
            p = self.start(key, ["nginx", "-p", d, "-c", conf, "-e",
                                     os.path.join(d, "error.log")])
            try:
                wait_for("nginx listening", lambda: can_connect(port), READY_TIMEOUT_S, p)
                break
            except BenchError:
                p.stop()
                self.procs.remove(p)
                if attempt == 2:
                    raise
        srv.procs = [p]
        srv.url = "https://127.0.0.1:%d%s" % (port, BOOTSTRAP_PATH)
        wait_for("the nginx worker", lambda: children_of(p.pid), 5, p)
        srv.cpu_pids = srv.mem_pids = [p.pid] + children_of(p.pid)
        srv.result["processes"] = "master + 1 worker"
        return srv

    def scwsemu_argv(self, ready, *extra, card=None):
        return ([self.bin["scwsemu"], "--card", card or self.card, "--ready-file", ready] +
                self.peer_limit_args() + list(extra))

    def peer_limit_args(self):
        """Every client of the bench is 127.0.0.1: lift the per-peer limit
        (64 by default) as nginx has none."""
        if "--max-clients-per-peer" in self.daemon_help():
            return ["--max-clients-per-peer", "65536"]
        return []

    def start_scwsemu(self, key, label, extra, transport, card=None):
        srv = Server(key, label)
        ready = os.path.join(self.tmp, key + ".ready")
        p = self.start(key, self.scwsemu_argv(ready, *extra, card=card))
        wait_for("%s ready file" % key, lambda: os.path.exists(ready), READY_TIMEOUT_S, p)
        srv.procs = [p]
        srv.url = ready_url(read_ready(ready), transport)
        srv.cpu_pids = srv.mem_pids = [p.pid]
        return srv

    def tcpip_args(self):
        return ["--tcpip", "127.0.0.1:0", "--no-bip"]

    def bip_args(self):
        return ["--no-tcpip", "--bip-listen", "127.0.0.1", "--port-map", "4116=0",
                "--port-map", "3516=0"]

    def start_bip_pcsc(self):
        srv = Server("bip_pcsc", "scwsemu BIP, 2 processes via pcscd")
        if self.pcscd is None:
            srv.skipped = self.results.get("apdu_skipped", "no pcscd")
            return srv
        helptext = self.daemon_help()
        if "--reader" not in helptext or "--vpcd" not in helptext:
            srv.skipped = "this scwsemu has no --reader/--vpcd"
            return srv
        reader, port = self.readers["bip_card"]
        card = self.start("bip_pcsc-card", [self.bin["scwsemu"], "--card", self.card,
                                            "--vpcd", "127.0.0.1:%d" % port])
        ready = os.path.join(self.tmp, "bip_pcsc.ready")
        gw = None
        try:
            # The gateway alone takes no --card and no TCP/IP options.
            gw = self.start("bip_pcsc-gateway",
                            [self.bin["scwsemu"], "--ready-file", ready, "--reader", reader,
                             "--bip-listen", "127.0.0.1", "--port-map", "4116=0",
                             "--port-map", "3516=0"] + self.peer_limit_args(), self.pcsc_env)
            wait_for("bip_pcsc ready file", lambda: os.path.exists(ready), READY_TIMEOUT_S, gw)
            if not card.alive():
                raise BenchError("the --vpcd card exited:\n" + card.log_tail())
        except BenchError as e:
            srv.skipped = "gateway over PC/SC did not start: %s" % str(e).replace("\n", " | ")
            for p in (card, gw):
                if p:
                    p.stop()
            return srv
        srv.procs = [card, gw]
        srv.url = ready_url(read_ready(ready), "bip")
        srv.cpu_pids = [card.pid, gw.pid, self.pcscd.pid]
        srv.mem_pids = [card.pid, gw.pid]
        srv.result["processes"] = "card (--vpcd) + gateway (--reader) + pcscd (CPU only)"
        return srv

    # -- fetches

    def fetch(self, srv, requests, resume=False):
        argv = [self.bin["fetch"], srv.url, "--cacert", self.cacert,
                "--concurrency", str(self.args.concurrency), "--requests", str(requests),
                "--json", "--timeout", "10"] + (["--resume"] if resume else [])
        before_user, before_sys = cpu_times(srv.cpu_pids)
        before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
        window = Window()
        out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
        after_user, after_sys = cpu_times(srv.cpu_pids)
        before_cpu, after_cpu = before_user + before_sys, after_user + after_sys
        try:
            summary = json.loads(out.stdout)
        except ValueError:
            raise BenchError("%s: scwsemu-fetch gave no summary (exit %d): %s" %
                             (srv.label, out.returncode, out.stderr.strip()[-300:]))
        ok = summary.get("ok", 0)
        client = (after_children.ru_utime - before_children.ru_utime +
                  after_children.ru_stime - before_children.ru_stime)
        seconds = summary.get("seconds") or 0
        lat = summary.get("latency_ms", {})
        other = window.other_load(after_cpu - before_cpu + client)
        return {
            "other_load": other,
            "requests": requests,
            "ok": ok,
            "errors": summary.get("errors", {}),
            "seconds": seconds,
            "fetches_per_second": ok / seconds if seconds and ok else 0.0,
            "server_cpu_ms_per_fetch": (after_cpu - before_cpu) * 1000 / ok if ok else None,
            "server_sys_ms_per_fetch": (after_sys - before_sys) * 1000 / ok if ok else None,
            "client_cpu_ms_per_fetch": client * 1000 / ok if ok else None,
            "p50_ms": lat.get("p50"),
            "p99_ms": lat.get("p99"),
            "resumed": summary.get("resumed"),
        }

    def run_fetch_rounds(self, servers, resume=False):
        a = self.args
        live = [s for s in servers if not s.skipped]
        rate = {}
        for s in live:  # warm-up, and a first estimate of the rate
            w = self.fetch(s, a.warmup, resume)
            if w["ok"] != a.warmup:
                raise BenchError("%s: warm-up: %d of %d fetches got a 200 (errors %s)" %
                                 (s.label, w["ok"], a.warmup, w["errors"]))
            rate[s.key] = w["fetches_per_second"]
        for r in range(a.rounds):
            order = live[r % len(live):] + live[:r % len(live)]
            for s in order:
                n = max(a.min_requests, int(rate[s.key] * a.duration))
                m = self.fetch(s, n, resume)
                m["round"] = r + 1
                s.rounds.append(m)
                if m["ok"]:
                    rate[s.key] = m["fetches_per_second"]
                log("round %d %-34s %7.1f fetches/s  %.3f ms CPU/fetch  p50 %.2f p99 %.2f ms  "
                    "other load %.0f%%%s" %
                    (r + 1, s.label, m["fetches_per_second"], m["server_cpu_ms_per_fetch"] or 0,
                     m["p50_ms"] or 0, m["p99_ms"] or 0, 100 * (m["other_load"] or 0),
                     ("  errors %s" % m["errors"]) if m["errors"] else ""))
        base = next((s for s in live if s.key.startswith("nginx")), None)
        for s in live:
            if resume:
                s.result["resumed"] = sum(m["resumed"] or 0 for m in s.rounds)
            for k in FETCH_METRICS:
                s.result[k] = median([m[k] for m in s.rounds])
            if base is not None and s is not base:
                s.result["vs_nginx"] = paired_ratios(s.rounds, base.rounds, FETCH_METRICS)
            s.result["fetches"] = sum(m["ok"] for m in s.rounds)
            s.result["failed"] = sum(m["requests"] - m["ok"] for m in s.rounds)
            s.result["rounds"] = s.rounds

    # -- memory

    def hold_connections(self, srv, count, timeout):
        """Opens count TCP connections to srv, TLS-handshakes them in
        parallel, and returns (sockets, handshaken)."""
        host, port = re.match(r"https://([^/]+):(\d+)/", srv.url.replace("[", "").replace(
            "]", "")).groups()
        ctx = ssl.create_default_context(cafile=self.cacert)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        conns = []
        for _ in range(count):
            s = socket.create_connection((host, int(port)), timeout=5)
            s.setblocking(False)
            conns.append(ctx.wrap_socket(s, server_hostname=host, do_handshake_on_connect=False))
        pending = list(conns)
        done = 0
        self.last_tls = None
        until = time.monotonic() + timeout
        while pending and time.monotonic() < until:
            rd, wr = [], []
            for c in list(pending):
                try:
                    c.do_handshake()
                    pending.remove(c)
                    done += 1
                    self.last_tls = "%s %s" % (c.version(), c.cipher()[0])
                except ssl.SSLWantReadError:
                    rd.append(c)
                except ssl.SSLWantWriteError:
                    wr.append(c)
                except (ssl.SSLError, OSError):
                    pending.remove(c)
            if pending:
                select.select(rd, wr, [], 0.05)
        return conns, done

    def measure_memory(self, servers, when):
        for s in servers:
            if s.skipped:
                continue
            rss, pss = memory_kb(s.mem_pids)
            s.result["rss_%s_kb" % when] = rss
            s.result["pss_%s_kb" % when] = pss
            # File-backed pages are mostly shared libraries' code and data;
            # the anonymous ones are the process's own heap and stacks.
            s.result["rss_anon_%s_kb" % when] = sum(proc_status_kb(p, "RssAnon")
                                                    for p in s.mem_pids)

    def measure_connections(self, servers):
        n = self.args.connections
        for s in servers:
            if s.skipped:
                continue
            conns, done = self.hold_connections(s, n, self.args.handshake_timeout)
            time.sleep(0.3)  # let the server read the last Finished messages
            rss, pss = memory_kb(s.mem_pids)
            s.result.update({"connections_open": len(conns), "connections_handshaken": done,
                             "rss_conns_kb": rss, "pss_conns_kb": pss,
                             "tls_negotiated": self.last_tls})
            idle = s.result.get("rss_idle_kb")
            if done and idle is not None:
                s.result["kb_per_connection"] = (rss - idle) / done
            for c in conns:
                try:
                    c.close()
                except OSError:
                    pass
            log("%s: %d connections open, %d handshaken: RSS %d kB" %
                (s.label, len(conns), done, rss))
        time.sleep(0.5)

    # -- system calls

    def measure_syscalls(self, servers, fetches):
        """System calls per fetch with strace -c attached to the serving
        process (nginx: its worker), over fetches at concurrency 1: the
        epoll_ctl calls show how often the event loop re-arms a socket."""
        if not shutil.which("strace"):
            self.note("syscall counts skipped: strace is not installed")
            return
        for s in servers:
            if s.skipped or s.key not in ("nginx", "tcpip", "bip"):
                continue
            pid = (children_of(s.procs[0].pid) or [s.procs[0].pid])[0] if s.key == "nginx" \
                else s.procs[0].pid
            out = os.path.join(self.tmp, "strace-%s.txt" % s.key)
            self.fetch_plain(s.url, 5)
            st = subprocess.Popen(["strace", "-c", "-f", "-p", str(pid), "-o", out],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)  # attached
            try:
                self.fetch_plain(s.url, fetches)
                time.sleep(0.2)
            finally:
                st.send_signal(signal.SIGINT)
                st.wait(10)
            calls = {}
            if not os.path.exists(out):
                self.note("syscall counts skipped for %s: strace could not attach" % s.label)
                continue
            with open(out) as f:
                for line in f:
                    w = line.split()
                    # % time, seconds, usecs/call, calls, [errors,] syscall
                    if len(w) >= 5 and w[-1] != "total" and w[3].isdigit():
                        calls[w[-1]] = int(w[3])
            if not calls:
                self.note("syscall counts skipped for %s: strace counted nothing" % s.label)
                continue
            s.result["syscalls_per_fetch"] = sum(calls.values()) / fetches
            s.result["epoll_ctl_per_fetch"] = calls.get("epoll_ctl", 0) / fetches
            log("%s: %.1f system calls per fetch, %.2f epoll_ctl" % (
                s.label, s.result["syscalls_per_fetch"], s.result["epoll_ctl_per_fetch"]))

    # -- resumed handshakes

    def measure_resumed(self):
        """The fetch windows again with session resumption on both sides:
        nginx with a session cache and tickets, scwsemu with the shipped
        card (tls.resumption = true), scwsemu-fetch --resume (each worker
        resumes its previous session)."""
        card = os.path.join(self.srcdir, "cards", "default")
        servers = [self.start_nginx("nginx_resumed", "nginx (resumed)", resume=True),
                   self.start_scwsemu("tcpip_resumed", "scwsemu TCP/IP (resumed)",
                                      self.tcpip_args(), "tcpip", card=card),
                   self.start_scwsemu("bip_resumed", "scwsemu BIP (resumed)",
                                      self.bip_args(), "bip", card=card)]
        try:
            time.sleep(0.3)
            self.run_fetch_rounds(servers, resume=True)
        finally:
            for srv in servers:
                srv.stop()
        out = {}
        for s in servers:
            if s.skipped:
                s.result["skipped"] = s.skipped
            out[s.key.replace("_resumed", "")] = s.result
        return out

    # -- many clients at once

    def measure_many(self, servers):
        """Latency with many clients at once (--concurrency N, each fetch
        on a new connection), for nginx and TCP/IP only (a BIP card serves
        as many as its channels), in turns, paired per round like the
        fetch windows."""
        a = self.args
        live = [s for s in servers if not s.skipped and s.key in ("nginx", "tcpip")]
        n = a.many
        for r in range(a.many_rounds):
            for s in (live if r % 2 == 0 else live[::-1]):
                argv = [self.bin["fetch"], s.url, "--cacert", self.cacert, "--concurrency",
                        str(n), "--requests", str(2 * n), "--json", "--timeout", "30"]
                out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
                try:
                    summary = json.loads(out.stdout)
                except ValueError:
                    raise BenchError("%s: %d clients at once: no summary (exit %d): %s" % (
                        s.label, n, out.returncode, out.stderr.strip()[-300:]))
                lat = summary.get("latency_ms", {})
                m = {"round": r + 1, "clients": n, "requests": 2 * n,
                     "ok": summary.get("ok", 0), "errors": summary.get("errors", {}),
                     "p50_ms": lat.get("p50"), "p99_ms": lat.get("p99"),
                     "max_ms": lat.get("max")}
                s.result.setdefault("many_rounds", []).append(m)
                log("%d clients at once, %-24s ok %d of %d  p50 %.1f p99 %.1f ms%s" % (
                    n, s.label, m["ok"], 2 * n, m["p50_ms"] or 0, m["p99_ms"] or 0,
                    ("  errors %s" % m["errors"]) if m["errors"] else ""))
        base = next((s for s in live if s.key == "nginx"), None)
        for s in live:
            rounds = s.result.get("many_rounds", [])
            s.result["many"] = {k: median([m[k] for m in rounds]) for k in ("p50_ms", "p99_ms")}
            s.result["many"]["clients"] = n
            s.result["many"]["failed"] = sum(m["requests"] - m["ok"] for m in rounds)
            if base is not None and s is not base:
                s.result["many"]["vs_nginx"] = paired_ratios(
                    rounds, base.result.get("many_rounds", []), ("p50_ms", "p99_ms"))

    # -- start-up time

    def measure_ready(self, key, extra):
        times = []
        for i in range(self.args.starts):
            ready = os.path.join(self.tmp, "start-%s-%d.ready" % (key, i))
            t0 = time.monotonic()
            p = subprocess.Popen(self.scwsemu_argv(ready, *extra), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                while not os.path.exists(ready):
                    if p.poll() is not None:
                        raise BenchError("scwsemu %s exited (%d) before its ready file" %
                                         (" ".join(extra), p.returncode))
                    if time.monotonic() - t0 > READY_TIMEOUT_S:
                        raise BenchError("scwsemu %s: no ready file" % " ".join(extra))
                    time.sleep(0.0002)
                times.append((time.monotonic() - t0) * 1000)
            finally:
                p.terminate()
                p.wait()
        return {"starts": len(times), "median_ms": median(times), "max_ms": max(times),
                "min_ms": min(times)}

    def measure_nginx_ready(self, srv):
        """The reference: nginx from exec to its port accepting."""
        d = os.path.join(self.tmp, "nginx")
        times = []
        for i in range(self.args.starts):
            port = free_port()
            conf = os.path.join(d, "start.conf")
            user = pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() == 0 else None
            with open(conf, "w") as f:
                f.write(nginx_config(d, port, self.srcdir, user).replace(
                    "pid %s/nginx.pid" % d, "pid %s/start.pid" % d))
            t0 = time.monotonic()
            p = subprocess.Popen(["nginx", "-p", d, "-c", conf, "-e",
                                  os.path.join(d, "start-error.log")],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            try:
                while not port in listening_tcp_ports():
                    if p.poll() is not None or time.monotonic() - t0 > READY_TIMEOUT_S:
                        raise BenchError("nginx did not start (see %s/start-error.log)" % d)
                    time.sleep(0.0002)
                times.append((time.monotonic() - t0) * 1000)
            finally:
                # A worker still setting itself up can miss the master's
                # TERM, and the master then waits for it: at most 5 s.
                kids = children_of(p.pid)
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    for k in kids:
                        try:
                            os.kill(k, signal.SIGKILL)
                        except OSError:
                            pass
                    p.kill()
                    p.wait()
        return {"starts": len(times), "median_ms": median(times), "max_ms": max(times),
                "min_ms": min(times), "what": "exec to the port listening (no ready file)"}

    # -- instructions per fetch

    def callgrind_one(self, key, argv, url_of, fetches, stop_signal=signal.SIGTERM):
        """Runs argv under callgrind with instrumentation off until the
        server is up, warms up, zeroes, fetches, and reads the profile that
        callgrind writes at exit (the exit itself is a small part)."""
        out = os.path.join(self.builddir, "bench-callgrind.%s" % key)
        p = self.start("callgrind-" + key, ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                                            "--callgrind-out-file=" + out] + argv)
        try:
            url = url_of(p)
            for cmd in (["-i", "on"], None, ["-z"]):
                if cmd is None:
                    self.fetch_plain(url, 10)
                    continue
                subprocess.run(["callgrind_control"] + cmd + [str(p.pid)], capture_output=True,
                               timeout=60, check=True)
            self.fetch_plain(url, fetches)
        finally:
            p.popen.send_signal(stop_signal)
            try:
                p.popen.wait(120)
            except subprocess.TimeoutExpired:
                p.stop()
            p.stop()
        cost, objects = callgrind_self_costs(out)
        total = sum(cost.values())
        top = sorted(cost.items(), key=lambda kv: -kv[1])[:10]
        return {
            "fetches": fetches,
            "ir_per_fetch": total / fetches,
            "file": out,
            "top10_self": [{"function": k, "object": os.path.basename(objects.get(k) or ""),
                            "ir_per_fetch": v / fetches, "share": v / total} for k, v in top],
        }

    def fetch_plain(self, url, n):
        out = subprocess.run([self.bin["fetch"], url, "--cacert", self.cacert, "--concurrency",
                              "1", "--requests", str(n), "--json", "--timeout", "30"],
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise BenchError("fetch under callgrind failed: %s %s" % (out.stdout, out.stderr))

    def measure_callgrind(self, fetches):
        if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
            self.note("callgrind skipped: valgrind is not installed")
            return None
        res = {}

        def scwsemu_url(key, transport):
            ready = os.path.join(self.tmp, "cg-%s.ready" % key)

            def url_of(p):
                wait_for("%s ready file under callgrind" % key, lambda: os.path.exists(ready),
                         120, p)
                return ready_url(read_ready(ready), transport)
            return ready, url_of

        ready, url_of = scwsemu_url("tcpip", "tcpip")
        res["tcpip"] = self.callgrind_one("tcpip", self.scwsemu_argv(ready, *self.tcpip_args()),
                                          url_of, fetches)
        ready, url_of = scwsemu_url("bip", "bip")
        res["bip"] = self.callgrind_one("bip", self.scwsemu_argv(ready, *self.bip_args()),
                                        url_of, fetches)
        if shutil.which("nginx"):
            d = os.path.join(self.tmp, "nginx")
            port = free_port()
            conf = os.path.join(d, "callgrind.conf")
            user = pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() == 0 else None
            with open(conf, "w") as f:
                # One process that accepts and answers: master and worker
                # in one, so the profile holds all of nginx's work.
                f.write(nginx_config(d, port, self.srcdir, user)
                        .replace("master_process on;", "master_process off;")
                        .replace("pid %s/nginx.pid" % d, "pid %s/callgrind.pid" % d))

            def nginx_url(p):
                wait_for("nginx under callgrind", lambda: can_connect(port), 120, p)
                return "https://127.0.0.1:%d%s" % (port, BOOTSTRAP_PATH)
            res["nginx"] = self.callgrind_one(
                "nginx", ["nginx", "-p", d, "-c", conf, "-e", os.path.join(d, "cg-error.log")],
                nginx_url, fetches, signal.SIGQUIT)
        for key in ("tcpip", "bip"):
            if "nginx" in res:
                res[key]["vs_nginx"] = res[key]["ir_per_fetch"] / res["nginx"]["ir_per_fetch"]
            log("callgrind: %s %.0f instructions per fetch" % (key, res[key]["ir_per_fetch"]))
        return res

    # -- pcscd, vpcd and the cards

    def start_pcscd(self):
        if not shutil.which("pcscd") or not os.path.exists(VPCD_DRIVER):
            return "pcscd or vsmartcard-vpcd is not installed"
        # One vpcd reader line: two slots, vpcd listening on PORT and PORT+1
        # (vpcd keeps its sockets per slot number, whatever the line, so a
        # second line would share them). The port is hexadecimal there, as
        # in Debian's /etc/reader.conf.d/vpcd: a decimal one is misread.
        base = free_port(2)
        conf = os.path.join(self.tmp, "reader.conf")
        with open(conf, "w") as f:
            f.write('FRIENDLYNAME "Bench PCD"\nDEVICENAME /dev/null:0x%X\nLIBPATH %s\n'
                    'CHANNELID 0x%X\n' % (base, VPCD_DRIVER, base))
        # pcscd's socket and pid file are fixed at /run/pcscd. In a mount
        # namespace of its own, with a directory of ours bound there, this
        # pcscd neither meets nor disturbs any other (the system's, another
        # test's); clients find it through PCSCLITE_CSOCK_NAME.
        rundir = os.path.join(self.tmp, "pcscd-run")
        os.makedirs(rundir)
        private = self.private_pcscd_argv(rundir, conf)
        if private:
            self.pcscd = self.start("pcscd", private)
            self.pcsc_env = dict(os.environ, PCSCLITE_CSOCK_NAME=os.path.join(
                rundir, "pcscd.comm"))
            self.results["pcscd"] = "private mount namespace, socket %s" % rundir
        else:
            why = self.take_global_pcscd()
            if why:
                return why
            self.pcscd = self.start("pcscd", ["pcscd", "--foreground", "-c", conf])
            self.pcsc_env = None
            self.results["pcscd"] = "the system's /run/pcscd (no mount namespace)"
        wait_for("pcscd's vpcd ports", lambda: all(
            base + i in listening_tcp_ports() for i in range(2)), 10, self.pcscd)
        if self.pcsc_env:
            sock = self.pcsc_env["PCSCLITE_CSOCK_NAME"]
            wait_for("pcscd's socket", lambda: os.path.exists(sock), 10, self.pcscd)
        self.readers = {"apdu": ("Bench PCD 00 00", base),
                        "bip_card": ("Bench PCD 00 01", base + 1)}
        return None

    def private_pcscd_argv(self, rundir, conf):
        """pcscd in a new mount namespace with rundir on /run/pcscd, or None
        when this machine cannot do that (no unshare, no privilege)."""
        if not shutil.which("unshare"):
            return None
        argv = ["unshare", "--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            argv[1:1] = ["--user", "--map-root-user"]
        try:
            os.makedirs("/run/pcscd", exist_ok=True)
        except OSError:
            pass
        test = subprocess.run(argv + ["sh", "-c", 'mount --bind "$0" /run/pcscd', rundir],
                              capture_output=True, timeout=10)
        if test.returncode != 0:
            log("no private mount namespace for pcscd: %s" % test.stderr.decode().strip())
            return None
        return argv + ["sh", "-c", 'mount --bind "$0" /run/pcscd && exec pcscd --foreground '
                       '-c "$1"', rundir, conf]

    def take_global_pcscd(self):
        """Without a namespace there is one pcscd per machine: a running one
        that is not ours is left alone (the PC/SC rows are skipped) unless
        --stop-foreign-pcscd, which stops it now and restarts it at the end."""
        me = os.readlink("/proc/self/ns/mnt")
        for pid in processes_named("pcscd"):
            try:
                if os.readlink("/proc/%d/ns/mnt" % pid) != me:
                    continue  # in a namespace of its own: no conflict
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    argv = [a.decode() for a in f.read().split(b"\0") if a]
            except OSError:
                continue
            if not self.args.stop_foreign_pcscd:
                return ("a pcscd that this harness did not start runs (pid %d) and pcscd "
                        "cannot get a mount namespace of its own here "
                        "(--stop-foreign-pcscd stops it and restarts it after)" % pid)
            log("stopping the running pcscd %d (%s); restarted at the end" %
                (pid, " ".join(argv)))
            self.foreign_pcscd = argv
            os.kill(pid, signal.SIGTERM)
            wait_for("pcscd %d to stop" % pid, lambda: gone(pid), 5)
        return None

    def stop_pcscd(self):
        if self.pcscd:
            self.pcscd.stop()
            self.pcscd = None
        if self.foreign_pcscd:
            log("restarting %s" % " ".join(self.foreign_pcscd))
            subprocess.Popen(self.foreign_pcscd, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
            self.foreign_pcscd = None

    def vicc_env(self):
        """PYTHONPATH for vicc on Debian 12: the package's module folder, and
        pycryptodome importable as Crypto (Debian ships it as Cryptodome)."""
        if not os.path.isdir(VSMARTCARD_MODULES) or not os.path.exists(SYSTEM_PYTHON):
            return None
        out = subprocess.run([SYSTEM_PYTHON, "-c",
                              "import os, Cryptodome; print(os.path.dirname(Cryptodome.__file__))"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            return None
        shim = os.path.join(self.tmp, "pyshim")
        os.makedirs(shim, exist_ok=True)
        os.symlink(out.stdout.strip(), os.path.join(shim, "Crypto"))
        env = dict(os.environ)
        env["PYTHONPATH"] = VSMARTCARD_MODULES + ":" + shim
        return env

    def card_specs(self):
        """(key, label, argv, env) of every card on the APDU path."""
        reader, port = self.readers["apdu"]
        vpcd = "127.0.0.1:%d" % port
        specs = [("trivial", "trivial card (90 00)", [self.bin["trivial"], "--vpcd", vpcd],
                  None)]
        if "--vpcd" in self.daemon_help():
            specs.append(("scwsemu", "scwsemu --vpcd", [self.bin["scwsemu"], "--card",
                                                        self.card, "--vpcd", vpcd], None))
        else:
            self.note("this scwsemu has no --vpcd: no scwsemu APDU row")
        env = self.vicc_env()
        if env is None:
            self.note("vicc rows skipped: Debian vsmartcard-vpicc and python3-pycryptodome "
                      "are needed")
        else:
            script = os.path.join(self.srcdir, "bench", "vicc_card.py")
            for key, label, extra in (("vicc", "vicc (vsmartcard, as shipped)", []),
                                      ("vicc_quickack", "vicc + TCP_QUICKACK", ["--quickack"])):
                specs.append((key, label, [SYSTEM_PYTHON, script] + extra +
                              ["127.0.0.1", str(port)], env))
        return specs

    def apdu_loop(self, *args, timeout=60):
        out = subprocess.run([self.bin["apdu_loop"]] + list(args), capture_output=True,
                             text=True, timeout=timeout, env=self.pcsc_env)
        if out.returncode != 0:
            raise BenchError(out.stderr.strip())
        return out.stdout

    def apdu_window(self, key, label, argv, env):
        """Inserts the card, warms the path up, times the loop, removes the
        card. Only the timed loop counts: CPU is read once the card is in."""
        reader = self.readers["apdu"][0]
        proc = self.start(key, argv, env)
        try:
            self.apdu_loop("-r", reader, "-n", "1", "-w", "15")
            before_card = cpu_seconds([proc.pid])
            before_pcscd = cpu_seconds([self.pcscd.pid])
            before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
            window = Window()
            m = json.loads(self.apdu_loop("-r", reader, "-s", "%g" % self.args.apdu_duration,
                                          timeout=self.args.apdu_duration + 60))
            after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
            after_card = cpu_seconds([proc.pid])
            after_pcscd = cpu_seconds([self.pcscd.pid])
        except (BenchError, subprocess.TimeoutExpired) as e:
            tail = proc.log_tail() if not proc.alive() else ""
            raise BenchError("%s%s" % (e, (" | " + tail.replace("\n", " | ")) if tail else ""))
        finally:
            proc.stop()
            self.procs.remove(proc)
            # vpcd notices a card gone at its next poll (0.4 s): wait for
            # that, or the next card's loop would meet this one's ghost.
            try:
                self.apdu_loop("-r", reader, "-e", "10")
            except (BenchError, subprocess.TimeoutExpired) as e:
                log("%s: %s" % (label, e))
        n = m["apdus"]
        client = (after_children.ru_utime - before_children.ru_utime +
                  after_children.ru_stime - before_children.ru_stime)
        card = after_card - before_card
        pcscd = after_pcscd - before_pcscd
        m["other_load"] = window.other_load(card + pcscd + client)
        m["cpu_us_per_apdu"] = (card + pcscd) * 1e6 / n if n else None
        m["card_cpu_us_per_apdu"] = card * 1e6 / n if n else None
        m["pcscd_cpu_us_per_apdu"] = pcscd * 1e6 / n if n else None
        m["client_cpu_us_per_apdu"] = client * 1e6 / n if n else None
        return m

    def run_apdu_rounds(self):
        a = self.args
        specs = self.card_specs()
        res = {key: {"label": label, "reader": self.readers["apdu"][0], "rounds": []}
               for key, label, _, _ in specs}
        live = list(specs)
        for r in range(a.rounds):
            order = live[r % len(live):] + live[:r % len(live)] if live else []
            for spec in order:
                key, label = spec[0], spec[1]
                try:
                    m = self.apdu_window(*spec)
                except BenchError as e:
                    res[key]["skipped"] = str(e)
                    self.note("%s: %s" % (label, e))
                    live.remove(spec)
                    continue
                m["round"] = r + 1
                res[key]["rounds"].append(m)
                log("round %d %-34s %8.1f APDUs/s  %.1f us CPU/APDU (card + pcscd)  "
                    "other load %.0f%%" % (r + 1, label, m["apdus_per_second"],
                                           m["cpu_us_per_apdu"] or 0,
                                           100 * (m["other_load"] or 0)))
        for key, _, _, _ in specs:
            rounds = res[key]["rounds"]
            if not rounds:
                continue
            for k in APDU_METRICS:
                res[key][k] = median([m[k] for m in rounds])
            for ref in ("trivial", "vicc"):
                if ref != key and res.get(ref, {}).get("rounds"):
                    res[key]["vs_" + ref] = paired_ratios(rounds, res[ref]["rounds"],
                                                          APDU_METRICS)
            res[key]["apdus"] = sum(m["apdus"] for m in rounds)
            res[key]["protocol"] = rounds[0]["protocol"]
            res[key]["read_binary"] = rounds[0]["read_binary"]
        return res

    # -- the whole run

    def run(self):
        a = self.args
        # The 1,000-client windows: the servers and scwsemu-fetch inherit it.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        self.stop_stale()
        self.results["machine"] = self.machine()
        self.results["sanitizer_build"] = self.is_sanitized()
        if self.results["sanitizer_build"]:
            self.note("scwsemu is built with sanitizers: figures are not representative")
        for name in ("scwsemu", "fetch", "card"):
            if not os.access(self.bin[name], os.X_OK):
                raise BenchError("%s is not built (make %s)" % (
                    self.bin[name], os.path.relpath(self.bin[name], self.builddir)))

        # PC/SC first: the two-process BIP server needs a reader.
        apdu_skip = None
        if not a.no_apdu:
            for name in ("trivial", "apdu_loop"):
                if not os.access(self.bin[name], os.X_OK):
                    apdu_skip = "%s is not built" % self.bin[name]
            apdu_skip = apdu_skip or self.start_pcscd()
        else:
            apdu_skip = "--no-apdu"
        if apdu_skip:
            self.results["apdu_skipped"] = apdu_skip
            self.note("PC/SC rows skipped: " + apdu_skip)

        self.servers = [
            self.start_nginx(),
            self.start_scwsemu("tcpip", "scwsemu TCP/IP", self.tcpip_args(), "tcpip"),
            self.start_scwsemu("bip", "scwsemu BIP (in-process)", self.bip_args(), "bip"),
            self.start_bip_pcsc(),
        ]
        for s in self.servers:
            if s.skipped:
                self.note("%s skipped: %s" % (s.label, s.skipped))
        time.sleep(0.5)
        log("servers up")
        self.measure_memory(self.servers, "idle")
        self.measure_connections(self.servers)
        self.run_fetch_rounds(self.servers)
        if a.many:
            self.measure_many(self.servers)
        if a.strace:
            self.measure_syscalls(self.servers, a.strace)
        self.measure_memory(self.servers, "after_load")
        log("start-up times")

        by_key = {s.key: s for s in self.servers}
        if not by_key["nginx"].skipped:
            by_key["nginx"].result["ready"] = self.measure_nginx_ready(by_key["nginx"])
        by_key["tcpip"].result["ready"] = self.measure_ready("tcpip", self.tcpip_args())
        by_key["bip"].result["ready"] = self.measure_ready("bip", self.bip_args())

        self.results["fetch"] = {}
        for s in self.servers:
            if s.skipped:
                s.result["skipped"] = s.skipped
            else:
                s.result["url"] = s.url
            self.results["fetch"][s.key] = s.result

        for srv in self.servers:  # idle servers would only add noise
            srv.stop()
        if not a.no_resumed:
            self.results["resumed"] = self.measure_resumed()
        if a.callgrind:
            self.results["callgrind"] = self.measure_callgrind(a.callgrind)
        if not apdu_skip:
            self.results["apdu"] = self.run_apdu_rounds()
        self.results["machine"]["loadavg_end"] = [
            float(x) for x in open("/proc/loadavg").read().split()[:3]]

    def cleanup(self):
        for s in self.servers:
            s.stop()
        for p in reversed(self.procs):
            if p is not self.pcscd:
                p.stop()
        self.stop_pcscd()
        try:
            os.unlink(self.pidfile())
        except OSError:
            pass


# ---- ratios, targets, the table ------------------------------------------

def ratio(a, b):
    return a / b if a is not None and b else None


def add_ratios_and_targets(results):
    f = results.get("fetch", {})
    ng = f.get("nginx", {})
    ratios = {}
    # Paired (median of per-round ratios) where both ran in the same rounds;
    # the ratio of the medians is kept beside it.
    for key in ("tcpip", "bip", "bip_pcsc"):
        s = f.get(key, {})
        paired = s.get("vs_nginx", {})
        ratios[key + "_vs_nginx"] = {
            "fetches_per_second": paired.get("fetches_per_second"),
            "server_cpu_per_fetch": paired.get("server_cpu_ms_per_fetch"),
            "fetches_per_second_of_medians": ratio(s.get("fetches_per_second"),
                                                   ng.get("fetches_per_second")),
            "server_cpu_per_fetch_of_medians": ratio(s.get("server_cpu_ms_per_fetch"),
                                                     ng.get("server_cpu_ms_per_fetch")),
        }
    ap = results.get("apdu", {})
    sc_card = ap.get("scwsemu", {})
    sc = sc_card.get("apdus_per_second")
    ratios["scwsemu_apdu_vs_trivial"] = sc_card.get("vs_trivial", {}).get("apdus_per_second")
    ratios["scwsemu_apdu_vs_vicc"] = sc_card.get("vs_vicc", {}).get("apdus_per_second")
    ratios["scwsemu_apdu_vs_vicc_quickack"] = ratio(
        sc, ap.get("vicc_quickack", {}).get("apdus_per_second"))
    results["ratios"] = ratios

    def target(name, value, op, limit, unit=""):
        met = None if value is None else (value >= limit if op == ">=" else value < limit
                                          if op == "<" else value <= limit)
        return {"target": name, "value": value, "op": op, "limit": limit, "unit": unit,
                "met": met}

    t = [
        target("TCP/IP fetches/s vs nginx", ratios["tcpip_vs_nginx"]["fetches_per_second"],
               ">=", 0.9, "x"),
        target("TCP/IP CPU/fetch vs nginx", ratios["tcpip_vs_nginx"]["server_cpu_per_fetch"],
               "<=", 1.1, "x"),
        target("BIP fetches/s vs nginx", ratios["bip_vs_nginx"]["fetches_per_second"],
               ">=", 0.6, "x"),
        target("BIP CPU/fetch vs nginx", ratios["bip_vs_nginx"]["server_cpu_per_fetch"],
               "<=", 1.5, "x"),
    ]
    for key, label in (("tcpip", "TCP/IP"), ("bip", "BIP")):
        s = f.get(key, {})
        t.append(target("%s ready (median of %d starts)" % (
            label, s.get("ready", {}).get("starts", 0)),
            s.get("ready", {}).get("median_ms"), "<", 50, "ms"))
        rss = s.get("rss_idle_kb")
        t.append(target("%s RSS idle" % label, rss / 1024 if rss else None, "<=", 8, "MB"))
    many = f.get("tcpip", {}).get("many", {})
    if many:
        t.append(target("TCP/IP p99, %d clients at once, vs nginx" % many.get("clients", 0),
                        many.get("vs_nginx", {}).get("p99_ms"), "<=", 1.5, "x"))
    s = f.get("tcpip", {})
    if s.get("kb_per_connection") is not None:
        t.append(target("TCP/IP memory per idle TLS connection", s["kb_per_connection"], "<=",
                        40, "kB"))
    t.append(target("APDUs/s through pcscd (scwsemu --vpcd)", sc, ">=", 10000, "/s"))
    results["targets"] = t


def fmt(v, spec, dash="-"):
    return dash if v is None else format(v, spec)


def render_table(results):
    f = results.get("fetch", {})
    cols = [k for k in ("nginx", "tcpip", "bip", "bip_pcsc") if k in f]
    heads = {"nginx": "nginx", "tcpip": "TCP/IP", "bip": "BIP", "bip_pcsc": "BIP/pcscd"}
    lines = []
    m = results.get("machine", {})
    cfg = results.get("config", {})
    lines.append("scwsemu benchmark, %s, %s CPUs (%s), %s rounds x %ss%s" % (
        results.get("date", "?"), m.get("nproc"), m.get("cpu"), cfg.get("rounds"),
        cfg.get("duration"), ", SMOKE RUN" if cfg.get("smoke") else ""))
    head = "%-30s" % "fetches (full TLS handshake)"
    for c in cols:
        head += " %11s" % heads[c]
        if c != "nginx":
            head += " %7s" % "x nginx"
    lines.append(head)

    def row(label, key, spec, scale=1.0, ratio_ok=True, sub=None):
        line = "%-30s" % label
        base = f.get("nginx", {})
        for c in cols:
            s = f[c]
            if s.get("skipped"):
                v = None
            else:
                v = s.get(key) if sub is None else s.get(key, {}).get(sub)
            v = None if v is None else v * scale
            line += " %11s" % fmt(v, spec, "n/a" if s.get("skipped") else "-")
            if c != "nginx":
                bv = base.get(key) if sub is None else base.get(key, {}).get(sub)
                r = ratio(v, bv * scale if bv is not None else None) if ratio_ok else None
                if key in FETCH_METRICS:
                    r = s.get("vs_nginx", {}).get(key)
                line += " %7s" % fmt(r, ".2f")
        lines.append(line)

    row("fetches/s", "fetches_per_second", ".1f")
    row("server CPU ms/fetch", "server_cpu_ms_per_fetch", ".3f")
    row("  of which kernel", "server_sys_ms_per_fetch", ".3f")
    row("client CPU ms/fetch", "client_cpu_ms_per_fetch", ".3f")
    row("latency p50 ms", "p50_ms", ".2f")
    row("latency p99 ms", "p99_ms", ".2f")
    row("syscalls/fetch (strace)", "syscalls_per_fetch", ".1f")
    row("  of which epoll_ctl", "epoll_ctl_per_fetch", ".2f")
    row("RSS idle MB", "rss_idle_kb", ".2f", 1 / 1024)
    row("  of which anonymous MB", "rss_anon_idle_kb", ".2f", 1 / 1024)
    row("PSS idle MB", "pss_idle_kb", ".2f", 1 / 1024)
    row("RSS, conns open MB", "rss_conns_kb", ".2f", 1 / 1024)
    row("  connections handshaken", "connections_handshaken", ".0f", ratio_ok=False)
    row("  kB per connection", "kb_per_connection", ".1f")
    row("RSS idle after load MB", "rss_after_load_kb", ".2f", 1 / 1024)
    many = f.get("tcpip", {}).get("many")
    if many:
        for k, label in (("p50_ms", "p50"), ("p99_ms", "p99")):
            line = "%-30s" % ("%d clients at once, %s ms" % (many["clients"], label))
            for c in cols:
                m = f[c].get("many") if not f[c].get("skipped") else None
                line += " %11s" % fmt(m.get(k) if m else None, ".1f")
                if c != "nginx":
                    line += " %7s" % fmt(m.get("vs_nginx", {}).get(k) if m else None, ".2f")
            lines.append(line)
    row("ready ms (median)", "ready", ".1f", sub="median_ms")
    row("ready ms (max)", "ready", ".1f", sub="max_ms")
    rs = results.get("resumed")
    if rs:
        lines.append("%-30s" % "fetches (resumed handshake)" + "".join(
            " %11s" % heads[c] + (" %7s" % "x nginx" if c != "nginx" else "")
            for c in cols if c in rs))
        for key, label, spec in (("fetches_per_second", "fetches/s", ".1f"),
                                 ("server_cpu_ms_per_fetch", "server CPU ms/fetch", ".3f"),
                                 ("p99_ms", "latency p99 ms", ".2f")):
            line = "%-30s" % label
            for c in cols:
                if c not in rs:
                    continue
                line += " %11s" % fmt(rs[c].get(key), spec)
                if c != "nginx":
                    line += " %7s" % fmt(rs[c].get("vs_nginx", {}).get(key), ".2f")
            lines.append(line)
        line = "%-30s" % "  handshakes resumed"
        for c in cols:
            if c not in rs:
                continue
            n, r = rs[c].get("fetches") or 0, rs[c].get("resumed") or 0
            line += " %11s" % ("%.0f%%" % (100.0 * r / n) if n else "-")
            if c != "nginx":
                line += " %7s" % ""
        lines.append(line)
    cg = results.get("callgrind")
    if cg:
        line = "%-30s" % ("instructions/fetch (callgrind)")
        for c in cols:
            v = cg.get(c, {}).get("ir_per_fetch")
            line += " %11s" % (("%.3fM" % (v / 1e6)) if v else "-")
            if c != "nginx":
                line += " %7s" % fmt(cg.get(c, {}).get("vs_nginx"), ".3f")
        lines.append(line)
    ap = results.get("apdu")
    if ap:
        lines.append("%-30s %11s %9s %9s %9s %9s %9s" % (
            "APDUs via pcscd + vpcd", "APDUs/s", "x ceiling", "x vicc", "card us", "pcscd us",
            "client us"))
        for key in ("trivial", "scwsemu", "vicc", "vicc_quickack"):
            if key not in ap:
                continue
            c = ap[key]
            v = c.get("apdus_per_second")
            vs_t = 1.0 if key == "trivial" and v else c.get("vs_trivial", {}).get(
                "apdus_per_second")
            vs_v = 1.0 if key == "vicc" and v else c.get("vs_vicc", {}).get("apdus_per_second")
            lines.append("%-30s %11s %9s %9s %9s %9s %9s" % (
                c["label"], fmt(v, ".1f", "n/a"), fmt(vs_t, ".3f"), fmt(vs_v, ".1f"),
                fmt(c.get("card_cpu_us_per_apdu"), ".1f"),
                fmt(c.get("pcscd_cpu_us_per_apdu"), ".1f"),
                fmt(c.get("client_cpu_us_per_apdu"), ".1f")))
    elif results.get("apdu_skipped"):
        lines.append("APDUs via pcscd + vpcd: skipped (%s)" % results["apdu_skipped"])
    ol = results.get("other_load")
    if ol:
        lines.append("other work on the machine during the windows: median %.0f%%, max %.0f%% "
                     "of its CPU time" % (100 * ol["median"], 100 * ol["max"]))
    lines.append("x nginx, x ceiling, x vicc: median over rounds of the ratio within a round "
                 "(RSS, ready, instructions: ratio of the figures); us = CPU microseconds per "
                 "APDU")
    lines.append("targets%s:" % (" (smoke run: not meaningful)" if cfg.get("smoke") else ""))
    for t in results.get("targets", []):
        v = t["value"]
        state = "n/a" if t["met"] is None else ("met" if t["met"] else "MISSED")
        lines.append("  %-44s %10s %s %-6s %s" % (
            t["target"], fmt(v, ".2f" if t["unit"] != "/s" else ".0f"), t["op"],
            "%g%s" % (t["limit"], t["unit"]), state))
    for n in results.get("notes", []):
        lines.append("note: " + n.replace("\n", " | "))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--srcdir", default=os.path.join(os.path.dirname(__file__), ".."))
    ap.add_argument("--duration", type=float, default=2.0,
                    help="seconds per measured window (default 2)")
    ap.add_argument("--rounds", type=int, default=9, help="rounds (default 9)")
    ap.add_argument("--smoke", action="store_true",
                    help="a few seconds in all: checks the harness, prints the table")
    ap.add_argument("--concurrency", type=int, default=4,
                    help="scwsemu-fetch workers (default 4; the default card has 5 channels)")
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--many", type=int, default=1000, metavar="N",
                    help="clients at once for the many-clients latency (default 1000; 0: none)")
    ap.add_argument("--many-rounds", type=int, default=9,
                    help="rounds of the many-clients latency (default 9: its p99 swings "
                    "by 5x from round to round on a small machine, for both servers)")
    ap.add_argument("--strace", type=int, default=200, metavar="N",
                    help="system calls per fetch under strace -c over N fetches (default 200; "
                         "0: none)")
    ap.add_argument("--no-resumed", action="store_true",
                    help="no resumed-handshake windows")
    ap.add_argument("--json", help="default BUILDDIR/bench-results.json")
    ap.add_argument("--no-apdu", action="store_true", help="no pcscd, no PC/SC rows")
    ap.add_argument("--stop-foreign-pcscd", action="store_true",
                    help="stop a running pcscd that the harness did not start; restart it after")
    ap.add_argument("--callgrind", type=int, default=0, metavar="N",
                    help="also count instructions per fetch under callgrind over N fetches "
                         "(nginx, TCP/IP, BIP; profiles in BUILDDIR/bench-callgrind.*)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args(argv)
    if args.smoke:
        args.callgrind = min(args.callgrind, 20)
        args.duration = min(args.duration, 0.3)
        args.rounds = 1
        args.starts = min(args.starts, 3)
        args.many_rounds = 1
        args.strace = min(args.strace, 20)
    if args.duration <= 0 or args.rounds < 1 or args.concurrency < 1 or args.starts < 1:
        ap.error("--duration, --rounds, --concurrency and --starts must be positive")
    args.warmup = 20 if args.smoke else 100
    args.min_requests = 10 if args.smoke else 50
    args.apdu_duration = args.duration
    args.handshake_timeout = 1.0 if args.smoke else 3.0

    bench = Bench(args)
    results = bench.results
    results["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    results["command"] = " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:])
    results["config"] = {"duration": args.duration, "rounds": args.rounds, "smoke": args.smoke,
                         "concurrency": args.concurrency, "connections": args.connections,
                         "starts": args.starts}
    rc = 0
    # SIGTERM/SIGINT (make interrupted) still stop every process started.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        bench.run()
    except BenchError as e:
        log("FAILED: %s" % e)
        results["error"] = str(e)
        rc = 1
    except KeyboardInterrupt:
        log("interrupted")
        results["error"] = "interrupted"
        rc = 1
    finally:
        bench.cleanup()
        if rc and not args.keep:
            args.keep = True
        if args.keep:
            log("logs kept in %s" % bench.tmp)
        else:
            shutil.rmtree(bench.tmp, ignore_errors=True)
    results["notes"] = bench.notes
    loads = [m.get("other_load") for s in results.get("fetch", {}).values()
             for m in s.get("rounds", [])]
    loads += [m.get("other_load") for c in results.get("apdu", {}).values()
              if isinstance(c, dict) for m in c.get("rounds", [])]
    loads = [v for v in loads if v is not None]
    if loads:
        results["other_load"] = {"median": median(loads), "max": max(loads),
                                 "what": "share of the machine's CPU time taken by other "
                                         "processes during the measured windows"}
    add_ratios_and_targets(results)
    out = args.json or os.path.join(bench.builddir, "bench-results.json")
    with open(out, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
        f.write("\n")
    print(render_table(results))
    log("results in %s" % out)
    return rc


if __name__ == "__main__":
    sys.exit(main())
