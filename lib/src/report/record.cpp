#include <fanout/report/record.hpp>

#include <utility>

namespace fanout::report {

record make_record(std::size_t line, std::string input, std::string kind, const outcome<void>& out,
                   const probe::check_result* checked) {
    record r;
    r.line = line;
    r.input = std::move(input);
    r.kind = std::move(kind);
    r.ok = out.ok();
    if (!out.ok()) r.error = out.error();
    r.attempts = out.attempts;
    r.hedges = out.hedges;
    r.hedge_won = out.hedge_won;
    r.elapsed = out.elapsed;
    if (checked) {
        if (r.ok) r.warning = checked->warning;
        r.latency = checked->latency;
        r.status = checked->status;
        r.address = checked->address;
        r.http_version = checked->http_version;
        r.phases = checked->phases;
        r.certificate_days_left = checked->certificate_days_left;
        r.answers = checked->answers;
    }
    return r;
}

}  // namespace fanout::report
