#include "raw_connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <openssl/ssl.h>
#include <type_traits>
#include <utility>

namespace asio = boost::asio;
using boost::system::error_code;
using json = nlohmann::json;

namespace tether_bench {

namespace {

error_code protocol_error()
{
    return boost::system::errc::make_error_code(boost::system::errc::protocol_error);
}

} // namespace

std::string make_frame(const json& message)
{
    const std::string text = message.dump();
    const auto n = static_cast<std::uint32_t>(text.size());
    std::string frame;
    frame.reserve(4 + text.size());
    for (int shift = 24; shift >= 0; shift -= 8)
        frame.push_back(static_cast<char>(static_cast<unsigned char>(n >> shift)));
    frame += text;
    return frame;
}

template <class Stream>
void raw_connection<Stream>::connect(const asio::ip::tcp::endpoint& ep, const std::string& host)
{
    auto& socket = stream_.lowest_layer();
    socket.connect(ep);
    socket.set_option(asio::ip::tcp::no_delay(true));
    if constexpr (std::is_same_v<Stream, raw_tls_stream>) {
        error_code not_an_address;
        asio::ip::make_address(host, not_an_address);
        if (not_an_address) // SNI carries names only (SSL_set_tlsext_host_name, without its cast)
            SSL_ctrl(stream_.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                     TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str()));
        stream_.set_verify_callback(asio::ssl::host_name_verification(host));
        stream_.handshake(asio::ssl::stream_base::client);
    }
}

template <class Stream> void raw_connection<Stream>::start()
{
    asio::post(strand_, [self = this->shared_from_this()] { self->read_header(); });
}

template <class Stream>
void raw_connection<Stream>::async_request(const json& body, raw_callback done)
{
    const std::uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
    std::string frame = make_frame(json{{"type", "request"}, {"id", id}, {"body", body}});
    asio::post(strand_, [self = this->shared_from_this(), id, frame = std::move(frame),
                         done = std::move(done)]() mutable {
        if (self->closed_ || self->draining_) {
            done(asio::error::not_connected, json{});
            return;
        }
        self->pending_.emplace(id, std::move(done));
        self->send(std::move(frame));
    });
}

template <class Stream> void raw_connection<Stream>::close()
{
    asio::post(strand_,
               [self = this->shared_from_this()] { self->fail(asio::error::operation_aborted); });
}

template <class Stream> void raw_connection<Stream>::read_header()
{
    asio::async_read(stream_, asio::buffer(header_),
                     [self = this->shared_from_this()](error_code ec, std::size_t) {
                         if (ec) {
                             self->fail(ec);
                             return;
                         }
                         std::uint32_t length = 0;
                         for (const unsigned char byte : self->header_)
                             length = (length << 8) | byte;
                         if (length == 0 ||
                             length > max_frame) { // checked before allocating anything
                             self->fail(protocol_error());
                             return;
                         }
                         self->read_body(length);
                     });
}

template <class Stream> void raw_connection<Stream>::read_body(std::uint32_t length)
{
    payload_.resize(length);
    asio::async_read(stream_, asio::buffer(payload_),
                     [self = this->shared_from_this()](error_code ec, std::size_t) {
                         if (ec) {
                             self->fail(ec);
                             return;
                         }
                         if (self->on_message())
                             self->read_header();
                     });
}

template <class Stream> bool raw_connection<Stream>::on_message()
{
    json message = json::parse(payload_, nullptr, /*allow_exceptions=*/false);
    if (message.is_discarded() || !message.is_object()) {
        fail(protocol_error());
        return false;
    }
    const auto type = message.find("type");
    if (type == message.end() || !type->is_string()) {
        fail(protocol_error());
        return false;
    }
    const auto& name = type->get_ref<const std::string&>();
    if (name == "goaway") { // the server drains: send nothing new, still read what is owed
        draining_ = true;
        return true;
    }
    if (name != "response" && name != "ping")
        return true; // pong, notify, unknown: nothing to do for the baseline

    const auto id = message.find("id");
    if (id == message.end() || !id->is_number_unsigned()) {
        fail(protocol_error());
        return false;
    }
    if (name == "ping") {
        send(make_frame(json{{"type", "pong"}, {"id", *id}}));
        return true;
    }
    const auto entry = pending_.find(id->get<std::uint64_t>());
    if (entry == pending_.end())
        return true; // answers nothing outstanding: dropped
    raw_callback done = std::move(entry->second);
    pending_.erase(entry);
    if (const auto body = message.find("body"); body != message.end())
        done(error_code{}, std::move(*body));
    else if (const auto error = message.find("error"); error != message.end())
        done(boost::system::errc::make_error_code(boost::system::errc::bad_message),
             std::move(*error));
    else
        done(protocol_error(), json{});
    return true;
}

template <class Stream> void raw_connection<Stream>::send(std::string frame)
{
    if (closed_)
        return;
    writes_.push_back(std::move(frame));
    if (writes_.size() == 1)
        write_next();
}

template <class Stream> void raw_connection<Stream>::write_next()
{
    asio::async_write(stream_, asio::buffer(writes_.front()),
                      [self = this->shared_from_this()](error_code ec, std::size_t) {
                          if (ec) {
                              self->fail(ec);
                              return;
                          }
                          self->writes_.pop_front();
                          if (!self->writes_.empty() && !self->closed_)
                              self->write_next();
                      });
}

template <class Stream> void raw_connection<Stream>::fail(error_code ec)
{
    if (closed_)
        return;
    closed_ = true;
    error_code ignored;
    stream_.lowest_layer().close(ignored);
    // writes_ stays: a cancelled async_write may still refer to its front() until it completes.
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [id, done] : pending)
        done(ec, json{});
}

template class raw_connection<raw_tcp_stream>;
template class raw_connection<raw_tls_stream>;

} // namespace tether_bench
