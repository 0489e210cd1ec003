#pragma once
// What one item ends as: `failure`, `result<T>` and `outcome<T>`.
//
// Errors: an expected per-item failure is a `failure` value (a code, a human
// message, the exception if user code threw one, an optional retry-after
// hint, and the HTTP status when an answer came). `result<T>::value()` on a
// failure rethrows the captured exception, or throws
// `boost::system::system_error` for the code. Nothing else throws.

#include <fanout/error.hpp>

#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace fanout {

/// Why an item or an attempt did not produce a value.
struct failure {
    boost::system::error_code code;
    std::string message;           ///< human text naming what failed; empty: the code's own message
    std::exception_ptr exception;  ///< set when user code threw
    std::optional<std::chrono::milliseconds> retry_after;  ///< the operation's hint, if any
    /// The status of the HTTP answer, when one came (expect_success, a
    /// health check that got an answer); the default retry policy reads it.
    std::optional<unsigned> http_status;

    failure() = default;
    failure(boost::system::error_code c) : code(c) {}  // NOLINT: implicit
    failure(errc c) : failure(make_error_code(c)) {}   // NOLINT: implicit
    failure(boost::system::error_code c, std::string text) : code(c), message(std::move(text)) {}

    /// A failure for a caught exception: a `system_error` keeps its code, any
    /// other exception becomes `errc::exception`; `what()` becomes the message.
    static failure from_exception(std::exception_ptr caught);

    /// The message, or the code's own message when there is none.
    std::string text() const { return message.empty() ? code.message() : message; }

    /// The stable short name of the code, e.g. "timeout" (see error_kind).
    const char* kind() const noexcept { return error_kind(code); }

    /// Rethrows `exception` if set, else throws system_error(code, message).
    [[noreturn]] void rethrow() const;
};

/// A value or a failure.
template <class T>
class result {
  public:
    using value_type = T;

    template <class U = T>
    requires std::is_constructible_v<T, U&&> &&(!std::is_same_v<std::remove_cvref_t<U>, result>)&&(
        !std::is_same_v<std::remove_cvref_t<U>, failure>)result(U&& value)
        : state_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT
    /// A default result is a cancelled one (what an item that never ran ends as).
    result() : state_(std::in_place_index<1>, failure{errc::cancelled}) {}
    result(failure error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
    result(boost::system::error_code code) : result(failure{code}) {}            // NOLINT
    result(errc code) : result(failure{code}) {}                                 // NOLINT

    bool has_value() const noexcept { return state_.index() == 0; }
    bool has_error() const noexcept { return state_.index() == 1; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & {
        check();
        return std::get<0>(state_);
    }
    const T& value() const& {
        check();
        return std::get<0>(state_);
    }
    T&& value() && {
        check();
        return std::get<0>(std::move(state_));
    }
    T& operator*() & noexcept { return *std::get_if<0>(&state_); }
    const T& operator*() const& noexcept { return *std::get_if<0>(&state_); }
    T* operator->() noexcept { return std::get_if<0>(&state_); }
    const T* operator->() const noexcept { return std::get_if<0>(&state_); }

    /// Precondition: has_error().
    const failure& error() const& noexcept { return *std::get_if<1>(&state_); }
    failure& error() & noexcept { return *std::get_if<1>(&state_); }

  private:
    void check() const {
        if (has_error()) error().rethrow();
    }
    std::variant<T, failure> state_;
};

/// `result<void>`: success or a failure.
template <>
class result<void> {
  public:
    using value_type = void;

    result() = default;
    result(failure error) : error_(std::move(error)) {}                // NOLINT
    result(boost::system::error_code code) : result(failure{code}) {}  // NOLINT
    result(errc code) : result(failure{code}) {}                       // NOLINT

    bool has_value() const noexcept { return !error_.has_value(); }
    bool has_error() const noexcept { return error_.has_value(); }
    explicit operator bool() const noexcept { return has_value(); }
    void value() const {
        if (error_) error_->rethrow();
    }
    const failure& error() const& noexcept { return *error_; }
    failure& error() & noexcept { return *error_; }

  private:
    std::optional<failure> error_;
};

/// What an item of a gather ends as: exactly one per input.
template <class T>
struct outcome {
    std::size_t index = 0;  ///< position of the input, from 0
    fanout::result<T> result = failure{errc::cancelled};
    unsigned attempts = 0;               ///< attempts started (0: never started)
    std::chrono::nanoseconds elapsed{};  ///< from first attempt to the end, backoff included
    unsigned hedges = 0;     ///< hedged twins started, over all attempts (see hedge.hpp)
    bool hedge_won = false;  ///< the result came from a hedged twin

    bool ok() const noexcept { return result.has_value(); }
    explicit operator bool() const noexcept { return ok(); }
    /// The value; rethrows the failure when there is none.
    decltype(auto) value() & { return result.value(); }
    decltype(auto) value() const& { return result.value(); }
    decltype(auto) value() && { return std::move(result).value(); }
    /// Precondition: !ok().
    const failure& error() const noexcept { return result.error(); }
};

}  // namespace fanout
