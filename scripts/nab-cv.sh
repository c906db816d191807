#!/usr/bin/env bash
# Leave-one-category-out cross-validation on the shared NAB subset (docs/detection.md): every
# constant of the context scorer and the threshold are chosen on four categories and scored on
# the fifth, for each of the five. The candidates are a grid over keep_firing_for and the
# scorer's own constants (sitepulse series --tune); each is run once over every file, then
# bench/nab_score --cv picks, per fold, the variant and threshold that score best on the other
# categories. Prints each fold and the mean (the headline); the variants in OUT/variants.txt.
#   scripts/nab-cv.sh [OUT_DIR [NAB_SCORE ARGS...]]      (e.g. --min-standard 60)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/nab-cv}
nab=${SITEPULSE_NAB:-../shared/data/nab}
build=${SITEPULSE_BUILD:-build/release}
rm -rf "$out"
mkdir -p "$out"
variants=()
for keep in 2h 8h 12h; do
  for seq in 0.99 0.995 0.999; do
    for shift in 0.99 0.995; do
      for tol in 0.02 0.05 0.1; do
        for order in 2 3; do
          variants+=("$keep --tune sequence_fires=$seq --tune shift_fires=$shift --tune extreme_tolerance=$tol --tune order=$order")
        done
      done
    done
  done
done
: > "$out/variants.txt"
for i in "${!variants[@]}"; do
  echo "$i keep_firing_for=${variants[$i]}" >> "$out/variants.txt"
  keep=${variants[$i]%% *}
  sed "s/keep_firing_for: .*/keep_firing_for: $keep/" configs/nab.yaml > "$out/v$i.yaml"
done
run_variant() {  # run_variant INDEX: every file through series
  local i=$1 line keep tunes f rel
  line=$(sed -n "$((i + 1))p" "$out/variants.txt")
  tunes=${line#* keep_firing_for=* }
  for f in "$nab"/data/*/*.csv; do
    rel=${f#"$nab/data/"}
    mkdir -p "$out/r$i/$(dirname "$rel")"
    # shellcheck disable=SC2086
    # (its warnings about repeated timestamps are the same for every variant: scripts/nab.sh)
    "$build/app/sitepulse" series --detector nab --config "$out/v$i.yaml" --score context \
      $tunes --input "$f" --output "$out/r$i/$rel" 2>/dev/null
  done
}
export -f run_variant
export out nab build
seq 0 $((${#variants[@]} - 1)) | xargs -P "$(nproc)" -I{} bash -c 'run_variant {}'
results=()
for i in "${!variants[@]}"; do results+=(--results "$out/r$i"); done
"$build/bench/nab_score" --cv --data "$nab/data" --windows "$nab/combined_windows.json" \
  "${results[@]}" --json "$out/cv.json" "${@:2}"
