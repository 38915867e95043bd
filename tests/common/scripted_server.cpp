#include "scripted_server.hpp"

#include "loopback_acceptor.hpp"
#include "sansio/frame_decoder.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace tether::test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using steady = std::chrono::steady_clock;
using strand_t = loopback_acceptor::strand_t;
using socket_t = loopback_acceptor::socket_t;
using timer_t = asio::basic_waitable_timer<steady, asio::wait_traits<steady>, strand_t>;

constexpr std::size_t max_drain_reads = 1024;  // bound of the drain before a FIN close
constexpr std::size_t client_json_depth = 256; // what the server accepts from the client
constexpr auto close_wait_limit = std::chrono::seconds(10);

class conn_impl;

/// What every connection reads: the script, the counters and the registry of live connections.
struct shared_state {
    scripted_server::options opts;
    std::atomic<std::size_t> accepted{0};
    std::atomic<std::size_t> open{0};
    std::atomic<std::uint64_t> bytes{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> pings{0};

    mutable std::mutex mutex;
    std::map<std::uint64_t, std::shared_ptr<conn_impl>> conns; // owning; ordered = accept order

    void forget(std::uint64_t id)
    {
        std::shared_ptr<conn_impl> dropped; // destroyed outside the lock
        std::lock_guard lock(mutex);
        if (auto it = conns.find(id); it != conns.end()) {
            dropped = std::move(it->second);
            conns.erase(it);
        }
    }
};

class conn_impl final : public scripted_server::connection {
public:
    conn_impl(shared_state& state, std::uint64_t id, socket_t socket)
        : state_(state), id_(id), socket_(std::move(socket)), timer_(socket_.get_executor()),
          decoder_(state.opts.max_frame_size)
    {
    }

    strand_t executor() { return socket_.get_executor(); }

    // Runs on the strand.
    void start()
    {
        if (state_.opts.on_accept)
            invoke([&] { state_.opts.on_accept(*this); });
        if (!closed_)
            read();
    }

    void send_raw(std::string bytes) override
    {
        std::deque<item> items;
        items.push_back(item{std::move(bytes), {}, false, false});
        enqueue(std::move(items));
    }

    void send_frame(std::string_view payload) override { send_raw(make_frame(payload)); }

    void send_message(const wire::message& msg) override
    {
        std::string out;
        if (const auto ec = wire::serialize(msg, out, std::numeric_limits<std::uint32_t>::max()))
            throw std::invalid_argument("scripted_server: cannot serialize message: " +
                                        ec.message());
        send_raw(std::move(out));
    }

    void respond(std::uint64_t request_id, const nlohmann::json& body) override
    {
        send_message(wire::response{request_id, body, std::nullopt});
    }

    void send_raw_in_pieces(std::string bytes, std::size_t pieces,
                            std::chrono::microseconds delay) override
    {
        if (bytes.empty())
            return;
        if (pieces == 0)
            pieces = 1;
        if (pieces > bytes.size())
            pieces = bytes.size();
        const std::size_t base = bytes.size() / pieces, extra = bytes.size() % pieces;
        std::deque<item> items;
        std::size_t at = 0;
        for (std::size_t i = 0; i < pieces; ++i) {
            const std::size_t n = base + (i < extra ? 1 : 0);
            items.push_back(item{bytes.substr(at, n), delay, false, false});
            at += n;
        }
        enqueue(std::move(items));
    }

    void close() override
    {
        std::deque<item> items;
        items.push_back(item{{}, {}, true, false});
        enqueue(std::move(items));
    }

    std::uint64_t id() const override { return id_; }
    bool is_open() const override { return open_.load(); }
    std::uint64_t requests_received() const override { return requests_.load(); }
    std::uint64_t pongs_received() const override { return pongs_.load(); }
    std::size_t bytes_queued() const override { return queued_bytes_.load(); }

    /// Closes now, dropping queued output (strand only).
    void close_now() { do_close(); }

private:
    struct item {
        std::string data;
        std::chrono::microseconds delay; // before this item is written
        bool close;                      // a close marker, no data
        bool waited;                     // its delay has passed
    };

    std::shared_ptr<conn_impl> self()
    {
        return std::static_pointer_cast<conn_impl>(shared_from_this());
    }

    // A script callback; an exception closes the connection (and is reported), never the server.
    template <class F> void invoke(F&& f)
    {
        try {
            f();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "scripted_server: script threw: %s\n", e.what());
            do_close();
        }
    }

