// fanout: high fan-out network work from the command line.
#include "commands.hpp"
#include "stdio.hpp"

#include <exception>
#include <iostream>
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

int main(int argc, char** argv) {
    fanout::cli::hold_standard_descriptors();
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
