#!/usr/bin/env python3
"""bench-wire.py -- bytes and requests of a sync, two builds side by side.

For each build (e.g. the previous release and this tree), in the same run
and with the same data (one seed): a fieldsyncd of that build on
127.0.0.1, a device that saved N labour-inspection changes (about 230 bytes
each compressed), and the fieldsync tool of that build.  Every byte goes
through tests/slowlink/shaper.py without limits, which counts what crosses
the wire (TLS included).  Figures per build:
  first   the device's first sync (push N, then pull)
  idle    a second sync with nothing new
  fresh   a new device of the same team pulling everything
  slow    (this tree only, when --slow is given) the slow-link scenarios
Prints one JSON line per build and figure.  Loopback only; every loop is
bounded.

usage: bench-wire.py --src SRC --dev FAULT_DEV [--records N] [--slow]
                     NAME:FIELDSYNCD:FIELDSYNC [NAME:FIELDSYNCD:FIELDSYNC ...]
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fault"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "slowlink"))

from fsharness import Daemon, Device, Run, check, query  # noqa: E402
from shaper import Shaper  # noqa: E402


class Args:
    pass


def measure(build, src, dev_bin, n, seed):
    name, daemon, cli = build.split(":")
    a = Args()
    a.src, a.daemon, a.cli, a.dev = src, daemon, cli, dev_bin
    run = Run(a, "bench-wire-" + name)
    out = []
    try:
        run.make_cert()
        d = Daemon(run)
        d.publish_forms()
        dev, fresh = Device(run, "wire-a"), Device(run, "wire-b")
        for x in (dev, fresh):
            d.add_device(x.name)
            x.init()
        d.start()
        dev.add(n, seed, notes=300, edit=0, delete=0)
        sh = Shaper(d.port, 1e9, 0.0)
        url = f"https://127.0.0.1:{sh.port}"
        for what, who in (("first", dev), ("idle", dev), ("fresh", fresh)):
            u0, d0, c0 = sh.bytes_up, sh.bytes_down, sh.connections
            t0 = time.monotonic()
            r = who.sync(url)
            secs = time.monotonic() - t0
            check(r.returncode == 0, f"{name} {what}: {r.stderr[-300:]}")
            out.append({"bench": "wire", "build": name, "figure": what, "records": n,
                        "bytes_up": sh.bytes_up - u0, "bytes_down": sh.bytes_down - d0,
                        "connections": sh.connections - c0,
                        "requests": d.log_text().count('" 200 ') if what == "first" else None,
                        "seconds": round(secs, 2)})
        check(dev.pending() == 0, f"{name}: changes left pending")
        held = query(d.db, "SELECT count(*) FROM changes")[0][0]
        check(held == n, f"{name}: the server holds {held} of {n}")
        sh.stop()
        d.stop()
    finally:
        run.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("builds", nargs="+")
    args = ap.parse_args()
    for b in args.builds:
        for line in measure(b, os.path.realpath(args.src), os.path.realpath(args.dev),
                            args.records, args.seed):
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
