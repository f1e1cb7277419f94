# Install layout and the Debian package (cpack -G DEB). Included from the top-level CMakeLists.
#   cmake --install build [--prefix /usr]      binary, /etc/slotgate/slotgate.yaml, systemd unit
#   cd build && cpack -G DEB                    slotgate_<version>_<arch>.deb
include(GNUInstallDirs)

# A service's configuration lives in /etc whatever the prefix (as for Debian's redis-server).
set(SLOTGATE_CONFIG_DIR "/etc/slotgate" CACHE PATH "where the installed configuration file goes")
set(SLOTGATE_CONFIG_FILE "${SLOTGATE_CONFIG_DIR}/slotgate.yaml")
set(SLOTGATE_BIN "${CMAKE_INSTALL_FULL_BINDIR}/slotgate")
# systemd reads units from /usr/lib, /usr/local/lib and /etc; under the install prefix. Empty means
# "follow the prefix": a cached default would keep an earlier prefix when the build directory is
# reconfigured for another (make release, then make package, share build-release).
set(SLOTGATE_SYSTEMD_DIR "" CACHE PATH "where the systemd unit goes (empty: <prefix>/lib/systemd/system)")
set(slotgate_systemd_dir "${SLOTGATE_SYSTEMD_DIR}")
if(NOT slotgate_systemd_dir)
  set(slotgate_systemd_dir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()

configure_file(${CMAKE_CURRENT_LIST_DIR}/slotgate.service.in ${CMAKE_BINARY_DIR}/slotgate.service @ONLY)

install(TARGETS slotgate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_BINARY_DIR}/slotgate.service DESTINATION ${slotgate_systemd_dir})
install(FILES config/slotgate.example.yaml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
# The example becomes the configuration only when there is none: a reinstall never overwrites
# an edited file. (The .deb always carries it, as a conffile: dpkg keeps local edits.)
install(CODE "
  set(config \"\$ENV{DESTDIR}${SLOTGATE_CONFIG_FILE}\")
  if(EXISTS \"\${config}\")
    message(STATUS \"Keeping: \${config}\")
  else()
    message(STATUS \"Installing: \${config}\")
    file(MAKE_DIRECTORY \"\$ENV{DESTDIR}${SLOTGATE_CONFIG_DIR}\")
    file(COPY_FILE \"${CMAKE_SOURCE_DIR}/config/slotgate.example.yaml\" \"\${config}\")
  endif()")

set(CPACK_PACKAGE_NAME slotgate)
set(CPACK_PACKAGE_VENDOR slotgate)
set(CPACK_PACKAGE_CONTACT "slotgate maintainers <slotgate@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "transparent Redis Cluster proxy")
set(CPACK_PACKAGE_DESCRIPTION
    "Plain Redis clients connect to one port; slotgate routes each command to the cluster node that owns its keys and hides redirects and resharding.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# The unit names the binary by its configured path, so the package installs where it was configured
# (configure with -DCMAKE_INSTALL_PREFIX=/usr for a package: `make package` does).
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
# Absolute destinations (/etc/slotgate) land in the staging directory, not on this machine.
set(CPACK_SET_DESTDIR ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # slotgate_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Runtime dependencies from the binary's shared libraries (dpkg-shlibdeps): libuv1, libyaml-cpp,
# libfmt, libspdlog, libstdc++, libc.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "redis-tools")
file(WRITE ${CMAKE_BINARY_DIR}/deb/conffiles "${SLOTGATE_CONFIG_FILE}\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/deb/conffiles)
include(CPack)
