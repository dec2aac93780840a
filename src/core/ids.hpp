#pragma once
// UUIDs as canonical lowercase text ("8-4-4-4-12"), the form used on the wire and as map keys.
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

// Random (version 4) UUID from a cryptographic source.
std::string new_uuid4();

// Name-based (version 5, SHA-1) UUID: the same namespace and name always give the same id.
std::string uuid5(std::string_view namespace_uuid, std::string_view name);

// Accepts the forms FastAPI accepts (hyphenated, any case, optional braces or "urn:uuid:");
// returns the canonical lowercase hyphenated form, or nullopt when `text` is not a UUID.
std::optional<std::string> canonical_uuid(std::string_view text);

// Lowercase hex of raw bytes ("\x01\xff" -> "01ff").
std::string to_hex(std::string_view bytes);

}  // namespace sluice
