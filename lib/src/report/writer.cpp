#include <fanout/report/writer.hpp>

#include <fanout/duration.hpp>
#include <fanout/report/escape.hpp>
#include <fanout/report/json.hpp>

#include <fmt/format.h>

#include <iterator>
#include <mutex>

namespace fanout::report {

namespace {

// A phase's milliseconds, or null when the request did not go through it.
void append_phase(std::string& out, const char* key,
                  const std::optional<std::chrono::nanoseconds>& took) {
    out += key;
    if (took)
        append_milliseconds(out, *took);
    else
        out += "null";
}

class jsonl_writer final : public writer {
  public:
    void append(std::string& out, const record& r) override {
        auto to = std::back_inserter(out);
        fmt::format_to(to, "{{\"line\":{},\"input\":", r.line);
        bool replaced = append_json_string(out, r.input);
        out += ",\"kind\":";
        append_json_string(out, r.kind);
        out += r.ok ? ",\"ok\":true,\"error\":" : ",\"ok\":false,\"error\":";
        if (r.error) {
            out += "{\"kind\":";
            append_json_string(out, r.error->kind());
            out += ",\"message\":";
            replaced |= append_json_string(out, r.error->text());
            out += '}';
        } else {
            out += "null";
        }
        out += ",\"warning\":";
        if (r.warning)
            replaced |= append_json_string(out, *r.warning);
        else
            out += "null";
        fmt::format_to(to, ",\"attempts\":{},", r.attempts);
        if (r.hedges > 0)
            fmt::format_to(to, "\"hedges\":{},\"hedge_won\":{},", r.hedges, r.hedge_won);
        out += "\"elapsed_ms\":";
        append_milliseconds(out, r.elapsed);
        out += ",\"latency_ms\":";
        append_milliseconds(out, r.latency);
        if (r.kind == "http") {
            out += ",\"status\":";
            out += r.status ? fmt::format("{}", *r.status) : "null";
            out += ",\"cert_days_left\":";
            out += r.certificate_days_left ? fmt::format("{}", *r.certificate_days_left) : "null";
            out += ",\"http_version\":";
            if (r.http_version.empty())
                out += "null";
            else
                append_json_string(out, r.http_version);
            out += ",\"address\":";
            if (r.address.empty())
                out += "null";
            else
                replaced |= append_json_string(out, r.address);
            append_phase(out, ",\"dns_ms\":", r.phases.dns);
            append_phase(out, ",\"connect_ms\":", r.phases.connect);
            append_phase(out, ",\"tls_ms\":", r.phases.tls);
            append_phase(out, ",\"first_byte_ms\":", r.phases.first_byte);
        } else if (r.kind == "tcp") {
            out += ",\"address\":";
            if (r.address.empty())
                out += "null";
            else
                replaced |= append_json_string(out, r.address);
        } else if (r.kind == "dns") {
            out += ",\"answers\":[";
            for (std::size_t i = 0; i < r.answers.size(); ++i) {
                if (i > 0) out += ',';
                replaced |= append_json_string(out, r.answers[i]);
            }
            out += ']';
        }
        // Text that was not valid UTF-8 had bytes replaced by U+FFFD.
        if (replaced) out += ",\"invalid_utf8\":true";
        out += "}\n";
    }
};

// The verdict in a few characters, for the table.
const char* verdict(const record& r) {
    if (!r.ok) return "FAIL";
    return r.warning ? "warn" : "ok";
}

class table_writer final : public writer {
  public:
    std::string header() const override {
        return fmt::format("{:>7}  {:<7}  {:<4}  {:>6}  {:>5}  {:>8}  {}\n", "LINE", "KIND", "OK",
                           "STATUS", "TRIES", "TIME", "TARGET  (ERROR OR NOTE)");
    }

