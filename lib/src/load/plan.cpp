#include "load/plan.hpp"

#include "http/target.hpp"
#include "http/tls_peer.hpp"

#include <fanout/dns/resolver.hpp>
#include <fanout/duration.hpp>
#include <fanout/timeout.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace fanout::load::detail {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

failure invalid(std::string message) {
    return failure{make_error_code(errc::invalid_input), std::move(message)};
}

bool is_token(std::string_view text) {
    return !text.empty() && std::ranges::all_of(text, [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte > 0x20 && byte < 0x7f &&
               std::string_view("()<>@,;:\\\"/[]?={}").find(c) == std::string_view::npos;
    });
}

bool has_line_break(std::string_view text) {
    return text.find_first_of("\r\n") != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
    return std::ranges::equal(a, b, [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

// A connect's code, wrapped: a result<error_code> would take the code for a failure.
struct connected {
    boost::system::error_code ec;
};

net::awaitable<connected> connect_once(tcp::socket& socket, tcp::endpoint to) {
    auto [ec] = co_await socket.async_connect(to, net::as_tuple(net::use_awaitable));
    co_return connected{ec};
}

net::awaitable<connected> handshake_once(tls_stream& stream) {
    auto [ec] =
        co_await stream.async_handshake(tls_stream::client, net::as_tuple(net::use_awaitable));
    co_return connected{ec};
}

}  // namespace

std::shared_ptr<net::ssl::context> make_tls_context(const options& opts) {
    auto context = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
    if (!opts.verify_tls) {
        context->set_verify_mode(net::ssl::verify_none);
    } else {
        context->set_verify_mode(net::ssl::verify_peer);
        if (opts.ca_file.empty())
            context->set_default_verify_paths();
        else
            context->load_verify_file(opts.ca_file);
    }
    return context;
}

void set_tls_peer(tls_stream& stream, const std::string& host, bool verify) {
    http::detail::set_tls_peer(stream.native_handle(), host, verify);
}

fanout::result<std::string> serialise_request(const options& opts,
                                              const http::detail::target& where) {
    if (!is_token(opts.method)) return invalid(fmt::format("bad method '{}'", opts.method));
    bool own_host = false;
    for (const auto& h : opts.headers) {
        if (!is_token(h.name)) return invalid(fmt::format("bad header name '{}'", h.name));
        if (has_line_break(h.value))
            return invalid(fmt::format("the value of header '{}' has a line break", h.name));
        // A length that disagrees with the body desynchronises the connection.
        if (iequals(h.name, "content-length") || iequals(h.name, "transfer-encoding"))
            return invalid(fmt::format(
                "header '{}' is not allowed: the request's framing is computed from its body",
                h.name));
        own_host = own_host || iequals(h.name, "host");
    }
    std::string out = fmt::format("{} {} HTTP/1.1\r\n", opts.method, where.path);
    if (!own_host) out += fmt::format("Host: {}\r\n", where.host_header);
    for (const auto& h : opts.headers) out += fmt::format("{}: {}\r\n", h.name, h.value);
    if (!opts.body.empty()) out += fmt::format("Content-Length: {}\r\n", opts.body.size());
    out += "\r\n";
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

    plan out;
    std::map<std::string, std::size_t> origin_index;
    for (const auto& url : opts.urls) {
        auto where = http::detail::parse_target(url);
        if (!where) return invalid(where.error().text());
        auto bytes = serialise_request(opts, *where);
        if (!bytes) return std::move(bytes.error());
        auto [at, added] = origin_index.try_emplace(where->origin, out.origins.size());
        if (added)
            out.origins.push_back({.name = where->origin,
                                   .host = where->host,
                                   .port = where->port,
                                   .tls = where->tls,
                                   .endpoint = {},
                                   .requests = {}});
        out.origins[at->second].requests.push_back(
            {.bytes = std::move(*bytes), .head = iequals(opts.method, "HEAD")});
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
        std::string why = "no address";
        bool connected = false;
        for (const auto& address : *addresses) {
            const tcp::endpoint endpoint(address.ip, origin.port);
            tcp::socket socket(executor);
            auto done = co_await with_timeout(connect_once(socket, endpoint), p.opts.timeout);
            if (done && !done->ec && origin.tls) {
                // A certificate that would fail every connection fails here.
                tls_stream stream(std::move(socket), *p.tls);
                set_tls_peer(stream, origin.host, p.opts.verify_tls);
                const auto shook = co_await with_timeout(handshake_once(stream), p.opts.timeout);
                if (!shook)
                    co_return invalid(fmt::format("TLS handshake with {} failed: {}", origin.name,
                                                  shook.error().text()));
                if (shook->ec) {
                    auto why = http::detail::tls_handshake_failure(
                        stream.native_handle(), shook->ec, origin.name, p.opts.verify_tls);
                    co_return invalid(why.text());
                }
            }
            if (done && !done->ec) {
                origin.endpoint = endpoint;
                connected = true;
                break;
            }
            why = done ? done->ec.message() : done.error().text();
        }
        if (!connected)
            co_return invalid(fmt::format("cannot connect to {}: {}", origin.name, why));
    }
    co_return std::move(made);
}

}  // namespace fanout::load::detail
