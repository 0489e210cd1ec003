#pragma once
// Where a request goes, read from its URL with Boost.URL (private).

#include <fanout/outcome.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace fanout::http::detail {

struct target {
    bool tls = false;
    std::string host;  ///< name or address, without IPv6 brackets
    std::uint16_t port = 80;
    std::string host_header;  ///< host[:port] as the Host header carries it
    std::string path;         ///< path and query, "/" at least
    std::string origin;       ///< "https://host:port", the pool's key
};

/// The target of an absolute http:// or https:// URL; a failure
/// (errc::invalid_url) naming the URL otherwise.
result<target> parse_target(std::string_view url);

/// `location` (absolute or relative) resolved against `base`.
result<std::string> resolve_location(std::string_view base, std::string_view location);

}  // namespace fanout::http::detail
