#!/usr/bin/env python3
"""badinput.py -- the bad-input catalogue and the auth cases (docs/RELIABILITY.md).

usage: badinput.py --daemon FIELDSYNCD --cli FIELDSYNC --dev FAULT-DEV --src SOURCE_ROOT

A real fieldsyncd on 127.0.0.1 receives, one case at a time, a table of bad
requests: malformed JSON, wrong types, unknown forms, over-long and invalid
UTF-8 text, huge numbers, deep nesting, a million-element array, bodies that
do not match their Content-Encoding, zip bombs, a 100 MB body, slow headers,
path traversal, SQL metacharacters, duplicate keys; then the auth cases.
Each case names the status and error code it expects.  Around every case:

  - a hash of every table (the dump of the store) is identical before and
    after a refused request; a batch whose changes were all rejected adds
    only its answer to the batch table; data cases change only what they
    should;
  - a background client keeps asking GET /v1/health and GET /v1/pull and
    must get a 200 within 5 s every time, and, for the slow cases, at
    least once while the case runs.

Prints "badinput: N cases tried, N passed" and "auth: N cases tried, N
passed"; exits 1 at the first failure with "FAIL: case: ...".
"""

import argparse
import gzip
import json
import os
import random
import socket
import ssl
import sys
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "fault"))
from fsharness import (Client, Daemon, Failure, PgDb, Run, check, hlc_text, integrity,  # noqa: E402
                       log, main_wrapper, query, rand_hex, table_hash)

SQL_PAYLOADS = [
    "'; DROP TABLE records; --",
    "\" OR \"1\"=\"1",
    "Robert'); DELETE FROM changes WHERE ('1'='1",
    "x' UNION SELECT token_hash FROM devices --",
    "%_*\\ /* */ `; ATTACH DATABASE '/tmp/pwn.db' AS p; --",
    "\u00e9\u4e2d\U0001F600 '; UPDATE devices SET role='admin'; --",
]


class Watcher(threading.Thread):
    """Keeps asking health and pull; counts answers that were not a quick 200."""

    def __init__(self, run, port, token):
        super().__init__(daemon=True)
        self.cl = Client(run, port, timeout=5)
        self.token = token
        self.ok = 0
        self.bad = []
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        i = 0
        while not self.stop_flag.is_set():
            i += 1
            path = "/v1/health" if i % 2 else "/v1/pull?after=0&limit=5"
            t0 = time.monotonic()
            try:
                st, _, _ = self.cl.request("GET", path, token=None if i % 2 else self.token)
                dt = time.monotonic() - t0
                good = st == 200 and dt < 5
                why = f"{path}: {st} in {dt:.1f} s"
            except Exception as e:  # noqa: BLE001 - any failure counts
                good, why = False, f"{path}: {type(e).__name__}: {e}"
            with self.lock:
                if good:
                    self.ok += 1
                else:
                    self.bad.append(why)
            self.stop_flag.wait(0.05)

    def snapshot(self):
        with self.lock:
            return self.ok, len(self.bad)


class Catalogue:
    def __init__(self, run, d, watcher):
        self.run = run
        self.d = d
        self.watcher = watcher
        self.tried = 0
        self.passed = 0

    def case(self, name, expect, fn, mode="same", slow=False):
        """Runs one case; expect is (status, code) or a predicate on the result."""
        self.tried += 1
        db = self.d.db
        h_all = table_hash(db)
        h_nb = table_hash(db, exclude=("batches",))
        nb = query(db, "SELECT count(*) FROM batches")[0][0]
        h_na = table_hash(db, exclude=("audit",))
        na = query(db, "SELECT count(*) FROM audit WHERE action = 'review.denied'")[0][0]
        ok0, bad0 = self.watcher.snapshot()
        got = fn()
        if callable(expect):
            check(expect(got), f"{name}: unexpected result {got}")
        elif not isinstance(expect, tuple):
            check(got == expect, f"{name}: expected {expect}, got {got}")
        else:
            check(tuple(got) == tuple(expect), f"{name}: expected {expect}, got {got}")
        if mode == "same":
            check(table_hash(db) == h_all, f"{name}: the store changed")
        elif mode == "denied":
            # A refusal of another team's record is audited, and nothing else changes.
            check(table_hash(db, exclude=("audit",)) == h_na,
                  f"{name}: a table other than audit changed")
            check(query(db, "SELECT count(*) FROM audit WHERE action = 'review.denied'")[0][0]
                  == na + 1, f"{name}: the refusal was not audited exactly once")
        elif mode == "batch_only":
            check(table_hash(db, exclude=("batches",)) == h_nb,
                  f"{name}: a table other than batches changed")
            check(query(db, "SELECT count(*) FROM batches")[0][0] == nb + 1,
                  f"{name}: the batch answer was not kept exactly once")
        ok1, bad1 = self.watcher.snapshot()
        check(bad1 == bad0, f"{name}: other clients were disturbed: {self.watcher.bad[bad0:]}")
        if slow:
            # The watcher asks every 50 ms; give it a moment if the case was quick.
            deadline = time.monotonic() + 3
            while self.watcher.snapshot()[0] <= ok0 and time.monotonic() < deadline:
                time.sleep(0.05)
            check(self.watcher.snapshot()[0] > ok0, f"{name}: no other request was served")
        self.passed += 1


