#!/usr/bin/python3
"""The model table of issue 5: every model of the registry trained from the CLI on a prepared
dataset for a fixed number of steps, next to its PyTorch twin (bench/torch_models.py).

For each model listed by `uad models` (name, input shape, parameters):
  1. `uad train --model M --data DATA --view V --out RUNS/M --epochs 1 --max-train-batches N
     --max-val-batches VB --patience 0 --no-progress --device cpu --seed 0` (V from the input
     shape: [1,128,128] slices128, [1,256,256] slices256, [1,64,64,64] vol64), then from its
     log.jsonl (train/jsonl_log.h; the trainers' "step" and "epoch" lines):
       - seconds per step: the step durations from the cumulative "seconds" of the step lines;
         the first step of an epoch gets epoch_seconds − val_seconds − the epoch's other steps,
         so checkpoint writing between epochs is not counted; the first step of each phase
         (warm-up) is excluded; the median of the rest (min also kept in the JSON);
       - the validation loss after the N steps: "val_loss" of the last epoch line (the model's
         own loss in eval mode on the first VB validation batches) and "val_l1" (Σ_pix|x − x̂|
         per slice, comparable across models of one input size) when the trainer logs it.
  2. `/usr/bin/python3 bench/torch_models.py --model M --json ...` in its own process: the twin's
     parameter count and the median seconds of the same training step (same loss, optimisers,
     batch, threads), the first call a warm-up.
The two engines run one after the other, model by model (never at the same time).

What a "step" is depends on the trainer (train/*.h); rows say it:
  reconstruction models        one Adam update on loss(x)
  anovaegan                    AE update + generator update + 5 WGAN-GP critic updates
  sae_gan, svae_gan            1 BCE critic update, then the AE update with the adversarial term
  constrained_aae (epoch 1)    20 AE updates + 20 latent-critic updates + 1 encoder update
  anogan                       5 WGAN-GP critic updates on the batch + 1 generator update
  fanogan, fanogan3d           two rows: "gan" = one WGAN-GP iteration (n_critic critic updates,
                               one real batch each, + 1 generator update); "encoder" = one izi_f
                               update (G, D frozen)
Per-model settings (the defaults keep the whole run near 15-20 minutes on 2 cores):
  fanogan      N = 3·5 batches → 3 WGAN-GP iterations, then 15 encoder steps
  fanogan3d    batch 2 (the dataset has 9 training volumes), N = 4, --n-critic 4, --gan-epochs 3 →
               3 WGAN-GP iterations of 4 critic updates, then 4 encoder steps; 1 validation batch
  anogan       2 validation batches (its validation loss runs a 100-step latent search per batch)

Usage:
    /usr/bin/python3 bench/model_table.py --uad build/uad --data /tmp/evdata --out runs/model_table.md
        [--runs DIR] [--steps 10] [--batch 8] [--val-batches 8] [--torch-steps 3]
        [--torch-budget 45] [--threads 2] [--models a,b,...] [--no-torch] [--json FILE]
    /usr/bin/python3 bench/model_table.py --from-json FILE --out table.md     (rebuild the table only)
The uad runs get OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = --threads and OMP_WAIT_POLICY=PASSIVE
(spinning threads are 10-30× slower on a loaded machine); torch gets torch.set_num_threads and the
same environment. The load average before and after is printed with the table: check `uptime`.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"  # has torch (the `python3` on PATH may not)

VIEWS = {"[1,128,128]": "slices128", "[1,256,256]": "slices256", "[1,64,64,64]": "vol64"}
STEP_KIND = {
    "anovaegan": "AE + G + 5 D (WGAN-GP)",
    "sae_gan": "1 D (BCE) + AE w/ adv.",
    "svae_gan": "1 D (BCE) + AE w/ adv.",
    "constrained_aae": "20 AE + 20 D + 1 E",
    "anogan": "5 D (WGAN-GP) + 1 G",
}


def list_models(uad):
    """[(name, input shape text, parameters)] from the Markdown table of `uad models`."""
    out = subprocess.run([uad, "models"], check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"[\d,]+", cells[2]):
            rows.append((cells[0], cells[1], int(cells[2].replace(",", ""))))
    return rows


def settings(name, shape, a):
    """The uad train options and the twin's batch / n_critic for one model (see the docstring)."""
    s = {"view": VIEWS.get(shape), "batch": a.batch, "steps": a.steps, "val_batches": a.val_batches,
         "n_critic": 5, "extra": []}
    if name == "fanogan":
        s["steps"] = 3 * 5
    elif name == "fanogan3d":
        s.update(batch=2, steps=4, n_critic=4, val_batches=1, extra=["--n-critic", "4", "--gan-epochs", "3"])
    elif name == "anogan":
        s["val_batches"] = min(a.val_batches, 2)
    return s


