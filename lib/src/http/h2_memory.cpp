#include "http/h2_memory.hpp"

#include <cstdlib>
#include <cstring>

namespace fanout::http::detail {

namespace {

h2_memory& of(void* user) {
    return *static_cast<h2_memory*>(user);
}
void* malloc_cb(std::size_t size, void* user) {
    return of(user).allocate(size);
}
void free_cb(void* p, void* user) {
    of(user).release(p);
}
void* calloc_cb(std::size_t n, std::size_t size, void* user) {
    if (size != 0 && n > static_cast<std::size_t>(-1) / size) return nullptr;
    void* p = of(user).allocate(n * size);
    if (p != nullptr) std::memset(p, 0, n * size);
    return p;
}
void* realloc_cb(void* p, std::size_t size, void* user) {
    return of(user).reallocate(p, size);
}

}  // namespace

h2_memory::~h2_memory() {
    for (auto* list : free_)
        while (list != nullptr) {
            auto* next = list->next;
            std::free(list);
            list = next;
        }
}

nghttp2_mem h2_memory::allocator() noexcept {
    return {this, &malloc_cb, &free_cb, &calloc_cb, &realloc_cb};
}

void* h2_memory::allocate(std::size_t size) noexcept {
    const auto capacity = size <= max_small ? (size + step - 1) / step * step : size;
    header* block = nullptr;
    if (capacity <= max_small && free_[capacity / step] != nullptr) {
        block = free_[capacity / step];
        free_[capacity / step] = block->next;
    } else {
        block = static_cast<header*>(std::malloc(sizeof(header) + capacity));
        if (block == nullptr) return nullptr;
        block->capacity = capacity;
    }
    return block + 1;
}

void h2_memory::release(void* p) noexcept {
    if (p == nullptr) return;
    auto* block = static_cast<header*>(p) - 1;
    if (block->capacity > max_small || !keeps_freed_blocks) {
        std::free(block);
        return;
    }
    block->next = free_[block->capacity / step];
    free_[block->capacity / step] = block;
}

void* h2_memory::reallocate(void* p, std::size_t size) noexcept {
    if (p == nullptr) return allocate(size);
    const auto capacity = (static_cast<header*>(p) - 1)->capacity;
    if (size <= capacity) return p;
    void* moved = allocate(size);
    if (moved == nullptr) return nullptr;
    std::memcpy(moved, p, capacity);
    release(p);
    return moved;
}

}  // namespace fanout::http::detail
