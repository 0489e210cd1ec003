#include <fanout/report/periodic_flush.hpp>

#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <chrono>
#include <cstdio>

namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

// Bytes that reached the file (not those still in stdio's buffer).
long long file_size(std::FILE* file) {
    struct stat info {};
    REQUIRE(::fstat(::fileno(file), &info) == 0);
    return static_cast<long long>(info.st_size);
}

}  // namespace

TEST_CASE("a periodic flush writes out a buffered stream every interval, until stopped") {
    std::FILE* file = std::tmpfile();
    REQUIRE(file);
    static char buffer[1 << 16];
    std::setvbuf(file, buffer, _IOFBF, sizeof buffer);
    net::io_context io;
    {
        fanout::report::periodic_flush flush(io.get_executor(), file, 20ms);
        std::fputs("first record\n", file);
        CHECK(file_size(file) == 0);  // still buffered
        flush.start();
        flush.start();      // a second start does nothing
        io.run_for(100ms);  // the timer keeps the loop busy: it runs the whole time
        CHECK(file_size(file) == 13);

        std::fputs("second\n", file);
        flush.stop();
        io.restart();
        const auto began = std::chrono::steady_clock::now();
        io.run_for(5s);
        CHECK(io.stopped());  // no timer left: the loop ran out of work
        CHECK(std::chrono::steady_clock::now() - began < 4s);
        CHECK(file_size(file) == 13);  // stopped: nothing flushed by the timer
    }
    CHECK(file_size(file) == 20);  // the destructor flushes once more
    std::fclose(file);
}

TEST_CASE("a periodic flush can call a flush of the caller's own, which sees each failure") {
    net::io_context io;
    int flushes = 0;
    int when_stopped = 0;
    {
        fanout::report::periodic_flush flush(
            io.get_executor(), [&flushes] { ++flushes; }, 20ms);
        flush.start();
        io.run_for(110ms);  // the timer keeps the loop busy: it runs the whole time
        CHECK(flushes >= 2);
        flush.stop();
        when_stopped = flushes;
    }
    CHECK(flushes == when_stopped + 1);  // the destructor flushes once more
}
