include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS tether EXPORT tetherTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/tether DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT tetherTargets
    NAMESPACE tether::
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tether)

configure_package_config_file(
    ${PROJECT_SOURCE_DIR}/cmake/tetherConfig.cmake.in
    ${PROJECT_BINARY_DIR}/tetherConfig.cmake
    INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tether)
write_basic_package_version_file(
    ${PROJECT_BINARY_DIR}/tetherConfigVersion.cmake
    VERSION ${PROJECT_VERSION}
    COMPATIBILITY SameMinorVersion)
install(FILES
    ${PROJECT_BINARY_DIR}/tetherConfig.cmake
    ${PROJECT_BINARY_DIR}/tetherConfigVersion.cmake
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tether)

configure_file(${PROJECT_SOURCE_DIR}/cmake/tether.pc.in ${PROJECT_BINARY_DIR}/tether.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tether.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
