#!/usr/bin/env python3
"""fault.py -- the fault-injection suite (docs/RELIABILITY.md).

usage: fault.py SCENARIO --daemon FIELDSYNCD --cli FIELDSYNC --dev FAULT-DEV
                --src SOURCE_ROOT [--long] [--seed N]

SCENARIO is one of:
  daemon-kill  kill -9 fieldsyncd at random moments while three devices push
  client-kill  kill -9 `fieldsync sync` in the middle of a push or a pull
  proxy        a TCP proxy that drops, delays, truncates and resets connections
  disk-full    the server's and a device's store hit a file-size limit
  clock        device clocks days off, a year ahead, jumping backwards
  slow-attack  3,000 slow connections from 60 addresses while a device and a
               reviewer work (slow_attack.py)
  multi-daemon three daemons on one PostgreSQL store behind a round-robin
               proxy, one killed at random each round (multi_daemon.py)

Each prints one summary line starting with "fault: SCENARIO:" with its counts
and exits 0, or prints "FAIL: ..." and exits 1 (keeping its temporary
directory).  Quick mode (the default, CI) is sized to a minute or two even
under AddressSanitizer; --long (or FS_FAULT_LONG=1) runs ten times as many
rounds.  A seed (--seed, or FS_FAULT_SEED) repeats a run's random choices.
Everything is on 127.0.0.1; every loop is bounded in rounds and in time.
"""

import argparse
import asyncio
import json
import os
import random
import re
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fsharness import (Client, Daemon, Device, Failure, PgDb, Run, check, converge,  # noqa: E402
                       faketime_lib, hlc_text, integrity, log, main_wrapper,
                       pushed_not_on_server, query, rand_hex, sanitizer_report,
                       server_duplicates, state, table_hash, verify_devices)
from slow_attack import scenario_slow_attack  # noqa: E402
from multi_daemon import scenario_multi_daemon  # noqa: E402


def sync_all(devs, url, what, rounds=4, attempts=6):
    """Syncs every device until nothing is pending, then once more so each pulls all."""
    for _ in range(rounds):
        for d in devs:
            r = d.sync(url, attempts=attempts)
            check(r.returncode == 0, f"{what}: sync of {d.name} failed: {r.stderr.strip()[-400:]}")
        if all(d.pending() == 0 for d in devs):
            break
    for d in devs:
        r = d.sync(url, attempts=attempts)
        check(r.returncode == 0, f"{what}: final sync of {d.name} failed: {r.stderr[-400:]}")


