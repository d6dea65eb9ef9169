#!/usr/bin/env python3
"""Helpers of replication-lag.sh (standard library only).

  replication-lag-summary.py analyze KEY=VALUE...
      one run: reads the status samples (TSV: EPOCH_US, phase, agent status JSON), fio's JSON
      and the final statuses; writes the run's figures as JSON to out=FILE
  replication-lag-summary.py line RESULT_JSON
      one line of a run's main figures (progress output)
  replication-lag-summary.py table OUT_DIR
      reads OUT_DIR/machine.txt and OUT_DIR/results/*.json, writes OUT_DIR/results.json and
      OUT_DIR/summary.csv, prints machine facts and the runs side by side
"""
import csv
import json
import math
import sys
from pathlib import Path

JOB_ORDER = ["rand4k", "rand64k"]
JOB_LABEL = {"rand4k": "randwrite 4K QD32", "rand64k": "randwrite 64K QD8"}


def group_of(status):
    groups = status.get("groups") or []
    return groups[0] if groups else {}


def read_samples(path):
    samples = []
    for line in Path(path).read_text().splitlines():
        parts = line.split("\t", 2)
        if len(parts) < 2:
            continue
        t_us, phase = int(parts[0]), parts[1]
        status = None
        if len(parts) == 3 and parts[2].startswith("{"):
            try:
                status = json.loads(parts[2])
            except json.JSONDecodeError:
                status = None
        samples.append((t_us, phase, status))
    return samples


def percentile(sorted_values, p):
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def read_fio(path):
    text = Path(path).read_text(errors="replace")
    start = text.find("{")  # fio prints "fio: connected to NBD server" before the JSON
    if start < 0:
        raise SystemExit(f"{path}: no JSON in fio output")
    job = json.loads(text[start:])["jobs"][0]
    if job.get("error"):
        raise SystemExit(f"{path}: fio job error {job['error']}")
    w = job["write"]
    return {"fio_mb_per_s": w["bw_bytes"] / 1e6, "fio_iops": w["iops"],
            "fio_runtime_s": w["runtime"] / 1000.0,
            "fio_bytes": w["io_bytes"],
            "fio_lat_p99_us": w.get("clat_ns", {}).get("percentile", {}).get("99.000000", 0) / 1000.0}


def load_json(path):
    try:
        text = Path(path).read_text().strip()
        return json.loads(text) if text else {}
    except (OSError, json.JSONDecodeError):
        return {}


def analyze(args):
    a = dict(arg.split("=", 1) for arg in args)
    t_start, t_end = int(a["t_start_us"]), int(a["t_end_us"])
    samples = read_samples(a["samples"])
    load = [(t, s) for t, phase, s in samples if phase == "load" and s is not None and t_start <= t <= t_end]
    errors = sum(1 for _, phase, s in samples if s is None)
    lags = sorted(float(group_of(s).get("lagSeconds", 0.0)) for _, s in load)
    all_lags = [float(group_of(s).get("lagSeconds", 0.0)) for _, _, s in samples if s is not None]
    breach_samples = sum(1 for _, s in load if group_of(s).get("rpoBreach"))
    episodes, previous = 0, False
    for _, _, s in samples:
        if s is None:
            continue
        now = bool(group_of(s).get("rpoBreach"))
        if now and not previous:
            episodes += 1
        previous = now
    gaps = [(b - a_) / 1000.0 for (a_, _), (b, _) in zip(load, load[1:])]

    result = {
        "job": a["job"], "provider": a["provider"], "provider_used": a.get("provider_used", ""),
        "status": a.get("status", "ok"), "rpo_s": float(a["rpo_s"]),
        "interval_ms": float(a["interval_ms"]),
        "load_s": (t_end - t_start) / 1e6,
        "samples": len(load), "sample_errors": errors,
        "sample_gap_max_ms": max(gaps) if gaps else None,
        "lag_p50_s": percentile(lags, 50), "lag_p99_s": percentile(lags, 99),
        "lag_max_s": lags[-1] if lags else None,
        "lag_max_incl_catchup_s": max(all_lags) if all_lags else None,
        "breach_samples": breach_samples, "breach_episodes": episodes,
    }
    try:
        result.update(read_fio(a["fio"]))
    except (OSError, KeyError, ValueError, SystemExit) as e:
        result["status"] = "fio-unreadable"
        result["fio_problem"] = str(e)

    if load:
        t_last, s_last = load[-1]
        g = group_of(s_last)
        secs = (t_last - t_start) / 1e6
        result["captured_bytes_under_load"] = g.get("bytesCaptured")
        result["shipped_bytes_under_load"] = g.get("bytesShipped")
        if secs > 0 and g.get("bytesCaptured") is not None:
            result["capture_mb_per_s"] = g["bytesCaptured"] / secs / 1e6
            result["ship_mb_per_s"] = g["bytesShipped"] / secs / 1e6

    final = group_of(load_json(a["agent_status"]))
    result["captured_seq"] = final.get("capturedSeq")
    result["acked_seq"] = final.get("ackedSeq")
    result["bytes_captured"] = final.get("bytesCaptured")
    result["bytes_shipped"] = final.get("bytesShipped")
    result["worst_lag_s_agent"] = final.get("worstLagSeconds")
    if final.get("bytesShipped"):
        result["compression_ratio"] = final["bytesCaptured"] / final["bytesShipped"]
    receiver = group_of(load_json(a["receiver_status"]))
    result["applied_seq"] = receiver.get("appliedSeq")
    result["durable_seq"] = receiver.get("durableSeq")
    result["caught_up"] = a["caught_up"]
    result["catchup_s"] = float(a["catchup_s"]) if a["caught_up"] == "yes" else None
    result["applied"] = a["applied"]
    result["applied_catchup_s"] = float(a["applied_s"]) if a["applied"] == "yes" else None
    Path(a["out"]).write_text(json.dumps(result, indent=2) + "\n")


