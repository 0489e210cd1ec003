#include <fanout/report/record_output.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using fanout::report::record_output;

namespace {

// Everything readable from `fd` now.
std::string read_all(int fd) {
    std::string out;
    char buffer[65536];
    for (;;) {
        const auto n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0) break;
        out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
}

}  // namespace

TEST_CASE("records written by four threads at once reach the descriptor whole, each once") {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    std::string got;
    std::thread reader([&] { got = read_all(fds[0]); });
    {
        record_output out(fds[1], 1000);
        std::vector<std::thread> writers;
        for (int t = 0; t < 4; ++t)
            writers.emplace_back([&out, t] {
                for (int i = 0; i < 2000; ++i)
                    out.write("record " + std::to_string(t) + " " + std::to_string(i) + " " +
                              std::string(static_cast<std::size_t>(i % 97), '.') + "\n");
            });
        for (auto& w : writers) w.join();
        out.flush();
        CHECK(out.records_written() == 8000);
    }
    ::close(fds[1]);
    reader.join();
    ::close(fds[0]);
    std::istringstream lines(got);
    std::string line;
    std::size_t count = 0;
    while (std::getline(lines, line)) {
        ++count;
        REQUIRE(line.rfind("record ", 0) == 0);
    }
    CHECK(count == 8000);
    CHECK(got.back() == '\n');
}

TEST_CASE("after flush_for_exit the buffered records are out and nothing more is written") {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    record_output out(fds[1]);
    out.write("header\n", 0);
    out.write("one\n");
    out.write("two\n");
    CHECK(out.records_written() == 0);  // still buffered
    CHECK(out.flush_for_exit(std::chrono::milliseconds(100)));
    CHECK(out.records_written() == 2);
    out.write("three\n");
    out.flush();
    CHECK(out.records_written() == 2);
    CHECK(read_all(fds[0]) == "header\none\ntwo\n");
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("a failed write is kept as the output's error, and its records are not counted") {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    ::close(fds[0]);
    ::signal(SIGPIPE, SIG_IGN);
    record_output out(fds[1]);
    out.write("lost\n");
    out.flush();
    CHECK(out.error() == std::errc::broken_pipe);
    CHECK(out.records_written() == 0);
    ::close(fds[1]);
}
