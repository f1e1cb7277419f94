// Every error reply the proxy itself emits, in one place. Texts copy Redis's own where Redis has
// one (clients match on them); the proxy's own say "slotgate" so an operator can tell who spoke.
// Entries ending in "\r\n" are complete RESP replies; the others are fmt patterns for reply::error.
#pragma once

#include <string_view>

namespace slotgate::resp::err {

// Complete replies.
inline constexpr std::string_view kCrossSlot = "-CROSSSLOT Keys in request don't hash to the same slot\r\n";
inline constexpr std::string_view kNoTopology =
    "-CLUSTERDOWN slotgate has no cluster topology yet: no seed node has answered\r\n";
inline constexpr std::string_view kSlotNotServed = "-CLUSTERDOWN Hash slot not served\r\n";
inline constexpr std::string_view kSelectInCluster = "-ERR SELECT is not allowed in cluster mode\r\n";
inline constexpr std::string_view kNotInteger = "-ERR value is not an integer or out of range\r\n";
inline constexpr std::string_view kInvalidCursor = "-ERR invalid cursor\r\n";
inline constexpr std::string_view kSyntax = "-ERR syntax error\r\n";
// Transactions.
inline constexpr std::string_view kMultiNested = "-ERR MULTI calls can not be nested\r\n";
inline constexpr std::string_view kExecWithoutMulti = "-ERR EXEC without MULTI\r\n";
inline constexpr std::string_view kDiscardWithoutMulti = "-ERR DISCARD without MULTI\r\n";
inline constexpr std::string_view kWatchInMulti = "-ERR WATCH inside MULTI is not allowed\r\n";
inline constexpr std::string_view kNotInMulti = "-ERR Command not allowed inside a transaction\r\n";
// Format with the command's name: a transaction runs on one node, these run on all of them.
inline constexpr std::string_view kEveryNodeInMulti =
    "ERR slotgate cannot queue '{}' in MULTI: it runs on every node, a transaction on one";
// Format with the command's name: CLIENT REPLY / UNBLOCK act on slotgate's side of the client, a
// transaction runs on a node (and Redis's own EXEC reply there breaks the array it sends).
inline constexpr std::string_view kProxyClientInMulti =
    "ERR slotgate cannot queue '{}' in MULTI: it acts on the client's connection to slotgate, a transaction runs "
    "on a node";
inline constexpr std::string_view kExecAbort = "-EXECABORT Transaction discarded because of previous errors.\r\n";
// Authentication and access.
inline constexpr std::string_view kNoAuth = "-NOAUTH Authentication required.\r\n";
inline constexpr std::string_view kHelloNoAuth =
    "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
    "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
    "protocol version at the same time\r\n";
inline constexpr std::string_view kWrongPass =
    "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
inline constexpr std::string_view kAuthNoPassword =
    "-ERR AUTH <password> called without any password configured for the default user. Are you "
    "sure your configuration is correct?\r\n";
inline constexpr std::string_view kNoPermKeys =
    "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n";
inline constexpr std::string_view kNoProto = "-NOPROTO unsupported protocol version\r\n";
inline constexpr std::string_view kProtoNotInteger = "-ERR Protocol version is not an integer or out of range\r\n";
// CLIENT.
inline constexpr std::string_view kClientName =
    "-ERR Client names cannot contain spaces, newlines or special characters.\r\n";
inline constexpr std::string_view kNoSuchClient = "-ERR No such client\r\n";
inline constexpr std::string_view kUnblockReason = "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n";
// Format with the subcommand as the client spelt it (Redis's text for too many arguments).
inline constexpr std::string_view kClientSubcommandArgs =
    "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.";
inline constexpr std::string_view kClientIdNotInteger = "-ERR client-id should be greater than 0\r\n";
inline constexpr std::string_view kMaxClients = "-ERR max number of clients reached\r\n";
inline constexpr std::string_view kOom =
    "-OOM command not allowed when slotgate's buffered memory > 'limits.maxmemory'.\r\n";
// Redis's protected-mode refusal, told in slotgate's terms.
inline constexpr std::string_view kDenied =
    "-DENIED slotgate is running in protected mode because protected mode is enabled and no users "
    "are configured. In this mode connections are only accepted from the loopback interface. To "
    "serve other hosts, configure users, or set protected_mode: false in the configuration (or "
    "start with --protected-mode no) and make sure slotgate is not reachable from the internet.\r\n";
inline constexpr std::string_view kSlowlogCount = "-ERR count should be greater than or equal to -1\r\n";
inline constexpr std::string_view kNoReload =
    "-ERR slotgate was started without a configuration file (-c); there is nothing to reload\r\n";

// Protocol errors (Redis's texts); the client is closed after the reply.
inline constexpr std::string_view kProtoInvalidMultibulkLen = "invalid multibulk length";
inline constexpr std::string_view kProtoInvalidBulkLen = "invalid bulk length";
inline constexpr std::string_view kProtoTooBigMbulkCount = "too big mbulk count string";
inline constexpr std::string_view kProtoTooBigBulkCount = "too big bulk count string";
inline constexpr std::string_view kProtoTooBigInline = "too big inline request";
inline constexpr std::string_view kProtoUnbalancedQuotes = "unbalanced quotes in request";
inline constexpr std::string_view kProtoExpectedDollar = "expected '$', got '{}'";
inline constexpr std::string_view kProtoBulkNotTerminated = "bulk string not terminated by CRLF";
inline constexpr std::string_view kProtoReply = "unparsable reply from node: {}";

// Patterns (fmt syntax), made into replies by resp::errorReply.
inline constexpr std::string_view kProtocol = "ERR Protocol error: {}";
inline constexpr std::string_view kUnknownCommand = "ERR unknown command '{}', with args beginning with: {}";
inline constexpr std::string_view kUnknownSubcommand = "ERR unknown subcommand '{}'. Try {} HELP.";
inline constexpr std::string_view kWrongArity = "ERR wrong number of arguments for '{}' command";
inline constexpr std::string_view kNotYetSupported = "ERR slotgate does not support '{}' yet";
inline constexpr std::string_view kUnsupported = "ERR command '{}' is not supported by slotgate";
inline constexpr std::string_view kNodeLost = "ERR slotgate: connection to {} lost, write outcome unknown";
inline constexpr std::string_view kNodeLostRead =
    "ERR slotgate: connection to {} lost twice before the reply to a read";
inline constexpr std::string_view kFailoverTimeout =
    "CLUSTERDOWN slotgate: the primary serving slot {} failed and no replica took over within {} ms";
inline constexpr std::string_view kNodeTimeout =
    "ERR slotgate: node {} did not answer within {} ms; the command may or may not have been "
    "applied";
inline constexpr std::string_view kNodeUnreachable =
    "CLUSTERDOWN slotgate cannot reach node {} serving slot {}: {}";
inline constexpr std::string_view kUnexpectedPartReply =
    "ERR slotgate could not merge the nodes' replies: expected {}";
inline constexpr std::string_view kPartFailed = "{} (slotgate: part {} of {} failed: {})";
inline constexpr std::string_view kUnknownSetting = "ERR unknown slotgate setting '{}'";
inline constexpr std::string_view kSettingNotLive =
    "ERR slotgate setting '{}' cannot change while running: edit the configuration and restart";
inline constexpr std::string_view kBadSettingValue = "ERR invalid value '{}' for slotgate setting '{}'";
inline constexpr std::string_view kReloadRefused = "ERR slotgate kept its settings: {}";
inline constexpr std::string_view kNoLocalHandler = "ERR slotgate has no local handler for '{}'";
inline constexpr std::string_view kNoPermCommand = "NOPERM this user has no permissions to run the '{}' command";
inline constexpr std::string_view kSubscribedContext =
    "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
    "allowed in this context";
inline constexpr std::string_view kPinnedLost = "ERR slotgate: connection to {} lost, write outcome unknown";
inline constexpr std::string_view kClientUnsupported =
    "ERR slotgate does not support 'CLIENT {}': it would affect every client of the proxy";
inline constexpr std::string_view kTooManyRedirects = "ERR slotgate gave up after {} redirects; last answer: {}";

}  // namespace slotgate::resp::err
