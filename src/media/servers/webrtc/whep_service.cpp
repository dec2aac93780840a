#include "media/servers/webrtc/whep_service.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <mutex>

#include "core/crypto.hpp"
#include "core/event_loop.hpp"
#include "http/gate.hpp"
#include "http/request_target.hpp"
#include "http/router.hpp"
#include "keys/key_format.hpp"
#include "media/audio_config.hpp"
#include "media/codec_config.hpp"
#include "media/media_hub.hpp"
#include "media/media_policy.hpp"
#include "media/protocols/sdp/sdp.hpp"
#include "media/protocols/text.hpp"
#include "media/protocols/webrtc/ice_servers.hpp"
#include "media/servers/media_server.hpp"
#include "media/servers/webrtc/webrtc_server.hpp"
#include "media/servers/webrtc/webrtc_session.hpp"

namespace sluice::media {
namespace {

http::HttpResponse cross_origin(http::HttpResponse res) {
  res.headers.emplace_back("Access-Control-Allow-Origin", "*");
  res.headers.emplace_back("Access-Control-Expose-Headers", "Location");
  return res;
}

// What the path can send over WebRTC: H.264 (its SPS's profile) and Opus — its own, or its AAC
// transcoded when `transcode_aac`.
webrtc::LocalMedia local_media_of(const MediaPath& path, bool transcode_aac) {
  webrtc::LocalMedia local;
  if (const auto& v = path.video_config()) {
    auto info = inspect_video(v->bytes());
    if (info && video_codec_of(*info) == VideoCodec::kH264) {
      if (auto config = parse_avc_config(v->bytes().subspan(info->data_offset))) {
        for (const auto& ps : config->parameter_sets) {
          if (ps.size() >= 4 && (ps[0] & 0x1F) == 7) {
            local.h264 = webrtc::LocalMedia::H264{static_cast<std::uint8_t>(ps[1]),
                                                  static_cast<std::uint8_t>(ps[2])};
            break;
          }
        }
      }
    }
  }
  if (const auto& a = path.audio_config()) {
    auto config = parse_audio_config(a->bytes());
    // AAC is transcoded to Opus for WebRTC viewers (webrtc/opus_from_aac.hpp), unless that is off.
    local.opus = config && (config->codec == AudioCodec::kOpus ||
                            (config->codec == AudioCodec::kAac && transcode_aac));
    if (config && config->codec == AudioCodec::kAac && !transcode_aac) {
      spdlog::info(
          "webrtc: '{}' has AAC audio and webrtc-transcode is off: its WebRTC viewers get "
          "the video only",
          keys::redact_keys(path.name()));
    }
  }
  return local;
}

std::string random_id() {
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : crypto::random_bytes(8)) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace

struct WhepService::Impl : std::enable_shared_from_this<WhepService::Impl> {
  Impl(MediaServer& m, MediaPolicy& p, WhepServiceOptions o)
      : media(m), policy(p), options(std::move(o)) {}

  // The process's DTLS certificate, made on first use.
  Result<std::shared_ptr<const webrtc::DtlsCertificate>> certificate() {
    std::lock_guard lock(mutex);
    if (!cert) {
      auto made = webrtc::DtlsCertificate::generate();
      if (!made) return fail(made.error());
      cert = *made;
    }
    return cert;
  }

  // The answer to `offer` for path `name`, from the HTTP thread: authorizes, then creates the
  // session on the media thread and calls `done` with the answer (or the refusal).
  using Success =
      std::function<http::HttpResponse(const std::string& answer, const std::string& id)>;

  http::Reply offer(const http::HttpRequest& req, const std::string& name, std::string offer,
                    Success success) {
    const Credentials credentials{req.authorization, "POST", req.path};
    if (auto allowed =
            policy.authorize_play(name, http::joined_query(req), req.remote_address, credentials);
        !allowed) {
      return cross_origin(http::refusal_response(allowed.error()));
    }
    return negotiate(req, name, std::move(offer), std::nullopt, std::move(success));
  }

