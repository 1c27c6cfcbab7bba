# Cross-compiles edgerun for 32-bit ARM Linux with hard float (armhf: ARMv7-A,
# VFPv3-D16, Thumb-2, glibc), Debian's armhf ABI.
#
# Default: Debian's cross compiler (g++-arm-linux-gnueabihf) with the target's
# libraries from the multiarch -dev packages (libuv1-dev:armhf and so on, in
# /usr/lib/arm-linux-gnueabihf), found through pkg-config's armhf .pc files.
# Tests run under qemu-user (qemu-arm). tools/setup installs all of it.
#
# A firmware SDK's sysroot instead: pass -DCMAKE_SYSROOT=/path/to/sysroot (or
# -DEDGERUN_SYSROOT=..., or set it in the environment); headers, libraries,
# .pc files and, for tests, the dynamic loader then all come from it. An SDK
# for another ARM core passes its -mcpu/-mfpu through CMAKE_CXX_FLAGS_INIT.
#
#   cmake --preset armhf && cmake --build --preset armhf && ctest --preset armhf
set(EDGERUN_TRIPLET arm-linux-gnueabihf)
set(EDGERUN_QEMU qemu-arm)
set(CMAKE_SYSTEM_PROCESSOR arm)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
