# Builds build/Release/posttrain_nccl.node on a machine with CUDA and NCCL (not in CI: it has no GPU).
#   cd runtime/collectives/nccl/native && CUDA_HOME=/usr/local/cuda NCCL_HOME=/usr npx node-gyp rebuild
# build.sh beside this file does the same with g++ alone and also finds pip's NCCL (the way it was checked on a GPU).
{
  "targets": [
    {
      "target_name": "posttrain_nccl",
      "sources": ["nccl_binding.cc"],
      "include_dirs": [
        "<!(echo ${CUDA_HOME:-/usr/local/cuda})/include",
        "<!(echo ${NCCL_HOME:-/usr})/include"
      ],
      "libraries": [
        "-L<!(echo ${CUDA_HOME:-/usr/local/cuda})/lib64",
        "-L<!(echo ${NCCL_HOME:-/usr})/lib",
        "-L<!(echo ${NCCL_HOME:-/usr})/lib/x86_64-linux-gnu",
        "-l:libnccl.so.2",
        "-lcudart"
      ],
      "cflags_cc": ["-std=c++17", "-O2"]
    }
  ]
}
