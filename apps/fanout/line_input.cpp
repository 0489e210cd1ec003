#include "line_input.hpp"

#include <fanout/error.hpp>
#include <fanout/progress.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace fanout::cli {

void add_line_input_flags(CLI::App& app, line_input_settings& settings) {
    app.add_option("--skip", settings.skip,
                   "lines of the input to skip before the first (to resume a stopped run; "
                   "--shard still applies, by line number)")
        ->capture_default_str();
    app.add_option("--max-line", settings.max_line,
                   "longest line in bytes; a longer one is reported as line_too_long")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30));
}

std::string input_summary(const line_source& lines, std::size_t first_unfinished) {
    const auto read = lines.lines_read();
    if (lines.at_end_of_input() && first_unfinished == 0)
        return fmt::format("  input        {:>9}   lines read, to the end\n", format_count(read));
    const auto resume = first_unfinished != 0 ? first_unfinished : read + 1;
    return fmt::format("  input        {:>9}   lines read{}; resume from line {} with --skip {}\n",
                       format_count(read), lines.at_end_of_input() ? ", to the end" : "", resume,
                       resume - 1);
}

bool unfinished(const failure& error) {
    return error.code == errc::cancelled || error.code == errc::deadline_exceeded;
}

void forced_exit_note::operator()(int) const {
    if (output) output->flush_for_exit(std::chrono::seconds(1));
    const std::size_t expected = lines ? lines->items_read() * records_per_item : 0;
    const std::size_t written = output ? output->records_written() : 0;
    char text[256];
    const int n = std::snprintf(text, sizeof text,
                                "fanout %s: stopped at once: %zu records written whole, %zu not "
                                "written\n",
                                command, written, expected > written ? expected - written : 0);
    if (n > 0) [[maybe_unused]]
        auto ignored = ::write(STDERR_FILENO, text, static_cast<std::size_t>(n));
}

}  // namespace fanout::cli
