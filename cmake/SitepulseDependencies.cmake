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
