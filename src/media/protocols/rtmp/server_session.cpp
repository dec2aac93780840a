#include "media/protocols/rtmp/server_session.hpp"

#include <algorithm>

namespace sluice::rtmp {

namespace {

using amf0::Value;

constexpr std::uint8_t kDataAmf3 = 15;
constexpr std::uint8_t kCommandAmf3 = 17;
constexpr std::uint16_t kStreamEof = 1;

// Commands players and publishers send that need no answer and change nothing here.
bool ignorable_command(std::string_view name) {
  static constexpr std::string_view kIgnored[] = {
      "receiveAudio", "receiveVideo", "_checkbw", "_result",     "_error",
      "onStatus",     "pause",        "seek",     "setPeerInfo", "onBWDone"};
  return std::find(std::begin(kIgnored), std::end(kIgnored), name) != std::end(kIgnored);
}

std::pair<std::string, std::string> split_query(std::string_view text) {
  auto q = text.find('?');
  if (q == std::string_view::npos) return {std::string(text), {}};
  return {std::string(text.substr(0, q)), std::string(text.substr(q + 1))};
}

Message user_control(std::uint16_t event, std::uint32_t stream_id) {
  Message m;
  m.csid = kControlChunkStream;
  m.type = msg_type::kUserControl;
  m.payload = {
      static_cast<std::uint8_t>(event >> 8),      static_cast<std::uint8_t>(event),
      static_cast<std::uint8_t>(stream_id >> 24), static_cast<std::uint8_t>(stream_id >> 16),
      static_cast<std::uint8_t>(stream_id >> 8),  static_cast<std::uint8_t>(stream_id)};
  return m;
}

const std::string* string_at(const std::vector<Value>& v, std::size_t i) {
  if (i >= v.size()) return nullptr;
  if (v[i].type != amf0::Marker::kString && v[i].type != amf0::Marker::kLongString) return nullptr;
  return &v[i].string;
}

}  // namespace

ServerSession::ServerSession(SessionOptions options)
    : options_(options), reader_(options.before_publish), writer_(kDefaultChunkSize) {}

Status ServerSession::violation(std::string detail) {
  error_ = Error::bad_request("RTMP: " + std::move(detail));
  return fail(*error_);
}

Status ServerSession::feed(std::span<const std::uint8_t> in, std::vector<SessionEvent>& events) {
  if (error_) return fail(*error_);
  if (!handshake_.done()) {
    auto used = handshake_.feed(in, out_);
    if (!used) {
      error_ = used.error();
      return fail(*error_);
    }
    in = in.subspan(*used);
    if (!handshake_.done()) return {};
  }
  if (!in.empty()) {
    if (next_message_ == messages_.size()) {
      messages_.clear();
      next_message_ = 0;
    }
    if (auto st = reader_.feed(in, messages_); !st) {
      error_ = st.error();
      return fail(*error_);
    }
    if (reader_.ack_due()) writer_.write(acknowledgement_message(reader_.take_ack()), out_);
  }
  if (awaiting_) return {};
  while (next_message_ < messages_.size()) {
    Message& m = messages_[next_message_++];
    if (auto st = on_message(m, events); !st) return st;
    if (awaiting_) return {};
  }
  messages_.clear();
  next_message_ = 0;
  return {};
}

Status ServerSession::on_message(Message& m, std::vector<SessionEvent>& events) {
  switch (m.type) {
    case msg_type::kCommandAmf0:
    case kCommandAmf3:
      if (auto st = unwrap_amf(m, "command"); !st) return st;
      return on_command(m, events);
    case msg_type::kDataAmf0:
    case kDataAmf3:
      if (auto st = unwrap_amf(m, "data message"); !st) return st;
      return on_data(m, events);
    case msg_type::kAudio:
    case msg_type::kVideo: {
      auto it = streams_.find(m.stream_id);
      if (it == streams_.end() || it->second != StreamState::kPublishing) {
        return violation("media on message stream " + std::to_string(m.stream_id) +
                         ", which is not an accepted publish");
      }
      SessionEvent e;
      e.kind = EventKind::kMedia;
      e.stream_id = m.stream_id;
      e.message = std::move(m);
      events.push_back(std::move(e));
      return {};
    }
    case msg_type::kSetChunkSize:
    case msg_type::kAbort:
    case msg_type::kAcknowledgement:
    case msg_type::kUserControl:
    case msg_type::kWindowAckSize:
    case msg_type::kSetPeerBandwidth:
      return {};  // applied by the chunk reader, or nothing to do for a server
    default:
      return violation("unsupported message type " + std::to_string(m.type));
  }
}

// Bounds a command or data message and turns its AMF3 form (a 0 byte, then AMF0) into AMF0.
Status ServerSession::unwrap_amf(Message& m, const char* what) {
  if (m.payload.size() > options_.max_command_bytes) {
    return violation(std::string(what) + " of " + std::to_string(m.payload.size()) +
                     " bytes is too large");
  }
  if (m.type == kCommandAmf3 || m.type == kDataAmf3) {
    if (m.payload.empty()) return violation(std::string("empty AMF3 ") + what);
    m.payload.erase(m.payload.begin());
    m.type = m.type == kCommandAmf3 ? msg_type::kCommandAmf0 : msg_type::kDataAmf0;
  }
  return {};
}

Status ServerSession::on_command(const Message& m, std::vector<SessionEvent>& events) {
  auto values = amf0::decode_all(m.bytes());
  if (!values) return violation("broken AMF0 command: " + values.error().detail);
  const std::string* name = string_at(*values, 0);
  if (!name) return violation("command without a name");
  const double txn =
      values->size() > 1 && (*values)[1].type == amf0::Marker::kNumber ? (*values)[1].number : 0;
  if (*name == "connect") {
    if (connect_seen_) return violation("second connect on one connection");
    connect_seen_ = true;
    connect_transaction_ = txn;
    SessionEvent e;
    e.kind = EventKind::kConnect;
    if (values->size() > 2) {
      const Value& cmd = (*values)[2];
      if (const Value* app = cmd.find("app"); app && app->type == amf0::Marker::kString) {
        e.app = split_query(app->string).first;
        while (!e.app.empty() && e.app.back() == '/')
          e.app.pop_back();
      }
      if (const Value* tc = cmd.find("tcUrl"); tc && tc->type == amf0::Marker::kString) {
        e.tc_url = tc->string;
      }
      if (const Value* enc = cmd.find("objectEncoding");
          enc && enc->type == amf0::Marker::kNumber) {
        object_encoding_ = enc->number;
      }
    }
    events.push_back(std::move(e));
    awaiting_ = true;
    return {};
  }
  if (!connected_) return violation("command '" + *name + "' before a successful connect");
  const Value null = Value::null();
  if (*name == "releaseStream" || *name == "FCPublish" || *name == "FCSubscribe" ||
      *name == "getStreamLength") {
    if (txn > 0) {
      const Value reply[] = {null, *name == "getStreamLength" ? Value::num(0) : Value::undefined()};
      send_result(txn, reply);
    }
    return {};
  }
  if (*name == "createStream") {
    if (streams_.size() >= options_.max_streams) {
      return violation("more than " + std::to_string(options_.max_streams) + " streams");
    }
    const std::uint32_t id = next_stream_id_++;
    streams_[id] = StreamState::kCreated;
    const Value reply[] = {null, Value::num(id)};
    send_result(txn, reply);
    return {};
  }
  if (*name == "publish" || *name == "play") {
    const bool publish = *name == "publish";
    auto it = streams_.find(m.stream_id);
    if (it == streams_.end() || it->second != StreamState::kCreated) {
      return violation(*name + " on message stream " + std::to_string(m.stream_id) +
                       ", which was not created or is in use");
    }
    const std::string* stream_name = string_at(*values, 3);
    if (!stream_name) return violation(*name + " without a stream name");
    SessionEvent e;
    e.kind = publish ? EventKind::kPublish : EventKind::kPlay;
    e.stream_id = m.stream_id;
    std::tie(e.name, e.query) = split_query(*stream_name);
    it->second = publish ? StreamState::kPublishPending : StreamState::kPlayPending;
    stream_names_[m.stream_id] = e.name;
    events.push_back(std::move(e));
    awaiting_ = true;
    return {};
  }
  if (*name == "FCUnpublish") {
    const std::string* stream_name = string_at(*values, 3);
    if (!stream_name) return {};
    const std::string wanted = split_query(*stream_name).first;
    for (const auto& [id, state] : streams_) {
      if (state == StreamState::kPublishing && stream_names_[id] == wanted) {
        stop_stream(id, events);
        break;
      }
    }
    return {};
  }
  if (*name == "closeStream") {
    stop_stream(m.stream_id, events);
    return {};
  }
  if (*name == "deleteStream") {
    if (values->size() > 3 && (*values)[3].type == amf0::Marker::kNumber) {
      const double id = (*values)[3].number;
      if (id >= 0 && id <= 0xFFFFFFFF) {
        const auto sid = static_cast<std::uint32_t>(id);
        stop_stream(sid, events);
        streams_.erase(sid);
        stream_names_.erase(sid);
      }
    }
    return {};
  }
  if (ignorable_command(*name)) return {};
  return violation("unknown command '" + name->substr(0, 64) + "'");
}

void ServerSession::stop_stream(std::uint32_t stream_id, std::vector<SessionEvent>& events) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  const bool active = it->second == StreamState::kPublishing || it->second == StreamState::kPlaying;
  it->second = StreamState::kCreated;
  if (!active) return;
  SessionEvent e;
  e.kind = EventKind::kStop;
  e.stream_id = stream_id;
  e.name = stream_names_[stream_id];
  events.push_back(std::move(e));
}

