#pragma once
// load::options: what a load run sends, to where, how hard and for how long.
//
// Errors: nothing here does anything; load::run() checks the options and
// reports bad ones as a failure (errc::invalid_input) before the run starts.
// Cancellation: not applicable.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fanout::load {

/// One header line added to every request.
struct header {
    std::string name;
    std::string value;
};

/// The HTTP version a run speaks.
enum class protocol {
    http1_1,  ///< HTTP/1.1, keep-alive and pipelining (http:// and https://)
    /// HTTP/2 over TLS (https:// only): ALPN offers h2 alone, and a server
    /// that does not pick it fails the run before it starts.
    http2,
    http2_prior_knowledge,  ///< h2c on plain TCP (http:// only), no upgrade
};

struct options {
    /// Absolute http:// or https:// URLs. A connection talks to one origin (scheme, host,
    /// port) and cycles through that origin's URLs; connections are spread
    /// over the origins in turn.
    std::vector<std::string> urls;
    std::string method = "GET";
    /// Added after Host; a Host given here replaces ours. Content-Length and
    /// Transfer-Encoding are refused: the framing is computed from the body.
    std::vector<header> headers;
    std::string body;  ///< sent with a Content-Length when not empty

    /// Keep-alive connections in all, spread over the loop threads.
    std::size_t connections = 64;
    /// Loop threads (one io_context each); 0: one per core. Never more than
    /// the connections, nor than the runtime given to run() has.
    std::size_t threads = 0;
    /// Requests a connection keeps in flight: on HTTP/1.1 those written
    /// ahead of their answers (pipelining; 1: none), on HTTP/2 its
    /// concurrent streams (h2load's -m), capped by the server's
    /// SETTINGS_MAX_CONCURRENT_STREAMS. In open loop over https/1.1, a
    /// request that comes due while its connection waits for an answer is
    /// written once that answer is read (otherwise it is written on time).
    std::size_t pipeline = 1;
    protocol version = protocol::http1_1;

    /// How long to send; the run ends at whichever of duration and requests
    /// comes first. Neither given: 10 s.
    std::optional<std::chrono::nanoseconds> duration;
    /// Send exactly this many requests (all connections together), then
    /// wait for their answers. A failed connect uses one up, so a server
    /// that goes away ends the run.
    std::optional<std::uint64_t> requests;

    /// Open loop: this many requests per second in all, each connection
    /// sending on its own fixed schedule, and latency measured from each
    /// request's intended start as well as from its actual send. Empty:
    /// closed loop (each connection sends when its last answer came).
    std::optional<double> rate;

    /// A request not answered within this is an error of kind "timeout"
    /// and its connection is closed (and opened again). Also bounds connects
    /// and TLS handshakes.
    std::chrono::nanoseconds timeout = std::chrono::seconds(2);

    /// https: verify the server's certificate and host name (off: accept
    /// any certificate, as curl --insecure does).
    bool verify_tls = true;
    /// https: trust the CA certificates of this PEM file instead of the
    /// system's.
    std::string ca_file;
};

}  // namespace fanout::load
