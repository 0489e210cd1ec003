#include <fanout/report/periodic_flush.hpp>

#include <boost/asio/steady_timer.hpp>

namespace fanout::report {

namespace net = boost::asio;

struct periodic_flush::state : std::enable_shared_from_this<state> {
    state(net::any_io_executor executor, std::function<void()> flush_with,
          std::chrono::milliseconds every)
        : timer(std::move(executor)), flush(std::move(flush_with)), interval(every) {}

    void tick() {
        timer.expires_after(interval);
        timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || !self->running) return;
            self->flush();
            self->tick();
        });
    }

    net::steady_timer timer;
    std::function<void()> flush;
    std::chrono::milliseconds interval;
    bool running = false;
};

periodic_flush::periodic_flush(net::any_io_executor executor, std::FILE* out,
                               std::chrono::milliseconds interval)
    : periodic_flush(
          std::move(executor), [out] { std::fflush(out); }, interval) {}

periodic_flush::periodic_flush(net::any_io_executor executor, std::function<void()> flush,
                               std::chrono::milliseconds interval)
    : state_(std::make_shared<state>(std::move(executor), std::move(flush), interval)) {}

periodic_flush::~periodic_flush() {
    stop();
    state_->flush();
}

void periodic_flush::start() {
    if (state_->running) return;
    state_->running = true;
    state_->tick();
}

void periodic_flush::stop() {
    state_->running = false;
    state_->timer.cancel();
}

}  // namespace fanout::report
