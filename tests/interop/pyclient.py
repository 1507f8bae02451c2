#!/usr/bin/env python3
"""pyclient.py -- an independent fieldsync device, written from
docs/PROTOCOL.md alone (Python standard library; no code shared with the
C client), and a random workload that runs it beside `fieldsync` devices
against the real fieldsyncd (issue 14).

The workload: two `fieldsync` devices and this one record, edit and
delete labour inspections of one team at random, and sync in random
orders.  At the end every device syncs until nothing moves, and this
client's own replica -- merged by its own implementation of the rule
(PROTOCOL.md, "Merge rule": every write kept, heads, field_lww; rule 2's
deletes as record-level tombstones with the stamps they saw, the
record-level conflict, '@delete' keeps) -- must hold exactly the fields,
conflicts and deleted flags of the `fieldsync` devices and the server.

usage: pyclient.py FIELDSYNCD FIELDSYNC SOURCE_ROOT [--seed N] [--steps N]
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import custody  # noqa: E402  (the chain of custody, from PROTOCOL.md)

FORM = "labor_inspection"
FORM_VERSION = 1  # set from the shipped form in main()


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


# --- the protocol -----------------------------------------------------------

class Link:
    """HTTPS to fieldsyncd with the protocol's headers (PROTOCOL.md, Versions)."""

    def __init__(self, url, token, cafile):
        self.url, self.token = url, token
        self.ctx = ssl.create_default_context(cafile=cafile)

    def request(self, method, path, body=None):
        headers = {"Authorization": "Bearer " + self.token,
                   "Fieldsync-Protocol": "3", "Fieldsync-Merge-Rule": "2"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")


class Replica:
    """The rule over the set of every write (PROTOCOL.md, Merge rule)."""

    def __init__(self, fields):
        self.fields = fields            # the form's field names, in order
        self.writes = {}                # (record, field) -> {stamp: (value, bases)}
        self.dels = {}                  # record -> stamps of its deletes
        self.saw = {}                   # record -> stamps some delete saw
        self.kept = {}                  # record -> deletes kept against
        self.seen = set()               # (record, stamp) merged

    def merge(self, ch):
        rec, stamp = ch["id"], ch["hlc"]
        if (rec, stamp) in self.seen:
            return                      # a replay changes nothing
        self.seen.add((rec, stamp))
        base = ch.get("base", {})

        def stamps(b):
            return [b] if isinstance(b, str) else list(b)
        if ch["op"] == "delete":        # rule 2: no field written
            self.dels.setdefault(rec, set()).add(stamp)
            for b in base.values():
                self.saw.setdefault(rec, set()).update(stamps(b))
            return
        if "@delete" in base:
            self.kept.setdefault(rec, set()).update(stamps(base["@delete"]))
        for f, v in ch["fields"].items():
            b = base.get(f)
            bases = [] if b is None else ([b] if isinstance(b, str) else list(b))
            self.writes.setdefault((rec, f), {}).setdefault(stamp, (v, bases))

    def heads(self, rec, f):
        ws = self.writes.get((rec, f), {})
        named = {s for (_, bs) in ws.values() for s in bs}
        return sorted(s for s in ws if s not in named)

    def current(self, rec, f):
        ws = self.writes.get((rec, f), {})
        if not ws:
            return None
        s = max(ws)                     # field_lww: the highest stamp
        return s, ws[s][0]

    def conflicts(self, rec, f):
        cur = self.current(rec, f)
        out = []
        for s in self.heads(rec, f):
            if s == cur[0]:
                continue
            if self.writes[(rec, f)][s][0] is None and cur[1] is None:
                continue                # two nulls: nothing to choose
            out.append(s)
        return out

    def records(self):
        return sorted({r for (r, _) in self.writes} | set(self.dels))

    def deleted(self, rec):
        """A delete, and every head of every field seen by a delete."""
        if not self.dels.get(rec):
            return False
        saw = self.saw.get(rec, set())
        return all(h in saw for f in self.fields for h in self.heads(rec, f))

    def delete_conflict(self, rec):
        """Alive, and a delete not kept against (rule 2's record-level conflict)."""
        return not self.deleted(rec) and bool(self.dels.get(rec, set()) -
                                              self.kept.get(rec, set()))

    def state(self):
        """(fields, conflicts, deleted, record-level conflicts) as comparable sets."""
        fs, cs, ds, xs = set(), set(), set(), set()
        for rec in self.records():
            gone = self.deleted(rec)
            for f in self.fields:
                cur = self.current(rec, f)
                if cur is None:
                    continue
                fs.add((rec, f, json.dumps(cur[1], sort_keys=True), cur[0]))
                for s in ([] if gone else self.conflicts(rec, f)):
                    cs.add((rec, f, s))
            if gone:
                ds.add(rec)
            if self.delete_conflict(rec):
                xs.add(rec)
        return fs, cs, ds, xs


class PyDevice:
    def __init__(self, link, device_id, fields, rng):
        self.link, self.dev, self.rng = link, device_id, rng
        self.replica = Replica(fields)
        self.last = 0                   # the clock: the highest stamp issued or seen
        self.pending = []               # changes not yet acknowledged
        self.cursor = 0
        self.batches = 0
        # Chain of custody (PROTOCOL.md): an Ed25519 key, every change signed
        # and linked to the one before (custody.py, from the same text).
        self.seed = bytes(rng.getrandbits(8) for _ in range(32))
        self.key = custody.public_key(self.seed)
        self.head = custody.GENESIS

    def stamp(self):
        self.last = max(int(time.time() * 1000) << 16, self.last + 1)
        return "%016x-%s" % (self.last, self.dev)

    def observe(self, stamp):
        self.last = max(self.last, int(stamp[:16], 16))

    def save(self, ch):
        ch["prev"] = self.head
        self.head = custody.sign(ch, self.seed)
        self.replica.merge(ch)
        self.pending.append(ch)

    def create(self):
        rec = "%032x" % self.rng.getrandbits(128)
        self.save({"id": rec, "form": FORM, "form_version": FORM_VERSION, "op": "upsert",
                   "hlc": self.stamp(), "base": {},
                   "fields": {"worksite_name": "py site %d" % self.rng.randrange(1000),
                              "sector": "fishing", "inspection_date": "2026-11-20",
                              "referral_decision": "monitor",
                              "number_of_workers": self.rng.randrange(1, 500)}})

    def live(self):
        return [r for r in self.replica.records() if not self.replica.deleted(r)]

    def edit(self):
        recs = self.live()
        if not recs:
            return self.create()
        rec = self.rng.choice(recs)
        f, v = self.rng.choice([("number_of_workers", self.rng.randrange(1, 500)),
                                ("inspector_id", "PY-%d" % self.rng.randrange(100)),
                                ("worksite_name", "py renamed %d" % self.rng.randrange(100))])
        cur = self.replica.current(rec, f)
        base = {f: cur[0]} if cur is not None else {}
        self.save({"id": rec, "form": FORM, "form_version": FORM_VERSION, "op": "upsert",
                   "hlc": self.stamp(), "base": base, "fields": {f: v}})

    def delete(self):
        recs = self.live()
        if not recs:
            return
        rec = self.rng.choice(recs)
        base = {}
        for f in self.replica.fields:   # every head it holds (rule 2)
            hs = self.replica.heads(rec, f)
            if hs:
                base[f] = hs[0] if len(hs) == 1 else hs
        self.save({"id": rec, "form": FORM, "form_version": FORM_VERSION, "op": "delete",
                   "hlc": self.stamp(), "base": base})

    def sync(self):
        while self.pending:
            batch = self.pending[:50]
            self.batches += 1
            st, a = self.link.request("POST", "/v1/push", {
                "device": self.dev, "key": self.key,
                "batch": "py-%s-%d" % (self.dev, self.batches), "changes": batch})
            check(st == 200, "push answered %s: %s" % (st, a))
            n = a["accepted"] + a["duplicates"] + len(a["rejected"])
            check(n == len(batch), "the answer counts %d of %d" % (n, len(batch)))
            check(not a["rejected"], "a change was refused: %s" % a["rejected"])
            check(a.get("chain_head") == custody.link(batch[-1]).hex(),
                  "the server's chain head is not our last change")
            self.pending = self.pending[len(batch):]
        more = True
        while more:
            st, a = self.link.request("GET", "/v1/pull?after=%d&limit=500" % self.cursor)
            check(st == 200, "pull answered %s: %s" % (st, a))
            for item in a["changes"]:
                ch = item["change"]
                check(not ch["hlc"].endswith(self.dev), "pull echoed our own change")
                self.observe(ch["hlc"])
                self.replica.merge(ch)
            self.cursor, more = a["next"], a["more"]


# --- the C devices and the stores, read through their views -----------------

def view_state(db):
    con = sqlite3.connect(db)
    try:
        fs = {(r, n, json.dumps(json.loads(v) if v is not None else None, sort_keys=True), s)
              for r, n, v, s in con.execute("SELECT record_id, name, value, stamp FROM fields")}
        cs = set(con.execute("SELECT record_id, name, stamp FROM conflicts"))
        ds = {r for (r,) in con.execute("SELECT id FROM records WHERE deleted")}
        col = [c[1] for c in con.execute("PRAGMA table_info(records)")]
        oc = "open_conflicts" if "open_conflicts" in col else "conflicts"
        xs = {r for (r,) in con.execute(
            "SELECT id FROM records r WHERE %s > (SELECT count(*) FROM conflicts c"
            " WHERE c.record_id = r.id)" % oc)}
    finally:
        con.close()
    return fs, cs, ds, xs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fieldsyncd")
    ap.add_argument("fieldsync")
    ap.add_argument("src")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--steps", type=int, default=120)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    print("interop: seed %d (--seed %d repeats it)" % (seed, seed))
    D, F = os.path.abspath(args.fieldsyncd), os.path.abspath(args.fieldsync)
    form_path = os.path.join(os.path.abspath(args.src), "tests", "fixtures", "forms", FORM + ".json")
    global FORM_VERSION
    with open(form_path) as fp:
        FORM_VERSION = json.load(fp)["version"]
    tmp = tempfile.mkdtemp(prefix="fs-interop-")
    daemon = None
    try:
        os.chdir(tmp)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", "key.pem", "-out", "cert.pem"], check=True,
                       capture_output=True)
        subprocess.run([D, "-d", "data", "form", "publish", form_path], check=True,
                       capture_output=True)
        tokens = {}
        for name in ("py", "c1", "c2"):
            out = subprocess.run([D, "-d", "data", "device", "add", "--name", name, "--role",
                                  "field", "--team", "north"], check=True,
                                 capture_output=True, text=True).stdout
            tokens[name] = [l.split(": ", 1)[1] for l in out.splitlines()
                            if l.startswith("token: ")][0]
            open("tok-" + name, "w").write(tokens[name] + "\n")
        daemon = subprocess.Popen([D, "-d", "data", "-l", "127.0.0.1", "-p", "0", "--cert",
                                   "cert.pem", "--key", "key.pem", "--port-file", "port"],
                                  stderr=open("daemon.log", "w"))
        for _ in range(200):
            if os.path.exists("port") and open("port").read().strip():
                break
            time.sleep(0.05)
        url = "https://127.0.0.1:" + open("port").read().strip()
        link = Link(url, tokens["py"], "cert.pem")
        st, forms = link.request("GET", "/v1/forms")
        check(st == 200, "forms: %s" % st)
        form = [f for f in forms["forms"] if f["id"] == FORM][0]
        py = PyDevice(link, "%016x" % rng.getrandbits(64), [f["name"] for f in form["fields"]],
                      rng)

        husks = [0]

        def cli(name, *a):
            r = subprocess.run([F, "--db", name + ".db"] + list(a), capture_output=True,
                               text=True)
            # Rule 1 left a record a delete emptied and an edit kept alive
            # without its required values, and the device refused edits of
            # it (issue 22).  Counted: rule 2 must leave none.
            if r.returncode == 2 and a[:2] == ("record", "edit") and \
                    "rule 'required'" in r.stderr:
                husks[0] += 1
                return ""
            check(r.returncode == 0, "fieldsync %s: %s" % (" ".join(a), r.stderr.strip()))
            return r.stdout.strip()

        def csync(name):
            cli(name, "sync", "--server", url, "--token-file", "tok-" + name, "--cacert",
                "cert.pem", "-q")

        for name in ("c1", "c2"):
            cli(name, "init", "--device", name)
            cli(name, "forms", "import", form_path)

        def c_live(name):
            return [l.split()[0] for l in cli(name, "record", "list").splitlines()[1:] if l]

        for step in range(args.steps):
            who = rng.choice(["py", "py", "c1", "c2"])
            act = rng.random()
            if who == "py":
                if act < 0.3:
                    py.create()
                elif act < 0.85:
                    py.edit()
                elif act < 0.92:
                    py.delete()
                else:
                    py.sync()
                continue
            recs = c_live(who)
            if act < 0.3 or not recs:
                cli(who, "record", "new", FORM, "--set", "worksite_name=c site",
                    "--set", "sector=mining", "--set", "inspection_date=2026-11-21",
                    "--set", "referral_decision=none", "--set", "number_of_workers=3")
            elif act < 0.85:
                f, v = rng.choice([("number_of_workers", str(rng.randrange(1, 500))),
                                   ("inspector_id", "C-%d" % rng.randrange(100))])
                cli(who, "record", "edit", rng.choice(recs), "--set", "%s=%s" % (f, v))
            elif act < 0.92:
                cli(who, "record", "delete", rng.choice(recs))
            else:
                csync(who)
        # Settle: everyone syncs until nothing moves.
        for _ in range(3):
            py.sync()
            csync("c1")
            csync("c2")
        want = py.replica.state()
        for name, db in (("c1", "c1.db"), ("c2", "c2.db"), ("server", "data/fieldsyncd.db")):
            got = view_state(db)
            for part, w, g in zip(("fields", "conflicts", "deleted", "record-level conflicts"),
                                  want, got):
                if w != g:
                    raise Fail("%s disagrees with the independent client on %s:\n"
                               "only here: %s\nonly in pyclient: %s" % (
                                   name, part, sorted(g - w)[:5], sorted(w - g)[:5]))
        # Every device's chain of custody holds at rest, this client's included.
        v = subprocess.run([D, "-d", "data", "verify"], capture_output=True, text=True)
        check(v.returncode == 0, "fieldsyncd verify: %s%s" % (v.stdout, v.stderr))
        check(" 3 device(s)" in v.stdout, "verify did not see three devices: %s" % v.stdout)
        fs, cs, ds, xs = want
        check(husks[0] == 0, "%d edits refused for a required field a delete emptied" % husks[0])
        print("ok: an independent client from PROTOCOL.md and two fieldsync devices agree"
              " after %d random steps: %d values, %d open conflicts, %d deleted records,"
              " %d kept alive by an edit a delete did not see; 0 edits refused"
              % (args.steps, len(fs), len(cs), len(ds), len(xs)))
    except Fail as e:
        print("FAIL: interop (seed %d): %s" % (seed, e), file=sys.stderr)
        print("interop: kept %s" % tmp, file=sys.stderr)
        daemon and daemon.kill()
        sys.exit(1)
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
