#!/usr/bin/env bash
# Offline Terraform checks for each directory given (relative to terraform/):
#   fmt -check -recursive, init -backend=false, validate, test (when tests/*.tftest.hcl exist).
# Prints the failing step's output, then a one-line-per-directory evidence summary.
# Exit status: 0 when every step of every directory passed, 1 otherwise.
# Called by terraform/Makefile, which exports TF_CLI_CONFIG_FILE, TF_IN_AUTOMATION etc.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
tf=${TERRAFORM:-terraform}
min_version=1.9.0

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

if [ "$#" -eq 0 ]; then
  echo "check.sh: no module or stack directories given" >&2
  exit 1
fi

# --- preflight ------------------------------------------------------------------------------
if ! command -v "$tf" >/dev/null 2>&1; then
  echo "terraform check: '$tf' not found (set TERRAFORM=/path/to/terraform)" >&2
  exit 1
fi
version=$("$tf" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p' | head -1)
if [ -z "$version" ] || [ "$(printf '%s\n%s\n' "$min_version" "$version" | sort -V | head -1)" != "$min_version" ]; then
  echo "terraform check: Terraform >= $min_version required (found '${version:-unknown}')" >&2
  exit 1
fi
cli_config=${TF_CLI_CONFIG_FILE:-}
if [ -z "$cli_config" ] || [ ! -f "$cli_config" ]; then
  echo "terraform check: TF_CLI_CONFIG_FILE='$cli_config' does not exist (run through terraform/Makefile)" >&2
  exit 1
fi
# Only a configuration that names a filesystem mirror needs one; scripts/cli-config.sh picks
# such a configuration only when the mirror exists, so this stops only an explicit TFRC.
mirror=$(sed -n 's/^[[:space:]]*path[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$cli_config" | head -1)
if [ -n "$mirror" ] && [ ! -d "$mirror/registry.terraform.io/hashicorp/aws" ]; then
  echo "terraform check: provider mirror '$mirror' has no hashicorp/aws provider." >&2
  echo "  Create it where the registry is reachable: terraform providers mirror -platform=linux_amd64 $mirror" >&2
  echo "  (run in a directory whose required_providers pin aws 5.100.0), or use TFRC=<other CLI config>." >&2
  exit 1
fi

# A test file may declare "# requires-file: <path relative to its module directory>". When the
# file is absent it is skipped only outside a repository checkout (a copy of terraform/ on
# its own); inside the checkout a missing file is a failure, not a silent skip.
in_checkout=false
[ -e "$root/../.git" ] && in_checkout=true

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

# check_dir <index> <dir>: writes $logdir/<index>.line (summary), .skipped, .failed (the
# failing step's output) and .status. Directories run in parallel (CHECK_JOBS=1: serially);
# each has its own .terraform/, so they share nothing but the read-only mirror.
check_dir() {
  local idx=$1 dir=$2
  local out="$logdir/$idx"
  local log="$out.log" dir_started line ok=true
  dir_started=$(now)
  line=$(printf "%-${width}s" "$dir")
  : >"$out.skipped"
  : >"$out.failed"

  run_step() { # name, command...
    local name=$1; shift
    if "$@" >"$log" 2>&1; then
      return 0
    fi
    {
      echo "---- $dir: $name FAILED ----------------------------------------"
      cat "$log"
      echo "-------------------------------------------------------------------"
    } >>"$out.failed"
    return 1
  }

  if run_step "fmt -check" "$tf" -chdir="$dir" fmt -check -recursive -diff; then
    line+="  fmt ok"
  else
    line+="  fmt FAILED"; ok=false
  fi

  if $ok; then
    if run_step "init" "$tf" -chdir="$dir" init -backend=false -input=false -no-color; then
      line+="  init ok"
    else
      line+="  init FAILED"; ok=false
    fi
  fi

  if $ok; then
    if run_step "validate" "$tf" -chdir="$dir" validate -no-color; then
      line+="  validate ok"
    else
      line+="  validate FAILED"; ok=false
    fi
  fi

  if $ok; then
    local test_files=() filters=() f rel req counts
    shopt -s nullglob
    test_files=("$dir"/tests/*.tftest.hcl)
    shopt -u nullglob
    if [ "${#test_files[@]}" -eq 0 ]; then
      line+="  tests: none"
    else
      for f in "${test_files[@]}"; do
        rel=${f#"$dir"/}
        req=$(sed -n 's/^#[[:space:]]*requires-file:[[:space:]]*//p' "$f" | head -1)
        if [ -n "$req" ] && [ ! -e "$dir/$req" ]; then
          if $in_checkout; then
            echo "---- $dir: $rel requires $req, which is missing from this checkout ----" >>"$out.failed"
            ok=false
          else
            echo "$dir/$rel (needs $req: not inside a repository checkout)" >>"$out.skipped"
          fi
          continue
        fi
        filters+=("-filter=$rel")
      done
      if [ "${#filters[@]}" -eq 0 ]; then
        line+="  tests: all skipped"
      elif run_step "test" "$tf" -chdir="$dir" test -no-color "${filters[@]}"; then
        counts=$(grep -Eo '[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?' "$log" | tail -1)
        line+="  tests: ${counts:-?} (${#filters[@]} files)"
        $ok || line+=", FAILED: a test file's required file is missing"
      else
        counts=$(grep -Eo '[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?' "$log" | tail -1)
        line+="  tests FAILED: ${counts:-no result}"; ok=false
      fi
    fi
  fi

  echo "$line  [$(elapsed "$dir_started") s]" >"$out.line"
  if $ok; then echo 0 >"$out.status"; else echo 1 >"$out.status"; fi
}

width=0
for dir in "$@"; do [ "${#dir}" -gt "$width" ] && width=${#dir}; done

started=$(now)
jobs=${CHECK_JOBS:-0}
i=0
for dir in "$@"; do
  i=$((i + 1))
  if [ "$jobs" = "1" ]; then
    check_dir "$i" "$dir"
  else
    check_dir "$i" "$dir" &
  fi
done
wait

status=0
for n in $(seq 1 "$i"); do
  if [ "$(cat "$logdir/$n.status" 2>/dev/null)" != "0" ]; then
    status=1
    cat "$logdir/$n.failed" >&2 2>/dev/null
  fi
done

echo "terraform check: Terraform $version, CLI config $(basename "$cli_config") (provider mirror ${mirror:-none: public registry}), backend disabled, mock providers"
for n in $(seq 1 "$i"); do
  echo "  $(cat "$logdir/$n.line" 2>/dev/null || echo "${!n}: no result")"
done
for n in $(seq 1 "$i"); do
  while IFS= read -r s; do echo "  SKIPPED $s"; done <"$logdir/$n.skipped"
done
if [ "$status" -eq 0 ]; then
  echo "terraform check: OK in $(elapsed "$started") s"
else
  echo "terraform check: FAILED after $(elapsed "$started") s" >&2
fi
exit "$status"
