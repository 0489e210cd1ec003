#pragma once
// What a health check looks at: a target, parsed from one line of text.
//
//   http://host[:port]/path, https://...   an HTTP(S) GET
//   tcp://host:port                        a TCP connect
//   dns://name[?type=MX&server=127.0.0.1:5353]
//                                          a DNS query (type A by default,
//                                          the system's servers by default)
//
// Errors: parse_target returns a failure (probe::errc::invalid_target) whose
// message names the text and what is wrong with it; nothing here throws
// except std::bad_alloc.

#include <fanout/dns/record.hpp>
#include <fanout/dns/resolver.hpp>
#include <fanout/outcome.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fanout::probe {

enum class target_kind { http, tcp, dns };

/// "http" (for https too), "tcp", "dns".
const char* to_string(target_kind kind) noexcept;

struct target {
    target_kind kind = target_kind::http;
    std::string url;         ///< http: the URL as written
    std::string host;        ///< http, tcp: the host (IPv6 without brackets); dns: the name
    std::uint16_t port = 0;  ///< http, tcp
    bool tls = false;        ///< http: https
    dns::record_type type = dns::record_type::a;  ///< dns
    std::optional<dns::server> server;            ///< dns: nothing for the system's
};

/// The target a line names (surrounding spaces are not allowed: trim first).
result<target> parse_target(std::string_view text);

/// What a per-host limit counts: "host:port" for HTTP and TCP, the server
/// asked for DNS ("dns" for the system's servers).
std::string host_key(const target& t);

}  // namespace fanout::probe
