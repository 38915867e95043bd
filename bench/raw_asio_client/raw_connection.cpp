#include "raw_connection.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

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

raw_connection::raw_connection(asio::io_context& io)
    : strand_(asio::make_strand(io)), socket_(strand_)
{
}

void raw_connection::connect(const asio::ip::tcp::endpoint& ep)
{
    socket_.connect(ep);
    socket_.set_option(asio::ip::tcp::no_delay(true));
}

void raw_connection::start()
{
    asio::post(strand_, [self = shared_from_this()] { self->read_header(); });
}

void raw_connection::async_request(const json& body, raw_callback done)
{
    const std::uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
    std::string frame = make_frame(json{{"type", "request"}, {"id", id}, {"body", body}});
    asio::post(strand_, [self = shared_from_this(), id, frame = std::move(frame),
                         done = std::move(done)]() mutable {
        if (self->closed_ || self->draining_) {
            done(asio::error::not_connected, json{});
            return;
        }
        self->pending_.emplace(id, std::move(done));
        self->send(std::move(frame));
    });
}

void raw_connection::close()
{
    asio::post(strand_,
               [self = shared_from_this()] { self->fail(asio::error::operation_aborted); });
}

void raw_connection::read_header()
{
    asio::async_read(
        socket_, asio::buffer(header_), [self = shared_from_this()](error_code ec, std::size_t) {
            if (ec) {
                self->fail(ec);
                return;
            }
            std::uint32_t length = 0;
            for (const unsigned char byte : self->header_)
                length = (length << 8) | byte;
            if (length == 0 || length > max_frame) { // checked before allocating anything
                self->fail(protocol_error());
                return;
            }
            self->read_body(length);
        });
}

void raw_connection::read_body(std::uint32_t length)
{
    payload_.resize(length);
    asio::async_read(socket_, asio::buffer(payload_),
                     [self = shared_from_this()](error_code ec, std::size_t) {
                         if (ec) {
                             self->fail(ec);
                             return;
                         }
                         if (self->on_message())
                             self->read_header();
                     });
}

bool raw_connection::on_message()
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

void raw_connection::send(std::string frame)
{
    if (closed_)
        return;
    writes_.push_back(std::move(frame));
    if (writes_.size() == 1)
        write_next();
}

void raw_connection::write_next()
{
    asio::async_write(socket_, asio::buffer(writes_.front()),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                          if (ec) {
                              self->fail(ec);
                              return;
                          }
                          self->writes_.pop_front();
                          if (!self->writes_.empty() && !self->closed_)
                              self->write_next();
                      });
}

void raw_connection::fail(error_code ec)
{
    if (closed_)
        return;
    closed_ = true;
    error_code ignored;
    socket_.close(ignored);
    // writes_ stays: a cancelled async_write may still refer to its front() until it completes.
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [id, done] : pending)
        done(ec, json{});
}

} // namespace tether_bench
