# Builds build/Release/posttrain_blas.node against the OpenBLAS that pkg-config finds (Debian/Ubuntu:
# libopenblas-dev; macOS: `brew install openblas pkg-config` and PKG_CONFIG_PATH=$(brew --prefix openblas)/lib/pkgconfig).
# `npm ci` runs build.mjs beside this file, which calls node-gyp with the local Node headers (no download).
# By hand: cd models/kernels/blas/native && npx node-gyp rebuild --nodedir=/usr
{
  "targets": [
    {
      "target_name": "posttrain_blas",
      "sources": ["blas_binding.cc", "tensor_kernels.cc"],
      "cflags_cc": ["-std=c++17", "-O2", "<!@(pkg-config --cflags openblas)"],
      "libraries": ["<!@(pkg-config --libs openblas)", "-Wl,-rpath,<!(pkg-config --variable=libdir openblas)"],
      "xcode_settings": {
        "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O2", "<!@(pkg-config --cflags openblas)"]
      }
    }
  ]
}
