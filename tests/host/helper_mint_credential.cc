// Prints a glide credential for the admin tests: helper_mint_credential SECRET UID DEVICE.
// The timestamp is now, so glided's 25-minute expiry accepts it.
#include <chrono>
#include <cstdio>

#include "codec/credential.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: helper_mint_credential SECRET UID DEVICE\n");
        return 2;
    }
    glide::codec::ClientAuthCredentials c;
    c.type = 2;
    c.user_id = argv[2];
    c.device_id = argv[3];
    c.device_name = argv[3];
    c.timestamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    auto sealed = glide::codec::seal_credential(argv[1], c);
    if (!sealed) {
        fprintf(stderr, "helper_mint_credential: %s\n", sealed.error().c_str());
        return 1;
    }
    printf("%s\n", sealed.value().c_str());
    return 0;
}
