"""slow_attack.py -- the slow-connection attack of issue 15, against the real
fieldsyncd on 127.0.0.1 with its default limits (256 connections, 32 per
address, 10 s to the request line, 15 s to the end of the header).

3,000 attacking connections from 60 loopback addresses (127.0.0.2 to
127.0.0.61) hold what they can: most finish the TLS handshake, send
"POST /v1/push" and then one header line every few seconds; some never
start the handshake (half-open); some send a whole header announcing a
large body and then trickle it a byte at a time.  Each reconnects when cut.
Meanwhile a real device (the fieldsync tool) records, pushes and pulls, and
a reviewer lists records, every couple of seconds; each must be answered
within 2 s (times the sanitizer factor).  Afterwards the daemon's open
descriptors come back to their level before the attack, and its log holds
the attackers' addresses but stays short (rate-limited).

Everything is on loopback; the attack stops by itself after ATTACK_S
seconds and every loop is bounded.
"""

import asyncio
import os
import resource
import ssl
import subprocess
import threading
import time

from fsharness import Client, Daemon, Device, Failure, Run, check, log, query

ATTACKERS = 3000
ADDRESSES = 60
ATTACK_S = 40.0
LEGIT_FROM_S = 8.0   # the attack holds the slots by then
LEGIT_EVERY_S = 2.0
ANSWER_S = 2.0       # the bound, per request (times run.slow)


