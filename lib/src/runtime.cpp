#include <fanout/runtime.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <unistd.h>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace fanout {

namespace net = boost::asio;

struct runtime::impl {
    runtime_options options;
    std::vector<std::unique_ptr<net::io_context>> loops;
    // Pools after loops: they stop (and post their last completions) before
    // the loops are destroyed.
    std::once_flag blocking_once;
    std::once_flag cpu_once;
    std::unique_ptr<thread_pool> blocking;
    std::unique_ptr<thread_pool> cpu;

    std::atomic<bool> running{false};
    std::atomic<std::uint64_t> run_number{0};  // a late cancel() must not hit the next run
    std::atomic<bool> interrupted{false};
    std::atomic<int> interrupting_signal{0};
    net::cancellation_signal main_cancel;  // used on loop 0 only
    std::optional<net::signal_set> signals;

    void wait_for_signal() {
        signals->async_wait([this](const boost::system::error_code& ec, int signal) {
            if (ec) return;  // cancelled: main has ended
            if (interrupted.exchange(true)) {
                static constexpr char message[] = "\nfanout: interrupted twice, exiting now\n";
                [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
                if (options.on_forced_exit) options.on_forced_exit(signal);
                std::_Exit(128 + signal);
            }
            interrupting_signal = signal;
            main_cancel.emit(net::cancellation_type::terminal);
            wait_for_signal();
        });
    }
};

runtime::runtime() : runtime(runtime_options{}) {}

runtime::runtime(runtime_options options) : impl_(std::make_unique<impl>()) {
    if (options.loop_threads == 0)
        throw std::invalid_argument("runtime: loop_threads must be at least 1");
    if (options.blocking_threads == 0)
        throw std::invalid_argument("runtime: blocking_threads must be at least 1");
    if (options.cpu_threads == 0)
        options.cpu_threads = std::max(1u, std::thread::hardware_concurrency());
    for (std::size_t i = 0; i < options.loop_threads; ++i)
        impl_->loops.push_back(std::make_unique<net::io_context>(1));
    impl_->options = std::move(options);
}

runtime::~runtime() {
    // Pools first: their threads may still post completions to the loops.
    impl_->cpu.reset();
    impl_->blocking.reset();
}

std::size_t runtime::loop_count() const noexcept {
    return impl_->loops.size();
}

net::any_io_executor runtime::executor(std::size_t loop) const {
    return impl_->loops.at(loop)->get_executor();
}

thread_pool& runtime::blocking_pool() {
    std::call_once(impl_->blocking_once, [this] {
        impl_->blocking = std::make_unique<thread_pool>(impl_->options.blocking_threads);
    });
    return *impl_->blocking;
}

thread_pool& runtime::cpu_pool() {
    std::call_once(impl_->cpu_once, [this] {
        impl_->cpu = std::make_unique<thread_pool>(impl_->options.cpu_threads);
    });
    return *impl_->cpu;
}

void runtime::cancel() {
    if (!impl_->running) return;
    net::post(*impl_->loops[0], [this, number = impl_->run_number.load()] {
        if (impl_->running && impl_->run_number == number)
            impl_->main_cancel.emit(net::cancellation_type::terminal);
    });
}

bool runtime::interrupted() const noexcept {
    return impl_->interrupted;
}

int runtime::interrupting_signal() const noexcept {
    return impl_->interrupted ? impl_->interrupting_signal.load() : 0;
}

void runtime::run_main(net::awaitable<void> main) {
    auto& loops = impl_->loops;
    for (auto& loop : loops) loop->restart();
    impl_->interrupted = false;
    impl_->interrupting_signal = 0;

    std::vector<net::executor_work_guard<net::io_context::executor_type>> keep_running;
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < loops.size(); ++i) {
        keep_running.push_back(net::make_work_guard(*loops[i]));
        threads.emplace_back([loop = loops[i].get()] { loop->run(); });
    }

    net::io_context& first = *loops[0];
    if (impl_->options.handle_signals) {
        impl_->signals.emplace(first, SIGINT, SIGTERM, SIGHUP);
        impl_->wait_for_signal();
    }

    std::exception_ptr failure;
    ++impl_->run_number;
    impl_->running = true;
    net::co_spawn(first, std::move(main),
                  net::bind_cancellation_slot(impl_->main_cancel.slot(),
                                              [this, &failure](std::exception_ptr e) {
                                                  failure = e;
                                                  impl_->running = false;
                                                  if (impl_->signals) impl_->signals->cancel();
                                              }));
    first.run();
    impl_->running = false;
    impl_->signals.reset();

    // main has ended: what it left on other loops is abandoned.
    keep_running.clear();
    for (std::size_t i = 1; i < loops.size(); ++i) loops[i]->stop();
    for (auto& thread : threads) thread.join();

    if (failure) std::rethrow_exception(failure);
}

}  // namespace fanout
