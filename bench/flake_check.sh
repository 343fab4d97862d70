#!/usr/bin/env bash
# Flake check (docs/testing.md): the date-sensitive tests under libfaketime at several times of day, and the
# timing-sensitive tests under a parallel CPU load. A check of the tests, not a speed goal: it passes when
# every run passes.
#
#   bench/flake_check.sh            both checks
#   bench/flake_check.sh dates      the date-sensitive tests at each time of FLAKE_TIMES
#   bench/flake_check.sh load       the timing-sensitive tests with one busy process per core beside them
#   bench/flake_check.sh dates -k sqlite   further arguments go to pytest (here: the SQLite half only)
#
# Needs Debian's faketime (apt-get install faketime); the load uses stress-ng when installed, else one busy
# python process per core. PYTEST_ARGS (default "-p no:xdist -q") is passed to pytest before them.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PYTEST_ARGS=${PYTEST_ARGS:--p no:xdist -q}

# Tests whose expectations depend on the machine's date or time: every test file that imports tests/clock.py
# or the meetings placed relative to it (tests/web/meeting_data.py), found when the script runs so that a
# new date-aware test is not left out, and these two, whose dates come through the digests' and the web
# tests' helpers.
DATE_TESTS=(
  tests/digests/test_digest_crash.py
  tests/web/test_hostile_input.py
)
while IFS= read -r file; do
  [[ " ${DATE_TESTS[*]} " == *" $file "* ]] || DATE_TESTS+=("$file")
done < <(grep -rlE --include='test_*.py' '^[[:space:]]*from tests(\.clock import| import clock|\.web\.meeting_data import)' tests | sort)
# Times of day (UTC) where the machine's date and the portals' local dates differ, and a year boundary:
# 00:30 UTC and 04:59 UTC are still the day before in New York and Los Angeles; 23:50 UTC on 31 December is
# New Year's Eve everywhere and New Year's Day in UTC ten minutes later. And two Mondays a week apart at
# noon: the demo portal's calendar runs in a two-week cycle, and on 2026-12-07 (a Monday) a test failed all
# day that had passed the Monday before (docs/testing.md, "One clock").
FLAKE_TIMES=${FLAKE_TIMES:-"2026-12-06 00:30:00|2026-12-31 23:50:00|2026-07-01 04:59:00|2027-01-01 00:10:00|2026-12-07 12:00:00|2026-12-14 12:00:00"}

# Tests that wait for another process or thread (a server, a child crawl, a sender paused at a step).
TIMING_TESTS=(
  tests/digests/test_digest_crash.py
  tests/test_crawl_faults.py
  tests/test_crawl_precomputed_matches.py
  tests/demo/test_legistar_portal.py
  tests/web/test_web_cli.py
  tests/web/test_web_demo.py
  tests/documents/test_fetch_policy.py
  tests/scheduler
)

failed=0

dates() {
  command -v faketime >/dev/null || { echo "Error: faketime is not installed (apt-get install faketime)"; return 1; }
  IFS='|' read -r -a times <<<"$FLAKE_TIMES"
  for t in "${times[@]}"; do
    # --exclude-monotonic: with a faked monotonic clock, libfaketime 0.9.10 breaks Python's timed waits
    # (threading.Event.wait(0.03) returns at once for a past date and never for a future one); with a real
    # one, time.sleep fails with EINVAL, which bench/faketime_site/sitecustomize.py works around. The dates
    # (time.time, datetime.now) are faked in pytest and in every child process either way.
    echo "== faketime '$t' (the clock starts there and runs): ${#DATE_TESTS[@]} files"
    # shellcheck disable=SC2086
    if PYTHONPATH=bench/faketime_site${PYTHONPATH:+:$PYTHONPATH} faketime --exclude-monotonic "$t" "$PY" -m pytest "${DATE_TESTS[@]}" $PYTEST_ARGS "${EXTRA[@]}"; then echo "== passed at $t"
    else echo "== FAILED at $t"; failed=1; fi
  done
}

load() {
  local cores pids=()
  cores=$(nproc)
  if command -v stress-ng >/dev/null; then
    stress-ng --cpu "$cores" --timeout 3600 --quiet &
    pids+=($!)
  else
    for _ in $(seq "$cores"); do "$PY" -c 'while True: pass' & pids+=($!); done
  fi
  echo "== under load: ${#pids[@]} load process(es) for $cores core(s); ${#TIMING_TESTS[@]} test paths"
  # shellcheck disable=SC2086
  if "$PY" -m pytest "${TIMING_TESTS[@]}" $PYTEST_ARGS "${EXTRA[@]}"; then echo "== passed under load"
  else echo "== FAILED under load"; failed=1; fi
  kill "${pids[@]}" 2>/dev/null
  wait "${pids[@]}" 2>/dev/null
}

mode=${1:-all}
[ $# -gt 0 ] && shift
EXTRA=("$@")
case "$mode" in
  dates) dates ;;
  load) load ;;
  all) dates; load ;;
  *) echo "usage: bench/flake_check.sh [dates|load|all] [PYTEST ARGS...]"; exit 2 ;;
esac
exit $failed
