// Fan one call out to 200 backends with a limit, a per-attempt timeout and
// retries; every backend ends as exactly one outcome, in input order.
#include <fanout/fanout.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <numeric>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;

// Stands in for a network call: backend 13 never answers.
net::awaitable<int> call_backend(int backend) {
    net::steady_timer timer(co_await net::this_coro::executor);
    timer.expires_after(backend == 13 ? std::chrono::steady_clock::duration(1h) : 5ms);
    co_await timer.async_wait(net::use_awaitable);
    co_return backend * 2;
}

int main() {
    std::vector<int> backends(200);
    std::iota(backends.begin(), backends.end(), 0);

    fanout::runtime rt;
    auto results = rt.run(
        fanout::gather(backends, call_backend,
                       {.limit = 50, .per_attempt_timeout = 100ms, .retry = fanout::retries(1)}));

    int answered = 0;
    for (const auto& r : results) {
        if (r.ok()) {
            ++answered;
        } else {
            std::printf("backend %d: %s after %u attempts\n", backends[r.index], r.error().kind(),
                        r.attempts);
        }
    }
    std::printf("%d of %zu backends answered\n", answered, results.size());
    const auto& silent = results[13];  // timed out, tried again once, timed out again
    return answered == 199 && silent.error().code == fanout::errc::timeout && silent.attempts == 2
               ? 0
               : 1;
}
