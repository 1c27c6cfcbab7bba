# Cross-compiles edgerun for 64-bit ARM Linux (aarch64, glibc).
#
# Default: Debian's cross compiler (g++-aarch64-linux-gnu) with the target's
# libraries from the multiarch -dev packages (libuv1-dev:arm64 and so on, in
# /usr/lib/aarch64-linux-gnu), found through pkg-config's aarch64 .pc files.
# Tests run under qemu-user (qemu-aarch64). tools/setup installs all of it.
#
# A firmware SDK's sysroot instead: pass -DCMAKE_SYSROOT=/path/to/sysroot (or
# -DEDGERUN_SYSROOT=..., or set it in the environment); headers, libraries,
# .pc files and, for tests, the dynamic loader then all come from it.
#
#   cmake --preset aarch64 && cmake --build --preset aarch64 && ctest --preset aarch64
set(EDGERUN_TRIPLET aarch64-linux-gnu)
set(EDGERUN_QEMU qemu-aarch64)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
