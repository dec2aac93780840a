# Installation: the binaries, and the CMake package `Sluice` for SDK users:
#
#   find_package(Sluice REQUIRED)
#   target_link_libraries(app PRIVATE sluice::sluice_client)
#
# Headers land in <prefix>/include/sluice/{client,registry,core} and are included as
# "client/client.hpp", "registry/model.hpp", "core/error.hpp".
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(SLUICE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Sluice)

install(TARGETS sluice_client sluice_model sluice_common sluice_wire sluice_hub
  EXPORT SluiceTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

foreach(program sluiced sluice)
  if(TARGET ${program})
    install(TARGETS ${program} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

install(FILES ${SLUICE_CLIENT_PUBLIC_HEADERS}
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sluice/client)
install(FILES ${PROJECT_SOURCE_DIR}/src/registry/model.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sluice/registry)
install(FILES
  ${PROJECT_SOURCE_DIR}/src/wire/control.hpp
  ${PROJECT_SOURCE_DIR}/src/wire/frame.hpp
  ${PROJECT_SOURCE_DIR}/src/wire/send_queue.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sluice/wire)
install(FILES
  ${PROJECT_SOURCE_DIR}/src/core/clock.hpp
  ${PROJECT_SOURCE_DIR}/src/core/error.hpp
  ${PROJECT_SOURCE_DIR}/src/core/ids.hpp
  ${PROJECT_SOURCE_DIR}/src/core/json.hpp
  ${PROJECT_SOURCE_DIR}/src/core/json_text.hpp
  ${PROJECT_SOURCE_DIR}/src/core/time_format.hpp
  ${PROJECT_SOURCE_DIR}/src/core/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sluice/core)

install(EXPORT SluiceTargets
  NAMESPACE sluice::
  FILE SluiceTargets.cmake
  DESTINATION ${SLUICE_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/SluiceConfig.cmake.in
  ${PROJECT_BINARY_DIR}/SluiceConfig.cmake
  INSTALL_DESTINATION ${SLUICE_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/SluiceConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/SluiceConfig.cmake
  ${PROJECT_BINARY_DIR}/SluiceConfigVersion.cmake
  DESTINATION ${SLUICE_CMAKE_DIR})
