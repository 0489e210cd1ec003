// Fetches the URLs given on the command line: at most 32 at once, 2 s per
// attempt, up to 2 retries with backoff for what a retry can change (not an
// invalid URL, an unknown name or a 404; a Retry-After is honoured), and
// every URL reported exactly once.
#include <fanout/fanout.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    const std::vector<std::string> urls(argv + 1, argv + argc);
    boost::asio::io_context io;
    fanout::http::client client(io.get_executor());

    fanout::gather_options options{.limit = 32, .per_attempt_timeout = std::chrono::seconds(2)};
    options.retry = fanout::retries(2);  // 3 attempts at most

    auto fetch = [&client](const std::string& url)
        -> boost::asio::awaitable<fanout::result<fanout::http::response>> {
        co_return fanout::http::expect_success(co_await client.get(url));
    };
    auto report = [](const std::string& url, fanout::outcome<fanout::http::response>&& out) {
        if (out.ok())
            std::printf("%s: %u, %zu bytes\n", url.c_str(), out.value().status,
                        out.value().body.size());
        else
            std::printf("%s: %s after %u attempts (%s)\n", url.c_str(), out.error().kind(),
                        out.attempts, out.error().text().c_str());
    };
    boost::asio::co_spawn(io, fanout::gather_each(urls, fetch, report, options),
                          boost::asio::detached);
    io.run();
}