Status ServerSession::on_data(Message& m, std::vector<SessionEvent>& events) {
  auto it = streams_.find(m.stream_id);
  if (it == streams_.end() || it->second != StreamState::kPublishing) {
    // Players may send data (e.g. |RtmpSampleAccess echoes); only publishers' data matters.
    return {};
  }
  auto values = amf0::decode_all(m.bytes());
  if (!values) return violation("broken AMF0 data message: " + values.error().detail);
  const std::string* first = string_at(*values, 0);
  std::size_t meta_at = 0;
  if (first && *first == "@setDataFrame") {
    const std::string* second = string_at(*values, 1);
    if (second && *second == "onMetaData") meta_at = 2;
  } else if (first && *first == "onMetaData") {
    meta_at = 1;
  }
  if (meta_at && values->size() > meta_at) {
    SessionEvent e;
    e.kind = EventKind::kMetadata;
    e.stream_id = m.stream_id;
    e.metadata = std::move((*values)[meta_at]);
    events.push_back(std::move(e));
    return {};
  }
  SessionEvent e;
  e.kind = EventKind::kMedia;
  e.stream_id = m.stream_id;
  e.message = std::move(m);
  events.push_back(std::move(e));
  return {};
}

void ServerSession::write_amf(std::uint32_t csid, std::uint8_t type, std::uint32_t stream_id,
                              std::span<const Value> values) {
  const std::string body = amf0::encode(values);
  writer_.write(csid, 0, type, stream_id,
                {reinterpret_cast<const std::uint8_t*>(body.data()), body.size()}, out_);
}

