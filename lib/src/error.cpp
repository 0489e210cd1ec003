#include <fanout/error.hpp>

#include <boost/asio/error.hpp>

#include <string>

namespace fanout {
namespace {

class fanout_category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "fanout"; }

    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::timeout:
                return "timed out";
            case errc::deadline_exceeded:
                return "deadline exceeded";
            case errc::cancelled:
                return "cancelled";
            case errc::rate_limited:
                return "rate limited";
            case errc::retries_exhausted:
                return "retries exhausted";
            case errc::exception:
                return "an exception was thrown";
            case errc::invalid_input:
                return "invalid input";
            case errc::queue_full:
                return "queue full";
            case errc::line_too_long:
                return "line too long";
            case errc::circuit_open:
                return "circuit open: not tried";
        }
        return "unknown fanout error " + std::to_string(value);
    }
};

}  // namespace

const boost::system::error_category& category() noexcept {
    static const fanout_category instance;
    return instance;
}

bool kinded_category::permanent(int) const noexcept {
    return false;
}

bool is_permanent(const boost::system::error_code& ec) noexcept {
    if (ec == errc::invalid_input) return true;
    if (const auto* kinded = dynamic_cast<const kinded_category*>(&ec.category()))
        return kinded->permanent(ec.value());
    return false;
}

const char* error_kind(const boost::system::error_code& ec) noexcept {
    namespace aerr = boost::asio::error;
    if (!ec) return "ok";
    if (ec.category() == category()) {
        switch (static_cast<errc>(ec.value())) {
            case errc::timeout:
                return "timeout";
            case errc::deadline_exceeded:
                return "deadline_exceeded";
            case errc::cancelled:
                return "cancelled";
            case errc::rate_limited:
                return "rate_limited";
            case errc::retries_exhausted:
                return "retries_exhausted";
            case errc::exception:
                return "exception";
            case errc::invalid_input:
                return "invalid_input";
            case errc::queue_full:
                return "queue_full";
            case errc::line_too_long:
                return "line_too_long";
            case errc::circuit_open:
                return "circuit_open";
        }
        return "fanout_error";
    }
    if (const auto* kinded = dynamic_cast<const kinded_category*>(&ec.category()))
        return kinded->kind(ec.value());
    if (ec == aerr::operation_aborted) return "cancelled";
    if (ec == aerr::connection_refused) return "connection_refused";
    if (ec == aerr::connection_reset) return "connection_reset";
    if (ec == aerr::timed_out) return "timeout";
    if (ec == aerr::eof) return "eof";
    if (ec == aerr::host_unreachable || ec == aerr::network_unreachable) return "unreachable";
    if (ec == boost::system::errc::too_many_files_open ||
        ec == boost::system::errc::too_many_files_open_in_system)
        return "too_many_open_files";  // EMFILE, ENFILE: raise ulimit -n
    return "error";
}

}  // namespace fanout

#include <fanout/outcome.hpp>

namespace fanout {

failure failure::from_exception(std::exception_ptr caught) {
    failure f;
    f.exception = caught;
    try {
        std::rethrow_exception(caught);
    } catch (const boost::system::system_error& e) {
        f.code = e.code();
        f.message = e.what();
    } catch (const std::system_error& e) {
        f.code = boost::system::error_code(e.code());
        f.message = e.what();
    } catch (const std::exception& e) {
        f.code = make_error_code(errc::exception);
        f.message = e.what();
    } catch (...) {
        f.code = make_error_code(errc::exception);
        f.message = "an exception of unknown type was thrown";
    }
    return f;
}

void failure::rethrow() const {
    if (exception) std::rethrow_exception(exception);
    throw boost::system::system_error(code, message.empty() ? std::string() : message);
}

}  // namespace fanout
