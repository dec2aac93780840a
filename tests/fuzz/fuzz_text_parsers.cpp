// Small text parsers fed by the network or by operators: timestamps, UUIDs, subjects and
// patterns, HTTP routes, hub payloads turned into JSON (which must always be valid JSON), error
// reply bodies, the relay's users and tokens files, and data streams' UDP packets as a preview
// shows them (every stream type's decoder; the result must serialize).
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>

#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "http/router.hpp"
#include "hub/subject.hpp"
#include "preview/preview_decoder.hpp"
#include "relay/access_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto t = sluice::parse_timestamp(text)) (void)sluice::format_timestamp(*t);
  (void)sluice::canonical_uuid(text);
  if (sluice::hub::is_valid_pattern(text)) {
    (void)sluice::hub::subject_matches(text, "maestra.stream.advertise.video");
  }
  if (sluice::hub::is_valid_subject(text)) (void)sluice::hub::subject_matches("maestra.>", text);
  static const sluice::http::Router router = [] {
    sluice::http::Router r;
    auto h = [](const sluice::http::HttpRequest&,
                const sluice::http::PathParams&) -> sluice::http::Reply {
      return sluice::http::HttpResponse{};
    };
    r.add("GET", "/streams/{stream_id}", h);
    r.add("GET", "/streams/sessions", h);
    r.add("DELETE", "/streams/{stream_id}/leave/{subscriber_id}", h);
    return r;
  }();
  (void)router.route("GET", text);
  (void)router.route("DELETE", text);

  boost::system::error_code ec;
  (void)boost::json::parse(sluice::payload_as_json(text), ec);
  if (ec) __builtin_trap();  // SSE and /ws frames would be broken
  auto e = sluice::parse_error_reply(text);
  if (e.status < 400 || e.status > 599) __builtin_trap();
  (void)sluice::relay::parse_users(text);
  (void)sluice::relay::parse_tokens(text);
  for (const char* type : {"sensor", "data", "audio", "video"}) {
    (void)sluice::to_json_text(sluice::preview::decode_packet(type, {data, size}));
  }
  return 0;
}
