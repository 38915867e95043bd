// tether-echo-server (CMake target echo_server): tether's reference server (wire protocol v1)
// as a program.
//
// Prints "LISTENING <port>" once it accepts connections. SIGINT/SIGTERM drain it (goaway to
// every client, answer what still arrives, close when the clients close or at the drain
// timeout) and it exits 0; a second signal during the drain stops it at once. With --tls-cert
// and --tls-key it speaks TLS (docs/echo_server.md, "TLS").

#include <tether/testing/echo_server.hpp>
#include <tether/testing/run_loop.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace {

constexpr int exit_usage = 2;

constexpr std::string_view usage_text = R"(usage: tether-echo-server [options]

tether's reference server for wire protocol v1: answers every ping with a pong and every
request with a response whose body equals the request's body.

options:
  --host H            address to listen on (default 127.0.0.1)
  --port P            TCP port, 0 = ephemeral (default 0)
  --threads N         io threads (default 1)
  --ping-interval MS  ping every connection this often; 0 = never (default 0)
  --max-frame BYTES   largest frame accepted and sent (default 4194304)
  --max-depth N       deepest JSON nesting accepted (default 64)
  --drain-timeout MS  on SIGINT/SIGTERM, how long to wait for clients to close (default 5000)
  --tls-cert FILE     speak TLS (1.2 or newer) with this PEM certificate (chain); needs --tls-key
  --tls-key FILE      the certificate's PEM private key (unencrypted); needs --tls-cert
  --tls-client-ca FILE
                      require client certificates and verify them against these PEM CAs
  --tls-alpn PROTO    accept this ALPN protocol (repeat for more, preferred first); a client
                      offering none of them (or no ALPN) gets a no_application_protocol alert
  --require-login TOKEN
                      every connection must first send the request {"op":"login","token":TOKEN}
                      (answered {"op":"login","ok":true}); another token gets the error
                      {401, "bad token"}, any other request before it {401, "login required"}
  --help              this text

Prints "LISTENING <port>" on stdout when ready. SIGINT/SIGTERM: send goaway to every
connection, keep answering, exit 0 once all clients closed (or at the drain timeout);
a second signal stops at once. A client that shuts down its sending side still gets
every reply it is owed before the server closes; a client that does not read its
replies is not read from while 1 MiB of output waits for it.

With TLS each connection starts with the handshake (10 s at most; a failure or a timeout
closes the socket), then speaks protocol v1 inside it. The server closes with close_notify
(waiting 1 s at most for the client's) when it drains, when the client closed (its
close_notify is answered) and for the close control; reset and truncate close without it.

Test controls, under the member "$test" of an object request body (any other body is
echoed as is). They combine, and act when the reply is due (after sleep_ms):
  {"$test":{"sleep_ms":N}}      reply after N ms (0..3600000) without delaying other
                                requests or pings on the connection (out-of-order replies)
  {"$test":{"error":{"code":C,"message":"M"}}}
                                reply with the error {code C, message M} instead of a body
  {"$test":{"close":true}}      close the connection (FIN) without replying
  {"$test":{"reset":true}}      close the connection with RST (SO_LINGER 0) without replying
  {"$test":{"hang":true}}       the connection stops reading and answering anything (pings
                                included); the socket stays open until the server stops
  {"$test":{"no_reply":true}}   never answer this request (others are answered)
  {"$test":{"goaway":true}}     reply, then send goaway{"reason":"test"} on this connection
                                (requests that still arrive are answered)
  {"$test":{"notify":N}}        send N notify frames with body {"seq":i}, i = 0..N-1,
                                just before the response
  {"$test":{"truncate":true}}   send the first half of the response's frame, then close
                                (FIN; over TLS without close_notify): a stream cut mid-frame
A malformed or unknown control is answered with the error code 400.
)";

[[noreturn]] void usage_error(const std::string& message)
{
    std::cerr << "tether-echo-server: " << message << "\ntry 'tether-echo-server --help'\n";
    std::exit(exit_usage);
}

template <class T> T parse_number(std::string_view option, std::string_view text, T min, T max)
{
    T value{};
    const auto* first = text.data();
    const auto* last = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(first, last, value);
    if (text.empty() || ec != std::errc{} || ptr != last || value < min || value > max)
        usage_error("invalid value '" + std::string(text) + "' for " + std::string(option) +
                    " (expected an integer in " + std::to_string(min) + ".." + std::to_string(max) +
                    ")");
    return value;
}

std::string read_file(std::string_view option, const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        usage_error("cannot open '" + path + "' for " + std::string(option) + ": " +
                    std::strerror(errno));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad())
        usage_error("cannot read '" + path + "' for " + std::string(option));
    return text;
}

/// The TLS options as given on the command line: files not read yet.
struct tls_args {
    std::optional<std::string> cert_file;
    std::optional<std::string> key_file;
    std::optional<std::string> client_ca_file;
    std::vector<std::string> alpn;
};

