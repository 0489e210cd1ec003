#pragma once
// A real HTTP/2 server for tests: nghttp2's nghttpd (Debian's
// nghttp2-server) as one child process serving files from a fresh directory
// under /tmp, on 127.0.0.1 and a port chosen at run time: TLS with ALPN (a
// certificate made at test time by make_test_pki(), valid for 127.0.0.1),
// or h2c by prior knowledge (no_tls).
//
// Files served: /ok.txt ("ok") and /big (options.big_size bytes,
// nginx_server::big_body()).
//
// Errors: the constructor returns once nghttpd accepts connections, and
// throws std::runtime_error with its stderr when it does not within 10 s (a
// port taken between choosing it and nghttpd binding it is retried).
// Cancellation: none; the destructor stops nghttpd and removes the directory.

#include "child_process.hpp"
#include "nginx_server.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace fanout::test {

struct nghttpd_options {
    bool no_tls = false;              ///< h2c by prior knowledge instead of TLS
    std::size_t big_size = 1u << 20;  ///< the size of /big
    std::uint32_t max_concurrent_streams = 100;
};

class nghttpd_server {
  public:
    explicit nghttpd_server(nghttpd_options options = {});
    ~nghttpd_server();
    nghttpd_server(const nghttpd_server&) = delete;
    nghttpd_server& operator=(const nghttpd_server&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /// "https://127.0.0.1:<port><path>", or http:// with no_tls.
    std::string url(std::string_view path) const;
    /// The certificates (not with no_tls): give ca_certificate as tls.ca_file.
    const test_pki& pki() const noexcept { return pki_; }

  private:
    nghttpd_options options_;
    scratch_directory dir_;
    test_pki pki_;
    std::uint16_t port_ = 0;
    std::unique_ptr<child_process> nghttpd_;  // after dir_: stopped before it is removed
};

}  // namespace fanout::test
