// The library side of the HTTP benchmark: N GETs of one URL through
// fanout::gather over an http::client, `limit` in flight (and as many pooled
// connections), on one loop thread. Prints `requests_per_s <value>`,
// `ok <count>` and `cpu_s <seconds>`. Run by tests/bench/http_bench.sh and,
// with `h2` (HTTP/2 only, at most CONNECTIONS connections multiplexing the
// LIMIT requests in flight, certificates not checked: a local test server),
// by tests/bench/h2_bench.sh:
//
//   http_bench URL REQUESTS LIMIT [h2 CONNECTIONS]
#include <fanout/gather.hpp>
#include <fanout/http/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <ranges>
#include <string>

namespace net = boost::asio;

int main(int argc, char** argv) {
    const bool h2 = argc == 6 && std::string(argv[4]) == "h2";
    if (argc != 4 && !h2) {
        std::fprintf(stderr, "usage: http_bench URL REQUESTS LIMIT [h2 CONNECTIONS]\n");
        return 2;
    }
    const std::string url = argv[1];
    const std::size_t requests = std::stoul(argv[2]);
    const std::size_t limit = std::stoul(argv[3]);

    net::io_context io(1);
    fanout::http::client_options options;
    options.connections_per_origin = limit;
    if (h2) {
        options.http_version = fanout::http::version::http2;
        options.connections_per_origin = std::stoul(argv[5]);
        options.tls.verify = false;
    }
    fanout::http::client client(io.get_executor(), options);
    std::size_t ok = 0;
    std::size_t failed = 0;
    std::string first_error;

    const auto started = std::chrono::steady_clock::now();
    std::timespec cpu_start{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_start);
    net::co_spawn(io,
                  fanout::gather_each(
                      std::views::iota(std::size_t{0}, requests),
                      [&](std::size_t) { return client.get(url); },
                      [&](fanout::outcome<fanout::http::response>&& out) {
                          if (out.ok() && out.value().status == 200) {
                              ++ok;
                          } else {
                              ++failed;
                              if (first_error.empty())
                                  first_error = out.ok()
                                                    ? "status " + std::to_string(out.value().status)
                                                    : out.error().text();
                          }
                      },
                      {.limit = limit}),
                  [](std::exception_ptr e, fanout::gather_summary) {
                      if (e) std::rethrow_exception(e);
                  });
    io.run();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::timespec cpu_end{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_end);
    const double cpu = static_cast<double>(cpu_end.tv_sec - cpu_start.tv_sec) +
                       static_cast<double>(cpu_end.tv_nsec - cpu_start.tv_nsec) / 1e9;

    std::printf("requests_per_s %.0f\nok %zu\ncpu_s %.3f\n",
                static_cast<double>(requests) / seconds, ok, cpu);
    if (failed > 0)
        std::fprintf(stderr, "http_bench: %zu failed, first: %s\n", failed, first_error.c_str());
    return failed == 0 ? 0 : 1;
}
