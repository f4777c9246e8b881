# libminivmm for embedders: every layer from sys up to capi (not the CLI) as one shared library,
# libminivmm.so.0, and one static archive, libminivmm.a, plus the install rules that make them a
# package: headers, the minivmm CLI, a CMake package (find_package(minivmm): minivmm::minivmm and
# minivmm::minivmm_static) and pkg-config files (minivmm, minivmm-static).
#
# Both libraries are built from the objects the layer libraries already compiled (position
# independent, hidden visibility), so nothing compiles twice and the unit tests, fuzz targets and
# the CLI keep linking the layers directly. Included from the top CMakeLists.txt once every layer
# and the minivmm executable exist.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(minivmm_package_layers
    minivmm_sys minivmm_memory minivmm_bus minivmm_kvm minivmm_boot minivmm_legacy
    minivmm_virtio minivmm_block minivmm_net minivmm_vsock minivmm_vhost_user minivmm_fs
    minivmm_machine minivmm_config minivmm_capi)
set(minivmm_package_objects)
foreach(layer IN LISTS minivmm_package_layers)
  list(APPEND minivmm_package_objects $<TARGET_OBJECTS:${layer}>)
endforeach()

# What the code links privately, and how an installed libminivmm.a's consumer gets it. With
# MINIVMM_STATIC fmt and spdlog are compiled in (header-only) and liburing is the archive.
if(MINIVMM_STATIC)
  set(minivmm_static_install_deps minivmm::liburing)
  set(MINIVMM_STATIC_PACKAGES Threads)
  set(MINIVMM_PC_STATIC_REQUIRES liburing)
  set(MINIVMM_PC_STATIC_LIBS -luring)
else()
  set(minivmm_static_install_deps fmt::fmt spdlog::spdlog minivmm::liburing)
  set(MINIVMM_STATIC_PACKAGES fmt spdlog Threads)
  set(MINIVMM_PC_STATIC_REQUIRES "liburing fmt spdlog")
  set(MINIVMM_PC_STATIC_LIBS "-luring -lspdlog -lfmt")
endif()

set(minivmm_public_includes $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

add_library(minivmm_shared SHARED ${minivmm_package_objects})
add_library(minivmm::minivmm ALIAS minivmm_shared)
add_dependencies(minivmm_shared ${minivmm_package_layers})
set_target_properties(
  minivmm_shared
  PROPERTIES OUTPUT_NAME minivmm
             EXPORT_NAME minivmm
             VERSION ${PROJECT_VERSION}
             SOVERSION 0
             LINKER_LANGUAGE CXX
             LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/libminivmm.map)
target_include_directories(minivmm_shared INTERFACE ${minivmm_public_includes})
target_link_libraries(minivmm_shared PUBLIC tl::expected PRIVATE minivmm_logging minivmm_uring
                                                                 Threads::Threads)
# The version script drops what hidden visibility cannot (see the map file); --exclude-libs keeps
# archives linked in (liburing.a with MINIVMM_STATIC) from re-exporting their symbols; -z defs
# proves the library self-contained, except under the sanitizers, whose runtime the executable
# brings.
target_link_options(minivmm_shared PRIVATE
                    -Wl,--version-script=${PROJECT_SOURCE_DIR}/cmake/libminivmm.map
                    -Wl,--exclude-libs,ALL)
if(NOT MINIVMM_SANITIZE)
  target_link_options(minivmm_shared PRIVATE -Wl,-z,defs)
endif()

add_library(minivmm_static STATIC ${minivmm_package_objects})
add_library(minivmm::minivmm_static ALIAS minivmm_static)
add_dependencies(minivmm_static ${minivmm_package_layers})
set_target_properties(minivmm_static PROPERTIES OUTPUT_NAME minivmm EXPORT_NAME minivmm_static
                                                LINKER_LANGUAGE CXX)
target_include_directories(minivmm_static INTERFACE ${minivmm_public_includes})
target_link_libraries(minivmm_static PUBLIC tl::expected PRIVATE $<BUILD_INTERFACE:minivmm_logging>
                                                                 $<BUILD_INTERFACE:minivmm_uring>
                                                                 Threads::Threads)
# The installed archive's consumer finds these through minivmmConfig.cmake (minivmm::liburing is
# made there); the build tree's layer targets are not part of the package.
foreach(dep IN LISTS minivmm_static_install_deps)
  target_link_libraries(minivmm_static PRIVATE $<INSTALL_INTERFACE:${dep}>)
endforeach()

# Install rules.
set(minivmm_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/minivmm)
install(TARGETS minivmm_shared EXPORT minivmmTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS minivmm_static EXPORT minivmmStaticTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS minivmm RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The public headers and the JSON config schema (CONFIG.md) next to config_json.hpp.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/minivmm DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h" PATTERN "*.md")
install(EXPORT minivmmTargets NAMESPACE minivmm:: DESTINATION ${minivmm_cmake_dir})
install(EXPORT minivmmStaticTargets NAMESPACE minivmm:: DESTINATION ${minivmm_cmake_dir})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/minivmmConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/minivmmConfig.cmake
                              INSTALL_DESTINATION ${minivmm_cmake_dir})
# 0.x: a minor release may change the API, so only the same MAJOR.MINOR satisfies a request.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/minivmmConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/minivmmConfig.cmake
              ${PROJECT_BINARY_DIR}/minivmmConfigVersion.cmake DESTINATION ${minivmm_cmake_dir})

# pkg-config files find their prefix relative to themselves, so the installed tree can move
# (DESTDIR staging, a relocated prefix).
file(RELATIVE_PATH MINIVMM_PC_PREFIX_FROM_PCDIR /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" MINIVMM_PC_PREFIX_FROM_PCDIR "${MINIVMM_PC_PREFIX_FROM_PCDIR}")
foreach(pc minivmm minivmm-static)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
