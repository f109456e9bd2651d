#!/bin/sh
# Builds build/Release/posttrain_nccl.node, the `nccl` collective backend's addon, with g++ on a machine with CUDA
# and NCCL (never in CI: it has no GPU). Finds
#   CUDA  from CUDA_HOME, else from nvcc on the PATH;
#   NCCL  from NCCL_HOME, else the system's (/usr/include/nccl.h), else a pip install (nvidia-nccl-cu12 or -cu13,
#         as PyTorch ships it; it has libnccl.so.2 but no libnccl.so, hence -l:libnccl.so.2);
#   N-API headers from NODE_API_INCLUDE, else node's own include/node.
# The library directories are written into the addon (rpath), so it loads without LD_LIBRARY_PATH.
# Checked on an H100 with CUDA 13.0 and NCCL 2.28.9 from pip: `npm run bench -- nccl` (README, section Collectives).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cuda=${CUDA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")}
cuda_include=$(dirname "$(find -L "$cuda" -name cuda_runtime.h | head -n 1)")
cuda_lib=$(dirname "$(find -L "$cuda" -name 'libcudart.so*' | head -n 1)")
if [ -n "${NCCL_HOME:-}" ]; then
  nccl_include=$NCCL_HOME/include
  nccl_lib=$(dirname "$(find -L "$NCCL_HOME" -name libnccl.so.2 | head -n 1)")
elif [ -f /usr/include/nccl.h ]; then
  nccl_include=/usr/include
  nccl_lib=$(dirname "$(find /usr/lib /usr/lib64 -name libnccl.so.2 2>/dev/null | head -n 1)")
else
  nccl=$(python3 -c 'import nvidia.nccl; print(list(nvidia.nccl.__path__)[0])')
  nccl_include=$nccl/include
  nccl_lib=$nccl/lib
fi
napi=${NODE_API_INCLUDE:-$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node}
mkdir -p "$here/build/Release"
g++ -shared -fPIC -std=c++17 -O2 -Wall -I"$napi" -I"$cuda_include" -I"$nccl_include" "$here/nccl_binding.cc" \
  -o "$here/build/Release/posttrain_nccl.node" -L"$cuda_lib" -L"$nccl_lib" -l:libnccl.so.2 -lcudart \
  -Wl,-rpath,"$nccl_lib" -Wl,-rpath,"$cuda_lib"
echo "built $here/build/Release/posttrain_nccl.node (CUDA headers $cuda_include, NCCL $nccl_lib)"
