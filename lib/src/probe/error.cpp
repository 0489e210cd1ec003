#include <fanout/probe/error.hpp>

#include <string>

namespace fanout::probe {
namespace {

class probe_category final : public kinded_category {
  public:
    const char* name() const noexcept override { return "probe"; }

    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::invalid_target:
                return "not a target (http://, https://, tcp://host:port or dns://name)";
            case errc::unexpected_status:
                return "unexpected HTTP status";
            case errc::body_mismatch:
                return "the body does not contain the expected text";
            case errc::too_slow:
                return "slower than the latency ceiling";
            case errc::certificate_expired:
                return "the TLS certificate has expired";
        }
        return "unknown probe error " + std::to_string(value);
    }

    const char* kind(int value) const noexcept override {
        switch (static_cast<errc>(value)) {
            case errc::invalid_target:
                return "invalid_target";
            case errc::unexpected_status:
                return "unexpected_status";
            case errc::body_mismatch:
                return "body_mismatch";
            case errc::too_slow:
                return "too_slow";
            case errc::certificate_expired:
                return "certificate_expired";
        }
        return "probe_error";
    }

    // A line that is no target, and a certificate past its end, stay so.
    bool permanent(int value) const noexcept override {
        return static_cast<errc>(value) == errc::invalid_target ||
               static_cast<errc>(value) == errc::certificate_expired;
    }
};

}  // namespace

const boost::system::error_category& category() noexcept {
    static const probe_category instance;
    return instance;
}

}  // namespace fanout::probe
