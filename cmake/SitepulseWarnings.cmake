# One warnings target for everything sitepulse compiles. simdjson is used with exceptions off on
# the data plane, so its error-code API is the only one available.
add_library(sitepulse_warnings INTERFACE)
target_compile_options(sitepulse_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion
  $<$<BOOL:${SITEPULSE_WERROR}>:-Werror>)
target_compile_definitions(sitepulse_warnings INTERFACE SIMDJSON_EXCEPTIONS=0)
# simdjson On-Demand is compiled into our code for one instruction set chosen at compile time
# (its "builtin" implementation): without AVX2, BMI, LZCNT and PCLMUL it is the slow scalar
# fallback. x86-64-v3 plus PCLMUL (Haswell, 2013, and later) is the baseline of commodity
# servers; set SITEPULSE_ARCH_FLAGS to "-march=x86-64" for older CPUs (slower JSON).
set(SITEPULSE_ARCH_FLAGS "-march=x86-64-v3;-mpclmul" CACHE STRING "arch flags for every sitepulse target")
target_compile_options(sitepulse_warnings INTERFACE ${SITEPULSE_ARCH_FLAGS})
add_library(sitepulse::warnings ALIAS sitepulse_warnings)

# sitepulse_module(NAME SOURCES... DEPS ...): one library per top-level module, aliased as
# sitepulse::NAME, with the repository root as its include root ("core/time.h").
function(sitepulse_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(sitepulse_${name} STATIC ${ARG_SOURCES})
  add_library(sitepulse::${name} ALIAS sitepulse_${name})
  target_include_directories(sitepulse_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(sitepulse_${name} PUBLIC ${ARG_DEPS} PRIVATE sitepulse::warnings)
  # The layers, enforced: a module includes headers only of itself and of the modules in its
  # DEPS (core -> detect -> app; ingest and sinks on core alone). Checked at configure time.
  file(GLOB_RECURSE module_files ${CMAKE_CURRENT_SOURCE_DIR}/*.h ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  foreach(f ${module_files})
    file(STRINGS ${f} includes REGEX "^#include \"(core|detect|ingest|sinks|heal|app)/")
    foreach(inc ${includes})
      string(REGEX REPLACE "^#include \"([a-z]+)/.*" "\\1" used "${inc}")
      if(NOT used STREQUAL name AND NOT "sitepulse::${used}" IN_LIST ARG_DEPS)
        message(FATAL_ERROR "${f}: ${inc}: module '${name}' does not depend on '${used}' "
                            "(its DEPS in ${CMAKE_CURRENT_SOURCE_DIR}/CMakeLists.txt)")
      endif()
    endforeach()
  endforeach()
endfunction()
