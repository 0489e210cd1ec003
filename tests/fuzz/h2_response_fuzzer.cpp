// The HTTP/2 client's read path: whatever a server sends after the
// connection preface, through nghttp2 and the client's callbacks (stream
// headers, :status, bodies within the limit or cut at it, resets, GOAWAY,
// SETTINGS, PINGs, window updates), as `http::client` with prior knowledge
// (h2c) drives it. A loopback server of the harness's own takes the
// connection, sends the input's first frame, waits for the client's
// requests, sends the rest, half-closes and reads the client's bytes to
// their end; the client's requests must each end, as an answer or a
// failure naming its request, before the server's close has been seen for
// long: a request still open after 10 s of the loop is a hang and aborts.
//
// Input: one byte of options (bit 0: two requests at once instead of one;
// bit 1: bodies cut at the limit instead of failing past it; bit 2: the
// second request is a HEAD), then the server's bytes, from its first frame
// (normally a SETTINGS).
#include <fanout/http/client.hpp>
#include <fanout/http/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t body_limit = 4096;

struct harness {
    net::io_context io{1};
    tcp::acceptor acceptor{io, tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), 0)};
    std::string url = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
};

harness& the_harness() {
    static harness h;  // one listener for the whole run
    return h;
}

// Reads the client's frames until `headers` HEADERS frames have come (or
// the client closes): a server answers a stream only after it was opened.
net::awaitable<void> read_requests(tcp::socket& socket, std::size_t headers) {
    std::string magic(24, '\0');
    auto [ec, n] =
        co_await net::async_read(socket, net::buffer(magic), net::as_tuple(net::use_awaitable));
    while (!ec && headers > 0) {
        std::array<std::uint8_t, 9> head{};
        std::tie(ec, n) =
            co_await net::async_read(socket, net::buffer(head), net::as_tuple(net::use_awaitable));
        if (ec) break;
        const std::size_t length =
            (std::size_t{head[0]} << 16) | (std::size_t{head[1]} << 8) | head[2];
        std::string payload(length, '\0');
        std::tie(ec, n) = co_await net::async_read(socket, net::buffer(payload),
                                                   net::as_tuple(net::use_awaitable));
        if (head[3] == 1) --headers;  // HEADERS
    }
}

// One connection: sends the input's first frame (normally its SETTINGS,
// which the client waits for before it opens a stream), then the rest once
// the client's requests are in, half-closes, and reads the client to its
// close.
net::awaitable<void> serve_one(tcp::socket socket, const std::string& bytes, std::size_t requests,
                               std::size_t& live) {
    std::size_t first = bytes.size();
    if (bytes.size() >= 9) {
        const auto* b = reinterpret_cast<const std::uint8_t*>(bytes.data());
        first = std::min(bytes.size(),
                         9 + ((std::size_t{b[0]} << 16) | (std::size_t{b[1]} << 8) | b[2]));
    }
    co_await net::async_write(socket, net::buffer(bytes.data(), first),
                              net::as_tuple(net::use_awaitable));
    co_await read_requests(socket, requests);
    co_await net::async_write(socket, net::buffer(bytes.data() + first, bytes.size() - first),
                              net::as_tuple(net::use_awaitable));
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    // Read to the client's close, so the input is not cut short by a reset.
    std::vector<char> sink(16 * 1024);
    for (;;) {
        auto [ec, n] =
            co_await socket.async_read_some(net::buffer(sink), net::as_tuple(net::use_awaitable));
        if (ec) break;
    }
    --live;
}

// Every connection the client opens while the input runs (a request sent
// again after a GOAWAY opens another) gets the same bytes; the first waits
// for all the requests, later ones for one. Ends when the accept is
// cancelled.
net::awaitable<void> serve(tcp::acceptor& acceptor, const std::string& bytes, std::size_t requests,
                           std::size_t& live, bool& done) {
    for (bool first = true;; first = false) {
        auto [ec, socket] = co_await acceptor.async_accept(net::as_tuple(net::use_awaitable));
        if (ec) break;
        ++live;
        net::co_spawn(acceptor.get_executor(),
                      serve_one(std::move(socket), bytes, first ? requests : 1, live),
                      net::detached);
    }
    done = true;
}

net::awaitable<void> ask(fanout::http::client& client, std::string url, bool head,
                         std::size_t& ended) {
    fanout::http::request req;  // a named variable before co_await (g++ 12)
    req.method = head ? "HEAD" : "GET";
    req.url = url;
    auto answer = co_await client.send(req);
    if (answer) {
        const auto& r = *answer;
        if (r.status < 100 || r.status > 999) std::abort();
        if (r.http_version != "2") std::abort();
        if (r.body.size() > body_limit) std::abort();
        if (head && !r.body.empty()) std::abort();
    } else if (answer.error().text().empty()) {
        std::abort();  // every failure says what it is
    }
    ++ended;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t options = data[0];
    const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    auto& h = the_harness();

    fanout::http::client_options settings;
    settings.http_version = fanout::http::version::http2_prior_knowledge;
    settings.connections_per_origin = 1;
    settings.max_redirects = 0;
    settings.max_body_size = body_limit;
    settings.truncate_body = (options & 2) != 0;
    // Short: an input the client waits on (no SETTINGS, a window never
    // opened) ends by its timeout, and the harness checks only that it ends.
    settings.connect_timeout = 200ms;
    settings.first_byte_timeout = 200ms;
    settings.total_timeout = 400ms;
    settings.ping_timeout = 100ms;
    bool accepting_done = false;
    std::size_t live = 0;
    std::size_t ended = 0;
    const std::size_t requests = (options & 1) ? 2 : 1;
    h.io.restart();
    net::co_spawn(h.io, serve(h.acceptor, bytes, requests, live, accepting_done), net::detached);
    {
        fanout::http::client client(h.io.get_executor(), settings);
        net::co_spawn(h.io, ask(client, h.url + "/a", false, ended), net::detached);
        if (requests == 2)
            net::co_spawn(h.io, ask(client, h.url + "/b", (options & 4) != 0, ended),
                          net::detached);
        const auto bound = std::chrono::steady_clock::now() + 10s;
        while (ended < requests && std::chrono::steady_clock::now() < bound)
            h.io.run_one_for(100ms);
        if (ended < requests) std::abort();  // a request that never ended
    }
    // The client is gone: its connections close and the server's reads end.
    h.acceptor.cancel();
    const auto bound = std::chrono::steady_clock::now() + 10s;
    while ((!accepting_done || live > 0) && std::chrono::steady_clock::now() < bound)
        h.io.run_one_for(100ms);
    if (!accepting_done || live > 0) std::abort();
    h.io.poll();
    return 0;
}
