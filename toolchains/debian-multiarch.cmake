# Shared part of the toolchain files in this folder; include it after setting
# EDGERUN_TRIPLET (a Debian multiarch triplet) and EDGERUN_QEMU (the qemu-user
# program for that CPU). It sets the compilers, the sysroot or multiarch
# library paths, the find modes and the test emulator, nothing else.
set(CMAKE_SYSTEM_NAME Linux)

# CMake runs toolchain files again for try_compile projects; these variables
# carry the sysroot choice into them.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES EDGERUN_SYSROOT)

if(NOT CMAKE_SYSROOT)
  # Cached, so that a later re-configure without the variable in the
  # environment keeps building against the same sysroot.
  if(NOT EDGERUN_SYSROOT AND DEFINED ENV{EDGERUN_SYSROOT})
    set(EDGERUN_SYSROOT "$ENV{EDGERUN_SYSROOT}" CACHE PATH "Sysroot of a firmware SDK to build against")
  endif()
  if(EDGERUN_SYSROOT)
    set(CMAKE_SYSROOT "${EDGERUN_SYSROOT}")
  endif()
endif()

set(CMAKE_C_COMPILER ${EDGERUN_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${EDGERUN_TRIPLET}-g++)
if(CMAKE_SYSROOT)
  # Everything the target links comes from the SDK's sysroot; pkg-config
  # reads its .pc files and prefixes their paths with the sysroot.
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "${CMAKE_SYSROOT}")
  set(ENV{PKG_CONFIG_LIBDIR}
    "${CMAKE_SYSROOT}/usr/lib/${EDGERUN_TRIPLET}/pkgconfig:${CMAKE_SYSROOT}/usr/lib/pkgconfig:${CMAKE_SYSROOT}/usr/share/pkgconfig")
  set(CMAKE_FIND_ROOT_PATH "${CMAKE_SYSROOT}")
  set(edgerun_loader_prefix "${CMAKE_SYSROOT}")
else()
  # Debian multiarch: the cross compiler already searches
  # /usr/lib/<triplet> and /usr/include/<triplet>, where the foreign-arch -dev
  # packages install. pkg-config must read only the target's .pc files, never
  # the host's (Debian's <triplet>-pkg-config wrapper does the same, but needs
  # the pkg-config package of that architecture; this needs nothing more).
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
  set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${EDGERUN_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
  # find_library and find_package search the root, where the library
  # architecture picks /usr/lib/<triplet> (and its cmake/ package configs)
  # over the host's /usr/lib/x86_64-linux-gnu, and the cross toolchain's own
  # prefix /usr/<triplet>.
  set(CMAKE_LIBRARY_ARCHITECTURE ${EDGERUN_TRIPLET})
  set(CMAKE_FIND_ROOT_PATH "/usr/${EDGERUN_TRIPLET}" "/")
  # The target's dynamic loader (/lib/ld-linux-*.so.*) and libc come from
  # libc6:<arch>, installed at the root by multiarch, so qemu's library
  # prefix is "/": the loader then finds libuv, libcjson and the rest in
  # /usr/lib/<triplet> through the multiarch ld.so.conf entries.
  set(edgerun_loader_prefix "/")
endif()

# Programs (compilers' helpers, pkg-config, readelf) come from the host;
# libraries, headers and packages only from the target.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest (and gtest_discover_tests) run the target's binaries through this.
set(CMAKE_CROSSCOMPILING_EMULATOR ${EDGERUN_QEMU} -L ${edgerun_loader_prefix})
