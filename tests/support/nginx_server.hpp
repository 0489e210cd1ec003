#pragma once
// A real HTTP server for integration tests: Debian's nginx (/usr/sbin/nginx)
// as one process (no master, so nothing outlives it), from a fresh directory
// under /tmp that holds its configuration, logs, temp paths and files, on
// 127.0.0.1 only, on ports chosen at run time. Optionally it also serves
// HTTPS on two more ports with certificates made at test time by
// make_test_pki(): one valid for 127.0.0.1 and localhost, one for another
// name.
//
// Every port serves the same locations:
//   /ok        200 "ok" (a `return`)
//   /ok.txt    200 "ok" (a static file)
//   /big       a static file of options.big_size bytes, big_body(size)
//   /redirect  302 to /ok
//   /ready     200 "ready", not logged: the startup probe
// The access log has one line per request with nginx's connection serial
// number, the request's rank on its connection and whether its TLS session
// was resumed, so a test sees how its client used connections.
//
// Errors: the constructor and restart() return once nginx answers on its
// plain port, and throw std::runtime_error carrying nginx's stderr and error
// log when it does not come up within 10 s (a port taken between choosing it
// and nginx binding it is retried on new ports; restart() keeps its ports).
// make_test_pki() throws std::runtime_error with openssl's stderr.
// Cancellation: none; stop() and the destructor stop nginx (SIGTERM, a
// bounded wait, then SIGKILL); the destructor removes the directory.

#include "child_process.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fanout::test {

/// A directory made with mkdtemp under /tmp, removed with all it holds.
class scratch_directory {
  public:
    /// `prefix` names it: /tmp/<prefix>.XXXXXX
    explicit scratch_directory(const std::string& prefix);
    ~scratch_directory();
    scratch_directory(const scratch_directory&) = delete;
    scratch_directory& operator=(const scratch_directory&) = delete;

    const std::string& path() const noexcept { return path_; }

  private:
    std::string path_;
};

/// A certificate and its private key, PEM files.
struct certificate_files {
    std::string certificate;
    std::string key;
};

/// A test certificate authority and two server certificates it signed.
struct test_pki {
    std::string ca_certificate;    ///< the CA's certificate: give it as tls.ca_file
    certificate_files server;      ///< subjectAltName IP:127.0.0.1, DNS:localhost
    certificate_files wrong_name;  ///< subjectAltName DNS:wrong.fanout.test only
};

/// Makes a CA and its two server certificates (EC P-256, valid two days) in
/// `directory` with the openssl command-line tool.
test_pki make_test_pki(const std::string& directory);

struct nginx_options {
    bool https = false;  ///< also serve HTTPS (https_port, wrong_name_port)
    /// nginx's ssl_protocols: by default what nginx 1.23.4 and later offer
    /// (Debian 12's 1.22 leaves TLS 1.3 out).
    std::string tls_protocols = "TLSv1.2 TLSv1.3";
    std::size_t big_size = 4u << 20;  ///< the size of /big
    bool http2 = false;               ///< the HTTPS ports offer h2 by ALPN too (and log "HTTP/2.0")
};

class nginx_server {
  public:
    /// One line of the access log.
    struct log_entry {
        std::uint64_t connection = 0;           ///< nginx's serial number of the connection
        std::uint64_t connection_requests = 0;  ///< 1 for its first request, 2 next...
        bool tls = false;                       ///< the request came over TLS
        bool session_reused = false;            ///< its TLS session was resumed
        std::uint16_t port = 0;                 ///< the port it came to
        unsigned status = 0;
        std::uint64_t body_bytes = 0;  ///< body bytes sent
        std::string request;           ///< the request line, "GET /ok HTTP/1.1"
    };

    explicit nginx_server(nginx_options options = {});
    ~nginx_server();
    nginx_server(const nginx_server&) = delete;
    nginx_server& operator=(const nginx_server&) = delete;

    /// The plain HTTP port.
    std::uint16_t port() const noexcept { return port_; }
    /// HTTPS with test_pki().server, and with test_pki().wrong_name (0
    /// without options.https).
    std::uint16_t https_port() const noexcept { return https_port_; }
    std::uint16_t wrong_name_port() const noexcept { return wrong_name_port_; }

    /// "http://127.0.0.1:<port><path>", "https://127.0.0.1:<https_port><path>",
    /// "https://127.0.0.1:<wrong_name_port><path>"
    std::string url(std::string_view path) const;
    std::string https_url(std::string_view path) const;
    std::string wrong_name_url(std::string_view path) const;

    /// The certificates nginx serves; precondition: options.https.
    const test_pki& pki() const noexcept { return pki_; }

    /// Stops nginx: its ports then refuse connections.
    void stop() noexcept;
    /// Starts nginx again on the same ports (after stop(), or at any time).
    void restart();

    /// The access log's entries written so far.
    std::vector<log_entry> access_log() const;
    /// The entries once there are at least `count`, or those there are when
    /// `limit` has passed (nginx logs a request after it has answered it).
    std::vector<log_entry> wait_for_log(std::size_t count, std::chrono::milliseconds limit) const;
    std::string error_log() const;

    /// The temporary directory holding everything nginx uses.
    const std::string& directory() const noexcept { return dir_.path(); }

    /// The body of /big when it is `size` bytes: a fixed pseudo-random sequence.
    static std::string big_body(std::size_t size);

  private:
    // Starts nginx on the current ports: the running process, or none (and
    // `errors` set to its stderr and error log) when it did not come up.
    std::unique_ptr<child_process> start(std::string& errors);
    void choose_ports();
    void write_config() const;

    nginx_options options_;
    scratch_directory dir_;
    test_pki pki_;
    std::uint16_t port_ = 0;
    std::uint16_t https_port_ = 0;
    std::uint16_t wrong_name_port_ = 0;
    std::unique_ptr<child_process> nginx_;  // after dir_: stopped before it is removed
};

}  // namespace fanout::test
