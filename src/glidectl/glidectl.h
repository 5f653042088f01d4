// glidectl's subcommands. Each returns the process exit code: 0 success, 1 failure (a message
// on stderr), 2 usage error.
#pragma once

#include <string>

#include "client/options.h"

namespace glide::ctl {

int cmd_credential(int argc, char **argv);
int cmd_ticket(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_admin(int argc, char **argv);

// "glidectl: <what>" on stderr; returns 1.
int fail(const std::string &what);
// A usage error: the message and a pointer to --help; returns 2.
int usage_error(const std::string &what);

} // namespace glide::ctl
