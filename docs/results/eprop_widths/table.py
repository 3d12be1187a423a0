#!/usr/bin/env python3
"""The width study's table and picture from the reports run.sh wrote.

Usage: table.py RUN_DIR OUT_DIR -> OUT_DIR/widths.csv, widths.md, widths.svg
"""
import json
import os
import statistics
import sys

run_dir, out_dir = sys.argv[1], sys.argv[2]
WF = [(16, 20), (12, 20), (9, 20), (8, 20), (6, 20), (16, 12), (16, 8), (16, 7)]
rows = []  # (update, condition, w, f, finals)
for w, f in WF:
    for update, files in [
        ("Adam", [f"adam_w{w}_f{f}"]),
        ("SGD", [f"sgd_diffusion_w{w}_f{f}", f"sgd_sparse_w{w}_f{f}"]),
    ]:
        for name in files:
            path = os.path.join(run_dir, name + ".json")
            if not os.path.exists(path):
                continue
            study = json.load(open(path))
            for s in study["summaries"]:
                rows.append((update, s["condition"].lower(), w, f, s["finals"], study))


def ms(x):
    m = statistics.mean(x)
    sd = statistics.stdev(x) if len(x) > 1 else 0.0
    return 100 * m, 100 * sd


with open(os.path.join(out_dir, "widths.csv"), "w") as o:
    o.write("update,condition,weight_bits,frac_bits,seeds,mean_accuracy,sd,per_seed\n")
    for u, c, w, f, fin, _ in rows:
        m, sd = ms(fin)
        o.write(f"{u},{c},{w},{f},{len(fin)},{m / 100:.4f},{sd / 100:.4f},"
                + " ".join(f"{x:.4f}" for x in fin) + "\n")

with open(os.path.join(out_dir, "widths.md"), "w") as o:
    chip = rows[0][5]["chip"] if rows else {}
    o.write(f"Final accuracy (%), mean ± sd over {len(rows[0][4]) if rows else 0} seeds, "
            f"16,000 trials, chip `{chip.get('name')}` "
            f"(fingerprint {chip.get('fingerprint', 0):016x}).\n\n")
    for title, sel in [("weight bits (traces: 20 fractional bits)", lambda w, f: f == 20),
                       ("trace fractional bits (weights: 16 bits)", lambda w, f: w == 16)]:
        keys = [(w, f) for w, f in WF if sel(w, f)]
        o.write(f"| {title} | " + " | ".join(str(w if 'weight' in title else f) for w, f in keys) + " |\n")
        o.write("| --- |" + " --- |" * len(keys) + "\n")
        for u in ["Adam", "SGD"]:
            for c in ["diffusion", "sparse"]:
                cells = []
                for w, f in keys:
                    r = [x for x in rows if x[:4] == (u, c, w, f)]
                    cells.append("%.1f ± %.1f" % ms(r[0][4]) if r else "—")
                o.write(f"| {c}, {u} | " + " | ".join(cells) + " |\n")
        o.write("\n")

# Two panels: accuracy against weight bits, against fractional bits.
W, H, L, R, T, B, GAP = 900, 380, 60, 150, 50, 50, 60
pw = (W - L - R - GAP) / 2
colours = {("diffusion", "Adam"): "#21918c", ("sparse", "Adam"): "#e6a100",
           ("diffusion", "SGD"): "#3b528b", ("sparse", "SGD"): "#c2185b"}
s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
     'font-family="sans-serif" font-size="12">', f'<rect width="{W}" height="{H}" fill="white"/>',
     f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15">cue accumulation on the chip: '
     'final accuracy against the hardware\'s widths (16,000 trials, mean ± sd over seeds)</text>']
lo, hi = 0.45, 1.0
y = lambda v: H - B - (v - lo) / (hi - lo) * (H - T - B)
for p, (label, xs, pick) in enumerate([
        ("weight bits (20 fractional trace bits)", [16, 12, 9, 8, 6], lambda w, f: (w, f == 20)),
        ("trace fractional bits (16-bit weights)", [20, 12, 8, 7], lambda w, f: (f, w == 16))]):
    x0 = L + p * (pw + GAP)
    xpos = lambda i: x0 + pw * (i + 0.5) / len(xs)
    s.append(f'<line x1="{x0}" y1="{H - B}" x2="{x0 + pw}" y2="{H - B}" stroke="black"/>')
    s.append(f'<line x1="{x0}" y1="{T}" x2="{x0}" y2="{H - B}" stroke="black"/>')
    for v in [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]:
        s.append(f'<line x1="{x0}" y1="{y(v):.1f}" x2="{x0 + pw}" y2="{y(v):.1f}" stroke="#eee"/>')
        s.append(f'<text x="{x0 - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{int(v * 100)} %</text>')
    for i, xv in enumerate(xs):
        s.append(f'<text x="{xpos(i):.1f}" y="{H - B + 16}" text-anchor="middle">{xv}</text>')
    s.append(f'<text x="{x0 + pw / 2}" y="{H - B + 36}" text-anchor="middle">{label}</text>')
    for (c, u), col in colours.items():
        pts = []
        for i, xv in enumerate(xs):
            r = [x for x in rows if x[0] == u and x[1] == c and pick(x[2], x[3]) == (xv, True)]
            if r:
                m = statistics.mean(r[0][4])
                sd = statistics.stdev(r[0][4]) if len(r[0][4]) > 1 else 0
                pts.append((xpos(i), m))
                s.append(f'<line x1="{xpos(i):.1f}" y1="{y(m - sd):.1f}" x2="{xpos(i):.1f}" '
                         f'y2="{y(m + sd):.1f}" stroke="{col}" opacity="0.5"/>')
        if pts:
            s.append(f'<polyline fill="none" stroke="{col}" stroke-width="2" points="'
                     + " ".join(f"{a:.1f},{y(b):.1f}" for a, b in pts) + '"/>')
            for a, b in pts:
                s.append(f'<circle cx="{a:.1f}" cy="{y(b):.1f}" r="3" fill="{col}"/>')
for k, ((c, u), col) in enumerate(colours.items()):
    s.append(f'<line x1="{W - R + 10}" y1="{T + 20 + 18 * k}" x2="{W - R + 30}" y2="{T + 20 + 18 * k}" '
             f'stroke="{col}" stroke-width="2"/>')
    s.append(f'<text x="{W - R + 36}" y="{T + 24 + 18 * k}">{c}, {u}</text>')
if rows:
    chip = rows[0][5]["chip"]
    s.append(f'<text x="4" y="{H - 3}" font-size="9" fill="#777">program template (amine template eprop, '
             f'--weight-bits/--frac-bits); chip `{chip["name"]}`, configuration fingerprint '
             f'{chip["fingerprint"]:016x}</text>')
s.append("</svg>")
open(os.path.join(out_dir, "widths.svg"), "w").write("\n".join(s) + "\n")
