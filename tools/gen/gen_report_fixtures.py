"""Run directories for the report tests (tests/fixtures/report/): results.json, metrics.jsonl
and args.json in exactly the schema `clipdebias run` writes, filled with numbers from a small
simulation (group accuracies drifting from zero-shot towards each method's end point, DPT's
weights and GroupDRO's q computed by their update rules), so the pages look like real runs.

  full/     waterbirds, zeroshot + erm + dpt + oracle + gdro, 3 seeds, 10 epochs
  warn/     celeba, zeroshot + erm, 2 seeds: an empty val group and one class taking >99%
            of erm's test predictions (the page must warn about both)
  minimal/  a csv dataset of 3 classes, zeroshot only, no attribute, one seed
  hostile/  minimal/ with names full of markup, quotes and characters XML forbids
  bad_*/    copies of minimal/ with one defect each (the test checks the message)

(toyrun/ beside them is not made here: it is what `clipdebias run` wrote for the toy world
of tests/test_debias_toy.c.)

Standard library only; deterministic.  python3 tools/gen/gen_report_fixtures.py
"""
import json
import math
import os
import random
import shutil

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "report")


def r4(x):
    return None if x is None else round(x, 4)


def dumps(v, indent=0):
    """JSON with one line per object member, but short lists and small objects kept inline."""
    flat = json.dumps(v, allow_nan=False)
    if len(flat) <= 100 or not isinstance(v, (dict, list)):
        return flat
    pad = " " * (indent + 1)
    if isinstance(v, list):
        return "[\n" + ",\n".join(pad + dumps(x, indent + 1) for x in v) + "\n" + " " * indent + "]"
    return "{\n" + ",\n".join(pad + json.dumps(k) + ": " + dumps(x, indent + 1) for k, x in v.items()) + "\n" + " " * indent + "}"


def mean(xs):
    return sum(xs) / len(xs)


def std(xs):
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))


def clamp(x, lo=0.0, hi=1.0):
    return max(lo, min(hi, x))


def split_metrics(accs, ns, train_counts):
    """avg (plain, over images), adjusted (weighted by training group counts), worst, gap."""
    live = [g for g in range(len(ns)) if ns[g] > 0]
    avg = sum(accs[g] * ns[g] for g in live) / sum(ns[g] for g in live)
    adj = sum(accs[g] * train_counts[g] for g in live) / sum(train_counts[g] for g in live)
    worst = min(accs[g] for g in live)
    return {"avg_acc": avg, "avg_acc_adjusted": adj, "worst_group_acc": worst, "gap": avg - worst}


def pred_hist(accs, ns, n_cls, n_attr):
    hist = [0.0] * n_cls
    for g, n in enumerate(ns):
        y = g // n_attr
        hist[y] += accs[g] * n
        for other in range(n_cls):
            if other != y:
                hist[other] += (1 - accs[g]) * n / (n_cls - 1)
    return [int(round(h)) for h in hist]


class World:
    def __init__(self, name, classnames, attr_names, train, val, test, zs, ends, pseudo_train):
        self.name, self.classnames, self.attr_names = name, classnames, attr_names
        self.n_attr = max(1, len(attr_names))
        self.train, self.val, self.test = train, val, test
        self.zs, self.ends, self.pseudo_train = zs, ends, pseudo_train


