#include <fanout/error.hpp>

#include "enumerators.hpp"
#include "test_loop.hpp"

#include <fanout/http/error.hpp>
#include <fanout/outcome.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;
using fanout::errc;
using fanout::error_kind;
using fanout::failure;
using fanout::result;

namespace {

const std::vector<errc> every_errc{
    errc::timeout,       errc::deadline_exceeded, errc::cancelled,
    errc::rate_limited,  errc::retries_exhausted, errc::exception,
    errc::invalid_input, errc::queue_full,        errc::line_too_long,
    errc::circuit_open};

struct not_an_exception {
    int value;
};

template <class Thrown>
std::exception_ptr capture(Thrown thrown) {
    try {
        throw thrown;
    } catch (...) {
        return std::current_exception();
    }
}

}  // namespace

TEST_CASE("every fanout error has its own message and kind") {
    std::set<std::string> messages;
    std::set<std::string> kinds;
    for (errc e : every_errc) {
        const boost::system::error_code ec = e;
        INFO("errc value " << ec.value());
        CHECK(ec);
        CHECK(ec.category() == fanout::category());
        CHECK_FALSE(ec.message().empty());
        CHECK(ec.message().find("unknown") == std::string::npos);
        const std::string kind = error_kind(ec);
        CHECK_FALSE(kind.empty());
        CHECK(kind != "fanout_error");
        messages.insert(ec.message());
        kinds.insert(kind);
    }
    CHECK(messages.size() == every_errc.size());
    CHECK(kinds.size() == every_errc.size());
}

TEST_CASE("the list of fanout errors above holds every enumerator, numbered from 1") {
    const auto codes = fanout::test::enumerators<errc>();
    REQUIRE(codes.size() == every_errc.size());
    for (std::size_t i = 0; i < codes.size(); ++i) {
        INFO(codes[i].name);
        CHECK(codes[i].value == every_errc[i]);
        CHECK(static_cast<int>(codes[i].value) == static_cast<int>(i) + 1);
        CHECK(std::string(error_kind(codes[i].value)) == codes[i].name);
    }
}

TEST_CASE("the kinds of fanout errors are their enumerator names") {
    CHECK(std::string(error_kind(errc::timeout)) == "timeout");
    CHECK(std::string(error_kind(errc::deadline_exceeded)) == "deadline_exceeded");
    CHECK(std::string(error_kind(errc::cancelled)) == "cancelled");
    CHECK(std::string(error_kind(errc::rate_limited)) == "rate_limited");
    CHECK(std::string(error_kind(errc::retries_exhausted)) == "retries_exhausted");
    CHECK(std::string(error_kind(errc::exception)) == "exception");
    CHECK(std::string(error_kind(errc::invalid_input)) == "invalid_input");
    CHECK(std::string(error_kind(errc::queue_full)) == "queue_full");
    CHECK(std::string(error_kind(errc::line_too_long)) == "line_too_long");
    CHECK(std::string(error_kind(errc::circuit_open)) == "circuit_open");
}

TEST_CASE("the category is named fanout and is one object") {
    CHECK(std::string(fanout::category().name()) == "fanout");
    CHECK(&fanout::category() == &fanout::category());
    const boost::system::error_code ec = fanout::make_error_code(errc::timeout);
    CHECK(ec == errc::timeout);
    CHECK(ec != errc::cancelled);
    CHECK(std::string(ec.category().name()) == "fanout");
}

TEST_CASE("a value outside the enumeration still has a message and a kind") {
    const boost::system::error_code odd(99, fanout::category());
    CHECK(odd.message().find("99") != std::string::npos);
    CHECK(std::string(error_kind(odd)) == "fanout_error");
}

TEST_CASE("asio error codes map to the closest kind") {
    CHECK(std::string(error_kind(boost::system::error_code{})) == "ok");
    CHECK(std::string(error_kind(net::error::connection_refused)) == "connection_refused");
    CHECK(std::string(error_kind(net::error::connection_reset)) == "connection_reset");
    CHECK(std::string(error_kind(net::error::operation_aborted)) == "cancelled");
    CHECK(std::string(error_kind(net::error::timed_out)) == "timeout");
    CHECK(std::string(error_kind(net::error::eof)) == "eof");
    CHECK(std::string(error_kind(net::error::host_unreachable)) == "unreachable");
    CHECK(std::string(error_kind(net::error::network_unreachable)) == "unreachable");
}

