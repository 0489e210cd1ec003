#include "h2_fault_server.hpp"

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string_view>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace fanout::test {

namespace {

constexpr std::int32_t server_window = 1024;

nghttp2_nv field(std::string_view name, std::string_view value) {
    return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
            reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
            value.size(), NGHTTP2_NV_FLAG_NONE};
}

bool write_all(int fd, const std::uint8_t* data, std::size_t size) {
    while (size > 0) {
        const auto n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n <= 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace

// One connection's nghttp2 session and its streams.
struct h2_fault_session {
    struct stream {
        std::string path;
        std::string body;  // the answer's
        std::size_t sent = 0;
    };

    h2_fault_server& server;
    bool goaway_connection = false;  // answers its first request with GOAWAY
    bool close_after_write = false;
    bool goaway_sent = false;
    nghttp2_session* session = nullptr;
    std::map<std::int32_t, stream> streams;
    std::vector<std::string> bomb_names;
    std::string bomb_value = std::string(100, 'b');

    static h2_fault_session& self(void* user) { return *static_cast<h2_fault_session*>(user); }

    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
        if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
            self(user).streams[frame->hd.stream_id];
        return 0;
    }

    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                         std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                         std::uint8_t, void* user) {
        auto& s = self(user);
        const auto it = s.streams.find(frame->hd.stream_id);
        if (it == s.streams.end()) return 0;
        if (std::string_view(reinterpret_cast<const char*>(name), namelen) == ":path")
            it->second.path.assign(reinterpret_cast<const char*>(value), valuelen);
        return 0;
    }

    static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                             std::uint32_t* flags, nghttp2_data_source* source, void*) {
        auto& st = *static_cast<stream*>(source->ptr);
        const auto n = std::min(length, st.body.size() - st.sent);
        std::memcpy(buf, st.body.data() + st.sent, n);
        st.sent += n;
        if (st.sent == st.body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
        return static_cast<ssize_t>(n);
    }

    void answer(std::int32_t id, stream& st, std::string_view status, std::string body,
                bool bomb = false) {
        st.body = std::move(body);
        std::vector<nghttp2_nv> fields{field(":status", status)};
        if (bomb)
            for (const auto& name : bomb_names) fields.push_back(field(name, bomb_value));
        nghttp2_data_provider provider{};
        provider.source.ptr = &st;
        provider.read_callback = &read_body;
        nghttp2_submit_response(session, id, fields.data(), fields.size(), &provider);
        ++server.answered_;
    }

    void request_ended(std::int32_t id) {
        const auto it = streams.find(id);
        if (it == streams.end()) return;
        auto& st = it->second;
        if (goaway_connection && !goaway_sent) {
            goaway_sent = true;
            nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
            close_after_write = true;
            return;
        }
        if (st.path == "/ok" || st.path == "/upload") {
            answer(id, st, "200", "ok");
        } else if (st.path == "/slow") {
            // never answered
        } else if (st.path == "/reset") {
            nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
        } else if (st.path == "/bomb") {
            answer(id, st, "200", "ok", true);
        } else {
            answer(id, st, "404", "not found");
        }
    }

    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
        auto& s = self(user);
        if (frame->hd.type == NGHTTP2_RST_STREAM) ++s.server.resets_;
        if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK) == 0)
            ++s.server.pings_;
        if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
            (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0)
            s.request_ended(frame->hd.stream_id);
        return 0;
    }

    static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t, void* user) {
        self(user).streams.erase(id);
        return 0;
    }
};

h2_fault_server::h2_fault_server(h2_fault_options options) : options_(options) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd_ < 0) throw std::runtime_error("h2_fault_server: socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t size = sizeof address;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listen_fd_, 128) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
        ::close(listen_fd_);
        throw std::runtime_error("h2_fault_server: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

h2_fault_server::~h2_fault_server() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    {
        std::lock_guard lock(mutex_);
        for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
    for (int fd : open_fds_) ::close(fd);
    ::close(listen_fd_);
}

std::string h2_fault_server::url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void h2_fault_server::accept_loop() {
    for (std::size_t number = 1; !stopping_; ++number) {
        const int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ++connections_;
        std::lock_guard lock(mutex_);
        if (stopping_) {
            ::close(fd);
            return;
        }
        open_fds_.push_back(fd);
        const bool goaway = (number == 1 && options_.goaway_first_connection) ||
                            number == options_.goaway_connection;
        workers_.emplace_back([this, fd, goaway] { serve(fd, goaway); });
    }
}

void h2_fault_server::serve(int fd, bool goaway) {
    h2_fault_session s{*this};
    s.goaway_connection = goaway;
    for (int i = 0; i < 700; ++i) s.bomb_names.push_back("x-bomb-" + std::to_string(i));

    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks,
                                                            &h2_fault_session::on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &h2_fault_session::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks,
                                                         &h2_fault_session::on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks,
                                                           &h2_fault_session::on_stream_close);
    nghttp2_option* option = nullptr;
    nghttp2_option_new(&option);
    // The window never reopens (/upload stalls), and a header block as
    // large as /bomb's may be sent.
    nghttp2_option_set_no_auto_window_update(option, 1);
    nghttp2_option_set_max_send_header_block_length(option, 4u << 20);
    if (options_.no_ping_ack) nghttp2_option_set_no_auto_ping_ack(option, 1);
    nghttp2_session_server_new2(&s.session, callbacks, &s, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);

    const std::array<nghttp2_settings_entry, 2> settings{{
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(server_window)},
    }};
    nghttp2_submit_settings(s.session, NGHTTP2_FLAG_NONE, settings.data(), settings.size());

    std::array<std::uint8_t, 16 * 1024> buffer{};
    for (;;) {
        bool ok = true;
        for (;;) {
            const std::uint8_t* data = nullptr;
            const auto n = nghttp2_session_mem_send(s.session, &data);
            if (n < 0) ok = false;
            if (n <= 0) break;
            if (!write_all(fd, data, static_cast<std::size_t>(n))) {
                ok = false;
                break;
            }
        }
        if (!ok || s.close_after_write || stopping_) break;
        const auto n = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (n <= 0) break;
        if (nghttp2_session_mem_recv(s.session, buffer.data(), static_cast<std::size_t>(n)) < 0)
            break;
    }
    nghttp2_session_del(s.session);
    ::shutdown(fd, SHUT_RDWR);
    // The fd stays open (in open_fds_) until the destructor: closing it here
    // could let a new connection reuse its number while the list holds it.
}

}  // namespace fanout::test
