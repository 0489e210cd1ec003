#pragma once
// fanout's own error codes and their category.
//
// Errors: these are values, carried in `boost::system::error_code` (and in a
// `fanout::failure`, see outcome.hpp); nothing here throws.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace fanout {

/// Why an item, an attempt or a wait ended without a value.
enum class errc {
    timeout = 1,        ///< an attempt ran past its per-attempt timeout
    deadline_exceeded,  ///< the whole run ran past its global deadline
    cancelled,          ///< cancelled from outside, by fail-fast, or never started
    rate_limited,       ///< the peer or a limiter refused for rate (429 and the like)
    retries_exhausted,  ///< every attempt the retry policy allowed has failed
    exception,          ///< user code threw something that is not a system_error
    invalid_input,      ///< an input could not be parsed or used
    queue_full,         ///< a bounded queue refused work
    line_too_long,      ///< an input line is longer than the reader's bound
    circuit_open,       ///< not tried: the circuit breaker of its key is open
};

/// The category of `fanout::errc`; its name is "fanout".
const boost::system::error_category& category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

/// An error category whose codes have report kinds of their own; the DNS and
/// HTTP categories are ones. error_kind() asks it.
class kinded_category : public boost::system::error_category {
  public:
    /// A short stable name for the code `value` of this category.
    virtual const char* kind(int value) const noexcept = 0;
    /// Whether the code `value` says that trying again cannot help (the input
    /// is invalid, the name does not exist, the certificate is rejected...):
    /// retry_policy::default_retryable refuses such failures. False unless the
    /// category says otherwise.
    virtual bool permanent(int value) const noexcept;
};

/// Whether `ec` is a code of a kinded_category that calls it permanent (see
/// kinded_category::permanent), or fanout::errc::invalid_input.
bool is_permanent(const boost::system::error_code& ec) noexcept;

/// A short stable name for an error code ("timeout", "connection_refused"...)
/// used as the `kind` in reports: a kinded_category names its own; codes of
/// other categories map to their closest kind, or to "error" (the failure's
/// message then says more).
const char* error_kind(const boost::system::error_code& ec) noexcept;

}  // namespace fanout

namespace boost::system {
template <>
struct is_error_code_enum<fanout::errc> : std::true_type {};
}  // namespace boost::system
