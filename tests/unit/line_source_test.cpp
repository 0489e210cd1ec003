#include <fanout/line_source.hpp>

#include <fanout/gather.hpp>
#include <fanout/on_each_loop.hpp>
#include <fanout/runtime.hpp>

#include "cli_output.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
using fanout::line;
using fanout::line_source;
using fanout::runtime;
using namespace std::chrono_literals;

namespace {

// A pipe the test writes into, as a slow producer would.
struct test_pipe {
    test_pipe() { REQUIRE(::pipe2(fds, O_CLOEXEC) == 0); }
    ~test_pipe() {
        close_write();
        ::close(fds[0]);
    }
    void write(const std::string& text) const {
        std::size_t done = 0;
        while (done < text.size()) {
            const auto n = ::write(fds[1], text.data() + done, text.size() - done);
            REQUIRE(n > 0);
            done += static_cast<std::size_t>(n);
        }
    }
    void close_write() {
        if (fds[1] >= 0) ::close(fds[1]);
        fds[1] = -1;
    }
    int read_end() const { return fds[0]; }
    int fds[2] = {-1, -1};
};

// Every line of `lines` until the end.
net::awaitable<std::vector<line>> drain(line_source& lines) {
    std::vector<line> out;
    while (auto l = co_await lines.next()) out.push_back(std::move(*l));
    co_return out;
}

}  // namespace

TEST_CASE("a line source hands out each line as a slow producer writes it, not at the end") {
    runtime rt;
    test_pipe input;
    std::atomic<bool> first_seen{false};
    std::atomic<bool> producer_gave_up{false};
    std::thread producer([&] {
        input.write("first\n");
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (!first_seen && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(5ms);
        producer_gave_up = !first_seen;
        input.write("second\n");
        input.close_write();
    });
    line_source lines(rt.executor(), rt.blocking_pool(), input.read_end());
    const auto got = rt.run([&]() -> net::awaitable<std::vector<std::string>> {
        std::vector<std::string> texts;
        while (auto l = co_await lines.next()) {
            texts.push_back(l->text);
            first_seen = true;
        }
        co_return texts;
    }());
    producer.join();
    CHECK_FALSE(producer_gave_up);
    CHECK(got == std::vector<std::string>{"first", "second"});
    CHECK(lines.lines_read() == 2);
    CHECK(lines.at_end_of_input());
    CHECK_FALSE(lines.error());
}

TEST_CASE("a timer of the loop fires on time while a line source waits on a stalled pipe") {
    runtime rt;
    test_pipe input;
    line_source lines(rt.executor(), rt.blocking_pool(), input.read_end());
    const auto started = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::duration> timer_fired_after;
    rt.run([&]() -> net::awaitable<void> {
        // The reader starts waiting; a timer on the same loop must still run.
        net::co_spawn(co_await net::this_coro::executor, drain(lines), net::detached);
        net::steady_timer timer(co_await net::this_coro::executor, 100ms);
        co_await timer.async_wait(net::use_awaitable);
        timer_fired_after = std::chrono::steady_clock::now() - started;
        lines.stop();
    }());
    REQUIRE(timer_fired_after);
    CHECK(*timer_fired_after < 2s);
    CHECK_FALSE(lines.at_end_of_input());
}

TEST_CASE(
    "a line longer than the bound comes out too long, with its number, and the next is whole") {
    runtime rt;
    test_pipe input;
    std::thread producer([&] {
        input.write(std::string(3 * 1024 * 1024, 'x') + "\nafter\n" + std::string(5000, 'y'));
        input.close_write();
    });
    line_source lines(rt.executor(), rt.blocking_pool(), input.read_end(),
                      {.max_line_length = 4096});
    const auto got = rt.run(drain(lines));
    producer.join();
    REQUIRE(got.size() == 3);
    CHECK(got[0].number == 1);
    CHECK(got[0].too_long);
    CHECK(got[0].text.size() <= 4096);
    CHECK(got[1].number == 2);
    CHECK_FALSE(got[1].too_long);
    CHECK(got[1].text == "after");
    CHECK(got[2].number == 3);  // the last line, without a newline, is too long too
    CHECK(got[2].too_long);
}

TEST_CASE("a line source of a file skips lines, drops blanks and comments, and keeps numbers") {
    runtime rt;
    fanout::test::temp_file file("one\n# comment\n\nfour  # a note\n  five\r\nsix\n");
    const int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    line_source lines(rt.executor(), rt.blocking_pool(), fd, {.skip = 1, .items_only = true});
    const auto got = rt.run(drain(lines));
    ::close(fd);
    REQUIRE(got.size() == 3);
    CHECK(got[0].number == 4);
    CHECK(got[0].text == "four");
    CHECK(got[1].number == 5);
    CHECK(got[1].text == "five");
    CHECK(got[2].number == 6);
    CHECK(lines.lines_read() == 6);
    CHECK(lines.items_read() == 3);
    CHECK(lines.at_end_of_input());
}

TEST_CASE("a stopped line source hands out what it read ahead, then ends, the rest unread") {
    runtime rt;
    test_pipe input;
    std::string text;
    for (int i = 1; i <= 50; ++i) text += "line" + std::to_string(i) + "\n";
    input.write(text);  // and the pipe stays open: a stalled producer
    line_source lines(rt.executor(), rt.blocking_pool(), input.read_end(), {.read_ahead = 10});
    const auto got = rt.run([&]() -> net::awaitable<std::vector<line>> {
        std::vector<line> out;
        out.push_back(*co_await lines.next());
        // Let the reader fill its read-ahead (it cannot go further).
        net::steady_timer timer(co_await net::this_coro::executor, 100ms);
        co_await timer.async_wait(net::use_awaitable);
        lines.stop();
        while (auto l = co_await lines.next()) out.push_back(std::move(*l));
        co_return out;
    }());
    // One handed out, up to ten read ahead (and one more the reader holds, unread).
    CHECK(got.size() >= 2);
    CHECK(got.size() <= 11);
    CHECK(lines.lines_read() == got.size());
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i].number == i + 1);
    CHECK_FALSE(lines.at_end_of_input());
}