def read_facts(out):
    facts = {}
    for line in (out / "machine.txt").read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            facts[k] = v
    return facts


def f(v, fmt):
    return "-" if v is None else format(v, fmt)


ROWS = [  # (label, function of a result)
    ("TLS provider used", lambda r: r.get("provider_used") or "?"),
    ("fio write MB/s", lambda r: f(r.get("fio_mb_per_s"), ".1f")),
    ("fio write IOPS", lambda r: f(r.get("fio_iops"), ".0f")),
    ("fio p99 completion us", lambda r: f(r.get("fio_lat_p99_us"), ".0f")),
    ("lag p50 s", lambda r: f(r.get("lag_p50_s"), ".3f")),
    ("lag p99 s", lambda r: f(r.get("lag_p99_s"), ".3f")),
    ("lag max s (sampled)", lambda r: f(r.get("lag_max_s"), ".3f")),
    ("worst lag s (agent)", lambda r: f(r.get("worst_lag_s_agent"), ".3f")),
    ("RPO breach samples", lambda r: f"{r.get('breach_samples')}/{r.get('samples')}"),
    ("RPO breach episodes", lambda r: str(r.get("breach_episodes"))),
    ("capture MB/s (agent)", lambda r: f(r.get("capture_mb_per_s"), ".1f")),
    ("ship MB/s (compressed)", lambda r: f(r.get("ship_mb_per_s"), ".1f")),
    ("captured MiB (total)", lambda r: f(r["bytes_captured"] / 1048576 if r.get("bytes_captured") is not None else None, ".0f")),
    ("shipped MiB (total)", lambda r: f(r["bytes_shipped"] / 1048576 if r.get("bytes_shipped") is not None else None, ".0f")),
    ("compression ratio", lambda r: f(r.get("compression_ratio"), ".2f")),
    ("acked catch-up s", lambda r: f(r.get("catchup_s"), ".2f") if r.get("caught_up") == "yes" else "no (timeout)"),
    ("applied catch-up s", lambda r: f(r.get("applied_catchup_s"), ".2f") if r.get("applied") == "yes" else "no (timeout)"),
    ("samples / errors / max gap ms", lambda r: f"{r.get('samples')}/{r.get('sample_errors')}/{f(r.get('sample_gap_max_ms'), '.0f')}"),
]


def table(out):
    out = Path(out)
    facts = read_facts(out)
    results = [json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))]
    providers = facts.get("providers", "").split()
    results.sort(key=lambda r: (JOB_ORDER.index(r["job"]) if r["job"] in JOB_ORDER else 99,
                                providers.index(r["provider"]) if r["provider"] in providers else 99))
    (out / "results.json").write_text(json.dumps({"machine": facts, "runs": results}, indent=2) + "\n")
    if results:
        keys = []
        for r in results:
            keys += [k for k in r if k not in keys]
        with open(out / "summary.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            w.writerows(results)

    print()
    print("Machine")
    for k in ["date", "nproc", "cpu", "mem_total", "kernel", "java", "fio", "filesystem", "git", "ferry_jar"]:
        if k in facts:
            print(f"  {k:<16} {facts[k]}")
    print(f"  {'settings':<16} rpo={facts.get('rpo')} size={facts.get('size_bytes')}B "
          f"runtime={facts.get('runtime_s')}s transport={facts.get('transport')} "
          f"sample every {facts.get('interval_ms')} ms, catch-up timeout {facts.get('catchup_timeout_s')} s")
    print()
    header = ["metric"] + [f"{JOB_LABEL.get(r['job'], r['job'])} / {r['provider']}" for r in results]
    rows = [[label] + [fn(r) if r.get("status") == "ok" else r.get("status", "?") for r in results]
            for label, fn in ROWS]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = lambda cells: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                                  for i, (c, w) in enumerate(zip(cells, widths)))
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(fmt(row))
    print()
    print("lag: the agent's lagSeconds (age of the oldest write the receiver has not made durable),")
    print("sampled during the fio load; capture/ship MB/s: bytesCaptured/bytesShipped over the load;")
    print("compression: bytesCaptured/bytesShipped once caught up; catch-up: from fio's exit until")
    print("ackedSeq == capturedSeq (agent) and appliedSeq == capturedSeq (receiver).")


def line(path):
    r = json.loads(Path(path).read_text())
    if r.get("status") != "ok":
        print(r.get("status"))
        return
    print(f"{f(r.get('fio_mb_per_s'), '.1f')} MB/s {f(r.get('fio_iops'), '.0f')} IOPS; "
          f"lag p50 {f(r.get('lag_p50_s'), '.3f')} s, p99 {f(r.get('lag_p99_s'), '.3f')} s, "
          f"max {f(r.get('lag_max_s'), '.3f')} s; breach samples {r.get('breach_samples')}/{r.get('samples')}; "
          f"compression {f(r.get('compression_ratio'), '.2f')}; caught up: {r.get('caught_up')}"
          + (f" in {r['catchup_s']:.2f} s" if r.get("catchup_s") is not None else ""))


def main(argv):
    if len(argv) >= 3 and argv[1] == "analyze":
        analyze(argv[2:])
    elif len(argv) == 3 and argv[1] == "line":
        line(argv[2])
    elif len(argv) == 3 and argv[1] == "table":
        table(argv[2])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
