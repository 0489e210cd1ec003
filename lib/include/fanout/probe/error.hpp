#pragma once
// The health checks' own error codes (`fanout::probe::errc`, category
// "probe"): a target that answered, but not as expected.
//
// Errors: these are values, carried in a `fanout::failure` whose message
// says what was expected and what came (a failure to connect or to answer
// at all keeps the code of the layer that saw it: system, http, dns).
// invalid_target and certificate_expired are permanent (the default retry
// policy does not retry them); a failure with an HTTP answer carries its
// status in failure::http_status, which decides the retry instead.

#include <fanout/error.hpp>

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace fanout::probe {

enum class errc {
    invalid_target = 1,   ///< the line is not a target (http://, https://, tcp://, dns://)
    unexpected_status,    ///< the HTTP status is not one of the expected
    body_mismatch,        ///< the body does not contain the expected text
    too_slow,             ///< it answered, after more than the latency ceiling
    certificate_expired,  ///< the TLS certificate is past its notAfter
};

/// The category of `probe::errc`; its name is "probe". Report kinds are the
/// enumerator names ("unexpected_status"...).
const boost::system::error_category& category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

}  // namespace fanout::probe

namespace boost::system {
template <>
struct is_error_code_enum<fanout::probe::errc> : std::true_type {};
}  // namespace boost::system
