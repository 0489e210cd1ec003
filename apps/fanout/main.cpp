// fanout: high fan-out network work from the command line.
#include "commands.hpp"

#include <fmt/format.h>

#include <sys/resource.h>
#include <charconv>
#include <cmath>
#include <exception>
#include <string>
#include <system_error>
#include <vector>

namespace fanout::cli {

CLI::Validator rate_check(bool zero_means_none) {
    return CLI::Validator(
        [zero_means_none](std::string& text) -> std::string {
            double value = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec == std::errc() && end == text.data() + text.size() && std::isfinite(value) &&
                (value > 0 || (value == 0 && zero_means_none)))
                return {};
            return fmt::format("'{}' is not a rate: give a number per second{}", text,
                               zero_means_none ? ", 0 or more (0: no limit)" : ", more than 0");
        },
        zero_means_none ? "RATE>=0" : "RATE>0");
}

void raise_open_files_limit() noexcept {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);  // if refused, the warning below still tells
}

void warn_if_open_files_short(std::string_view command, std::string_view flag, std::size_t needed) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
    // Beside the connections: stdio, the event loops, timers, resolvers.
    constexpr std::size_t reserve = 32;
    if (needed + reserve <= limit.rlim_cur) return;
    try {
        fmt::print(stderr,
                   "fanout {}: warning: {} needs about {} open files, more than the limit of "
                   "{} (ulimit -n, hard limit {}); what does not fit fails as "
                   "too_many_open_files\n",
                   command, flag, needed + reserve, limit.rlim_cur, limit.rlim_max);
    } catch (...) {  // a diagnostic never stops the run
    }
}

}  // namespace fanout::cli

int main(int argc, char** argv) {
    fanout::cli::raise_open_files_limit();
    CLI::App app{
        "fanout: many network operations at once, each bounded, timed out, retried "
        "and accounted for"};
    app.require_subcommand(1);
    app.failure_message(CLI::FailureMessage::help);

    std::vector<fanout::cli::command> commands{
        fanout::cli::add_demo(app), fanout::cli::add_dns(app), fanout::cli::add_load(app),
        fanout::cli::add_merge(app), fanout::cli::add_sweep(app)};

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : fanout::cli::exit_usage;
    }
    try {
        for (auto& command : commands)
            if (command.app->parsed()) return command.run();
    } catch (const std::exception& e) {
        fmt::print(stderr, "fanout: {}\n", e.what());
        return fanout::cli::exit_usage;
    }
    return fanout::cli::exit_usage;
}
