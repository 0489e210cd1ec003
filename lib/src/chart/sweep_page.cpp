#include <fanout/report/html_page.hpp>

#include "chart/svg.hpp"

#include <fanout/duration.hpp>
#include <fanout/progress.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

namespace fanout::report {
namespace {

using chart::escape;

// Sorts the table by the column clicked (numbers by data-value), and marks
// the table as ready so that a test sees the script ran.
constexpr const char* sort_script = R"(<script>
(function () {
  var table = document.getElementById('targets');
  if (!table) return;
  var heads = table.querySelectorAll('th[data-sort]');
  heads.forEach(function (th, column) {
    var ascending = true;
    th.addEventListener('click', function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var numeric = th.getAttribute('data-sort') === 'number';
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute('data-value') || a.cells[column].textContent;
        var y = b.cells[column].getAttribute('data-value') || b.cells[column].textContent;
        var order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        return ascending ? order : -order;
      });
      ascending = !ascending;
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  table.setAttribute('data-sortable', 'ready');
})();
</script>
)";

double in_ms(std::chrono::nanoseconds d) {
    return static_cast<double>(d.count()) / 1e6;
}

bool slower(const auto& a, const auto& b) {
    return a.latency > b.latency;  // for a min-heap by latency
}

bool sooner(const auto& a, const auto& b) {
    return a.days_left < b.days_left;  // for a max-heap by days left
}

std::string spectrum(const histogram& h) {
    chart::line_chart c;
    c.id = "latency";
    c.title = "Latency of the healthy targets, by percentile";
    c.x_label = "percentile";
    c.y_label = "latency";
    c.log_x = true;
    c.log_y = true;
    c.y_unit = chart::unit::milliseconds;
    chart::series line{"healthy", {}, 0};
    const double last = std::max(10.0, static_cast<double>(h.count()));
    if (h.count() > 0)
        for (int i = 0; i <= static_cast<int>(std::ceil(std::log10(last) * 40)); ++i) {
            const double x = std::min(std::pow(10.0, i / 40.0), last);
            line.points.push_back({x, in_ms(h.percentile(100.0 * (1.0 - 1.0 / x)))});
        }
    c.lines.push_back(std::move(line));
    chart::axis_ticks ticks{1, 10, {}};
    std::string nines;
    for (int decade = 0; decade <= 6; ++decade) {
        const double x = std::pow(10.0, decade);
        ticks.high = x;
        ticks.ticks.push_back({x, decade == 0 ? "0%" : decade == 1 ? "90%" : "99" + nines + "%"});
        if (decade >= 2) nines = nines.empty() ? ".9" : nines + "9";
        if (x >= last) break;
    }
    c.x_ticks = std::move(ticks);
    return chart::render(c);
}

}  // namespace

html_page::row html_page::row_of(const record& r) {
    row out;
    out.line = r.line;
    out.input = r.input;
    out.kind = r.http_version.empty() ? r.kind : r.kind + "/" + r.http_version;
    out.ok = r.ok;
    if (r.error) {
        out.error_kind = r.error->kind();
        out.message = r.error->text();
    }
    out.status = r.status;
    out.latency = r.latency > std::chrono::nanoseconds::zero() ? r.latency : r.elapsed;
    out.attempts = r.attempts;
    return out;
}

void html_page::keep_slowest(row r) {
    if (keep_.max_slowest == 0) return;
    if (slowest_.size() < keep_.max_slowest) {
        slowest_.push_back(std::move(r));
        std::push_heap(slowest_.begin(), slowest_.end(), slower<row, row>);
    } else if (r.latency > slowest_.front().latency) {
        std::pop_heap(slowest_.begin(), slowest_.end(), slower<row, row>);
        slowest_.back() = std::move(r);
        std::push_heap(slowest_.begin(), slowest_.end(), slower<row, row>);
    }
}

void html_page::keep_certificate(certificate c) {
    if (keep_.max_certificates == 0) return;
    if (certificates_.size() < keep_.max_certificates) {
        certificates_.push_back(std::move(c));
        std::push_heap(certificates_.begin(), certificates_.end(),
                       sooner<certificate, certificate>);
    } else if (c.days_left < certificates_.front().days_left) {
        std::pop_heap(certificates_.begin(), certificates_.end(), sooner<certificate, certificate>);
        certificates_.back() = std::move(c);
        std::push_heap(certificates_.begin(), certificates_.end(),
                       sooner<certificate, certificate>);
    }
}

void html_page::add(const record& r) {
    if (r.certificate_days_left) {
        ++certificates_seen_;
        keep_certificate({r.line, r.input, *r.certificate_days_left});
    }
    if (r.ok) {
        ++healthy_seen_;
        keep_slowest(row_of(r));
    } else if (unhealthy_.size() < keep_.max_unhealthy) {
        unhealthy_.push_back(row_of(r));
    } else {
        ++unhealthy_left_out_;
    }
}

html_page& html_page::operator+=(const html_page& other) {
    for (const auto& r : other.unhealthy_) {
        if (unhealthy_.size() < keep_.max_unhealthy)
            unhealthy_.push_back(r);
        else
            ++unhealthy_left_out_;
    }
    unhealthy_left_out_ += other.unhealthy_left_out_;
    for (const auto& r : other.slowest_) keep_slowest(r);
    healthy_seen_ += other.healthy_seen_;
    for (const auto& c : other.certificates_) keep_certificate(c);
    certificates_seen_ += other.certificates_seen_;
    return *this;
}

std::string html_page::render(const summary& tally, const std::string& command) const {
    std::string out = chart::page_start("fanout sweep report");
    auto to = std::back_inserter(out);
    out += "<h1>fanout sweep report</h1>\n<dl>\n";
    if (!command.empty()) fmt::format_to(to, "<dt>command</dt><dd>{}</dd>\n", escape(command));
    out += "</dl>\n<table class=\"summary\"><tr><th>targets</th><th class=\"n\">count</th></tr>\n";
    const auto count_row = [&](std::string_view name, std::uint64_t n) {
        fmt::format_to(to, "<tr><td>{}</td><td class=\"n\">{}</td></tr>\n", escape(name),
                       format_count(n));
    };
    count_row("all", tally.total());
    count_row("healthy", tally.healthy());
    count_row("unhealthy", tally.unhealthy());
    for (const auto& [kind, n] : tally.unhealthy_by_kind()) count_row("  unhealthy: " + kind, n);
    if (tally.invalid() > 0) count_row("invalid lines", tally.invalid());
    if (tally.warnings() > 0) count_row("with warnings", tally.warnings());
    if (tally.not_started() > 0) count_row("not started", tally.not_started());
    out += "</table>\n";

    chart::bar_chart kinds;
    kinds.id = "unhealthy";
    kinds.title = "Unhealthy targets by kind";
    kinds.y_label = "targets";
    for (const auto& [kind, n] : tally.unhealthy_by_kind())
        kinds.bars.push_back({kind, static_cast<double>(n)});
    out += chart::render(kinds);
    out += spectrum(tally.latency());

    auto certificates = certificates_;
    std::sort(certificates.begin(), certificates.end(),
              [](const certificate& a, const certificate& b) { return a.days_left < b.days_left; });
    out += "<h2>Certificates</h2>\n";
    if (certificates.empty()) {
        out += "<p class=\"note\">No https target answered with a certificate.</p>\n";
    } else {
        fmt::format_to(to,
                       "<p class=\"note\">The {} soonest to expire of {} https targets.</p>\n"
                       "<table id=\"certificates\"><tr><th>line</th><th>target</th>"
                       "<th class=\"n\">days left</th></tr>\n",
                       format_count(certificates.size()), format_count(certificates_seen_));
        for (const auto& c : certificates)
            fmt::format_to(to, "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>\n", c.line,
                           escape(c.input), c.days_left);
        out += "</table>\n";
    }

    auto slowest = slowest_;
    std::sort(slowest.begin(), slowest.end(),
              [](const row& a, const row& b) { return a.latency > b.latency; });
    out += "<h2>Targets</h2>\n";
    fmt::format_to(to,
                   "<p class=\"note\">The page keeps {} unhealthy target{} (first seen){} and the "
                   "{} slowest of {} healthy ones, not every row; the sweep's own output has "
                   "them all. Click a column to sort.</p>\n",
                   format_count(unhealthy_.size()), unhealthy_.size() == 1 ? "" : "s",
                   unhealthy_left_out_ > 0
                       ? fmt::format(" ({} more left out)", format_count(unhealthy_left_out_))
                       : std::string(),
                   format_count(slowest.size()), format_count(healthy_seen_));
    out +=
        "<table id=\"targets\"><thead><tr><th data-sort=\"number\">line</th>"
        "<th data-sort=\"text\">target</th><th data-sort=\"text\">kind</th>"
        "<th data-sort=\"text\">result</th><th data-sort=\"number\" class=\"n\">status</th>"
        "<th data-sort=\"number\" class=\"n\">latency</th>"
        "<th data-sort=\"number\" class=\"n\">attempts</th><th>message</th></tr></thead>"
        "<tbody>\n";
    const auto table_row = [&](const row& r) {
        fmt::format_to(
            to,
            "<tr class=\"{}\"><td data-value=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td class=\"n\" data-value=\"{}\">{}</td><td class=\"n\" data-value=\"{}\">{}</td>"
            "<td class=\"n\">{}</td><td>{}</td></tr>\n",
            r.ok ? "healthy" : "unhealthy", r.line, r.line, escape(r.input), escape(r.kind),
            r.ok ? "healthy" : escape(r.error_kind), r.status.value_or(0),
            r.status ? std::to_string(*r.status) : "", r.latency.count(),
            format_duration(r.latency), r.attempts, escape(r.message));
    };
    for (const auto& r : unhealthy_) table_row(r);
    for (const auto& r : slowest) table_row(r);
    out += "</tbody></table>\n";
    out += sort_script;
    out += chart::page_end();
    return out;
}

}  // namespace fanout::report
