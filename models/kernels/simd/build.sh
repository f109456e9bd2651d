#!/usr/bin/env bash
# Rebuilds kernels.wasm from kernels.c and records the source's sha256 (a test checks that the committed
# binary was built from the committed source). Needs clang and wasm-ld with the WebAssembly target
# (Debian: apt-get install clang-14 lld-14). The .wasm is committed, so neither CI nor users need clang.
set -euo pipefail
cd "$(dirname "$0")"
CLANG=${CLANG:-$(command -v clang-14 || command -v clang)}
WASM_LD=${WASM_LD:-$(command -v wasm-ld-14 || command -v wasm-ld)}
"$CLANG" --target=wasm32 -O3 -msimd128 -mbulk-memory -nostdlib -ffreestanding -fno-builtin \
  -Wall -Wextra -Werror -fuse-ld="$WASM_LD" \
  -Wl,--no-entry -Wl,--export=__heap_base -Wl,-z,stack-size=65536 \
  -o kernels.wasm kernels.c
printf '{ "source": "kernels.c", "sha256": "%s" }\n' "$(sha256sum kernels.c | cut -d' ' -f1)" > kernels.wasm.json
echo "built $(pwd)/kernels.wasm ($(stat -c %s kernels.wasm) bytes)"
