#include "http/event_routes.hpp"

#include <mutex>
#include <span>

#include "auth/access_policy.hpp"
#include "auth/subjects.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "http/gate.hpp"
#include "http/request_params.hpp"
#include "hub/hub.hpp"
#include "hub/subject.hpp"
#include "preview/preview_decoder.hpp"
#include "preview/udp_preview.hpp"
#include "registry/events.hpp"
#include "registry/registry.hpp"

namespace sluice::http {
namespace json = boost::json;
namespace {

constexpr const char* kDefaultPattern = "maestra.stream.>";
constexpr std::size_t kMaxPatterns = 32;

// Forwards hub messages to an SSE client as `data: {"subject": …, "data": …}`. The payload is
// already JSON text, so it is spliced in rather than re-parsed. Messages the client may not read
// (auth::read_need; requests unless it manages all streams) are skipped.
class SseForwarder final : public hub::Subscriber {
 public:
  SseForwarder(std::shared_ptr<SseSink> sink, const auth::AccessPolicy& policy, auth::Identity who,
               bool manages_all)
      : sink_(std::move(sink)), policy_(policy), who_(std::move(who)), manages_all_(manages_all) {}
  void deliver(const hub::MessagePtr& m) override {
    auto need = auth::read_need(m->subject);
    if (need ? !policy_.allows(who_, *need) : !manages_all_) return;
    sink_->send_frame(frame_of(m));
  }

 private:
  // The hub hands one message to its subscribers one after another on the publisher's thread:
  // the event is built once, for the first SSE client, and shared by pointer with the others.
  // (The weak pointer keeps the message's control block, so it names no other message.)
  static std::shared_ptr<const std::string> frame_of(const hub::MessagePtr& m) {
    thread_local std::weak_ptr<const hub::Message> last_message;
    thread_local std::shared_ptr<const std::string> last_frame;
    const bool same =
        !last_message.expired() && !last_message.owner_before(m) && !m.owner_before(last_message);
    if (!same) {
      const std::string data = "{\"subject\":" + to_json_text(json::string(m->subject)) +
                               ",\"data\":" + payload_as_json(m->data) + "}";
      last_frame = std::make_shared<const std::string>(sse_frame({}, data));
      last_message = m;
    }
    return last_frame;
  }

  std::shared_ptr<SseSink> sink_;
  const auth::AccessPolicy& policy_;
  const auth::Identity who_;
  const bool manages_all_;
};

// Ends a preview when its stream goes away.
class PreviewCloser final : public hub::Subscriber {
 public:
  explicit PreviewCloser(std::shared_ptr<SseSink> sink) : sink_(std::move(sink)) {}
  void deliver(const hub::MessagePtr& m) override {
    sink_->send("error", R"({"error":"stream withdrawn or expired","event":)" + m->data + "}");
    sink_->close();
  }

 private:
  std::shared_ptr<SseSink> sink_;
};

// Holds subscriptions for as long as the SSE connection lives.
struct SubscriptionSet {
  std::vector<hub::Hub::Subscription> subscriptions;
};

constexpr int kPreviewRate = 20;  // preview events a second, at most

// A preview in proxy mode: sluiced registers as a consumer of the stream the way Maestra's
// devices expect (section 5.4 of the Maestra notes) — {address, port} on
// maestra.stream.{id}.subscribe, on MQTT maestra/stream/{id}/subscribe (through the broker's
// maestra.to_mqtt.* bridge) and, in the MQTT bridge's envelope, on
// maestra.mqtt.maestra.stream.{id}.subscribe — receives the publisher's UDP packets
// and sends each, decoded, as a `preview` event with `_seq`. Unregisters (…unsubscribe) when the
// client goes.
struct PreviewProxy {
  PreviewProxy(hub::Hub& h, std::string id) : hub(h), stream_id(std::move(id)) {}
  ~PreviewProxy() {
    receiver.reset();  // no more packets
    announce("unsubscribe");
  }
  void announce(const char* what) {
    const json::object where{{"address", receiver_address}, {"port", receiver_port}};
    const std::string subject = "maestra.stream." + stream_id + "." + what;
    hub.publish(subject, to_json_text(where));
    const json::object envelope{{"source", "sluice"},
                                {"topic", "maestra/stream/" + stream_id + "/" + what},
                                {"payload", to_json_text(where)},
                                {"qos", 0},
                                {"timestamp", format_timestamp(std::chrono::system_clock::now())},
                                {"data", where}};
    hub.publish("maestra.mqtt." + subject, to_json_text(envelope));
    // Devices on sluiced's MQTT broker listen on maestra/stream/{id}/subscribe itself.
    hub.publish("maestra.to_mqtt." + subject, to_json_text(where));
  }

