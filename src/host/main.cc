// glided — the reference host: reads an nginx-style configuration, loads the glide module and
// runs it on its event loop.
//
//   glided [-c FILE] [-t] [-V] [-h]
#include <fcntl.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/opensslv.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "host/configuration.h"
#include "host/master.h"
#include "host/server.h"

#ifndef GLIDE_CONF_PATH
#define GLIDE_CONF_PATH "conf/glided.conf"
#endif

using namespace glide::host;

static void usage(FILE *out) {
    fprintf(out,
            "usage: glided [-c FILE] [-t] [-V] [-h]\n"
            "\n"
            "  -c FILE  configuration file (default " GLIDE_CONF_PATH ")\n"
            "  -t       test the configuration and exit\n"
            "  -V       print version and build details and exit\n"
            "  -h       this help\n"
            "\n"
            "signals: TERM, INT drain and exit; HUP reloads the configuration; USR1 reopens "
            "the log\n"
            "(with worker_processes > 1, to the master process, whose pid the pid file holds)\n");
}

static void version() {
    printf("glided version: glided/" GLIDE_VERSION_STRING "\n"
           "plugin ABI: %d.%d, protocol: glide %s\n"
           "built with g++ %s, libevent %s (running %s), %s\n",
           GLIDE_ABI_MAJOR, GLIDE_ABI_MINOR, GLIDE_PROTOCOL_VERSION, __VERSION__,
           LIBEVENT_VERSION, event_get_version(), OPENSSL_VERSION_TEXT);
#ifdef GLIDE_CONFIGURE_ARGS
    printf("configure arguments: %s\n", GLIDE_CONFIGURE_ARGS);
#endif
}

// Detach nginx's way: fork, new session, standard streams to /dev/null.
static bool daemonize() {
    pid_t pid = fork();
    if (pid < 0) {
        perror("glided: fork() failed");
        return false;
    }
    if (pid > 0)
        _exit(0);
    if (setsid() < 0) {
        perror("glided: setsid() failed");
        return false;
    }
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0)
        return false;
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    if (fd > STDERR_FILENO)
        close(fd);
    return true;
}

int main(int argc, char **argv) {
    std::string file = GLIDE_CONF_PATH;
    bool test = false;
    int opt;
    while ((opt = getopt(argc, argv, "c:tVh")) != -1) {
        switch (opt) {
        case 'c': file = optarg; break;
        case 't': test = true; break;
        case 'V': version(); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "glided: invalid option \"%s\"\n", argv[optind]);
        usage(stderr);
        return 1;
    }

    Server server;
    auto cfg = load_configuration(file, server.plugins(), server.host_table(), nullptr);
    if (!cfg) {
        fprintf(stderr, "glided: [emerg] %s\n", cfg.error().c_str());
        if (test)
            fprintf(stderr, "glided: configuration file %s test failed\n", file.c_str());
        return 1;
    }
    if (test) {
        fprintf(stderr, "glided: the configuration file %s syntax is ok\n", file.c_str());
        fprintf(stderr, "glided: configuration file %s test is successful\n", file.c_str());
        return 0;
    }
    if (cfg->host->daemon) {
        if (cfg->host->error_log == "stderr")
            fprintf(stderr, "glided: [warn] daemon on with error_log stderr: the log is lost\n");
        if (!daemonize())
            return 1;
        if (cfg->host->error_log == "stderr") {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) {
                dup2(fd, STDERR_FILENO);
                close(fd);
            }
        }
    }
    glide::Status st;
    if (cfg->host->worker_processes > 1) {
        // The master returns here in each worker it forks, with what that worker runs.
        std::optional<WorkerStart> worker;
        Master master(server);
        int rc = master.run(std::move(cfg.value()), worker);
        if (!worker)
            return rc;
        st = server.start_worker(std::move(*worker));
    } else {
        st = server.start(std::move(cfg.value()));
    }
    if (!st) {
        server.log().log(GLIDE_LOG_EMERG, "%s", st.error().c_str());
        fprintf(stderr, "glided: [emerg] %s\n", st.error().c_str());
        return 1;
    }
    return server.run();
}
