#include "dns/message.hpp"

#include <fanout/dns/error.hpp>

#include <ares.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <utility>

namespace fanout::dns::detail {
namespace {

constexpr std::size_t header_size = 12;

// A bounds-checked cursor over a message; names are expanded by c-ares
// (compression pointers, escapes, loop checks).
class reader {
  public:
    explicit reader(std::span<const unsigned char> message) : message_(message) {}

    bool ok() const noexcept { return error_.empty(); }
    const std::string& error() const noexcept { return error_; }
    std::size_t position() const noexcept { return position_; }
    void seek(std::size_t position) noexcept { position_ = position; }

    bool need(std::size_t bytes, const char* what) {
        if (!ok()) [[unlikely]]
            return false;
        if (message_.size() - position_ < bytes) [[unlikely]] {
            fail_truncated(what);
            return false;
        }
        return true;
    }
    // Out of line: need() is on every field's path, its message is not.
    [[gnu::noinline]] void fail_truncated(const char* what) {
        fail(std::string("truncated ") + what);
    }

    std::uint8_t u8(const char* what) {
        if (!need(1, what)) return 0;
        return message_[position_++];
    }
    std::uint16_t u16(const char* what) {
        if (!need(2, what)) return 0;
        const auto value =
            static_cast<std::uint16_t>(message_[position_] << 8 | message_[position_ + 1]);
        position_ += 2;
        return value;
    }
    std::uint32_t u32(const char* what) {
        const std::uint32_t high = u16(what);
        return high << 16 | u16(what);
    }

    std::string name(const char* what) {
        std::string out;
        name_into(out, what);
        return out;
    }

    // The name at the cursor into `out` (its room reused); empty on error.
    void name_into(std::string& out, const char* what) {
        out.clear();
        if (!need(1, what)) return;
        if (plain_name(out)) return;
        out.clear();
        char* expanded = nullptr;
        long length = 0;
        const int status = ares_expand_name(message_.data() + position_, message_.data(),
                                            static_cast<int>(message_.size()), &expanded, &length);
        if (status != ARES_SUCCESS) {
            fail(std::string("bad ") + what);
            return;
        }
        std::unique_ptr<char, void (*)(void*)> owner(expanded, ares_free_string);
        position_ += static_cast<std::size_t>(length);
        out.assign(expanded);
    }

    // Expands the name at the cursor into `out` when it is made of letters,
    // digits, '-' and '_' with compression pointers that point back (what
    // nearly every answer holds): one string, no c-ares allocation. False,
    // with the cursor unmoved, for anything else, which c-ares then reads
    // (its escapes, its loop checks).
    bool plain_name(std::string& out) {
        std::size_t at = position_;
        std::size_t after = 0;  // where the record goes on: past the name's first part
        for (;;) {
            if (at >= message_.size()) return false;
            const std::uint8_t length = message_[at];
            if ((length & 0xc0) == 0xc0) {
                if (at + 1 >= message_.size()) return false;
                const std::size_t target = (length & 0x3fu) << 8 | message_[at + 1];
                if (target >= at) return false;  // only backwards: every jump ends
                if (after == 0) after = at + 2;
                at = target;
                continue;
            }
            if ((length & 0xc0) != 0) return false;
            if (length == 0) {
                if (after == 0) after = at + 1;
                break;
            }
            if (message_.size() - at - 1 < length) return false;
            const auto* label = message_.data() + at + 1;
            for (std::size_t i = 0; i < length; ++i) {
                const unsigned char c = label[i];
                const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                   (c >= '0' && c <= '9') || c == '-' || c == '_';
                if (!plain) return false;
            }
            // The label checked, then copied whole.
            if (!out.empty()) out += '.';
            out.append(reinterpret_cast<const char*>(label), length);
            if (out.size() > 255) return false;
            at += 1 + length;
        }
        position_ = after;
        return true;
    }

    // Steps over a name without reading it (questions are not returned).
    void skip_name(const char* what) {
        while (need(1, what)) {
            const std::uint8_t length = message_[position_];
            if ((length & 0xc0) == 0xc0) {
                if (need(2, what)) position_ += 2;
                return;
            }
            if ((length & 0xc0) != 0) return fail(std::string("bad ") + what);
            ++position_;
            if (length == 0) return;
            if (!need(length, what)) return;
            position_ += length;
        }
    }

    std::vector<std::uint8_t> bytes(std::size_t count, const char* what) {
        if (!need(count, what)) return {};
        std::vector<std::uint8_t> out(
            message_.begin() + static_cast<std::ptrdiff_t>(position_),
            message_.begin() + static_cast<std::ptrdiff_t>(position_ + count));
        position_ += count;
        return out;
    }

