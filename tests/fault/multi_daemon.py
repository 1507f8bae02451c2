"""multi_daemon.py -- several fieldsyncd, one PostgreSQL store (issue 18).

Three daemons serve the same database behind a round-robin TCP proxy (as
HAProxy or nginx would, skipping a backend that refuses connections).  Six
devices save and sync through the proxy while one daemon at a time is
killed with SIGKILL at a random moment and started again: a batch whose
answer was lost is re-sent to another daemon, a pull cursor given by one
daemon is used on the next (and, explicitly first: a batch pushed to one
daemon and replayed to another is answered the same and stored once; a
device pulls page by page, each page from another daemon, and gets every
change once).  At the end every change each device saved is
on the server exactly once, nothing is pending, and every device holds
the server's values and conflicts.  `fieldsyncd verify` then checks every
signature and hash chain the three daemons wrote together.

Needs FS_STORE_KIND=postgresql (tests/pg/with-pg.sh); exits 77 otherwise.
"""

import asyncio
import os
import re
import shutil
import subprocess
import sys
import threading
import time

from fsharness import (Client, Daemon, Device, Failure, STORE_KIND, Run, check, hlc_text,
                       log, pushed_not_on_server, query, rand_hex, sanitizer_report,
                       server_duplicates, verify_devices)


class RoundRobinProxy:
    """A TCP proxy on 127.0.0.1 handing each connection to the next live backend."""

    def __init__(self, ports):
        self.ports = list(ports)
        self.next = 0
        self.port = 0
        self.counts = [0] * len(self.ports)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.thread.start()
        check(self.ready.wait(10), "round-robin proxy did not start")

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

    @staticmethod
    async def pump(reader, writer):
        try:
            while True:
                data = await reader.read(16384)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass

    async def handle(self, creader, cwriter):
        for _ in range(len(self.ports)):
            i = self.next % len(self.ports)
            self.next += 1
            try:
                sreader, swriter = await asyncio.open_connection("127.0.0.1", self.ports[i])
            except OSError:
                continue  # down: the next one (a load balancer's health check)
            self.counts[i] += 1
            await asyncio.gather(self.pump(creader, swriter), self.pump(sreader, cwriter))
            return
        cwriter.close()