TEST_CASE("batches taken from two loops at once hand out each line of a file once, in order") {
    runtime rt({.loop_threads = 2});
    // Names long enough to live outside a string's own room, so that the
    // strings given back are reused; comments and blanks between them.
    std::string text;
    constexpr int count = 20000;
    for (int i = 1; i <= count; ++i) {
        text += "name-" + std::to_string(i) + ".long-enough.example\n";
        if (i % 7 == 0) text += "# a comment\n\n";
    }
    fanout::test::temp_file file(text);
    const int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    line_source lines(rt.executor(0), rt.blocking_pool(), fd,
                      {.read_ahead = 100, .skip = 2, .items_only = true});
    const auto got = rt.run(
        fanout::on_each_loop(rt, 2, [&](std::size_t loop) -> net::awaitable<std::vector<line>> {
            std::vector<line> mine;
            std::vector<line> batch;  // the same vector each time: its strings go back
            for (;;) {
                co_await lines.next_batch(batch, loop == 0 ? 37 : 5);
                if (batch.empty()) break;
                CHECK(batch.size() <= (loop == 0 ? 37u : 5u));
                for (const auto& l : batch) mine.push_back(l);
            }
            co_return mine;
        }));
    ::close(fd);
    std::vector<int> seen(count + 1, 0);
    for (const auto& mine : got) {
        for (std::size_t i = 1; i < mine.size(); ++i) CHECK(mine[i - 1].number < mine[i].number);
        for (const auto& l : mine) {
            const auto name = std::stoi(l.text.substr(5));
            REQUIRE(name >= 1);
            REQUIRE(name <= count);
            CHECK(l.text == "name-" + std::to_string(name) + ".long-enough.example");
            ++seen[static_cast<std::size_t>(name)];
        }
    }
    CHECK(seen[1] == 0);  // skipped
    CHECK(seen[2] == 0);
    for (int i = 3; i <= count; ++i) CHECK(seen[static_cast<std::size_t>(i)] == 1);
    CHECK(lines.items_read() == count - 2);
    CHECK(lines.at_end_of_input());
}

TEST_CASE("a stopped line source's batches hand out what it read ahead, then end") {
    runtime rt;
    test_pipe input;
    std::string text;
    for (int i = 1; i <= 50; ++i) text += "line" + std::to_string(i) + "\n";
    input.write(text);  // and the pipe stays open: a stalled producer
    line_source lines(rt.executor(), rt.blocking_pool(), input.read_end(), {.read_ahead = 10});
    const auto got = rt.run([&]() -> net::awaitable<std::vector<line>> {
        std::vector<line> out;
        std::vector<line> batch;
        co_await lines.next_batch(batch, 3);
        for (auto& l : batch) out.push_back(l);
        // Let the reader fill its read-ahead (it cannot go further).
        net::steady_timer timer(co_await net::this_coro::executor, 100ms);
        co_await timer.async_wait(net::use_awaitable);
        lines.stop();
        for (;;) {
            co_await lines.next_batch(batch, 4);
            if (batch.empty()) break;
            for (auto& l : batch) out.push_back(l);
        }
        co_return out;
    }());
    // At most the read-ahead and what the first batch took from it.
    CHECK(got.size() >= 1);
    CHECK(got.size() <= 13);
    CHECK(lines.lines_read() == got.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].number == i + 1);
        CHECK(got[i].text == "line" + std::to_string(i + 1));
    }
    CHECK_FALSE(lines.at_end_of_input());
}

TEST_CASE("a gather over a line source ends at its deadline while the input is stalled") {
    runtime rt;
    test_pipe input;
    input.write("a\nb\n");
    line_source lines(rt.executor(), rt.blocking_pool(), input.read_end());
    std::vector<std::string> seen;
    const auto started = std::chrono::steady_clock::now();
    fanout::gather_options options{.limit = 4};
    options.deadline = started + 300ms;
    const auto summary = rt.run(fanout::gather_each(
        lines, [](line& l) -> net::awaitable<std::size_t> { co_return l.text.size(); },
        [&](line& l, fanout::outcome<std::size_t>&& out) {
            CHECK(out.ok());
            seen.push_back(l.text);
        },
        options));
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(took < 3s);
    CHECK(summary.stopped == fanout::stop_reason::deadline);
    CHECK(seen == std::vector<std::string>{"a", "b"});
    CHECK(lines.lines_read() == 2);
}

TEST_CASE("the wait for a slow input counts neither in an item's timeout nor in its elapsed time") {
    runtime rt;
    test_pipe input;
    std::thread producer([&] {
        for (int i = 0; i < 4; ++i) {
            input.write("item" + std::to_string(i) + "\n");
            std::this_thread::sleep_for(250ms);  // longer than the timeout
        }
        input.close_write();
    });
    line_source lines(rt.executor(), rt.blocking_pool(), input.read_end());
    std::vector<fanout::outcome<int>> outcomes;
    fanout::gather_options options{.limit = 2, .per_attempt_timeout = 100ms};
    rt.run(fanout::gather_each(
        lines, [](line&) -> net::awaitable<int> { co_return 1; },
        [&](fanout::outcome<int>&& out) { outcomes.push_back(std::move(out)); }, options));
    producer.join();
    REQUIRE(outcomes.size() == 4);
    for (const auto& out : outcomes) {
        CHECK(out.ok());
        CHECK(out.elapsed < 100ms);
    }
}
