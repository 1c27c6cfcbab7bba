# Included by the package checks: builds the .deb with CPack into ${WORK}
# (emptied first) and sets `deb` to its path. Each check builds its own copy
# in its own WORK, so none depends on another having run.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
execute_process(COMMAND ${CPACK} -G DEB -B "${WORK}" --config "${BUILD_DIR}/CPackConfig.cmake"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cpack failed (${rc}):\n${out}${err}")
endif()
file(GLOB deb "${WORK}/edgerun_*.deb")
list(LENGTH deb count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one edgerun_*.deb in ${WORK}, found: ${deb}")
endif()