def step_durations(lines):
    """{phase: [seconds per step]} from the log lines (see the docstring)."""
    out, cur, last_seconds = {}, [], None
    for l in lines:
        if l.get("kind") == "step":
            cur.append(l)
        elif l.get("kind") == "epoch":
            if cur:
                d = [b["seconds"] - a["seconds"] for a, b in zip(cur, cur[1:])]
                first = l.get("epoch_seconds", 0.0) - l.get("val_seconds", 0.0) - sum(d)
                if first <= 0 and last_seconds is not None:  # fall back on the raw difference
                    first = cur[0]["seconds"] - last_seconds
                phase = cur[0].get("phase", "step")
                out.setdefault(phase, []).extend([first] + d)
            cur, last_seconds = [], l.get("seconds")
    return out


def summarise(times):
    """Median and min without the first (warm-up) step; with a single step, that step."""
    t = times[1:] if len(times) > 1 else times
    return (statistics.median(t), min(t)) if t else (None, None)


def run_uad(a, name, s, env):
    out = os.path.join(a.runs, name)
    shutil.rmtree(out, ignore_errors=True)
    cmd = [a.uad, "train", "--model", name, "--data", a.data, "--view", s["view"], "--out", out, "--epochs", "1",
           "--batch-size", str(s["batch"]), "--max-train-batches", str(s["steps"]), "--max-val-batches",
           str(s["val_batches"]), "--patience", "0", "--no-progress", "--device", "cpu", "--seed", "0"] + s["extra"]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    r = {"cmd": " ".join(cmd), "wall": time.time() - t0, "rc": p.returncode}
    if p.returncode != 0:
        r["error"] = (p.stderr or p.stdout).strip().splitlines()[-1:] or ["exit %d" % p.returncode]
        return r
    with open(os.path.join(out, "log.jsonl")) as f:
        lines = [json.loads(x) for x in f if x.strip()]
    r["phases"] = {}
    for phase, d in step_durations(lines).items():
        med, mn = summarise(d)
        r["phases"][phase] = {"times": d, "median": med, "min": mn}
    epochs = [l for l in lines if l.get("kind") == "epoch" and "val_loss" in l]
    if epochs:
        r["val_loss"], r["val_l1"] = epochs[-1]["val_loss"], epochs[-1].get("val_l1")
        r["val_parts"] = {k[4:]: v for k, v in epochs[-1].items()
                          if k.startswith("val_") and k not in ("val_loss", "val_l1", "val_seconds")}
    r["steps_done"] = max((l.get("step", 0) for l in lines), default=0)
    for f in ("last.safetensors", "best.safetensors"):  # GBs for the big models: keep the log and config
        try:
            os.remove(os.path.join(out, f))
        except OSError:
            pass
    return r


def run_torch(a, name, s, env):
    cmd = [PY, os.path.join(HERE, "torch_models.py"), "--model", name, "--json", "--batch", str(s["batch"]),
           "--steps", str(a.torch_steps), "--budget", str(a.torch_budget), "--threads", str(a.threads),
           "--data", a.data, "--n-critic", str(s["n_critic"])]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        msg = (p.stderr or p.stdout).strip().splitlines()
        return {"error": msg[-1] if msg else "exit %d" % p.returncode}
    res = {}
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            j = json.loads(line)
            res[j["phase"]] = j
    return res


def fmt_s(v):
    if v is None:
        return "—"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def fmt_loss(v):
    if v is None:
        return "—"
    return f"{v:.4g}"


