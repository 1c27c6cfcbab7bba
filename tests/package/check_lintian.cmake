# Runs lintian on the .deb as Debian's archive would: no error and no
# warning may remain. Info and pedantic tags are printed, not failed on.
#
# No warning is overridden today. One that cannot be fixed would get an
# entry, with a comment saying why, in config/debian/lintian-overrides,
# installed as usr/share/lintian/overrides/edgerun (config/CMakeLists.txt).
find_program(LINTIAN lintian)
if(NOT LINTIAN)
  message(FATAL_ERROR "lintian is not installed (tools/setup installs it)")
endif()
include(${CMAKE_CURRENT_LIST_DIR}/build_deb.cmake)

# --no-cfg and --profile debian: the same verdict whatever the machine's
# lintianrc or vendor.
execute_process(COMMAND ${LINTIAN} --no-cfg --profile debian --fail-on error,warning --display-info "${deb}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "lintian failed (${rc}) on ${deb}:\n${out}${err}")
endif()
message(STATUS "${deb}: lintian finds no error and no warning\n${out}")