  // A stream key as `Authorization: Bearer KEY` (what OBS's WHIP output sends), or an identity
  // allowed to publish NAME.
  http::Reply whip(const http::HttpRequest& req, const std::string& name) {
    std::string_view bearer = req.authorization;
    const bool is_bearer = bearer.size() > 7 && text::iequals(bearer.substr(0, 7), "bearer ");
    bearer = is_bearer ? bearer.substr(7) : std::string_view();
    Result<PublishGrant> grant =
        fail(Error{401, "publish with a stream key as Authorization: Bearer KEY", {}});
    if (!bearer.empty()) {
      grant = policy.authorize_publish("live", bearer, "", req.remote_address, Credentials{});
    }
    if (!grant || grant->path != name) {
      const Credentials credentials{req.authorization, "POST", req.path};
      if (auto user = policy.authorize_publish("live", name, http::joined_query(req),
                                               req.remote_address, credentials)) {
        grant = std::move(user);
      }
    }
    if (!grant) return cross_origin(http::refusal_response(grant.error()));
    if (grant->path != name) {
      return cross_origin(http::error_response(
          Error::forbidden("this key publishes '" + keys::redact_keys(grant->path) + "', not '" +
                           keys::redact_keys(name) + "'")));
    }
    return negotiate(
        req, name, req.body, *grant,
        [self = shared_from_this(), name](const std::string& answer, const std::string& id) {
          http::HttpResponse res{201, "application/sdp", answer, {}};
          res.headers.emplace_back("Location", "/live/" + name + "/whip/" + id);
          return cross_origin(self->with_links(std::move(res)));
        });
  }

  http::Reply negotiate(const http::HttpRequest& req, const std::string& name, std::string offer,
                        std::optional<PublishGrant> publish, Success success) {
    auto cert = certificate();
    if (!cert) return cross_origin(http::error_response(cert.error()));
    const std::string client = req.remote_address;
    return http::Deferred{[self = shared_from_this(), name, offer = std::move(offer), client,
                           cert = *cert, publish, success](http::Respond respond) {
      self->media.loop().post([self, name, offer, client, cert, publish, success, respond] {
        auto answer = [self, name, offer, client, cert, publish, success, respond] {
          auto made = self->create(name, offer, client, cert, publish);
          if (!made) return respond(cross_origin(http::error_response(made.error())));
          respond(success(made->first, made->second));
        };
        if (publish) return answer();
        // A viewer of a path whose on-demand source is asleep waits for it first.
        self->media.await_path(name, [answer](MediaPath*) { answer(); });
      });
    }};
  }

