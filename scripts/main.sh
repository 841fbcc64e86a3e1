#!/usr/bin/env bash
# The main job (issue 7): one command, end to end on real brain volumes, on the CPU when no GPU.
#  1. installs what it needs (apt, idempotent) and builds uad;
#  2. prepares the default dataset into runs/data: augmented healthy copies of Colin27 for
#     training/validation, synthetic anomalies on other subjects for testing (Debian packages),
#     plus the MSLUB patient with its real lesion mask and the IXI subject when ../shared/data
#     (or the folder given as `--data DIR`, same layout) is present;
#  3. trains the unified dense AE, the unified VAE and — when the budget allows — the unified
#     2-D f-AnoGAN (paper 003) on the healthy 128x128 training slices, into runs/<model>;
#  4. evaluates them (and the VAE with You et al.'s restoration: 10 steps of 3e-2 here instead of
#     the paper's 500 of 1e-3, for the budget) on every test split, with the
#     operating point at the 98th percentile of the healthy validation maps and the absolute
#     residual (T1 lesions are hypointense; the papers' positive residual is for FLAIR), and writes
#     runs/study/: study.md/.csv/.json, metrics.json, cases/ (NIfTI outputs and a panel per case)
#     and report.html (self-contained: tables and pictures).
# Settings are sized for about 20 minutes on 2 CPU cores; override with the environment:
#   UAD_AE_EPOCHS, UAD_VAE_EPOCHS, UAD_GAN_EPOCHS (WGAN-GP epochs; 0 = skip f-AnoGAN),
#   UAD_ENCODER_EPOCHS (f-AnoGAN's izi_f encoder), UAD_RESTORATION_STEPS, UAD_MAX_VOLUMES (per
#   test split; 0 = all).
set -euo pipefail
data_dir=""
while (( $# )); do
  case $1 in
    --data) data_dir=$(realpath "$2"); shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "main.sh: unknown argument '$1' (usage: bash scripts/main.sh [--data DIR])" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
# Idle OpenMP threads sleep instead of spinning: with spinning, any other busy process on a
# 2-core machine slows every step 10-30x (measured); on an idle machine passive costs little.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
ae_epochs=${UAD_AE_EPOCHS:-12}
vae_epochs=${UAD_VAE_EPOCHS:-12}
gan_epochs=${UAD_GAN_EPOCHS:-8}
encoder_epochs=${UAD_ENCODER_EPOCHS:-3}
restoration_steps=${UAD_RESTORATION_STEPS:-10}
max_volumes=${UAD_MAX_VOLUMES:-0}
stages=()
t_start=$SECONDS
stage() {  # stage NAME -- command...
  local name=$1; shift 2
  local t0=$SECONDS
  echo "== $name"
  "$@"
  stages+=(--stage-time "$name=$((SECONDS - t0))")
}
stage "install dependencies" -- bash scripts/install_deps.sh
stage "build" -- env UAD_CUDA=OFF bash scripts/build.sh -DUAD_BUILD_TESTS=OFF -DUAD_BUILD_BENCH=OFF
uad=./build/uad
$uad info | head -3
data_args=()
[[ -n "$data_dir" ]] && data_args=(--shared-data "$data_dir")
stage "prepare dataset" -- $uad data prepare --out runs/data --overwrite "${data_args[@]}"
train() {  # train MODEL EPOCHS LR [more uad train options]
  local model=$1 epochs=$2 lr=$3; shift 3
  rm -rf "runs/$model"
  $uad train --model "$model" --data runs/data --out "runs/$model" --epochs "$epochs" --lr "$lr" --seed 1 "$@"
}
stage "train ae_dense ($ae_epochs epochs)" -- train ae_dense "$ae_epochs" 3e-4
stage "train vae ($vae_epochs epochs)" -- train vae "$vae_epochs" 3e-4
runs=(--run runs/ae_dense --run runs/vae --run runs/vae:restoration)
if (( gan_epochs > 0 )); then
  stage "train fanogan ($gan_epochs WGAN-GP + $encoder_epochs encoder epochs)" -- \
    train fanogan "$encoder_epochs" 1e-4 --gan-epochs "$gan_epochs"
  runs+=(--run runs/fanogan)
fi
rm -rf runs/study
stage "evaluate and report" -- $uad evaluate "${runs[@]}" --data runs/data --out runs/study --report \
  --restoration-steps "$restoration_steps" --restoration-lr 3e-2 --max-volumes "$max_volumes" --absolute-residual \
  --note "Trained on augmented copies of one healthy brain (Colin27); tested on other subjects with synthetic anomalies and, when present, a real MS patient." \
  --note "Operating point: 98th percentile of the anomaly maps of the healthy validation volumes (no labels used)." \
  --note "Anomaly map: |x - reconstruction| (both signs): on these T1 scans lesions and tumours are darker than normal tissue, so the positive-only residual of the FLAIR papers would miss them." \
  "${stages[@]}"
echo "main job done in $((SECONDS - t_start)) s: runs/study/report.html"