TEST_CASE("running out of file descriptors is too_many_open_files, per process or system") {
    CHECK(std::string(error_kind(net::error::no_descriptors)) == "too_many_open_files");  // EMFILE
    const boost::system::error_code system_wide(ENFILE, boost::system::system_category());
    CHECK(std::string(error_kind(system_wide)) == "too_many_open_files");
}

TEST_CASE("a code with no close kind is of kind error") {
    const boost::system::error_code denied = net::error::access_denied;
    CHECK(std::string(error_kind(denied)) == "error");
}

TEST_CASE("a failure from a system_error keeps its code and message") {
    const auto caught =
        capture(boost::system::system_error(net::error::connection_refused, "connect to db-1"));
    const auto f = failure::from_exception(caught);
    CHECK(f.code == net::error::connection_refused);
    CHECK(f.message.find("connect to db-1") != std::string::npos);
    CHECK(f.exception == caught);
    CHECK(std::string(f.kind()) == "connection_refused");
}

TEST_CASE("a failure from a std::system_error keeps its code") {
    const auto caught =
        capture(std::system_error(std::make_error_code(std::errc::connection_refused), "dial"));
    const auto f = failure::from_exception(caught);
    CHECK(std::error_code(f.code) == std::make_error_code(std::errc::connection_refused));
    CHECK(f.code == boost::system::errc::connection_refused);
    CHECK(f.message.find("dial") != std::string::npos);
    CHECK(f.exception == caught);
}

TEST_CASE("a failure from any other exception is errc::exception with what()") {
    const auto caught = capture(std::runtime_error("parser fell over"));
    const auto f = failure::from_exception(caught);
    CHECK(f.code == errc::exception);
    CHECK(f.message == "parser fell over");
    CHECK(f.text() == "parser fell over");
    CHECK(f.exception == caught);
    CHECK_FALSE(f.retry_after);
}

TEST_CASE("a failure from an exception of unknown type is errc::exception with a message") {
    const auto caught = capture(not_an_exception{42});
    const auto f = failure::from_exception(caught);
    CHECK(f.code == errc::exception);
    CHECK_FALSE(f.message.empty());
    CHECK(f.exception == caught);
    CHECK_THROWS_AS(f.rethrow(), not_an_exception);
}

TEST_CASE("a failure without a message uses the code's message as its text") {
    const failure f{errc::timeout};
    CHECK(f.message.empty());
    CHECK(f.text() == boost::system::error_code(errc::timeout).message());
    CHECK(std::string(f.kind()) == "timeout");
    const failure named{errc::timeout, "gave up on db-1"};
    CHECK(named.text() == "gave up on db-1");
}

TEST_CASE("rethrow throws the captured exception, else a system_error for the code") {
    const auto captured = failure::from_exception(capture(std::logic_error("bad state")));
    CHECK_THROWS_AS(captured.rethrow(), std::logic_error);

    const failure coded{net::error::connection_reset, "reading from db-1"};
    try {
        coded.rethrow();
        FAIL("rethrow returned");
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == net::error::connection_reset);
        CHECK(std::string(e.what()).find("reading from db-1") != std::string::npos);
    }

    const failure bare{errc::queue_full};
    try {
        bare.rethrow();
        FAIL("rethrow returned");
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == errc::queue_full);
    }
}

TEST_CASE("a result holds a value or a failure") {
    result<int> good = 7;
    CHECK(good.has_value());
    CHECK_FALSE(good.has_error());
    CHECK(static_cast<bool>(good));
    CHECK(good.value() == 7);
    CHECK(*good == 7);

    result<std::string> text = std::string("hello");
    CHECK(text->size() == 5);
    CHECK(std::move(text).value() == "hello");

    result<int> bad = errc::invalid_input;
    CHECK_FALSE(bad.has_value());
    CHECK(bad.has_error());
    CHECK_FALSE(static_cast<bool>(bad));
    CHECK(bad.error().code == errc::invalid_input);

    result<int> from_code = boost::system::error_code(net::error::eof);
    CHECK(from_code.error().code == net::error::eof);
}

