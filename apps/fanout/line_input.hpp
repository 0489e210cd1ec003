#pragma once
// What fanout sweep and fanout dns share about their line input: opening it
// as a line_source, the summary line that says how much was read (and the
// --skip that resumes a stopped run), and the note of a forced exit.
#include <fanout/line_source.hpp>
#include <fanout/outcome.hpp>

#include <CLI/CLI.hpp>
#include <fanout/report/record_output.hpp>
#include <fanout/runtime.hpp>

#include <cstddef>
#include <string>

namespace fanout::cli {

/// The flags of an item-per-line command's input.
struct line_input_settings {
    std::size_t skip = 0;
    std::size_t max_line = 64 * 1024;
};

/// --skip and --max-line.
void add_line_input_flags(CLI::App& app, line_input_settings& settings);

/// "  input  1,234 lines read, to the end" or, for a run stopped before the
/// end, the --skip that continues it: from the first line read and not
/// finished (`first_unfinished`, 0 for none) or else the first not read.
std::string input_summary(const line_source& lines, std::size_t first_unfinished);

/// Whether a record's error means its check did not run to its end.
bool unfinished(const failure& error);

/// What a second signal leaves: the run's output and input, for a note on
/// stderr of the records that were not written ("fanout <command>: ...").
struct forced_exit_note {
    const char* command = "";
    report::record_output* output = nullptr;
    const line_source* lines = nullptr;
    std::size_t records_per_item = 1;

    /// For runtime_options::on_forced_exit: writes the whole records that
    /// are buffered, then the note (async-signal-safe calls only after that).
    void operator()(int signal) const;
};

/// The exit code of a run a signal stopped: 128 + the signal.
inline int interrupted_exit_code(const runtime& rt) {
    return 128 + rt.interrupting_signal();
}

}  // namespace fanout::cli