class Raw:
    """A TLS connection that sends exactly the bytes it is given."""

    def __init__(self, run, port, source="127.0.0.1", timeout=30):
        self.ctx = ssl.create_default_context(cafile=run.cert)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        self.s = self.ctx.wrap_socket(s, server_hostname="127.0.0.1")

    def send(self, data):
        self.s.sendall(data)

    def status(self):
        """Reads the answer's status line and body; (status, error code) or (None, None)."""
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except (OSError, ssl.SSLError):
            pass
        if not buf.startswith(b"HTTP/1."):
            return None, None
        head, _, body = buf.partition(b"\r\n\r\n")
        status = int(head.split()[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        try:
            while len(body) < length:
                chunk = self.s.recv(65536)
                if not chunk:
                    break
                body += chunk
        except (OSError, ssl.SSLError):
            pass
        try:
            return status, json.loads(body).get("error")
        except ValueError:
            return status, None

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def main_catalogue(args):
    run = Run(args, "badinput")
    rng = random.Random(args.seed)
    watcher = None
    try:
        run.make_cert()
        d = Daemon(run, conf={"connection_timeout": 3, "max_per_ip": 32})
        d.publish_forms()
        tok = {n: d.add_device(n, role, team) for n, role, team in [
            ("raw", "field", "north"), ("north2", "field", "north"), ("south1", "field", "south"),
            ("rev", "reviewer", "hq"), ("adm", "admin", "hq"), ("gone", "field", "north")]}
        d.admin("device", "revoke", "gone")
        d.start()
        cl = Client(run, d.port)
        RAW, SOUTH, N2 = rand_hex(16, rng), rand_hex(16, rng), rand_hex(16, rng)
        counter = [0]
        batches = [0]

        def stamp(dev=RAW):
            counter[0] += 1
            return hlc_text(int(time.time() * 1000), counter[0] % 60000, dev)

        def change(fields=None, dev=RAW, **over):
            ch = {"id": rand_hex(32, rng), "form": "labor_inspection",
                  "form_version": run.form_version(), "op": "upsert", "hlc": stamp(dev),
                  "fields": fields if fields is not None else {
                      "worksite_name": "Site", "sector": "mining",
                      "inspection_date": "2026-11-20", "referral_decision": "none"},
                  "base": {}}
            ch.update(over)
            return ch

        def new_batch():
            batches[0] += 1
            return f"b{batches[0]}"

        def outcome(st, js):
            if st == 200 and js is not None and "rejected" in js:
                if js["rejected"]:
                    return 200, "rejected:" + js["rejected"][0]["error"]
                return 200, "accepted"
            return st, (js or {}).get("error")

        def push(changes, token=None, dev=RAW, encoding="gzip", headers=None):
            body = {"device": dev, "batch": new_batch(), "changes": changes}
            st, _, js = cl.push(token or tok["raw"], body, encoding=encoding, headers=headers)
            return outcome(st, js)

        def push_bytes(raw, token=None, encoding="gzip", headers=None):
            st, _, js = cl.push(token or tok["raw"], raw, encoding=encoding, headers=headers)
            return outcome(st, js)

        def envelope_bytes(change_bytes):
            return (b'{"device":"' + RAW.encode() + b'","batch":"' + new_batch().encode()
                    + b'","changes":[' + change_bytes + b"]}")

        # Bind the tokens to their device ids and leave some data in the store.
        check(push([change() for _ in range(5)]) == (200, "accepted"), "seed push failed")
        check(push([change(dev=SOUTH)], token=tok["south1"], dev=SOUTH) == (200, "accepted"),
              "seed push (south) failed")
        check(push([change(dev=N2)], token=tok["north2"], dev=N2) == (200, "accepted"),
              "seed push (north2) failed")
        watcher = Watcher(run, d.port, tok["north2"])
        watcher.start()
        c = Catalogue(run, d, watcher)
        R = "batch_only"  # a batch whose changes were all rejected keeps only its answer

        # Malformed JSON and wrong types.
        c.case("malformed JSON", (400, "bad_json"), lambda: push_bytes(b'{"device":'))
        c.case("trailing garbage", (400, "bad_json"),
               lambda: push_bytes(json.dumps({"device": RAW}).encode() + b" xx"))
        c.case("body is an array", (400, "bad_request"), lambda: push_bytes(b"[1,2,3]"))
        c.case("empty body", (400, "bad_json"), lambda: push_bytes(b"", encoding=None))
        c.case("device is a number", (400, "bad_request"),
               lambda: push_bytes(json.dumps({"device": 12, "batch": "x", "changes": [
                   change()]}).encode()))
        c.case("batch is an object", (400, "bad_request"),
               lambda: push_bytes(json.dumps({"device": RAW, "batch": {"a": 1}, "changes": [
                   change()]}).encode()))
        c.case("changes is an object", (400, "bad_request"),
               lambda: push_bytes(json.dumps({"device": RAW, "batch": "x", "changes": {}}).encode()))
        c.case("no changes", (400, "bad_request"), lambda: push([]))
        c.case("change is a number", (200, "rejected:invalid"), lambda: push([42]), mode=R)
        c.case("form_version is a string", (200, "rejected:invalid"),
               lambda: push([change(form_version="1")]), mode=R)
        c.case("op is unknown", (200, "rejected:invalid"), lambda: push([change(op="merge")]),
               mode=R)
        c.case("hlc malformed", (200, "rejected:invalid"),
               lambda: push([change(hlc="0000000000000001-XYZ")]), mode=R)
        c.case("hlc of another device", (200, "rejected:wrong_device"),
               lambda: push([change(hlc=stamp(SOUTH))]), mode=R)
        c.case("integer field is text", (200, "rejected:invalid"),
               lambda: push([change({"number_of_workers": "many"})]), mode=R)
        c.case("boolean field is 1", (200, "rejected:invalid"),
               lambda: push([change({"deception": 1})]), mode=R)
        c.case("geopoint is a string", (200, "rejected:invalid"),
               lambda: push([change({"location": "10,20"})]), mode=R)
        c.case("unknown key in a change", (200, "rejected:invalid"),
               lambda: push([change(extra={"x": "y" * 1000})]), mode=R)
        c.case("sig is an object", (200, "rejected:invalid"),
               lambda: push([change(sig={"a": [1] * 1000})]), mode=R)
        c.case("sig too long", (200, "rejected:invalid"),
               lambda: push([change(sig="s" * 5000)]), mode=R)
        # Unknown form or version.
        c.case("unknown form", (200, "rejected:unknown_form"),
               lambda: push([change(form="no_such_form")]), mode=R)
        c.case("unknown version", (200, "rejected:unknown_form"),
               lambda: push([change(form_version=99)]), mode=R)
        c.case("unknown field", (200, "rejected:invalid"),
               lambda: push([change({"no_such_field": 1})]), mode=R)
        # Too long.
        c.case("text past max_length", (200, "rejected:invalid"),
               lambda: push([change({"worksite_name": "w" * 201})]), mode=R)
        c.case("text past the default cap", (200, "rejected:invalid"),
               lambda: push([change({"inspector_id": "i" * 70000})]), mode=R)
        c.case("form id too long", (200, "rejected:invalid"),
               lambda: push([change(form="f" * 5000)]), mode=R)
        c.case("batch id too long", (400, "bad_request"),
               lambda: push_bytes(json.dumps({"device": RAW, "batch": "b" * 65,
                                              "changes": [change()]}).encode()))
        # Invalid UTF-8.
        bad_utf8 = json.dumps(change({"worksite_name": "@@"})).encode().replace(
            b"@@", b"\xff\xfe\xc0\xaf")
        c.case("invalid UTF-8 in text", (200, "rejected:invalid"),
               lambda: push_bytes(envelope_bytes(bad_utf8)), mode=R)
        surrogate = json.dumps(change({"worksite_name": "@@"})).encode().replace(
            b"@@", b"\\ud800")
        c.case("lone surrogate escape", (400, "bad_json"),
               lambda: push_bytes(envelope_bytes(surrogate)))
        overlong = json.dumps(change({"worksite_name": "@@"})).encode().replace(
            b"@@", b"\xed\xa0\x80")
        c.case("encoded surrogate", (200, "rejected:invalid"),
               lambda: push_bytes(envelope_bytes(overlong)), mode=R)
        bad_key = json.dumps(change({"@@": 1})).encode().replace(b"@@", b"\xff")
        c.case("invalid UTF-8 in a key", (200, "rejected:invalid"),
               lambda: push_bytes(envelope_bytes(bad_key)), mode=R)
        c.case("invalid UTF-8 in the batch id", (400, "bad_request"),
               lambda: push_bytes(b'{"device":"' + RAW.encode() + b'","batch":"\xff",'
                                  b'"changes":[' + json.dumps(change()).encode() + b"]}"))
        c.case("\\u0000 escape", (400, "bad_json"),
               lambda: push_bytes(envelope_bytes(json.dumps(change({"worksite_name": "a\u0000b"})
                                                           ).encode())))
        c.case("NUL byte in the body", (400, "bad_json"),
               lambda: push_bytes(envelope_bytes(json.dumps(change()).encode()) + b"\0"))
        # Huge numbers.
        c.case("integer 1e400", (200, "rejected:invalid"),
               lambda: push_bytes(envelope_bytes(json.dumps(change({"number_of_workers": 7})
                                                           ).encode().replace(b"7", b"1e400", 1))),
               mode=R)
        c.case("integer past 2^53", (200, "rejected:invalid"),
               lambda: push([change({"number_of_workers": 9007199254740993})]), mode=R)
        c.case("latitude 1e308", (200, "rejected:invalid"),
               lambda: push([change({"location": {"lat": 1e308, "lon": 0}})]), mode=R)
        c.case("form_version 1e300", (200, "rejected:invalid"),
               lambda: push([change(form_version=1e300)]), mode=R)
        c.case("negative cursor", (400, "bad_request"),
               lambda: pull_status(cl, tok["north2"], "after=-1"))
        c.case("limit past 5000", (400, "bad_request"),
               lambda: pull_status(cl, tok["north2"], "limit=5001"))
        # Deep nesting.
        c.case("100000 nested arrays", (400, "bad_json"),
               lambda: push_bytes(b"[" * 100000 + b"]" * 100000))
        deep = b"[" * 900 + b"1" + b"]" * 900
        c.case("900 nested arrays in a value", (200, "rejected:invalid"),
               lambda: push_bytes(envelope_bytes(json.dumps(change({"location": 0})).encode()
                                                 .replace(b'"location": 0', b'"location": ' + deep))),
               mode=R)
        # A million elements.
        c.case("a million changes", (413, "too_large"),
               lambda: push_bytes(b'{"device":"' + RAW.encode() + b'","batch":"m","changes":['
                                  + b",".join([b"0"] * 1000000) + b"]}"), slow=True)
        c.case("a million choices", (413, "too_large"),
               lambda: push([change({"control_signs": ["x"] * 1000000}, form="border_screening")]),
               slow=True)
        c.case("a million base stamps", (413, "too_large"),
               lambda: push([change({"number_of_workers": 1}, base={"number_of_workers": [
                   hlc_text(1, 0, RAW)] * 1000000})]), slow=True)
        c.case("a million keys in base", (413, "too_large"),
               lambda: push([change({"number_of_workers": 1},
                                    base={f"k{i}": hlc_text(1, 0, RAW) for i in range(1000000)})]),
               slow=True)
        # Body and Content-Encoding.
        good = json.dumps({"device": RAW, "batch": "enc", "changes": [change()]}).encode()
        c.case("gzip label, plain body", (400, "corrupt"),
               lambda: push_bytes(good, encoding="gzip-raw"))
        c.case("deflate label, gzip body", (400, "corrupt"),
               lambda: push_bytes(gzip.compress(good), encoding="deflate"))
        c.case("truncated gzip", (400, "corrupt"),
               lambda: push_bytes(gzip.compress(good)[:-9], encoding="gzip-raw"))
        c.case("gzip with trailing junk", (400, "corrupt"),
               lambda: push_bytes(gzip.compress(good) + b"junk", encoding="gzip-raw"))
        c.case("unknown encoding", (415, "unsupported_encoding"),
               lambda: push_bytes(good, encoding="br"))
        # Zip bombs.
        bomb1g = gzip_zeros(1 << 30)
        stacked = gzip.compress(gzip.compress(bomb1g, 9), 9)
        c.case(f"zip bomb: {len(bomb1g) // 1024} KiB gzip of 1 GiB", (413, "too_large"),
               lambda: push_bytes(bomb1g, encoding="gzip-raw"), slow=True)
        c.case(f"zip bomb: {len(stacked)} bytes, gzip three times over 1 GiB",
               (415, "unsupported_encoding"),
               lambda: push_bytes(stacked, encoding="gzip, gzip, gzip"))
        c.case(f"zip bomb: {len(stacked)} bytes labelled gzip once", (400, "bad_json"),
               lambda: push_bytes(stacked, encoding="gzip-raw"))
        member = gzip.compress(b"\0" * (1 << 20), 9)
        members = member * 1100
        c.case(f"zip bomb: 1100 gzip members of 1 MiB ({len(members) // 1024} KiB)",
               (413, "too_large"), lambda: push_bytes(members, encoding="gzip-raw"), slow=True)
        zlib_bomb = zlib.compress(b"[" * (80 << 20), 9)
        c.case(f"zip bomb: deflate {len(zlib_bomb) // 1024} KiB to 80 MiB", (413, "too_large"),
               lambda: push_bytes(zlib_bomb, encoding="deflate"), slow=True)
        hwm = peak_rss_kib(d.proc.pid)
        check(run.asan or hwm < 512 * 1024, f"the daemon's peak memory reached {hwm} KiB")

        # 100 MB bodies.
        def big_declared():
            r = Raw(run, d.port)
            r.send(b"POST /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                   tok["raw"].encode() + b"\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 104857600\r\n\r\n")
            out = r.status()
            r.close()
            return out

        c.case("100 MB body (Content-Length)", (413, "too_large"), big_declared)

        def big_chunked():
            r = Raw(run, d.port, timeout=20)
            r.send(b"POST /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                   tok["raw"].encode() + b"\r\nContent-Type: application/json\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n" % 65536 + b"a" * 65536 + b"\r\n"
            sent = 0
            try:
                while sent < 100 * 1000 * 1000:
                    r.send(chunk)
                    sent += 65536
            except (OSError, ssl.SSLError):
                pass
            out = r.status()
            r.close()
            # Refused with 413, or cut off long before 100 MB.
            return out if out[0] is not None else ("closed", sent < 60 * 1000 * 1000)

        c.case("100 MB body (chunked)", lambda got: got == (413, "too_large")
               or got == ("closed", True), big_chunked, slow=True)

        # Slow headers.
        def slowloris():
            conns = []
            refused = 0
            for _ in range(40):
                try:
                    r = Raw(run, d.port, source="127.0.0.2", timeout=5)
                    r.send(b"GET /v1/health HTTP/1.1\r\n")
                    conns.append(r)
                except (OSError, ssl.SSLError):
                    refused += 1
            ok0 = watcher.snapshot()[0]
            t_end = time.monotonic() + 4
            alive = list(conns)
            while time.monotonic() < t_end:
                for r in list(alive):
                    try:
                        r.send(b"X")
                    except (OSError, ssl.SSLError):
                        alive.remove(r)
                time.sleep(0.4)
            served = watcher.snapshot()[0] - ok0
            # Now they stall: the connection timeout (3 s) must close them.
            time.sleep(3 + 3 * run.slow)
            still = 0
            for r in alive:
                try:
                    r.s.settimeout(0.5)
                    data = r.s.recv(1)
                    still += data != b""
                except socket.timeout:
                    still += 1
                except (OSError, ssl.SSLError):
                    pass
                r.close()
            return len(conns) <= 32 + 1, served > 10, still

        c.case("slowloris: 40 trickling connections from 127.0.0.2", (True, True, 0), slowloris,
               slow=True)

        def half_handshake():
            s = socket.create_connection(("127.0.0.1", d.port), timeout=15)
            s.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            t0 = time.monotonic()
            closed = False
            try:
                while s.recv(4096):  # perhaps an alert, then the close
                    pass
                closed = True
            except socket.timeout:
                pass
            except OSError:
                closed = True
            s.close()
            return closed, time.monotonic() - t0 < 3 + 4 * run.slow

        c.case("stalled TLS handshake closed by the timeout", (True, True), half_handshake,
               slow=True)

        def plain_http():
            s = socket.create_connection(("127.0.0.1", d.port), timeout=15)
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                data = s.recv(100)
            except OSError:
                data = b""
            s.close()
            return not data.startswith(b"HTTP/1.1 200")

        c.case("plain HTTP to the TLS port", True, plain_http)

        # Path traversal and odd paths.
        for path, want in [
                ("/v1/../etc/passwd", (400, "bad_path")),
                ("/v1/%2e%2e/%2e%2e/etc/passwd", (400, "bad_path")),
                ("/v1/health/..", (400, "bad_path")),
                ("/..%2f..%2fetc%2fpasswd", (400, "bad_path")),
                ("/v1/pull%00", (400, "bad_path")),
                ("/v1\\health", (400, "bad_path")),
                ("/app.js/../../fieldsyncd.db", (400, "bad_path")),
                ("/%2E%2E/data/fieldsyncd.db", (400, "bad_path")),
                ("//etc/passwd", (404, "not_found")),
                ("/v1/./health", (404, "not_found")),
                ("/fieldsyncd.db", (404, "not_found"))]:
            c.case(f"path {path}", want, lambda p=path: get_status(cl, p, tok["north2"]))

        def raw_path(p):
            r = Raw(run, d.port)
            r.send(b"GET " + p + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            out = r.status()
            r.close()
            return out

        c.case("control character in the path", lambda got: got[0] == 400,
               lambda: raw_path(b"/v1/he\x01alth"))
        c.case("absolute URL with ..", lambda got: got[0] in (400, 404),
               lambda: raw_path(b"http://127.0.0.1/../../etc/passwd"))
        c.case("method not allowed", (405, "method_not_allowed"),
               lambda: get_status(cl, "/v1/push", tok["raw"]))
        c.case("SQL in the cursor", (400, "bad_request"),
               lambda: pull_status(cl, tok["north2"], "after=0%20OR%201=1"))
        c.case("SQL in the limit", (400, "bad_request"),
               lambda: pull_status(cl, tok["north2"], "limit=5;DROP%20TABLE%20changes"))

        # SQL metacharacters in every text field: data, stored verbatim.
        text_fields = {
            "labor_inspection": ["worksite_name", "inspector_id", "interviewee_name",
                                 "interview_notes", "referral_agency"],
            "border_screening": ["checkpoint", "traveller_name", "travel_document_number",
                                 "nationality", "recruiter_name", "recruiter_phone",
                                 "officer_notes"],
        }
        required = {
            "labor_inspection": {"sector": "mining", "inspection_date": "2026-11-20",
                                 "referral_decision": "none"},
            "border_screening": {"screening_time": "2026-11-20T10:00:00Z",
                                 "document_holder": "traveller", "is_minor": False,
                                 "referral": "none"},
        }
        check_choices(run, required)
        for form, names in text_fields.items():
            for payload in SQL_PAYLOADS:
                fields = dict(required[form])
                for n in names:
                    fields[n] = payload.encode()[:40].decode("utf-8", "ignore") \
                        if n == "travel_document_number" else payload
                if form == "labor_inspection":
                    fields["employer_contact_phone"] = "(12) -- 34"
                ch = change(fields, form=form)

                def sql_case(ch=ch, fields=fields):
                    counts = {t: query(d.db, f"SELECT count(*) FROM {t}")[0][0]
                              for t in ("devices", "forms", "audit", "records", "changes")}
                    out = push([ch])
                    if out != (200, "accepted"):
                        return out
                    for t, n in counts.items():
                        grew = query(d.db, f"SELECT count(*) FROM {t}")[0][0] - n
                        want = 1 if t in ("records", "changes") else 0
                        if grew != want:
                            return f"table {t} changed by {grew}"
                    for n, v in fields.items():
                        stored = query(d.db, "SELECT value FROM fields WHERE record_id = ?"
                                             " AND name = ?", (ch["id"], n))
                        if not stored or json.loads(stored[0][0]) != v:
                            return f"field {n} not stored verbatim"
                    st, _, js = cl.request("GET", "/v1/pull?after=0&limit=5000",
                                           token=tok["north2"])
                    got = [x["change"] for x in js["changes"] if x["change"]["id"] == ch["id"]]
                    if len(got) != 1 or got[0]["fields"] != fields:
                        return "not pulled back verbatim"
                    return (200, "accepted")

                c.case(f"SQL text in every {form} text field: {payload[:24]!r}",
                       (200, "accepted"), sql_case, mode="data")
        tables = {r[0] for r in query(d.db, "SELECT table_name FROM information_schema.tables"
                                            " WHERE table_schema = 'public'"
                                            if isinstance(d.db, PgDb) else
                                            "SELECT name FROM sqlite_master"
                                            " WHERE type IN ('table', 'view')")}
        check({"devices", "forms", "changes", "records", "fields", "batches"} <= tables,
              "a table disappeared")
        check(query(d.db, "SELECT count(*) FROM devices WHERE role = 'admin'")[0][0] == 1,
              "a device became admin")

        # Duplicate keys.
        dup_change = json.dumps(change()).encode()
        dup_change = dup_change[:-1] + b', "hlc": "' + stamp().encode() + b'"}'
        c.case("duplicate key in a change", (200, "rejected:invalid"),
               lambda: push_bytes(envelope_bytes(dup_change)), mode=R)
        dup_field = json.dumps(change({"worksite_name": "a"})).encode().replace(
            b'"worksite_name": "a"', b'"worksite_name": "a", "worksite_name": "b"')
        c.case("duplicate field", (200, "rejected:invalid"),
               lambda: push_bytes(envelope_bytes(dup_field)), mode=R)
        dup_base = json.dumps(change({"number_of_workers": 3}, base={
            "number_of_workers": hlc_text(1, 0, RAW)})).encode().replace(
            b'"base": {', b'"base": {"number_of_workers": "' + hlc_text(2, 0, RAW).encode()
            + b'", ')
        c.case("duplicate key in base", (200, "rejected:invalid"),
               lambda: push_bytes(envelope_bytes(dup_base)), mode=R)
        dup_geo = json.dumps(change({"location": {"lat": 1, "lon": 2}})).encode().replace(
            b'"lat": 1', b'"lat": 1, "lat": 80')
        c.case("duplicate key in a geopoint", (200, "rejected:invalid"),
               lambda: push_bytes(envelope_bytes(dup_geo)), mode=R)
        ch_env = change()

        def dup_envelope():
            b1, b2 = new_batch(), new_batch()
            raw = (b'{"device":"' + RAW.encode() + b'","batch":"' + b1.encode() +
                   b'","batch":"' + b2.encode() + b'","changes":[' +
                   json.dumps(ch_env).encode() + b"]}")
            out = push_bytes(raw)
            if out == (400, "bad_request"):
                return "refused"
            # Accepted: the first key must win and nothing stored may hold
            # the duplicate (the envelope is not stored).
            first = query(d.db, "SELECT count(*) FROM batches WHERE batch = ?", (b1,))[0][0]
            second = query(d.db, "SELECT count(*) FROM batches WHERE batch = ?", (b2,))[0][0]
            return "first key wins" if out == (200, "accepted") and first == 1 and \
                second == 0 else f"{out} {first} {second}"

        c.case("duplicate key in the envelope", lambda got: got in ("refused", "first key wins"),
               dup_envelope, mode="data")

        check(integrity(d.db) == ["ok"], "store damaged")
        log(f"badinput: {c.tried} cases tried, {c.passed} passed"
            f" (other clients served {watcher.snapshot()[0]} requests meanwhile, none failed;"
            f" {run.elapsed():.1f} s)")

        # --- auth -----------------------------------------------------------
        a = Catalogue(run, d, watcher)

        def with_header(path, value):
            st, _, js = cl.request("GET", path, headers={"Authorization": value} if value else {})
            return st, (js or {}).get("error")

        t = tok["north2"]
        for name, value in [
                ("no token", None),
                ("empty header", ""),
                ("Basic scheme", "Basic " + t),
                ("Bearer without token", "Bearer "),
                ("token too short", "Bearer " + t[:63]),
                ("token too long", "Bearer " + t + "0"),
                ("token upper case", "Bearer " + t.upper()),
                ("two spaces", "Bearer  " + t),
                ("token with NUL", "Bearer " + t[:10] + "%00" + t[13:]),
                ("token in quotes", 'Bearer "' + t + '"'),
                ("wrong token", "Bearer " + rand_hex(64, rng)),
                ("revoked token", "Bearer " + tok["gone"])]:
            a.case(f"pull with {name}", (401, "unauthorized"),
                   lambda v=value: with_header("/v1/pull", v))
        a.case("push with a revoked token", (401, "unauthorized"),
               lambda: push([change()], token=tok["gone"]))
        a.case("token in the URL is not a token", (401, "unauthorized"),
               lambda: get_status(cl, "/v1/pull?token=" + t, None))
        # A field token sees its own team only.

        def south_pull():
            st, _, js = cl.request("GET", "/v1/pull?after=0&limit=5000", token=tok["south1"])
            devs = {x["change"]["hlc"][17:] for x in js["changes"]}
            return st, devs == {SOUTH}

        a.case("south field token pulls only south", (200, True), south_pull)
        north_id = query(d.db, "SELECT record_id FROM changes WHERE device = ? LIMIT 1",
                         (RAW,))[0][0]
        a.case("south token edits a north record", (200, "rejected:forbidden"),
               lambda: push([change({"number_of_workers": 9}, dev=SOUTH, id=north_id)],
                            token=tok["south1"], dev=SOUTH), mode=R)

        def mixed_batch():
            # A change refused before the writer lock (bad value) after one
            # refused under it (another team's record): answered in batch order.
            body = {"device": SOUTH, "batch": new_batch(), "changes": [
                change({"number_of_workers": 9}, dev=SOUTH, id=north_id),
                change({"number_of_workers": -5}, dev=SOUTH),
                change(dev=SOUTH)]}
            st, _, js = cl.push(tok["south1"], body)
            return st, [(r["index"], r["error"]) for r in js["rejected"]], js["accepted"]
        a.case("mixed batch: rejections in batch order", (200, [(0, "forbidden"), (1, "invalid")], 1),
               mixed_batch, mode="any")
        a.case("token claims another device id", (403, "device_mismatch"),
               lambda: push([change(dev=SOUTH)], token=tok["raw"], dev=SOUTH))
        captured = {"device": RAW, "batch": "captured-1", "changes": [change()]}
        check(outcome(*cl.push(tok["raw"], captured)[::2]) == (200, "accepted"),
              "capture push failed")
        a.case("captured batch replayed with another token", (403, "device_mismatch"),
               lambda: outcome(*cl.push(tok["north2"], captured)[::2]))
        newdev = rand_hex(16, rng)
        tok_new = d.add_device("fresh")
        a.case("new token claims a bound device id", (403, "device_taken"),
               lambda: push([change(dev=RAW)], token=tok_new, dev=RAW))
        # The review API, where it exists.
        st, _, _ = cl.request("GET", "/v1/review/records", token=tok["rev"])
        review = st != 404
        if review:
            a.case("field token on the review API", (403, "forbidden"),
                   lambda: get_status(cl, "/v1/review/records", tok["north2"]))
            a.case("field token exports", (403, "forbidden"),
                   lambda: get_status(cl, "/v1/review/export", tok["north2"]))
            a.case("field token reads a north record through review", (403, "forbidden"),
                   lambda: get_status(cl, f"/v1/review/records/{north_id}", tok["south1"]))
            a.case("no token on the review API", (401, "unauthorized"),
                   lambda: get_status(cl, "/v1/review/records", None))
            a.case("reviewer reads the review API", lambda got: got[0] == 200,
                   lambda: get_status(cl, "/v1/review/records", tok["rev"]))
            # rev is a reviewer of team hq only: north's records are not its own.
            a.case("reviewer of another team reads a north record", (403, "forbidden"),
                   lambda: get_status(cl, f"/v1/review/records/{north_id}", tok["rev"]),
                   mode="denied")
            a.case("reviewer of another team reveals in a north record", (403, "forbidden"),
                   lambda: post_status(cl, f"/v1/review/records/{north_id}/reveal", tok["rev"]),
                   mode="denied")
            # Sensitive values leave only through the audited reveal.
            a.case("reviewer filters on a sensitive field", (400, "sensitive_filter"),
                   lambda: get_status(cl, "/v1/review/records?flag=interviewee_name", tok["rev"]))
            a.case("reviewer exports filtered on a sensitive field", (400, "sensitive_filter"),
                   lambda: get_status(cl, "/v1/review/export?form=labor_inspection"
                                      "&interviewee_name=true", tok["rev"]))
            # Referrals (issue 20): refused before anything is written.
            def post_json(path, token, body):
                st, _, js = cl.request("POST", path, body=body, token=token,
                                       headers={"Content-Type": "application/json"})
                return st, (js or {}).get("error")
            a.case("field token refers a record", (403, "forbidden"),
                   lambda: post_status(cl, f"/v1/review/records/{north_id}/refer", tok["north2"]))
            a.case("reviewer of another team refers a north record", (403, "forbidden"),
                   lambda: post_status(cl, f"/v1/review/records/{north_id}/refer", tok["rev"]),
                   mode="denied")
            a.case("admin refers without agency or reason", (400, "bad_request"),
                   lambda: post_status(cl, f"/v1/review/records/{north_id}/refer", tok["adm"]))
            a.case("admin refers to an unknown agency", (400, "unknown_agency"),
                   lambda: post_json(f"/v1/review/records/{north_id}/refer", tok["adm"],
                                     b'{"agency":"nosuch","reason":"x"}'))
            a.case("referral with a reason over 2000 bytes", (400, "bad_request"),
                   lambda: post_json(f"/v1/review/records/{north_id}/refer", tok["adm"],
                                     b'{"agency":"hs","reason":"' + b"x" * 5000 + b'"}'))
            a.case("answer to an unknown referral", (404, "not_found"),
                   lambda: post_json("/v1/review/referrals/" + "0" * 32, tok["adm"],
                                     b'{"status":"accepted"}'))
            a.case("answer with a status that is not one", (400, "bad_request"),
                   lambda: post_json("/v1/review/referrals/" + "0" * 32, tok["adm"],
                                     b'{"status":["accepted"]}'))
            a.case("referrals listed with a bad parameter", (400, "bad_request"),
                   lambda: get_status(cl, "/v1/review/referrals?to=them", tok["adm"]))
        a.case("reviewer pulls raw changes", (403, "forbidden"),
               lambda: get_status(cl, "/v1/pull?after=0", tok["rev"]))

        def admin_pull():
            before = query(d.db, "SELECT count(*) FROM audit WHERE action = 'sync.pull'"
                           " AND actor = 'adm'")[0][0]
            st, _, js = cl.request("GET", "/v1/pull?after=0&limit=5", token=tok["adm"])
            after = query(d.db, "SELECT count(*) FROM audit WHERE action = 'sync.pull'"
                          " AND actor = 'adm'")[0][0]
            return st, after - before
        a.case("admin pull of every team is audited", (200, 1), admin_pull, mode="audit")
        # Admin actions have no HTTP route: a reviewer (or anyone) finds none.
        for path in ("/v1/devices", "/v1/admin/devices", "/v1/forms/publish", "/v1/admin"):
            a.case(f"reviewer tries admin {path}", lambda got: got[0] in (404, 405),
                   lambda p=path: post_status(cl, p, tok["rev"]))
        a.case("reviewer cannot publish forms by POST", lambda got: got[0] in (404, 405),
               lambda: post_status(cl, "/v1/forms", tok["rev"]))
        del newdev
        check(integrity(d.db) == ["ok"], "store damaged")
        watcher.stop_flag.set()
        watcher.join(10)
        check(not watcher.bad, f"the background client failed: {watcher.bad[:3]}")
        text = d.log_text()
        for secret in tok.values():
            check(secret not in text, "a token reached the daemon log")
        check("DROP TABLE" not in text and "Robert" not in text, "a field value reached the log")
        d.stop()
        log(f"auth: {a.tried} cases tried, {a.passed} passed (review API"
            f" {'checked' if review else 'absent'}; token comparison: daemon/auth.c"
            f" auth_ct_equal, constant time)")
    except BaseException:
        if watcher is not None:
            watcher.stop_flag.set()
        run.close(keep=True)
        print(f"badinput: kept {run.dir}", file=sys.stderr)
        raise
    run.close()


def gzip_zeros(n):
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    out = [co.compress(block) for _ in range(n >> 20)]
    out.append(co.flush())
    return b"".join(out)


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as fp:
        for line in fp:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def get_status(cl, path, token):
    st, _, js = cl.request("GET", path, token=token)
    return st, (js or {}).get("error")


def post_status(cl, path, token):
    st, _, js = cl.request("POST", path, body=b"{}", token=token,
                           headers={"Content-Type": "application/json"})
    return st, (js or {}).get("error")


def pull_status(cl, token, query_string):
    return get_status(cl, "/v1/pull?" + query_string, token)


def check_choices(run, required):
    """The fixed values used in the SQL cases are valid choices of the shipped forms."""
    for form, values in required.items():
        with open(os.path.join(run.src, "tests", "fixtures", "forms", form + ".json")) as fp:
            defn = json.load(fp)
        byname = {f["name"]: f for f in defn["fields"]}
        for k, v in values.items():
            if "choices" in byname[k]:
                names = [c["value"] if isinstance(c, dict) else c for c in byname[k]["choices"]]
                check(v in names, f"{form}.{k}: '{v}' is not a choice ({names})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--dev", default=None)
    ap.add_argument("--src", required=True)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().getrandbits(32)
    main_wrapper(lambda: main_catalogue(args))


if __name__ == "__main__":
    main()
