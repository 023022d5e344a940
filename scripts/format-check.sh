#!/usr/bin/env bash
# Checks that every Swift file is formatted as `.swift-format` says (the toolchain's
# `swift format`, swift-nio's style: 4 spaces, 120 columns). Exits non-zero and lists the
# differences when one is not.
#
#   scripts/format-check.sh          check (CI)
#   scripts/format-check.sh --fix    rewrite the files in place, then check
#
# The paths are listed rather than found so that fetched checkouts (Benchmarks/*/.build) and
# generated code stay out.
set -euo pipefail
cd "$(dirname "$0")/.."

paths=(
    Package.swift Sources Tests Fuzz
    Benchmarks/Micro/Package.swift Benchmarks/Micro/Sources
    Benchmarks/PrometheusComparison/Package.swift Benchmarks/PrometheusComparison/Sources
)

if [ "${1:-}" = "--fix" ]; then
    swift format format --in-place --parallel --recursive "${paths[@]}"
fi
swift format lint --strict --parallel --recursive "${paths[@]}"