  // Media thread: a session playing `name` for `offer`; the answer and the session id.
  Result<std::pair<std::string, std::string>> create(
      const std::string& name, const std::string& offer, const std::string& client,
      const std::shared_ptr<const webrtc::DtlsCertificate>& cert,
      const std::optional<PublishGrant>& publish) {
    WebrtcServer* server = media.webrtc();
    if (!server) return fail(Error::unavailable("WebRTC is off on this server (webrtc-udp)"));
    if (server->sessions() >= options.max_sessions) {
      return fail(Error::unavailable("too many WebRTC sessions (" +
                                     std::to_string(options.max_sessions) + ")"));
    }
    if (server->sessions_from(client) >= options.max_sessions_per_address) {
      return fail(Error::unavailable("too many WebRTC sessions from " + client + " (" +
                                     std::to_string(options.max_sessions_per_address) + ")"));
    }
    MediaPath* path = media.hub().find(name);
    if (!path && !publish) {
      return fail(Error::not_found("no one is publishing '" + keys::redact_keys(name) + "'"));
    }
    if (path && publish && !media.hub().options().takeover) {
      return fail(Error::conflict("'" + keys::redact_keys(name) + "' is already being published"));
    }
    webrtc::AnswerSetup setup;
    setup.ice = webrtc::make_ice_credentials();
    setup.fingerprint_sha256 = cert->fingerprint_sha256();
    setup.host_addresses = options.announce;
    setup.port = server->port();
    setup.tcp_port = media.webrtc_tcp_port();
    setup.receive = publish.has_value();
    webrtc::LocalMedia local;
    if (publish) {
      local.h264 = webrtc::LocalMedia::H264{};
      local.any_h264_profile = true;
      local.opus = true;
    } else {
      local = local_media_of(*path, options.transcode_aac);
    }
    auto negotiated = webrtc::answer_offer(offer, local, setup);
    if (!negotiated) return fail(negotiated.error());
    auto dtls = webrtc::DtlsEndpoint::create(webrtc::DtlsEndpoint::Role::kServer, cert,
                                             negotiated->remote_fingerprint);
    if (!dtls) return fail(dtls.error());
    WebrtcSessionSetup s;
    s.id = random_id();
    s.path = name;
    s.client = client;
    s.ice = setup.ice;
    s.dtls = std::move(*dtls);
    if (publish) {
      // The publisher's RTP is taken apart as an RTSP ANNOUNCE of the negotiated tracks would be.
      auto answer = sdp::parse(negotiated->answer);
      if (!answer) return fail(answer.error());
      auto ingest = rtsp::RtspIngest::from_sdp(*answer, &media.reassembly_budget());
      if (!ingest) return fail(ingest.error());
      for (std::size_t i = 0; i < (*ingest)->tracks().size(); ++i)
        s.ingest_tracks[(*ingest)->tracks()[i].payload_type] = i;
      s.ingest = std::move(*ingest);
      s.publish = publish;
    }
    auto described =
        path ? rtsp::describe_path(path->video_config().get(), path->audio_config().get())
             : Result<rtsp::PlayDescription>(fail(Error::not_found("")));
    if (described && !publish) {
      for (const auto& t : described->tracks) {
        if (t.video && !s.video) s.video = t;
        if (!t.video && t.audio_codec == AudioCodec::kOpus && !s.audio) s.audio = t;
        if (!t.video && t.audio_codec == AudioCodec::kAac && !s.audio && options.transcode_aac) {
          rtsp::PlayTrack opus;
          opus.audio_codec = AudioCodec::kOpus;
          opus.clock_rate = kOpusClockRate;
          s.audio = opus;
          s.transcode_audio = true;
        }
      }
    }
    s.negotiated = std::move(*negotiated);
    const std::string answer = s.negotiated.answer;
    const std::string id = s.id;
    auto session = std::make_shared<WebrtcSession>(std::move(s), *server, media.hub());
    server->add(session);
    spdlog::info("webrtc {}: {} offers to {} '{}'", id, client, publish ? "publish" : "play",
                 keys::redact_keys(name));
    return std::make_pair(answer, id);
  }

  http::Reply whep(const http::HttpRequest& req, const std::string& name) {
    return offer(
        req, name, req.body,
        [self = shared_from_this(), name](const std::string& answer, const std::string& id) {
          http::HttpResponse res{201, "application/sdp", answer, {}};
          res.headers.emplace_back("Location", "/live/" + name + "/whep/" + id);
          return cross_origin(self->with_links(std::move(res)));
        });
  }

  http::Reply camera(const http::HttpRequest& req) {
    boost::system::error_code ec;
    auto body = boost::json::parse(req.body, ec);
    const auto* object = body.if_object();
    const auto* sdp = object ? object->if_contains("sdp") : nullptr;
    const auto* type = object ? object->if_contains("type") : nullptr;
    if (ec || !sdp || !sdp->is_string() ||
        (type && (!type->is_string() || type->as_string() != "offer"))) {
      return cross_origin(http::error_response(
          Error::bad_request("the body must be JSON {\"type\": \"offer\", \"sdp\": \"...\"}")));
    }
    const std::string name = req.param("path").value_or(options.camera_path);
    return offer(
        req, name, std::string(sdp->as_string()),
        [self = shared_from_this()](const std::string& answer, const std::string&) {
          boost::json::object out{{"type", "answer"}, {"sdp", answer}};
          boost::json::array servers;
          for (const auto& s : self->current_ice_servers()) {
            boost::json::object o{{"urls", boost::json::array{boost::json::string(s.url)}}};
            if (!s.username.empty()) {
              o["username"] = s.username;
              o["credential"] = s.credential;
            }
            servers.push_back(std::move(o));
          }
          if (!servers.empty()) out["iceServers"] = std::move(servers);
          return cross_origin(
              self->with_links(http::json_response(200, boost::json::serialize(out))));
        });
  }