    void fail(std::string why) {
        if (ok()) error_ = std::move(why);
    }

  private:
    std::span<const unsigned char> message_;
    std::size_t position_ = 0;
    std::string error_;
};

// Reads the data of one record into `out`; the reader stands at its start
// and `length` bytes belong to it.
void read_data(reader& in, record& out, std::size_t length) {
    const std::size_t start = in.position();
    switch (out.type) {
        case record_type::a: {
            if (length != 4) return in.fail("A record of " + std::to_string(length) + " bytes");
            std::array<unsigned char, 4> raw{};
            for (auto& byte : raw) byte = in.u8("A record");
            out.data = boost::asio::ip::address_v4(raw);
            break;
        }
        case record_type::aaaa: {
            if (length != 16) return in.fail("AAAA record of " + std::to_string(length) + " bytes");
            std::array<unsigned char, 16> raw{};
            for (auto& byte : raw) byte = in.u8("AAAA record");
            out.data = boost::asio::ip::address_v6(raw);
            break;
        }
        case record_type::cname:
        case record_type::ns:
        case record_type::ptr:
            if (auto* target = std::get_if<std::string>(&out.data))
                in.name_into(*target, "target name");  // a reused record's string
            else
                out.data = in.name("target name");
            break;
        case record_type::mx: {
            mx_data mx;
            mx.preference = in.u16("MX preference");
            mx.exchange = in.name("MX exchange");
            out.data = std::move(mx);
            break;
        }
        case record_type::txt: {
            txt_data txt;
            while (in.ok() && in.position() < start + length) {
                const std::size_t size = in.u8("TXT string");
                const auto raw = in.bytes(size, "TXT string");
                txt.strings.emplace_back(raw.begin(), raw.end());
            }
            out.data = std::move(txt);
            break;
        }
        case record_type::soa: {
            soa_data soa;
            soa.mname = in.name("SOA mname");
            soa.rname = in.name("SOA rname");
            soa.serial = in.u32("SOA");
            soa.refresh = in.u32("SOA");
            soa.retry = in.u32("SOA");
            soa.expire = in.u32("SOA");
            soa.minimum = in.u32("SOA");
            out.data = std::move(soa);
            break;
        }
        default:
            out.data = raw_data{in.bytes(length, "record data")};
            break;
    }
    if (in.ok() && in.position() != start + length)
        in.fail(to_string(out.type) + " record data does not match its length");
}

}  // namespace

result<response> parse_response(std::span<const unsigned char> message, std::vector<record> reuse) {
    const auto malformed = [](const std::string& why) {
        return failure{make_error_code(errc::malformed_response), "malformed response: " + why};
    };
    if (message.size() < header_size)
        return malformed("only " + std::to_string(message.size()) + " bytes");

    reader in(message);
    response out;
    out.answers = std::move(reuse);
    out.id = in.u16("header");
    const std::uint16_t flags = in.u16("header");
    if ((flags & 0x8000) == 0) return malformed("not a response (QR is 0)");
    out.truncated = (flags & 0x0200) != 0;
    out.rcode = static_cast<std::uint8_t>(flags & 0x000f);
    const std::uint16_t questions = in.u16("header");
    const std::uint16_t answers = in.u16("header");
    in.u16("header");  // authority
    in.u16("header");  // additional

    for (unsigned i = 0; i < questions && in.ok(); ++i) {
        in.skip_name("question name");
        in.u32("question");
    }
    // Room for the answers the message can hold (a record takes 11 bytes at
    // least), not for the count its header claims: a 12-byte message saying
    // 65,535 would make every response allocate megabytes.
    constexpr std::size_t smallest_record = 11;
    out.answers.reserve(
        std::min<std::size_t>(answers, (message.size() - in.position()) / smallest_record));
    // Records are read in place: into the reused ones first, then new ones.
    std::size_t kept = 0;
    for (unsigned i = 0; i < answers && in.ok(); ++i) {
        if (kept == out.answers.size()) out.answers.emplace_back();
        record& rr = out.answers[kept];
        in.name_into(rr.name, "record name");
        rr.type = static_cast<record_type>(in.u16("record header"));
        in.u16("record header");  // class
        rr.ttl = in.u32("record header");
        if (rr.ttl > 0x7fffffff) rr.ttl = 0;  // RFC 2181 8: a TTL with the top bit set is 0
        const std::size_t length = in.u16("record header");
        if (!in.need(length, "record data")) break;
        read_data(in, rr, length);
        if (in.ok()) ++kept;
    }
    if (!in.ok()) return malformed(in.error());
    out.answers.resize(kept);
    return out;
}

}  // namespace fanout::dns::detail
