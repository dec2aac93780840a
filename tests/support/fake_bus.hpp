#pragma once
// A Bus for unit tests: records every publish, and hands requests to a scripted responder
// (or reports no responder / a timeout) synchronously, so tests need no threads or timers.
#include <boost/json/parse.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hub/bus.hpp"

namespace sluice::testing {

class FakeBus final : public hub::Bus {
 public:
  struct Published {
    std::string subject;
    boost::json::object payload;
  };

  void publish(std::string_view subject, std::string data) override {
    published.push_back({std::string(subject), boost::json::parse(data).as_object()});
  }
  bool has_subscribers(std::string_view) const override { return false; }
  std::string describe() const override { return "fake"; }

  // Scripted answer: nullopt means "no responder", a string is the reply JSON, and
  // `time_out` simulates a publisher that never answers.
  std::optional<std::string> reply;
  bool time_out = false;
  std::vector<Published> requests;

  void request(std::string_view subject, std::string data, std::chrono::milliseconds,
               hub::RequestCallback done) override {
    requests.push_back({std::string(subject), boost::json::parse(data).as_object()});
    if (time_out) {
      return done(std::unexpected(hub::BusFailure{hub::BusFailure::Kind::kTimeout, "timed out"}));
    }
    if (!reply) {
      return done(std::unexpected(hub::BusFailure{hub::BusFailure::Kind::kNoResponders, "none"}));
    }
    done(std::make_shared<const hub::Message>(hub::Message{"_INBOX.test", "", *reply}));
  }

  std::vector<Published> on(std::string_view subject) const {
    std::vector<Published> out;
    for (const auto& p : published) {
      if (p.subject == subject) out.push_back(p);
    }
    return out;
  }

  std::vector<Published> published;
};

}  // namespace sluice::testing
