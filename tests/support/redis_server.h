// A throwaway redis-server for the tests: a child of the test with PR_SET_PDEATHSIG, so that it
// dies with the test whatever happens to it, listening on 127.0.0.1 on a free port, without
// persistence (`--save '' --appendonly no`; extra options may turn it on), its log and files in
// a temporary directory removed at the end. kill() and restart() (same port, same options) are
// for the fault tests. When there is no redis-server, start() says so and the test skips.
#pragma once

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/server_process.h"

namespace glide::testing {

class RedisServer {
public:
    RedisServer() = default;
    RedisServer(const RedisServer &) = delete;
    RedisServer &operator=(const RedisServer &) = delete;
    ~RedisServer() { kill(); } // before dir_ is removed

    // The redis-server program, or "" when it is not installed.
    static std::string binary() {
        for (const char *p : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"})
            if (access(p, X_OK) == 0)
                return p;
        return "";
    }

    // Starts the server on a free port with `options` after the defaults (later ones win, e.g.
    // "--appendonly", "yes"), and waits until it answers. False with `error` set when it could
    // not (no redis-server: error empty).
    bool start(std::string &error, std::vector<std::string> options = {}) {
        bin_ = binary();
        if (bin_.empty())
            return false;
        if (!dir_.make("glide-redis-test")) {
            error = "mkdtemp failed";
            return false;
        }
        options_ = std::move(options);
        for (size_t i = 0; i + 1 < options_.size(); i++)
            if (options_[i] == "--requirepass")
                password_ = options_[i + 1];
        // Another process may take the port between our probe and the server's bind: the
        // server then exits at once, and the next port is tried.
        for (int attempt = 0; attempt < 5; attempt++) {
            port_ = free_port();
            if (port_ == 0) {
                error = "no free port";
                return false;
            }
            if (launch(error))
                return true;
        }
        return false;
    }

    // Kills the server (SIGKILL: what it did not write is lost) and waits for it.
    void kill() {
        drop_client();
        stop_child(pid_, SIGKILL);
    }
    // Starts it again on the same port with the same options.
    bool restart(std::string &error) {
        kill();
        return launch(error);
    }
    bool running() const { return pid_ > 0; }
    // The server's directory (--dir: its append-only files when turned on).
    const std::string &dir() const { return dir_.path(); }

    uint16_t port() const { return port_; }
    // redis://[AUTH@]127.0.0.1:PORT[PATH]: auth is ":PASSWORD" or "USER:PASSWORD".
    std::string url(const std::string &auth = "", const std::string &path = "") const {
        return "redis://" + (auth.empty() ? "" : auth + "@") +
               "127.0.0.1:" + std::to_string(port_) + path;
    }

    // A command on the helper's own connection (opened again after a restart, authenticated
    // with the server's password): the reply as text. Integers, strings and statuses as they
    // are, nil "(nil)", an error "(error) TEXT", an array its elements joined by spaces.
    std::string call(const std::vector<std::string> &args) {
        if (!client_ && !open_client())
            return "(error) cannot connect";
        redisReply *r = command(args);
        if (!r) {
            drop_client(); // the server went away: the next call connects again
            return "(error) no reply";
        }
        std::string text = reply_text(r);
        freeReplyObject(r);
        return text;
    }
    // The number that follows `prefix` at the start of a line of INFO ALL, e.g.
    // "total_connections_received:" or "cmdstat_subscribe:calls="; 0 when there is no such
    // line (a command never called).
    long long info(const std::string &prefix) {
        std::istringstream in(call({"INFO", "ALL"}));
        std::string line;
        while (std::getline(in, line))
            if (line.compare(0, prefix.size(), prefix) == 0)
                return atoll(line.c_str() + prefix.size());
        return 0;
    }

private:
    static uint16_t free_port() {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            return 0;
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        uint16_t port = 0;
        if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) == 0)
            port = ntohs(a.sin_port);
        close(fd);
        return port;
    }

    bool launch(std::string &error) {
        std::vector<std::string> args = {bin_};
        auto option = [&](const std::string &name, const std::string &value) {
            args.push_back(name);
            args.push_back(value);
        };
        option("--port", std::to_string(port_));
        option("--bind", "127.0.0.1");
        option("--save", "");
        option("--appendonly", "no");
        option("--dir", dir());
        option("--logfile", dir() + "/redis.log");
        args.insert(args.end(), options_.begin(), options_.end());
        pid_ = spawn_child(args, dir() + "/stdout.log", SIGKILL);
        if (pid_ < 0) {
            error = "fork failed";
            return false;
        }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            if (answers())
                return true;
            int status;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                error = "redis-server exited: " + log_tail();
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        kill();
        error = "redis-server did not answer PING in 10 s: " + log_tail();
        return false;
    }

    // Any answer to PING (NOAUTH too: the server is up).
    bool answers() const {
        timeval tv{0, 200 * 1000};
        redisContext *c = redisConnectWithTimeout("127.0.0.1", port_, tv);
        bool ok = false;
        if (c && !c->err) {
            redisSetTimeout(c, tv);
            auto *r = static_cast<redisReply *>(redisCommand(c, "PING"));
            ok = r != nullptr;
            if (r)
                freeReplyObject(r);
        }
        if (c)
            redisFree(c);
        return ok;
    }

    bool open_client() {
        timeval tv{2, 0};
        client_ = redisConnectWithTimeout("127.0.0.1", port_, tv);
        if (!client_ || client_->err) {
            drop_client();
            return false;
        }
        redisSetTimeout(client_, tv);
        if (!password_.empty()) {
            redisReply *r = command({"AUTH", password_});
            bool ok = r && r->type != REDIS_REPLY_ERROR;
            if (r)
                freeReplyObject(r);
            if (!ok) {
                drop_client();
                return false;
            }
        }
        return true;
    }
    void drop_client() {
        if (client_)
            redisFree(client_);
        client_ = nullptr;
    }
    redisReply *command(const std::vector<std::string> &args) {
        std::vector<const char *> argv;
        std::vector<size_t> lens;
        for (const std::string &a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        return static_cast<redisReply *>(
            redisCommandArgv(client_, static_cast<int>(args.size()), argv.data(), lens.data()));
    }
    static std::string reply_text(const redisReply *r) {
        switch (r->type) {
        case REDIS_REPLY_INTEGER:
            return std::to_string(r->integer);
        case REDIS_REPLY_NIL:
            return "(nil)";
        case REDIS_REPLY_ERROR:
            return "(error) " + std::string(r->str, r->len);
        case REDIS_REPLY_ARRAY: {
            std::string s;
            for (size_t i = 0; i < r->elements; i++)
                s += (i ? " " : "") + reply_text(r->element[i]);
            return s;
        }
        default:
            return std::string(r->str, r->len);
        }
    }

    std::string log_tail() const {
        std::ifstream in(dir() + "/redis.log");
        std::string line, tail;
        while (std::getline(in, line))
            tail = line;
        return tail.empty() ? "no log in " + dir() : tail;
    }

    std::string bin_, password_;
    TempDir dir_;
    std::vector<std::string> options_;
    uint16_t port_ = 0;
    pid_t pid_ = -1;
    redisContext *client_ = nullptr;
};

} // namespace glide::testing
