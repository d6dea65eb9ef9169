#!/usr/bin/env python3
"""Helpers of compare-peers.sh (standard library only).

  compare-peers-summary.py parse-fio FIO_JSON JOB
      prints "unit,value,mb_per_s,iops,lat_p99_us" for one fio --output-format=json run
  compare-peers-summary.py summarize OUT_DIR
      reads OUT_DIR/runs.csv and OUT_DIR/machine.txt, writes summary.csv and results.json,
      prints machine facts and the comparison table
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
        g = groups.setdefault(key, {"values": [], "journal": [], "unit": None, "failed": 0, "p99": []})
        if r["status"] == "ok":
            g["values"].append(float(r["value"]))
            g["p99"].append(float(r["lat_p99_us"]))
            g["unit"] = r["unit"]
        else:
            g["failed"] += 1
        if r["journal_bytes"] and r["status"] == "ok":
            g["journal"].append(int(r["journal_bytes"]))

    summary = []
    med = {}
    for (job, transport, server), g in groups.items():
        vals = g["values"]
        m = statistics.median(vals) if vals else None
        med[(job, transport, server)] = m
        summary.append({
            "job": job, "transport": transport, "server": server,
            "unit": g["unit"] or ("MB/s" if job == "seqwrite" else "IOPS"),
            "median": m, "min": min(vals) if vals else None, "max": max(vals) if vals else None,
            "runs_ok": len(vals), "runs_failed": g["failed"],
            "lat_p99_us_median": statistics.median(g["p99"]) if g["p99"] else None,
            "journal_bytes_median": statistics.median(g["journal"]) if g["journal"] else None,
        })
    order = {(j, t, s): (jobs.index(j) if j in jobs else 99, transports.index(t) if t in transports else 99,
                         servers.index(s) if s in servers else 99) for (j, t, s) in groups}
    summary.sort(key=lambda row: order[(row["job"], row["transport"], row["server"])])

    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0].keys()) if summary else ["job"])
        w.writeheader()
        w.writerows(summary)

    ratio_cols = []  # (label, ferry server, peer)
    for fe in ferries:
        for p in PEERS:
            if p in servers:
                ratio_cols.append((f"{fe}/{p}", fe, p))
    journal_cols = [fe for fe in ferries]

    header = ["job", "transport", "unit"] + servers + [c[0] for c in ratio_cols] + \
             [f"{fe} journal MiB" for fe in journal_cols]
    rows = []
    ratios_json = []
    for job in jobs:
        for t in transports:
            unit = "MB/s" if job == "seqwrite" else "IOPS"
            row = [JOB_LABEL[job], t, unit]
            for s in servers:
                row.append(fmt_value(unit, med.get((job, t, s))))
            for label, fe, p in ratio_cols:
                a, b = med.get((job, t, fe)), med.get((job, t, p))
                r = a / b if a is not None and b else None
                row.append(f"{r:.2f}" if r is not None else "-")
                ratios_json.append({"job": job, "transport": t, "ratio": label, "value": r})
            for fe in journal_cols:
                g = groups.get((job, t, fe))
                if job != "randread" and g and g["journal"]:
                    row.append(f"{statistics.median(g['journal']) / 1048576:.0f}")
                else:
                    row.append("-")
            rows.append(row)

    (out / "results.json").write_text(json.dumps({
        "machine": facts, "runs": runs, "summary": summary, "ratios": ratios_json,
    }, indent=2) + "\n")

    print()
    print("Machine")
    for k in ["date", "nproc", "cpu", "mem_total", "kernel", "java"] + \
             [k for k in facts if k.startswith("java_")] + \
             ["fio", "qemu-nbd", "nbdkit", "libnbd", "filesystem", "git"]:
        if k in facts:
            print(f"  {k:<16} {facts[k]}")
    print(f"  {'settings':<16} size={facts.get('size_bytes')}B runtime={facts.get('runtime_s')}s "
          f"ramp={facts.get('ramp_time_s')}s repeat={facts.get('repeat')} (median reported)")
    print()
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = "  ".join(h.ljust(w) if i < 3 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths))))
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
