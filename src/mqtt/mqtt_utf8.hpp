#pragma once
// The text rules of MQTT (3.1.1 section 1.5.3, 5.0 section 1.5.4): strings on the wire are
// well-formed UTF-8 (RFC 3629: no overlong forms, no UTF-16 surrogates, nothing above U+10FFFF)
// and never contain U+0000. A v5 PUBLISH whose payload format indicator is 1 carries well-formed
// UTF-8 too, where U+0000 is allowed.
#include <cstddef>
#include <string_view>

namespace sluice::mqtt {

// The longest string, binary value or topic a 16-bit length prefix can carry.
inline constexpr std::size_t kMaxStringLength = 65535;

// Well-formed UTF-8 per RFC 3629 (U+0000 allowed).
bool is_well_formed_utf8(std::string_view text);
// What an MQTT UTF-8 Encoded String may hold: well-formed UTF-8 without U+0000, at most 65535
// bytes. (Control characters and non-characters are allowed; the spec only discourages them.)
bool is_mqtt_string(std::string_view text);

}  // namespace sluice::mqtt
