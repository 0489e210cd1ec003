// Fetches the URLs given on the command line, then hashes each body on a
// thread pool, off the loop. Not inside the gather: its sink cannot
// co_await, and time spent in fn counts against the per-attempt timeout, so
// CPU work there would turn slow hashing into timeouts. The hashing is a
// second gather over the bodies, without a timeout, as wide as the pool.
#include <fanout/fanout.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace net = boost::asio;

// Stands in for SHA-256, a parser, a decompressor: CPU-bound work (FNV-1a).
std::uint64_t digest(const std::string& body) {
    std::uint64_t hash = 14695981039346656037ull;
    for (const unsigned char c : body) hash = (hash ^ c) * 1099511628211ull;
    return hash;
}

net::awaitable<void> fetch_and_hash(fanout::http::client& client, fanout::thread_pool& pool,
                                    const std::vector<std::string>& urls) {
    fanout::gather_options fetching{.limit = 64, .per_attempt_timeout = std::chrono::seconds(5)};
    fetching.retry = fanout::retries(1);
    auto fetch =
        [&client](
            const std::string& url) -> net::awaitable<fanout::result<fanout::http::response>> {
        co_return fanout::http::expect_success(co_await client.get(url));
    };
    auto pages = co_await fanout::gather(urls, fetch, fetching);

    // The bodies of the pages that came, hashed as wide as the pool allows.
    std::vector<const fanout::outcome<fanout::http::response>*> fetched;
    for (const auto& page : pages)
        if (page.ok()) fetched.push_back(&page);
    auto hash = [&pool](const fanout::outcome<fanout::http::response>* page) {
        return fanout::offload(pool, [page] { return digest(page->value().body); });
    };
    const fanout::gather_options hashing{.limit = pool.size()};
    const auto digests = co_await fanout::gather(fetched, hash, hashing);

    for (std::size_t i = 0; i < fetched.size(); ++i)
        std::printf("%s: %016llx\n", urls[fetched[i]->index].c_str(),
                    static_cast<unsigned long long>(digests[i].value()));
    for (const auto& page : pages)
        if (!page.ok())
            std::printf("%s: %s (%s)\n", urls[page.index].c_str(), page.error().kind(),
                        page.error().text().c_str());
}

int main(int argc, char** argv) {
    const std::vector<std::string> urls(argv + 1, argv + argc);
    net::io_context io;
    fanout::http::client client(io.get_executor());
    fanout::thread_pool pool(4);  // stopped (destroyed) before io: see thread_pool.hpp
    net::co_spawn(io, fetch_and_hash(client, pool, urls), net::detached);
    io.run();
}
