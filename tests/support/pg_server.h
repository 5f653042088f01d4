// A throwaway PostgreSQL server for the tests: initdb into a temporary directory, the server
// listening only on a unix socket in that directory, run as a child of the test with
// PR_SET_PDEATHSIG so that it dies with the test whatever happens to it, and the directory
// removed at the end. As root (CI) the server runs as the `postgres` user, which owns the
// directory. The binaries come from `pg_config --bindir`, else /usr/lib/postgresql/*/bin; when
// there are none, start() says so and the test skips.
#pragma once

#include <dirent.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "support/server_process.h"

namespace glide::testing {

class PgServer {
public:
    PgServer() = default;
    PgServer(const PgServer &) = delete;
    PgServer &operator=(const PgServer &) = delete;
    ~PgServer() { stop_child(pid_, SIGQUIT); } // before dir_ is removed

    // The directory of initdb and postgres, or "" when PostgreSQL is not installed.
    static std::string bindir() {
        if (FILE *p = popen("pg_config --bindir 2>/dev/null", "r")) {
            char buf[512] = {0};
            bool got = fgets(buf, sizeof buf, p) != nullptr;
            pclose(p);
            std::string d = got ? buf : "";
            while (!d.empty() && (d.back() == '\n' || d.back() == ' '))
                d.pop_back();
            if (!d.empty() && access((d + "/initdb").c_str(), X_OK) == 0)
                return d;
        }
        std::string best;
        if (DIR *dir = opendir("/usr/lib/postgresql")) {
            while (dirent *e = readdir(dir)) {
                std::string d = std::string("/usr/lib/postgresql/") + e->d_name + "/bin";
                if (e->d_name[0] != '.' && access((d + "/initdb").c_str(), X_OK) == 0 &&
                    d > best)
                    best = d;
            }
            closedir(dir);
        }
        return best;
    }

    // initdb and start; false with `error` set when it could not (no binaries: error empty).
    bool start(std::string &error) {
        bin_ = bindir();
        if (bin_.empty())
            return false;
        if (!dir_.make("glide-pg-test")) {
            error = "mkdtemp failed";
            return false;
        }
        if (geteuid() == 0) {
            passwd *pw = getpwnam("postgres");
            if (!pw) {
                error = "no postgres user to run the server as";
                return false;
            }
            uid_ = pw->pw_uid;
            gid_ = pw->pw_gid;
            if (chown(dir().c_str(), uid_, gid_) != 0) {
                error = "chown failed";
                return false;
            }
        }
        chmod(dir().c_str(), 0700);
        port_ = 20000 + getpid() % 20000;
        int st = run({bin_ + "/initdb", "-D", dir() + "/data", "-U", "glide", "-A", "trust",
                      "-E", "UTF8", "--no-sync", "--locale=C"},
                     dir() + "/initdb.log");
        if (st != 0) {
            error = "initdb failed, see " + dir() + "/initdb.log";
            return false;
        }
        return launch(error);
    }

    // Stops the server as `pg_ctl stop -m immediate` does (no checkpoint: crash recovery at the
    // next start), or politely.
    void stop(bool immediate = true) { stop_child(pid_, immediate ? SIGQUIT : SIGINT); }
    bool restart(std::string &error) {
        stop(true);
        return launch(error);
    }

    // A connection URI for database `db`.
    std::string uri(const std::string &db) const {
        return "postgresql://glide@/" + db + "?host=" + dir() + "&port=" + std::to_string(port_);
    }
    const std::string &dir() const { return dir_.path(); }

    // CREATE DATABASE db (a fresh one per test); false on failure.
    bool create_db(const std::string &db) { return exec("postgres", "CREATE DATABASE " + db); }
    bool exec(const std::string &db, const std::string &sql) {
        PGconn *c = PQconnectdb(uri(db).c_str());
        bool ok = PQstatus(c) == CONNECTION_OK;
        if (ok) {
            PGresult *r = PQexec(c, sql.c_str());
            ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
            if (!ok)
                fprintf(stderr, "%s: %s", sql.c_str(), PQerrorMessage(c));
            PQclear(r);
        }
        PQfinish(c);
        return ok;
    }

private:
    bool launch(std::string &error) {
        pid_ = spawn({bin_ + "/postgres", "-D", dir() + "/data", "-k", dir(), "-p",
                      std::to_string(port_), "-c", "listen_addresses=", "-c", "fsync=off",
                      "-c", "max_connections=40", "-c", "shared_buffers=16MB"},
                     dir() + "/server.log");
        if (pid_ < 0) {
            error = "fork failed";
            return false;
        }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (std::chrono::steady_clock::now() < deadline) {
            if (PQping(uri("postgres").c_str()) == PQPING_OK)
                return true;
            int status;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                error = "postgres exited, see " + dir() + "/server.log";
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        error = "postgres did not accept connections in 120 s";
        return false;
    }

    // The child: as postgres when root, dies with the test.
    pid_t spawn(const std::vector<std::string> &args, const std::string &log) {
        return spawn_child(args, log, SIGQUIT, [this] {
            return geteuid() != 0 || (setgid(gid_) == 0 && setuid(uid_) == 0);
        });
    }
    // Runs a program to its end: its exit status, -1 when it did not exit.
    int run(const std::vector<std::string> &args, const std::string &log) {
        pid_t pid = spawn(args, log);
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid)
            return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    std::string bin_;
    TempDir dir_;
    int port_ = 0;
    uid_t uid_ = 0;
    gid_t gid_ = 0;
    pid_t pid_ = -1;
};

} // namespace glide::testing
