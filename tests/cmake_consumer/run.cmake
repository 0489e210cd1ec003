# One step of the consumer tests (see tests.cmake), run as
#   cmake -DSTEP=<step> ... -P run.cmake
#
# STEP=install: installs the fanout build tree BUILD_DIR into PREFIX, which is
#   emptied first so that files from an earlier layout cannot hide a mistake.
# STEP=package or STEP=subdirectory: configures the consumer project
#   SOURCE_DIR in a fresh BINARY_DIR with the parent build's settings
#   (SETTINGS, an initial-cache file) and GENERATOR, builds it and runs its
#   test. subdirectory mode also needs FANOUT_SOURCE_DIR.
# CONFIG, when set, is the configuration to install, build and test.

cmake_minimum_required(VERSION 3.25)

set(config_args "")
if(CONFIG)
    set(config_args --config "${CONFIG}")
endif()

function(run)
    list(JOIN ARGN " " shown)
    message(STATUS "run: ${shown}")
    execute_process(COMMAND ${ARGN} COMMAND_ERROR_IS_FATAL ANY)
endfunction()

if(STEP STREQUAL "install")
    file(REMOVE_RECURSE "${PREFIX}")
    run("${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}" ${config_args})
elseif(STEP STREQUAL "package" OR STEP STREQUAL "subdirectory")
    # Only the package build is wiped: it is one file, and a fresh configure
    # is what a user gets. The subdirectory build compiles all of fanout, so
    # it stays incremental (settings are forced in again on every configure).
    set(mode_args "")
    if(STEP STREQUAL "package")
        file(REMOVE_RECURSE "${BINARY_DIR}")
    else()
        set(mode_args "-DFANOUT_SOURCE_DIR=${FANOUT_SOURCE_DIR}")
    endif()
    run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${BINARY_DIR}" -G "${GENERATOR}"
        -C "${SETTINGS}" "-DFANOUT_CONSUMER_MODE=${STEP}" ${mode_args})
    run("${CMAKE_COMMAND}" --build "${BINARY_DIR}" ${config_args})
    if(CONFIG)
        set(config_args -C "${CONFIG}")
    endif()
    run("${CMAKE_CTEST_COMMAND}" --test-dir "${BINARY_DIR}" --verbose ${config_args})
else()
    message(FATAL_ERROR "run.cmake: unknown STEP '${STEP}'")
endif()
