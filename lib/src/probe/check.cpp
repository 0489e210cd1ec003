#include <fanout/probe/check.hpp>

#include "http/connect.hpp"
#include "text.hpp"

#include <fanout/duration.hpp>
#include <fanout/error.hpp>
#include <fanout/http/client.hpp>
#include <fanout/probe/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <charconv>
#include <map>
#include <unordered_set>
#include <utility>

namespace fanout::probe {

namespace net = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

std::optional<unsigned> parse_status(std::string_view text) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 100 || value > 599)
        return std::nullopt;
    return value;
}

std::string ranges_text(const std::vector<status_range>& ranges) {
    std::string out;
    for (const auto& r : ranges) {
        if (!out.empty()) out += ',';
        out +=
            r.first == r.last ? fmt::format("{}", r.first) : fmt::format("{}-{}", r.first, r.last);
    }
    return out;
}

bool expected(const std::vector<status_range>& ranges, unsigned status) {
    for (const auto& r : ranges)
        if (status >= r.first && status <= r.last) return true;
    return false;
}

// The phases the answer's request went through (see http_phases).
http_phases phases_of(const http::response& answer) {
    const auto& timing = answer.timing;
    http_phases out;
    out.first_byte = timing.first_byte;
    if (timing.reused_connection) return out;
    out.dns = timing.dns;
    out.connect = timing.connect;
    const std::string_view url = answer.url;
    if (url.size() > 6 && fanout::detail::iequals(url.substr(0, 6), "https:")) out.tls = timing.tls;
    return out;
}

}  // namespace

result<std::vector<status_range>> parse_status_ranges(std::string_view text) {
    const auto bad = [text] {
        return failure{make_error_code(fanout::errc::invalid_input),
                       fmt::format("bad status list '{}' (e.g. 200-399 or 200,204,301-308)", text)};
    };
    std::vector<status_range> out;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const auto item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        if (comma != std::string_view::npos && text.empty()) return bad();
        const auto dash = item.find('-');
        const auto first = parse_status(item.substr(0, dash));
        const auto last =
            dash == std::string_view::npos ? first : parse_status(item.substr(dash + 1));
        if (!first || !last || *first > *last) return bad();
        out.push_back({*first, *last});
    }
    if (out.empty()) return bad();
    return out;
}

struct prober::state {
    state(executor_type ex, check_options opts)
        : executor(std::move(ex)),
          options(std::move(opts)),
          http_client(std::make_shared<http::client>(executor, http_options(options))),
          host_resolver(executor, resolver_options(options, {}, 1024)) {}

    static http::client_options http_options(const check_options& options) {
        http::client_options out;
        out.connections_per_origin = std::max<std::size_t>(1, options.connections_per_origin);
        out.resolve_timeout = out.connect_timeout = out.tls_timeout = out.first_byte_timeout =
            options.timeout;
        // No total timeout: the caller bounds the whole check (gather's
        // per-attempt timeout, which starts first and so fires first), and
        // two timers of the same length would race to name the failure.
        out.max_redirects = options.max_redirects;
        out.max_body_size = options.max_body_size;
        out.truncate_body = true;
        out.tls.verify = !options.insecure;
        out.tls.ca_file = options.ca_file;
        out.dns = resolver_options(options, {}, 1024);
        out.http_version = options.http_version;
        return out;
    }

    static dns::resolver_options resolver_options(const check_options& options,
                                                  std::optional<dns::server> server,
                                                  std::size_t cache) {
        dns::resolver_options out;
        if (server) out.servers.push_back(*server);
        out.timeout = options.timeout;
        out.tries = 1;
        out.cache_capacity = cache;
        return out;
    }

    dns::resolver& resolver_for(const std::optional<dns::server>& server) {
        const auto key = server ? dns::to_string(*server) : std::string();
        auto& slot = dns_resolvers[key];
        if (!slot)
            slot = std::make_unique<dns::resolver>(executor, resolver_options(options, server, 0));
        return *slot;
    }

    // The client for a check of `t`. A client keeps idle connections per
    // origin, and a sweep of a million hosts must not keep a million
    // sockets: after max_idle_origins origins, checks go to a new client, and
    // the old one (with its idle connections) goes once its checks have ended.
    std::shared_ptr<http::client> client_for(const target& t) {
        auto origin = fmt::format("{}://{}", t.tls ? "https" : "http", host_key(t));
        if (!client_origins.contains(origin)) {
            if (client_origins.size() >= std::max<std::size_t>(1, options.max_idle_origins)) {
                http_client = std::make_shared<http::client>(executor, http_options(options));
                client_origins.clear();
            }
            client_origins.insert(std::move(origin));
        }
        return http_client;
    }

