#!/bin/sh
# build.sh PKGDIR OUT.wasm: a Go package main -> a glomers component (world handoff).
# Run from the repo root with the environment go.mk sets (PATH to the tools, GOCACHE...).
set -e
pkg=$1; out=$2
root=$(pwd)
tmp=$out.tmp
GOOS=wasip1 GOARCH=wasm go build -C "$(dirname "$pkg")" -buildmode=c-shared -trimpath -o "$root/$tmp.core" "./$(basename "$pkg")"
python3 "$root/sdk/go/tools/prepare.py" "$tmp.core" "$tmp.prep"
wasm-tools component embed "$root/wit" -w handoff "$tmp.prep" -o "$tmp.emb"
wasm-tools component new "$tmp.emb" --adapt "wasi_snapshot_preview1=$GO_ADAPTER" -o "$tmp"
rm -f "$tmp.core" "$tmp.prep" "$tmp.emb"
mv "$tmp" "$out"
