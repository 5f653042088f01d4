// The cluster bus as the protocol core sees it (design.md §7): the hub and the actions tell it
// who is online here and hand it what must reach other nodes; it hands back what other nodes
// sent here. cluster/bus.h implements it over Redis; without `glide_cluster` there is none and
// the hub runs alone, exactly as before.
//
// The bus only routes: a message is acknowledged when the store has it, never because the bus
// took it. Anything the bus cannot carry (Redis down, a node gone) is still undelivered in the
// store, and reaches the device at its next login or when the bus returns (ClusterSink::
// bus_returned: every node replays its local sessions' backlog).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace glide::port {

// What the bus asks of this node. Called on the loop thread, never from inside a ClusterPort
// call.
class ClusterSink {
public:
    virtual ~ClusterSink() = default;
    // An envelope (its JSON) for every local device of uid.
    virtual void deliver(std::string_view uid, std::string_view json) = 0;
    // (uid, device) logged in on another node: this node's session of it is kicked out
    // (notify.kickout with device_name, close 4001).
    virtual void kicked_out(std::string_view uid, std::string_view device_id,
                            std::string_view device_name) = 0;
    // The control API's kick on another node: uid's sessions here (device empty: all).
    virtual void kick(std::string_view uid, std::string_view device_id) = 0;
    // uid came online (its first device anywhere) or went offline (its last one).
    virtual void state(std::string_view uid, bool online) = 0;
    // A group message published on another node (the envelope's JSON, `to` is the group;
    // seq its group sequence): for the local members.
    virtual void group(std::string_view gid, int64_t seq, std::string_view json) = 0;
    // A group's membership changed (group_invalidate on another node).
    virtual void group_invalidate(std::string_view gid) = 0;
    // The bus was down and is back (or a node told us it was cut off): messages routed
    // meanwhile may be missing here; every local session's undelivered backlog is replayed.
    virtual void bus_returned() = 0;
    // Calls fn for every (uid, device, device name) logged in here: the bus registers them
    // again when a shard comes back.
    virtual void each_identity(const std::function<void(std::string_view uid,
                                                        std::string_view device_id,
                                                        std::string_view device_name)> &fn) = 0;
};

class ClusterPort {
public:
    virtual ~ClusterPort() = default;

    // This node's id on the bus.
    virtual const std::string &node_id() const = 0;
    // Every shard is up. While not, state changes of this node's users are told to its own
    // watchers directly (the bus cannot carry them).
    virtual bool connected() const = 0;

    // (uid, device) logged in here. `ready` is called once the directory routes uid's messages
    // to this node (at once when the bus is down: the replay then covers what is missed), so
    // that a replay started from it misses nothing stored before. A login of the same (uid,
    // device) on another node is kicked out there.
    virtual void joined(std::string_view uid, std::string_view device_id,
                        std::string_view device_name, std::function<void()> ready) = 0;
    // (uid, device) left this node; `last_here` when uid has no other device here.
    virtual void left(std::string_view uid, std::string_view device_id, bool last_here) = 0;

    // The envelope (its JSON) for uid's devices on other nodes.
    virtual void to_user(std::string_view uid, std::string_view json) = 0;
    // The same for the devices of two uids (a chat: the receiver's, and the sender's other
    // devices), each node reached once.
    virtual void to_users(std::string_view uid, std::string_view uid2, std::string_view json) = 0;
    // The control API's kick for uid's sessions on other nodes (device empty: all).
    virtual void kick(std::string_view uid, std::string_view device_id) = 0;
    // A group message (the envelope's JSON, its group sequence) for the members on other
    // nodes.
    virtual void to_group(std::string_view gid, int64_t seq, std::string_view json) = 0;
    virtual void group_invalidate(std::string_view gid) = 0;

    // State changes of uid are wanted here (ClusterSink::state) from now on / no longer.
    // Counted: as many unwatch as watch.
    virtual void watch(std::string_view uid) = 0;
    virtual void unwatch(std::string_view uid) = 0;
    // Whether each uid has a device online anywhere; `done` is called once, on the loop, later,
    // with one answer per uid, or none when the bus could not answer (the caller then uses
    // what this node knows).
    virtual void query_online(std::vector<std::string> uids,
                              std::function<void(std::vector<bool>)> done) = 0;
};

} // namespace glide::port
