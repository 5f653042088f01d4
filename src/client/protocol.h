// Envelopes a client sends, and the clock the tools stamp messages with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "codec/message.h"

namespace glide::client {

// CLOCK_MONOTONIC in nanoseconds: comparable between processes of one machine, which is how
// glide-bench measures delivery latency from a timestamp carried in the message.
uint64_t now_ns();
// CLOCK_REALTIME in milliseconds (credential timestamps, sendAt of interactive messages).
int64_t wall_ms();

// {"seq":seq,"action":"authenticate","data":{"version":1,"credential":...}}
codec::Envelope authenticate_message(int64_t seq, std::string_view credential);
// A client heartbeat.
codec::Envelope heartbeat_message();
// message.chat from `from` to `to` with the ticket when non-empty; data.seq is `seq`.
codec::Envelope chat_message(int64_t seq, std::string_view from, std::string_view to,
                             std::string_view cli_mid, std::string_view content,
                             int64_t send_at, std::string_view ticket);
// message.group to group `gid`.
codec::Envelope group_message(int64_t seq, std::string_view from, std::string_view gid,
                              std::string_view cli_mid, std::string_view content,
                              int64_t send_at, std::string_view ticket);
// ack.request for a delivered chat message: {mid, from: receiver, to: original sender} (the
// later glide style the server routes by `to`).
codec::Envelope ack_request_message(int64_t mid, std::string_view receiver,
                                    std::string_view sender);

} // namespace glide::client
