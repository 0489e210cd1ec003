#pragma once
// Name servers: one server to ask, and how a resolver spreads its queries
// over several (the server pool policy).
//
// Errors: parse_server returns a failure with errc::invalid_input naming the
// text; nothing here throws except std::bad_alloc.

#include <fanout/outcome.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace fanout::dns {

/// A name server to ask.
struct server {
    std::string address;  ///< an IPv4 or IPv6 address
    std::uint16_t port = 53;
    friend bool operator==(const server&, const server&) = default;
};

/// "127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:5353"; a failure with
/// errc::invalid_input naming the text when it is none of those.
result<server> parse_server(std::string_view text);

/// "127.0.0.1:5353", "[::1]:53".
std::string to_string(const server& s);

/// Which server a try goes to.
enum class server_choice {
    in_order,           ///< the first server not set aside; the next one on failure
    round_robin,        ///< each try to the next server in turn
    least_outstanding,  ///< the server with the fewest tries waiting (ties in turn)
};

/// How a resolver uses several servers. A try that times out, cannot
/// connect (TCP) or, with fail_over_on_error_answer, is answered SERVFAIL or
/// REFUSED goes to another server while the lookup has tries left. A server
/// that fails `set_aside_after` tries in a row is skipped for `set_aside_for`
/// (unless every server is set aside), then asked again; one answer puts it
/// back in full.
struct server_pool_policy {
    server_choice choice = server_choice::round_robin;
    bool fail_over_on_error_answer = true;
    unsigned set_aside_after = 3;  ///< 0: never set a server aside
    std::chrono::milliseconds set_aside_for{5000};
    /// Tries sent to one server per second at most (0: no limit); tries over
    /// the limit wait for their turn (their timeout starts when sent).
    double per_server_rate = 0;
};

}  // namespace fanout::dns