TEST_CASE("value() of a failed result rethrows the captured exception") {
    result<int> r = failure::from_exception(capture(std::out_of_range("index 9")));
    CHECK_THROWS_AS(r.value(), std::out_of_range);
    CHECK_THROWS_WITH(r.value(), "index 9");
    const result<int>& constant = r;
    CHECK_THROWS_AS(constant.value(), std::out_of_range);
}

TEST_CASE("value() of a failed result with no exception throws system_error for the code") {
    result<int> r = failure{errc::rate_limited, "slow down"};
    try {
        (void)r.value();
        FAIL("value() returned");
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == errc::rate_limited);
        CHECK(std::string(e.what()).find("slow down") != std::string::npos);
    }
    CHECK_THROWS_AS(std::move(r).value(), boost::system::system_error);
}

TEST_CASE("a result of a move-only type moves its value out") {
    result<std::unique_ptr<int>> r = std::make_unique<int>(5);
    auto owned = std::move(r).value();
    REQUIRE(owned);
    CHECK(*owned == 5);
}

TEST_CASE("result<void> is success by default and holds a failure otherwise") {
    result<void> ok;
    CHECK(ok.has_value());
    CHECK_FALSE(ok.has_error());
    CHECK(static_cast<bool>(ok));
    CHECK_NOTHROW(ok.value());

    result<void> bad = errc::timeout;
    CHECK(bad.has_error());
    CHECK_FALSE(static_cast<bool>(bad));
    CHECK(bad.error().code == errc::timeout);
    CHECK_THROWS_AS(bad.value(), boost::system::system_error);

    result<void> thrown = failure::from_exception(capture(std::runtime_error("void broke")));
    CHECK_THROWS_WITH(thrown.value(), "void broke");

    result<void> from_code = boost::system::error_code(net::error::connection_reset);
    CHECK(from_code.error().code == net::error::connection_reset);
}

TEST_CASE("a default outcome is a never-started cancelled item") {
    fanout::outcome<int> out;
    CHECK(out.index == 0);
    CHECK(out.attempts == 0);
    CHECK(out.elapsed == 0ns);
    CHECK_FALSE(out.ok());
    CHECK_FALSE(static_cast<bool>(out));
    CHECK(out.error().code == errc::cancelled);
    CHECK_THROWS_AS(out.value(), boost::system::system_error);

    fanout::outcome<void> nothing;
    CHECK_FALSE(nothing.ok());
    CHECK(nothing.error().code == errc::cancelled);
}

TEST_CASE("an outcome with a value gives it back") {
    fanout::outcome<std::string> out;
    out.index = 3;
    out.result = std::string("done");
    out.attempts = 2;
    CHECK(out.ok());
    CHECK(out.value() == "done");
    CHECK(std::move(out).value() == "done");

    fanout::outcome<void> nothing;
    nothing.result = result<void>{};
    CHECK(nothing.ok());
    CHECK_NOTHROW(nothing.value());
}

TEST_CASE("the HTTP/2 error codes have messages and kinds of their own") {
    namespace http = fanout::http;
    const std::pair<http::errc, std::string_view> codes[] = {
        {http::errc::stream_reset, "stream_reset"},
        {http::errc::goaway, "goaway"},
        {http::errc::protocol_error, "protocol_error"},
        {http::errc::flow_control_stall, "flow_control_stall"},
        {http::errc::header_list_too_large, "header_list_too_large"},
        {http::errc::http2_not_negotiated, "http2_not_negotiated"},
    };
    for (const auto& [code, kind] : codes) {
        const boost::system::error_code ec = http::make_error_code(code);
        CHECK(error_kind(ec) == kind);
        CHECK(ec.message().find("unknown") == std::string::npos);
        CHECK(std::string_view(ec.category().name()) == "http");
    }
}
