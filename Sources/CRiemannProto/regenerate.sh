#!/usr/bin/env bash
# Regenerates the committed protobuf-c code from riemann.proto.
# Needs Debian's protobuf-c-compiler (protoc-c). The output is committed so
# that building zabbix-tee only needs libprotobuf-c-dev.
set -euo pipefail
cd "$(dirname "$0")"
protoc-c --c_out=. riemann.proto
mv riemann.pb-c.h include/riemann.pb-c.h
sed -i 's|#include "riemann.pb-c.h"|#include "include/riemann.pb-c.h"|' riemann.pb-c.c