def zero_baselines(data, views):
    """{view: mean Σx per validation slice (volume)}: the validation L1 of an all-zero reconstruction
    (what val L1/slice approaches while a model's eval-mode output is still ≈ 0)."""
    out = {}
    try:
        import glob
        import nibabel as nib
        import numpy as np
    except ImportError:
        return out
    for v in views:
        sums = []
        for f in sorted(glob.glob(os.path.join(data, v, "val", "*_image.nii.gz"))):
            a = np.asarray(nib.load(f).dataobj, dtype=np.float32)
            sums += [float(a.sum())] if v == "vol64" else list(a.sum((0, 1)).astype(float))
        if sums:
            out[v] = sum(sums) / len(sums)
    return out


def load_avg():
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return ["?"] * 3


def build_table(rows, a, load0, load1, started, seconds, baselines=None):
    head = ("| model | input | parameters (uad / torch) | step | batch | s/step uad median (min) "
            "| s/step torch median (min) | torch/uad | val loss after N steps (uad) | val L1/slice | N |")
    lines = [head, "|" + "---|" * 11]
    notes = []
    for r in rows:
        u, t = r["uad"], r.get("torch", {})
        tp = next((x["params"] for x in t.values() if isinstance(x, dict) and "params" in x), None)
        if tp is None:
            params = f"{r['params']:,} / —"
        else:
            params = f"{r['params']:,} / {tp:,}" + ("" if tp == r["params"] else " **≠**")
            if tp != r["params"]:
                notes.append(f"{r['name']}: parameter mismatch uad {r['params']:,} vs torch {tp:,}")
        if "error" in u:
            lines.append(f"| {r['name']} | {r['shape']} | {params} | — | {r['s']['batch']} | uad failed | — | — | — | — | — |")
            notes.append(f"{r['name']}: uad train failed: {u['error']}")
            continue
        if "error" in t:
            notes.append(f"{r['name']}: torch twin failed: {t['error']}")
        phases = list(u["phases"].keys())
        for i, ph in enumerate(phases):
            last = i == len(phases) - 1
            us, umin = u["phases"][ph]["median"], u["phases"][ph]["min"]
            tt = t.get(ph) if isinstance(t.get(ph), dict) else None
            ts, tmin = (tt["median"], tt["min"]) if tt else (None, None)
            ratio = f"{ts / us:.2f}" if (ts and us) else "—"
            if ph == "gan":
                kind = f"WGAN-GP iter ({r['s']['n_critic']} D + 1 G)"
            elif ph == "encoder":
                kind = "izi_f E update"
            else:
                kind = STEP_KIND.get(r["name"], "AE update")
            name = r["name"] if ph == "step" else f"{r['name']} ({ph})"
            n_steps = len(u["phases"][ph]["times"])
            vl = fmt_loss(u.get("val_loss")) if last else ""
            v1 = fmt_loss(u.get("val_l1")) if last else ""
            lines.append(f"| {name} | {r['shape']} | {params} | {kind} | {r['s']['batch']} | {fmt_s(us)} ({fmt_s(umin)}) | "
                         f"{f'{fmt_s(ts)} ({fmt_s(tmin)})' if tt else '—'} | {ratio} | {vl} | {v1} | {n_steps} |")
    text = "\n".join(lines)
    meta = (f"\nRun {started} UTC on {os.cpu_count()} cores, {a.threads} threads per engine, OMP_WAIT_POLICY=PASSIVE; "
            f"load average before {' '.join(load0)}, after {' '.join(load1)}; total {seconds / 60:.1f} min.\n"
            f"uad: `uad train --epochs 1 --max-train-batches N --max-val-batches {a.val_batches}` (see bench/model_table.py "
            f"for per-model exceptions), s/step = median (min) of the step times from log.jsonl without the first step; torch: "
            f"bench/torch_models.py, median (min) of up to {a.torch_steps} steps after one warm-up (fewer when a step takes longer "
            f"than --torch-budget {a.torch_budget:g} s in total); torch/uad = ratio of the medians (> 1: uad faster). val loss = the model's loss in eval mode on the first "
            f"validation batches (units differ per model: L1 sum per slice (+KL), MSE for the constrained models, izi_f "
            f"for f-AnoGAN, the latent-search score for AnoGAN); val L1/slice = Σ|x − x̂| per slice.\n")
    if baselines:
        meta += ("Zero-reconstruction baseline (Σx per validation slice/volume, the val L1 of x̂ = 0): "
                 + ", ".join(f"{v} {b:.4g}" for v, b in sorted(baselines.items())) + ".\n")
    if notes:
        meta += "\nNotes:\n" + "\n".join("- " + n for n in notes) + "\n"
    return text + "\n" + meta