    void enqueue(std::deque<item> items)
    {
        std::size_t n = 0;
        for (const auto& i : items)
            n += i.data.size();
        queued_bytes_.fetch_add(n);
        asio::dispatch(executor(), [s = self(), items = std::move(items), n]() mutable {
            if (s->closed_) {
                s->queued_bytes_.fetch_sub(n);
                return;
            }
            for (auto& i : items)
                s->queue_.push_back(std::move(i));
            s->pump();
        });
    }

    void read()
    {
        const auto space = decoder_.prepare();
        socket_.async_read_some(asio::buffer(space.data(), space.size()),
                                [s = self()](error_code ec, std::size_t n) { s->on_read(ec, n); });
    }

    void on_read(error_code ec, std::size_t n)
    {
        if (closed_)
            return;
        if (ec) { // end of stream or reset: the client is gone
            do_close();
            return;
        }
        state_.bytes.fetch_add(n);
        decoder_.commit(n);
        std::string_view payload;
        error_code decode_ec;
        for (;;) {
            const auto status = decoder_.next(payload, decode_ec);
            if (status == wire::decode_status::need_more)
                break;
            if (status == wire::decode_status::error) {
                do_close();
                return;
            }
            handle(payload);
            if (closed_)
                return;
        }
        read();
    }

    void handle(std::string_view payload)
    {
        auto parsed = wire::parse(payload, {wire::sender::client, client_json_depth});
        if (parsed.ec) {
            std::fprintf(stderr, "scripted_server: bad frame from the client: %s\n",
                         parsed.detail.c_str());
            do_close();
            return;
        }
        auto& opts = state_.opts;
        if (auto* r = std::get_if<wire::request>(&parsed.msg)) {
            state_.requests.fetch_add(1);
            requests_.fetch_add(1);
            if (opts.on_request)
                invoke([&] { opts.on_request(*this, r->id, r->body); });
            else
                respond(r->id, r->body);
            return;
        }
        if (const auto* p = std::get_if<wire::ping>(&parsed.msg)) {
            state_.pings.fetch_add(1);
            if (opts.answer_pings)
                send_message(wire::pong{p->id});
        } else if (std::holds_alternative<wire::pong>(parsed.msg)) {
            pongs_.fetch_add(1);
        }
        if (opts.on_message && !closed_)
            invoke([&] { opts.on_message(*this, parsed.msg); });
    }

    void pump()
    {
        if (closed_ || writing_ || waiting_ || queue_.empty())
            return;
        item& front = queue_.front();
        if (front.delay.count() > 0 && !front.waited) {
            waiting_ = true;
            timer_.expires_after(front.delay);
            timer_.async_wait([s = self()](error_code) {
                s->waiting_ = false;
                if (s->closed_ || s->queue_.empty())
                    return;
                s->queue_.front().waited = true;
                s->pump();
            });
            return;
        }
        if (front.close) {
            do_close();
            return;
        }
        writing_ = true;
        asio::async_write(socket_, asio::buffer(front.data),
                          [s = self()](error_code ec, std::size_t) {
                              s->writing_ = false;
                              if (s->closed_)
                                  return;
                              if (ec) {
                                  s->do_close();
                                  return;
                              }
                              s->queued_bytes_.fetch_sub(s->queue_.front().data.size());
                              s->queue_.pop_front();
                              s->pump();
                          });
    }

    /// Reads what is waiting so that the FIN close does not turn into an RST.
    void drain()
    {
        std::array<char, 4096> scratch{};
        error_code ec;
        for (std::size_t i = 0; i < max_drain_reads; ++i) {
            const std::size_t n = socket_.available(ec);
            if (ec || n == 0)
                return;
            socket_.read_some(asio::buffer(scratch), ec);
            if (ec)
                return;
        }
    }

    void do_close()
    {
        if (closed_)
            return;
        closed_ = true;
        open_.store(false);
        if (socket_.is_open()) {
            error_code ignored;
            drain();
            socket_.shutdown(tcp::socket::shutdown_both, ignored);
            socket_.close(ignored);
        }
        timer_.cancel();
        std::size_t dropped = 0;
        for (const auto& i : queue_)
            dropped += i.data.size();
        queue_.clear();
        queued_bytes_.fetch_sub(dropped);
        state_.open.fetch_sub(1);
        state_.forget(id_); // may drop the registry's reference: handlers still hold one
    }

