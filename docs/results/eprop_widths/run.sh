#!/bin/sh
# The width study of docs/eprop.md: cue accumulation on loihi-eprop, diffusion and
# sparse feedback, 3 seeds, 16,000 training trials per run, against the weight width
# (16, 12, 9, 8, 6 bits at 20 fractional trace bits) and the traces' fractional bits
# (20, 12, 8, 7 at 16-bit weights), with the Adam unit and with the plain update.
# Usage: run.sh AMINE OUT_DIR   (then: python3 table.py OUT_DIR .)
set -e
amine=$1
out=$2
mkdir -p "$out"
common="--task cue-accumulation --seeds 3 --trials 16000 --eval-every 16000 --eval-trials 256 --threads 2 --json"
run() { # name, flags...
    name=$1; shift
    [ -s "$out/$name.json" ] && return
    nice -n 10 "$amine" train $common "$@" > "$out/$name.json.tmp"
    mv "$out/$name.json.tmp" "$out/$name.json"
}
for wf in 16:20 12:20 9:20 8:20 6:20 16:12 16:8 16:7; do
    w=${wf%:*}; f=${wf#*:}
    run "adam_w${w}_f${f}" --condition diffusion,sparse --weight-bits "$w" --frac-bits "$f"
    run "sgd_diffusion_w${w}_f${f}" --condition diffusion --lr 65,327,25 --weight-bits "$w" --frac-bits "$f"
    run "sgd_sparse_w${w}_f${f}" --condition sparse --lr 98,532,25 --weight-bits "$w" --frac-bits "$f"
done
