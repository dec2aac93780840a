#include "media/protocols/rtmp/chunk.hpp"

#include <algorithm>

namespace sluice::rtmp {

namespace {

constexpr std::size_t kMessageHeaderSize[4] = {11, 7, 3, 0};

std::uint32_t be24(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
}
std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}
std::uint32_t le32(const std::uint8_t* p) {
  return (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[1]} << 8) |
         p[0];
}

std::size_t basic_header_size(std::uint8_t first) {
  switch (first & 0x3F) {
    case 0:
      return 2;
    case 1:
      return 3;
    default:
      return 1;
  }
}

std::string csid_text(std::uint32_t csid) {
  return "chunk stream " + std::to_string(csid);
}

}  // namespace

Status ChunkReader::set_error(std::string detail) {
  error_ = Error::bad_request("RTMP chunk: " + std::move(detail));
  return fail(*error_);
}

void ChunkReader::drop_partial(StreamState& s) {
  if (!s.in_progress) return;
  buffered_ -= s.partial.size();
  --partial_streams_;
  s.in_progress = false;
  s.partial = {};
}

std::size_t ChunkReader::header_size() const {
  const std::size_t basic = basic_header_size(header_[0]);
  if (header_len_ < basic) return basic;
  const unsigned fmt = header_[0] >> 6;
  const std::size_t base = basic + kMessageHeaderSize[fmt];
  if (header_len_ < base) return base;
  bool extended = false;
  if (fmt < 3) {
    extended = be24(header_ + basic) == kExtendedTimestamp;
  } else {
    std::uint32_t csid = header_[0] & 0x3F;
    if (basic == 2) csid = 64 + header_[1];
    if (basic == 3) csid = 64 + header_[1] + 256u * header_[2];
    auto it = streams_.find(csid);
    extended = it != streams_.end() && it->second.extended;
  }
  return extended ? base + 4 : base;
}

Status ChunkReader::on_header() {
  const std::size_t basic = basic_header_size(header_[0]);
  const unsigned fmt = header_[0] >> 6;
  std::uint32_t csid = header_[0] & 0x3F;
  if (basic == 2) csid = 64 + header_[1];
  if (basic == 3) csid = 64 + header_[1] + 256u * header_[2];
  const std::uint8_t* mh = header_ + basic;
  const std::uint8_t* ext = mh + kMessageHeaderSize[fmt];

  auto it = streams_.find(csid);
  if (it == streams_.end()) {
    if (fmt != 0) {
      return set_error("fmt " + std::to_string(fmt) + " header on " + csid_text(csid) +
                       " without a previous fmt 0 header");
    }
    if (streams_.size() >= limits_.max_chunk_streams) {
      return set_error("more than " + std::to_string(limits_.max_chunk_streams) +
                       " chunk streams (at " + csid_text(csid) + ")");
    }
    it = streams_.emplace(csid, StreamState{}).first;
  }
  StreamState& s = it->second;

  if (fmt != 3 && s.in_progress) {
    return set_error("fmt " + std::to_string(fmt) + " header on " + csid_text(csid) +
                     " while a message is incomplete");
  }
  if (fmt != 3) {
    std::uint32_t field = be24(mh);
    s.extended = field == kExtendedTimestamp;
    if (s.extended) field = be32(ext);
    if (fmt == 0) {
      s.timestamp = field;
    } else {
      s.timestamp += field;
    }
    s.ts_field = field;
    if (fmt <= 1) {
      s.length = be24(mh + 3);
      s.type = mh[6];
    }
    if (fmt == 0) s.stream_id = le32(mh + 7);
  } else if (!s.in_progress) {
    // fmt 3 starting a new message: same header, the last timestamp field applied again.
    if (s.extended) s.ts_field = be32(ext);
    s.timestamp += s.ts_field;
  }
  // fmt 3 continuation: timestamp unchanged; a repeated extended timestamp is skipped.

  if (!s.in_progress) {
    if (s.length > limits_.max_message) {
      return set_error("message length " + std::to_string(s.length) + " on " + csid_text(csid) +
                       " above the limit of " + std::to_string(limits_.max_message));
    }
    if (partial_streams_ >= limits_.max_partial_streams) {
      return set_error("more than " + std::to_string(limits_.max_partial_streams) +
                       " chunk streams with incomplete messages (at " + csid_text(csid) + ")");
    }
    s.in_progress = true;
    s.partial.clear();
    ++partial_streams_;
  }
  current_csid_ = csid;
  chunk_left_ = std::min<std::uint32_t>(chunk_size_, s.length - s.partial.size());
  return {};
}

Status ChunkReader::apply_control(const Message& m) {
  if (m.type != msg_type::kSetChunkSize && m.type != msg_type::kAbort &&
      m.type != msg_type::kWindowAckSize) {
    return {};
  }
  if (m.payload.size() < 4) {
    return set_error("control message type " + std::to_string(m.type) + " shorter than 4 bytes");
  }
  const std::uint32_t value = be32(m.payload.data());
  switch (m.type) {
    case msg_type::kSetChunkSize:
      if (value == 0 || (value & 0x80000000u) != 0 || value > limits_.max_chunk_size) {
        return set_error("Set Chunk Size " + std::to_string(value) + " outside 1.." +
                         std::to_string(limits_.max_chunk_size));
      }
      chunk_size_ = value;
      return {};
    case msg_type::kAbort:
      if (auto it = streams_.find(value); it != streams_.end()) drop_partial(it->second);
      return {};
    default:  // Window Acknowledgement Size
      ack_window_ = value;
      return {};
  }
}

