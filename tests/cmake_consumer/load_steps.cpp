// A load generator of one's own on fanout::load: the URL given gets a rising
// rate, 2 s a step (1,000, 2,000, 4,000... requests/s, open loop, so latency
// counts from each request's intended start), until the corrected p99 passes
// 50 ms, the server errs, or the generator cannot keep the rate; then it says
// the highest rate that held.
#include <fanout/fanout.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace net = boost::asio;
using namespace std::chrono_literals;

net::awaitable<double> highest_good_rate(fanout::runtime& rt, std::string url) {
    double good = 0;
    for (double rate = 1000; rate <= 256'000; rate *= 2) {
        fanout::load::options step{.urls = {url}, .connections = 64, .duration = 2s, .rate = rate};
        auto measured = co_await fanout::load::run(rt, step);
        if (!measured) {
            std::printf("%s: %s\n", url.c_str(), measured.error().text().c_str());
            break;
        }
        const auto p99 = measured->honest_latency().percentile(99);
        std::printf("%8.0f/s: p99 %s, %.2f%% errors\n", rate, fanout::format_duration(p99).c_str(),
                    measured->error_percent());
        if (p99 > 50ms || measured->error_percent() > 0 || !measured->rate_kept()) break;
        good = rate;
    }
    co_return good;
}

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: load_steps URL\n");
        return 2;
    }
    fanout::runtime rt(
        {.loop_threads = std::thread::hardware_concurrency(), .handle_signals = true});
    const double good = rt.run(highest_good_rate(rt, argv[1]));
    std::printf("highest rate with p99 <= 50ms and no errors: %.0f/s\n", good);
    return good > 0 ? 0 : 1;
}
