#!/bin/bash
# Bench two commits alternately (A/B/A/B) on one machine: eval/restructure-bench.md.
# Usage: eval/restructure_bench.sh BEFORE AFTER OUTDIR   (e.g. 3086f45 c12d339 /tmp/benchab)
# Each commit gets a worktree under OUTDIR with a copy of this checkout's index/ (build it first: make index); a
# commit whose data files differ rebuilds its own index in its first run (the bench checks it). The package is
# imported from the worktree (PYTHONPATH) with this checkout's .venv. Run it alone on the machine; remove the
# worktrees afterwards with `git worktree remove --force OUTDIR/COMMIT`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
before=$1 after=$2 out=$3
mkdir -p "$out"
for commit in "$before" "$after"; do
  [ -d "$out/$commit" ] || git -C "$root" worktree add -f "$out/$commit" "$commit" >/dev/null
  cp -r "$root/index/embeddinggemma-300m" "$out/$commit/index/"
done
for round in 1 2; do
  for commit in "$before" "$after"; do
    (cd "$out/$commit" && PYTHONPATH="$out/$commit" "$root/.venv/bin/python" -m assistant.cli bench \
      --model embeddinggemma-300m --no-growth --no-build --no-baseline \
      --report "$out/$commit-$round.md" --json "$out/$commit-$round.json" > "$out/$commit-$round.log" 2>&1)
  done
done
echo "reports: $out/*-[12].md"
