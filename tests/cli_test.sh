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
if ! "$uad" info | grep -q "CUDA devices   : [1-9]"; then
  expect cuda-requested 1 "uad: error: --device cuda: no usable CUDA device" -- "$uad" smoke --device cuda --steps 1
fi
echo "$((total - fails)) passed, $fails failed"
exit $(( fails > 0 ))
