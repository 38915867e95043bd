#include "probe_link.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace tether_scale {

probe_link::probe_link(std::uint16_t port, bool tls, std::chrono::seconds receive_timeout)
{
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
        throw std::runtime_error(std::string("probe socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{};
    tv.tv_sec = receive_timeout.count();
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        const int err = errno;
        close();
        throw std::runtime_error(std::string("probe connect: ") + std::strerror(err));
    }
    if (!tls)
        return;
    tls_context_ = SSL_CTX_new(TLS_client_method());
    tls_ = tls_context_ != nullptr ? SSL_new(tls_context_) : nullptr;
    if (tls_ == nullptr || SSL_set_fd(tls_, fd_) != 1 || SSL_connect(tls_) != 1) {
        close();
        throw std::runtime_error("probe: TLS handshake failed");
    }
}

probe_link::~probe_link()
{
    close();
}

bool probe_link::send_all(std::string_view bytes)
{
    if (tls_ != nullptr) // blocking: SSL_write returns once all is written
        return SSL_write(tls_, bytes.data(), static_cast<int>(bytes.size())) ==
               static_cast<int>(bytes.size());
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
}

std::size_t probe_link::receive(char* buffer, std::size_t size)
{
    const auto n = tls_ != nullptr ? SSL_read(tls_, buffer, static_cast<int>(size))
                                   : ::recv(fd_, buffer, size, 0);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
}

void probe_link::interrupt() noexcept
{
    ::shutdown(fd_, SHUT_RDWR);
}

void probe_link::close() noexcept
{
    SSL_free(tls_); // both accept null
    SSL_CTX_free(tls_context_);
    tls_ = nullptr;
    tls_context_ = nullptr;
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

} // namespace tether_scale
