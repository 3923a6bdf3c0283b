#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, checks that the
# generated protobuf code matches proto/, lints, type-checks, builds (the
# local-stack test runs the built services), then jest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
scripts/check-generated.sh
echo "== lint";      pnpm -s lint
echo "== typecheck"; pnpm -s typecheck
echo "== build";     pnpm -s build
echo "== jest"
pnpm -s jest --ci "$@"
