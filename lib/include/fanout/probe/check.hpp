#pragma once
// Health checks of one target at a time: an HTTP(S) GET with expectations
// (status, body text, latency ceiling, certificate days left), a TCP
// connect, a DNS query that must answer NOERROR with records.
//
//   prober::check(target) -> awaitable<check_result>
//
// A prober owns what its checks share on one loop: an HTTP client (pooled
// connections per origin, for options.max_idle_origins origins at a time, so
// a sweep of a million hosts does not hold a million sockets), a resolver for
// host names, and one resolver per DNS server that dns:// targets name. Use it from its executor
// only; one prober per loop thread. It sets no timeout of its own around a whole check: run checks
// under gather's per_attempt_timeout (the HTTP client's phases and the DNS queries do use
// options.timeout). Errors: a check that fails is a check_result whose `problem` says why: the code
// of the layer that saw it (system codes for refused or reset connections, http::errc, dns::errc;
// a timeout of any HTTP phase is fanout::errc::timeout, its message naming the phase and the
// limit), or probe::errc when the target answered but not as expected (then the failure carries
// the answer's status in http_status and its Retry-After in retry_after); kind-specific fields
// (status, address, answers, certificate days) are filled as far as the check got.
// parse_status_ranges returns a failure (errc::invalid_input). Cancellation: a cancelled check
// aborts its socket operation or query and completes with operation_aborted as its problem (or,
// when the coroutine is cancelled between two operations, throws system_error as Asio coroutines
// do); the prober stays usable.

#include <fanout/http/message.hpp>
#include <fanout/outcome.hpp>
#include <fanout/probe/target.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fanout::probe {

/// HTTP statuses from `first` to `last`, both included.
struct status_range {
    unsigned first = 200;
    unsigned last = 399;
    friend bool operator==(const status_range&, const status_range&) = default;
};

/// "200-399", "200,204,300-308": a failure (errc::invalid_input) naming the
/// text when it is not a comma-separated list of statuses (100-599) or ranges.
result<std::vector<status_range>> parse_status_ranges(std::string_view text);

struct check_options {
    /// One attempt's budget: the HTTP client's phase timeouts and each DNS
    /// query use it.
    std::chrono::milliseconds timeout{5000};
    std::vector<status_range> expected_status{{200, 399}};
    std::string body_contains;  ///< empty: any body
    /// Slower answers are failures (too_slow); nothing: no ceiling.
    std::optional<std::chrono::nanoseconds> max_latency;
    /// A certificate with fewer days left than this is a warning.
    int certificate_warning_days = 14;
    bool insecure = false;        ///< https: do not verify certificates or host names
    std::string ca_file;          ///< https: trust this PEM file (empty: the system's store)
    unsigned max_redirects = 10;  ///< followed before the status is checked; 0: none
    /// How much of a body is read: a longer one is cut there and its
    /// connection dropped, and the check goes on with what was read (the
    /// status decides; body_contains searches those bytes only).
    std::size_t max_body_size = 1 << 20;
    std::size_t connections_per_origin = 1000;
    /// Idle connections are kept for reuse, per origin, for this many origins
    /// at most: past it, a prober moves on to a new HTTP client and closes
    /// the old one's connections once its checks have ended.
    std::size_t max_idle_origins = 1024;
    /// http, https: the HTTP version asked for (see http::version): by
    /// default h2 when an https server offers it by ALPN, else HTTP/1.1;
    /// http2 fails an https target that does not pick h2
    /// (http::errc::http2_not_negotiated).
    http::version http_version = http::version::automatic;
};

/// How long the phases of the HTTP request that answered took (the last
/// redirect's), as http::timings measures them; nothing for a phase the
/// request did not go through: dns, connect and tls on a reused connection,
/// tls on plain http.
struct http_phases {
    std::optional<std::chrono::nanoseconds> dns;
    std::optional<std::chrono::nanoseconds> connect;
    std::optional<std::chrono::nanoseconds> tls;
    std::optional<std::chrono::nanoseconds> first_byte;  ///< from sending to the answer's head
};

struct check_result {
    std::optional<failure> problem;  ///< nothing: healthy
    /// Set on healthy results that deserve attention (a certificate close
    /// to its end).
    std::optional<std::string> warning;
    std::chrono::nanoseconds latency{};  ///< of the check (HTTP: the request's total)
    std::optional<unsigned> status;      ///< http: the final status
    /// tcp: the address connected to (or tried last); http: the one that
    /// answered; "a.b.c.d:port" or "[v6]:port"
    std::string address;
    std::string http_version;  ///< http: the version that answered, "1.1" or "2"
    http_phases phases;        ///< http: filled when an answer came
    std::optional<std::int64_t> certificate_days_left;  ///< https: whole days to notAfter
    std::vector<std::string> answers;                   ///< dns: the records, "TYPE value" each

    bool healthy() const noexcept { return !problem.has_value(); }
};

class prober {
  public:
    using executor_type = boost::asio::any_io_executor;

    /// Throws system_error when the HTTP client or the resolver cannot be
    /// made (an infrastructure fault: no /etc/resolv.conf...).
    explicit prober(executor_type executor);
    // Two constructors, not a defaulted options argument (see
    // http::client's constructors: a g++ 12 coroutine bug).
    prober(executor_type executor, check_options options);
    ~prober();
    prober(const prober&) = delete;
    prober& operator=(const prober&) = delete;

    /// `t` must outlive the check.
    boost::asio::awaitable<check_result> check(const target& t);

    const check_options& options() const noexcept;
    const executor_type& get_executor() const noexcept;

  private:
    struct state;
    std::unique_ptr<state> state_;
};

}  // namespace fanout::probe
