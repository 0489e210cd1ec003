#pragma once
// lines(stream): a lazy input range over the lines of a stream (a file,
// std::cin), numbered from 1, for gather and gather_each. A line is read only
// when a worker pulls it, so a million-line stdin holds one line in memory
// per item in flight. A trailing '\r' is dropped (CRLF files).
//
// Errors: a read error ends the range like end of file; check the stream's
// bad() afterwards. Not thread-safe: one range, one loop.
// Blocking: each line is read with std::getline on the thread that pulls it,
// so on an event loop use it only for in-memory streams; for a file, a pipe
// or stdin use line_source (line_source.hpp), which reads off the loop.

#include <fanout/line.hpp>

#include <cstddef>
#include <istream>
#include <iterator>
#include <ranges>
#include <string>

namespace fanout {

class line_range : public std::ranges::view_interface<line_range> {
  public:
    class iterator {
      public:
        using value_type = line;
        using difference_type = std::ptrdiff_t;
        using iterator_concept = std::input_iterator_tag;

        iterator() = default;
        explicit iterator(line_range& owner) : owner_(&owner) {}
        const line& operator*() const { return owner_->current_; }
        iterator& operator++() {
            owner_->advance();
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

      private:
        bool at_end() const { return owner_ == nullptr || owner_->done_; }

        line_range* owner_ = nullptr;
    };

    explicit line_range(std::istream& in) : in_(&in) {}
    line_range(line_range&&) = default;
    line_range& operator=(line_range&&) = default;

    /// Reads the first line; call once.
    iterator begin() {
        advance();
        return iterator(*this);
    }
    std::default_sentinel_t end() const noexcept { return {}; }

  private:
    void advance() {
        if (!std::getline(*in_, current_.text)) {
            done_ = true;
            return;
        }
        if (!current_.text.empty() && current_.text.back() == '\r') current_.text.pop_back();
        ++current_.number;
    }

    std::istream* in_;
    line current_;
    bool done_ = false;
};

/// The lines of `in`, read lazily; `in` must outlive the range.
inline line_range lines(std::istream& in) {
    return line_range(in);
}

}  // namespace fanout