Status ChunkReader::end_chunk(std::vector<Message>& out) {
  StreamState& s = streams_.at(current_csid_);
  in_payload_ = false;
  header_len_ = 0;
  if (s.partial.size() < s.length) return {};
  Message m;
  m.csid = current_csid_;
  m.timestamp = s.timestamp;
  m.type = s.type;
  m.stream_id = s.stream_id;
  m.payload = std::move(s.partial);
  s.partial = {};
  buffered_ -= m.payload.size();
  --partial_streams_;
  s.in_progress = false;
  if (auto st = apply_control(m); !st) return st;  // the offending message is not handed out
  out.push_back(std::move(m));
  return {};
}

Status ChunkReader::feed(std::span<const std::uint8_t> in, std::vector<Message>& out) {
  if (error_) return fail(*error_);
  received_ += in.size();
  std::size_t i = 0;
  while (i < in.size()) {
    if (!in_payload_) {
      header_[header_len_++] = in[i++];
      if (header_len_ < header_size()) continue;
      if (auto st = on_header(); !st) return st;
      in_payload_ = true;
      if (chunk_left_ == 0) {
        if (auto st = end_chunk(out); !st) return st;
      }
      continue;
    }
    StreamState& s = streams_.at(current_csid_);
    const std::size_t n = std::min<std::size_t>(chunk_left_, in.size() - i);
    if (buffered_ + n > limits_.max_buffered) {
      return set_error("more than " + std::to_string(limits_.max_buffered) +
                       " bytes buffered in incomplete messages (at " + csid_text(current_csid_) +
                       ")");
    }
    s.partial.insert(s.partial.end(), in.begin() + i, in.begin() + i + n);
    buffered_ += n;
    i += n;
    chunk_left_ -= static_cast<std::uint32_t>(n);
    if (chunk_left_ == 0) {
      if (auto st = end_chunk(out); !st) return st;
    }
  }
  return {};
}

void ChunkWriter::write(std::uint32_t csid, std::uint32_t timestamp, std::uint8_t type,
                        std::uint32_t stream_id, std::span<const std::uint8_t> payload,
                        std::string& out) const {
  csid = std::clamp(csid, kMinChunkStreamId, kMaxChunkStreamId);
  const bool extended = timestamp >= kExtendedTimestamp;
  auto basic = [&](unsigned fmt) {
    const auto f = static_cast<char>(fmt << 6);
    if (csid < 64) {
      out.push_back(static_cast<char>(f | static_cast<char>(csid)));
    } else if (csid < 320) {
      out.push_back(f);
      out.push_back(static_cast<char>(csid - 64));
    } else {
      out.push_back(static_cast<char>(f | 1));
      out.push_back(static_cast<char>((csid - 64) & 0xFF));
      out.push_back(static_cast<char>((csid - 64) >> 8));
    }
  };
  auto put_ext = [&] {
    if (!extended) return;
    for (int sh = 24; sh >= 0; sh -= 8)
      out.push_back(static_cast<char>(timestamp >> sh));
  };
  const std::uint32_t ts_field = extended ? kExtendedTimestamp : timestamp;
  const auto length = static_cast<std::uint32_t>(payload.size());
  basic(0);
  for (int sh = 16; sh >= 0; sh -= 8)
    out.push_back(static_cast<char>(ts_field >> sh));
  for (int sh = 16; sh >= 0; sh -= 8)
    out.push_back(static_cast<char>(length >> sh));
  out.push_back(static_cast<char>(type));
  for (int sh = 0; sh <= 24; sh += 8)
    out.push_back(static_cast<char>(stream_id >> sh));
  put_ext();
  std::size_t at = 0;
  for (;;) {
    const std::size_t n = std::min<std::size_t>(chunk_size_, payload.size() - at);
    out.append(reinterpret_cast<const char*>(payload.data() + at), n);
    at += n;
    if (at >= payload.size()) break;
    basic(3);
    put_ext();
  }
}

void ChunkWriter::write_set_chunk_size(std::uint32_t size, std::string& out) {
  size = std::clamp<std::uint32_t>(size, 1, 0x7FFFFFFF);
  write(set_chunk_size_message(size), out);
  chunk_size_ = size;
}

namespace {

Message control(std::uint8_t type, std::initializer_list<std::uint32_t> words,
                std::initializer_list<std::uint8_t> tail = {}) {
  Message m;
  m.csid = kControlChunkStream;
  m.type = type;
  for (std::uint32_t w : words) {
    for (int sh = 24; sh >= 0; sh -= 8)
      m.payload.push_back(static_cast<std::uint8_t>(w >> sh));
  }
  m.payload.insert(m.payload.end(), tail.begin(), tail.end());
  return m;
}

}  // namespace

Message set_chunk_size_message(std::uint32_t size) {
  return control(msg_type::kSetChunkSize, {size & 0x7FFFFFFFu});
}
Message abort_message(std::uint32_t csid) {
  return control(msg_type::kAbort, {csid});
}
Message acknowledgement_message(std::uint32_t sequence) {
  return control(msg_type::kAcknowledgement, {sequence});
}
Message window_ack_size_message(std::uint32_t window) {
  return control(msg_type::kWindowAckSize, {window});
}
Message set_peer_bandwidth_message(std::uint32_t window, std::uint8_t limit_type) {
  return control(msg_type::kSetPeerBandwidth, {window}, {limit_type});
}
Message stream_begin_message(std::uint32_t stream_id) {
  Message m = control(msg_type::kUserControl, {}, {0, 0});  // event type 0: Stream Begin
  for (int sh = 24; sh >= 0; sh -= 8)
    m.payload.push_back(static_cast<std::uint8_t>(stream_id >> sh));
  return m;
}

}  // namespace sluice::rtmp
