#include "fault_proxy.hpp"

#include "loopback_acceptor.hpp"

#include <boost/asio/connect.hpp>
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
#include <deque>
#include <mutex>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tether::test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using steady = std::chrono::steady_clock;
using strand_t = loopback_acceptor::strand_t;
using socket_t = loopback_acceptor::socket_t;
using timer_t = asio::basic_waitable_timer<steady, asio::wait_traits<steady>, strand_t>;
using mode = fault_proxy::mode;

constexpr std::size_t read_size = 64 * 1024;             // one read, forwarded as one chunk
constexpr std::size_t max_queued = std::size_t{1} << 20; // per direction; reading pauses above
constexpr std::size_t max_drain_reads = 1024;            // bound of the drain before a FIN close
constexpr auto cut_wait_limit = std::chrono::seconds(10);

class session;

/// What every connection pair reads: the controls, the counters and the registry of live pairs.
struct control {
    std::atomic<mode> current_mode{mode::pass};
    std::atomic<std::int64_t> delay_ms{0};
    std::atomic<std::size_t> accepted{0};
    std::atomic<std::size_t> open{0};
    tcp::resolver::results_type targets;

    std::mutex mutex;
    std::unordered_map<std::uint64_t, std::shared_ptr<session>>
        sessions; // owning: a paused pair has no pending operation
    std::uint64_t next_id = 0;

    std::chrono::milliseconds delay() const { return std::chrono::milliseconds(delay_ms.load()); }

    void forget(std::uint64_t id)
    {
        std::shared_ptr<session> dropped; // destroyed outside the lock
        std::lock_guard lock(mutex);
        if (auto it = sessions.find(id); it != sessions.end()) {
            dropped = std::move(it->second);
            sessions.erase(it);
        }
    }

    std::vector<std::shared_ptr<session>> snapshot()
    {
        std::lock_guard lock(mutex);
        std::vector<std::shared_ptr<session>> out;
        out.reserve(sessions.size());
        for (const auto& [id, s] : sessions)
            out.push_back(s);
        return out;
    }
};

struct chunk {
    std::vector<char> data;
    std::size_t offset = 0; // bytes already written
    steady::time_point read_at;
};

/// One accepted connection and its upstream connection. Everything runs on the pair's strand.
class session : public std::enable_shared_from_this<session> {
public:
    session(control& c, std::uint64_t id, socket_t client)
        : control_(c), id_(id), client_(std::move(client)), upstream_(client_.get_executor()),
          to_upstream_(client_.get_executor(), client_, upstream_),
          to_client_(client_.get_executor(), upstream_, client_)
    {
    }

    strand_t executor() { return client_.get_executor(); }

    void start()
    {
        asio::async_connect(upstream_, control_.targets,
                            [self = shared_from_this()](error_code ec, const tcp::endpoint&) {
                                if (self->closed_)
                                    return;
                                if (ec) {
                                    self->close(true);
                                    return;
                                }
                                error_code ignored;
                                self->upstream_.set_option(tcp::no_delay(true), ignored);
                                self->connected_ = true;
                                self->kick();
                            });
    }

    /// Restarts whatever a mode or delay change may have unblocked.
    void kick()
    {
        if (closed_ || !connected_)
            return;
        for (direction* d : {&to_upstream_, &to_client_}) {
            if (d->waiting)
                d->timer.cancel(); // re-evaluated by its handler with the new delay or mode
            pump_write(*d);
            pump_read(*d);
        }
    }

    void close(bool reset)
    {
        if (closed_)
            return;
        closed_ = true;
        for (socket_t* s : {&client_, &upstream_}) {
            if (!s->is_open())
                continue;
            error_code ignored;
            if (reset) {
                s->set_option(asio::socket_base::linger(true, 0), ignored);
            } else {
                drain(*s);
                s->shutdown(tcp::socket::shutdown_both, ignored);
            }
            s->close(ignored);
        }
        to_upstream_.timer.cancel();
        to_client_.timer.cancel();
        control_.open.fetch_sub(1);
        control_.forget(id_);
    }

private:
    struct direction {
        direction(const strand_t& ex, socket_t& src, socket_t& dst) : from(src), to(dst), timer(ex)
        {
        }
        socket_t& from;
        socket_t& to;
        std::vector<char> buffer = std::vector<char>(read_size);
        std::deque<chunk> queue;
        std::size_t queued = 0;
        bool reading = false; // a read is pending
        bool writing = false; // a write is pending
        bool waiting = false; // the delay timer is pending
        bool eof = false;     // `from` ended its stream
        bool shut = false;    // ... and that end was forwarded (shutdown of `to`'s send side)
        timer_t timer;
    };

    /// Reads so that closing with FIN does not turn into RST because of unread input.
    static void drain(socket_t& s)
    {
        std::array<char, 4096> scratch{};
        error_code ec;
        for (std::size_t i = 0; i < max_drain_reads; ++i) {
            const std::size_t n = s.available(ec);
            if (ec || n == 0)
                return;
            s.read_some(asio::buffer(scratch), ec);
            if (ec)
                return;
        }
    }

    void pump_read(direction& d)
    {
        if (closed_ || d.reading || d.eof || d.queued >= max_queued ||
            control_.current_mode.load() == mode::blackhole)
            return;
        d.reading = true;
        d.from.async_read_some(
            asio::buffer(d.buffer), [self = shared_from_this(), &d](error_code ec, std::size_t n) {
                d.reading = false;
                if (self->closed_)
                    return;
                if (n > 0) {
                    const auto first = d.buffer.begin();
                    d.queue.push_back(
                        chunk{std::vector<char>(first, first + static_cast<std::ptrdiff_t>(n)), 0,
                              steady::now()});
                    d.queued += n;
                }
                if (ec == asio::error::eof) {
                    d.eof = true;
                } else if (ec) {
                    self->close(true); // reset or another failure: abort the pair, both sides
                    return;
                }
                self->pump_write(d);
                self->pump_read(d);
            });
    }

