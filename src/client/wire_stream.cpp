// client::Stream: sending, receiving and closing one stream of a Session.
#include "client/detail/wire_session_impl.hpp"

namespace sluice::client {

// -------------------------------------------------------------------------------- Stream

Status Stream::send(std::string_view data) {
  if (!state_) return fail(Error::bad_request("empty stream handle"));
  auto impl = state_->session.lock();
  if (!impl || impl->closing) return fail(Error::unavailable("session closed"));
  if (state_->blocked.load(std::memory_order_acquire) ||
      state_->closed.load(std::memory_order_acquire)) {
    std::unique_lock lock(state_->mutex);
    state_->changed.wait(lock, [&] { return !state_->blocked || state_->closed || impl->closing; });
    if (state_->reset_error) return fail(*state_->reset_error);
    if (state_->closed) return fail(Error::bad_request("stream closed"));
  }
  impl->hand_off(state_, wire::copy_message(data));
  return {};
}

Result<std::size_t> Stream::send_acked(std::string_view data, std::chrono::milliseconds timeout) {
  if (!state_) return fail(Error::bad_request("empty stream handle"));
  auto impl = state_->session.lock();
  if (!impl || impl->closing) return fail(Error::unavailable("session closed"));
  std::future<Result<std::size_t>> future;
  auto s = state_;
  auto ok = impl->call([&]() -> Status {
    {
      std::lock_guard lock(s->mutex);
      if (s->reset_error) return fail(*s->reset_error);
    }
    if (!impl->core || s->wire_id == 0) return fail(Error::unavailable("not connected"));
    s->acks.emplace_back();
    future = s->acks.back().get_future();
    wire::OutMessage m = wire::copy_message(data);
    m.flags = flag::kAckRequested;
    impl->core->send(s->wire_id, std::move(m));
    impl->flush();
    return {};
  });
  if (!ok) return fail(ok.error());
  if (future.wait_for(timeout) != std::future_status::ready) {
    return fail(Error{504, "no acknowledgement in time", {}});
  }
  return future.get();
}

std::optional<Message> Stream::receive(std::chrono::milliseconds timeout) {
  if (!state_) return std::nullopt;
  std::pair<Message, std::uint32_t> item;
  {
    std::unique_lock lock(state_->mutex);
    if (!state_->changed.wait_for(lock, timeout,
                                  [&] { return !state_->inbox.empty() || state_->closed; })) {
      return std::nullopt;
    }
    if (state_->inbox.empty()) return std::nullopt;
    item = std::move(state_->inbox.front());
    state_->inbox.pop_front();
  }
  // Give credit back in batches: one post per 64 KiB received, not one per message.
  auto total = state_->unreturned.fetch_add(item.second) + item.second;
  auto impl = state_->session.lock();
  if (impl &&
      total >= std::min<std::uint32_t>(kCreditBatch, impl->options.settings.stream_window / 4)) {
    auto credit = state_->unreturned.exchange(0);
    asio::post(impl->io, [impl, s = state_, credit] {
      if (impl->core && s->wire_id) {
        impl->core->consume(s->wire_id, credit);
        impl->flush();
      }
    });
  }
  return std::move(item.first);
}

Status Stream::reply(std::uint64_t token, std::string_view data) {
  if (!state_) return fail(Error::bad_request("empty stream handle"));
  auto impl = state_->session.lock();
  if (!impl) return fail(Error::unavailable("session closed"));
  impl->hand_off(state_, reply_message(token, std::string(data)));
  return {};
}

Status Stream::reply_error(std::uint64_t token, const Error& error) {
  if (!state_) return fail(Error::bad_request("empty stream handle"));
  auto impl = state_->session.lock();
  if (!impl) return fail(Error::unavailable("session closed"));
  impl->hand_off(state_, reply_message(token, std::unexpected(error)));
  return {};
}

void Stream::set_priority(std::uint16_t priority) {
  if (!state_) return;
  if (auto impl = state_->session.lock()) {
    asio::post(impl->io, [impl, s = state_, priority] {
      s->open.priority = priority;
      if (impl->core && s->wire_id) {
        impl->core->set_priority(s->wire_id, priority);
        impl->flush();
      }
    });
  }
}

void Stream::close() {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->closed) return;
    state_->closed = true;
  }
  state_->changed.notify_all();
  if (auto impl = state_->session.lock()) {
    asio::post(impl->io, [impl, s = state_] {
      impl->drain();  // what was sent before close() goes out first
      if (impl->core && s->wire_id) {
        impl->core->finish(s->wire_id);
        impl->by_wire.erase(s->wire_id);
        impl->flush();
      }
      std::erase(impl->streams, s);
    });
  }
}

bool Stream::active() const {
  if (!state_) return false;
  std::lock_guard lock(state_->mutex);
  return !state_->closed;
}

StreamStatistics Stream::statistics() const {
  StreamStatistics out;
  if (!state_) return out;
  auto impl = state_->session.lock();
  if (!impl || impl->closing) return out;
  return impl->call([&]() {
    StreamStatistics st;
    st.active = !state_->closed;
    if (impl->core && state_->wire_id) {
      if (auto s = impl->core->stream_stats(state_->wire_id)) {
        st.stream_id = s->id;
        st.priority = s->priority;
        st.bytes_sent = s->bytes_sent;
        st.bytes_received = s->bytes_received;
        st.messages_sent = s->messages_sent;
        st.messages_received = s->messages_received;
        st.gaps = s->gaps_received;
        st.send_window = s->send_window;
        st.receive_window = s->receive_window;
      }
      if (auto r = impl->core->rtt()) st.rtt = *r;
    }
    return st;
  });
}

}  // namespace sluice::client
