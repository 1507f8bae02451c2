#!/usr/bin/env python3
"""slowlink.py -- sync over a bad field link (issue 12): a real fieldsyncd
on 127.0.0.1 behind shaper.py, and the real fieldsync tool.

Scenarios (each prints one summary line "slowlink: NAME: ..."):
  32k   500 records, 32 kbit/s each way, 1 s round trip, every connection
        reset every 30 s (3 s outage)
  9k6   500 records, 9.6 kbit/s each way, 1 s round trip, every connection
        reset every 10 s (3 s outage)
The device runs `fieldsync sync` again while changes are pending, as its
scheduler would (bounded: a deadline of twice the issue's target, and at
most 60 runs).  Passes when every change reached the server exactly once
and nothing is pending.  It also syncs an equal device over the same link
without cuts and reports the bytes ratio (the issue's <= 1.3x is a bench
figure, not checked here; timings are never checked).
"""

import argparse
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fault"))
sys.path.insert(0, HERE)

from fsharness import (Daemon, Device, Failure, Run, check, log, main_wrapper, query,  # noqa: E402
                       verify_devices)
from shaper import Shaper  # noqa: E402

SCENARIOS = {
    # name: (bytes per second each way, one-way delay s, cut every s, outage s, target s)
    "32k": (4000, 0.5, 30.0, 3.0, 300),
    "9k6": (1200, 0.5, 10.0, 3.0, 900),
}


def sync_until_done(dev, shaper, deadline, what):
    """Runs fieldsync sync while changes are pending; returns (runs, seconds)."""
    url = f"https://127.0.0.1:{shaper.port}"
    t0 = time.monotonic()
    runs = 0
    last = None
    while runs < 60 and time.monotonic() < deadline:
        runs += 1
        r = dev.sync(url, timeout=max(60, deadline - time.monotonic()),
                     extra=("--retry-delay", "1000"))
        last = r
        if r.returncode == 0 and dev.pending() == 0:
            return runs, time.monotonic() - t0
        check(r.returncode in (0, 1), f"{what}: sync exited {r.returncode}: {r.stderr[-400:]}")
    raise Failure(f"{what}: {dev.pending()} changes still pending after {runs} syncs"
                  f" and {time.monotonic() - t0:.0f} s; last: "
                  f"{(last.stderr if last else '')[-400:]}")


def scenario(args, name, rng):
    rate, delay, cut_every, outage, target = SCENARIOS[name]
    n = args.records
    run = Run(args, "slowlink-" + name)
    try:
        run.make_cert()
        d = Daemon(run)
        d.publish_forms()
        dev, base = Device(run, "field-a"), Device(run, "field-b")
        # Two teams: neither pulls the other's records.
        for x, team in ((dev, "north"), (base, "south")):
            d.add_device(x.name, team=team)
            x.init()
        d.start()
        seed = rng.getrandbits(48)
        # About 230 bytes a change compressed, like a filled labour inspection.
        for x in (dev, base):
            x.add(n, seed, notes=300, edit=0, delete=0)
        pend = dev.pending()
        check(pend == n, f"expected {n} pending changes, found {pend}")

        # The same data over the same link, never cut: the bytes of one sync.
        clean = Shaper(d.port, rate * 8, delay / 4)
        try:
            runs_clean, secs_clean = sync_until_done(base, clean, time.monotonic() + 600,
                                                     name + " (uncut)")
        finally:
            clean.stop()
        bytes_clean = clean.bytes_up + clean.bytes_down

        shaper = Shaper(d.port, rate, delay, cut_every, outage)
        try:
            deadline = time.monotonic() + 2 * target * run.slow
            runs, secs = sync_until_done(dev, shaper, deadline, name)
        finally:
            shaper.stop()
        total = verify_devices([dev, base], d.db, "slowlink " + name)
        applied = query(d.db, "SELECT count(*) FROM changes WHERE device = ?", (dev.id,))[0][0]
        check(applied == n, f"{name}: the server holds {applied} of {n} changes")
        sent = shaper.bytes_up + shaper.bytes_down
        st = query(dev.db, "SELECT value FROM meta WHERE key = 'last_error'")
        check(st and st[0][0] == "", f"{name}: status after the sync: {st}")
        d.stop()
        log(f"slowlink: {name}: {n} records at {rate * 8 / 1000:g} kbit/s, {2 * delay:g} s RTT,"
            f" cuts every {cut_every:g} s: 0 pending after {secs:.0f} s in {runs} sync run(s),"
            f" {shaper.cuts} connections cut, {shaper.refused} refused, {sent} bytes on the"
            f" wire = {sent / bytes_clean:.2f}x an uncut sync ({bytes_clean} bytes,"
            f" {secs_clean:.0f} s); {total} changes verified, 0 lost, 0 duplicated")
    except BaseException:
        run.close(keep=True)
        print(f"slowlink: {name}: kept {run.dir}", file=sys.stderr)
        raise
    run.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--records", type=int, default=500)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed
    if seed is None:
        seed = random.SystemRandom().getrandbits(32)
    print(f"slowlink: {args.scenario}: seed {seed} (--seed {seed} repeats it)", flush=True)
    main_wrapper(lambda: scenario(args, args.scenario, random.Random(seed)))


if __name__ == "__main__":
    main()