void ServerSession::send_command(std::uint32_t csid, std::uint32_t stream_id,
                                 std::span<const Value> values) {
  write_amf(csid, msg_type::kCommandAmf0, stream_id, values);
}

void ServerSession::send_result(double transaction, std::span<const Value> values) {
  std::vector<Value> all{Value::str("_result"), Value::num(transaction)};
  all.insert(all.end(), values.begin(), values.end());
  send_command(kCommandCsid, 0, all);
}

void ServerSession::send_status(std::uint32_t stream_id, std::string_view level,
                                std::string_view code, std::string_view description) {
  const Value values[] = {Value::str("onStatus"), Value::num(0), Value::null(),
                          Value::object({{"level", Value::str(std::string(level))},
                                         {"code", Value::str(std::string(code))},
                                         {"description", Value::str(std::string(description))}})};
  send_command(kStatusCsid, stream_id, values);
}

void ServerSession::accept_connect() {
  awaiting_ = false;
  connected_ = true;
  writer_.write(window_ack_size_message(options_.window_ack_size), out_);
  writer_.write(set_peer_bandwidth_message(options_.window_ack_size, 2), out_);
  writer_.write_set_chunk_size(kServerChunkSize, out_);
  const Value values[] = {Value::object({{"fmsVer", Value::str("FMS/3,0,1,123")},
                                         {"capabilities", Value::num(31)},
                                         {"mode", Value::num(1)}}),
                          Value::object({{"level", Value::str("status")},
                                         {"code", Value::str("NetConnection.Connect.Success")},
                                         {"description", Value::str("Connection succeeded.")},
                                         {"objectEncoding", Value::num(object_encoding_)}})};
  send_result(connect_transaction_, values);
}

