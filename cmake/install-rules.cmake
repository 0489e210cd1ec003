# Install rules: the fanout library, its public headers and a CMake package
# (find_package(fanout) gives fanout::fanout). Included only when fanout is
# the top-level project. Internal targets (fanout_internal, test helpers) are
# neither installed nor exported; anything fanout links must be an imported
# target found again by fanoutConfig.cmake, or be wrapped in
# $<BUILD_INTERFACE:...>.

include(CMakePackageConfigHelpers)

set(fanout_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/fanout"
    CACHE STRING "Where fanoutConfig.cmake is installed, relative to the prefix")
mark_as_advanced(fanout_INSTALL_CMAKEDIR)

install(TARGETS fanout
    EXPORT fanoutTargets
    RUNTIME COMPONENT fanout_Runtime
    LIBRARY COMPONENT fanout_Runtime NAMELINK_COMPONENT fanout_Development
    ARCHIVE COMPONENT fanout_Development)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/lib/include/fanout"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
    COMPONENT fanout_Development
    FILES_MATCHING PATTERN "*.hpp")

install(EXPORT fanoutTargets
    NAMESPACE fanout::
    DESTINATION "${fanout_INSTALL_CMAKEDIR}"
    COMPONENT fanout_Development)

configure_package_config_file(cmake/fanoutConfig.cmake.in
    "${PROJECT_BINARY_DIR}/fanoutConfig.cmake"
    INSTALL_DESTINATION "${fanout_INSTALL_CMAKEDIR}"
    NO_SET_AND_CHECK_MACRO)
write_basic_package_version_file("${PROJECT_BINARY_DIR}/fanoutConfigVersion.cmake"
    COMPATIBILITY SameMajorVersion)

install(FILES
    "${PROJECT_BINARY_DIR}/fanoutConfig.cmake"
    "${PROJECT_BINARY_DIR}/fanoutConfigVersion.cmake"
    "${PROJECT_SOURCE_DIR}/cmake/Findc-ares.cmake"
    DESTINATION "${fanout_INSTALL_CMAKEDIR}"
    COMPONENT fanout_Development)
