// The registry's negotiation (Registry::request_stream): the request to the publisher's
// responder, its reply turned into a session — or, for streams that say so, an offer from the
// advert when no responder answers (auto_offer).
#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>

#include "core/ids.hpp"
#include "core/json_text.hpp"
#include "registry/events.hpp"
#include "registry/registry.hpp"

namespace sluice::registry {
namespace json = boost::json;
namespace {

// Port from a publisher's reply: an int or an int-convertible string.
std::optional<int> reply_port(const json::value& v) {
  if (v.is_int64() && v.as_int64() >= 0 && v.as_int64() <= 65535)
    return static_cast<int>(v.as_int64());
  if (v.is_uint64() && v.as_uint64() <= 65535) return static_cast<int>(v.as_uint64());
  if (v.is_string()) {
    try {
      std::size_t used = 0;
      int p = std::stoi(std::string(v.as_string()), &used);
      if (used == v.as_string().size() && p >= 0 && p <= 65535) return p;
    } catch (...) {
    }
  }
  return std::nullopt;
}

}  // namespace

// ---- negotiation -----------------------------------------------------------------------------

void Registry::request_stream(const std::string& stream_id, const StreamRequest& request,
                              OfferCallback done, const Actor& actor) {
  auto found = store_.get_stream(stream_id);
  if (!found) return done(fail(found.error()));
  const auto& stream = *found;
  if (!stream) {
    count(Negotiation::kStreamGone);
    return done(fail(Error::not_found(kStreamGone)));
  }
  if (stream->stream.is_multicast()) {
    return done(fail(Error::bad_request(
        "This is a multicast stream. Use POST /streams/{stream_id}/join instead.")));
  }
  auto payload = to_json_text(events::stream_request(stream_id, request, clock_.wall_now()));
  bus_.request(
      events::request_subject(stream_id), std::move(payload), options().request_timeout,
      [this, view = *stream, request, owner = actor.owner, done = std::move(done)](auto reply) {
        finish_negotiation(view, request, owner, std::move(reply), done);
      });
}

void Registry::finish_negotiation(const StreamView& view, const StreamRequest& request,
                                  const std::string& owner,
                                  std::expected<hub::MessagePtr, hub::BusFailure> reply,
                                  const OfferCallback& done) {
  const auto& stream = view.stream;
  if (!reply) {
    using K = hub::BusFailure::Kind;
    const auto kind = reply.error().kind;
    if ((kind == K::kNoResponders || kind == K::kTimeout) &&
        offer_advertised(view, request, owner, done)) {
      return;
    }
    switch (kind) {
      case K::kNoResponders:
        count(Negotiation::kNoResponder);
        return done(fail(Error{504,
                               "No responder is listening on maestra.stream.request." + stream.id +
                                   ": the publisher must subscribe to that subject to answer "
                                   "requests",
                               {}}));
      case K::kTimeout: {
        count(Negotiation::kTimeout);
        auto secs = std::chrono::duration<double>(options().request_timeout).count();
        return done(fail(
            Error{504, fmt::format("Publisher did not respond within {:g} seconds", secs), {}}));
      }
      case K::kUnavailable:
        count(Negotiation::kBusError);
        // The bus cannot reach its server (the detail names it): 503, like the store.
        return done(fail(Error::unavailable("Stream request not sent: " + reply.error().detail)));
    }
  }
  if ((*reply)->error) {  // the publisher's responder refused explicitly
    count(Negotiation::kRejected);
    return done(fail(Error::not_found(parse_error_reply((*reply)->data).detail)));
  }
  boost::system::error_code ec;
  json::value answer = json::parse((*reply)->data, ec);
  if (ec || !answer.is_object()) {
    count(Negotiation::kInvalidReply);
    return done(fail(Error{502, "Publisher sent an invalid reply: expected a JSON object", {}}));
  }
  const auto& o = answer.as_object();
  auto accepted = o.find("accepted");
  if (accepted == o.end() || !accepted->value().is_bool() || !accepted->value().as_bool()) {
    count(Negotiation::kRejected);
    auto reason = o.find("reason");
    std::string detail = reason != o.end() && reason->value().is_string()
                             ? std::string(reason->value().as_string())
                             : "Publisher rejected the request";
    return done(fail(Error::not_found(detail)));
  }

  SessionRecord s = advertised_session(stream, request, owner);
  // The reply's address, port, protocol and transport config override the advert's.
  if (auto a = o.find("address");
      a != o.end() && a->value().is_string() && !a->value().as_string().empty()) {
    s.publisher_address = std::string(a->value().as_string());
  }
  if (auto port = o.find("port"); port != o.end()) {
    s.publisher_port = reply_port(port->value()).value_or(stream.port);
  }
  if (auto p = o.find("protocol");
      p != o.end() && p->value().is_string() && !p->value().as_string().empty()) {
    s.protocol = std::string(p->value().as_string());
  }
  if (auto tc = o.find("transport_config"); tc != o.end() && tc->value().is_object()) {
    s.transport_config = tc->value().as_object();
  }
  open_session(std::move(s), done);
}

SessionRecord Registry::advertised_session(const StreamRecord& stream, const StreamRequest& request,
                                           const std::string& owner) {
  SessionRecord s;
  s.session_id = new_uuid4();
  s.stream_id = stream.id;
  s.stream_name = stream.name;
  s.stream_type = stream.stream_type;
  s.publisher_id = stream.publisher_id;
  s.publisher_address = stream.address;
  s.publisher_port = stream.port;
  s.protocol = stream.protocol;
  s.consumer_id = request.consumer_id;
  s.consumer_address = request.consumer_address;
  s.consumer_port = request.consumer_port;
  s.owner = owner;
  return s;
}

bool Registry::auto_offers(const StreamRecord& stream) const {
  auto said = [](const boost::json::object& config) -> std::optional<bool> {
    const auto* v = config.if_contains("auto_offer");
    if (!v || !v->is_bool()) return std::nullopt;
    return v->as_bool();
  };
  if (auto v = said(stream.config)) return *v;
  if (auto type = store_.get_type(stream.stream_type); type && *type) {
    if (auto v = said((*type)->default_config)) return *v;
  }
  return auto_offer_.load();
}

bool Registry::offer_advertised(const StreamView& view, const StreamRequest& request,
                                const std::string& owner, const OfferCallback& done) {
  const auto& stream = view.stream;
  if (!auto_offers(stream)) return false;
  SessionRecord s = advertised_session(stream, request, owner);
  // The advertised transport settings: the config's "transport_config" object if it has one,
  // else the config itself (less the auto_offer switch).
  if (const auto* tc = stream.config.if_contains("transport_config"); tc && tc->is_object()) {
    s.transport_config = tc->as_object();
  } else {
    s.transport_config = stream.config;
    s.transport_config.erase("auto_offer");
  }
  s.auto_offered = true;
  open_session(std::move(s), done);
  return true;
}

void Registry::open_session(SessionRecord s, const OfferCallback& done) {
  s.started_at = s.last_heartbeat = clock_.wall_now();
  if (auto ok = store_.put_session(s, deadline()); !ok) {
    count(Negotiation::kStreamGone);
    return done(fail(ok.error()));
  }
  count(s.auto_offered ? Negotiation::kAutoOffered : Negotiation::kAccepted);
  history_.session_started(s);
  publish(events::kSessionStarted, events::session_started(s));
  StreamOffer offer{s.session_id, s.stream_id,         s.stream_name,    s.stream_type,
                    s.protocol,   s.publisher_address, s.publisher_port, s.transport_config};
  offer.auto_offered = s.auto_offered;
  done(std::move(offer));
}

}  // namespace sluice::registry