void ServerSession::reject_connect(std::string_view description) {
  awaiting_ = false;
  const Value values[] = {Value::str("_error"), Value::num(connect_transaction_), Value::null(),
                          Value::object({{"level", Value::str("error")},
                                         {"code", Value::str("NetConnection.Connect.Rejected")},
                                         {"description", Value::str(std::string(description))}})};
  send_command(kCommandCsid, 0, values);
}

void ServerSession::accept_publish(std::uint32_t stream_id, std::string_view name) {
  awaiting_ = false;
  reader_.set_limits(options_.limits);
  streams_[stream_id] = StreamState::kPublishing;
  writer_.write(stream_begin_message(stream_id), out_);
  send_status(stream_id, "status", "NetStream.Publish.Start",
              std::string(name) + " is now published.");
}

void ServerSession::reject_publish(std::uint32_t stream_id, std::string_view code,
                                   std::string_view description) {
  refuse(stream_id, code, description);
}

void ServerSession::refuse(std::uint32_t stream_id, std::string_view code,
                           std::string_view description) {
  awaiting_ = false;
  streams_[stream_id] = StreamState::kCreated;
  send_status(stream_id, "error", code, description);
}

void ServerSession::accept_play(std::uint32_t stream_id, std::string_view name) {
  awaiting_ = false;
  streams_[stream_id] = StreamState::kPlaying;
  writer_.write(stream_begin_message(stream_id), out_);
  send_status(stream_id, "status", "NetStream.Play.Reset",
              "Playing and resetting " + std::string(name) + ".");
  send_status(stream_id, "status", "NetStream.Play.Start",
              "Started playing " + std::string(name) + ".");
  const Value access[] = {Value::str("|RtmpSampleAccess"), Value::boolean_value(true),
                          Value::boolean_value(true)};
  write_amf(kStatusCsid, msg_type::kDataAmf0, stream_id, access);
}

void ServerSession::reject_play(std::uint32_t stream_id, std::string_view code,
                                std::string_view description) {
  refuse(stream_id, code, description);
}

void ServerSession::end_play(std::uint32_t stream_id, std::string_view name) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end() || it->second != StreamState::kPlaying) return;
  it->second = StreamState::kCreated;
  send_status(stream_id, "status", "NetStream.Play.UnpublishNotify",
              std::string(name) + " is now unpublished.");
  writer_.write(user_control(kStreamEof, stream_id), out_);
}

}  // namespace sluice::rtmp
