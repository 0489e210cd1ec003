// The one translation unit that compiles the non-template code of Boost.Asio,
// its TLS part and Boost.Beast (separate compilation): every other fanout
// source includes their headers with BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION and links against this.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
