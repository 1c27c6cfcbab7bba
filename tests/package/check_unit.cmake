# systemd-analyze verify needs ExecStart to exist: point it at the built
# edgerund in a copy of the unit.
find_program(ANALYZE systemd-analyze REQUIRED)
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
file(READ "${UNIT}" text)
string(REPLACE "/usr/bin/edgerund" "${EDGERUND}" text "${text}")
file(WRITE "${WORK}/edgerund.service" "${text}")
execute_process(COMMAND ${ANALYZE} verify "${WORK}/edgerund.service"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR err MATCHES "edgerund.service")
  message(FATAL_ERROR "systemd-analyze verify failed (${rc}):\n${out}${err}")
endif()
message(STATUS "edgerund.service verifies")
