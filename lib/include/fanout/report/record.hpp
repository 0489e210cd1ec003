#pragma once
// One line of a sweep's output: what was checked (the input line), the
// verdict, why (an error kind and message), attempts, time, and what the
// check saw (status, HTTP version and phase timings, address, certificate
// days, answers).
//
//   make_record(line, input, kind, outcome, check) -> record
//
// Errors: nothing here throws except std::bad_alloc.

#include <fanout/outcome.hpp>
#include <fanout/probe/check.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fanout::report {

struct record {
    std::size_t line = 0;  ///< in the input, from 1
    std::string input;     ///< the line as read (trimmed)
    std::string kind;      ///< "http", "tcp", "dns"; "invalid" for a line that is no target
    bool ok = false;
    std::optional<failure> error;  ///< set when !ok
    std::optional<std::string> warning;
    unsigned attempts = 0;               ///< 0: never started (cancelled before)
    unsigned hedges = 0;                 ///< hedged twins started (sweep --hedge)
    bool hedge_won = false;              ///< the answer came from a twin
    std::chrono::nanoseconds elapsed{};  ///< from the first attempt, backoff included
    std::chrono::nanoseconds latency{};  ///< of the last attempt that got an answer (0: none)
    std::optional<unsigned> status;
    std::string address;        ///< tcp: connected to; http: answered
    std::string http_version;   ///< http: "1.1" or "2"; empty: no answer
    probe::http_phases phases;  ///< http
    std::optional<std::int64_t> certificate_days_left;
    std::vector<std::string> answers;
};

/// The record of one line. `checked` is what its last attempt saw (nothing
/// when no check ran to an answer); the outcome's failure wins over the
/// check's problem (a timeout, the deadline, a cancellation).
record make_record(std::size_t line, std::string input, std::string kind, const outcome<void>& out,
                   const probe::check_result* checked);

}  // namespace fanout::report
