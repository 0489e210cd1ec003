#include <fanout/progress.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;

fanout::progress_snapshot snapshot_of(std::optional<std::uint64_t> total, std::uint64_t started,
                                      std::uint64_t done, std::uint64_t failed,
                                      std::uint64_t retried, std::chrono::nanoseconds elapsed) {
    fanout::progress_snapshot s;
    s.total = total;
    s.started = started;
    s.done = done;
    s.failed = failed;
    s.retried = retried;
    s.elapsed = elapsed;
    return s;
}

// Everything readable from a non-blocking descriptor right now.
std::string drain(int fd) {
    std::string text;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
}

// A pipe whose write end is a FILE*; closes both ends.
struct pipe_file {
    int read_end = -1;
    std::FILE* write_end = nullptr;

    pipe_file() {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        read_end = fds[0];
        REQUIRE(::fcntl(read_end, F_SETFL, O_NONBLOCK) == 0);
        write_end = ::fdopen(fds[1], "w");
        REQUIRE(write_end != nullptr);
    }
    ~pipe_file() {
        if (write_end != nullptr) std::fclose(write_end);
        ::close(read_end);
    }
};

}  // namespace

TEST_CASE("counters updated from two threads add up exactly") {
    fanout::progress counters;
    counters.set_total(50'000);
    const auto work = [&counters](int items) {
        for (int i = 0; i < items; ++i) {
            counters.on_start();
            if (i % 10 == 0) counters.on_retry();
            counters.on_done(i % 4 != 0);
        }
    };
    std::thread first(work, 20'000);
    std::thread second(work, 30'000);
    first.join();
    second.join();
    counters.add_total(10);

    const fanout::progress_snapshot s = counters.snapshot();
    REQUIRE(s.total.has_value());
    CHECK(*s.total == 50'010);
    CHECK(s.started == 50'000);
    CHECK(s.done == 50'000);
    CHECK(s.failed == 5'000 + 7'500);
    CHECK(s.retried == 2'000 + 3'000);
    CHECK(s.in_flight() == 0);
    CHECK(s.elapsed > 0ns);
}

TEST_CASE("counts set from a run's own counters replace the ones before") {
    fanout::progress p;
    p.on_start();
    p.set_counts(10, 7, 2);
    const auto s = p.snapshot();
    CHECK(s.started == 10);
    CHECK(s.done == 7);
    CHECK(s.failed == 2);
    CHECK(s.in_flight() == 3);
}

TEST_CASE("the total is unknown until it is set or added to") {
    fanout::progress counters;
    CHECK_FALSE(counters.snapshot().total.has_value());
    counters.add_total(3);
    counters.add_total(4);
    CHECK(counters.snapshot().total == 7);
    counters.set_total(2);
    CHECK(counters.snapshot().total == 2);
}

TEST_CASE("in flight counts started items that are not done") {
    fanout::progress counters;
    for (int i = 0; i < 5; ++i) counters.on_start();
    counters.on_done(true);
    counters.on_done(false);
    const auto s = counters.snapshot();
    CHECK(s.in_flight() == 3);
    CHECK(s.failed == 1);
    CHECK(s.done == 2);
    // A racy read may see more done than started; it never wraps around.
    CHECK(snapshot_of({}, 1, 2, 0, 0, 0ns).in_flight() == 0);
}

TEST_CASE("a line with a known total shows done of total, the percentage and the rate") {
    const auto s = snapshot_of(20'000, 13'145, 12'345, 1'234, 0, 1'234'500'000ns);
    CHECK(fanout::render_progress_line(s, "sweep") ==
          "sweep 12,345/20,000 done  61.7%  1,234 failed  800 in flight  10,000/s  0:01.2");
}

TEST_CASE("a line without a total or a label leaves them out and shows retries") {
    const auto s = snapshot_of({}, 1'500, 1'000, 0, 42, 4s);
    CHECK(fanout::render_progress_line(s) ==
          "1,000 done  0 failed  42 retried  500 in flight  250/s  0:04.0");
}

TEST_CASE("a line at the start of a run has a zero rate") {
    CHECK(fanout::render_progress_line(snapshot_of(0, 0, 0, 0, 0, 0ns)) ==
          "0/0 done  100.0%  0 failed  0 in flight  0/s  0:00.0");
    CHECK(fanout::render_progress_line(snapshot_of(10, 0, 0, 0, 0, 0ns)) ==
          "0/10 done  0.0%  0 failed  0 in flight  0/s  0:00.0");
}

TEST_CASE("large counts get a separator every three digits") {
    const auto s = snapshot_of(10'000'000'000, 1'234'567'891, 1'234'567'890, 999, 1'000,
                               std::chrono::seconds(123'456'789));
    CHECK(fanout::render_progress_line(s) ==
          "1,234,567,890/10,000,000,000 done  12.3%  999 failed  1,000 retried  1 in flight  10/s  "
          "34293:33:09");
}

TEST_CASE("elapsed time shows minutes below an hour and hours from an hour on") {
    const auto line = [](std::chrono::nanoseconds elapsed) {
        return fanout::render_progress_line(snapshot_of({}, 0, 0, 0, 0, elapsed));
    };
    CHECK(line(59min + 59s + 999ms).ends_with("  59:59.9"));
    CHECK(line(1h + 2min + 3s).ends_with("  1:02:03"));
    CHECK(line(61s + 250ms).ends_with("  1:01.2"));
}

TEST_CASE("a progress line on a pipe draws nothing") {
    pipe_file pipe;
    boost::asio::io_context io;
    auto keep_running = boost::asio::make_work_guard(io);  // run_for lasts the whole time
    fanout::progress counters;
    counters.on_start();
    {
        fanout::progress_line line(io.get_executor(), counters, "label", pipe.write_end, 5ms);
        CHECK_FALSE(line.drawing());
        line.start();
        io.run_for(60ms);
        line.stop();
    }
    io.run_for(10ms);
    std::fflush(pipe.write_end);
    CHECK(drain(pipe.read_end).empty());
}

TEST_CASE("start and stop are safe to repeat") {
    pipe_file pipe;
    boost::asio::io_context io;
    auto keep_running = boost::asio::make_work_guard(io);
    fanout::progress counters;
    fanout::progress_line line(io.get_executor(), counters, {}, pipe.write_end, 1ms);
    for (int round = 0; round < 3; ++round) {
        line.start();
        line.start();
        io.run_for(5ms);
        line.stop();
        line.stop();
    }
    line.stop();
    io.run_for(5ms);
    std::fflush(pipe.write_end);
    CHECK(drain(pipe.read_end).empty());
}

TEST_CASE("a progress line on a terminal redraws and then clears the line") {
    const int terminal = ::posix_openpt(O_RDWR | O_NOCTTY);
    if (terminal < 0 || ::grantpt(terminal) != 0 || ::unlockpt(terminal) != 0) {
        WARN("no pseudo-terminal available; skipped");
        if (terminal >= 0) ::close(terminal);
        return;
    }
    REQUIRE(::fcntl(terminal, F_SETFL, O_NONBLOCK) == 0);
    std::FILE* out = std::fopen(::ptsname(terminal), "w");
    REQUIRE(out != nullptr);

    boost::asio::io_context io;
    fanout::progress counters;
    counters.set_total(4);
    counters.on_start();
    counters.on_done(true);
    std::string text;
    {
        fanout::progress_line line(io.get_executor(), counters, "probe", out, 5ms);
        REQUIRE(line.drawing());
        line.start();
        line.start();  // a second start adds no second timer
        io.run_for(40ms);
        line.stop();
        io.run_for(10ms);
        text = drain(terminal);
        line.stop();  // nothing more to clear
        io.run_for(5ms);
        CHECK(drain(terminal).empty());
    }
    std::fclose(out);
    ::close(terminal);

    CHECK(text.starts_with("\rprobe 1/4 done  25.0%  0 failed  0 in flight  "));
    CHECK(text.find("\x1b[K") != std::string::npos);
    CHECK(text.ends_with("\r\x1b[K"));
    // The first draw comes at start(); the timer brings more.
    const auto draws = [&text] {
        std::size_t count = 0;
        for (auto at = text.find("\rprobe"); at != std::string::npos;
             at = text.find("\rprobe", at + 1))
            ++count;
        return count;
    }();
    CHECK(draws >= 2);
    CHECK(draws <= 12);  // 40 ms at one per 5 ms, plus the first: one timer chain only
}

TEST_CASE("counts by name are listed in order with thousands separators") {
    CHECK(fanout::format_counts(std::map<std::string, std::uint64_t>{}).empty());
    CHECK(fanout::format_counts(std::map<std::string, std::uint64_t>{
              {"timeout", 1234}, {"nxdomain", 50}}) == "nxdomain 50, timeout 1,234");
    CHECK(fanout::format_counts(std::map<unsigned, std::uint64_t>{{503, 2}, {200, 9998}}) ==
          "200 9,998, 503 2");
}
