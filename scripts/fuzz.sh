#!/usr/bin/env bash
# Runs every Go fuzz target in the workspace, one after the other, each from its own
# module directory, and prints one summary line per target.
#
#   FUZZTIME=30s scripts/fuzz.sh             # every target, 30 s each (default 60s)
#   scripts/fuzz.sh 'token|webhook'          # only targets whose "pkg.FuzzName" matches
#
# FUZZTIME is passed to -fuzztime as is (a duration, or Nx for N executions);
# FUZZMINIMIZETIME (default 10s, Go's is 60s) bounds the minimisation of each new
# input, which otherwise can take a short run's whole budget; FUZZ_TIMEOUT (default
# 30m) bounds one target's whole run, so a hang fails it. FUZZPARALLEL sets the number
# of fuzzing workers (Go's default: one per CPU), to leave room for other work.
# A target that finds a failure leaves the input in its package's
# testdata/fuzz/<FuzzName>/ (go test prints the path); the script goes on with the
# other targets and exits non-zero at the end. Logs are kept in $FUZZ_LOG_DIR when set.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzztime="${FUZZTIME:-60s}"
minimizetime="${FUZZMINIMIZETIME:-10s}"
timeout="${FUZZ_TIMEOUT:-30m}"
parallel=()
[[ -n "${FUZZPARALLEL:-}" ]] && parallel=(-parallel "$FUZZPARALLEL")
filter="${1:-}"
logs="${FUZZ_LOG_DIR:-$(mktemp -d)}"
mkdir -p "$logs"

# module_of prints the nearest directory at or above $1 that holds a go.mod.
module_of() {
	local dir="$1"
	while [[ "$dir" != "$root" && ! -f "$dir/go.mod" ]]; do
		dir="$(dirname "$dir")"
	done
	[[ -f "$dir/go.mod" ]] || { echo "fuzz.sh: no go.mod above $1" >&2; return 1; }
	echo "$dir"
}

cd "$root"
mapfile -t files < <(grep -rl --include='*_test.go' --exclude-dir=.git --exclude-dir=testdata '^func Fuzz' . | sort)
if [[ ${#files[@]} -eq 0 ]]; then
	echo "fuzz.sh: no fuzz targets found under $root" >&2
	exit 1
fi

failed=0 ran=0
for file in "${files[@]}"; do
	pkgdir="$(cd "$(dirname "$file")" && pwd)"
	moddir="$(module_of "$pkgdir")"
	rel="./${pkgdir#"$moddir"}"
	rel="${rel/#.\/\//./}"
	[[ "$rel" == "./" ]] && rel="."
	[[ "$rel" == ./vendor/* ]] && continue # a module's vendored dependencies
	mapfile -t names < <(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file")
	for name in "${names[@]}"; do
		display="${pkgdir#"$root"/}.$name"
		if [[ -n "$filter" ]] && ! grep -Eq -- "$filter" <<<"$display"; then
			continue
		fi
		ran=$((ran + 1))
		log="$logs/$(tr '/' '_' <<<"$display").log"
		corpus_dir="$pkgdir/testdata/fuzz/$name"
		before="$(ls "$corpus_dir" 2>/dev/null || true)"
		start=$SECONDS note=""
		if (cd "$moddir" && go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" -timeout "$timeout" "${parallel[@]}" "$rel") >"$log" 2>&1; then
			status=ok
		elif [[ "$(ls "$corpus_dir" 2>/dev/null || true)" == "$before" ]] &&
			grep -qx '    context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
			# Go before 1.27 can fail a run that found nothing when -fuzztime expires
			# (go.dev/issue/75804): no input was written, so nothing failed.
			status=ok note="ignored a 'context deadline exceeded' at the end: go.dev/issue/75804, no failing input"
		else
			status=FAIL
			failed=$((failed + 1))
		fi
		# The last progress line holds the totals: "execs: N (...), new interesting: I (total: T)".
		progress="$(grep -E '^fuzz: elapsed: .*execs: [0-9]+' "$log" | tail -n 1 || true)"
		execs="$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$progress")"
		corpus="$(sed -nE 's/.*\(total: ([0-9]+)\).*/\1/p' <<<"$progress")"
		printf '%-4s %-72s %5ss  execs=%-10s corpus=%s\n' "$status" "$display" "$((SECONDS - start))" "${execs:-?}" "${corpus:-?}"
		[[ -n "$note" ]] && echo "    $note"
		if [[ "$status" == FAIL ]]; then
			sed -e 's/^/    /' "$log" | grep -vE '^    fuzz: elapsed:' | tail -n 40
		fi
	done
done

echo "fuzz.sh: $ran targets, $failed failed (logs in $logs)"
if [[ $ran -eq 0 ]]; then
	echo "fuzz.sh: no target matches '$filter'" >&2
	exit 1
fi
[[ $failed -eq 0 ]]
