#include "openssl_handles.hpp"

#include <climits>
#include <openssl/err.h>
#include <stdexcept>

namespace tether::testing::detail {

std::string openssl_error_text(std::string_view what)
{
    std::string text(what);
    const char* separator = ": ";
    while (const unsigned long code = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        text += separator;
        text += buffer;
        separator = "; ";
    }
    return text;
}

void throw_openssl_error(std::string_view what)
{
    throw std::runtime_error(openssl_error_text(what));
}

bio_ptr memory_bio(std::string_view text)
{
    if (text.size() > static_cast<std::size_t>(INT_MAX))
        throw std::runtime_error("PEM text too large");
    bio_ptr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio)
        throw_openssl_error("BIO_new_mem_buf");
    return bio;
}

std::string bio_text(BIO* bio)
{
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

} // namespace tether::testing::detail
