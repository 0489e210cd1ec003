#pragma once
// The subcommands of the fanout CLI. Each adds itself to the app and
// returns what main runs when it was chosen; the work lives in the library.

#include <CLI/CLI.hpp>

#include <cstddef>
#include <functional>
#include <string_view>

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

/// A --rate flag's check: a finite number of requests per second, above 0
/// (or 0 too, which means no limit, when `zero_means_none`). "nan", "inf"
/// and negative numbers are refused with a message saying what is wanted.
CLI::Validator rate_check(bool zero_means_none);

/// Raises the soft limit of open files to the hard one (as nginx and wrk
/// users expect); main calls it once at start.
void raise_open_files_limit() noexcept;

/// Warns on stderr, before the run, when `needed` open files (connections,
/// sockets in flight) will not fit the limit: the ones past it fail as
/// too_many_open_files.
void warn_if_open_files_short(std::string_view command, std::string_view flag, std::size_t needed);

command add_demo(CLI::App& parent);
command add_dns(CLI::App& parent);
command add_load(CLI::App& parent);
command add_merge(CLI::App& parent);
command add_sweep(CLI::App& parent);

}  // namespace fanout::cli
