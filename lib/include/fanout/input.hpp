#pragma once
// The input of an item-per-line command (fanout dns, fanout sweep): a stream
// read lazily, one item a line, shared by the loops that work on it.
//
//   input_file(path)         stdin for "-", else the file, opened; its
//                            descriptor for a line_source (line_source.hpp),
//                            which reads it off the loop
//   item_text(text)          the item of one line, if it holds one
//   generated(next)          a lazy input range over next(), a callable that
//                            returns std::optional<T> (nothing: the end)
//   item_lines(in, slice)    the lines of `in` that hold an item: blank lines
//                            and '#' comments skipped (a '#' first, or after a
//                            space or tab: "URL   # note" holds URL), spaces
//                            and tabs around the item trimmed, only the lines
//                            of shard `slice`;
//                            numbered as in the stream (from 1)
//   shared_input<Range>      one lazy input several loops pull from: next()
//                            takes the next item under a lock, and pull() is a
//                            loop's own lazy range over it, for gather_each
//
// Memory: a line is read only when an item is pulled, so a million-line
// stdin holds about one line per item in flight.
// Blocking: item_lines() and shared_input read on the thread that pulls
// (std::getline): for files, pipes and stdin on an event loop, pull from a
// line_source with options.items_only instead, which never blocks the loop.
// Errors: a read error ends the input like end of file (check failed()
// afterwards); an exception thrown by the source comes out of next() (and so
// out of the gather pulling from it, as a fault).
// Threads: a generated range or item_lines is used by one thread at a time;
// next() and the ranges pull() makes may be used from any thread.

#include <fanout/item_text.hpp>
#include <fanout/lines.hpp>
#include <fanout/shard.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <fstream>
#include <iostream>
#include <istream>
#include <iterator>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace fanout {

/// The stream a command reads its items from.
class input_file {
  public:
    /// "-": stdin; anything else: that file, opened now (see is_open()).
    explicit input_file(const std::string& path) : path_(path) {
        if (path == "-") return;
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) error_ = std::error_code(errno, std::system_category());
    }
    ~input_file() {
        if (fd_ > STDIN_FILENO) ::close(fd_);
    }
    input_file(const input_file&) = delete;
    input_file& operator=(const input_file&) = delete;

    bool is_open() const { return fd_ >= 0; }
    /// Why it could not be opened.
    std::error_code open_error() const { return error_; }
    /// The descriptor to read (STDIN_FILENO for "-"); for a line_source.
    int descriptor() const { return fd_; }
    /// A stream over the same input, for reading on the calling thread.
    std::istream& stream() {
        if (path_ == "-") return std::cin;
        if (!file_.is_open()) file_.open(path_);
        return file_;
    }
    /// Whether reading stream() failed (not merely reached the end).
    bool failed() const { return path_ != "-" ? file_.bad() : std::cin.bad(); }

  private:
    std::string path_;
    int fd_ = STDIN_FILENO;
    std::error_code error_;
    std::ifstream file_;
};

/// A lazy input range over `next()`; see generated(). `Next` must be
/// move-assignable (a view is), so a capturing lambda will not do.
template <class Next>
class generated_range : public std::ranges::view_interface<generated_range<Next>> {
  public:
    using value_type = typename std::invoke_result_t<Next&>::value_type;

    class iterator {
      public:
        using value_type = generated_range::value_type;
        using difference_type = std::ptrdiff_t;
        using iterator_concept = std::input_iterator_tag;

        iterator() = default;
        explicit iterator(generated_range& owner) : owner_(&owner) {}
        const value_type& operator*() const { return *owner_->current_; }
        iterator& operator++() {
            owner_->current_ = owner_->next_();
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

      private:
        bool at_end() const { return owner_ == nullptr || !owner_->current_; }
        generated_range* owner_ = nullptr;
    };

    explicit generated_range(Next next) : next_(std::move(next)) {}
    generated_range(generated_range&&) = default;
    generated_range& operator=(generated_range&&) = default;

    /// Takes the first item; call once.
    iterator begin() {
        current_ = next_();
        return iterator(*this);
    }
    std::default_sentinel_t end() const noexcept { return {}; }

  private:
    Next next_;
    std::optional<value_type> current_;
};

/// The items next() returns, until it returns nothing, read lazily.
template <class Next>
generated_range<Next> generated(Next next) {
    return generated_range<Next>(std::move(next));
}

/// The reader behind item_lines(): each call returns the next item line of
/// the stream, nothing at its end. For inputs made of item lines (e.g. one
/// item per line and type asked). Move it only before its first call: it
/// then holds an iterator into its own line range.
class item_line_reader {
  public:
    item_line_reader(std::istream& in, shard slice) : lines_(in), slice_(slice) {}
    item_line_reader(item_line_reader&&) = default;
    item_line_reader& operator=(item_line_reader&&) = default;

    std::optional<line> operator()() {
        if (!at_)
            at_ = lines_.begin();
        else if (*at_ != lines_.end())
            ++*at_;
        for (; *at_ != lines_.end(); ++*at_) {
            const auto& current = **at_;
            if (!slice_.includes(current.number)) continue;
            if (const auto item = item_text(current.text))
                return line{current.number, std::string(*item)};
        }
        return std::nullopt;
    }

  private:
    line_range lines_;
    std::optional<line_range::iterator> at_;
    shard slice_;
};

using item_line_range = generated_range<item_line_reader>;

/// The items of `in` (see the top of this header); `in` must outlive the range.
inline item_line_range item_lines(std::istream& in, shard slice = {}) {
    return item_line_range(item_line_reader(in, slice));
}

/// One lazy input shared by several loops; see the top of this header.
template <std::ranges::input_range Range>
class shared_input {
  public:
    using value_type = std::ranges::range_value_t<Range>;

    explicit shared_input(Range source) : source_(std::move(source)) {}
    shared_input(const shared_input&) = delete;
    shared_input& operator=(const shared_input&) = delete;

    /// The next item, or nothing at the end of the input.
    std::optional<value_type> next() {
        std::lock_guard lock(mutex_);
        if (!at_)
            at_.emplace(std::ranges::begin(source_));
        else if (*at_ != std::ranges::end(source_))
            ++*at_;
        if (*at_ == std::ranges::end(source_)) return std::nullopt;
        return value_type(**at_);
    }

    /// A range for one loop: each increment takes the next item of the
    /// shared input, whichever loop took the last one. The shared input must
    /// outlive it.
    auto pull() { return generated(puller{this}); }

  private:
    // A callable (and, unlike a lambda, assignable, as a view must be).
    struct puller {
        shared_input* source;
        std::optional<value_type> operator()() const { return source->next(); }
    };

    std::mutex mutex_;
    Range source_;
    std::optional<std::ranges::iterator_t<Range>> at_;
};

}  // namespace fanout