    void append(std::string& out, const record& r) override {
        // What came from outside (the line, messages quoting it or a
        // server) is shown with control characters escaped: a terminal
        // would act on them.
        fmt::format_to(std::back_inserter(out), "{:>7}  {:<7}  {:<4}  {:>6}  {:>5}  {:>8}  ",
                       r.line, r.kind, verdict(r),
                       r.status ? fmt::format("{}", *r.status) : std::string("-"), r.attempts,
                       format_duration(r.elapsed));
        append_printable(out, r.input);
        if (r.error) {
            fmt::format_to(std::back_inserter(out), "  ({}: ", r.error->kind());
            append_printable(out, r.error->text());
            out += ')';
        } else if (r.warning) {
            out += "  (";
            append_printable(out, *r.warning);
            out += ')';
        }
        out += '\n';
    }
};

// A field as RFC 4180 quotes it. One a spreadsheet would take for a formula
// (starting with = + - @, a tab or a carriage return) gets a leading ' and
// quotes, as OWASP's advice on CSV injection has it.
void append_csv_field(std::string& out, std::string_view text) {
    const bool formula =
        !text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos;
    if (!formula && text.find_first_of(",\"\r\n") == std::string_view::npos) {
        out += text;
        return;
    }
    out += '"';
    if (formula) out += '\'';
    for (const char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

class csv_writer final : public writer {
  public:
    std::string header() const override {
        return "line,input,kind,ok,error_kind,error_message,warning,attempts,elapsed_ms,"
               "latency_ms,status,address,cert_days_left,answers,http_version,dns_ms,connect_ms,"
               "tls_ms,first_byte_ms\n";
    }

    void append(std::string& out, const record& r) override {
        fmt::format_to(std::back_inserter(out), "{},", r.line);
        append_csv_field(out, r.input);
        out += ',';
        append_csv_field(out, r.kind);
        out += r.ok ? ",true," : ",false,";
        if (r.error) {
            out += r.error->kind();
            out += ',';
            append_csv_field(out, r.error->text());
        } else {
            out += ',';
        }
        out += ',';
        if (r.warning) append_csv_field(out, *r.warning);
        fmt::format_to(std::back_inserter(out), ",{},", r.attempts);
        append_milliseconds(out, r.elapsed);
        out += ',';
        append_milliseconds(out, r.latency);
        out += ',';
        if (r.status) fmt::format_to(std::back_inserter(out), "{}", *r.status);
        out += ',';
        append_csv_field(out, r.address);
        out += ',';
        if (r.certificate_days_left)
            fmt::format_to(std::back_inserter(out), "{}", *r.certificate_days_left);
        out += ',';
        std::string answers;
        for (const auto& answer : r.answers) {
            if (!answers.empty()) answers += "; ";
            answers += answer;
        }
        append_csv_field(out, answers);
        out += ',';
        out += r.http_version;  // "1.1", "2" or nothing
        for (const auto* phase :
             {&r.phases.dns, &r.phases.connect, &r.phases.tls, &r.phases.first_byte}) {
            out += ',';
            if (*phase) append_milliseconds(out, **phase);
        }
        out += '\n';
    }
};

// A label value of the text format: UTF-8 (invalid bytes become U+FFFD),
// with \\, \" and \n its only escapes. Other control characters (CR, NUL,
// ESC...) come out as the visible text \xNN, its backslash escaped, so a
// parser reads them as four characters.
void append_label_value(std::string& out, std::string_view text) {
    std::string valid;
    if (!is_valid_utf8(text)) {
        append_valid_utf8(valid, text);
        text = valid;
    }
    out += '"';
    while (!text.empty()) {
        const auto length = utf8_sequence_length(text);
        const char c = text.front();
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else if (is_control(text, length)) {
            for (std::size_t i = 0; i < length; ++i)
                fmt::format_to(std::back_inserter(out), "\\\\x{:02x}",
                               static_cast<unsigned char>(text[i]));
        } else {
            out.append(text.data(), length);
        }
        text.remove_prefix(length);
    }
    out += '"';
}

class prometheus_writer final : public writer {
  public:
    std::string header() const override {
        return "# HELP fanout_sweep_up Whether the target passed its check (1) or not (0).\n"
               "# TYPE fanout_sweep_up gauge\n";
    }

    void append(std::string& out, const record& r) override {
        std::string labels = "{target=";
        append_label_value(labels, r.input);
        labels += ",kind=";
        append_label_value(labels, r.kind);
        fmt::format_to(std::back_inserter(labels), ",line=\"{}\"}}", r.line);
        fmt::format_to(std::back_inserter(out), "fanout_sweep_up{} {}\n", labels, r.ok ? 1 : 0);
        const auto took = r.latency > std::chrono::nanoseconds::zero() ? r.latency : r.elapsed;
        const auto line = fmt::format("fanout_sweep_latency_seconds{} {:.6f}\n", labels,
                                      std::chrono::duration<double>(took).count());
        std::lock_guard lock(mutex_);
        latencies_ += line;
    }

    std::string footer() override {
        std::lock_guard lock(mutex_);
        return "# HELP fanout_sweep_latency_seconds How long the target's check took.\n"
               "# TYPE fanout_sweep_latency_seconds gauge\n" +
               std::exchange(latencies_, std::string());
    }

  private:
    std::mutex mutex_;
    std::string latencies_;
};

}  // namespace

std::optional<format> parse_format(std::string_view name) {
    if (name == "table") return format::table;
    if (name == "jsonl") return format::jsonl;
    if (name == "csv") return format::csv;
    if (name == "prometheus") return format::prometheus;
    return std::nullopt;
}

std::unique_ptr<writer> make_writer(format f) {
    switch (f) {
        case format::table:
            return std::make_unique<table_writer>();
        case format::jsonl:
            return std::make_unique<jsonl_writer>();
        case format::csv:
            return std::make_unique<csv_writer>();
        case format::prometheus:
            return std::make_unique<prometheus_writer>();
    }
    return std::make_unique<jsonl_writer>();
}

}  // namespace fanout::report