    shared_state& state_;
    const std::uint64_t id_;
    socket_t socket_;
    timer_t timer_;
    wire::frame_decoder decoder_;
    std::deque<item> queue_;
    bool writing_ = false;
    bool waiting_ = false;
    bool closed_ = false;
    std::atomic<bool> open_{true};
    std::atomic<std::size_t> queued_bytes_{0};
    std::atomic<std::uint64_t> requests_{0};
    std::atomic<std::uint64_t> pongs_{0};
};

} // namespace

struct scripted_server::impl {
    shared_state state; // outlives the acceptor: handlers the io_context destroys hold connections
    loopback_acceptor acceptor{"scripted_server"};
    std::uint64_t next_id = 0; // accept chain only

    explicit impl(options opts)
    {
        state.opts = std::move(opts);
        acceptor.start(state.opts.threads,
                       [this](socket_t client) { on_accept(std::move(client)); });
    }

    ~impl()
    {
        acceptor.stop();
        // Nothing runs now. Drop the registry's references first, then the io_context (destroyed
        // with the acceptor) destroys the handlers holding the rest; each socket closes as its
        // connection goes.
        std::map<std::uint64_t, std::shared_ptr<conn_impl>> conns;
        {
            std::lock_guard lock(state.mutex);
            conns.swap(state.conns);
        }
        conns.clear();
    }

    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

    // On the accept chain: never concurrently with itself.
    void on_accept(socket_t client)
    {
        state.accepted.fetch_add(1);
        state.open.fetch_add(1);
        auto c = std::make_shared<conn_impl>(state, next_id++, std::move(client));
        {
            std::lock_guard lock(state.mutex);
            state.conns.emplace(c->id(), c);
        }
        asio::dispatch(c->executor(), [c] { c->start(); });
    }
};

scripted_server::scripted_server(options opts) : impl_(std::make_unique<impl>(std::move(opts))) {}

scripted_server::scripted_server(request_handler on_request)
    : scripted_server([&] {
          options o;
          o.on_request = std::move(on_request);
          return o;
      }())
{
}

scripted_server::~scripted_server() = default;

std::uint16_t scripted_server::port() const
{
    return impl_->acceptor.port();
}

std::size_t scripted_server::connections_accepted() const
{
    return impl_->state.accepted.load();
}

std::size_t scripted_server::connections_open() const
{
    return impl_->state.open.load();
}

std::uint64_t scripted_server::bytes_received() const
{
    return impl_->state.bytes.load();
}

std::uint64_t scripted_server::requests_received() const
{
    return impl_->state.requests.load();
}

std::uint64_t scripted_server::pings_received() const
{
    return impl_->state.pings.load();
}

std::vector<std::shared_ptr<scripted_server::connection>> scripted_server::connections() const
{
    std::vector<std::shared_ptr<connection>> out;
    std::lock_guard lock(impl_->state.mutex);
    out.reserve(impl_->state.conns.size());
    for (const auto& [id, c] : impl_->state.conns)
        out.push_back(c);
    return out;
}

void scripted_server::close_all()
{
    struct latch {
        std::mutex mutex;
        std::condition_variable cv;
        std::size_t left = 0;
    };
    std::vector<std::shared_ptr<conn_impl>> conns;
    {
        std::lock_guard lock(impl_->state.mutex);
        for (const auto& [id, c] : impl_->state.conns)
            conns.push_back(c);
    }
    auto done = std::make_shared<latch>();
    done->left = conns.size();
    for (const auto& c : conns)
        asio::post(c->executor(), [c, done] {
            c->close_now();
            std::lock_guard lock(done->mutex);
            if (--done->left == 0)
                done->cv.notify_all();
        });
    std::unique_lock lock(done->mutex);
    done->cv.wait_for(lock, close_wait_limit, [&] { return done->left == 0; });
}

std::string frame_header(std::uint32_t length)
{
    std::string h(wire::frame_header_size, '\0');
    wire::write_frame_length(h.data(), length);
    return h;
}

std::string make_frame(std::string_view payload)
{
    if (payload.size() > std::numeric_limits<std::uint32_t>::max())
        throw std::length_error("scripted_server: payload too long for one frame");
    std::string out = frame_header(static_cast<std::uint32_t>(payload.size()));
    out.append(payload);
    return out;
}

} // namespace tether::test