  hub::Hub& hub;
  const std::string stream_id;
  std::string receiver_address;
  std::uint16_t receiver_port = 0;
  std::mutex mutex;               // guards sink
  std::shared_ptr<SseSink> sink;  // set once the stream starts
  std::uint64_t seq = 0;          // the receiver's thread only
  std::unique_ptr<preview::UdpPreview> receiver;
  std::vector<hub::Hub::Subscription> subscriptions;  // the withdraw that ends it
};

std::pair<std::string, std::string> heartbeat_event() {
  return {"heartbeat", to_json_text(json::object{
                           {"timestamp", format_timestamp(std::chrono::system_clock::now())}})};
}

// GET /streams/{id}/preview of a stream whose publisher opted in: 503 when no receiver can be
// had (kMaxPreviews at once).
Reply proxied_preview(hub::Hub& hub, const registry::StreamRecord& s, json::object info) {
  auto proxy = std::make_shared<PreviewProxy>(hub, s.id);
  auto receiver =
      preview::UdpPreview::open(s.address, kPreviewRate,
                                [raw = proxy.get(), type = s.stream_type](
                                    std::span<const std::uint8_t> packet, std::uint64_t dropped) {
                                  json::object shown = preview::decode_packet(type, packet);
                                  shown["_seq"] = ++raw->seq;
                                  if (dropped) shown["_dropped"] = dropped;
                                  std::shared_ptr<SseSink> sink;
                                  {
                                    std::lock_guard lock(raw->mutex);
                                    sink = raw->sink;
                                  }
                                  if (sink) sink->send("preview", to_json_text(shown));
                                });
  if (!receiver) return error_response(receiver.error());
  proxy->receiver_address = (*receiver)->address();
  proxy->receiver_port = (*receiver)->port();
  proxy->receiver = std::move(*receiver);
  info["status"] = "connected";
  info["preview_address"] = proxy->receiver_address;
  info["preview_port"] = proxy->receiver_port;
  return EventStream{
      [&hub, proxy, info = to_json_text(info), subject = registry::events::withdraw_subject(s.id)](
          std::shared_ptr<SseSink> sink) -> std::shared_ptr<void> {
        sink->send("info", info);
        if (auto sub = hub.subscribe(subject, std::make_shared<PreviewCloser>(sink),
                                     hub::Interest::kObserver)) {
          proxy->subscriptions.push_back(std::move(*sub));
        }
        {
          std::lock_guard lock(proxy->mutex);
          proxy->sink = sink;
        }
        proxy->announce("subscribe");
        return proxy;
      },
      std::chrono::seconds(5), heartbeat_event};
}

}  // namespace

void add_event_routes(Router& router, registry::Registry& reg, hub::Hub& hub,
                      const auth::AccessPolicy& policy) {
  router.add(
      "GET", "/streams/events",
      [&hub, &policy](const HttpRequest& req, const PathParams&) -> Reply {
        std::vector<std::string> patterns;
        for (const auto& [k, v] : req.query) {
          if (k != "subject") continue;
          if (!hub::is_valid_pattern(v)) {
            return error_response(Error::invalid_field(
                {"query", "subject"},
                "'" + v +
                    "' is not a valid subject pattern: use '.'-separated tokens, '*' for one "
                    "token and a final '>' for the rest"));
          }
          if (auto need = auth::subscribe_need(v)) {
            if (auto ok = policy.authorize(req.identity, *need); !ok) {
              return refusal_response(ok.error());
            }
          }
          patterns.push_back(v);
        }
        if (patterns.size() > kMaxPatterns) {
          return error_response(
              Error::invalid_field({"query", "subject"}, "at most 32 subject patterns"));
        }
        if (patterns.empty()) patterns.emplace_back(kDefaultPattern);
        return EventStream{
            [&hub, &policy, patterns, who = req.identity, manages_all = req.manages_all](
                std::shared_ptr<SseSink> sink) -> std::shared_ptr<void> {
              auto set = std::make_shared<SubscriptionSet>();
              auto forwarder = std::make_shared<SseForwarder>(sink, policy, who, manages_all);
              for (const auto& p : patterns) {
                if (auto sub = hub.subscribe(p, forwarder, hub::Interest::kObserver)) {
                  set->subscriptions.push_back(std::move(*sub));
                }
              }
              return set;
            },
            std::chrono::seconds(15),
            {}};
      });

  router.add(
      "GET", "/streams/{stream_id}/preview",
      [&reg, &hub](const HttpRequest&, const PathParams& p) -> Reply {
        auto id = path_uuid(p, "stream_id");
        if (!id) return error_response(id.error());
        auto view = reg.get_stream(*id);
        if (!view) return error_response(view.error());
        const auto& s = view->stream;
        json::object info{{"status", "connection_info"},
                          {"stream_id", s.id},
                          {"stream_name", s.name},
                          {"stream_type", s.stream_type},
                          {"protocol", s.protocol},
                          {"address", s.address},
                          {"port", s.port},
                          {"delivery_mode", s.delivery_mode()},
                          {"config", s.config}};
        if (s.is_multicast()) {
          info["multicast_group"] = *s.multicast_group;
          info["multicast_port"] = s.multicast_port.value_or(0);
        }
        const auto* opted = s.config.if_contains("preview");
        if (opted && opted->is_bool() && opted->as_bool() &&
            preview::is_previewed_type(s.stream_type)) {
          return proxied_preview(hub, s, std::move(info));
        }
        return EventStream{
            [&hub, info = to_json_text(info), subject = registry::events::withdraw_subject(s.id)](
                std::shared_ptr<SseSink> sink) -> std::shared_ptr<void> {
              sink->send("info", info);
              auto set = std::make_shared<SubscriptionSet>();
              if (auto sub = hub.subscribe(subject, std::make_shared<PreviewCloser>(sink),
                                           hub::Interest::kObserver)) {
                set->subscriptions.push_back(std::move(*sub));
              }
              return set;
            },
            std::chrono::seconds(15), heartbeat_event};
      });
}

}  // namespace sluice::http
