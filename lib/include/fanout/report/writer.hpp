#pragma once
// Writers of sweep records: a table for a terminal, JSON lines, CSV, and
// Prometheus text (one gauge per target for up, one for latency).
//
//   make_writer(format) -> std::unique_ptr<writer>
//   header(), then append(out, record) per record, then footer()
//
// A record's text ends with a newline, so a caller writes each with one
// fwrite and records stay whole when loops write at once.
// JSON lines carry: line, input, kind, ok, error (null or {kind, message}),
// warning, attempts, elapsed_ms, latency_ms, then by kind: status,
// cert_days_left, http_version, address, dns_ms, connect_ms, tls_ms and
// first_byte_ms (http; null when unknown or, for a phase, not gone
// through), address (tcp), answers (dns), and
// "invalid_utf8":true when some text was not valid UTF-8 (each bad byte
// written as U+FFFD; see escape.hpp).
// Text from outside is made safe for each format: the table shows control
// characters as \xNN; Prometheus label values are UTF-8 with \\, \" and \n
// escaped and other control characters as the text \xNN; CSV quotes as
// RFC 4180 and puts a ' before a cell starting with = + - @ (a formula).
// Memory: the Prometheus writer keeps each latency sample until footer()
// (the text format wants a metric's samples together); the others hold
// nothing between records.
// Errors: nothing here throws except std::bad_alloc. Threads: append() may
// be called from several threads at once.

#include <fanout/report/record.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace fanout::report {

enum class format { table, jsonl, csv, prometheus };

/// "table", "jsonl", "csv", "prometheus"; nothing for anything else.
std::optional<format> parse_format(std::string_view name);

class writer {
  public:
    virtual ~writer() = default;
    /// Text before the first record (column names), possibly empty.
    virtual std::string header() const { return {}; }
    /// Appends one record's text, newline included.
    virtual void append(std::string& out, const record& r) = 0;
    /// Text after the last record, possibly empty.
    virtual std::string footer() { return {}; }
};

std::unique_ptr<writer> make_writer(format f);

}  // namespace fanout::report