class Attack:
    """The attackers: one asyncio loop in a thread of its own."""

    def __init__(self, run, port, seed):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=run.cert)
        self.ctx.check_hostname = False
        self.seed = seed
        self.open = 0          # connections held now
        self.peak = 0
        self.connects = 0
        self.failed = 0
        self.stop_at = 0.0
        self.thread = None

    def held(self, d):
        self.open += d
        self.peak = max(self.peak, self.open)

    async def one(self, i, addr, kind):
        import random
        rng = random.Random(self.seed * 100003 + i)
        await asyncio.sleep(rng.uniform(0, 3))  # not all in the same millisecond
        while time.monotonic() < self.stop_at:
            w = None
            try:
                if kind == "half":
                    r, w = await asyncio.wait_for(asyncio.open_connection(
                        "127.0.0.1", self.port, local_addr=(addr, 0)), 20)
                else:
                    r, w = await asyncio.wait_for(asyncio.open_connection(
                        "127.0.0.1", self.port, ssl=self.ctx, local_addr=(addr, 0),
                        server_hostname="localhost", ssl_handshake_timeout=20), 25)
                self.connects += 1
                self.held(1)
                try:
                    if kind == "body":
                        w.write(b"POST /v1/push HTTP/1.1\r\nHost: localhost\r\n"
                                b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
                    elif kind == "trickle":
                        w.write(b"POST /v1/push HTTP/1.1\r\nHost: localhost\r\n")
                    await w.drain()
                    while time.monotonic() < self.stop_at:
                        try:
                            data = await asyncio.wait_for(r.read(4096), rng.uniform(2, 5))
                            if not data:
                                break  # cut by the server
                        except asyncio.TimeoutError:
                            if kind == "trickle":
                                w.write(b"X-Pad-%d: a\r\n" % rng.randrange(1000))
                            elif kind == "body":
                                w.write(b"{")
                            await w.drain()
                finally:
                    self.held(-1)
            except (OSError, asyncio.TimeoutError, ssl.SSLError, EOFError):
                self.failed += 1
            finally:
                if w is not None:
                    w.transport.abort()
            await asyncio.sleep(rng.uniform(0.2, 1.0))

    async def main(self):
        tasks = []
        for i in range(ATTACKERS):
            addr = f"127.0.0.{2 + i % ADDRESSES}"
            kind = "half" if i % 10 == 0 else "body" if i % 20 == 1 else "trickle"
            tasks.append(asyncio.ensure_future(self.one(i, addr, kind)))
        await asyncio.gather(*tasks, return_exceptions=True)

    def start(self):
        self.stop_at = time.monotonic() + ATTACK_S
        self.thread = threading.Thread(target=lambda: asyncio.run(self.main()), daemon=True)
        self.thread.start()

    def join(self):
        self.thread.join(ATTACK_S + 60)
        check(not self.thread.is_alive(), "the attack did not stop by itself")


def fds(pid):
    """The daemon's descriptors: (sockets, the targets of the others).

    Sockets are what an attack could leak.  Files are the store's: a worker
    opens its store connection (database, WAL, shared memory) on its first
    request, and the workers that first served a request during the attack
    open theirs then, which is no leak."""
    socks, files = 0, []
    d = f"/proc/{pid}/fd"
    for n in os.listdir(d):
        try:
            t = os.readlink(f"{d}/{n}")
        except OSError:  # closed meanwhile
            continue
        if t.startswith("socket:"):
            socks += 1
        else:
            files.append(t)
    return socks, files


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as fp:
        for line in fp:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def scenario_slow_attack(args, rng):
    run = Run(args, "slow-attack")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = ATTACKERS + 512
    if soft < need:
        check(hard >= need, f"the attack needs {need} descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    try:
        run.make_cert()
        d = Daemon(run)
        d.publish_forms()
        dev = Device(run, "legit")
        d.add_device(dev.name)
        rev = d.add_device("rev", role="reviewer", team="hq")
        d.admin("device", "teams", "rev", "--all-teams")
        dev.init()
        d.start()
        cl = Client(run, d.port, timeout=30)
        bound = ANSWER_S * run.slow

        def review_list():
            t0 = time.monotonic()
            try:
                st, _, js = cl.request("GET", "/v1/review/records?limit=5", token=rev)
            except (OSError, ssl.SSLError) as e:  # a timeout too
                raise Failure(f"the reviewer's list got no answer: {e!r}"
                              f" after {time.monotonic() - t0:.1f} s")
            return st, time.monotonic() - t0, js

        def device_round(seed):
            dev.add(2, seed, edit=1, delete=0)
            t0 = time.monotonic()
            r = dev.sync(d.url, attempts=1, timeout=120)
            return r, time.monotonic() - t0

        # Before: every worker has served requests (its store connection is open).
        for i in range(40):
            st, _, _ = review_list()
            check(st == 200, f"review list before the attack: {st}")
        r, _ = device_round(rng.getrandbits(48))
        check(r.returncode == 0, f"sync before the attack: {r.stderr[-300:]}")
        pid = d.proc.pid
        (socks0, files0), rss0 = fds(pid), rss_kib(pid)
        lines0 = d.log_text().count("\n")

        attack = Attack(run, d.port, rng.getrandbits(32))
        attack.start()
        t_start = time.monotonic()
        time.sleep(LEGIT_FROM_S)
        lists, syncs, worst_list, worst_sync, held = [], [], 0.0, 0.0, []
        while time.monotonic() - t_start < ATTACK_S - LEGIT_EVERY_S:
            held.append(attack.open)
            st, dt, js = review_list()
            check(st == 200 and js is not None and "records" in js,
                  f"the reviewer's list during the attack: HTTP {st}")
            check(dt <= bound, f"the reviewer's list took {dt:.2f} s during the attack"
                               f" (bound {bound:.1f} s)")
            lists.append(dt)
            r, dt = device_round(rng.getrandbits(48))
            check(r.returncode == 0, f"the device's sync during the attack failed:"
                                     f" {r.stderr.strip()[-300:]}")
            # A sync is three requests (forms, push, pull) on one connection.
            check(dt <= 3 * bound, f"the device's sync took {dt:.2f} s during the attack"
                                   f" (bound {3 * bound:.1f} s)")
            syncs.append(dt)
            time.sleep(LEGIT_EVERY_S)
        check(dev.pending() == 0, f"{dev.pending()} changes still pending after the attack")
        attack.join()
        t_attack = time.monotonic() - t_start
        check(attack.peak >= 200, f"the attack held at most {attack.peak} connections at once:"
                                  " it never pressed on the 256 slots")

        # After: descriptors back to their level.
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30 * run.slow and fds(pid)[0] > socks0:
            time.sleep(0.2)
        (socks1, files1), rss1 = fds(pid), rss_kib(pid)
        recovery = time.monotonic() - t0
        check(socks1 <= socks0, f"the daemon holds {socks1} sockets after the attack, {socks0} before")
        strange = sorted({f for f in files1 if f not in files0 and not f.startswith((d.data, os.path.realpath(d.data)))})
        check(not strange, f"the daemon opened files other than its store's during the attack: {strange}")
        # At most the 4 workers' store connections (database, WAL, shared memory).
        check(len(files1) <= len(files0) + 4 * 3,
              f"the daemon holds {len(files1)} files after the attack, {len(files0)} before")
        fds0, fds1 = socks0 + len(files0), socks1 + len(files1)
        if not run.asan:  # the sanitizer's quarantine keeps freed memory on purpose
            check(rss1 <= rss0 + 16 * 1024, f"the daemon's memory grew from {rss0} KiB to"
                                            f" {rss1} KiB and stayed")
        st, dt, _ = review_list()
        check(st == 200, "the reviewer's list after the attack")

        text = d.log_text()
        lines = text.count("\n") - lines0
        addrs = {l.split("from ", 1)[1].split(":")[0] for l in text.splitlines()
                 if "Closed the connection from 127.0.0." in l or
                 "Refused a connection from 127.0.0." in l}
        check(len(addrs) > 0, "no cut or refused connection was logged with its address")
        check("not logged" in text, "the guard's log lines were not rate-limited")
        # Per 10 s window: 10 lines a kind (4 kinds) and one summary each, plus the requests.
        legit_requests = 40 + 4 * (len(lists) + len(syncs)) + 10
        cap = (int(t_attack / 10) + 2) * 4 * 11 + legit_requests * 2
        check(lines <= cap, f"the log grew by {lines} lines during the attack (cap {cap})")
        d.stop()
        lists.sort()
        syncs.sort()
        log(f"fault: slow-attack: {ATTACKERS} slow connections from {ADDRESSES} addresses"
            f" for {t_attack:.0f} s ({attack.connects} connections made, peak {attack.peak} held,"
            f" median {sorted(held)[len(held) // 2]}); reviewer list during it: {len(lists)}"
            f" answered, median {lists[len(lists) // 2]:.2f} s, worst {lists[-1]:.2f} s;"
            f" device sync (push+pull): {len(syncs)} done, median {syncs[len(syncs) // 2]:.2f} s,"
            f" worst {syncs[-1]:.2f} s; descriptors {fds0} before, {fds1} after"
            f" ({recovery:.1f} s to recover); RSS {rss0 // 1024} MiB before,"
            f" {rss1 // 1024} MiB after; {lines} log lines, {len(addrs)} attacking addresses named")
    except BaseException:
        run.close(keep=True)
        import sys
        print(f"fault: slow-attack: kept {run.dir}", file=sys.stderr)
        raise
    run.close()