def trajectory(world, method, seed, epochs, rng):
    """Per-epoch test/val group accuracies, loss, weights and p_bar for one method and seed."""
    G = len(world.train)
    start, end = world.zs, world.ends.get(method, world.zs)
    speed = 0.35 + 0.1 * rng.random()
    rows = []
    if method in ("dpt",):
        counts = world.pseudo_train
    else:
        counts = world.train
    w = None
    q = [1.0 / G] * G
    for ep in range(epochs + 1):
        t = 1 - math.exp(-speed * ep)
        acc = {}
        for split in ("val", "test"):
            acc[split] = [clamp(s + (e - s) * t + rng.gauss(0, 0.012 if ep else 0)) for s, e in zip(start, end)]
        p_bar = [clamp(0.88 * a + 0.05 + rng.gauss(0, 0.01)) for a in acc["val"]]
        if method == "dpt":
            eta, ema = 2.0, 0.9
            target = [math.exp(eta * (1 - p)) / max(c, 1) for p, c in zip(p_bar, counts)]
            z = sum(tw * c for tw, c in zip(target, counts)) / sum(counts)
            target = [tw / z for tw in target]
            w = target if w is None else [ema * a + (1 - ema) * b for a, b in zip(w, target)]
            weights = w
        elif method == "oracle":
            weights = [sum(counts) / (G * c) for c in counts]
        elif method == "gdro":
            if ep:
                losses = [1.2 * (1 - a) + 0.05 for a in acc["val"]]
                q = [qi * math.exp(0.5 * l) for qi, l in zip(q, losses)]
                s = sum(q)
                q = [qi / s for qi in q]
            weights = q
        else:
            weights = None
        base = {"erm": 0.12, "dpt": 0.28, "oracle": 0.3, "gdro": 0.34}.get(method, 0.4)
        loss = base + (0.62 - base) * math.exp(-0.45 * ep) + rng.gauss(0, 0.006)
        worst_pseudo = min(acc["val"]) + rng.gauss(0.02, 0.015)
        rows.append({"acc": acc, "loss": loss, "weights": weights,
                     "p_bar": p_bar if method in ("dpt", "oracle") else None, "worst_pseudo": clamp(worst_pseudo)})
    return rows


def metrics_line(world, method, seed, ep, row, lr):
    wg = {"dpt": "pseudo", "oracle": "true", "gdro": "true"}.get(method)
    line = {"method": method, "seed": seed, "epoch": ep, "loss": r4(row["loss"]), "lr": lr,
            "weight_groups": wg,
            "group_weights": None if row["weights"] is None else [r4(x) for x in row["weights"]],
            "p_bar": None if row["p_bar"] is None else [r4(x) for x in row["p_bar"]]}
    for split, ns in (("val", world.val), ("test", world.test)):
        m = split_metrics(row["acc"][split], ns, world.train)
        entry = {"avg_acc": r4(m["avg_acc"]), "worst_group_acc": r4(m["worst_group_acc"])}
        if split == "val":
            entry["worst_group_acc_pseudo"] = r4(row["worst_pseudo"]) if world.attr_names else None
        entry["groups"] = [r4(a) if n > 0 else None for a, n in zip(row["acc"][split], ns)]
        line[split] = entry
    return line


def split_result(world, per_seed_acc, ns, warnings):
    G = len(ns)
    per_seed = [split_metrics(a, ns, world.train) for a in per_seed_acc]
    out = {k: r4(mean([m[k] for m in per_seed])) for k in ("avg_acc", "avg_acc_adjusted", "worst_group_acc", "gap")}
    out["std"] = {k: r4(std([m[k] for m in per_seed])) for k in ("avg_acc", "avg_acc_adjusted", "worst_group_acc", "gap")}
    groups = []
    for g in range(G):
        y, a = divmod(g, world.n_attr)
        accs = [s[g] for s in per_seed_acc]
        groups.append({"g": g, "y": y, "a": a if world.attr_names else None, "n": ns[g],
                       "acc": r4(mean(accs)) if ns[g] else None, "acc_std": r4(std(accs)) if ns[g] else None})
    out["groups"] = groups
    hist = [pred_hist(a, ns, len(world.classnames), world.n_attr) for a in per_seed_acc]
    out["pred_hist"] = [int(round(mean([h[c] for h in hist]))) for c in range(len(world.classnames))]
    out["warnings"] = list(warnings)
    for g in range(G):
        if ns[g] == 0:
            y, a = divmod(g, world.n_attr)
            out["warnings"].append("group %d (%s, %s) has no images; left out of the averages"
                                   % (g, world.classnames[y], world.attr_names[a]))
    total = sum(out["pred_hist"])
    for c, n in enumerate(out["pred_hist"]):
        if n > 0.99 * total:
            out["warnings"].append("%.1f%% of predictions are class '%s'" % (100.0 * n / total, world.classnames[c]))
    return out


