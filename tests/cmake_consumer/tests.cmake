# Consumer tests (label `consumer`): an outside project, cmake_consumer/,
# built against fanout
#   - as an installed package: `consumer: install` copies this build tree into
#     a prefix under the build directory (fixture), then `consumer: package`
#     builds the consumer with find_package(fanout) and CMAKE_PREFIX_PATH;
#   - as a subdirectory: `consumer: subdirectory` builds the consumer with
#     add_subdirectory(<fanout source>), which compiles fanout once more.
# The consumer gets this build's compiler, launcher, build type and flags
# (sanitizers included) through an initial-cache file.

set(consumer_source "${CMAKE_CURRENT_LIST_DIR}")
set(consumer_binary "${CMAKE_CURRENT_BINARY_DIR}/cmake_consumer")
set(consumer_prefix "${consumer_binary}/prefix")

string(TOUPPER "${CMAKE_BUILD_TYPE}" consumer_config_upper)
set(consumer_settings "# Written by tests/cmake_consumer/tests.cmake: the parent build's settings.\n")
foreach(var IN ITEMS
        CMAKE_BUILD_TYPE CMAKE_MAKE_PROGRAM CMAKE_CXX_COMPILER CMAKE_CXX_COMPILER_LAUNCHER
        CMAKE_CXX_FLAGS CMAKE_CXX_FLAGS_${consumer_config_upper}
        CMAKE_EXE_LINKER_FLAGS CMAKE_SHARED_LINKER_FLAGS BUILD_SHARED_LIBS FANOUT_WARNINGS)
    if(DEFINED ${var})
        string(APPEND consumer_settings "set(${var} [==[${${var}}]==] CACHE STRING \"\" FORCE)\n")
    endif()
endforeach()
file(CONFIGURE OUTPUT "${consumer_binary}/subdirectory-settings.cmake"
    CONTENT "${consumer_settings}")
# The installed package first, then wherever the parent found its dependencies.
set(consumer_prefix_path "${consumer_prefix}" ${CMAKE_PREFIX_PATH})
file(CONFIGURE OUTPUT "${consumer_binary}/package-settings.cmake"
    CONTENT "${consumer_settings}set(CMAKE_PREFIX_PATH [==[${consumer_prefix_path}]==] CACHE STRING \"\" FORCE)\n")

add_test(NAME "consumer: install"
    COMMAND "${CMAKE_COMMAND}" -DSTEP=install
        "-DBUILD_DIR=${PROJECT_BINARY_DIR}" "-DPREFIX=${consumer_prefix}" "-DCONFIG=$<CONFIG>"
        -P "${consumer_source}/run.cmake")
set_tests_properties("consumer: install" PROPERTIES FIXTURES_SETUP fanout_installed)

# The subdirectory build compiles all of fanout again. Its build tree is a
# sibling of this one (build/dev -> build/dev-consumer-subdirectory), at the
# same depth below the sources, so the compiler launcher (ccache, with its
# base_dir) sees the same relative paths and serves the library's objects
# from this build's instead of compiling them twice.
set(consumer_subdirectory_binary "${PROJECT_BINARY_DIR}-consumer-subdirectory")
foreach(mode IN ITEMS package subdirectory)
    if(mode STREQUAL "subdirectory")
        set(mode_binary "${consumer_subdirectory_binary}")
    else()
        set(mode_binary "${consumer_binary}/${mode}")
    endif()
    add_test(NAME "consumer: ${mode}"
        COMMAND "${CMAKE_COMMAND}" -DSTEP=${mode}
            "-DSOURCE_DIR=${consumer_source}" "-DBINARY_DIR=${mode_binary}"
            "-DSETTINGS=${consumer_binary}/${mode}-settings.cmake"
            "-DGENERATOR=${CMAKE_GENERATOR}" "-DFANOUT_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
            "-DCONFIG=$<CONFIG>"
            -P "${consumer_source}/run.cmake")
endforeach()
set_tests_properties("consumer: package" PROPERTIES FIXTURES_REQUIRED fanout_installed)

set_tests_properties("consumer: install" "consumer: package" "consumer: subdirectory" PROPERTIES
    LABELS consumer
    TIMEOUT 600)

# The README's examples are this consumer's sources, word for word.
foreach(example IN ITEMS main.cpp http_fanout.cpp load_steps.cpp own_loop.cpp hash_bodies.cpp)
    set(name "readme: the example is tests/cmake_consumer/${example}")
    add_test(NAME "${name}"
        COMMAND ${CMAKE_COMMAND}
            -DREADME=${PROJECT_SOURCE_DIR}/README.md
            -DEXAMPLE=${CMAKE_CURRENT_LIST_DIR}/${example}
            -P ${CMAKE_CURRENT_LIST_DIR}/check_readme.cmake)
    set_tests_properties("${name}" PROPERTIES LABELS consumer)
endforeach()
