// Helpers shared by the codec tests: golden files and re-typing raw payloads.
#pragma once

#include "codec/payload.h"

#include <fstream>
#include <string>
#include <vector>

namespace codec_test {

// Non-empty lines of a file under tests/data/codec (tests run from the repository root).
inline std::vector<std::string> read_lines(const char *name) {
    std::vector<std::string> lines;
    std::ifstream f(std::string("tests/data/codec/") + name);
    std::string line;
    while (std::getline(f, line))
        if (!line.empty())
            lines.push_back(line);
    return lines;
}

template <typename T> bool retype_as(glide::codec::Envelope *e) {
    auto r = glide::codec::decode_payload<T>(*e);
    if (!r)
        return false;
    e->data = std::move(r.value());
    return true;
}

// Replaces raw data by the typed payload of the action, as a handler would. Returns false when
// the data does not decode; true (unchanged) when there is no data or no payload type.
inline bool retype(glide::codec::Envelope *e) {
    using namespace glide::codec;
    if (!std::holds_alternative<RawData>(e->data))
        return true;
    switch (payload_kind(e->action)) {
    case PayloadKind::none:
        return true;
    case PayloadKind::text:
        return retype_as<Text>(e);
    case PayloadKind::chat:
        return retype_as<ChatMessage>(e);
    case PayloadKind::ack_message:
        return retype_as<AckMessage>(e);
    case PayloadKind::ack_request:
        return retype_as<AckRequest>(e);
    case PayloadKind::ack_notify:
        return retype_as<AckNotify>(e);
    case PayloadKind::ack_group:
        return retype_as<AckGroupMessage>(e);
    case PayloadKind::client_custom:
        // message.cli data is free-form (glide never validates it): keep it raw if it does not
        // fit ClientCustom.
        retype_as<ClientCustom>(e);
        return true;
    case PayloadKind::kickout:
        return retype_as<KickOutNotify>(e);
    case PayloadKind::credential:
        return retype_as<EncryptedCredential>(e);
    case PayloadKind::group_notify:
        return retype_as<GroupNotify>(e);
    case PayloadKind::user_state:
        return retype_as<UserState>(e);
    case PayloadKind::state_subscribe:
        return retype_as<StateSubscribe>(e);
    case PayloadKind::hello: {
        // The server's hello carries temp_id; a client's does not.
        auto s = decode_payload<ServerHello>(*e);
        if (s && !s->temp_id.empty())
            return retype_as<ServerHello>(e);
        return retype_as<Hello>(e);
    }
    }
    return false;
}

} // namespace codec_test