def build_run(world, methods, seeds, epochs, select, head="prompt", lr=0.002, seed=1):
    rng = random.Random(seed)
    lines, results = [], {}
    for method in methods:
        if method == "zeroshot":
            row = trajectory(world, "zeroshot", None, 0, rng)[0]
            lines.append(metrics_line(world, method, None, 0, row, None))
            sel = [0]
            finals = {s: [row["acc"][s]] for s in ("val", "test")}
            ep_count = 0
        else:
            sel, finals = [], {"val": [], "test": []}
            for seed_k in seeds:
                traj = trajectory(world, method, seed_k, epochs, rng)
                for ep, row in enumerate(traj):
                    lr_ep = 1e-5 if ep <= 1 else lr * 0.5 * (1 + math.cos(math.pi * (ep - 1) / epochs))
                    lines.append(metrics_line(world, method, seed_k, ep, row, r4(lr_ep) if ep > 1 else 1e-05))
                if select == "last":
                    best = epochs
                else:
                    key = (lambda r: r["worst_pseudo"]) if select == "val-pseudo" else (lambda r: min(r["acc"]["val"]))
                    best = max(range(epochs + 1), key=lambda e: key(traj[e]))
                sel.append(best)
                for s in ("val", "test"):
                    finals[s].append(traj[best]["acc"][s])
            ep_count = epochs
        results[method] = {"selected_epoch": sel, "epochs": ep_count,
                           "test": split_result(world, finals["test"], world.test, []),
                           "val": split_result(world, finals["val"], world.val, [])}
    return lines, results


def confusion(world):
    """Pseudo attribute against the true one on train + val (rows true a, cols pseudo a)."""
    if not world.attr_names:
        return None
    conf = [[0, 0], [0, 0]]
    per_class = []
    for y in range(len(world.classnames)):
        n_y, right = 0, 0
        for a in range(world.n_attr):
            n = world.train[y * world.n_attr + a] + world.val[y * world.n_attr + a]
            err = 0.03 if a == 0 else 0.05
            wrong = int(round(n * err))
            conf[a][a] += n - wrong
            conf[a][1 - a] += wrong
            n_y += n
            right += n - wrong
        per_class.append({"y": y, "n": n_y, "acc": r4(right / n_y)})
    total = sum(map(sum, conf))
    acc = r4((conf[0][0] + conf[1][1]) / total)
    return {"splits": ["train", "val"], "acc": acc, "per_class": per_class, "confusion": conf}


def write_run(name, world, methods, seeds, epochs, select, args_extra, wall):
    lines, results = build_run(world, methods, seeds, epochs, select)
    pl = confusion(world)
    res = {"version": 1, "dataset": world.name, "model": "/models/clip-vit-base-patch32",
           "cache": "/data/cache/" + world.name + "-vitb32", "head": "prompt", "select": select,
           "seeds": seeds, "classnames": world.classnames, "attr_names": world.attr_names,
           "n_groups": len(world.train), "train_group_counts": world.train,
           "pseudo_label_acc": pl["acc"] if pl else None, "pseudo_labels": pl,
           "methods": results, "method_order": methods, "wall_seconds": wall}
    if name == "warn":
        # erm collapses onto the majority class on test (the page must say so).
        erm = res["methods"]["erm"]["test"]
        erm["pred_hist"] = [19890, 72]
        erm["warnings"].append("99.6% of predictions are class 'not blond'")
    args = {"cache": res["cache"], "model": res["model"], "out": "/runs/" + name,
            "methods": ",".join(methods), "seeds": ",".join(map(str, seeds)), "select": select,
            "classnames": world.classnames, "template": ["a photo of a {}."],
            "attr_prompt": ["a photo of a bird on land.", "a photo of a bird on water."] if world.attr_names else [],
            "head": "prompt", "n_ctx": 4, "ctx_init": "a photo of a", "csc": False, "position": "end",
            "optim": "sgd", "lr": 0.002, "momentum": 0.9, "weight_decay": 0.0005, "epochs": epochs,
            "batch": 32, "warmup_epochs": 1, "warmup_lr": 1e-05, "eta": 2.0, "ema": 0.9,
            "dpt_update": "epoch", "threads": 0}
    args.update(args_extra)
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "results.json"), "w") as f:
        f.write(dumps(res) + "\n")
    with open(os.path.join(d, "metrics.jsonl"), "w") as f:
        for line in lines:
            f.write(json.dumps(line, allow_nan=False) + "\n")
    with open(os.path.join(d, "args.json"), "w") as f:
        f.write(dumps(args) + "\n")