std::optional<tether::testing::echo_server_tls> read_tls(const tls_args& a)
{
    if (a.cert_file.has_value() != a.key_file.has_value())
        usage_error("--tls-cert and --tls-key go together");
    if (!a.cert_file) {
        if (a.client_ca_file || !a.alpn.empty())
            usage_error("--tls-client-ca and --tls-alpn need --tls-cert and --tls-key");
        return std::nullopt;
    }
    tether::testing::echo_server_tls tls;
    tls.cert_pem = read_file("--tls-cert", *a.cert_file);
    tls.key_pem = read_file("--tls-key", *a.key_file);
    if (a.client_ca_file)
        tls.client_ca_pem = read_file("--tls-client-ca", *a.client_ca_file);
    tls.alpn = a.alpn;
    return tls;
}

tether::testing::echo_server_options parse_args(int argc, char** argv)
{
    tether::testing::echo_server_options o;
    tls_args tls;
    const auto args_end = static_cast<std::size_t>(argc);
    for (std::size_t i = 1; i < args_end; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << usage_text;
            std::exit(0);
        }
        if (!arg.starts_with("--"))
            usage_error("unexpected argument '" + std::string(arg) + "'");
        // Both "--opt value" and "--opt=value".
        std::string_view name = arg;
        std::optional<std::string_view> value;
        if (const auto eq = arg.find('='); eq != std::string_view::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
        }
        const auto take_value = [&]() -> std::string_view {
            if (value)
                return *value;
            if (i + 1 >= args_end)
                usage_error("option " + std::string(name) + " needs a value");
            return argv[++i];
        };
        constexpr long long max_ms = 24LL * 3600 * 1000;
        if (name == "--host") {
            const auto h = take_value();
            if (h.empty())
                usage_error("--host must not be empty");
            o.host = std::string(h);
        } else if (name == "--port") {
            o.port = parse_number<std::uint16_t>(name, take_value(), 0, 65535);
        } else if (name == "--threads") {
            o.threads = parse_number<int>(name, take_value(), 1, 1024);
        } else if (name == "--ping-interval") {
            o.ping_interval =
                std::chrono::milliseconds(parse_number<long long>(name, take_value(), 0, max_ms));
        } else if (name == "--max-frame") {
            o.max_frame_size = parse_number<std::uint32_t>(
                name, take_value(), 64, std::numeric_limits<std::uint32_t>::max());
        } else if (name == "--max-depth") {
            o.max_json_depth = parse_number<std::size_t>(name, take_value(), 1, 100'000);
        } else if (name == "--drain-timeout") {
            o.drain_timeout =
                std::chrono::milliseconds(parse_number<long long>(name, take_value(), 0, max_ms));
        } else if (name == "--tls-cert") {
            tls.cert_file = std::string(take_value());
        } else if (name == "--tls-key") {
            tls.key_file = std::string(take_value());
        } else if (name == "--tls-client-ca") {
            tls.client_ca_file = std::string(take_value());
        } else if (name == "--tls-alpn") {
            tls.alpn.emplace_back(take_value());
        } else if (name == "--require-login") {
            const auto token = take_value();
            if (token.empty())
                usage_error("--require-login needs a non-empty token");
            o.login_token = std::string(token);
        } else {
            usage_error("unknown option '" + std::string(name) + "'");
        }
    }
    o.tls = read_tls(tls);
    return o;
}

} // namespace

int main(int argc, char** argv)
{
    const auto options = parse_args(argc, argv);
    try {
        tether::testing::echo_server server(options);

        // Signals are caught by Asio (async-signal-safe) and handled on a thread of their own.
        boost::asio::io_context signal_io;
        boost::asio::signal_set signals(signal_io, SIGINT, SIGTERM);
        int received = 0;
        std::function<void(const boost::system::error_code&, int)> on_signal =
            [&](const boost::system::error_code& ec, int) {
                if (ec)
                    return;
                if (++received == 1) {
                    server.begin_drain();
                    signals.async_wait(on_signal);
                } else {
                    server.stop();
                }
            };
        signals.async_wait(on_signal);

        server.start();
        std::thread signal_thread =
            tether::testing::start_io_thread(signal_io, "tether-echo-server");
        std::cout << "LISTENING " << server.port() << std::endl;

        server.wait(); // returns once a signal drained (or stopped) the server
        signal_io.stop();
        signal_thread.join();
        return 0;
    } catch (const std::invalid_argument& e) {
        // Options the server refuses: PEM text that does not parse, a key that does not match.
        std::cerr << "tether-echo-server: " << e.what() << '\n';
        return exit_usage;
    } catch (const std::exception& e) {
        // The server's own exceptions already say "echo_server: ...".
        std::cerr << e.what() << '\n';
        return 1;
    }
}
