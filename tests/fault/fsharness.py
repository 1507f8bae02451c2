"""fsharness.py -- shared pieces of the fault and bad-input suites.

A real fieldsyncd on 127.0.0.1 with a throwaway certificate, devices driven
through the `fieldsync` tool and the `fault-dev` helper (public API only),
direct HTTPS requests, and the store checks every scenario ends with:
PRAGMA integrity_check, a hash of every table, the exact set of changes a
device saved against the set the server holds.

Python standard library only.  Every wait is bounded; every process this
module starts is killed by Run.close() (also on failure).  Traffic goes to
127.0.0.1 only.
"""

import gzip
import hashlib
import http.client
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time

FAKETIME_LIBS = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/faketime/libfaketimeMT.so.1",
]


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "==ERROR", "WARNING: ThreadSanitizer")


def sanitizer_report(text):
    """The first sanitizer report line in text, or None."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    for line in text.splitlines():
        if any(m in line for m in SANITIZER_MARKS):
            return line.strip()
    return None


def log(msg):
    print(msg, flush=True)


def is_asan(binary):
    """True if binary links AddressSanitizer (the sanitizer CI build)."""
    try:
        out = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "libasan" in out or "libclang_rt.asan" in out


def faketime_lib():
    for p in FAKETIME_LIBS:
        if os.path.exists(p):
            return p
    return None


# --- The server's store: SQLite, or PostgreSQL (issue 18) ----------------
#
# FS_STORE_KIND=postgresql (tests/pg/with-pg.sh) gives every Daemon a fresh
# database on the throwaway server; its `db` is then a PgDb, and the checks
# below (integrity, table_hash, query, state, ...) take either.

STORE_KIND = os.environ.get("FS_STORE_KIND", "sqlite")


class PgDb:
    """A PostgreSQL store, read with psql (standard library only)."""

    def __init__(self, conninfo):
        self.conninfo = conninfo

    def __str__(self):
        return "postgresql store"


def pg_createdb(name):
    r = subprocess.run([os.environ["FS_PG_SCRIPT"], "createdb", os.environ["FS_PG_DIR"], name],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"createdb {name}: {r.stderr.strip()}")
    return r.stdout.strip()


def pg_query(db, sql, args=()):
    """Rows as tuples, typed through JSON (numbers int, texts str, NULL None)."""
    n = 0

    def param(_m):
        nonlocal n
        n += 1
        return f":'p{n}'"

    body = re.sub(r"\?", param, sql).strip().rstrip(";")
    cmd = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db.conninfo]
    for i, a in enumerate(args, 1):
        cmd += ["-v", f"p{i}={a}"]
    r = subprocess.run(cmd, input=f"SELECT row_to_json(q)::text FROM ({body}) q;\n",
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, f"psql: {r.stderr.strip()[-300:]}")
    return [tuple(json.loads(line).values()) for line in r.stdout.splitlines() if line]


PG_TABLES = ("devices", "forms", "changes", "records", "batches", "review_events", "audit",
             "chain_refused", "device_keys", "history", "seal_keys", "server_meta")


# --- SQLite checks -------------------------------------------------------


def connect(path):
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    con.execute("PRAGMA busy_timeout=30000")
    return con


def integrity(path):
    if isinstance(path, PgDb):
        # PostgreSQL keeps its own pages whole (WAL, checksums): readable is the check.
        pg_query(path, "SELECT count(*) FROM changes")
        return ["ok"]
    con = connect(path)
    try:
        rows = con.execute("PRAGMA integrity_check").fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def table_hash(path, exclude=()):
    """sha256 of the dump of every table (as `sqlite3 .dump | sha256sum`)."""
    if isinstance(path, PgDb):
        h = hashlib.sha256()
        for t in PG_TABLES:
            if t in exclude:
                continue
            for row in pg_query(path, f"SELECT row_to_json(x)::text AS r FROM {t} x ORDER BY 1"):
                h.update(row[0].encode("utf-8", "surrogatepass") + b"\n")
        return h.hexdigest()
    con = connect(path)
    h = hashlib.sha256()
    try:
        con.execute("BEGIN")
        for line in con.iterdump():
            if any(line.startswith(f'INSERT INTO "{t}" ') for t in exclude):
                continue
            h.update(line.encode("utf-8", "surrogatepass"))
            h.update(b"\n")
        con.execute("COMMIT")
    finally:
        con.close()
    return h.hexdigest()


def query(path, sql, args=()):
    if isinstance(path, PgDb):
        return pg_query(path, sql, args)
    con = connect(path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def state(path):
    """Current field values and open conflicts: the same query on every replica."""
    if isinstance(path, PgDb):
        return (pg_query(path, "SELECT record_id, name, coalesce(value, 'null'), stamp FROM fields"
                               " ORDER BY 1, 2"),
                pg_query(path, "SELECT record_id, name, stamp FROM conflicts ORDER BY 1, 2, 3"))
    con = connect(path)
    try:
        f = con.execute("SELECT record_id, name, coalesce(value, 'null'), stamp FROM fields"
                        " ORDER BY 1, 2").fetchall()
        c = con.execute("SELECT record_id, name, stamp FROM conflicts ORDER BY 1, 2, 3").fetchall()
    finally:
        con.close()
    return f, c


# --- processes -------------------------------------------------------------


class Run:
    """One scenario's temporary directory, certificate and processes."""

    def __init__(self, args, name):
        self.args = args
        self.name = name
        self.src = os.path.realpath(args.src)
        self.daemon_bin = os.path.realpath(args.daemon)
        self.cli_bin = os.path.realpath(args.cli)
        self.dev_bin = os.path.realpath(args.dev) if getattr(args, "dev", None) else None
        self.asan = is_asan(self.daemon_bin)
        self.slow = 3.0 if self.asan else 1.0
        self.dir = tempfile.mkdtemp(prefix=f"fs-{name}-", dir=os.environ.get("TMPDIR", "/tmp"))
        self.procs = []
        self.t0 = time.monotonic()
        self.forms = [os.path.join(self.src, "tests", "fixtures", "forms", f)
                      for f in ("labor_inspection.json", "border_screening.json")]
        self.env = dict(os.environ)
        # Sanitizer runtimes complain when libfaketime is preloaded first.
        self.env["ASAN_OPTIONS"] = (self.env.get("ASAN_OPTIONS", "detect_leaks=1")
                                    + ":verify_asan_link_order=0")
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def form_version(self, form="labor_inspection"):
        """The version of a shipped form (schema/forms), as the daemon publishes it."""
        with open(os.path.join(self.src, "tests", "fixtures", "forms", form + ".json")) as fp:
            return json.load(fp)["version"]

    def elapsed(self):
        return time.monotonic() - self.t0

    def make_cert(self, backdate=None, days=2):
        cmd = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:prime256v1", "-nodes", "-days", str(days),
               "-subj", "/CN=localhost", "-addext",
               "subjectAltName=IP:127.0.0.1,DNS:localhost",
               "-keyout", self.key, "-out", self.cert]
        env = dict(self.env)
        if backdate is not None:
            lib = faketime_lib()
            check(lib is not None, "libfaketime is needed to backdate the certificate")
            env["LD_PRELOAD"] = lib
            env["FAKETIME"] = backdate
        subprocess.run(cmd, check=True, capture_output=True, env=env, timeout=60)

    def spawn(self, cmd, **kw):
        kw.setdefault("env", self.env)
        p = subprocess.Popen(cmd, **kw)
        self.procs.append(p)
        return p

    def run(self, cmd, timeout=120, check_rc=True, env=None, **kw):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env=env or self.env, **kw)
        rep = sanitizer_report(r.stderr)
        if rep is not None:
            raise Failure(f"{os.path.basename(cmd[0])}: {rep}")
        if check_rc and r.returncode != 0:
            raise Failure(f"{' '.join(cmd[:4])}... exited {r.returncode}: {r.stderr.strip()[-600:]}")
        return r

    def close(self, keep=False):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.kill()
                except OSError:
                    pass
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


