#include "cluster/redis_url.h"

#include <cctype>

namespace glide::cluster {

static bool all_digits(std::string_view s) {
    if (s.empty())
        return false;
    for (char c : s)
        if (!isdigit(static_cast<unsigned char>(c)))
            return false;
    return true;
}

Result<RedisUrl> parse_redis_url(std::string_view url) {
    constexpr std::string_view scheme = "redis://";
    if (url.substr(0, scheme.size()) != scheme)
        return make_error("not a redis:// URL");
    std::string_view rest = url.substr(scheme.size());
    RedisUrl u;
    std::string_view auth;
    if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
        auth = rest.substr(0, at);
        rest = rest.substr(at + 1);
        size_t colon = auth.find(':');
        if (colon == std::string_view::npos)
            return make_error("the password must follow a ':' (redis://:PASSWORD@HOST:PORT)");
        u.user = auth.substr(0, colon);
        u.password = auth.substr(colon + 1);
        if (u.password.empty())
            return make_error("empty password");
    }
    std::string_view hostport = rest;
    if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
        hostport = rest.substr(0, slash);
        std::string_view db = rest.substr(slash + 1);
        if (!all_digits(db) || db.size() > 5)
            return make_error("the database must be a number");
        u.db = static_cast<uint32_t>(std::stoul(std::string(db)));
    }
    std::string_view host, port;
    if (!hostport.empty() && hostport[0] == '[') {
        size_t close = hostport.find(']');
        if (close == std::string_view::npos || close + 1 >= hostport.size() ||
            hostport[close + 1] != ':')
            return make_error("an IPv6 address needs [ADDRESS]:PORT");
        host = hostport.substr(1, close - 1);
        port = hostport.substr(close + 2);
    } else {
        size_t colon = hostport.rfind(':');
        if (colon == std::string_view::npos)
            return make_error("the port is missing (HOST:PORT)");
        host = hostport.substr(0, colon);
        port = hostport.substr(colon + 1);
    }
    if (host.empty())
        return make_error("the host is missing");
    for (char c : host)
        if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
              c == '_'))
            return make_error("invalid host \"" + std::string(host) + "\"");
    if (!all_digits(port) || port.size() > 5 || std::stoul(std::string(port)) == 0 ||
        std::stoul(std::string(port)) > 65535)
        return make_error("invalid port \"" + std::string(port) + "\"");
    u.host = host;
    u.port = static_cast<uint16_t>(std::stoul(std::string(port)));
    u.text = "redis://";
    if (!u.password.empty())
        u.text += u.user + ":***@";
    u.text += std::string(hostport);
    if (u.db)
        u.text += "/" + std::to_string(u.db);
    return u;
}

} // namespace glide::cluster
