// fanout: high fan-out network work from the command line.
#include "commands.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <vector>

namespace {

// A closed stdin, stdout or stderr would be taken by the next descriptor the
// program opens (an eventfd of the loop, a socket) and read or written as if
// it were the input or the output: give each closed one /dev/null first.
void open_closed_standard_descriptors() {
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
        if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        const int opened = ::open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY);
        if (opened >= 0 && opened != fd) {
            ::dup2(opened, fd);
            ::close(opened);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    open_closed_standard_descriptors();
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
