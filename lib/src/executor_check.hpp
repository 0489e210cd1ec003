#pragma once
// What fanout can tell about an executor at run time: whether its handlers
// never run concurrently (runs_serially, declared with gather), and whether
// the calling thread is running it now (for the debug assertions of the
// classes that must be used from one thread or strand).

#include <boost/asio/any_io_executor.hpp>

#include <cassert>

namespace fanout::detail {

/// Whether the calling thread is inside `executor` now: running its
/// io_context, or holding its strand. True for executors of other kinds,
/// which cannot tell.
bool running_in_this_thread(const boost::asio::any_io_executor& executor) noexcept;

}  // namespace fanout::detail

/// Asserts (debug builds) that a class documented as single-threaded is used
/// from its own executor.
#define FANOUT_ASSERT_ON_EXECUTOR(executor)                      \
    assert(::fanout::detail::running_in_this_thread(executor) && \
           "used from a thread that is not running its executor (see its header)")
