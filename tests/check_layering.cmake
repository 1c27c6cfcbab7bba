# The libraries depend one way only:
#
#   port -> protocol -> runtime -> journal, mqtt, exec -> daemon
#
# Each library's sources may include edgerun headers of its own and of the
# libraries before it, never of one after it or beside it (journal, mqtt and exec know
# nothing of each other). Examples embed the runtime, so they may include
# what the runtime may. A header's library is the folder it lives in. Run as
#   cmake -DSOURCE_DIR=<repository> -P check_layering.cmake
cmake_policy(SET CMP0057 NEW)
set(libraries port protocol runtime journal mqtt exec daemon)
set(allowed_port port)
set(allowed_protocol port protocol)
set(allowed_runtime port protocol runtime)
set(allowed_journal port protocol runtime journal)
set(allowed_mqtt port protocol runtime mqtt)
set(allowed_exec port protocol runtime exec)
set(allowed_daemon port protocol runtime journal mqtt exec daemon)
set(allowed_examples port protocol runtime)

# Which library owns each header name "edgerun/<name>" (port's are
# "edgerun/port/<name>").
foreach(library IN LISTS libraries)
  if(library STREQUAL "port")
    set(root "${SOURCE_DIR}/port")
  else()
    set(root "${SOURCE_DIR}/core/${library}")
  endif()
  if(NOT IS_DIRECTORY "${root}")
    message(FATAL_ERROR "no folder ${root} for the library '${library}'")
  endif()
  set(root_${library} "${root}")
  file(GLOB_RECURSE headers RELATIVE "${root}/include" "${root}/include/edgerun/*.hpp")
  foreach(header IN LISTS headers)
    if(DEFINED owner_${header})
      message(FATAL_ERROR "${header} exists in both ${owner_${header}} and ${library}")
    endif()
    set(owner_${header} ${library})
  endforeach()
endforeach()
set(root_examples "${SOURCE_DIR}/examples")

set(found "")
set(checked 0)
foreach(library IN LISTS libraries ITEMS examples)
  file(GLOB_RECURSE sources "${root_${library}}/*.hpp" "${root_${library}}/*.cpp")
  foreach(source IN LISTS sources)
    math(EXPR checked "${checked} + 1")
    file(STRINGS "${source}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    foreach(line IN LISTS lines)
      if(line MATCHES "\"(edgerun/[^\"]+)\"")
        set(header "${CMAKE_MATCH_1}")
        if(NOT DEFINED owner_${header})
          string(APPEND found "\n  ${source}: ${header} belongs to no library")
        elseif(NOT "${owner_${header}}" IN_LIST allowed_${library})
          string(APPEND found "\n  ${source}: ${library} includes ${header} of ${owner_${header}}")
        endif()
      elseif(line MATCHES "\"\\.\\./")
        string(APPEND found "\n  ${source}: a relative include reaches out of its library: ${line}")
      endif()
    endforeach()
  endforeach()
endforeach()
if(found)
  message(FATAL_ERROR "a dependency runs the wrong way (port -> protocol -> runtime -> mqtt, exec -> daemon):${found}")
endif()
message(STATUS "checked ${checked} sources: every dependency runs one way")