    net::awaitable<check_result> check_http(const target& t) {
        check_result out;
        const auto client = client_for(t);
        const auto started = clock::now();
        auto answer = co_await client->get(t.url);
        out.latency = clock::now() - started;
        if (!answer) {
            out.problem = std::move(answer.error());
            co_return out;
        }
        out.status = answer->status;
        out.address = std::move(answer->peer_address);
        out.http_version = std::move(answer->http_version);
        out.phases = phases_of(*answer);
        if (answer->certificate_expiry) {
            const auto left = *answer->certificate_expiry - std::chrono::system_clock::now();
            out.certificate_days_left = std::chrono::floor<std::chrono::days>(left).count();
        }
        if (!expected(options.expected_status, answer->status)) {
            out.problem =
                failure{make_error_code(errc::unexpected_status),
                        fmt::format("GET {}: status {}, expected {}", t.url, answer->status,
                                    ranges_text(options.expected_status))};
        } else if (!options.body_contains.empty() &&
                   answer->body.find(options.body_contains) == std::string::npos) {
            out.problem = failure{
                make_error_code(errc::body_mismatch),
                answer->body_truncated
                    ? fmt::format("GET {}: the first {} bytes of the body (the most read) do not "
                                  "contain '{}'",
                                  t.url, answer->body.size(), options.body_contains)
                    : fmt::format("GET {}: the body ({} bytes) does not contain '{}'", t.url,
                                  answer->body.size(), options.body_contains)};
        } else if (options.max_latency && out.latency > *options.max_latency) {
            out.problem = failure{
                make_error_code(errc::too_slow),
                fmt::format("GET {}: answered in {}, more than {}", t.url,
                            format_duration(out.latency), format_duration(*options.max_latency))};
        } else if (out.certificate_days_left && *out.certificate_days_left < 0) {
            out.problem = failure{make_error_code(errc::certificate_expired),
                                  fmt::format("GET {}: the certificate expired {} days ago", t.url,
                                              -*out.certificate_days_left)};
        } else if (out.certificate_days_left &&
                   *out.certificate_days_left < options.certificate_warning_days) {
            out.warning = fmt::format("the certificate expires in {} days (fewer than {})",
                                      *out.certificate_days_left, options.certificate_warning_days);
        }
        // The answer's status and Retry-After go with the failure: they
        // decide whether, and when, the retry policy tries again.
        if (out.problem) {
            out.problem->http_status = answer->status;
            out.problem->retry_after = answer->retry_after();
        }
        co_return out;
    }

    net::awaitable<check_result> check_tcp(const target& t) {
        check_result out;
        const auto started = clock::now();
        auto addresses = co_await host_resolver.resolve(t.host);
        if (!addresses) {
            out.latency = clock::now() - started;
            out.problem = std::move(addresses.error());
            co_return out;
        }
        // Each address in turn, as a client would, until one accepts; each
        // try has the budget of an HTTP connect.
        net::ip::tcp::socket socket(executor);
        const auto done =
            co_await http::detail::connect_first(socket, *addresses, t.port, options.timeout);
        out.address = http::detail::endpoint_text(done.endpoint.address(), t.port);
        if (done.ec)
            out.problem = failure{
                done.ec, done.timed_out
                             ? fmt::format("connect to {} timed out after {}", out.address,
                                           format_duration(done.limit))
                             : fmt::format("connect to {}: {}", out.address, done.ec.message())};
        out.latency = clock::now() - started;
        co_return out;
    }

    net::awaitable<check_result> check_dns(const target& t) {
        check_result out;
        const auto started = clock::now();
        auto answer = co_await resolver_for(t.server).query(t.host, t.type);
        out.latency = clock::now() - started;
        if (!answer) {
            out.problem = std::move(answer.error());
            co_return out;
        }
        for (const auto& rr : answer->records)
            out.answers.push_back(dns::to_string(rr.type) + " " + rr.text());
        co_return out;
    }

    executor_type executor;
    check_options options;
    std::shared_ptr<http::client> http_client;
    std::unordered_set<std::string> client_origins;  // those http_client has served
    dns::resolver host_resolver;
    std::map<std::string, std::unique_ptr<dns::resolver>> dns_resolvers;
};

prober::prober(executor_type executor) : prober(std::move(executor), check_options{}) {}

prober::prober(executor_type executor, check_options options)
    : state_(std::make_unique<state>(std::move(executor), std::move(options))) {}

prober::~prober() = default;

net::awaitable<check_result> prober::check(const target& t) {
    switch (t.kind) {
        case target_kind::http:
            return state_->check_http(t);
        case target_kind::tcp:
            return state_->check_tcp(t);
        case target_kind::dns:
            return state_->check_dns(t);
    }
    return state_->check_dns(t);
}

const check_options& prober::options() const noexcept {
    return state_->options;
}

const prober::executor_type& prober::get_executor() const noexcept {
    return state_->executor;
}

}  // namespace fanout::probe
