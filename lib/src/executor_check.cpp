#include "executor_check.hpp"

#include <fanout/detail/gather_run.hpp>

#include <boost/asio/detail/scheduler.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <cstdint>
#include <memory>
#include <utility>

namespace fanout::detail {

namespace net = boost::asio;

namespace {

// io_context's executor comes in eight flavours (blocking, relationship and
// outstanding-work bits); each is a distinct type to any_io_executor.
template <class Visit, std::uintptr_t... Bits>
auto visit_io_executor(const net::any_io_executor& executor, Visit visit,
                       std::integer_sequence<std::uintptr_t, Bits...>) noexcept {
    decltype(visit(std::declval<const net::io_context::executor_type&>())) found{};
    (void)(([&] {
        using type = net::io_context::basic_executor_type<std::allocator<void>, Bits>;
        const auto* target = executor.target<type>();
        if (target) found = visit(*target);
        return target != nullptr;
    }() || ...));
    return found;
}

template <class Visit>
auto visit_io_executor(const net::any_io_executor& executor, Visit visit) noexcept {
    return visit_io_executor(executor, visit,
                             std::integer_sequence<std::uintptr_t, 0, 1, 2, 3, 4, 5, 6, 7>{});
}

}  // namespace

bool runs_serially(const net::any_io_executor& executor) noexcept {
    if (executor.target<net::strand<net::any_io_executor>>() ||
        executor.target<net::strand<net::io_context::executor_type>>())
        return true;
    // The hint an io_context was made with is its owner's promise: 1 (or
    // an unsafe hint) means one thread runs it; fanout's runtime loops are
    // made so.
    const int hint = visit_io_executor(executor, [](const auto& io_executor) {
        auto& context = const_cast<net::io_context&>(io_executor.context());
        return net::use_service<net::detail::scheduler>(
                   static_cast<net::execution_context&>(context))
            .concurrency_hint();
    });
    return hint == 1 || hint == BOOST_ASIO_CONCURRENCY_HINT_UNSAFE ||
           hint == BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO;
}

bool running_in_this_thread(const net::any_io_executor& executor) noexcept {
    if (const auto* strand = executor.target<net::strand<net::any_io_executor>>())
        return strand->running_in_this_thread();
    if (const auto* strand = executor.target<net::strand<net::io_context::executor_type>>())
        return strand->running_in_this_thread();
    // 1: inside, 2: outside, 0: not an io_context.
    const int inside = visit_io_executor(executor, [](const auto& io_executor) {
        return io_executor.running_in_this_thread() ? 1 : 2;
    });
    return inside != 2;
}

}  // namespace fanout::detail
