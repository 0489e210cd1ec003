#pragma once
// report::html_page: what a sweep's HTML page shows, kept in bounded memory
// while records stream by, and the page itself (one self-contained file:
// inline style, SVG and a small inline script that sorts the table).
//
// The page shows the counts (healthy, unhealthy by kind, invalid), a bar
// chart of the unhealthy by kind, the latency distribution of the healthy
// (percentile spectrum), certificate days left of https targets (soonest
// first), and one table: the unhealthy targets first, then the slowest
// healthy ones. Memory stays bounded whatever the sweep's size: at most
// `max_unhealthy` unhealthy rows (the first seen), the `max_slowest` slowest
// healthy and the `max_certificates` soonest to expire are kept, and the
// page says how many it left out.
//
// Errors: only std::bad_alloc. Threads: one per loop, merged with +=.

#include <fanout/report/record.hpp>
#include <fanout/report/summary.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fanout::report {

class html_page {
  public:
    struct limits {
        std::size_t max_unhealthy = 10'000;
        std::size_t max_slowest = 100;
        std::size_t max_certificates = 100;
    };

    html_page() = default;
    explicit html_page(limits keep) : keep_(keep) {}

    /// Keeps what the page needs of `r` (call with every record).
    void add(const record& r);
    /// Adds what `other` kept (the limits of *this apply).
    html_page& operator+=(const html_page& other);

    /// The page: `tally` is the sweep's summary, `command` its command line.
    std::string render(const summary& tally, const std::string& command) const;

  private:
    struct row {
        std::size_t line = 0;
        std::string input;
        std::string kind;  ///< "http/2", "http/1.1" when an HTTP answer said its version
        bool ok = false;
        std::string error_kind;
        std::string message;
        std::optional<unsigned> status;
        std::chrono::nanoseconds latency{};
        unsigned attempts = 0;
    };
    struct certificate {
        std::size_t line = 0;
        std::string input;
        std::int64_t days_left = 0;
    };
    static row row_of(const record& r);
    void keep_slowest(row r);
    void keep_certificate(certificate c);

    limits keep_;
    std::vector<row> unhealthy_;
    std::uint64_t unhealthy_left_out_ = 0;
    std::vector<row> slowest_;  // a min-heap by latency
    std::uint64_t healthy_seen_ = 0;
    std::vector<certificate> certificates_;  // a max-heap by days left
    std::uint64_t certificates_seen_ = 0;
};

}  // namespace fanout::report
