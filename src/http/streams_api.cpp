#include "http/streams_api.hpp"

#include <atomic>
#include <memory>
#include <utility>

#include "core/json.hpp"
#include "core/json_text.hpp"
#include "http/event_routes.hpp"
#include "http/request_params.hpp"
#include "hub/hub.hpp"
#include "registry/registry.hpp"
#include "registry/requests.hpp"

namespace sluice::http {
namespace json = boost::json;
using registry::Registry;

namespace {

HttpResponse ok(int status, const json::value& v) {
  return json_response(status, to_json_text(v));
}

template <class T>
json::array to_array(const std::vector<T>& items) {
  json::array out;
  out.reserve(items.size());
  for (const auto& i : items)
    out.emplace_back(registry::to_json(i));
  return out;
}

// 200 with the list, or the store's error (503 while it is unreachable).
template <class T>
HttpResponse list_reply(const Result<std::vector<T>>& items) {
  return items ? ok(200, to_array(*items)) : error_response(items.error());
}

// The registry's view of the caller (set by the Router's gate).
registry::Actor actor_of(const HttpRequest& req) {
  return registry::Actor{req.identity.owner(), req.manages_all};
}

// {"status": word, key: id} — the acknowledgement shape Maestra uses.
HttpResponse ack(const char* word, const char* key, const std::string& id) {
  return ok(200, json::object{{"status", word}, {key, id}});
}

// Parses the JSON body, then runs it through `parser` (one of registry/requests.hpp).
template <class Parser>
auto parse_body(const HttpRequest& req, Parser parser) -> decltype(parser(json::object{})) {
  auto body = parse_json_object(req.body);
  if (!body) return fail(body.error());
  return parser(*body);
}

void add_type_routes(Router& r, Registry& reg) {
  r.add("GET", "/streams/types", [&reg](const HttpRequest&, const PathParams&) -> Reply {
    return list_reply(reg.list_types());
  });
  r.add("POST", "/streams/types", [&reg](const HttpRequest& req, const PathParams&) -> Reply {
    auto spec = parse_body(req, [](const json::object& b) { return registry::parse_type_spec(b); });
    if (!spec) return error_response(spec.error());
    auto created = reg.create_type(*spec, actor_of(req));
    return created ? ok(201, registry::to_json(*created)) : error_response(created.error());
  });
  r.add("PUT", "/streams/types/{name}",
        [&reg](const HttpRequest& req, const PathParams& p) -> Reply {
          const std::string& name = p.find("name")->second;
          auto spec = parse_body(
              req, [&](const json::object& b) { return registry::parse_type_spec(b, &name); });
          if (!spec) return error_response(spec.error());
          auto updated = reg.update_type(name, *spec, actor_of(req));
          return updated ? ok(200, registry::to_json(*updated)) : error_response(updated.error());
        });
  r.add("DELETE", "/streams/types/{name}",
        [&reg](const HttpRequest& req, const PathParams& p) -> Reply {
          const std::string& name = p.find("name")->second;
          auto done = reg.delete_type(name, actor_of(req));
          return done ? ack("deleted", "name", name) : error_response(done.error());
        });
}

void add_stream_routes(Router& r, Registry& reg) {
  r.add("GET", "/streams/state", [&reg](const HttpRequest&, const PathParams&) -> Reply {
    auto snap = reg.snapshot();
    if (!snap) return error_response(snap.error());
    return ok(200, json::object{{"streams", to_array(snap->streams)},
                                {"sessions", to_array(snap->sessions)},
                                {"stream_types", to_array(snap->types)},
                                {"subscribers", to_array(snap->subscribers)}});
  });
  // Maestra's list (every stream) unless `limit` and/or `offset` ask for a page; then
  // X-Total-Count says how many there are in all. Each stream's JSON is the store's cached text.
  auto last_full_size = std::make_shared<std::atomic<std::size_t>>(0);
  r.add("GET", "/streams",
        [&reg, last_full_size](const HttpRequest& req, const PathParams&) -> Reply {
          auto limit = query_int(req, "limit", 0, 1'000'000'000);
          if (!limit) return error_response(limit.error());
          auto offset = query_int(req, "offset", 0, 1'000'000'000);
          if (!offset) return error_response(offset.error());
          std::optional<std::size_t> count;
          if (*limit) count = static_cast<std::size_t>(**limit);
          const auto type = req.param("stream_type");
          // A large list is built only while the server's reply budget has room for it. The full
          // list asks for the size it had last time before it is even walked (so a crowd asking for
          // it while the budget is held costs little), then settles on its exact size.
          const bool full = !type && !*limit && !*offset;
          ReplyBudget* budget = req.reply_budget;
          std::size_t reserved = 0;
          if (const std::size_t guess = full ? last_full_size->load() : 0;
              budget && guess >= kLargeReplyBytes) {
            if (!budget->try_take(guess)) return reply_budget_exhausted();
            reserved = guess;
          }
          auto page =
              reg.list_stream_json(type, static_cast<std::size_t>(offset->value_or(0)), count);
          if (!page) {
            if (reserved) budget->give(reserved);
            return error_response(page.error());
          }
          std::size_t size = 2;
          for (const auto& item : page->items)
            size += item->size() + 1;
          if (full) last_full_size->store(size);
          if (budget && size >= kLargeReplyBytes) {
            if (size > reserved && !budget->try_take(size - reserved)) {
              if (reserved) budget->give(reserved);
              return reply_budget_exhausted();
            }
            if (reserved > size) budget->give(reserved - size);
            reserved = size;
          } else if (reserved) {
            budget->give(std::exchange(reserved, 0));
          }
          std::string body;
          body.reserve(size);
          body += '[';
          for (const auto& item : page->items) {
            if (body.size() > 1) body += ',';
            body += *item;
          }
          body += ']';
          auto res = json_response(200, std::move(body));
          res.reserved = reserved;
          if (*limit || *offset) {
            res.headers.emplace_back("X-Total-Count", std::to_string(page->total));
            res.headers.emplace_back("Access-Control-Expose-Headers", "X-Total-Count");
          }
          return res;
        });
  r.add("POST", "/streams/advertise", [&reg](const HttpRequest& req, const PathParams&) -> Reply {
    auto ad = parse_body(req, registry::parse_advertise);
    if (!ad) return error_response(ad.error());
    auto view = reg.advertise(*ad, actor_of(req));
    return view ? ok(201, registry::to_json(*view)) : error_response(view.error());
  });
  r.add("GET", "/streams/{stream_id}", [&reg](const HttpRequest&, const PathParams& p) -> Reply {
    auto id = path_uuid(p, "stream_id");
    if (!id) return error_response(id.error());
    auto view = reg.get_stream(*id);
    return view ? ok(200, registry::to_json(*view)) : error_response(view.error());
  });
  r.add("DELETE", "/streams/{stream_id}",
        [&reg](const HttpRequest& req, const PathParams& p) -> Reply {
          auto id = path_uuid(p, "stream_id");
          if (!id) return error_response(id.error());
          auto done = reg.withdraw(*id, actor_of(req));
          return done ? ack("withdrawn", "stream_id", *id) : error_response(done.error());
        });
  r.add("POST", "/streams/{stream_id}/heartbeat",
        [&reg](const HttpRequest& req, const PathParams& p) -> Reply {
          auto id = path_uuid(p, "stream_id");
          if (!id) return error_response(id.error());
          auto done = reg.heartbeat_stream(*id, actor_of(req));
          return done ? ack("ok", "stream_id", *id) : error_response(done.error());
        });
  r.add("POST", "/streams/{stream_id}/request",
        [&reg](const HttpRequest& req, const PathParams& p) -> Reply {
          auto id = path_uuid(p, "stream_id");
          if (!id) return error_response(id.error());
          auto request = parse_body(req, registry::parse_stream_request);
          if (!request) return error_response(request.error());
          return Deferred{
              [&reg, id = *id, request = *request, actor = actor_of(req)](Respond respond) {
                reg.request_stream(
                    id, request,
                    [respond](Result<registry::StreamOffer> offer) {
                      respond(offer ? ok(200, registry::to_json(*offer))
                                    : error_response(offer.error()));
                    },
                    actor);
              }};
        });
}

void add_session_routes(Router& r, Registry& reg) {
  r.add("GET", "/streams/sessions", [&reg](const HttpRequest& req, const PathParams&) -> Reply {
    auto stream_id = query_uuid(req, "stream_id");
    if (!stream_id) return error_response(stream_id.error());
    return list_reply(reg.list_sessions(*stream_id));
  });
  r.add("GET", "/streams/sessions/history",
        [&reg](const HttpRequest& req, const PathParams&) -> Reply {
          registry::HistoryQuery q;
          auto stream_id = query_uuid(req, "stream_id");
          auto limit = query_int(req, "limit", 1, 500);
          auto offset = query_int(req, "offset", 0, 1'000'000'000);
          auto since = query_time(req, "since");
          auto until = query_time(req, "until");
          for (const Error* e :
               {stream_id ? nullptr : &stream_id.error(), limit ? nullptr : &limit.error(),
                offset ? nullptr : &offset.error(), since ? nullptr : &since.error(),
                until ? nullptr : &until.error()}) {
            if (e) return error_response(*e);
          }
          q.stream_id = *stream_id;
          q.publisher_id = req.param("publisher_id");
          q.consumer_id = req.param("consumer_id");
          q.status = req.param("status");
          q.since = *since;
          q.until = *until;
          q.limit = static_cast<int>(limit->value_or(50));
          q.offset = static_cast<int>(offset->value_or(0));
          auto rows = reg.session_history(q);
          return rows ? ok(200, to_array(*rows)) : error_response(rows.error());
        });
  r.add("DELETE", "/streams/sessions/{session_id}",
        [&reg](const HttpRequest& req, const PathParams& p) -> Reply {
          auto id = path_uuid(p, "session_id");
          if (!id) return error_response(id.error());
          auto done = reg.stop_session(*id, actor_of(req));
          return done ? ack("stopped", "session_id", *id) : error_response(done.error());
        });
  r.add("POST", "/streams/sessions/{session_id}/heartbeat",
        [&reg](const HttpRequest& req, const PathParams& p) -> Reply {
          auto id = path_uuid(p, "session_id");
          if (!id) return error_response(id.error());
          std::optional<std::int64_t> bytes;
          if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
            auto body = parse_json_object(req.body);
            if (!body) return error_response(body.error());
            FieldReader fields(*body, {"body"});
            auto n = fields.integer("bytes_transferred", false, 0, INT64_MAX);
            if (!fields.ok()) return error_response(Error::invalid(fields.take_errors()));
            if (n) bytes = *n;
          }
          auto done = reg.heartbeat_session(*id, bytes, actor_of(req));
          return done ? ack("ok", "session_id", *id) : error_response(done.error());
        });
}

void add_subscriber_routes(Router& r, Registry& reg) {
  auto list = [&reg](const HttpRequest& req, const PathParams&) -> Reply {
    auto stream_id = query_uuid(req, "stream_id");
    if (!stream_id) return error_response(stream_id.error());
    return list_reply(reg.list_subscribers(*stream_id));
  };
  r.add("GET", "/streams/subscribers", list);
  r.add("GET", "/streams/{stream_id}/subscribers",
        [&reg](const HttpRequest&, const PathParams& p) -> Reply {
          auto id = path_uuid(p, "stream_id");
          if (!id) return error_response(id.error());
          return list_reply(reg.list_subscribers(*id));
        });
  r.add("POST", "/streams/subscribers/{subscriber_id}/heartbeat",
        [&reg](const HttpRequest& req, const PathParams& p) -> Reply {
          auto id = path_uuid(p, "subscriber_id");
          if (!id) return error_response(id.error());
          auto done = reg.heartbeat_subscriber(*id, actor_of(req));
          return done ? ack("ok", "subscriber_id", *id) : error_response(done.error());
        });
  r.add("POST", "/streams/{stream_id}/join",
        [&reg](const HttpRequest& req, const PathParams& p) -> Reply {
          auto id = path_uuid(p, "stream_id");
          if (!id) return error_response(id.error());
          auto join = parse_body(req, registry::parse_join_request);
          if (!join) return error_response(join.error());
          auto joined = reg.join(*id, *join, actor_of(req));
          return joined ? ok(201, registry::to_json(*joined)) : error_response(joined.error());
        });
  r.add("DELETE", "/streams/{stream_id}/leave/{subscriber_id}",
        [&reg](const HttpRequest& req, const PathParams& p) -> Reply {
          auto id = path_uuid(p, "stream_id");
          if (!id) return error_response(id.error());
          auto sub = path_uuid(p, "subscriber_id");
          if (!sub) return error_response(sub.error());
          auto done = reg.leave(*id, *sub, actor_of(req));
          return done ? ack("left", "subscriber_id", *sub) : error_response(done.error());
        });
}

}  // namespace

void add_streams_routes(Router& router, Registry& registry, hub::Hub& hub,
                        const auth::AccessPolicy& policy) {
  add_type_routes(router, registry);
  add_stream_routes(router, registry);
  add_session_routes(router, registry);
  add_subscriber_routes(router, registry);
  add_event_routes(router, registry, hub, policy);
}

}  // namespace sluice::http
