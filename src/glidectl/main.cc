// glidectl — mint credentials and tickets, chat from a terminal, call the admin API.
//
//   glidectl credential --secret S --uid U [--device D] [--device-name N] [--deliver-secret X]
//   glidectl ticket --secret X --from U --to V
//   glidectl chat URL (--credential C | --secret S --uid U ...) [--to V] [--codec json|protobuf]
//   glidectl admin URL --token T COMMAND ...
#include <cstdio>
#include <cstring>
#include <string_view>

#include "client/protocol.h"
#include "codec/credential.h"
#include "glidectl/glidectl.h"
#include "glide/version.h"

namespace glide::ctl {

namespace {

void usage(FILE *out) {
    fprintf(out,
            "usage: glidectl COMMAND [options]\n"
            "\n"
            "  credential --secret S --uid U [--device D] [--device-name N]\n"
            "             [--deliver-secret X] [--timestamp MS]\n"
            "      print a credential for `authenticate` (glide's AES scheme)\n"
            "  ticket --secret X --from U --to V\n"
            "      print the ticket for sending from U to V (X: message_deliver_secret)\n"
            "  chat URL (--credential C | --secret S --uid U [--device D] [--deliver-secret X])\n"
            "       [--to V] [--codec json|protobuf]\n"
            "      terminal client: lines typed are sent to the current peer; /to UID changes\n"
            "      it, /quit leaves. URL: ws://HOST:PORT/ws or tcp://HOST:PORT\n"
            "  admin URL --token T groups create GID [UID...] | groups delete GID |\n"
            "       members add|remove GID UID | push UID JSON | kick UID [DEVICE] |\n"
            "       sessions UID\n"
            "      call glided's admin API (URL: http://HOST:PORT)\n"
            "  version | help\n"
            "\n"
            "--secret-file F stands for --secret S with S the first line of F (glided's\n"
            "credential_secret_file).\n"
            "\n"
            "See glidectl(1).\n");
}

} // namespace

int fail(const std::string &what) {
    fprintf(stderr, "glidectl: %s\n", what.c_str());
    return 1;
}

int usage_error(const std::string &what) {
    fprintf(stderr, "glidectl: %s (see glidectl help)\n", what.c_str());
    return 2;
}

int cmd_credential(int argc, char **argv) {
    auto o = client::Options::parse(argc, argv, 2,
                                    {"secret", "uid", "device", "device-name", "deliver-secret",
                                     "timestamp"},
                                    {});
    if (!o)
        return usage_error(o.error());
    if (!o->has("secret") || !o->has("uid") || !o->positional().empty())
        return usage_error("credential needs --secret S (or --secret-file F) and --uid U");
    auto ts = o->number("timestamp", client::wall_ms(), 0, INT64_MAX);
    if (!ts)
        return usage_error(ts.error());
    codec::ClientAuthCredentials c;
    c.type = 2;
    c.user_id = o->get("uid");
    c.device_id = o->get("device");
    c.device_name = o->get("device-name");
    if (o->has("deliver-secret")) {
        c.has_secrets = true;
        c.secrets.message_deliver_secret = o->get("deliver-secret");
    }
    c.timestamp = *ts;
    Result<std::string> sealed = codec::seal_credential(o->get("secret"), c);
    if (!sealed)
        return fail("cannot mint the credential: " + sealed.error());
    printf("%s\n", sealed->c_str());
    return 0;
}

int cmd_ticket(int argc, char **argv) {
    auto o = client::Options::parse(argc, argv, 2, {"secret", "from", "to"}, {});
    if (!o)
        return usage_error(o.error());
    if (!o->has("secret") || !o->has("from") || !o->has("to") || !o->positional().empty())
        return usage_error("ticket needs --secret X, --from U and --to V");
    printf("%s\n", codec::compute_ticket(o->get("secret"), o->get("from"), o->get("to")).c_str());
    return 0;
}

} // namespace glide::ctl

int main(int argc, char **argv) {
    using namespace glide::ctl;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    std::string_view cmd = argv[1];
    if (cmd == "credential")
        return cmd_credential(argc, argv);
    if (cmd == "ticket")
        return cmd_ticket(argc, argv);
    if (cmd == "chat")
        return cmd_chat(argc, argv);
    if (cmd == "admin")
        return cmd_admin(argc, argv);
    if (cmd == "version" || cmd == "--version" || cmd == "-V") {
        printf("glidectl version: glidectl/" GLIDE_VERSION_STRING "\n");
        return 0;
    }
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
        usage(stdout);
        return 0;
    }
    return usage_error("unknown command \"" + std::string(cmd) + "\"");
}
