#pragma once
// The subcommands of the fanout CLI. Each adds itself to the app and
// returns what main runs when it was chosen; the work lives in the library.

#include <CLI/CLI.hpp>

#include <functional>

namespace fanout::cli {

/// Exit codes shared by every subcommand.
enum exit_code : int {
    exit_ok = 0,           ///< everything succeeded
    exit_some_failed = 1,  ///< the run finished, some items failed
    exit_usage = 2,        ///< bad flags or input
    exit_io_error = 74,    ///< results could not be written (EX_IOERR): stdout, --json
    exit_interrupted = 130,
};

struct command {
    CLI::App* app;
    std::function<int()> run;
};

command add_demo(CLI::App& parent);
command add_dns(CLI::App& parent);
command add_load(CLI::App& parent);
command add_merge(CLI::App& parent);
command add_sweep(CLI::App& parent);

}  // namespace fanout::cli
