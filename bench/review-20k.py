#!/usr/bin/env python3
"""review-20k.py -- how fast the review page's requests answer on 20,000
records (issue 20: "the list, filters and report answer in under 1 s").

Starts a throwaway fieldsyncd (SQLite store, a certificate made here, a
loopback port), pushes 20,000 labour inspections of the shipped form
(version 3: districts, sectors, dates over a year, indicators, calculated
risk level) through POST /v1/push, then times each request the page makes,
as the page makes it, 7 times, and prints one JSON line: the median and
the slowest in milliseconds, and each median as a ratio of the plain list
(first page, last change first) measured in the same run, so the figures
compare however busy the machine is.

With --browser, the same records are then used from the page itself in
headless chromium (bench/review-20k-browser.mjs): each action timed from
the click until the page has drawn the answer, and a second JSON line.

usage: bench/review-20k.py [--browser] [BUILD_DIR] [RECORDS]   (default build, 20000)
Standard library only (--browser: node, Debian's chromium and playwright-core
as tests/browser/run.sh installs them); needs openssl on PATH.  Loopback only.
"""
import json
import os
import random
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BROWSER = "--browser" in sys.argv[1:]
ARGS = [a for a in sys.argv[1:] if a != "--browser"]
BUILD = os.path.abspath(ARGS[0]) if len(ARGS) > 0 else os.path.join(SRC, "build")
N = int(ARGS[1]) if len(ARGS) > 1 else 20000
D = os.path.join(BUILD, "daemon", "fieldsyncd")
FORM = os.path.join(SRC, "schema", "forms", "labor_inspection.json")
RUNS = 7

INDICATORS = ["abuse_of_vulnerability", "deception", "restriction_of_movement", "isolation",
              "physical_sexual_violence", "intimidation_threats", "retention_of_documents",
              "withholding_of_wages", "debt_bondage", "abusive_conditions", "excessive_overtime"]
DISTRICTS = ["corozal", "orange_walk", "belize", "cayo", "stann_creek", "toledo"]
# Roughly the middle of each district, for the map.
CENTRES = {"corozal": (18.25, -88.45), "orange_walk": (17.85, -88.75), "belize": (17.45, -88.35),
           "cayo": (17.05, -88.95), "stann_creek": (16.85, -88.45), "toledo": (16.25, -88.90)}
SECTORS = ["agriculture", "construction", "domestic_work", "fishing", "manufacturing", "mining",
           "hospitality"]


def run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def record(rng, i):
    v = {"worksite_name": "Site %d" % i, "district": rng.choice(DISTRICTS),
         "sector": rng.choice(SECTORS),
         "inspection_date": "2026-%02d-%02d" % (rng.randint(1, 11), rng.randint(1, 28)),
         "number_of_workers": rng.randint(1, 200), "referral_decision": "none"}
    lat, lon = CENTRES[v["district"]]
    v["location"] = {"lat": round(lat + rng.uniform(-0.15, 0.15), 5),
                     "lon": round(lon + rng.uniform(-0.15, 0.15), 5)}
    n = 0
    for name in INDICATORS:
        if rng.random() < 0.12:
            v[name] = True
            n += 1
    if v.get("retention_of_documents"):
        v["documents_held_by"] = "employer"
    v["indicator_count"] = n
    v["risk_level"] = "high" if n >= 3 else "medium" if n >= 1 else "low"
    if n >= 3:
        v["referral_decision"] = "refer_police"
        v["referral_agency"] = "police_atu"
    return v


def main():
    if not os.access(D, os.X_OK):
        sys.exit("review-20k: build %s first" % BUILD)
    tmp = tempfile.mkdtemp(prefix="fs-bench-review-")
    daemon = None
    try:
        os.chdir(tmp)
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", "key.pem", "-out", "cert.pem")
        run(D, "-d", "data", "form", "publish", FORM)
        tok = {}
        for name, role, extra in (("dev", "field", []), ("hq", "reviewer", ["--all-teams"])):
            out = run(D, "-d", "data", "device", "add", "--name", name, "--role", role,
                      "--team", "north", *extra).stdout
            tok[name] = [l.split()[1] for l in out.splitlines() if l.startswith("token:")][0]
        daemon = subprocess.Popen([D, "-d", "data", "-l", "127.0.0.1", "-p", "0", "--cert", "cert.pem",
                                   "--key", "key.pem", "--port-file", "port"],
                                  stdout=subprocess.DEVNULL, stderr=open("daemon.log", "w"))
        for _ in range(200):
            if os.path.exists("port") and open("port").read().strip():
                break
            time.sleep(0.05)
        url = "https://127.0.0.1:%s" % open("port").read().strip()
        ctx = ssl.create_default_context(cafile="cert.pem")

        def call(path, token, body=None):
            req = urllib.request.Request(url + path, data=body, headers={
                "Authorization": "Bearer " + token, "Content-Type": "application/json"})
            with urllib.request.urlopen(req, context=ctx, timeout=120) as r:
                return r.read()

        version = json.load(open(FORM))["version"]
        rng = random.Random(20)
        dev = "%016x" % rng.getrandbits(64)
        base_ms = int(time.time() * 1000) - N - 60000
        t0 = time.monotonic()
        for start in range(0, N, 2000):
            changes = []
            for i in range(start, min(N, start + 2000)):
                changes.append({"id": "%032x" % rng.getrandbits(128), "form": "labor_inspection",
                                "form_version": version, "op": "upsert",
                                "hlc": "%016x-%s" % ((base_ms + i) << 16, dev), "base": {},
                                "fields": record(rng, i)})
            ans = json.loads(call("/v1/push", tok["dev"], json.dumps(
                {"device": dev, "batch": "b%d" % start, "changes": changes}).encode()))
            if ans.get("rejected"):
                sys.exit("review-20k: refused: %s" % ans["rejected"][:2])
        load_s = time.monotonic() - t0

        page = "/v1/review/records?limit=50&offset=0"
        queries = {
            "list": page,
            "list_form": page + "&form=labor_inspection",
            "list_two_indicators": page + "&flag=deception&flag=debt_bondage",
            "list_search": page + "&q=site%2012",
            "list_search_none": page + "&q=nothing-matches",
            "list_sort_date": page + "&sort=date",
            "list_sort_risk": page + "&sort=risk",
            "list_last_page": "/v1/review/records?limit=50&offset=%d" % (N - 50),
            "report_district_month": "/v1/review/report?form=labor_inspection&by=district,month",
            "report_sector": "/v1/review/report?form=labor_inspection&by=sector",
            "map_points": "/v1/review/points?form=labor_inspection",
        }
        res = {}
        for name, path in queries.items():
            times = []
            for _ in range(RUNS):
                t = time.monotonic()
                call(path, tok["hq"])
                times.append((time.monotonic() - t) * 1000)
            res[name] = {"median_ms": round(statistics.median(times), 1),
                         "max_ms": round(max(times), 1)}
        base = res["list"]["median_ms"]
        for r in res.values():
            r["vs_list"] = round(r["median_ms"] / base, 2) if base > 0 else None
        print(json.dumps({"bench": "review", "records": N, "load_s": round(load_s, 1),
                          "runs": RUNS, "queries": res,
                          "under_1s": all(r["max_ms"] < 1000 for r in res.values()),
                          "loadavg_1m": os.getloadavg()[0]}), flush=True)
        if BROWSER:
            env = dict(os.environ, FS_URL=url, FS_TOKEN=tok["hq"])
            subprocess.run(["node", os.path.join(SRC, "bench", "review-20k-browser.mjs")],
                           env=env, check=True)
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
