// Measures the thread-pool bridge: the round trip of one offload (loop ->
// pool -> loop), and SHA-256 over 256 MiB fanned out to a CPU pool of one and
// of two threads. Prints one `name value unit` line per measurement.
#include <fanout/offload.hpp>
#include <fanout/thread_pool.hpp>

#include <openssl/evp.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <functional>
#include <stdexcept>
#include <vector>

namespace net = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr int round_trips = 100'000;
constexpr int warm_up_round_trips = 1'000;
constexpr std::size_t chunk_bytes = std::size_t{1} << 20;
constexpr std::size_t chunk_count = 256;

void print(const char* name, double value, const char* unit) {
    std::printf("%s %.3f %s\n", name, value, unit);
}

/// Prints the median and the 99th percentile of `samples`, in microseconds.
void print_percentiles(const char* name, std::vector<clock_type::duration>& samples) {
    std::sort(samples.begin(), samples.end());
    auto micros = [](clock_type::duration d) {
        return std::chrono::duration<double, std::micro>(d).count();
    };
    char label[128];
    std::snprintf(label, sizeof label, "%s_median", name);
    print(label, micros(samples[samples.size() / 2]), "us");
    std::snprintf(label, sizeof label, "%s_p99", name);
    print(label, micros(samples[samples.size() * 99 / 100]), "us");
}

net::awaitable<void> time_round_trips(fanout::thread_pool& pool,
                                      std::vector<clock_type::duration>& samples) {
    for (int i = 0; i < warm_up_round_trips; ++i) co_await fanout::offload(pool, [] { return 1; });
    for (int i = 0; i < round_trips; ++i) {
        const auto start = clock_type::now();
        const int one = co_await fanout::offload(pool, [] { return 1; });
        samples.push_back(clock_type::now() - start);
        if (one != 1) throw std::logic_error("offload returned the wrong value");
    }
}

void bench_coroutine_round_trip() {
    net::io_context io(1);
    fanout::thread_pool pool(1);
    std::vector<clock_type::duration> samples;
    samples.reserve(round_trips);
    net::co_spawn(io, time_round_trips(pool, samples), [](std::exception_ptr error) {
        if (error) std::rethrow_exception(error);
    });
    io.run();
    print_percentiles("offload_round_trip", samples);
}

/// The same round trip through `async_offload` with a plain callback: what
/// the coroutine machinery adds on top of the pool.
class callback_round_trips {
  public:
    callback_round_trips(net::io_context& io, fanout::thread_pool& pool) : io_(io), pool_(pool) {
        samples_.reserve(round_trips);
    }

    void start() {
        start_ = clock_type::now();
        fanout::async_offload(
            pool_, [] { return 1; }, net::bind_executor(io_, [this](std::exception_ptr, int) {
                if (++done_ > warm_up_round_trips) {
                    samples_.push_back(clock_type::now() - start_);
                }
                if (done_ < warm_up_round_trips + round_trips) start();
            }));
    }

    std::vector<clock_type::duration>& samples() { return samples_; }

  private:
    net::io_context& io_;
    fanout::thread_pool& pool_;
    std::vector<clock_type::duration> samples_;
    clock_type::time_point start_;
    int done_ = 0;
};

void bench_callback_round_trip() {
    net::io_context io(1);
    fanout::thread_pool pool(1);
    callback_round_trips trips(io, pool);
    trips.start();
    io.run();
    print_percentiles("async_offload_callback_round_trip", trips.samples());
}

using digest = std::array<unsigned char, 32>;

digest hash_chunk(const unsigned char* data, std::size_t size) {
    digest out{};
    unsigned int length = 0;
    if (EVP_Digest(data, size, out.data(), &length, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("EVP_Digest failed");
    }
    return out;
}

/// 256 MiB from a fixed-seed generator: the same bytes on every run.
std::vector<unsigned char> make_data() {
    std::vector<unsigned char> data(chunk_bytes * chunk_count);
    std::uint64_t state = 0x9E3779B97F4A7C15u;
    for (std::size_t i = 0; i + 8 <= data.size(); i += 8) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        for (int b = 0; b < 8; ++b) data[i + b] = static_cast<unsigned char>(state >> (8 * b));
    }
    return data;
}

net::awaitable<void> hash_one_chunk(fanout::thread_pool& pool, const unsigned char* chunk,
                                    digest& out, std::size_t& remaining) {
    out = co_await fanout::offload(pool, [chunk] { return hash_chunk(chunk, chunk_bytes); });
    --remaining;
}

struct hash_timing {
    double seconds;       ///< wall clock
    double cpu_per_wall;  ///< process CPU time over wall time: about the threads kept busy
};

/// Hashes every chunk through a pool of `threads`.
hash_timing hash_all(const std::vector<unsigned char>& data, std::size_t threads,
                     std::vector<digest>& digests) {
    net::io_context io(1);
    fanout::thread_pool pool(threads);
    digests.assign(chunk_count, digest{});
    std::size_t remaining = chunk_count;
    const std::clock_t cpu_start = std::clock();
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < chunk_count; ++i) {
        net::co_spawn(io,
                      hash_one_chunk(pool, data.data() + i * chunk_bytes, digests[i], remaining),
                      [](std::exception_ptr error) {
                          if (error) std::rethrow_exception(error);
                      });
    }
    io.run();
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    if (remaining != 0) throw std::logic_error("not every chunk was hashed");
    return {seconds, cpu_seconds / seconds};
}

void bench_sha256() {
    const std::vector<unsigned char> data = make_data();
    std::vector<digest> one_thread;
    std::vector<digest> two_threads;
    const hash_timing threads_1 = hash_all(data, 1, one_thread);
    const hash_timing threads_2 = hash_all(data, 2, two_threads);
    print("sha256_256MiB_threads1", threads_1.seconds, "s");
    print("sha256_256MiB_threads2", threads_2.seconds, "s");
    print("sha256_speedup_threads2_vs_threads1", threads_1.seconds / threads_2.seconds, "x");
    print("sha256_threads1_cpu_per_wall", threads_1.cpu_per_wall, "ratio");
    print("sha256_threads2_cpu_per_wall", threads_2.cpu_per_wall, "ratio");
    print("sha256_digests_match", one_thread == two_threads ? 1 : 0, "bool");
}

}  // namespace

int main() {
    try {
        bench_coroutine_round_trip();
        bench_callback_round_trip();
        bench_sha256();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "offload_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
