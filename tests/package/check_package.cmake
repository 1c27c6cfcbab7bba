# Builds the .deb with CPack, checks what it holds and declares, unpacks it
# into a scratch root and runs the unpacked edgerund.
include(${CMAKE_CURRENT_LIST_DIR}/build_deb.cmake)

execute_process(COMMAND dpkg-deb -c "${deb}" OUTPUT_VARIABLE contents RESULT_VARIABLE rc)
foreach(path ./usr/bin/edgerund ./usr/bin/edgerunctl ./etc/edgerun/edgerun.json
             ./usr/lib/systemd/system/edgerund.service ./usr/share/doc/edgerun/README.md
             ./usr/share/doc/edgerun/copyright ./usr/share/doc/edgerun/changelog.gz
             ./usr/share/man/man8/edgerund.8.gz ./usr/share/man/man1/edgerunctl.1.gz
             ./usr/share/man/man5/edgerun.json.5.gz)
  string(FIND "${contents}" " ${path}\n" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${path} is not in the package:\n${contents}")
  endif()
endforeach()

execute_process(COMMAND dpkg-deb -f "${deb}" Package Version Architecture Depends OUTPUT_VARIABLE control)
foreach(field "Package: edgerun" "Version: ${VERSION}" "Architecture: ${ARCH}" "libuv1" "libcjson1" "libmosquitto1" "libssl3" "adduser")
  string(FIND "${control}" "${field}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "control data lacks '${field}':\n${control}")
  endif()
endforeach()
execute_process(COMMAND dpkg-deb --ctrl-tarfile "${deb}" COMMAND tar -xO ./conffiles OUTPUT_VARIABLE conffiles)
if(NOT conffiles MATCHES "/etc/edgerun/edgerun.json")
  message(FATAL_ERROR "/etc/edgerun/edgerun.json is not a conffile: '${conffiles}'")
endif()

# The maintainer scripts, executable whatever the modes of the checkout.
execute_process(COMMAND dpkg-deb --ctrl-tarfile "${deb}" COMMAND tar -tvf - OUTPUT_VARIABLE control_files)
foreach(script postinst prerm postrm)
  if(NOT control_files MATCHES "-rwxr-xr-x [^\n]* \\./${script}\n")
    message(FATAL_ERROR "the control archive lacks an executable (0755) ${script}:\n${control_files}")
  endif()
endforeach()

execute_process(COMMAND dpkg -x "${deb}" "${WORK}/root" RESULT_VARIABLE rc)
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
# The changelog's latest entry is this version: a new version needs one.
execute_process(COMMAND gzip -dc "${WORK}/root/usr/share/doc/edgerun/changelog.gz" OUTPUT_FILE "${WORK}/changelog")
execute_process(COMMAND dpkg-parsechangelog -l "${WORK}/changelog" -S Version
  OUTPUT_VARIABLE changelog_version OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT changelog_version STREQUAL VERSION)
  message(FATAL_ERROR "the latest entry of config/debian/changelog is '${changelog_version}', "
                      "the package's version ${VERSION}: add an entry for it")
endif()
message(STATUS "${deb}: contents, control data and edgerund ${version} OK")