def scenario_multi_daemon(args, rng):
    if STORE_KIND != "postgresql":
        print("fault: multi-daemon: needs the PostgreSQL store (tests/pg/with-pg.sh); skipped")
        sys.exit(77)
    run = Run(args, "multi-daemon")
    rounds = args.rounds or 10 * (10 if args.long else 1)
    ndaemons, ndev = 3, 6
    proxy = None
    try:
        run.make_cert()
        first = Daemon(run, data="data0", log="daemon0.log")
        first.publish_forms()
        devs = [Device(run, f"m{i}") for i in range(ndev)]
        for i, dev in enumerate(devs):
            first.add_device(dev.name, team="north" if i % 2 == 0 else "south")
            dev.init()
        first.start()
        # The server's signing key signs resolutions: one key for every daemon.
        daemons = [first]
        for k in range(1, ndaemons):
            d = Daemon(run, data=f"data{k}", log=f"daemon{k}.log", pg=first.db.conninfo)
            os.makedirs(d.data, mode=0o700, exist_ok=True)
            shutil.copy2(os.path.join(first.data, "server-signing.key"), d.data)
            d.start()
            daemons.append(d)
        replay_and_cursor(run, rng, first, daemons)
        proxy = RoundRobinProxy([d.port for d in daemons])
        url = f"https://127.0.0.1:{proxy.port}"
        kills = 0
        for r in range(rounds):
            for dev in devs:
                dev.add(10, rng.getrandbits(48), edit=50, delete=2)
            procs = [run.spawn(dev.sync_cmd(url, attempts=30, batch=4), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for dev in devs]
            time.sleep(rng.uniform(0.05, 0.4) * run.slow)
            victim = rng.randrange(ndaemons)
            daemons[victim].kill9()
            kills += 1
            time.sleep(rng.uniform(0, 0.5))
            daemons[victim].start()
            for dev, p in zip(devs, procs):
                try:
                    _, err = p.communicate(timeout=300 * run.slow)
                except subprocess.TimeoutExpired:
                    p.kill()
                    raise Failure(f"round {r + 1}: sync of {dev.name} hung")
                rep = sanitizer_report(err)
                check(rep is None, f"fieldsync sync: {rep}")
                check(p.returncode == 0, f"round {r + 1}: sync of {dev.name} failed:"
                                         f" {err.strip()[-400:]}")
            check(server_duplicates(first.db) == 0, f"round {r + 1}: duplicated changes")
            for dev in devs:
                check(pushed_not_on_server(dev.db, first.db) == 0,
                      f"round {r + 1}: {dev.name} marked changes sent the server lacks")
        # Two more rounds each so every device pulls what the others pushed last.
        for _ in range(2):
            for dev in devs:
                res = dev.sync(url, attempts=10)
                check(res.returncode == 0, f"final sync of {dev.name}: {res.stderr[-300:]}")
        n = verify_devices(devs, first.db, "multi-daemon")
        # Each team's devices hold the server's values for that team's records.
        for team, members in (("north", devs[0::2]), ("south", devs[1::2])):
            converge_team(members, first.db, team)
        v = first.admin("verify")
        check("every signature and link holds" in v.stdout, f"verify: {v.stdout[-300:]}")
        text = "".join(d.log_text() for d in daemons)
        replays = text.count('"POST /v1/push" 200') - \
            len(re.findall(r"push \S+: device \S+ batch", text))
        proxy.stop()
        counts, proxy = proxy.counts, None
        for d in daemons:
            d.stop()
        log(f"fault: multi-daemon: {kills} kills survived, {ndaemons} daemons on one PostgreSQL"
            f" store, {rounds} rounds, connections per daemon {counts}, a replay and a pull"
            f" across daemons exact, {replays} batches"
            f" answered again, {n} changes verified, 0 lost, 0 duplicated, devices converged,"
            f" verify ok, {run.elapsed():.1f} s")
    except BaseException:
        if proxy is not None:
            proxy.stop()
        run.close(keep=True)
        print(f"fault: multi-daemon: kept {run.dir}", file=sys.stderr)
        raise
    run.close()


def replay_and_cursor(run, rng, first, daemons):
    """A batch pushed to one daemon and replayed to another is answered, not
    applied again; a pull cursor one daemon gave works on another."""
    tok = first.add_device("direct", team="west")
    dev_id = rand_hex(16, rng)
    now = int(time.time() * 1000)
    changes = [{"id": rand_hex(32, rng), "form": "labor_inspection",
                "form_version": run.form_version(), "op": "upsert",
                "hlc": hlc_text(now + i, 0, dev_id),
                "fields": {"worksite_name": f"direct {i}", "sector": "mining",
                           "inspection_date": "2026-11-20", "referral_decision": "none"},
                "base": {}} for i in range(3)]
    batch = {"device": dev_id, "batch": "cross-daemon-1", "changes": changes}
    answers = []
    for d in daemons[:2]:
        st, _, js = Client(run, d.port).push(tok, batch)
        check(st == 200 and js is not None, f"push to {d.data}: {st} {js}")
        answers.append(js)
    same = [{k: v for k, v in a.items() if k not in ("time_ms", "replayed")} for a in answers]
    check(answers[0].get("accepted") == 3 and same[1] == same[0]
          and answers[1].get("replayed") is True,
          f"a batch replayed to another daemon was not answered the same: {answers}")
    n = query(first.db, "SELECT count(*) FROM changes WHERE device = ?", (dev_id,))[0][0]
    check(n == 3, f"a batch replayed to another daemon was applied again: {n} changes")
    # A second device of the team pulls page by page, each page from the next daemon.
    tok2 = first.add_device("direct2", team="west")
    cursor, got = 0, 0
    for k in range(6):
        st, _, js = Client(run, daemons[k % len(daemons)].port).request(
            "GET", f"/v1/pull?after={cursor}&limit=1", token=tok2)
        check(st == 200 and js is not None, f"pull from daemon {k % len(daemons)}: {st} {js}")
        got += len(js.get("changes", []))
        cursor = js["next"]
        if not js.get("more"):
            break
    check(got == 3, f"pulling across daemons delivered {got} of 3 changes")


def converge_team(devices, server_db, team):
    """Every device of team holds exactly the server's values of that team's records."""
    from fsharness import state
    ids = {r[0] for r in query(server_db, "SELECT id FROM records WHERE team = ?", (team,))}
    fields, conflicts = state(server_db)
    srv = ([x for x in fields if x[0] in ids], [x for x in conflicts if x[0] in ids])
    for d in devices:
        check(state(d.db) == srv, f"multi-daemon: {d.name} ({team}) differs from the server")
