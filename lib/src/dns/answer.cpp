#include "dns/answer.hpp"

#include "dns/message.hpp"

#include <fanout/dns/error.hpp>
#include <fanout/duration.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace fanout::dns::detail {

failure query_failure(const std::string& name, record_type type, boost::system::error_code code,
                      std::string_view detail) {
    auto message = fmt::format("{} {}: {}", name, to_string(type), code.message());
    if (!detail.empty()) message += fmt::format(" ({})", detail);
    return {code, std::move(message)};
}

boost::system::error_code code_of_rcode(std::uint8_t code) {
    switch (static_cast<rcode>(code)) {
        case rcode::noerror:
            return {};
        case rcode::formerr:
            return make_error_code(errc::formerr);
        case rcode::servfail:
            return make_error_code(errc::servfail);
        case rcode::nxdomain:
            return make_error_code(errc::nxdomain);
        case rcode::notimp:
            return make_error_code(errc::notimp);
        case rcode::refused:
            return make_error_code(errc::refused);
    }
    return make_error_code(errc::resolver_failure);
}

result<answer> answer_of(const std::string& name, record_type type,
                         std::span<const unsigned char> message, std::vector<record> reuse) {
    auto parsed = parse_response(message, std::move(reuse));
    if (!parsed) {
        auto error = std::move(parsed.error());
        error.message = fmt::format("{} {}: {}", name, to_string(type), error.message);
        return error;
    }
    if (const auto code = code_of_rcode(parsed->rcode))
        return query_failure(name, type, code,
                             code == errc::resolver_failure ? to_string(rcode{parsed->rcode}) : "");
    // The records kept in place: the parsed vector becomes the answer's.
    answer out;
    out.records = std::move(parsed->answers);
    std::erase_if(out.records, [type](const record& rr) {
        return rr.type != type && rr.type != record_type::cname;
    });
    if (std::none_of(out.records.begin(), out.records.end(),
                     [type](const record& rr) { return rr.type == type; }))
        return query_failure(name, type, make_error_code(errc::no_data));
    return out;
}

std::string timeout_detail(unsigned tries, std::chrono::milliseconds timeout) {
    return fmt::format("{} {} per server: {} for the first round, twice as long for each later one",
                       tries, tries == 1 ? "try" : "tries", format_duration(timeout));
}

}  // namespace fanout::dns::detail
