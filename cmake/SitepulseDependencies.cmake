# Every dependency is a Debian package found on the system (scripts/install-deps.sh installs them).
# Nothing is vendored and nothing is downloaded at configure time.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(simdjson REQUIRED)
find_package(absl REQUIRED)
find_package(yaml-cpp REQUIRED)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
find_package(OpenSSL REQUIRED)

find_path(CONCURRENTQUEUE_INCLUDE_DIR concurrentqueue/blockingconcurrentqueue.h REQUIRED)
add_library(sitepulse_concurrentqueue INTERFACE)
target_include_directories(sitepulse_concurrentqueue SYSTEM INTERFACE ${CONCURRENTQUEUE_INCLUDE_DIR})
add_library(moodycamel::concurrentqueue ALIAS sitepulse_concurrentqueue)

if(SITEPULSE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(SITEPULSE_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# The shipped executables (sitepulse, e2e_bench) allocate with tcmalloc from gperftools: the
# coordinator keeps each site's state in many small objects, and a close of 10,000 quiet sites
# costs 10-16% less with tcmalloc than with glibc's malloc (measured, the cause not isolated:
# docs/performance.md, session 21). The sanitizer builds keep their own allocator; tests and fuzz targets link none.
option(SITEPULSE_TCMALLOC "Link sitepulse and e2e_bench with tcmalloc (libgoogle-perftools-dev)" ON)
add_library(sitepulse_malloc INTERFACE)
if(SITEPULSE_TCMALLOC AND NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize=")
  find_library(TCMALLOC_MINIMAL_LIBRARY tcmalloc_minimal)
  if(NOT TCMALLOC_MINIMAL_LIBRARY)
    message(FATAL_ERROR "tcmalloc_minimal not found: install libgoogle-perftools-dev "
                        "(scripts/install-deps.sh), or configure with -DSITEPULSE_TCMALLOC=OFF")
  endif()
  target_link_libraries(sitepulse_malloc INTERFACE ${TCMALLOC_MINIMAL_LIBRARY})
  message(STATUS "sitepulse: tcmalloc: ${TCMALLOC_MINIMAL_LIBRARY}")
endif()
add_library(sitepulse::malloc ALIAS sitepulse_malloc)
