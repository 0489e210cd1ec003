// fanout: high fan-out network work from the command line.
#include "commands.hpp"
#include "stdio.hpp"

#include <sys/resource.h>
#include <charconv>
#include <cmath>
#include <exception>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

namespace {

// What a command's results on stdout came to: a write that failed (a full
// disk, a closed stdout) turns any exit code into exit_io_error.
int finish(const std::string& name, int code) {
    auto& out = fanout::cli::standard_output();
    out.flush();
    if (!out.failed()) return code;
    fanout::cli::say("fanout {}: {}\n", name, out.failure_text());
    return fanout::cli::exit_io_error;
}

}  // namespace

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
    say("fanout {}: warning: {} needs about {} open files, more than the limit of "
        "{} (ulimit -n, hard limit {}); what does not fit fails as too_many_open_files\n",
        command, flag, needed + reserve, limit.rlim_cur, limit.rlim_max);
}

}  // namespace fanout::cli


int main(int argc, char** argv) {
    fanout::cli::hold_standard_descriptors();
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
        std::cout.flush();
        if (!std::cout) {
            fanout::cli::say("fanout: cannot write to stdout\n");
            return fanout::cli::exit_io_error;
        }
        return code == 0 ? 0 : fanout::cli::exit_usage;
    }
    for (auto& command : commands) {
        if (!command.app->parsed()) continue;
        const auto& name = command.app->get_name();
        try {
            return finish(name, command.run());
        } catch (const std::exception& e) {
            fanout::cli::say("fanout {}: {}\n", name, e.what());
            return finish(name, fanout::cli::exit_usage);
        }
    }
    return fanout::cli::exit_usage;
}
