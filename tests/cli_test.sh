#!/usr/bin/env bash
# End-to-end checks of the `uad` tool: help, the smoke run, and bad input giving one clear error
# and a non-zero exit. Usage: tests/cli_test.sh path/to/uad
set -u
uad=$1
fails=0
total=0
expect() {  # expect NAME WANT_RC REGEX -- command...
  local name=$1 want=$2 re=$3; shift 4
  local out rc
  total=$((total + 1))
  out=$("$@" 2>&1); rc=$?
  if [[ $rc -ne $want && ! ( $want -ne 0 && $rc -ne 0 ) ]] || ! grep -qE -- "$re" <<<"$out"; then
    echo "FAIL $name: rc=$rc (want $want), output:"; echo "$out" | tail -5; fails=$((fails + 1))
  else
    echo "ok   $name"
  fi
}
expect help 0 "smoke" -- "$uad" --help
expect smoke-help 0 "--steps" -- "$uad" smoke --help
expect smoke 0 "MSE [0-9.]+ -> [0-9.]+" -- "$uad" smoke --steps 15
expect device-line 0 "^device: cpu" -- "$uad" smoke --steps 1
expect unknown-device 1 "device" -- "$uad" smoke --device tpu
expect no-subcommand 1 "subcommand" -- "$uad"
expect models 0 "ae_dense .*1,627,249" -- "$uad" models
expect unknown-model 1 "uad: error: .*unknown model 'nope'.*ae_dense" -- "$uad" train --model nope --data /nonexistent --out /tmp/uad_cli_never
# detect / evaluate: bad input gives one clear error and writes nothing.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
expect detect-help 0 "--operating-point" -- "$uad" detect --help
expect evaluate-help 0 "best_dice_val" -- "$uad" evaluate --help
expect detect-missing-input 1 "uad: error: .*$tmp/none.nii.gz" -- "$uad" detect --run "$tmp/run" --in "$tmp/none.nii.gz" --out "$tmp/out1"
head -c 4000 /dev/urandom > "$tmp/corrupt.nii.gz"
expect detect-corrupt-input 1 "uad: error: .*corrupt.nii.gz" -- "$uad" detect --run "$tmp/run" --in "$tmp/corrupt.nii.gz" --out "$tmp/out2"
expect evaluate-missing-run 1 "uad: error: run folder '$tmp/norun' does not exist" -- "$uad" evaluate --run "$tmp/norun" --out "$tmp/out3"
if /usr/bin/python3 -c "import nibabel, numpy" 2>/dev/null; then
  /usr/bin/python3 - "$tmp" <<'PY'
import sys, numpy as np, nibabel as nib
d = sys.argv[1]
v = np.ones((20, 20, 20), np.float32); v[3, 4, 5] = np.nan
nib.save(nib.Nifti1Image(v, np.eye(4)), d + "/nan.nii.gz")
nib.save(nib.Nifti1Image(np.ones((20, 20, 20, 2), np.float32), np.eye(4)), d + "/4d.nii.gz")
PY
  expect detect-nan-input 1 "uad: error: .*nan.nii.gz.*NaN" -- "$uad" detect --run "$tmp/run" --in "$tmp/nan.nii.gz" --out "$tmp/out4"
  expect detect-4d-input 1 "uad: error: .*4d.nii.gz.*4-D" -- "$uad" detect --run "$tmp/run" --in "$tmp/4d.nii.gz" --out "$tmp/out5"
fi
total=$((total + 1))
if ls "$tmp" | grep -q '^out'; then echo "FAIL nothing-written: $(ls "$tmp")"; fails=$((fails + 1)); else echo "ok   nothing-written"; fi
if ! "$uad" info | grep -q "CUDA devices   : [1-9]"; then
  expect cuda-requested 1 "uad: error: --device cuda: no usable CUDA device" -- "$uad" smoke --device cuda --steps 1
fi
echo "$((total - fails)) passed, $fails failed"
exit $(( fails > 0 ))
