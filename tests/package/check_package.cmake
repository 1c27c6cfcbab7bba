# Builds the .deb with CPack, checks what it holds and declares, unpacks it
# into a scratch root and runs the unpacked edgerund.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
execute_process(COMMAND ${CPACK} -G DEB -B "${WORK}" --config "${BUILD_DIR}/CPackConfig.cmake"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cpack failed (${rc}):\n${out}${err}")
endif()
file(GLOB debs "${WORK}/edgerun_*.deb")
list(LENGTH debs count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one edgerun_*.deb in ${WORK}, found: ${debs}")
endif()

execute_process(COMMAND dpkg-deb -c "${debs}" OUTPUT_VARIABLE contents RESULT_VARIABLE rc)
foreach(path ./usr/bin/edgerund ./usr/bin/edgerunctl ./etc/edgerun/edgerun.json
             ./usr/lib/systemd/system/edgerund.service ./usr/share/doc/edgerun/README.md)
  string(FIND "${contents}" " ${path}\n" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${path} is not in the package:\n${contents}")
  endif()
endforeach()

execute_process(COMMAND dpkg-deb -f "${debs}" Package Version Architecture Depends OUTPUT_VARIABLE control)
foreach(field "Package: edgerun" "Version: ${VERSION}" "Architecture: ${ARCH}" "libuv1" "libcjson1" "libmosquitto1" "adduser")
  string(FIND "${control}" "${field}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "control data lacks '${field}':\n${control}")
  endif()
endforeach()
execute_process(COMMAND dpkg-deb --ctrl-tarfile "${debs}" COMMAND tar -xO ./conffiles OUTPUT_VARIABLE conffiles)
if(NOT conffiles MATCHES "/etc/edgerun/edgerun.json")
  message(FATAL_ERROR "/etc/edgerun/edgerun.json is not a conffile: '${conffiles}'")
endif()

execute_process(COMMAND dpkg -x "${debs}" "${WORK}/root" RESULT_VARIABLE rc)
# A cross build's edgerund runs under the emulator (empty for the host).
separate_arguments(run UNIX_COMMAND "${EMULATOR}")
execute_process(COMMAND ${run} "${WORK}/root/usr/bin/edgerund" --version OUTPUT_VARIABLE version RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT version MATCHES "edgerund ${VERSION}")
  message(FATAL_ERROR "the unpacked edgerund --version gave ${rc}: '${version}'")
endif()
execute_process(COMMAND ${run} "${WORK}/root/usr/bin/edgerund" --check-config --config "${WORK}/root/etc/edgerun/edgerun.json"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the packaged default config does not check: ${err}")
endif()
message(STATUS "${debs}: contents, control data and edgerund ${version} OK")