class Daemon:
    """fieldsyncd on 127.0.0.1 over HTTPS."""

    def __init__(self, run, data="data", conf=None, log="daemon.log", pg=None):
        self.run = run
        self.data = run.path(data)
        self.db = os.path.join(self.data, "fieldsyncd.db")
        self.conf = None
        if STORE_KIND == "postgresql":
            # pg: another daemon's database (several daemons, one store).
            conninfo = pg or pg_createdb(f"{os.path.basename(run.dir)}_{data}".lower()
                                         .replace("-", "_"))
            self.db = PgDb(conninfo)
            conf = dict(conf or {}, store="postgresql", postgresql=f'"{conninfo}"')
        if conf:
            self.conf = run.path(data + ".conf")
            with open(self.conf, "w") as f:
                for k, v in conf.items():
                    f.write(f"{k} = {v}\n")
        self.logpath = run.path(log)
        self.proc = None
        self.port = 0
        self.starts = 0

    def admin(self, *words):
        cmd = [self.run.daemon_bin] + (["-f", self.conf] if self.conf else []) + \
            ["-d", self.data] + list(words)
        return self.run.run(cmd, timeout=60 * self.run.slow)

    def publish_forms(self):
        for f in self.run.forms:
            self.admin("form", "publish", f)

    def create_seal_key(self):
        """Headquarters' sealing key (issue 17): devices seal sensitive values
        from their first sync on."""
        path = self.run.path("seal-passphrase")
        with open(path, "w") as fp:
            fp.write("Fault-Sealing-Passphrase-1\n")
        os.chmod(path, 0o600)
        self.admin("key", "create", "--passphrase-file", path)

    def add_device(self, name, role="field", team="north"):
        out = self.admin("device", "add", "--name", name, "--role", role, "--team", team).stdout
        tok = [l.split(": ", 1)[1].strip() for l in out.splitlines() if l.startswith("token: ")]
        check(len(tok) == 1 and len(tok[0]) == 64, f"no token for {name}")
        path = self.run.path(f"tok-{name}")
        with open(path, "w") as fp:
            fp.write(tok[0] + "\n")
        return tok[0]

    def start(self, fsize_limit=None, timeout=None):
        portfile = self.run.path(f"port-{os.path.basename(self.data)}")
        if os.path.exists(portfile):
            os.unlink(portfile)
        cmd = [self.run.daemon_bin]
        if self.conf:
            cmd += ["-f", self.conf]
        cmd += ["-d", self.data, "-l", "127.0.0.1", "-p", str(self.port), "--cert", self.run.cert,
                "--key", self.run.key, "--port-file", portfile]

        def limit():
            if fsize_limit is not None:
                # A file-size limit as a disk quota: writes past it fail with
                # EFBIG instead of killing the process.
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))

        logf = open(self.logpath, "ab")
        self.proc = self.run.spawn(cmd, stdout=subprocess.DEVNULL, stderr=logf,
                                   preexec_fn=limit)
        logf.close()
        deadline = time.monotonic() + (timeout or 30 * self.run.slow)
        while time.monotonic() < deadline:
            if os.path.exists(portfile):
                with open(portfile) as fp:
                    txt = fp.read().strip()
                if txt:
                    self.port = int(txt)
                    self.starts += 1
                    return
            if self.proc.poll() is not None:
                raise Failure(f"fieldsyncd exited {self.proc.returncode} at start: {self.tail()}")
            time.sleep(0.005)
        raise Failure("fieldsyncd did not start in time: " + self.tail())

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self):
        """SIGTERM; the daemon must exit 0 (under ASan: no leak)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=60 * self.run.slow)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Failure("fieldsyncd did not stop on SIGTERM")
        check(rc == 0, f"fieldsyncd exited {rc} on SIGTERM: {self.tail()}")
        rep = sanitizer_report(self.log_text())
        check(rep is None, f"fieldsyncd: {rep}")

    def tail(self, n=15):
        try:
            with open(self.logpath, errors="replace") as fp:
                return "".join(fp.readlines()[-n:])
        except OSError:
            return ""

    def log_text(self):
        with open(self.logpath, errors="replace") as fp:
            return fp.read()


class Device:
    """A field device: a device store driven by fault-dev and the fieldsync tool."""

    def __init__(self, run, name, token_file=None):
        self.run = run
        self.name = name
        self.db = run.path(f"{name}.db")
        self.token_file = token_file or run.path(f"tok-{name}")
        self.id = None

    def init(self, env=None):
        r = self.run.run([self.run.dev_bin, "init", self.db, self.name] + self.run.forms[:1],
                         env=env, timeout=60 * self.run.slow)
        self.id = r.stdout.strip()
        check(len(self.id) == 16, f"bad device id for {self.name}")

    def add(self, n, seed, env=None, **opts):
        cmd = [self.run.dev_bin, "add", self.db, str(n), str(seed)]
        for k, v in opts.items():
            cmd += ["--" + k, str(v)]
        self.run.run(cmd, env=env, timeout=120 * self.run.slow)

    def sync_cmd(self, url, attempts=None, batch=None, quiet=True, extra=()):
        cmd = [self.run.cli_bin, "--db", self.db, "sync", "--server", url, "--token-file",
               self.token_file, "--cacert", self.run.cert]
        if attempts:
            cmd += ["--attempts", str(attempts)]
        if batch:
            cmd += ["--batch", str(batch)]
        if quiet:
            cmd.append("-q")
        return cmd + list(extra)

    def sync(self, url, attempts=None, batch=None, timeout=300, env=None, extra=()):
        return self.run.run(self.sync_cmd(url, attempts, batch, extra=extra), check_rc=False,
                            timeout=timeout * self.run.slow, env=env)

    def pending(self):
        return query(self.db, "SELECT count(*) FROM changelog WHERE pushed = 0"
                              " AND rejected IS NULL")[0][0]

    def changes(self):
        return set(query(self.db, "SELECT record_id, hlc FROM changelog"))


def pushed_not_on_server(dev_db, server_db):
    """Changes the device marked sent that the server does not hold (must be 0)."""
    if isinstance(server_db, PgDb):
        srv = set(pg_query(server_db, "SELECT record_id, hlc FROM changes"))
        mine = query(dev_db, "SELECT record_id, hlc FROM changelog WHERE pushed = 1")
        return sum(1 for x in mine if tuple(x) not in srv)
    con = connect(dev_db)
    try:
        con.execute("ATTACH DATABASE ? AS srv", (server_db,))
        return con.execute("SELECT count(*) FROM changelog c WHERE c.pushed = 1 AND NOT EXISTS"
                           " (SELECT 1 FROM srv.changes s WHERE s.record_id = c.record_id"
                           " AND s.hlc = c.hlc)").fetchone()[0]
    finally:
        con.close()


def server_duplicates(server_db):
    return query(server_db, "SELECT count(*) - (SELECT count(*) FROM"
                            " (SELECT DISTINCT record_id, hlc FROM changes) AS u) FROM changes")[0][0]


def verify_devices(devices, server_db, what):
    """Every change each device saved is on the server exactly once; nothing pending.

    Returns the number of changes verified.
    """
    total = 0
    lost = 0
    for d in devices:
        mine = d.changes()
        on_srv = query(server_db, "SELECT record_id, hlc FROM changes WHERE device = ?", (d.id,))
        srv = set(on_srv)
        missing = mine - srv
        extra = srv - mine
        lost += len(missing)
        check(not missing, f"{what}: {len(missing)} changes of {d.name} are not on the server")
        check(not extra, f"{what}: the server holds {len(extra)} changes of {d.name}"
                         " that the device never saved")
        check(len(on_srv) == len(srv), f"{what}: a change of {d.name} is on the server twice")
        p = d.pending()
        check(p == 0, f"{what}: {p} changes of {d.name} still pending")
        rej = query(d.db, "SELECT count(*) FROM changelog WHERE rejected IS NOT NULL")[0][0]
        check(rej == 0, f"{what}: {rej} changes of {d.name} were rejected")
        total += len(mine)
    dup = server_duplicates(server_db)
    check(dup == 0, f"{what}: {dup} duplicated changes on the server")
    ic = integrity(server_db)
    check(ic == ["ok"], f"{what}: server integrity_check: {ic[:3]}")
    return total


def converge(devices, server_db, what):
    """Every device holds exactly the server's field values and conflicts."""
    srv = state(server_db)
    for d in devices:
        check(state(d.db) == srv, f"{what}: {d.name} differs from the server")


