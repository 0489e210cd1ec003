#include "load/plan.hpp"

#include "http/connect.hpp"
#include "http/request_head.hpp"
#include "http/target.hpp"
#include "http/tls_context.hpp"
#include "http/tls_peer.hpp"
#include "text.hpp"

#include <fanout/dns/resolver.hpp>
#include <fanout/duration.hpp>
#include <fanout/http/error.hpp>
#include <fanout/timeout.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <fmt/format.h>

#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

namespace fanout::load::detail {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

failure invalid(std::string message) {
    return failure{make_error_code(errc::invalid_input), std::move(message)};
}

using fanout::detail::iequals;

// A handshake's code, wrapped: a result<error_code> would take the code for a failure.
struct connected {
    boost::system::error_code ec;
};

net::awaitable<connected> handshake_once(tls_stream& stream) {
    auto [ec] =
        co_await stream.async_handshake(tls_stream::client, net::as_tuple(net::use_awaitable));
    co_return connected{ec};
}

// Whether the server on `socket` speaks h2c: the client's preface and an
// empty SETTINGS written, the first frame read back must be a SETTINGS
// frame on stream 0 (RFC 9113 3.4).
net::awaitable<connected> h2c_preface_once(tcp::socket& socket) {
    static constexpr std::string_view preface{
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0", 24 + 9};
    auto [write_ec, written] =
        co_await net::async_write(socket, net::buffer(preface), net::as_tuple(net::use_awaitable));
    if (write_ec) co_return connected{write_ec};
    std::array<unsigned char, 9> frame{};
    auto [read_ec, got] =
        co_await net::async_read(socket, net::buffer(frame), net::as_tuple(net::use_awaitable));
    if (read_ec) co_return connected{read_ec};
    const bool settings = frame[3] == 0x04 && (frame[5] | frame[6] | frame[7] | frame[8]) == 0;
    co_return connected{settings ? boost::system::error_code{}
                                 : make_error_code(http::errc::protocol_error)};
}

}  // namespace

std::shared_ptr<net::ssl::context> make_tls_context(const options& opts) {
    return http::detail::make_tls_client_context(opts.verify_tls, opts.ca_file);
}

void set_tls_peer(tls_stream& stream, const std::string& host, bool verify) {
    http::detail::set_tls_peer(stream.native_handle(), host, verify);
}

void offer_h2(tls_stream& stream) {
    static constexpr unsigned char h2[] = {2, 'h', '2'};
    SSL_set_alpn_protos(stream.native_handle(), h2, sizeof h2);
}

std::vector<h2_field> h2_request_fields(const options& opts, const http::detail::target& where) {
    std::string authority = where.host_header;
    for (const auto& h : opts.headers)
        if (iequals(h.name, "host")) authority = h.value;
    std::vector<h2_field> out{{":method", opts.method},
                              {":scheme", where.tls ? "https" : "http"},
                              {":authority", std::move(authority)},
                              {":path", where.path}};
    for (const auto& h : opts.headers)
        if (!http::detail::h2_omitted_header(h.name, h.value))
            out.push_back({http::detail::h2_field_name(h.name), h.value});
    if (!opts.body.empty()) out.push_back({"content-length", std::to_string(opts.body.size())});
    return out;
}

fanout::result<std::string> serialise_request(const options& opts,
                                              const http::detail::target& where) {
    http::header_list headers;
    headers.reserve(opts.headers.size());
    for (const auto& h : opts.headers) {
        // A length that disagrees with the body desynchronises the
        // connection: said here, where the wire layer would drop it.
        if (iequals(h.name, "content-length") || iequals(h.name, "transfer-encoding"))
            return invalid(fmt::format(
                "header '{}' is not allowed: the request's framing is computed from its body",
                h.name));
        headers.emplace_back(h.name, h.value);
    }
    if (auto problem = http::detail::request_problem(opts.method, headers))
        return invalid(std::move(*problem));
    std::string out;
    http::detail::write_request_head(out, {.method = opts.method,
                                           .target = where.path,
                                           .host_header = where.host_header,
                                           .headers = &headers,
                                           .body_size = opts.body.size(),
                                           .user_agent = {}});
    out += opts.body;
    return out;
}

fanout::result<plan> make_plan(options opts) {
    if (opts.urls.empty()) return invalid("no URL to load");
    if (opts.connections == 0) return invalid("connections must be at least 1");
    if (opts.pipeline == 0) return invalid("the pipeline depth must be at least 1");
    if (opts.requests && *opts.requests == 0) return invalid("requests must be at least 1");
    if (opts.duration && *opts.duration <= std::chrono::nanoseconds::zero())
        return invalid("the duration must be positive");
    if (opts.rate && !(std::isfinite(*opts.rate) && *opts.rate > 0))
        return invalid("the rate must be a positive number of requests per second");
    if (opts.timeout <= std::chrono::nanoseconds::zero())
        return invalid("the timeout must be positive");
    if (!opts.duration && !opts.requests) opts.duration = std::chrono::seconds(10);
    const bool h2 = opts.version != protocol::http1_1;

    plan out;
    std::map<std::string, std::size_t> origin_index;
    for (const auto& url : opts.urls) {
        auto where = http::detail::parse_target(url);
        if (!where) return invalid(where.error().text());
        if (opts.version == protocol::http2 && !where->tls)
            return invalid(fmt::format(
                "{}: --http2 speaks HTTP/2 over TLS (https://); for h2c on plain TCP give "
                "--http2-prior-knowledge",
                url));
        if (opts.version == protocol::http2_prior_knowledge && where->tls)
            return invalid(fmt::format(
                "{}: --http2-prior-knowledge speaks h2c on plain TCP (http://); for HTTP/2 "
                "over TLS give --http2",
                url));
        auto bytes = serialise_request(opts, *where);
        if (!bytes) return std::move(bytes.error());
        auto [at, added] = origin_index.try_emplace(where->origin, out.origins.size());
        if (added)
            out.origins.push_back({.name = where->origin,
                                   .host = where->host,
                                   .port = where->port,
                                   .tls = where->tls,
                                   .first_url = url,
                                   .endpoint = {},
                                   .requests = {}});
        out.origins[at->second].requests.push_back(
            {.bytes = std::move(*bytes),
             .head = iequals(opts.method, "HEAD"),
             .h2_fields = h2 ? h2_request_fields(opts, *where) : std::vector<h2_field>{}});
    }
    if (out.origins.size() > opts.connections)
        return invalid(fmt::format("{} origins need at least as many connections (-c), got {}",
                                   out.origins.size(), opts.connections));
    out.opts = std::move(opts);
    return out;
}

net::awaitable<fanout::result<plan>> prepare(options opts) {
    auto made = make_plan(std::move(opts));
    if (!made) co_return std::move(made.error());
    plan& p = *made;
    if (std::ranges::any_of(p.origins, &origin_plan::tls)) {
        try {
            p.tls = make_tls_context(p.opts);
        } catch (const boost::system::system_error& e) {
            co_return invalid(
                fmt::format("cannot use CA file '{}': {}", p.opts.ca_file, e.code().message()));
        }
    }
    const auto executor = co_await net::this_coro::executor;
    dns::resolver resolver(executor);
    for (auto& origin : p.origins) {
        auto addresses = co_await resolver.resolve(origin.host);
        if (!addresses)
            co_return failure{addresses.error().code,
                              fmt::format("{}: {}", origin.name, addresses.error().text())};
        tcp::socket socket(executor);
        const auto done =
            co_await http::detail::connect_first(socket, *addresses, origin.port, p.opts.timeout);
        if (done.ec)
            co_return invalid(fmt::format("cannot connect to {}: {}", origin.name,
                                          done.timed_out
                                              ? "timed out after " + format_duration(done.limit)
                                              : done.ec.message()));
        if (origin.tls) {
            // A certificate that would fail every connection fails here.
            tls_stream stream(std::move(socket), *p.tls);
            set_tls_peer(stream, origin.host, p.opts.verify_tls);
            if (p.opts.version == protocol::http2) offer_h2(stream);
            const auto shook = co_await with_timeout(handshake_once(stream), p.opts.timeout);
            if (!shook)
                co_return invalid(fmt::format("TLS handshake with {} failed: {}", origin.name,
                                              shook.error().text()));
            const bool refused_h2 = shook->ec && http::detail::alpn_refused(shook->ec);
            if (shook->ec && !refused_h2) {
                auto why = http::detail::tls_handshake_failure(stream.native_handle(), shook->ec,
                                                               origin.name, p.opts.verify_tls);
                co_return invalid(why.text());
            }
            if (p.opts.version == protocol::http2 &&
                (refused_h2 || !http::detail::alpn_picked_h2(stream.native_handle())))
                co_return failure{make_error_code(http::errc::http2_not_negotiated),
                                  fmt::format("{}: the server did not pick h2 by ALPN (--http2 "
                                              "needs HTTP/2 over TLS)",
                                              origin.first_url)};
        } else if (p.opts.version == protocol::http2_prior_knowledge) {
            const auto spoke = co_await with_timeout(h2c_preface_once(socket), p.opts.timeout);
            if (!spoke || spoke->ec)
                co_return failure{
                    make_error_code(http::errc::http2_not_negotiated),
                    fmt::format("{}: the server does not speak h2c ({}; "
                                "--http2-prior-knowledge needs HTTP/2 on plain TCP)",
                                origin.first_url,
                                !spoke ? spoke.error().text()
                                : spoke->ec == http::errc::protocol_error
                                    ? std::string("its answer to the preface is not SETTINGS")
                                    : spoke->ec.message())};
        }
        origin.endpoint = done.endpoint;
    }
    co_return std::move(made);
}

}  // namespace fanout::load::detail