def write_table(a, text):
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(text)
    print(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uad", default="build/uad")
    ap.add_argument("--data", default="/tmp/evdata")
    ap.add_argument("--out", default="runs/model_table.md", help="Markdown file to write")
    ap.add_argument("--runs", default="", help="folder of the uad runs (default: <out>_runs)")
    ap.add_argument("--steps", type=int, default=10, help="N: training steps (batches) per uad run")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--val-batches", type=int, default=8)
    ap.add_argument("--torch-steps", type=int, default=3)
    ap.add_argument("--torch-budget", type=float, default=45.0, help="seconds per twin phase after which timing stops")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="", help="comma-separated subset (default: the whole registry)")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--json", default="", help="also write every measurement as JSON")
    ap.add_argument("--from-json", default="", help="only rebuild the table from a JSON file written by --json")
    a = ap.parse_args()
    if a.from_json:
        with open(a.from_json) as f:
            j = json.load(f)
        rows, m = (j["rows"], j["meta"]) if isinstance(j, dict) else (j, {})
        for k in ("threads", "val_batches", "torch_steps", "torch_budget"):
            setattr(a, k, m.get(k, getattr(a, k)))
        write_table(a, build_table(rows, a, m.get("load_before", ["?"] * 3), m.get("load_after", ["?"] * 3),
                                   m.get("started", "?"), m.get("seconds", 0.0), m.get("baselines")))
        return
    a.uad = os.path.abspath(a.uad)
    if not os.path.isfile(os.path.join(a.data, "manifest.json")):
        sys.exit(f"model_table.py: {a.data} is not a prepared dataset (no manifest.json)")
    a.runs = os.path.abspath(a.runs or os.path.splitext(a.out)[0] + "_runs")
    os.makedirs(a.runs, exist_ok=True)
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS=str(a.threads),
               OPENBLAS_NUM_THREADS=str(a.threads))
    models = list_models(a.uad)
    if a.models:
        keep = a.models.split(",")
        unknown = set(keep) - {m[0] for m in models}
        if unknown:
            sys.exit(f"model_table.py: not in the registry: {', '.join(sorted(unknown))}")
        models = [m for m in models if m[0] in keep]
    sys.path.insert(0, HERE)
    twins = set()
    if not a.no_torch:
        out = subprocess.run([PY, os.path.join(HERE, "torch_models.py"), "--list"], capture_output=True, text=True)
        twins = {l.split()[0] for l in out.stdout.splitlines() if l.strip()}
    started, load0, t0 = time.strftime("%Y-%m-%d %H:%M", time.gmtime()), load_avg(), time.time()
    rows = []
    for name, shape, params in models:
        s = settings(name, shape, a)
        r = {"name": name, "shape": shape, "params": params, "s": s}
        if s["view"] is None:
            r["uad"] = {"error": [f"no dataset view for input {shape}"]}
        else:
            r["uad"] = run_uad(a, name, s, env)
        if name in twins:
            r["torch"] = run_torch(a, name, s, env)
        u = r["uad"]
        summary = " ".join(f"{ph} {fmt_s(v['median'])} s" for ph, v in u.get("phases", {}).items()) or u.get("error")
        tsum = " ".join(f"{ph} {fmt_s(v['median'])} s" for ph, v in r.get("torch", {}).items() if isinstance(v, dict))
        print(f"[{time.time() - t0:6.0f} s] {name}: uad {summary}; val {fmt_loss(u.get('val_loss'))}"
              + (f"; torch {tsum or r['torch'].get('error')}" if "torch" in r
                 else "; torch skipped" if a.no_torch else "; no twin"), flush=True)
        rows.append(r)
    seconds, load1 = time.time() - t0, load_avg()
    baselines = zero_baselines(a.data, sorted({r["s"]["view"] for r in rows if r["s"]["view"]}))
    if a.json:
        meta = {"started": started, "load_before": load0, "load_after": load1, "seconds": seconds, "threads": a.threads,
                "val_batches": a.val_batches, "torch_steps": a.torch_steps, "torch_budget": a.torch_budget,
                "baselines": baselines}
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1, default=str)
    print()
    write_table(a, build_table(rows, a, load0, load1, started, seconds, baselines))


if __name__ == "__main__":
    main()