def edit_copy(src, dst, fname, fn):
    d = os.path.join(OUT, dst)
    if src != dst:
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(os.path.join(OUT, src), d)
    p = os.path.join(d, fname)
    if fn is None:
        os.remove(p)
        return
    with open(p) as f:
        text = f.read()
    with open(p, "w") as f:
        f.write(fn(text))


def main():
    waterbirds = World("waterbirds", ["landbird", "waterbird"], ["land", "water"],
                       train=[3498, 184, 56, 1057], val=[467, 466, 133, 133], test=[2255, 2255, 642, 642],
                       zs=[0.962, 0.741, 0.468, 0.918],
                       ends={"erm": [0.994, 0.752, 0.582, 0.968], "dpt": [0.931, 0.874, 0.851, 0.917],
                             "oracle": [0.925, 0.889, 0.868, 0.912], "gdro": [0.918, 0.881, 0.859, 0.902]},
                       pseudo_train=[3393, 289, 110, 1003])
    write_run("full", waterbirds, ["zeroshot", "erm", "dpt", "oracle", "gdro"], [0, 1, 2], 10,
              "val-pseudo", {}, 734.2)
    celeba = World("celeba", ["not blond", "blond"], ["female", "male"],
                   train=[71629, 66874, 22880, 1387], val=[8535, 8276, 2874, 0], test=[9767, 7535, 2480, 180],
                   zs=[0.802, 0.953, 0.861, 0.431],
                   ends={"erm": [0.951, 0.998, 0.882, 0.411]}, pseudo_train=[71000, 67500, 22300, 1967])
    write_run("warn", celeba, ["zeroshot", "erm"], [0, 1], 6, "val-true",
              {"batch": 64, "attr_prompt": ["a photo of a woman.", "a photo of a man."]}, 2211.9)
    own = World("csv", ["cat", "dog", "fox"], [], train=[412, 398, 120], val=[50, 50, 50], test=[100, 100, 100],
                zs=[0.91, 0.87, 0.64], ends={}, pseudo_train=[412, 398, 120])
    write_run("minimal", own, ["zeroshot"], [0], 0, "last", {"template": ["a photo of a {}.", "a {} in the wild."]}, 3.1)

    # Strings a page must escape: markup, quotes, ampersands, control and non-characters.
    hostile = ["<script>alert(1)</script>", "a & b \"q\" 'x'", "c\u0001\ufffe ]]> -- <!-- x -->"]
    edit_copy("minimal", "hostile", "results.json",
              lambda t: t.replace(json.dumps(own.classnames), json.dumps(hostile))
                         .replace('"dataset": "csv"', '"dataset": "</title><style>x{}</style>"'))
    edit_copy("hostile", "hostile", "args.json", lambda t: t.replace('"head": "prompt"', '"head": "<img src=x onerror=1>"'))

    edit_copy("minimal", "bad_missing_results", "results.json", None)
    edit_copy("minimal", "bad_json", "results.json", lambda t: t[: len(t) // 2])
    edit_copy("minimal", "bad_percent", "results.json",
              lambda t: t.replace('"avg_acc": %s' % json.loads(t)["methods"]["zeroshot"]["test"]["avg_acc"],
                                  '"avg_acc": 81.0', 1))
    edit_copy("minimal", "bad_no_methods", "results.json", lambda t: t.replace('"methods"', '"method_results"'))
    edit_copy("minimal", "bad_group", "results.json", lambda t: t.replace('"y": 2', '"y": 7', 1))
    edit_copy("minimal", "bad_metrics", "metrics.jsonl", lambda t: t + '{"method": "zeroshot", "seed": null, "epoch": 0,\n')
    edit_copy("minimal", "bad_args", "args.json", lambda t: "[" + t.strip() + "]\n")
    edit_copy("minimal", "bad_missing_args", "args.json", None)


if __name__ == "__main__":
    main()
