"""Summarises a bench/compare_ort.sh run as Markdown: per (batch, ISA, precision) the median
images/s of each side over the rounds with the spread [min-max], the median of the per-round
ratios clipdebias / ONNX Runtime (both measured back to back in the same round), and the
smallest row cosine of clipdebias' features against ONNX Runtime's and PyTorch's on the same
pixels; then the whole-process times.

usage: compare_ort_table.py WORK_DIR   (reads WORK_DIR/results.jsonl, WORK_DIR/meta.json and
                                        the feature files the runs wrote under WORK_DIR/out)"""
import json
import os
import sys
from collections import defaultdict

import numpy as np


def median(xs):
    return float(np.median(xs)) if xs else float("nan")


def spread(xs, fmt):
    if not xs:
        return "n/a"
    m = fmt.format(median(xs))
    return m if len(xs) == 1 else f"{m} [{fmt.format(min(xs))}–{fmt.format(max(xs))}]"


def rate(r):
    """images/s of one process: its batch over the median of its timed runs."""
    return r["batch"] / median(r["reps_s"])


def min_cosine(a_path, b_path, rows=None):
    if not (os.path.exists(a_path) and os.path.exists(b_path)):
        return None
    a, b = np.load(a_path).astype(np.float64), np.load(b_path).astype(np.float64)
    if rows is not None:
        b = b[:rows]
    if a.shape != b.shape:
        return None
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(cos.min())


def fmt_cos(c):
    return "n/a" if c is None else f"{c:.7f}"


def steady_table(work, runs, meta):
    rounds = defaultdict(dict)  # (batch, key) -> round -> record
    for r in runs:
        if r["kind"] != "steady":
            continue
        key = r["side"] if r["side"] != "clipdebias" else ("clipdebias", r["isa_req"], r["precision"])
        rounds[(r["batch"], key)][r["round"]] = r
    torch_on = any(k[1] == "pytorch" for k in rounds)
    head = ["batch", "ISA", "precision", "clipdebias img/s", "ONNX Runtime img/s", "clipdebias / ORT"]
    head += ["PyTorch img/s"] if torch_on else []
    head += ["min cos vs ORT", "min cos vs PyTorch"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out = os.path.join(work, "out")
    ref = os.path.join(work, "torch_ref.npy")
    for (batch, key), by_round in sorted(rounds.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        if not isinstance(key, tuple):
            continue
        _, isa_req, prec = key
        ours = [rate(r) for r in by_round.values()]
        ort_rounds = rounds.get((batch, "ort"), {})
        ort = [rate(r) for r in ort_rounds.values()]
        ratios = [rate(r) / rate(ort_rounds[k]) for k, r in by_round.items() if k in ort_rounds]
        # what `clipdebias info` says runs at that setting, else what the bench reported
        isa = meta.get("isa_info", {}).get(isa_req) or next(iter(by_round.values())).get("isa", isa_req)
        tag = f"{isa_req}_{prec}_b{batch}"
        row = [str(batch), isa, prec, spread(ours, "{:.2f}"), spread(ort, "{:.2f}"), spread(ratios, "{:.2f}×")]
        if torch_on:
            row.append(spread([rate(r) for r in rounds.get((batch, "pytorch"), {}).values()], "{:.2f}"))
        row.append(fmt_cos(min_cosine(f"{out}/clipdebias_{tag}.npy", f"{out}/ort_b{batch}.npy")))
        row.append(fmt_cos(min_cosine(f"{out}/clipdebias_{tag}.npy", ref, rows=batch)))
        lines.append("| " + " | ".join(row) + " |")
    return lines


def whole_table(runs):
    by_side = defaultdict(list)
    for r in runs:
        if r["kind"] == "whole":
            by_side[r["side"]].append(r)
    if not by_side:
        return []
    n = next(iter(by_side.values()))[0]["batch"]
    lines = [f"| whole process, {n} image{'s' if n > 1 else ''} | clipdebias | ONNX Runtime |", "|---|---|---|"]
    wall = {s: [r["wall_s"] for r in v] for s, v in by_side.items()}
    lines.append("| wall time, s (start to exit) | " + " | ".join(
        spread(wall.get(s, []), "{:.3f}") for s in ("clipdebias", "ort")) + " |")
    load = {s: [r["load_s"] for r in v if "load_s" in r] for s, v in by_side.items()}
    # embed-image does not report its load time; the steady-state bench measures the same load
    # (fp32 only: reduced precisions convert the weights while packing, which the fp32 whole
    # process does not do).
    load["clipdebias"] = [r["load_s"] for r in runs if r["kind"] == "steady" and r["side"] == "clipdebias"
                          and r.get("precision", "fp32") == "fp32"]
    lines.append("| of which model load / session creation, s (in-process) | " + " | ".join(
        spread(load.get(s, []), "{:.3f}") for s in ("clipdebias", "ort")) + " |")
    ratio = [o / c for o, c in zip(wall.get("ort", []), wall.get("clipdebias", []))]
    lines.append(f"| ORT wall / clipdebias wall | {spread(ratio, '{:.2f}×')} | |")
    return lines


def main():
    work = sys.argv[1]
    meta = json.load(open(os.path.join(work, "meta.json")))
    runs = [json.loads(line) for line in open(os.path.join(work, "results.jsonl")) if line.strip()]
    print(f"**CPU**: {meta['cpu']}  ")
    print(f"**threads**: {meta['threads']} · **commit**: {meta['commit']} · **rounds**: {meta['rounds']} · "
          f"ONNX Runtime {meta['ort_version']} (onnxruntime-node, CPU EP, intra-op threads = {meta['threads']})"
          + (f" · PyTorch {meta['torch_version']} (linear on oneDNN)" if meta.get("torch_version") else ""))
    print(f"**model**: random ViT-B/32 image tower, fp32 weights · steady state: median of the timed runs "
          f"after warm-up in one process, then median [min–max] over rounds; sides alternate within each round  ")
    print(f"**load average** at start / end: {meta['load_start']} / {meta.get('load_end', '?')} · "
          + ("idle threads spin (each engine's default)" if meta.get("spin", True) else
             "idle threads sleep (--no-spin: OMP_WAIT_POLICY=passive, ORT allow_spinning=0)"))
    print()
    print("\n".join(steady_table(work, runs, meta)))
    whole = whole_table(runs)
    if whole:
        print()
        print("\n".join(whole))
    print()
    print(f"ONNX export check: {meta.get('export_check', 'not run')}")


if __name__ == "__main__":
    main()
