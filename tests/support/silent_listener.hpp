#pragma once
// A listener that never accepts, for tests of connects and handshakes that
// get no answer. Its own io_context; every wait in it is bounded.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace fanout::test {

// A listener on 127.0.0.1 that never accepts: the kernel completes
// handshakes for it, and the bytes a client sends wait unread.
struct silent_listener {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor{
        io, boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0)};
    std::vector<boost::asio::ip::tcp::socket> queued;

    std::uint16_t port() const { return acceptor.local_endpoint().port(); }

    // Fills the accept queue of a backlog-0 listener, so that Linux drops
    // the SYN of the next connect, which then hangs until its timeout; false
    // if a connect to it still completes (another kernel's rules).
    bool fill_backlog() {
        acceptor.close();
        acceptor.open(boost::asio::ip::tcp::v4());
        acceptor.bind({boost::asio::ip::address_v4::loopback(), 0});
        acceptor.listen(0);
        for (int i = 0; i < 16; ++i) {
            boost::asio::ip::tcp::socket probe(io);
            auto connected = std::make_shared<bool>(false);
            probe.async_connect(acceptor.local_endpoint(),
                                [connected](boost::system::error_code ec) { *connected = !ec; });
            io.restart();
            io.run_for(std::chrono::milliseconds(300));
            if (!io.stopped()) {  // the connect hangs: the queue is full
                probe.close();
                io.restart();
                io.run_for(std::chrono::seconds(1));  // the aborted connect completes
                return true;
            }
            if (!*connected) return false;
            queued.push_back(std::move(probe));
        }
        return false;
    }
};

}  // namespace fanout::test
