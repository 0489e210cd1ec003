// The nghttp2 allocator the client's and the load driver's HTTP/2
// connections share: small blocks come back from free lists by size class,
// large ones are malloc's, and the callbacks nghttp2 is given behave as
// malloc, free, calloc and realloc do.

#include "http/h2_memory.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

using fanout::http::detail::h2_memory;

namespace {

bool aligned(const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

}  // namespace

TEST_CASE("a freed small block is handed out again for a request of its size class") {
    h2_memory memory;
    void* a = memory.allocate(40);
    REQUIRE(a != nullptr);
    CHECK(aligned(a));
    std::memset(a, 0xab, 40);
    memory.release(a);
    void* b = memory.allocate(33);  // 33..48 bytes: the same 48-byte class
    REQUIRE(b != nullptr);
    if (h2_memory::keeps_freed_blocks) CHECK(b == a);
    void* c = memory.allocate(64);  // another class: not that block
    CHECK(c != b);
    memory.release(b);
    memory.release(c);
    memory.release(nullptr);
}

TEST_CASE("blocks over the small limit and of every small class are usable and aligned") {
    h2_memory memory;
    std::vector<void*> blocks;
    for (std::size_t size = 1; size <= h2_memory::max_small + 64; size += 7) {
        void* p = memory.allocate(size);
        REQUIRE(p != nullptr);
        CHECK(aligned(p));
        std::memset(p, static_cast<int>(size & 0xff), size);
        blocks.push_back(p);
    }
    // Every block is its own: none was handed out twice.
    std::vector<void*> sorted = blocks;
    std::sort(sorted.begin(), sorted.end());
    CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
    for (void* p : blocks) memory.release(p);
    void* large = memory.allocate(64 * 1024);
    REQUIRE(large != nullptr);
    std::memset(large, 1, 64 * 1024);
    memory.release(large);
}

TEST_CASE("nghttp2's callbacks allocate, zero, grow and free as the C functions do") {
    h2_memory memory;
    nghttp2_mem mem = memory.allocator();
    CHECK(mem.mem_user_data == &memory);

    auto* zeroed = static_cast<unsigned char*>(mem.calloc(10, 12, mem.mem_user_data));
    REQUIRE(zeroed != nullptr);
    CHECK(std::all_of(zeroed, zeroed + 120, [](unsigned char b) { return b == 0; }));
    CHECK(mem.calloc(std::numeric_limits<std::size_t>::max() / 2, 4, mem.mem_user_data) == nullptr);

    auto* grown = static_cast<unsigned char*>(mem.malloc(20, mem.mem_user_data));
    REQUIRE(grown != nullptr);
    for (int i = 0; i < 20; ++i) grown[i] = static_cast<unsigned char>(i);
    // Within its class's capacity the block stays where it is.
    CHECK(mem.realloc(grown, 32, mem.mem_user_data) == grown);
    grown = static_cast<unsigned char*>(mem.realloc(grown, 5000, mem.mem_user_data));
    REQUIRE(grown != nullptr);
    for (int i = 0; i < 20; ++i) CHECK(grown[i] == i);
    std::memset(grown, 7, 5000);

    void* fresh = mem.realloc(nullptr, 100, mem.mem_user_data);
    CHECK(fresh != nullptr);
    mem.free(fresh, mem.mem_user_data);
    mem.free(grown, mem.mem_user_data);
    mem.free(zeroed, mem.mem_user_data);
    mem.free(nullptr, mem.mem_user_data);
}
