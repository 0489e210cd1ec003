# fanout_header_check: every public header compiled alone. Each
# lib/include/fanout/**/*.hpp gets a translation unit of its own holding
# only `#include <fanout/...>` (twice, for the include guard), so a header
# that leans on an include it does not make fails here, not in a user's
# program. The sources are written at configure time (only when their text
# changes) and the glob is checked again at every build, so a header added
# later is covered without touching this file.
set(fanout_include_dir "${PROJECT_SOURCE_DIR}/lib/include")
file(GLOB_RECURSE fanout_public_headers CONFIGURE_DEPENDS
    RELATIVE "${fanout_include_dir}" "${fanout_include_dir}/fanout/*.hpp")

set(fanout_header_check_sources)
foreach(header IN LISTS fanout_public_headers)
    string(MAKE_C_IDENTIFIER "${header}" name)
    set(source "${CMAKE_CURRENT_BINARY_DIR}/header_check/${name}.cpp")
    file(CONFIGURE OUTPUT "${source}"
        CONTENT "#include <${header}>\n#include <${header}>\n"
        @ONLY)
    list(APPEND fanout_header_check_sources "${source}")
endforeach()

add_library(fanout_header_check OBJECT ${fanout_header_check_sources})
# As a consumer sees the headers: the exported target's usage requirements
# and nothing of the library's private include directory.
target_link_libraries(fanout_header_check PRIVATE fanout::fanout)
target_compile_options(fanout_header_check PRIVATE ${FANOUT_WARNINGS})
