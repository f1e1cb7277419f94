// Keyspace notifications: Redis publishes `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>`
// only on the node that owns the key, so what can carry them must be subscribed on every primary.
// These tell which channels and patterns can, and which message a link delivered is one.
#pragma once

#include <string_view>

namespace slotgate::state {

// A channel Redis publishes keyspace notifications on.
bool isKeyspaceChannel(std::string_view channel);
// Whether the glob `pattern` (Redis's PSUBSCRIBE syntax) can match some keyspace channel.
bool patternMayMatchKeyspace(std::string_view pattern);
// The channel a message or pmessage push (RESP2 or RESP3) was published on; empty if `reply` is
// not one.
std::string_view messageChannel(std::string_view reply);

}  // namespace slotgate::state
