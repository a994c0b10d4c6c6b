#!/usr/bin/env bash
# CI as a new machine runs it: clone the committed HEAD into a new folder outside /tmp, then run
# `bash .ci/run` there with CI=true inside a private, empty /tmp (a tmpfs in a new mount namespace),
# so nothing left on this machine by hand (in /tmp, in an activated venv, in PYTHONPATH) can make it pass.
#
# Usage: make ci-fresh   (or: bash tools/ci-fresh.sh [command ...]; default `bash .ci/run`, e.g.
#        `bash tools/ci-fresh.sh make unit` to run one step the same hermetic way)
#   CI_FRESH_PARENT=dir  where the clone goes (default /var/tmp; never /tmp, which is replaced)
#   CI_FRESH_KEEP=1      keep the clone even when CI passes (it is always kept when CI fails)
# Uncommitted changes are not in the clone: commit first, this checks what others will get.
set -uo pipefail

src=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel) || exit 2
command=("$@")
[ ${#command[@]} -gt 0 ] || command=(bash .ci/run)
parent=${CI_FRESH_PARENT:-/var/tmp}
case "$(cd "$parent" 2>/dev/null && pwd -P)" in
  "" ) echo "ci-fresh: $parent does not exist" >&2; exit 2 ;;
  # hermetic: ok (the next line refuses a clone inside /tmp)
  /tmp | /tmp/*)
    echo "ci-fresh: the clone must live outside /tmp (it gets an empty tmpfs)" >&2; exit 2 ;;
esac
if [ -n "$(git -C "$src" status --porcelain --untracked-files=no)" ]; then
  echo "ci-fresh: note: uncommitted changes in $src are NOT tested (the clone has HEAD only)"
fi

dest=$(mktemp -d "$parent/capi-relay-ci-fresh.XXXXXX") || exit 2
head=$(git -C "$src" rev-parse HEAD) || exit 2
git clone --quiet --no-hardlinks "$src" "$dest/project" || exit 2
git -C "$dest/project" checkout --quiet "$head" || exit 2  # this worktree's HEAD, whatever the clone chose
if [ -d "$src/../shared" ]; then
  cp -a "$src/../shared" "$dest/shared"  # the team's shared folder sits beside the project
fi
cd "$dest/project" || exit 2
echo "ci-fresh: clone of $(git rev-parse --short HEAD) ($(git log -1 --format=%s | cut -c1-60)) in $dest/project"

# What a new machine has: no activated venv, no PYTHONPATH or pytest options from this shell.
clean_env=(env -u VIRTUAL_ENV -u PYTHONPATH -u PYTEST_ADDOPTS -u PYTHONHOME CI=true)
start=$(date +%s)
if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
  echo "ci-fresh: running '${command[*]}' with a private, empty /tmp (tmpfs in its own mount namespace)"
  unshare -m --propagation private bash -c \
    'mount -t tmpfs -o mode=1777 tmpfs /tmp && exec "$@"' ci-fresh "${clean_env[@]}" "${command[@]}" </dev/null
  rc=$?
else
  echo "ci-fresh: WARNING: cannot make a private /tmp here (needs root and unshare -m):"
  echo "ci-fresh: running '${command[*]}' with this machine's /tmp, so a file left there could still hide a bug"
  "${clean_env[@]}" "${command[@]}" </dev/null
  rc=$?
fi
took=$(($(date +%s) - start))

if [ "$rc" = 0 ]; then
  echo "ci-fresh: PASSED in ${took} s ('${command[*]}' exited 0)"
  [ "${CI_FRESH_KEEP:-0}" = 1 ] && echo "ci-fresh: clone kept in $dest" || rm -rf "$dest"
else
  echo "ci-fresh: FAILED in ${took} s ('${command[*]}' exited $rc); clone left in $dest (remove it when done)"
fi
exit "$rc"