def wait_for_line(procs, pattern, timeout):
    """Waits until one of procs prints a stderr line matching pattern; True if seen."""
    sel = selectors.DefaultSelector()
    for p in procs:
        os.set_blocking(p.stderr.fileno(), False)
        sel.register(p.stderr, selectors.EVENT_READ, p)
    bufs = {p.pid: b"" for p in procs}
    wait_for_line.seen = bufs
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and sel.get_map():
            for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
                p = key.data
                try:
                    chunk = os.read(p.stderr.fileno(), 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                bufs[p.pid] += chunk
                if re.search(pattern, bufs[p.pid]):
                    return True
    finally:
        sel.close()
    return False


def drain(procs, timeout):
    """Waits for processes to exit; fails on a sanitizer report in their stderr."""
    codes = []
    seen = getattr(wait_for_line, "seen", {})
    for p in procs:
        try:
            _, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise Failure(f"a sync did not end within {timeout:.0f} s after the daemon died")
        rep = sanitizer_report(seen.get(p.pid, b"") + (err or b""))
        check(rep is None, f"fieldsync sync: {rep}")
        codes.append(p.returncode)
    return codes


def file_size_limit(nbytes):
    """A preexec_fn: writes past nbytes in any file fail (EFBIG), like a full
    disk, instead of killing the process (SIGXFSZ ignored)."""
    def limit():
        import resource
        import signal as sig
        sig.signal(sig.SIGXFSZ, sig.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return limit


# --- (a) kill -9 the daemon while several devices push ------------------------


def scenario_daemon_kill(args, rng):
    run = Run(args, "daemon-kill")
    kills = args.rounds or 100 * (10 if args.long else 1)
    ndev, topup, batch = 3, 36, 4
    try:
        run.make_cert()
        d = Daemon(run)
        d.publish_forms()
        devs = [Device(run, f"k{i}") for i in range(ndev)]
        for dev in devs:
            d.add_device(dev.name)
            dev.init()
        d.start()
        inflight = committed_rounds = 0
        last_seq = 0
        max_delay = 0.06 * run.slow
        for k in range(kills):
            for i, dev in enumerate(devs):
                if dev.pending() < topup // 2:
                    dev.add(topup, rng.getrandbits(48), edit=45, delete=2)
            procs = [run.spawn(dev.sync_cmd(d.url, attempts=1, batch=batch, quiet=False),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                     for dev in devs]
            # Kill once the first push is on its way, at a random moment after.
            wait_for_line(procs, rb"push: ", 20 * run.slow)
            time.sleep(rng.uniform(0, max_delay))
            if any(p.poll() is None for p in procs):
                inflight += 1
            d.kill9()
            drain(procs, 60 * run.slow)
            ic = integrity(d.db)
            check(ic == ["ok"], f"kill {k + 1}: integrity_check after kill -9: {ic[:3]}")
            for dev in devs:
                n = pushed_not_on_server(dev.db, d.db)
                check(n == 0, f"kill {k + 1}: {dev.name} marked {n} changes sent that the"
                              " server does not hold")
            seq = query(d.db, "SELECT coalesce(max(seq), 0) FROM changes")[0][0]
            committed_rounds += seq > last_seq
            last_seq = seq
            if k % 10 == 9:
                check(server_duplicates(d.db) == 0, f"kill {k + 1}: duplicated changes")
            d.start()
        sync_all(devs, d.url, "after the last kill")
        n = verify_devices(devs, d.db, "daemon-kill")
        converge(devs, d.db, "daemon-kill")
        d.stop()
        log(f"fault: daemon-kill: {kills} kills survived ({inflight} with a sync in flight,"
            f" {committed_rounds} after new commits), {n} changes verified, 0 lost,"
            f" 0 duplicated, integrity ok, {run.elapsed():.1f} s")
    except BaseException:
        run.close(keep=True)
        print(f"fault: daemon-kill: kept {run.dir}", file=sys.stderr)
        raise
    run.close()


# --- (b) kill -9 the client in the middle of sync ------------------------------


def pull_cursor_ok(dev, server_db):
    """Every change up to the device's cursor is merged on it (page and cursor together)."""
    cur = query(dev.db, "SELECT value FROM meta WHERE key = 'pull_cursor'")
    cursor = int(cur[0][0]) if cur else 0
    if isinstance(server_db, PgDb):
        srv = query(server_db, "SELECT record_id, hlc FROM changes WHERE seq <= ?"
                               " AND body LIKE '%\"upsert\"%'", (cursor,))
        merged = set(query(dev.db, "SELECT record_id, stamp FROM merged"))
        return cursor, sum(1 for x in srv if tuple(x) not in merged)
    con = __import__("fsharness").connect(dev.db)
    try:
        con.execute("ATTACH DATABASE ? AS srv", (server_db,))
        missing = con.execute(
            "SELECT count(*) FROM srv.changes s WHERE s.seq <= ? AND s.body LIKE '%\"upsert\"%'"
            " AND NOT EXISTS (SELECT 1 FROM merged w WHERE w.record_id = s.record_id"
            " AND w.stamp = s.hlc)", (cursor,)).fetchone()[0]
    finally:
        con.close()
    return cursor, missing


def scenario_client_kill(args, rng):
    run = Run(args, "client-kill")
    kills = args.rounds or 100 * (10 if args.long else 1)
    try:
        run.make_cert()
        d = Daemon(run)
        d.publish_forms()
        a, b = Device(run, "pusher"), Device(run, "puller")
        for dev in (a, b):
            d.add_device(dev.name)
            dev.init()
        d.start()
        push_kills = pull_kills = other = 0
        est_pull = 0.15 * run.slow  # how long the puller's whole sync takes
        k = rounds = 0
        while k < kills:
            rounds += 1
            check(rounds <= 2 * kills, "client-kill: too many rounds")
            pulling = rounds % 4 == 0
            measure = pulling and rounds % 20 == 0
            dev = b if pulling else a
            if a.pending() < 30:
                a.add(40, rng.getrandbits(48), edit=40, delete=2)
            if pulling and rng.random() < 0.5:
                b.add(6, rng.getrandbits(48), edit=80, delete=0)
            t0 = time.monotonic()
            p = run.spawn(dev.sync_cmd(d.url, attempts=2, batch=3, quiet=False),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if measure:
                # Now and then the puller's sync runs to the end: its length
                # sets the range the kills of the next pulls are drawn from.
                drain([p], 120 * run.slow)
                est_pull = max(0.02, time.monotonic() - t0)
                continue
            if pulling:
                seen = True
                time.sleep(rng.uniform(0, 1.2 * est_pull))
            else:
                seen = wait_for_line([p], rb"push: ", 20 * run.slow)
                time.sleep(rng.uniform(0, 0.05 * run.slow))
            alive = p.poll() is None
            p.kill()
            drain([p], 30)
            k += 1
            if alive and seen:
                if pulling:
                    pull_kills += 1
                else:
                    push_kills += 1
            else:
                other += 1
            for x in (a, b):
                ic = integrity(x.db)
                check(ic == ["ok"], f"kill {k}: {x.name} integrity_check: {ic[:3]}")
                n = pushed_not_on_server(x.db, d.db)
                check(n == 0, f"kill {k}: {x.name} marked {n} changes sent without the"
                              " server holding them")
                cursor, missing = pull_cursor_ok(x, d.db)
                check(missing == 0, f"kill {k}: {x.name} cursor {cursor} is past"
                                    f" {missing} changes it never merged")
            check(server_duplicates(d.db) == 0, f"kill {k}: a change was applied twice")
        sync_all([a, b], d.url, "after the last kill")
        n = verify_devices([a, b], d.db, "client-kill")
        converge([a, b], d.db, "client-kill")
        replays = d.log_text().count('"POST /v1/push" 200') - \
            len(re.findall(r"push \S+: device \S+ batch", d.log_text()))
        d.stop()
        log(f"fault: client-kill: {kills} kills survived ({push_kills} mid-push,"
            f" {pull_kills} of the pulling device mid-sync, {other} before or after), {replays} batches re-sent"
            f" and answered from the batch table, {n} changes verified, 0 lost,"
            f" 0 duplicated, {run.elapsed():.1f} s")
    except BaseException:
        run.close(keep=True)
        print(f"fault: client-kill: kept {run.dir}", file=sys.stderr)
        raise
    run.close()


# --- (c) a proxy that drops, delays, truncates and resets ----------------------

MODES = ["pass", "delay", "drop", "blackhole", "oneway", "trunc_req", "trunc_resp", "lose_reply",
         "reset"]


class FaultProxy:
    """A TCP proxy on 127.0.0.1 that breaks a share of its connections."""

    def __init__(self, target_port, rng, fault_rate, hold=0.8):
        self.target = target_port
        self.rng = rng
        self.rate = fault_rate
        self.hold = hold
        self.counts = {m: 0 for m in MODES}
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.thread.start()
        check(self.ready.wait(10), "proxy did not start")

    def _main(self):
        asyncio.set_event_loop(self.loop)

        async def start():
            self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            self.ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def stop(self):
        async def shut():
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def pick(self):
        if self.rng.random() >= self.rate:
            return "pass"
        return self.rng.choice(MODES[1:])

    @staticmethod
    def rst(writer):
        sock = writer.get_extra_info("socket")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        writer.transport.abort()

    async def pump(self, reader, writer, limit=None, delay=False, swallow=False, chunks=None,
                   mute=None):
        sent = 0
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                if chunks is not None:
                    chunks[0] += 1
                if mute is not None and mute[0] >= 2:
                    # lose_reply: the client has sent its request; everything
                    # the server says from now on is lost.
                    continue
                if delay:
                    await asyncio.sleep(self.rng.uniform(0.02, 0.3))
                if limit is not None and sent + len(data) >= limit:
                    if not swallow:
                        writer.write(data[:max(0, limit - sent)])
                        await writer.drain()
                    return True
                if not swallow:
                    writer.write(data)
                    await writer.drain()
                sent += len(data)
        except (ConnectionError, OSError):
            pass
        return False

    async def handle(self, creader, cwriter):
        mode = self.pick()
        self.counts[mode] += 1
        try:
            if mode == "drop":
                cwriter.close()
                return
            if mode == "blackhole":
                try:
                    await asyncio.wait_for(creader.read(65536), self.hold)
                except asyncio.TimeoutError:
                    pass
                await asyncio.sleep(self.hold)
                cwriter.close()
                return
            sreader, swriter = await asyncio.open_connection("127.0.0.1", self.target)
            cut = self.rng.randint(100, 4000)
            up_kw, down_kw = {}, {}
            if mode == "delay":
                up_kw = down_kw = {"delay": True}
            elif mode == "trunc_req":
                up_kw = {"limit": cut}
            elif mode == "trunc_resp":
                down_kw = {"limit": cut}
            elif mode == "oneway":
                down_kw = {"limit": 0, "swallow": True}
            elif mode == "reset":
                down_kw = {"limit": cut}
            elif mode == "lose_reply":
                flights = [0]
                up_kw = {"chunks": flights}
                down_kw = {"mute": flights}
            up = asyncio.ensure_future(self.pump(creader, swriter, **up_kw))
            down = asyncio.ensure_future(self.pump(sreader, cwriter, **down_kw))
            if mode in ("oneway", "lose_reply"):
                # The request goes through; no answer comes back for a while.
                await asyncio.wait([up], timeout=self.hold)
                await asyncio.sleep(self.hold)
            else:
                await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED,
                                   timeout=60)
            if mode == "reset":
                self.rst(cwriter)
                self.rst(swriter)
            up.cancel()
            down.cancel()
            for w in (cwriter, swriter):
                try:
                    w.close()
                except (ConnectionError, OSError):
                    pass
        except (ConnectionError, OSError):
            try:
                cwriter.close()
            except (ConnectionError, OSError):
                pass


def scenario_proxy(args, rng):
    run = Run(args, "proxy")
    rounds = args.rounds or 12 * (10 if args.long else 1)
    proxy = None
    try:
        run.make_cert()
        d = Daemon(run)
        d.publish_forms()
        # Sealed values through cuts, replays and conflicts (issue 17).
        d.create_seal_key()
        devs = [Device(run, f"p{i}") for i in range(3)]
        for dev in devs:
            d.add_device(dev.name)
            dev.init()
        d.start()
        proxy = FaultProxy(d.port, random.Random(rng.getrandbits(64)), fault_rate=0.5)
        url = f"https://127.0.0.1:{proxy.port}"
        syncs = 0
        for r in range(rounds):
            for dev in devs:
                dev.add(12, rng.getrandbits(48), edit=50, delete=2)
            procs = [run.spawn(dev.sync_cmd(url, attempts=20, batch=5), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for dev in devs]
            for dev, p in zip(devs, procs):
                try:
                    _, err = p.communicate(timeout=600)
                except subprocess.TimeoutExpired:
                    p.kill()
                    raise Failure(f"round {r + 1}: sync of {dev.name} through the proxy hung")
                rep = sanitizer_report(err)
                check(rep is None, f"fieldsync sync: {rep}")
                check(p.returncode == 0, f"round {r + 1}: sync of {dev.name} through the proxy"
                                         f" failed: {err.strip()[-400:]}")
                syncs += 1
            check(server_duplicates(d.db) == 0, f"round {r + 1}: duplicated changes")
            for dev in devs:
                check(pushed_not_on_server(dev.db, d.db) == 0,
                      f"round {r + 1}: {dev.name} marked changes sent the server lacks")
        # Heal the link: one more sync each, straight to the daemon.
        sync_all(devs, d.url, "after the proxy")
        n = verify_devices(devs, d.db, "proxy")
        converge(devs, d.db, "proxy")
        sealed = query(d.db, "SELECT count(*) FROM changes WHERE body LIKE '%\"sealed\":%'")[0][0]
        check(sealed > 0, "no change carried a sealed value: the devices never sealed")
        text = d.log_text()
        replays = text.count('"POST /v1/push" 200') - \
            len(re.findall(r"push \S+: device \S+ batch", text))
        proxy.stop()
        proxy_counts = proxy.counts
        proxy = None
        d.stop()
        total = sum(proxy_counts.values())
        faults = total - proxy_counts["pass"]
        detail = ", ".join(f"{m} {proxy_counts[m]}" for m in MODES[1:])
        log(f"fault: proxy: {rounds} rounds, {syncs} syncs converged over {total} connections"
            f" ({faults} broken: {detail}), {replays} batches answered again after a lost"
            f" answer, {n} changes verified ({sealed} carrying sealed values), 0 lost,"
            f" 0 duplicated, {run.elapsed():.1f} s")
    except BaseException:
        if proxy is not None:
            proxy.stop()
        run.close(keep=True)
        print(f"fault: proxy: kept {run.dir}", file=sys.stderr)
        raise
    run.close()


# --- (d) disk full -------------------------------------------------------------


def file_sizes(data):
    return sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data)
               if f.startswith("fieldsyncd.db"))


def scenario_disk_full(args, rng):
    run = Run(args, "disk-full")
    cases = 0
    try:
        run.make_cert()
        d = Daemon(run)
        d.publish_forms()
        a, b = Device(run, "full-a"), Device(run, "full-b")
        for dev in (a, b):
            d.add_device(dev.name)
            dev.init()
        d.start()
        a.add(40, rng.getrandbits(48), notes=300)
        sync_all([a, b], d.url, "before the disk fills")
        d.stop()  # checkpoints and removes the WAL
        before = table_hash(d.db)
        # The server's files may grow by at most 48 KiB: a large batch cannot fit
        # (one batch of all 300, not the small first batches a field link gets).
        limit = file_sizes(d.data) + 48 * 1024
        d.start(fsize_limit=limit)
        a.add(300, rng.getrandbits(48), notes=6000, edit=20, delete=0)
        pend = a.pending()
        refused = 0
        for attempt in range(3):
            r = a.sync(d.url, attempts=2, batch=300, extra=("--batch-bytes", str(8 << 20)))
            check(r.returncode != 0, "a push past the file-size limit succeeded")
            check(re.search(r"HTTP 50[07]", r.stderr) is not None,
                  f"a push on a full disk did not get a 5xx: {r.stderr.strip()[-300:]}")
            refused += 1
        check(a.pending() == pend, f"the device lost pending changes: {pend} -> {a.pending()}")
        check(query(a.db, "SELECT count(*) FROM changelog WHERE rejected IS NOT NULL")[0][0] == 0,
              "changes were marked refused for good after a 5xx")
        check(d.proc.poll() is None, "fieldsyncd died when its disk filled")
        cl = Client(run, d.port)
        st, _, js = cl.request("GET", "/v1/health")
        check(st == 200, "health failed while the disk is full")
        tok_b = open(b.token_file).read().strip()
        st, _, js = cl.request("GET", "/v1/pull?after=0", token=tok_b)
        check(st == 200, f"pull failed while the disk is full: {st}")
        check(table_hash(d.db) == before, "a refused push changed the server's tables")
        check(integrity(d.db) == ["ok"], "server store damaged by the full disk")
        cases += 1
        log_full = d.log_text()
        d.kill9()
        # Space is back: everything arrives, once.
        d.start()
        sync_all([a, b], d.url, "after the disk was freed")
        n = verify_devices([a, b], d.db, "disk-full")
        converge([a, b], d.db, "disk-full")
        cases += 1

        # The device's own disk full while saving and while applying a pull.
        b_before = table_hash(b.db)
        b_before_nometa = table_hash(b.db, exclude=("meta",))
        cursor_sql = "SELECT key, value FROM meta WHERE key IN ('pull_cursor', 'cursor_hlc'," \
            " 'acked_seq', 'acked_hlc', 'hlc_last') ORDER BY key"
        b_cursor = query(b.db, cursor_sql)
        # The device's WAL (which starts empty when the store is opened) may
        # hold 64 KiB, then 12 KiB: less than the page or the record needs.

        a.add(200, rng.getrandbits(48), notes=4000, edit=0, delete=0)
        sync_all([a], d.url, "device disk full: pusher")
        r = subprocess.run(b.sync_cmd(d.url, attempts=1), capture_output=True, text=True,
                           timeout=120 * run.slow, env=run.env,
                           preexec_fn=file_size_limit(64 * 1024))
        check(r.returncode != 0, "a pull onto a full device disk succeeded")
        check(integrity(b.db) == ["ok"], "device store damaged by a full disk during pull")
        # (The sync notes when it began, before its pull: that row may differ.)
        check(table_hash(b.db, exclude=("meta",)) == b_before_nometa and
              query(b.db, cursor_sql) == b_cursor,
              "a pull that failed on a full disk changed the device")
        b_before = table_hash(b.db)
        cases += 1
        big = run.path("big.json")
        with open(big, "w") as fp:
            json.dump({"worksite_name": "Full disk site", "sector": "mining",
                       "inspection_date": "2026-11-20", "referral_decision": "none",
                       "interview_notes": "x" * 19000}, fp)
        r = subprocess.run([run.cli_bin, "--db", b.db, "record", "new", "labor_inspection",
                            "--json", big], capture_output=True, text=True,
                           timeout=60 * run.slow, env=run.env,
                           preexec_fn=file_size_limit(12 * 1024))
        check(r.returncode != 0, "a save onto a full device disk reported success")
        check(integrity(b.db) == ["ok"], "device store damaged by a full disk during a save")
        check(table_hash(b.db) == b_before, "a save that failed on a full disk changed the device")
        cases += 1
        # And with space back, the device catches up.
        sync_all([a, b], d.url, "device disk freed")
        n = verify_devices([a, b], d.db, "disk-full (device)")
        converge([a, b], d.db, "disk-full (device)")
        d.stop()
        status = "507" if '" 507 ' in log_full or "store_full" in log_full else "500"
        log(f"fault: disk-full: {cases} cases passed; server push refused {refused} times"
            f" (HTTP {status}) with {pend} changes kept pending, tables unchanged, then"
            f" {n} changes verified once space was back, 0 lost, 0 duplicated;"
            f" device save and pull on a full disk failed cleanly, {run.elapsed():.1f} s")
    except BaseException:
        run.close(keep=True)
        print(f"fault: disk-full: kept {run.dir}", file=sys.stderr)
        raise
    run.close()


# --- (e) skewed and jumping device clocks ----------------------------------------


def monotonic_stamps(dev):
    rows = query(dev.db, "SELECT hlc FROM changelog ORDER BY seq")
    prev = ""
    for (h,) in rows:
        if h <= prev:
            return False, len(rows)
        prev = h
    return True, len(rows)


def pin_of(run):
    pub = subprocess.run(["openssl", "x509", "-in", run.cert, "-pubkey", "-noout"],
                         capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                         capture_output=True, check=True).stdout
    import base64
    import hashlib
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def scenario_clock(args, rng):
    run = Run(args, "clock")
    lib = faketime_lib()
    check(lib is not None, "libfaketime is not installed (scripts/deps.sh test installs"
                           " the Debian package faketime)")
    try:
        # Valid from 400 days ago for 1000 days: skewed devices can still do TLS.
        run.make_cert(backdate="-400d", days=1000)
        d = Daemon(run)
        d.publish_forms()
        skews = {"behind3d": "-3d", "ahead2d": "+2d", "ahead1y": "+365d", "honest": None,
                 "jumpy": None}
        devs = {n: Device(run, n) for n in skews}
        envs = {}
        timefile = run.path("jumpy.time")
        for name, skew in skews.items():
            env = dict(run.env)
            if skew is not None or name == "jumpy":
                env["LD_PRELOAD"] = lib
                env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
                if name == "jumpy":
                    env["FAKETIME_TIMESTAMP_FILE"] = timefile
                    env["FAKETIME_NO_CACHE"] = "1"
                    with open(timefile, "w") as fp:
                        fp.write("+0\n")
                else:
                    env["FAKETIME"] = skew
            envs[name] = env
            d.add_device(name)
            devs[name].init(env=env)
        d.start()
        order = list(devs)
        # 1. Everyone records before its first sync (the devices ahead stamp
        # a year or two days into the future); the honest device syncs first.
        for name in order:
            devs[name].add(8 if name == "honest" else 3, rng.getrandbits(48), edit=0, delete=0,
                           env=envs[name])
        ahead_before = query(devs["ahead1y"].db, "SELECT max(hlc) FROM changelog")[0][0]
        check(int(ahead_before[:16], 16) >> 16 > time.time() * 1000 + 300 * 86400000,
              "the device a year ahead did not stamp a year ahead (libfaketime not working?)")

        def sync(name, what):
            r = devs[name].sync(d.url, attempts=3, env=envs[name])
            check(r.returncode == 0, f"{what}: sync of {name} failed: {r.stderr.strip()[-400:]}")

        for name in ["honest"] + order:
            sync(name, "first sync")
        # 2. Everyone edits the same records under its own clock; jumpy's clock
        # jumps back and forth by days between saves, inside one process.
        jumps = "+0,-2d,+1h,-10d,+30m,-1d,+3d,-40d"
        for name in order:
            if name == "jumpy":
                devs[name].add(24, rng.getrandbits(48), edit=90, delete=0, timefile=timefile,
                               times=jumps, env=envs[name])
            else:
                devs[name].add(10, rng.getrandbits(48), edit=80, delete=0, env=envs[name])
        # 3. A stamp a year ahead, pushed directly: 409 clock_ahead, nothing applied.
        tok = d.add_device("direct")
        cl = Client(run, d.port)
        dev_id = rand_hex(16, rng)
        now = int(time.time() * 1000)
        ch = {"id": rand_hex(32, rng), "form": "labor_inspection",
              "form_version": run.form_version(),
              "op": "upsert", "hlc": hlc_text(now + 365 * 86400000, 0, dev_id),
              "fields": {"worksite_name": "Year ahead", "sector": "mining",
                         "inspection_date": "2026-11-20", "referral_decision": "none"},
              "base": {}}
        h0 = table_hash(d.db)
        st, _, js = cl.push(tok, {"device": dev_id, "batch": "ahead-1", "changes": [ch]})
        check(st == 409 and js and js.get("error") == "clock_ahead"
              and isinstance(js.get("server_time_ms"), (int, float))
              and js.get("max_ahead_ms") == 300000,
              f"a stamp a year ahead got {st} {js}")
        check(abs(js["server_time_ms"] - now) < 600000, "server_time_ms is not the server clock")
        check(table_hash(d.db) == h0, "a refused clock_ahead batch changed the store")
        # 4. Sync in two different orders: everything goes through, re-stamped.
        for name in order:
            sync(name, "second sync")
        for name in reversed(order):
            sync(name, "third sync")
        for name in order:
            sync(name, "fourth sync")
        srv_max = query(d.db, "SELECT max(substr(hlc, 1, 16)) FROM changes")[0][0]
        srv_ms = int(srv_max, 16) >> 16
        check(srv_ms <= int(time.time() * 1000) + 300000,
              "the server holds a stamp further ahead than max_clock_ahead_ms")
        restamped = query(devs["ahead1y"].db,
                          "SELECT count(*) FROM changelog WHERE device_hlc IS NOT NULL")[0][0]
        check(restamped > 0, "the device a year ahead kept its stamps (no re-stamp)")
        check(ahead_before > query(devs["ahead1y"].db, "SELECT max(hlc) FROM changelog")[0][0],
              "re-stamping did not move the device's stamps back to server time")
        restamped += query(devs["ahead2d"].db,
                           "SELECT count(*) FROM changelog WHERE device_hlc IS NOT NULL")[0][0]
        clock_409 = d.log_text().count('"POST /v1/push" 409')
        for name, dev in devs.items():
            ok, n = monotonic_stamps(dev)
            check(ok, f"{name}: change-log stamps are not strictly increasing")
        jumpy_n = monotonic_stamps(devs["jumpy"])[1]
        # The stamps jumpy issued while its clock ran backwards (kept as
        # evidence when re-stamped) still increase: the counter took over.
        orig = [h for (h,) in query(devs["jumpy"].db, "SELECT coalesce(device_hlc, hlc)"
                                                      " FROM changelog ORDER BY seq")]
        check(all(a < b for a, b in zip(orig, orig[1:])), "jumpy issued a stamp twice or"
                                                          " out of order")
        held = sum(1 for h in orig if int(h[:16], 16) & 0xFFFF)
        check(held > 0, "jumpy's clock never went backwards (libfaketime file not read?)")
        all_devs = list(devs.values())
        n = verify_devices(all_devs, d.db, "clock")
        converge(all_devs, d.db, "clock")
        # 5. Honest later edits still win over the device that was a year ahead.
        rec = query(d.db, "SELECT record_id FROM changes WHERE device = ? LIMIT 1",
                    (devs["ahead1y"].id,))
        honest = devs["honest"]
        win_checked = 0
        if rec:
            rid = rec[0][0]
            r = run.run([run.cli_bin, "--db", honest.db, "record", "edit", rid, "--set",
                         "number_of_workers=777"], check_rc=False)
            if r.returncode == 0:
                for name in ["honest"] + order:
                    sync(name, "honest edit")
                for dev in all_devs:
                    v = query(dev.db, "SELECT value FROM fields WHERE record_id = ? AND"
                                      " name = 'number_of_workers'", (rid,))
                    check(v and v[0][0] == "777", f"{dev.name}: the honest later edit lost")
                win_checked = 1
        # 6. A device whose clock says 1970 (FAILURE-MODES 9 and 25): with the
        # CA the certificate is "not yet valid" and the error says to check the
        # clock; with the server's key pinned it syncs, its 1970 stamps are
        # accepted, and its edit concurrent with a newer one loses to it and
        # lands in the conflict queue.
        epoch = Device(run, "epoch")
        env70 = dict(run.env, LD_PRELOAD=lib, FAKETIME="@1970-01-02 00:00:00",
                     FAKETIME_DONT_FAKE_MONOTONIC="1")
        d.add_device("epoch")
        epoch.init(env=env70)
        epoch.add(3, rng.getrandbits(48), edit=0, delete=0, env=env70)
        r = epoch.sync(d.url, attempts=1, env=env70)
        check(r.returncode != 0 and "check the device clock" in r.stderr,
              f"a device at 1970 did not get a clock hint: {r.stderr.strip()[-300:]}")
        pin = "sha256//" + pin_of(run)
        cmd = [run.cli_bin, "--db", epoch.db, "sync", "--server", d.url, "--token-file",
               epoch.token_file, "--pin", pin, "-q"]
        r = run.run(cmd, env=env70, check_rc=False)
        check(r.returncode == 0, f"the 1970 device failed to sync with a pinned key: {r.stderr}")
        old70 = query(d.db, "SELECT count(*) FROM changes WHERE device = ? AND hlc < '0001'",
                      (epoch.id,))[0][0]
        check(old70 == 3, f"the 1970 device's creates were not accepted as sent ({old70})")
        rid = query(d.db, "SELECT record_id FROM changes WHERE device = ? LIMIT 1",
                    (honest.id,))[0][0]
        run.run([run.cli_bin, "--db", honest.db, "record", "edit", rid, "--set",
                 "inspector_id=HONEST-LATER"])
        sync("honest", "1970 case")
        run.run([run.cli_bin, "--db", epoch.db, "record", "edit", rid, "--set",
                 "inspector_id=EPOCH-CONCURRENT"], env=env70)
        r = run.run(cmd, env=env70, check_rc=False)
        check(r.returncode == 0, f"the 1970 device's second sync failed: {r.stderr}")
        v = query(d.db, "SELECT value FROM fields WHERE record_id = ? AND name = 'inspector_id'",
                  (rid,))
        check(v and v[0][0] == '"HONEST-LATER"', f"the newer edit lost to a concurrent one: {v}")
        conf = query(d.db, "SELECT count(*) FROM conflicts c WHERE c.record_id = ?"
                           " AND c.name = 'inspector_id' AND c.device = ?", (rid, epoch.id))[0][0]
        check(conf == 1, "the 1970 device's concurrent edit is not in the conflict queue")
        # 7. Deterministic merge: the same changes pushed to a second, empty
        # server in a shuffled order give the same fields and conflicts.
        d2 = Daemon(run, data="data2", log="daemon2.log")
        d2.publish_forms()
        bodies = {}
        all_devs.append(epoch)
        for dev in all_devs:
            rows = query(dev.db, "SELECT body FROM changelog ORDER BY seq")
            bodies[dev.id] = [json.loads(b) for (b,) in rows]
        toks = {dev.id: d2.add_device(dev.name) for dev in all_devs}
        d2.start()
        cl2 = Client(run, d2.port)
        chunks = []
        for dev_id, chs in bodies.items():
            for i in range(0, len(chs), 7):
                chunks.append((dev_id, chs[i:i + 7]))
        rng.shuffle(chunks)
        for i, (dev_id, chs) in enumerate(chunks):
            st, _, js = cl2.push(toks[dev_id], {"device": dev_id, "batch": f"shuffle-{i}",
                                                "changes": chs})
            check(st == 200 and not js["rejected"], f"shuffled push {i}: {st} {js}")
        check(state(d2.db) == state(d.db), "two servers that received the same changes in"
                                          " different orders disagree")
        # 8. A batch the server applied gets its first answer back even when
        # its stamps are now too far ahead (limit lowered, server clock set
        # back): a 409 would have the device re-stamp changes the server
        # already holds, and the server store them twice.
        late_dev = "%016x" % rng.getrandbits(64)
        tok_late = d2.add_device("late")
        ahead = {"device": late_dev, "batch": "ahead-1", "changes": [{
            "id": "%032x" % rng.getrandbits(128), "form": "labor_inspection",
            "form_version": run.form_version(), "op": "upsert",
            "hlc": "%016x-%s" % ((int(time.time() * 1000) + 120000) << 16, late_dev),
            "fields": {"worksite_name": "Ahead", "sector": "mining",
                       "inspection_date": "2026-11-20", "referral_decision": "none"},
            "base": {}}]}
        st, _, js = cl2.push(tok_late, ahead)
        check(st == 200 and js["accepted"] == 1, f"a stamp 2 min ahead was refused: {st} {js}")
        d2.stop()
        d3 = Daemon(run, data="data2", conf={"max_clock_ahead_ms": 1000}, log="daemon3.log")
        d3.start()
        cl3 = Client(run, d3.port)
        st, _, js = cl3.push(tok_late, ahead)
        check(st == 200 and js.get("replayed") is True and js["accepted"] == 1,
              f"a replayed batch got {st} {js} once its stamps were too far ahead")
        ahead["batch"] = "ahead-2"
        st, _, js = cl3.push(tok_late, ahead)
        check(st == 409 and (js or {}).get("error") == "clock_ahead",
              f"a new batch with the same stamps was not refused: {st} {js}")
        check(query(d3.db, "SELECT count(*) FROM changes WHERE device = ?", (late_dev,))[0][0]
              == 1, "the replayed change is on the server more than once")
        d3.stop()
        d.stop()
        log(f"fault: clock: 5 devices (-3 d, +2 d, +1 y, honest, jumping back by up to 40 d"
            f" within one process over {jumpy_n} saves, {held} stamps"
            f" carried by the counter), {n} changes verified, stamps strictly"
            f" increasing on every device, {clock_409} pushes refused"
            f" with 409 clock_ahead, {restamped} changes re-stamped and accepted, honest later edit wins"
            f" ({win_checked}), 1970 device: TLS error names the clock, its stamps accepted,"
            f" its concurrent edit in the conflict queue, shuffled replay to a second server identical, converged,"
            f" a replayed batch answered although its stamps became too far ahead,"
            f" {run.elapsed():.1f} s")
    except BaseException:
        run.close(keep=True)
        print(f"fault: clock: kept {run.dir}", file=sys.stderr)
        raise
    run.close()


# --- (f) a server restored from an older backup ---------------------------------


def scenario_restore(args, rng):
    """FAILURE-MODES 38: the server is restored from a backup older than
    changes it acknowledged.  The hard case: a device whose pull was cut
    off after its push (so its pull cursor is older than the backup's end,
    and the cursor's own stamp check passes).  And no false alarm: the
    same cut pull without a restore sends nothing again."""
    run = Run(args, "restore")
    try:
        run.make_cert()
        d = Daemon(run)
        d.publish_forms()
        a, b = Device(run, "rest-a"), Device(run, "rest-b")
        for dev in (a, b):
            d.add_device(dev.name)
            dev.init()
        d.start()
        a.add(5, rng.getrandbits(48), edit=0, delete=0)
        b.add(5, rng.getrandbits(48), edit=0, delete=0)
        sync_all([a, b], d.url, "at the start")

        def cut_pull(what):
            # b's records are too large for a's disk: a's push gets its
            # answer, then applying the first pulled page fails.
            b.add(60, rng.getrandbits(48), notes=4000, edit=0, delete=0)
            sync_all([b], d.url, what)
            a.add(3, rng.getrandbits(48), edit=0, delete=0)
            # a's WAL starts empty: room for its push, not for b's records.
            r = subprocess.run(a.sync_cmd(d.url, attempts=1), capture_output=True, text=True,
                               timeout=120 * run.slow, env=run.env,
                               preexec_fn=file_size_limit(64 * 1024))
            check(r.returncode != 0, f"{what}: the pull onto a full disk succeeded")
            check(a.pending() == 0, f"{what}: the push before the cut pull was not acknowledged")
            check(integrity(a.db) == ["ok"], f"{what}: device store damaged")

        # 1. A cut pull, no restore: the next sync re-sends nothing.
        cut_pull("cut pull")
        mark = len(d.log_text())
        r = a.sync(d.url, attempts=3)
        check(r.returncode == 0, f"sync after a cut pull failed: {r.stderr.strip()[-300:]}")
        again = re.findall(r"(\d+) duplicate", d.log_text()[mark:])
        check(all(x == "0" for x in again),
              f"a device re-sent changes the server still had: {again}")
        # 2. A backup (which a's pull cursor is inside), a cut pull, then
        # the server goes back to the backup.
        sync_all([a, b], d.url, "before the backup")
        snap = run.path("snapshot.db")
        d.admin("backup", "--to", snap)
        cut_pull("cut pull before the restore")
        lost = len(a.changes()) + len(b.changes()) - len(query(snap, "SELECT 1 FROM changes"))
        d.stop()
        d.admin("restore", "--from", snap)
        d.start()
        sync_all([a, b], d.url, "after the restore")
        n = verify_devices([a, b], d.db, "restore")
        converge([a, b], d.db, "restore")
        d.stop()
        log(f"fault: restore: server restored from a backup missing {lost} acknowledged"
            f" changes (device rest-a's pull cut off after its push); both devices"
            f" detected it and re-sent: {n} changes verified, 0 lost, 0 duplicated;"
            f" a cut pull without a restore re-sent nothing, {run.elapsed():.1f} s")
    except BaseException:
        run.close(keep=True)
        print(f"fault: restore: kept {run.dir}", file=sys.stderr)
        raise
    run.close()


# --- (g) a server with small limits -----------------------------------------------


def scenario_limits(args, rng):
    """FAILURE-MODES 18/23: a server that takes fewer changes or fewer bytes
    per batch than the device sends.  A batch refused whole (413) is split
    until it fits; a single change larger than the server takes is kept on
    the device as refused, with the reason, and does not block the changes
    behind it."""
    run = Run(args, "limits")
    try:
        run.make_cert()
        d = Daemon(run, conf={"max_changes_per_batch": 10, "max_body": "4K",
                                  "max_inflated": "8K"})
        d.publish_forms()
        a, b = Device(run, "lim-a"), Device(run, "lim-b")
        for dev in (a, b):
            d.add_device(dev.name)
            dev.init()
        d.start()
        a.add(30, rng.getrandbits(48), edit=0, delete=0)
        a.add(1, rng.getrandbits(48), notes=9000, edit=0, delete=0)
        a.add(30, rng.getrandbits(48), edit=20, delete=0)
        total = len(a.changes())
        r = a.sync(d.url, attempts=2)
        check(r.returncode == 0, f"sync against small limits failed: {r.stderr.strip()[-300:]}")
        check(a.pending() == 0, f"{a.pending()} changes still pending after the sync")
        rej = query(a.db, "SELECT rejected FROM changelog WHERE rejected IS NOT NULL")
        check(len(rej) == 1 and rej[0][0].startswith("too_large"),
              f"the oversized change was not kept as refused: {rej}")
        on_srv = query(d.db, "SELECT record_id, hlc FROM changes WHERE device = ?", (a.id,))
        sent = set(query(a.db, "SELECT record_id, hlc FROM changelog WHERE rejected IS NULL"))
        check(set(on_srv) == sent and len(on_srv) == len(sent),
              f"server holds {len(on_srv)} of {len(sent)} changes, or some twice")
        split = d.log_text().count('"POST /v1/push" 413')
        check(split > 0, "no batch was refused as too large: the limits did not bite")
        # A server newer than the device publishes a form in a format the
        # device cannot read (here: a key this build does not know, put in
        # the store as a newer fieldsyncd would): the other forms' records
        # still sync.
        con = __import__("fsharness").connect(d.db)
        con.execute("INSERT INTO forms VALUES('future_form', 1, ?, '2026-11-29T00:00:00.000Z')",
                    (json.dumps({"id": "future_form", "version": 1, "title": "Future",
                                 "conflict": "field_lww", "skip_logic": [],
                                 "fields": [{"name": "x", "type": "text"}]}),))
        con.commit()
        con.close()
        sync_all([b], d.url, "limits: second device")
        check(query(b.db, "SELECT count(*) FROM forms WHERE id = 'future_form'")[0][0] == 0,
              "the device stored a form it cannot read")
        # A device holding a published version with other content: the pull
        # stops with the reason instead of merging by other rules.
        c = Device(run, "lim-c")
        d.add_device(c.name)
        run.run([run.cli_bin, "--db", c.db, "init", "--device", c.name])
        with open(run.forms[0]) as fp:
            form = json.load(fp)
        form["title"] = form["title"] + " (edited without a new version)"
        odd = run.path("odd-form.json")
        with open(odd, "w") as fp:
            json.dump(form, fp)
        run.run([run.cli_bin, "--db", c.db, "forms", "import", odd])
        r = c.sync(d.url, attempts=1)
        check(r.returncode != 0 and "differs from the one the server publishes" in r.stderr,
              f"a device with a differing form version synced: {r.returncode} {r.stderr[-300:]}")
        check(query(b.db, "SELECT count(*) FROM records")[0][0] ==
              query(d.db, "SELECT count(*) FROM records")[0][0],
              "the second device did not receive every record")
        d.stop()
        log(f"fault: limits: max 10 changes and 8 KiB per batch: {len(sent)} of {total}"
            f" changes sent once each in split batches ({split} pushes answered 413),"
            f" the one change over 8 KiB kept on the device as refused, 0 lost;"
            f" a form the device cannot read left out, the others' records pulled,"
            f" {run.elapsed():.1f} s")
    except BaseException:
        run.close(keep=True)
        print(f"fault: limits: kept {run.dir}", file=sys.stderr)
        raise
    run.close()


# --- (h) two handles on one device store -------------------------------------------


def scenario_handles(args, rng):
    """FAILURE-MODES 26: an app saving through one handle while a sync runs
    through another on the same store.  The stored clock must never fall
    below a stamp the device issued (the sync's pulled pages used to write
    back the clock its handle loaded at open, setting the saver's back)."""
    run = Run(args, "handles")
    try:
        run.make_cert()
        d = Daemon(run)
        d.publish_forms()
        a, b = Device(run, "hand-a"), Device(run, "hand-b")
        for dev in (a, b):
            d.add_device(dev.name)
            dev.init()
        d.start()
        rounds = 4 if not args.long else 20
        for k in range(rounds):
            b.add(600, rng.getrandbits(48), edit=0, delete=0)
            sync_all([b], d.url, f"handles round {k}: b")
            # a pulls b's records page by page while another process saves on a.
            syncer = run.spawn(a.sync_cmd(d.url, attempts=3), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
            time.sleep(0.05 * rng.random())
            a.add(60, rng.getrandbits(48), edit=30, delete=0)
            try:
                _, err = syncer.communicate(timeout=120 * run.slow)
            except subprocess.TimeoutExpired:
                syncer.kill()
                raise Failure(f"handles round {k}: the sync did not end")
            check(syncer.returncode == 0, f"handles round {k}: the sync failed:"
                                          f" {err.decode(errors='replace').strip()[-300:]}")
            # The stored clock (client/clock.c): the higher of meta hlc_last and
            # the change log's newest unrefused stamp.  It must be at least
            # every stamp the store holds, the device's own and those pulled.
            meta = int(query(a.db, "SELECT value FROM meta WHERE key = 'hlc_last'")[0][0])
            logged = query(a.db, "SELECT max(hlc) FROM changelog WHERE rejected IS NULL")[0][0]
            last = max(meta, int(logged[:16], 16) if logged else 0)
            mine = max(int(h[:16], 16) for (h,) in
                       query(a.db, "SELECT hlc FROM changelog WHERE hlc LIKE ?", (f"%-{a.id}",)))
            held = query(a.db, "SELECT max(s.value) FROM records r, json_each(r.state, '$.s') s"
                               " WHERE r.state IS NOT NULL")[0][0]
            held = int(held[:16], 16) if held else 0
            check(last >= mine, f"handles round {k}: the stored clock {last:x} is behind"
                                f" the device's own stamp {mine:x}")
            check(last >= held, f"handles round {k}: the stored clock {last:x} is behind"
                                f" a stamp the store holds {held:x}")
        sync_all([a, b], d.url, "handles: final")
        n = verify_devices([a, b], d.db, "handles")
        converge([a, b], d.db, "handles")
        d.stop()
        log(f"fault: handles: {rounds} rounds of a sync pulling 600 records while another"
            f" process saved 60 on the same store: stored clock never behind the"
            f" device's own stamps, {n} changes verified, converged, {run.elapsed():.1f} s")
    except BaseException:
        run.close(keep=True)
        print(f"fault: handles: kept {run.dir}", file=sys.stderr)
        raise
    run.close()


SCENARIOS = {
    "slow-attack": scenario_slow_attack,
    "daemon-kill": scenario_daemon_kill,
    "client-kill": scenario_client_kill,
    "proxy": scenario_proxy,
    "disk-full": scenario_disk_full,
    "clock": scenario_clock,
    "restore": scenario_restore,
    "limits": scenario_limits,
    "handles": scenario_handles,
    "multi-daemon": scenario_multi_daemon,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--long", action="store_true", default=os.environ.get("FS_FAULT_LONG") == "1")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=0, help="override the number of rounds")
    args = ap.parse_args()
    seed = args.seed
    if seed is None:
        seed = int(os.environ.get("FS_FAULT_SEED", "0")) or random.SystemRandom().getrandbits(32)
    print(f"fault: {args.scenario}: seed {seed} (--seed {seed} repeats it)"
          f"{', long mode' if args.long else ''}", flush=True)
    main_wrapper(lambda: SCENARIOS[args.scenario](args, random.Random(seed)))


if __name__ == "__main__":
    main()
