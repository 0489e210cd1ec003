#pragma once

// nghttp2's allocator for the sessions of one connection (the client's
// h2_connection, the load driver's connection across its reconnects): blocks
// of up to max_small bytes come from a free list per 16-byte size class and
// go back to it; larger ones are malloc's. A session allocates and frees
// about a dozen small blocks per stream (stream state, header buffers,
// frame queue items), so a warm connection calls malloc for none of them.
//
// Each block has a header with its capacity (and, when free, the next free
// block), which keeps the payload 16-byte aligned. One thread at a time: a
// connection's sessions run on its loop. Every session using it must be
// deleted before it is. Under AddressSanitizer freed blocks go straight
// back to malloc, so a use after free or a double free in a session is
// still caught.

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstddef>

namespace fanout::http::detail {

class h2_memory {
  public:
    h2_memory() = default;
    h2_memory(const h2_memory&) = delete;
    h2_memory& operator=(const h2_memory&) = delete;
    ~h2_memory();

    // What nghttp2_session_client_new3 takes (it copies the struct); the
    // allocations are this object's.
    nghttp2_mem allocator() noexcept;

    void* allocate(std::size_t size) noexcept;
    void release(void* p) noexcept;
    void* reallocate(void* p, std::size_t size) noexcept;

    static constexpr std::size_t step = 16;
    static constexpr std::size_t max_small = 1024;
#if defined(__SANITIZE_ADDRESS__)
    static constexpr bool keeps_freed_blocks = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    static constexpr bool keeps_freed_blocks = false;
#else
    static constexpr bool keeps_freed_blocks = true;
#endif
#else
    static constexpr bool keeps_freed_blocks = true;
#endif

  private:
    struct header {
        std::size_t capacity;
        header* next;
    };
    static_assert(sizeof(header) == 16);
    std::array<header*, max_small / step + 1> free_{};
};

}  // namespace fanout::http::detail
