# Tests that run fanout binaries or real servers on 127.0.0.1.
add_library(fanout_child_process STATIC support/child_process.cpp)
target_include_directories(fanout_child_process PUBLIC support)

fanout_test(integration demo fanout_child_process)
target_compile_definitions(demo_test PRIVATE FANOUT_CLI_PATH="$<TARGET_FILE:fanout_cli>")
add_dependencies(demo_test fanout_cli)

# A real nsd serving a generated zone, for the DNS tests.
add_library(fanout_nsd_server STATIC support/nsd_server.cpp)
target_include_directories(fanout_nsd_server PUBLIC support)
target_link_libraries(fanout_nsd_server
    PUBLIC fanout_child_process
    PRIVATE fanout_internal)

fanout_test(integration nsd_server fanout_nsd_server)

fanout_test(integration dns fanout_child_process fanout_nsd_server fanout_dns_responder)
target_compile_definitions(dns_test PRIVATE FANOUT_CLI_PATH="$<TARGET_FILE:fanout_cli>")
add_dependencies(dns_test fanout_cli)

# A real nginx serving fixed files over HTTP and HTTPS (certificates made at
# test time with openssl), for the HTTP client's tests.
add_library(fanout_nginx_server STATIC support/nginx_server.cpp)
target_include_directories(fanout_nginx_server PUBLIC support)
target_link_libraries(fanout_nginx_server
    PUBLIC fanout_child_process
    PRIVATE fanout_internal)

fanout_test(integration http_nginx fanout_nginx_server)

# A real HTTP/2 server, nghttpd (Debian's nghttp2-server), TLS with a test
# certificate or h2c, for the client's HTTP/2 tests.
add_library(fanout_nghttpd_server STATIC support/nghttpd_server.cpp)
target_include_directories(fanout_nghttpd_server PUBLIC support)
target_link_libraries(fanout_nghttpd_server
    PUBLIC fanout_nginx_server
    PRIVATE fanout_internal)

fanout_test(integration sweep fanout_child_process fanout_nginx_server fanout_nsd_server
    fanout_dns_responder fanout_http_fault_server fanout_nghttpd_server)
target_compile_definitions(sweep_test PRIVATE FANOUT_CLI_PATH="$<TARGET_FILE:fanout_cli>")
add_dependencies(sweep_test fanout_cli)

fanout_test(integration load fanout_child_process fanout_nginx_server fanout_http_fault_server)
target_compile_definitions(load_test PRIVATE FANOUT_CLI_PATH="$<TARGET_FILE:fanout_cli>")
add_dependencies(load_test fanout_cli)

fanout_test(integration cli_stdio fanout_child_process fanout_nginx_server fanout_http_fault_server)
target_compile_definitions(cli_stdio_test PRIVATE FANOUT_CLI_PATH="$<TARGET_FILE:fanout_cli>")
add_dependencies(cli_stdio_test fanout_cli)

# The HTML reports from real runs against nginx, opened in headless Chromium
# when it is installed (cmake/setup.sh); skipped with a warning when not.
fanout_test(integration report fanout_child_process fanout_nginx_server)
target_compile_definitions(report_test PRIVATE FANOUT_CLI_PATH="$<TARGET_FILE:fanout_cli>"
    FANOUT_PNG_COLOURS="${CMAKE_CURRENT_SOURCE_DIR}/support/png_colours.py")
add_dependencies(report_test fanout_cli)