    void pump_write(direction& d)
    {
        if (closed_ || d.writing || d.waiting)
            return;
        if (d.queue.empty()) {
            if (d.eof && !d.shut) { // forward the end of the stream once everything before it went
                d.shut = true;
                error_code ignored;
                d.to.shutdown(tcp::socket::shutdown_send, ignored);
                if (to_upstream_.shut && to_client_.shut)
                    close(false);
            }
            return;
        }
        const mode m = control_.current_mode.load();
        if (m == mode::blackhole)
            return;
        chunk& front = d.queue.front();
        const auto due = front.read_at + control_.delay();
        if (front.offset == 0 && steady::now() < due) {
            d.waiting = true;
            d.timer.expires_at(due);
            d.timer.async_wait([self = shared_from_this(), &d](error_code) {
                d.waiting = false;
                self->pump_write(d);
            });
            return;
        }
        const std::size_t n = m == mode::slice ? 1 : front.data.size() - front.offset;
        d.writing = true;
        asio::async_write(d.to, asio::buffer(front.data.data() + front.offset, n),
                          [self = shared_from_this(), &d](error_code ec, std::size_t written) {
                              d.writing = false;
                              if (self->closed_)
                                  return;
                              if (ec) {
                                  self->close(true);
                                  return;
                              }
                              chunk& f = d.queue.front();
                              f.offset += written;
                              if (f.offset == f.data.size()) {
                                  d.queued -= f.data.size();
                                  d.queue.pop_front();
                              }
                              self->pump_write(d);
                              self->pump_read(d);
                          });
    }

    control& control_;
    const std::uint64_t id_;
    socket_t client_;
    socket_t upstream_;
    direction to_upstream_;
    direction to_client_;
    bool connected_ = false;
    bool closed_ = false;
};

} // namespace

struct fault_proxy::impl {
    control ctl; // outlives the acceptor: handlers the io_context destroys hold sessions
    loopback_acceptor acceptor{"fault_proxy"};

    impl(const std::string& host, std::uint16_t target_port, unsigned thread_count)
    {
        try {
            tcp::resolver resolver(acceptor.io_context());
            ctl.targets = resolver.resolve(host, std::to_string(target_port));
        } catch (const boost::system::system_error& e) {
            throw std::system_error(e.code(), "fault_proxy");
        }
        acceptor.start(thread_count, [this](socket_t client) { on_accept(std::move(client)); });
    }

    ~impl()
    {
        acceptor.stop();
        // Nothing runs now. Drop the registry's references first (a paused pair has no pending
        // operation holding it), then the io_context (destroyed with the acceptor) destroys the
        // handlers holding the rest; each socket closes as its pair goes.
        std::unordered_map<std::uint64_t, std::shared_ptr<session>> sessions;
        {
            std::lock_guard lock(ctl.mutex);
            sessions.swap(ctl.sessions);
        }
        sessions.clear();
    }

    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

    // On the accept chain: never concurrently with itself.
    void on_accept(socket_t client)
    {
        ctl.accepted.fetch_add(1);
        ctl.open.fetch_add(1);
        std::shared_ptr<session> s;
        {
            std::lock_guard lock(ctl.mutex);
            const auto id = ctl.next_id++;
            s = std::make_shared<session>(ctl, id, std::move(client));
            ctl.sessions.emplace(id, s);
        }
        asio::dispatch(s->executor(), [s] { s->start(); });
    }

    void kick_all()
    {
        for (auto& s : ctl.snapshot())
            asio::post(s->executor(), [s] { s->kick(); });
    }
};

fault_proxy::fault_proxy(const std::string& target_host, std::uint16_t target_port,
                         unsigned threads)
    : impl_(std::make_unique<impl>(target_host, target_port, threads))
{
}

fault_proxy::~fault_proxy() = default;

std::uint16_t fault_proxy::port() const
{
    return impl_->acceptor.port();
}

void fault_proxy::set_mode(mode m)
{
    impl_->ctl.current_mode.store(m);
    impl_->kick_all();
}

fault_proxy::mode fault_proxy::get_mode() const
{
    return impl_->ctl.current_mode.load();
}

void fault_proxy::set_delay(std::chrono::milliseconds d)
{
    impl_->ctl.delay_ms.store(static_cast<std::int64_t>(d.count() < 0 ? 0 : d.count()));
    impl_->kick_all();
}

void fault_proxy::cut_all(bool reset)
{
    struct latch {
        std::mutex mutex;
        std::condition_variable cv;
        std::size_t left = 0;
    };
    const auto sessions = impl_->ctl.snapshot();
    auto done = std::make_shared<latch>();
    done->left = sessions.size();
    for (const auto& s : sessions)
        asio::post(s->executor(), [s, done, reset] {
            s->close(reset);
            std::lock_guard lock(done->mutex);
            if (--done->left == 0)
                done->cv.notify_all();
        });
    std::unique_lock lock(done->mutex);
    done->cv.wait_for(lock, cut_wait_limit, [&] { return done->left == 0; });
}

std::size_t fault_proxy::connections_accepted() const
{
    return impl_->ctl.accepted.load();
}

std::size_t fault_proxy::connections_open() const
{
    return impl_->ctl.open.load();
}

} // namespace tether::test
