#pragma once
// Subjects and payloads of registry events, exactly as Maestra publishes them (reference §5.3).
// sluice adds a `reason` to the end-of-life events ("withdrawn", "stopped", "left", "expired",
// "stream_withdrawn", "stream_expired") so listeners can tell an expiry from an explicit stop.
#include <boost/json/object.hpp>

#include <string>

#include "core/clock.hpp"
#include "registry/model.hpp"

namespace sluice::registry::events {

inline constexpr const char* kAdvertise = "maestra.stream.advertise";
inline constexpr const char* kSessionStarted = "maestra.stream.session.started";
inline constexpr const char* kSessionStopped = "maestra.stream.session.stopped";
inline constexpr const char* kSubscriberJoined = "maestra.stream.subscriber.joined";
inline constexpr const char* kSubscriberLeft = "maestra.stream.subscriber.left";
// Inbound heartbeat subjects (the last token is the id).
inline constexpr const char* kStreamHeartbeats = "maestra.stream.heartbeat.*";
inline constexpr const char* kSessionHeartbeats = "maestra.stream.session.heartbeat.*";
inline constexpr const char* kSubscriberHeartbeats = "maestra.stream.subscriber.heartbeat.*";

std::string advertise_typed_subject(const std::string& stream_type);
std::string withdraw_subject(const std::string& stream_id);
std::string request_subject(const std::string& stream_id);
std::string mqtt_advert_subject(const std::string& stream_type);

boost::json::object stream_advertised(const StreamRecord& s, WallTime now);
// The advert as Maestra re-broadcasts it to MQTT devices; `full` adds delivery mode and multicast.
boost::json::object mqtt_advert(const StreamRecord& s, bool full);
boost::json::object stream_withdrawn(const std::string& stream_id, WallTime now,
                                     const std::string& reason);
boost::json::object session_started(const SessionRecord& s);
boost::json::object session_stopped(const SessionRecord& s, WallTime now,
                                    const std::string& reason);
boost::json::object subscriber_joined(const SubscriberRecord& s, WallTime now);
boost::json::object subscriber_left(const SubscriberRecord& s, WallTime now,
                                    const std::string& reason);
boost::json::object stream_request(const std::string& stream_id, const StreamRequest& r,
                                   WallTime now);

}  // namespace sluice::registry::events