# --- HTTP --------------------------------------------------------------------


class Client:
    """Direct HTTPS requests to the daemon (one connection per request)."""

    def __init__(self, run, port, timeout=60):
        self.ctx = ssl.create_default_context(cafile=run.cert)
        self.port = port
        self.timeout = timeout

    def request(self, method, path, body=None, headers=None, token=None, timeout=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                           timeout=timeout or self.timeout)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            if r.getheader("Content-Encoding") == "gzip":
                data = gzip.decompress(data)
            try:
                js = json.loads(data) if data else None
            except ValueError:
                js = None
            return r.status, dict(r.getheaders()), js
        finally:
            conn.close()

    def push(self, token, obj_or_bytes, encoding="gzip", headers=None):
        raw = obj_or_bytes if isinstance(obj_or_bytes, (bytes, bytearray)) else \
            json.dumps(obj_or_bytes).encode()
        h = {"Content-Type": "application/json"}
        if encoding == "gzip":
            raw = gzip.compress(raw)
            h["Content-Encoding"] = "gzip"
        elif encoding == "gzip-raw":  # already compressed (or lying about it)
            h["Content-Encoding"] = "gzip"
        elif encoding:
            h["Content-Encoding"] = encoding
        h.update(headers or {})
        return self.request("POST", "/v1/push", raw, h, token)


def hlc_text(ms, counter, device):
    return "%016x-%s" % ((ms << 16) | counter, device)


def rand_hex(n, rng=random):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def main_wrapper(fn):
    """Runs fn(); prints FAIL and exits 1 on a Failure, keeping the temp dir."""
    try:
        fn()
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
