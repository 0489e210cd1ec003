# Findc-ares: finds the c-ares DNS library.
#
# c-ares 1.18 (Debian 12) ships a pkg-config file (libcares.pc) but no CMake
# package, so fanout carries this module and installs it beside its package
# config. pkg-config, when present, only gives hints; find_path/find_library
# do the finding, so the module also works without pkg-config.
#
# Result:
#   c-ares::cares       imported target (include directory and library)
#   c-ares_FOUND        true when found (and the version is acceptable)
#   c-ares_VERSION      e.g. 1.18.1
#   c-ares_INCLUDE_DIR  cache: the directory holding ares.h
#   c-ares_LIBRARY      cache: the library file

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
    pkg_check_modules(PC_c-ares QUIET libcares)
endif()

find_path(c-ares_INCLUDE_DIR
    NAMES ares.h
    HINTS ${PC_c-ares_INCLUDEDIR} ${PC_c-ares_INCLUDE_DIRS})
find_library(c-ares_LIBRARY
    NAMES cares
    HINTS ${PC_c-ares_LIBDIR} ${PC_c-ares_LIBRARY_DIRS})
mark_as_advanced(c-ares_INCLUDE_DIR c-ares_LIBRARY)

# The version comes from the header actually found, not from pkg-config, in
# case the two disagree.
if(c-ares_INCLUDE_DIR AND EXISTS "${c-ares_INCLUDE_DIR}/ares_version.h")
    file(STRINGS "${c-ares_INCLUDE_DIR}/ares_version.h" _c-ares_version_line
        REGEX "^#define[ \t]+ARES_VERSION_STR[ \t]+\"[^\"]*\"")
    string(REGEX REPLACE ".*\"([^\"]*)\".*" "\\1" c-ares_VERSION "${_c-ares_version_line}")
    unset(_c-ares_version_line)
elseif(PC_c-ares_VERSION)
    set(c-ares_VERSION "${PC_c-ares_VERSION}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(c-ares
    REQUIRED_VARS c-ares_LIBRARY c-ares_INCLUDE_DIR
    VERSION_VAR c-ares_VERSION)

# A newer c-ares may already have defined the target through its own package.
if(c-ares_FOUND AND NOT TARGET c-ares::cares)
    add_library(c-ares::cares UNKNOWN IMPORTED)
    set_target_properties(c-ares::cares PROPERTIES
        IMPORTED_LOCATION "${c-ares_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${c-ares_INCLUDE_DIR}")
endif()
