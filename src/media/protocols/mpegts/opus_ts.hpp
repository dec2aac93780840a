#pragma once
// Opus in MPEG-TS (ETSI TS 102 366 Annex-style "Opus in MPEG-2 TS" as ffmpeg and GStreamer write
// it), sans I/O: a private-data stream (stream_type 0x06) with a registration descriptor "Opus"
// and an extension descriptor (tag 0x80) giving the channel configuration; every Opus packet in a
// PES is preceded by a control header — 11 bits 0x3FF, trim and extension flags, the packet's size
// as a run of 0xFF bytes ended by one below 0xFF, then the optional trims and extension.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace sluice::media::mpegts {

// The PES stream_id Opus uses (private_stream_1).
inline constexpr std::uint8_t kOpusStreamId = 0xBD;

// The ES_info descriptors of an Opus stream of 1 or 2 channels (family 0).
std::string opus_descriptors(unsigned channels);
// Reads the ES_info descriptors of a private-data stream: whether they mark Opus, and its channel
// count (the extension descriptor's code; 0 = dual mono, read as 2); 0 when they do not mark
// Opus or the configuration needs a mapping table (more than 2 channels).
unsigned opus_channels_of(std::span<const std::uint8_t> descriptors);

// Appends one Opus packet with its control header (no trims).
void append_opus_access_unit(std::string_view packet, std::string& out);
// The Opus packets of one PES payload, as views into it. 400 when a control header is missing
// or a size runs past the end (what was read before stays in `out`).
Status split_opus_access_units(std::string_view pes, std::vector<std::string_view>& out);

}  // namespace sluice::media::mpegts
