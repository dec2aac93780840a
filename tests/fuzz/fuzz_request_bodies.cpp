// Request bodies as they arrive from the network: JSON parsing and every body validator (the
// registry's, POST/PATCH /pipelines, and a relay channel's raw-frame metadata).
#include <cstdint>
#include <string_view>

#include "core/json.hpp"
#include "pipeline/pipeline_spec.hpp"
#include "pipeline/relay_frame_source.hpp"
#include "registry/config_schema.hpp"
#include "registry/requests.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto body = sluice::parse_json_object(text);
  if (!body) {
    (void)sluice::error_body(body.error());
    return 0;
  }
  (void)sluice::registry::parse_advertise(*body);
  (void)sluice::registry::parse_stream_request(*body);
  (void)sluice::registry::parse_join_request(*body);
  std::string name = "lidar";
  (void)sluice::registry::parse_type_spec(*body, &name);
  if (auto fields = sluice::registry::parse_config_schema(*body)) {
    (void)sluice::registry::validate_config(*fields, *body, {"body", "config"});
  }
  (void)sluice::registry::merge_config(*body, *body);
  if (auto spec = sluice::pipeline::parse_pipeline_spec(*body)) {
    (void)sluice::pipeline::to_json(*spec);
    (void)sluice::pipeline::merge_encoder(*spec, *body);
  }
  (void)sluice::pipeline::raw_layout_of(*body);
  return 0;
}