  http::Reply end(const http::HttpRequest& req, const std::string& name, const std::string& id) {
    const Credentials credentials{req.authorization, "DELETE", req.path};
    if (auto allowed =
            policy.authorize_play(name, http::joined_query(req), req.remote_address, credentials);
        !allowed) {
      return cross_origin(http::refusal_response(allowed.error()));
    }
    return http::Deferred{[self = shared_from_this(), name, id](http::Respond respond) {
      self->media.loop().post([self, name, id, respond] {
        WebrtcServer* server = self->media.webrtc();
        auto session = server ? server->find(id) : nullptr;
        if (!session || session->path() != name) {
          return respond(cross_origin(
              http::error_response(Error::not_found("no WebRTC session " + id + " here"))));
        }
        session->close("deleted by the client");
        server->forget(*session);
        respond(cross_origin(http::HttpResponse{200, "application/json", "{}", {}}));
      });
    }};
  }

  MediaServer& media;
  MediaPolicy& policy;
  WhepServiceOptions options;
  std::mutex mutex;
  std::shared_ptr<const webrtc::DtlsCertificate> cert;
  std::vector<webrtc::IceServer> ice_servers;  // under mutex

  std::vector<webrtc::IceServer> current_ice_servers() {
    std::lock_guard lock(mutex);
    return ice_servers;
  }
  // One Link header listing every server (RFC 8288 allows a comma-separated list; the HTTP
  // server writes one header per name).
  http::HttpResponse with_links(http::HttpResponse res) {
    std::string links;
    for (const auto& server : current_ice_servers())
      links += (links.empty() ? "" : ", ") + webrtc::link_header_value(server);
    if (!links.empty()) res.headers.emplace_back("Link", std::move(links));
    return res;
  }
};

Status WhepService::set_ice_servers(const std::vector<std::string>& servers) {
  std::vector<webrtc::IceServer> parsed;
  for (const auto& text : servers) {
    auto server = webrtc::parse_ice_server(text);
    if (!server) return fail(server.error());
    parsed.push_back(std::move(*server));
  }
  std::lock_guard lock(impl_->mutex);
  impl_->ice_servers = std::move(parsed);
  return {};
}

WhepService::WhepService(MediaServer& media, MediaPolicy& policy, WhepServiceOptions options,
                         http::Router& router)
    : impl_(std::make_shared<Impl>(media, policy, std::move(options))) {
  media.on_tick([impl = impl_] {
    if (WebrtcServer* server = impl->media.webrtc()) server->tick();
  });
  router.add("POST", "/live/{name}/whep",
             [impl = impl_](const http::HttpRequest& req, const http::PathParams& p) {
               return impl->whep(req, p.at("name"));
             });
  router.add("DELETE", "/live/{name}/whep/{id}",
             [impl = impl_](const http::HttpRequest& req, const http::PathParams& p) {
               return impl->end(req, p.at("name"), p.at("id"));
             });
  router.add("POST", "/live/{name}/whip",
             [impl = impl_](const http::HttpRequest& req, const http::PathParams& p) {
               return impl->whip(req, p.at("name"));
             });
  router.add("DELETE", "/live/{name}/whip/{id}",
             [impl = impl_](const http::HttpRequest& req, const http::PathParams& p) {
               return impl->end(req, p.at("name"), p.at("id"));
             });
  router.add("PATCH", "/live/{name}/whep/{id}",
             [](const http::HttpRequest&, const http::PathParams&) -> http::Reply {
               return cross_origin(http::HttpResponse{204, "application/json", "", {}});
             });
  router.add("POST", "/api/webrtc/offer",
             [impl = impl_](const http::HttpRequest& req, const http::PathParams&) {
               return impl->camera(req);
             });
}

WhepService::~WhepService() = default;

std::vector<std::string> WhepService::default_announce(const std::string& bound) {
  if (bound != "0.0.0.0" && bound != "::" && !bound.empty()) return {bound};
  std::vector<std::string> out, loopback;
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return {"127.0.0.1"};
  for (ifaddrs* i = all; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN] = {0};
    const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    if (!inet_ntop(AF_INET, &in->sin_addr, text, sizeof text)) continue;
    (std::string(text).starts_with("127.") ? loopback : out).emplace_back(text);
  }
  freeifaddrs(all);
  out.insert(out.end(), loopback.begin(), loopback.end());
  if (out.empty()) out.emplace_back("127.0.0.1");
  return out;
}

}  // namespace sluice::media
