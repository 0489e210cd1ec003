// fanout: high fan-out network work from the command line.
#include "commands.hpp"

#include <fmt/format.h>

#include <exception>
#include <vector>

int main(int argc, char** argv) {
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
