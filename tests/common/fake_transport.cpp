#include "fake_transport.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <cstring>
#include <stdexcept>

namespace tether::test {

namespace asio = boost::asio;
using boost::system::error_code;

class fake_transport final : public detail::transport {
public:
    fake_transport(asio::any_io_executor strand, std::shared_ptr<fake_wire> wire)
        : strand_(std::move(strand)), wire_(std::move(wire))
    {
        wire_->transport = this;
    }
    ~fake_transport() override { wire_->transport = nullptr; }

    void async_connect(const endpoint&, std::shared_ptr<detail::transport_user> user) override
    {
        wire_->connect_asked = true;
        connect_user_ = std::move(user);
        if (wire_->connect_result)
            complete_connect(*wire_->connect_result);
    }
    void async_read_some(asio::mutable_buffer into,
                         std::shared_ptr<detail::transport_user> user) override
    {
        read_into_ = into;
        read_user_ = std::move(user);
        pump_reads();
    }
    void async_write(asio::const_buffer data, std::shared_ptr<detail::transport_user> user) override
    {
        pending_write_.assign(static_cast<const char*>(data.data()), data.size());
        write_user_ = std::move(user);
        if (!wire_->stall_writes)
            finish_write();
    }
    std::size_t write_now(asio::const_buffer data, error_code& ec) override
    {
        if (take_write_error(ec))
            return 0;
        const std::size_t n = std::min(data.size(), wire_->write_now_limit);
        wire_->written.append(static_cast<const char*>(data.data()), n);
        return n;
    }
    std::size_t available(error_code& ec) override
    {
        ec.clear();
        return inbound_.size();
    }
    void close(std::chrono::milliseconds grace) override
    {
        wire_->closed = true;
        wire_->close_grace = grace;
        fail_all(asio::error::operation_aborted);
    }

    // ---- the peer ------------------------------------------------------------------------
    void complete_connect(error_code ec)
    {
        if (!connect_user_)
            return;
        post([user = std::move(connect_user_), ec] {
            user->on_transport_connected(ec,
                                         ec ? "connect (fake): " + ec.message() : std::string());
        });
    }
    void deliver(std::string_view bytes)
    {
        inbound_.append(bytes);
        pump_reads();
    }
    void end_stream(error_code ec)
    {
        stream_error_ = ec;
        pump_reads();
    }
    void release_writes()
    {
        wire_->stall_writes = false;
        if (write_user_)
            finish_write();
    }

private:
    template <class F> void post(F&& f) { asio::post(strand_, std::forward<F>(f)); }
    bool take_write_error(error_code& ec)
    {
        ec = wire_->write_error;
        wire_->write_error.clear();
        return static_cast<bool>(ec);
    }
    void finish_write()
    {
        error_code ec;
        if (!take_write_error(ec))
            wire_->written += pending_write_;
        post([user = std::move(write_user_), ec] { user->on_transport_written(ec); });
    }
    void pump_reads()
    {
        if (!read_user_)
            return;
        if (!inbound_.empty()) {
            const std::size_t n = std::min(inbound_.size(), read_into_.size());
            std::memcpy(read_into_.data(), inbound_.data(), n);
            inbound_.erase(0, n);
            post([user = std::move(read_user_), n] { user->on_transport_read({}, n); });
        } else if (stream_error_) {
            post([user = std::move(read_user_), ec = stream_error_] {
                user->on_transport_read(ec, 0);
            });
        }
    }
    void fail_all(error_code ec)
    {
        if (connect_user_)
            post([user = std::move(connect_user_), ec] {
                user->on_transport_connected(ec, "closed");
            });
        if (read_user_)
            post([user = std::move(read_user_), ec] { user->on_transport_read(ec, 0); });
        if (write_user_)
            post([user = std::move(write_user_), ec] { user->on_transport_written(ec); });
    }

    asio::any_io_executor strand_;
    std::shared_ptr<fake_wire> wire_;
    std::shared_ptr<detail::transport_user> connect_user_, read_user_, write_user_;
    asio::mutable_buffer read_into_;
    std::string inbound_;
    std::string pending_write_;
    error_code stream_error_;
};

void fake_wire::complete_connect(error_code ec)
{
    if (transport)
        transport->complete_connect(ec);
}
void fake_wire::deliver(std::string_view bytes)
{
    if (transport)
        transport->deliver(bytes);
}
void fake_wire::end_of_stream()
{
    if (transport)
        transport->end_stream(asio::error::eof);
}
void fake_wire::reset()
{
    if (transport)
        transport->end_stream(asio::error::connection_reset);
}
void fake_wire::release_writes()
{
    if (transport)
        transport->release_writes();
}

std::vector<std::string> fake_wire::take_frames()
{
    std::vector<std::string> frames;
    std::size_t pos = 0;
    while (written.size() - pos >= 4) {
        const auto* p = reinterpret_cast<const unsigned char*>(written.data() + pos);
        const std::size_t len =
            (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
        if (written.size() - pos - 4 < len)
            break;
        frames.emplace_back(written.substr(pos + 4, len));
        pos += 4 + len;
    }
    written.erase(0, pos);
    return frames;
}

std::string encode_frame(const wire::message& m)
{
    std::string out;
    if (wire::serialize(m, out, wire::default_max_frame_size))
        throw std::invalid_argument("encode_frame: message not serializable");
    return out;
}

detail::transport_factory
fake_transport_factory(std::shared_ptr<std::deque<std::shared_ptr<fake_wire>>> wires,
                       std::shared_ptr<std::vector<std::shared_ptr<fake_wire>>> made)
{
    return [wires, made](const asio::any_io_executor& strand, const pool_config&) {
        std::shared_ptr<fake_wire> wire;
        if (!wires->empty()) {
            wire = wires->front();
            wires->pop_front();
        } else {
            wire = std::make_shared<fake_wire>();
        }
        made->push_back(wire);
        return std::make_unique<fake_transport>(strand, wire);
    };
}

} // namespace tether::test
