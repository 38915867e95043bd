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

# tether.pc finds its prefix relative to where it is installed (${pcfiledir}), so an install
# with `cmake --install --prefix <elsewhere>` or a moved tree still points at itself.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(TETHER_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
    file(RELATIVE_PATH tether_pc_up "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
    string(REGEX REPLACE "/$" "" tether_pc_up "${tether_pc_up}")
    set(TETHER_PC_PREFIX "\${pcfiledir}/${tether_pc_up}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/tether.pc.in ${PROJECT_BINARY_DIR}/tether.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tether.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The reference server's program (testing/), installed as bin/tether-echo-server in the component
# `tools` (`cmake --install <build> --component tools` installs it alone). Only from tether's own
# build with the samples: a project that adds tether with add_subdirectory installs no tools.
if(TETHER_IS_ROOT AND TETHER_BUILD_SAMPLES AND TARGET echo_server)
    install(TARGETS echo_server RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools)
endif()
