#!/usr/bin/env python3
"""Helpers of compare-peers.sh (standard library only).

  compare-peers-summary.py parse-fio FIO_JSON JOB
      prints "unit,value,mb_per_s,iops,lat_p99_us" for one fio --output-format=json run
  compare-peers-summary.py summarize OUT_DIR
      reads OUT_DIR/runs.csv and OUT_DIR/machine.txt, writes summary.csv and results.json,
      prints machine facts and the tables: medians, ratios, journals and replication
"""
import csv
import json
import statistics
import sys
from pathlib import Path

JOB_ORDER = ["seqwrite", "randwrite", "randread"]
JOB_LABEL = {
    "seqwrite": "seq write 1M QD8",
    "randwrite": "randwrite 4K QD32",
    "randread": "randread 4K QD32",
}
PEERS = ["qemu-nbd", "nbdkit"]


def parse_fio(path, job):
    text = Path(path).read_text(errors="replace")
    start = text.find("{")  # fio prints "fio: connected to NBD server" before the JSON
    if start < 0:
        raise SystemExit(f"{path}: no JSON in fio output")
    doc = json.loads(text[start:])
    j = doc["jobs"][0]
    if j.get("error"):
        raise SystemExit(f"{path}: fio job error {j['error']}")
    op = j["read"] if job == "randread" else j["write"]
    mb_per_s = op["bw_bytes"] / 1e6
    iops = op["iops"]
    pct = op.get("clat_ns", {}).get("percentile", {})
    p99_us = pct.get("99.000000", 0) / 1000.0
    if job == "seqwrite":
        unit, value = "MB/s", mb_per_s
    else:
        unit, value = "IOPS", iops
    print(f"{unit},{value:.1f},{mb_per_s:.1f},{iops:.0f},{p99_us:.0f}")


def read_facts(out):
    facts = {}
    for line in (out / "machine.txt").read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            facts[k] = v
    return facts


def fmt_value(unit, v):
    if v is None:
        return "-"
    if unit == "IOPS":
        return f"{v / 1000:.1f}k"
    return f"{v:.0f}"


def print_table(title, header, rows, left=3):
    print()
    print(title)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = lambda cells: "  ".join(str(c).ljust(w) if i < left else str(c).rjust(w)
                                  for i, (c, w) in enumerate(zip(cells, widths)))
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(fmt(row))


def median_or_none(values):
    return statistics.median(values) if values else None


