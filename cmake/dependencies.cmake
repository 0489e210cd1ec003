# Every dependency comes from Debian 12 packages (cmake/setup.sh installs them).
find_package(Boost 1.81 REQUIRED COMPONENTS json url)
find_package(OpenSSL 3 REQUIRED)
find_package(Threads REQUIRED)
find_package(fmt 9 REQUIRED)
# c-ares ships only pkg-config: cmake/Findc-ares.cmake turns it into c-ares::cares.
find_package(c-ares 1.18 REQUIRED)
# nghttp2 (HTTP/2 framing, HPACK, flow control) ships only pkg-config.
find_package(PkgConfig REQUIRED)
pkg_check_modules(nghttp2 REQUIRED IMPORTED_TARGET libnghttp2>=1.52)
