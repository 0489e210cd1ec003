// The one translation unit that compiles Boost.Asio's non-template code
// (separate compilation): every other fanout source includes Asio's headers
// with BOOST_ASIO_SEPARATE_COMPILATION and links against this.
#include <boost/asio/impl/src.hpp>
