#!/usr/bin/env bash
# Prints the Terraform CLI configuration the checks use (an absolute path):
#   TFRC set                        -> that file (an explicit choice, used as is)
#   the provider mirror is present  -> terraform/.terraformrc (offline: providers from the mirror)
#   otherwise                       -> terraform/registry.tfrc (providers from the public registry)
# The mirror path is read from .terraformrc itself, so it is written down once.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${TFRC:-}" ]; then
  echo "$TFRC"
  exit 0
fi
mirror=$(sed -n 's/^[[:space:]]*path[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$root/.terraformrc" | head -1)
if [ -n "$mirror" ] && [ -d "$mirror/registry.terraform.io/hashicorp/aws" ]; then
  echo "$root/.terraformrc"
else
  echo "$root/registry.tfrc"
fi
