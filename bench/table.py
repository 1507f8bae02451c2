#!/usr/bin/env python3
"""table.py -- the figures of bench/run-all.sh as the Markdown table of
docs/BENCHMARKS.md.

usage: bench/table.py [bench-results.jsonl [earlier.jsonl]]
  (default: standard input); with a second file, its figures are shown in
  a "before" column.
"""
import json
import sys


def fmt(v, digits=0):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "met" if v else "**missed**"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def load(src):
    runs = {}
    for line in src:
        line = line.strip()
        if line.startswith("{"):
            obj = json.loads(line)
            runs[obj.get("bench")] = obj
    return runs


def main():
    runs = load(open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin)
    rows = build(runs)
    before = {}
    if len(sys.argv) > 2:
        before = {(r[0], r[1]): r[2] for r in build(load(open(sys.argv[2])))}
        print("| # | figure | before | after | target | met | load 1m |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            cells = [r[0], r[1], before.get((r[0], r[1]), "-")] + list(r[2:])
            print("| " + " | ".join(str(x) for x in cells) + " |")
    else:
        print("| # | figure | value | target | met | load 1m |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print("| " + " | ".join(str(x) for x in r) + " |")
    m = runs.get("machine", {})
    if m:
        print()
        print(f'Machine: {m.get("cpu")}, {m.get("cores")} cores, {m.get("ram_gib")} GiB RAM, '
              f'{m.get("kernel")}; commit {m.get("commit")}; {m.get("date")}.')
    for name, obj in runs.items():
        if obj.get("failed"):
            print(f"\n**{name} failed**")


def build(runs):
    rows = []

    def row(n, what, value, target="", met=None, load=None):
        rows.append((n, what, value, target, "" if met is None else fmt(met),
                     "" if load is None else f"{load:.2f}"))

    s = runs.get("save")
    if s:
        load = s.get("loadavg_1m")
        row(1, "device save, fs_record_create (saves/s)", fmt(s["fs_saves_per_s"]), "", None, load)
        row(1, "bare SQLite insert transaction, same row (saves/s)", fmt(s["bare_saves_per_s"]),
            "", None, load)
        row(1, "save cost / bare insert cost", fmt(s["cost_ratio"], 2), "<= 1.5",
            s["cost_ratio"] <= 1.5, load)
        row(1, "CPU per save: fieldsync / bare (us)",
            f'{fmt(s["fs_cpu_us_per_save"])} / {fmt(s["bare_cpu_us_per_save"])}', "", None, load)
    y = runs.get("sync")
    if y:
        load = y.get("loadavg_1m")
        for p in y["push"]:
            n = p["records"]
            row(2, f"push {n:,}: end to end (records/s)", fmt(p["push_records_per_s"]),
                ">= 20,000" if n >= 10000 else "",
                p["push_records_per_s"] >= 20000 if n >= 10000 else None, load)
            row(2, f"push {n:,}: server merge (records/s)", fmt(p["server_records_per_s"]),
                "", None, load)
            row(2, f"push {n:,}: raw bulk insert, same rows (records/s)",
                fmt(p["raw_records_per_s"]), "", None, load)
            row(2, f"push {n:,}: central ingest / raw", fmt(p["ingest_vs_raw"], 2), ">= 0.5",
                p["ingest_vs_raw"] >= 0.5, load)
            if "raw_one_row_per_record_per_s" in p:
                row(2, f"push {n:,}: raw insert, one row per record instead (records/s)",
                    fmt(p["raw_one_row_per_record_per_s"]), "", None, load)
        big = y["push"][-1]
        pl = y["pull"]
        row(3, "push: JSON bytes per record (uncompressed)", fmt(big["up_json_bytes_per_record"]),
            "", None, load)
        row(3, "push: bytes on the wire per record (gzip body + headers)",
            fmt(big["up_wire_bytes_per_record"]), "", None, load)
        row(3, "push: compressed body / JSON", fmt(big["up_body_ratio"], 3), "<= 0.35",
            big["up_body_ratio"] <= 0.35, load)
        row(3, "pull: JSON bytes per record (uncompressed)", fmt(pl["down_json_bytes_per_record"]),
            "", None, load)
        row(3, "pull: bytes on the wire per record (gzip body + headers)",
            fmt(pl["down_wire_bytes_per_record"]), "", None, load)
        row(3, "pull: compressed body / JSON", fmt(pl["down_body_ratio"], 3), "<= 0.35",
            pl["down_body_ratio"] <= 0.35, load)
        row(4, f'pull {pl["records"]:,} to a fresh device (records/s)',
            fmt(pl["pull_records_per_s"]), "", None, load)
        first = y["push"][0]
        for p in y["push"]:
            row(7, f'push {p["records"]:,}: microseconds per record end to end / server / raw',
                f'{fmt(p["push_us_per_record"])} / {fmt(1e6 * p["server_s"] / p["records"])}'
                f' / {fmt(1e6 * p["raw_s"] / p["records"])}', "close to linear", None, load)
        row(7, f'push: time per record at {big["records"]:,} / at {first["records"]:,}',
            fmt(y["targets"]["push_linearity"], 2), "close to 1", None, load)
        for g in y.get("pull_page", []):
            row(7, f'pull page of 500 with {g["server_changes"]:,} changes on the server (ms):'
                ' first / last / team', f'{fmt(g["first_page_ms"], 1)} / '
                f'{fmt(g["last_page_ms"], 1)} / {fmt(g["team_page_ms"], 1)}', "flat", None, load)
    c = runs.get("concurrency")
    if c:
        load = c.get("loadavg_1m")
        for r in c["runs"]:
            d = r["devices"]
            row(5, f"{d} devices: syncs that succeeded", f'{r["syncs_ok"]} / {d}', "all",
                r["all_ok"], load)
            row(5, f"{d} devices: request latency p50 / p99 (ms)",
                f'{fmt(r["request_p50_ms"])} / {fmt(r["request_p99_ms"])}', "", None, load)
            row(5, f"{d} devices: records pushed per second (whole run)",
                fmt(r["push_records_per_s"]), "", None, load)
            row(5, f"{d} devices: daemon peak RSS (MiB)", fmt(r["daemon_peak_rss_kb"] / 1024, 1),
                "< 64" if d >= 500 else "", r["daemon_peak_rss_kb"] < 65536 if d >= 500 else None,
                load)
    k = runs.get("client-mem")
    if k:
        row(6, f'`fieldsync sync` of {k["pending_changes"]:,} pending changes: peak RSS (MiB)',
            fmt(k["peak_rss_kb"] / 1024, 1), "< 16", k["peak_rss_kb"] < 16384, k.get("loadavg_1m"))

    return rows


if __name__ == "__main__":
    main()
