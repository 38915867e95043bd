# tether_project_options: an INTERFACE target carrying the language level, warnings and
# sanitizer flags of tether's own targets. It is never installed or exported, so consumers of
# tether::tether do not inherit our warning policy.
add_library(tether_project_options INTERFACE)
target_compile_features(tether_project_options INTERFACE cxx_std_20)
# Our own code (library, tests, samples, benches) keeps off Asio's deprecated names; consumers of
# the installed package are not asked to (src/CMakeLists.txt).
target_compile_definitions(tether_project_options INTERFACE BOOST_ASIO_NO_DEPRECATED)

if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(tether_project_options INTERFACE
        -Wall -Wextra -Wpedantic -Wshadow -Wold-style-cast -Wcast-align
        -Woverloaded-virtual -Wconversion -Wsign-conversion -Wimplicit-fallthrough)
    # OFF by default, ON in every preset (CMakeLists.txt, CMakePresets.json).
    if(TETHER_WARNINGS_AS_ERRORS)
        target_compile_options(tether_project_options INTERFACE -Werror)
    endif()
endif()

# Third-party headers (Asio, nlohmann_json, GoogleTest) are found through SYSTEM include
# directories, so their warnings do not fail our build.
if(TETHER_SANITIZE)
    list(JOIN TETHER_SANITIZE "," _tether_san)
    target_compile_options(tether_project_options INTERFACE
        -fsanitize=${_tether_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(tether_project_options INTERFACE -fsanitize=${_tether_san})
    if("thread" IN_LIST TETHER_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
        # g++ 12 warns that TSan does not model Asio's atomic_thread_fence.
        target_compile_options(tether_project_options INTERFACE -Wno-tsan)
    endif()
endif()

set(CMAKE_CXX_EXTENSIONS OFF)