def summarize(out):
    out = Path(out)
    facts = read_facts(out)
    with open(out / "runs.csv", newline="") as f:
        runs = list(csv.DictReader(f))
    servers = facts.get("servers", "").split()
    transports = facts.get("transports", "").split()
    jobs = [j for j in JOB_ORDER if j in facts.get("jobs", "").split()]
    ferries = [s for s in servers if s.startswith("ferry")]

    groups = {}
    for r in runs:
        key = (r["job"], r["transport"], r["server"])
        g = groups.setdefault(key, {"values": [], "journal": [], "unit": None, "failed": 0, "p99": [],
                                    "repl_runs": 0, "caught_up": 0, "catchup_s": [], "captured": [],
                                    "shipped": []})
        if r["status"] == "ok":
            g["values"].append(float(r["value"]))
            g["p99"].append(float(r["lat_p99_us"]))
            g["unit"] = r["unit"]
            if r.get("caught_up"):
                g["repl_runs"] += 1
                if r["caught_up"] == "yes":
                    g["caught_up"] += 1
                    if r.get("catchup_s"):
                        g["catchup_s"].append(float(r["catchup_s"]))
                if r.get("bytes_captured") and r.get("bytes_shipped"):
                    g["captured"].append(int(r["bytes_captured"]))
                    g["shipped"].append(int(r["bytes_shipped"]))
        else:
            g["failed"] += 1
        if r["journal_bytes"] and r["status"] == "ok":
            g["journal"].append(int(r["journal_bytes"]))

    summary = []
    med = {}
    for (job, transport, server), g in groups.items():
        vals = g["values"]
        m = median_or_none(vals)
        med[(job, transport, server)] = m
        row = {
            "job": job, "transport": transport, "server": server,
            "unit": g["unit"] or ("MB/s" if job == "seqwrite" else "IOPS"),
            "median": m, "min": min(vals) if vals else None, "max": max(vals) if vals else None,
            "runs_ok": len(vals), "runs_failed": g["failed"],
            "lat_p99_us_median": median_or_none(g["p99"]),
            "journal_bytes_median": median_or_none(g["journal"]),
            "repl_runs": g["repl_runs"], "caught_up_runs": g["caught_up"],
            "catchup_s_median": median_or_none(g["catchup_s"]),
            "bytes_captured_median": median_or_none(g["captured"]),
            "bytes_shipped_median": median_or_none(g["shipped"]),
            "compression_ratio_median": median_or_none(
                [c / s for c, s in zip(g["captured"], g["shipped"]) if s]),
        }
        summary.append(row)
    order = {(j, t, s): (jobs.index(j) if j in jobs else 99, transports.index(t) if t in transports else 99,
                         servers.index(s) if s in servers else 99) for (j, t, s) in groups}
    summary.sort(key=lambda row: order[(row["job"], row["transport"], row["server"])])
    by_key = {(r["job"], r["transport"], r["server"]): r for r in summary}

    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0].keys()) if summary else ["job"])
        w.writeheader()
        w.writerows(summary)

    ratio_cols = []  # (label, numerator server, denominator server)
    for fe in ferries:
        if fe != "ferry" and "ferry" in servers:
            ratio_cols.append((f"{fe}/ferry", fe, "ferry"))
        for p in PEERS:
            if p in servers:
                ratio_cols.append((f"{fe}/{p}", fe, p))

    fig_rows, ratio_rows, repl_rows = [], [], []
    ratios_json = []
    for job in jobs:
        for t in transports:
            unit = "MB/s" if job == "seqwrite" else "IOPS"
            fig_rows.append([JOB_LABEL[job], t, unit] + [fmt_value(unit, med.get((job, t, s))) for s in servers])
            row = [JOB_LABEL[job], t]
            for label, a_srv, b_srv in ratio_cols:
                a, b = med.get((job, t, a_srv)), med.get((job, t, b_srv))
                r = a / b if a is not None and b else None
                row.append(f"{r:.2f}" if r is not None else "-")
                ratios_json.append({"job": job, "transport": t, "ratio": label, "value": r})
            ratio_rows.append(row)
            if job == "randread":
                continue
            row = [JOB_LABEL[job], t]
            for fe in ferries:
                s = by_key.get((job, t, fe))
                jb = s and s["journal_bytes_median"]
                row.append(f"{jb / 1048576:.0f}" if jb is not None and s else "-")
            if "ferry-repl" in servers:
                s = by_key.get((job, t, "ferry-repl")) or {}
                mib = lambda v: f"{v / 1048576:.0f}" if v is not None else "-"
                row += [mib(s.get("bytes_captured_median")), mib(s.get("bytes_shipped_median")),
                        f"{s['compression_ratio_median']:.2f}" if s.get("compression_ratio_median") else "-",
                        f"{s.get('caught_up_runs', 0)}/{s.get('repl_runs', 0)}",
                        f"{s['catchup_s_median']:.1f}" if s.get("catchup_s_median") is not None else "-"]
            repl_rows.append(row)

    (out / "results.json").write_text(json.dumps({
        "machine": facts, "runs": runs, "summary": summary, "ratios": ratios_json,
    }, indent=2) + "\n")

    print()
    print("Machine")
    for k in ["date", "nproc", "cpu", "mem_total", "kernel", "java"] + \
             [k for k in facts if k.startswith("java_")] + \
             ["fio", "qemu-nbd", "nbdkit", "libnbd", "filesystem", "git", "ferry_jar"]:
        if k in facts:
            print(f"  {k:<16} {facts[k]}")
    print(f"  {'settings':<16} size={facts.get('size_bytes')}B runtime={facts.get('runtime_s')}s "
          f"ramp={facts.get('ramp_time_s')}s repeat={facts.get('repeat')} (median reported)"
          + (f" ferry-repl rpo={facts['repl_rpo']}" if "repl_rpo" in facts else ""))
    print_table("Throughput (median)", ["job", "transport", "unit"] + servers, fig_rows)
    if ratio_cols:
        print_table("Ratios of medians", ["job", "transport"] + [c[0] for c in ratio_cols], ratio_rows, left=2)
    if ferries and repl_rows:
        header = ["job", "transport"] + [f"{fe} journal MiB" for fe in ferries]
        if "ferry-repl" in servers:
            header += ["captured MiB", "shipped MiB", "compression", "caught up",
                       f"catch-up s (<= {facts.get('catchup_timeout_s', '?')})"]
        print_table("ferry journal after each write job; ferry-repl replication (medians; "
                    "bytes from the agent's status once caught up)", header, repl_rows, left=2)
    failed = [r for r in runs if r["status"] != "ok"]
    if failed:
        print()
        print(f"{len(failed)} run(s) failed: " + ", ".join(
            f"{r['job']}/{r['transport']}/{r['server']}#{r['repeat']} ({r['status']})" for r in failed))


def main(argv):
    if len(argv) == 4 and argv[1] == "parse-fio":
        parse_fio(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "summarize":
        summarize(argv[2])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
