# cmake -DREADELF=<readelf> -DPROGRAM=<file> -DPROCESSOR=<aarch64|arm> -P check_elf.cmake
#
# Fails unless PROGRAM is an ELF executable for PROCESSOR (aarch64: AArch64;
# arm: ARM, EABI version 5, hard-float calling convention) whose NEEDED
# entries are all libraries a device image has anyway.
foreach(var READELF PROGRAM PROCESSOR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_elf.cmake: -D${var}=... is missing")
  endif()
endforeach()

function(readelf option out)
  execute_process(COMMAND ${READELF} ${option} ${PROGRAM}
    OUTPUT_VARIABLE text ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${READELF} ${option} ${PROGRAM} failed (${rc}): ${err}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

readelf(-h header)
string(REGEX MATCH "Machine: +([^\n]*)" _ "${header}")
set(machine "${CMAKE_MATCH_1}")
string(REGEX MATCH "Flags: +([^\n]*)" _ "${header}")
set(flags "${CMAKE_MATCH_1}")
string(REGEX MATCH "Class: +([^\n]*)" _ "${header}")
set(class "${CMAKE_MATCH_1}")

set(errors "")
if(PROCESSOR STREQUAL "aarch64")
  if(NOT machine STREQUAL "AArch64" OR NOT class STREQUAL "ELF64")
    string(APPEND errors "machine is '${machine}' (${class}), not AArch64 (ELF64)\n")
  endif()
elseif(PROCESSOR MATCHES "^arm")
  if(NOT machine STREQUAL "ARM" OR NOT class STREQUAL "ELF32")
    string(APPEND errors "machine is '${machine}' (${class}), not ARM (ELF32)\n")
  endif()
  # armhf: "0x5000400, Version5 EABI, hard-float ABI"
  if(NOT flags MATCHES "Version5 EABI" OR NOT flags MATCHES "hard-float ABI")
    string(APPEND errors "flags are '${flags}', not Version5 EABI with hard-float ABI\n")
  endif()
else()
  string(APPEND errors "no expectation for processor '${PROCESSOR}'\n")
endif()

# The shared libraries a device running edgerun has: the C and C++ runtimes,
# the dynamic loader, the libraries edgerun is built on (libcrypto for the
# journal's SHA-256, which libmosquitto loads anyway), and libsystemd when the
# systemd notify backend links it.
set(allowed_regex "^(libc\\.so\\.6|libm\\.so\\.6|libstdc\\+\\+\\.so\\.6|libgcc_s\\.so\\.1|ld-linux[-a-z0-9_.]*\\.so\\.[0-9]+|libuv\\.so\\.1|libcjson\\.so\\.1|libmosquitto\\.so\\.1|libcrypto\\.so\\.3|libsystemd\\.so\\.0)$")
readelf(-d dynamic)
string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*\\[[^]\n]+\\]" needed_lines "${dynamic}")
set(needed "")
foreach(line IN LISTS needed_lines)
  string(REGEX MATCH "\\[([^]]+)\\]" _ "${line}")
  list(APPEND needed "${CMAKE_MATCH_1}")
  if(NOT CMAKE_MATCH_1 MATCHES "${allowed_regex}")
    string(APPEND errors "needs ${CMAKE_MATCH_1}, which is not on the list of libraries a device has\n")
  endif()
endforeach()
if(NOT needed)
  string(APPEND errors "has no NEEDED entries: not a dynamically linked program?\n")
endif()

if(errors)
  message(FATAL_ERROR "${PROGRAM}:\n${errors}")
endif()
message(STATUS "${PROGRAM}: ${machine}, ${flags}; needs ${needed}")
