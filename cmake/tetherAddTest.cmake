include(GoogleTest)

# tether_add_test(NAME <target> SOURCES <files...> [LIBS <libs...>] [SERIAL] [TIMEOUT <s>])
# One binary per test kind; every GoogleTest case becomes its own ctest entry. SERIAL marks
# timing-sensitive suites so they never share the two cores with another test.
function(tether_add_test)
    cmake_parse_arguments(arg "SERIAL" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
    add_executable(${arg_NAME} ${arg_SOURCES})
    target_link_libraries(${arg_NAME} PRIVATE
        tether::tether tether_project_options tether_test_common ${arg_LIBS}
        GTest::gtest GTest::gmock GTest::gtest_main)
    target_include_directories(${arg_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src)
    if(NOT arg_TIMEOUT)
        set(arg_TIMEOUT 300)
    endif()
    set(props TIMEOUT ${arg_TIMEOUT} LABELS "${arg_LABELS}")
    if(arg_SERIAL)
        list(APPEND props RUN_SERIAL TRUE)
    endif()
    gtest_discover_tests(${arg_NAME}
        DISCOVERY_TIMEOUT 60
        DISCOVERY_MODE PRE_TEST
        PROPERTIES ${props})
endfunction()
