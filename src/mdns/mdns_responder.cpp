#include "mdns/mdns_responder.hpp"

#include <algorithm>

namespace sluice::mdns {
namespace {

constexpr std::uint16_t kResponseFlags = kFlagResponse | kFlagAuthoritative;

std::unexpected<Error> refuse(std::string what) {
  return fail(Error::bad_request("mdns: " + std::move(what)));
}

bool same_label(std::string_view a, std::string_view b) {
  return same_name(Name{{std::string(a)}}, Name{{std::string(b)}});
}

Name joined(std::string first, const Name& rest) {
  Name name{{std::move(first)}};
  name.labels.insert(name.labels.end(), rest.labels.begin(), rest.labels.end());
  return name;
}

Result<Name> service_type_name(std::string_view type) {
  auto name = Name::from_dotted(type);
  if (!name) return refuse("service type '" + std::string(type) + "': " + name.error().detail);
  if (!name->labels.empty() && same_label(name->labels.back(), "local")) name->labels.pop_back();
  const bool ok = name->labels.size() == 2 && name->labels[0].size() >= 2 &&
                  name->labels[0][0] == '_' &&
                  (same_label(name->labels[1], "_tcp") || same_label(name->labels[1], "_udp"));
  if (!ok) {
    return refuse("service type '" + std::string(type) + "' is not _name._tcp or _name._udp");
  }
  name->labels.emplace_back("local");
  return name;
}

Result<TxtData> txt_of(const ServiceInstance& s) {
  TxtData txt;
  std::size_t total = 0;
  for (const auto& [key, value] : s.txt) {
    const bool printable = std::all_of(key.begin(), key.end(),
                                       [](char c) { return c >= 0x20 && c <= 0x7E && c != '='; });
    if (key.empty() || !printable) {
      return refuse("TXT key '" + key + "' of " + s.instance +
                    " is empty or holds '=' or a non-printable byte");
    }
    std::string entry = key + "=" + value;
    if (entry.size() > 255) {
      return refuse("TXT entry " + key + " of " + s.instance + " is over 255 bytes");
    }
    total += 1 + entry.size();
    txt.strings.push_back(std::move(entry));
  }
  if (total > kMaxTxtBytes) {
    return refuse("TXT of " + s.instance + " is over " + std::to_string(kMaxTxtBytes) + " bytes");
  }
  if (txt.strings.empty()) txt.strings.emplace_back();  // RFC 6763 section 6.1: one empty string
  return txt;
}

bool same_data(const RecordData& a, const RecordData& b) {
  if (a.index() != b.index()) return false;
  if (auto* p = std::get_if<PtrData>(&a)) return same_name(p->target, std::get<PtrData>(b).target);
  if (auto* s = std::get_if<SrvData>(&a)) {
    const auto& t = std::get<SrvData>(b);
    return s->priority == t.priority && s->weight == t.weight && s->port == t.port &&
           same_name(s->target, t.target);
  }
  return a == b;
}

// Whether the querier said it holds `ours` with at least half its TTL left (RFC 6762 7.1).
bool known(const Record& ours, const std::vector<Record>& known_answers) {
  return std::any_of(known_answers.begin(), known_answers.end(), [&](const Record& k) {
    return k.type() == ours.type() && k.ttl >= ours.ttl / 2 && same_name(k.name, ours.name) &&
           same_data(k.data, ours.data);
  });
}

// `answers` then `additionals` in datagrams of at most kMaxResponseBytes (a record bigger than
// that alone goes in a datagram of its own). Without `split`, one datagram: answers that do not
// fit are dropped and the TC bit set. Additional records go in the last datagram if they fit.
std::vector<std::vector<std::uint8_t>> pack(const Message& head, const std::vector<Record>& answers,
                                            const std::vector<Record>& additionals, bool split) {
  std::vector<std::vector<std::uint8_t>> out;
  std::size_t base = kHeaderSize;
  for (const auto& q : head.questions)
    base += q.name.wire_length() + 4;
  Message m = head;
  std::size_t size = base;
  auto flush = [&] {
    if (auto bytes = build_message(m)) out.push_back(std::move(*bytes));
    m = head;
    size = base;
  };
  for (const auto& r : answers) {
    const std::size_t length = r.wire_length();
    if (size + length > kMaxResponseBytes && !m.answers.empty()) {
      if (!split) {
        m.flags |= kFlagTruncated;
        break;
      }
      flush();
    }
    m.answers.push_back(r);
    size += length;
  }
  for (const auto& r : additionals) {
    const std::size_t length = r.wire_length();
    if (size + length > kMaxResponseBytes) continue;
    m.additionals.push_back(r);
    size += length;
  }
  if (!m.answers.empty() || !m.additionals.empty()) flush();
  return out;
}

}  // namespace

Result<MdnsResponder> MdnsResponder::create(ResponderConfig config) {
  MdnsResponder r;
  auto host = Name::from_dotted(config.host_name);
  if (!host) return refuse("host name '" + config.host_name + "': " + host.error().detail);
  if (host->labels.empty() || !same_label(host->labels.back(), "local")) {
    host->labels.emplace_back("local");
  }
  if (host->labels.size() < 2 || host->wire_length() > kMaxNameLength) {
    return refuse("host name '" + config.host_name + "' is not a name under .local");
  }
  r.host_ = std::move(*host);
  if (config.services.size() > kMaxServices) {
    return refuse("more than " + std::to_string(kMaxServices) + " services");
  }
  if (config.addresses.size() > kMaxAddresses) {
    return refuse("more than " + std::to_string(kMaxAddresses) + " addresses");
  }
  const Name enumeration = *Name::from_dotted("_services._dns-sd._udp.local");
  std::vector<Entry> pointers, enumerations;
  for (std::size_t i = 0; i < config.services.size(); ++i) {
    const ServiceInstance& s = config.services[i];
    auto type = service_type_name(s.type);
    if (!type) return std::unexpected(type.error());
    const bool control = std::any_of(s.instance.begin(), s.instance.end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
    });
    if (s.instance.empty() || s.instance.size() > kMaxLabelLength || control) {
      return refuse("service instance '" + s.instance +
                    "' is empty, over 63 bytes or holds a control character");
    }
    Name instance = joined(s.instance, *type);
    if (auto ok = check_name(instance); !ok) {
      return refuse("service instance '" + s.instance + "': " + ok.error().detail);
    }
    auto txt = txt_of(s);
    if (!txt) return std::unexpected(txt.error());
    for (const auto& e : pointers) {
      if (e.kind == Kind::srv && same_name(e.record.name, instance)) {
        return refuse("two services are " + instance.to_dotted());
      }
    }
    const bool type_listed = std::any_of(
        enumerations.begin(), enumerations.end(),
        [&](const Entry& e) { return same_name(std::get<PtrData>(e.record.data).target, *type); });
    if (!type_listed) {
      enumerations.push_back({Record{enumeration, kClassIn, false, kOtherRecordTtl, PtrData{*type}},
                              Kind::enumeration, 0});
    }
    pointers.push_back({Record{*type, kClassIn, false, kOtherRecordTtl, PtrData{instance}},
                        Kind::instance_pointer, i});
    pointers.push_back(
        {Record{instance, kClassIn, true, kHostRecordTtl, SrvData{0, 0, s.port, r.host_}},
         Kind::srv, i});
    pointers.push_back(
        {Record{instance, kClassIn, true, kOtherRecordTtl, std::move(*txt)}, Kind::txt, i});
  }
  r.service_entries_ = std::move(enumerations);
  r.service_entries_.insert(r.service_entries_.end(), pointers.begin(), pointers.end());
  r.config_ = std::move(config);
  return r;
}

std::vector<MdnsResponder::Entry> MdnsResponder::entries(std::span<const Ipv4Address> link) const {
  std::vector<Entry> all = service_entries_;
  const std::span<const Ipv4Address> addresses =
      link.empty() ? std::span<const Ipv4Address>(config_.addresses) : link;
  for (std::size_t i = 0; i < addresses.size() && i < kMaxAddresses; ++i) {
    all.push_back(
        {Record{host_, kClassIn, true, kHostRecordTtl, AData{addresses[i]}}, Kind::address, 0});
  }
  return all;
}

std::vector<Record> MdnsResponder::records(std::span<const Ipv4Address> link) const {
  std::vector<Record> out;
  for (auto& e : entries(link))
    out.push_back(std::move(e.record));
  return out;
}

Result<std::vector<Outgoing>> MdnsResponder::answer(std::span<const std::uint8_t> datagram,
                                                    const Arrival& arrival) const {
  auto query = parse_message(datagram);
  if (!query) return std::unexpected(query.error());
  std::vector<Outgoing> out;
  if (query->is_response() || query->opcode() != 0 || query->rcode() != 0) return out;
  const bool legacy = arrival.from.port != config_.mdns_port;
  const bool direct = legacy || !arrival.to_group;
  const std::vector<Entry> all = entries(arrival.link);
  // Per record: 0 not answered, 1 by multicast, 2 by unicast, 3 both.
  std::vector<int> route(all.size(), 0);
  const std::size_t questions = std::min(query->questions.size(), kMaxQuestionsAnswered);
  for (std::size_t qi = 0; qi < questions; ++qi) {
    const Question& q = query->questions[qi];
    if (q.dns_class != kClassIn && q.dns_class != kClassAny) continue;
    const int how = (direct || q.unicast_response) ? 2 : 1;
    for (std::size_t i = 0; i < all.size(); ++i) {
      const Record& r = all[i].record;
      if ((q.type == RecordType::any || q.type == r.type()) && same_name(q.name, r.name)) {
        route[i] |= how;
      }
    }
  }
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (route[i] && known(all[i].record, query->answers)) route[i] = 0;
  }
  for (const int how : {1, 2}) {
    std::vector<char> wanted(all.size(), 0);  // 1: answer, 2: additional
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (route[i] & how) wanted[i] = 1;
    }
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (wanted[i] != 1 || (all[i].kind != Kind::instance_pointer && all[i].kind != Kind::srv)) {
        continue;
      }
      for (std::size_t j = 0; j < all.size(); ++j) {
        const bool same_service = all[j].service == all[i].service;
        const bool extra = all[j].kind == Kind::address ||
                           (all[i].kind == Kind::instance_pointer && same_service &&
                            (all[j].kind == Kind::srv || all[j].kind == Kind::txt));
        if (extra && wanted[j] == 0) wanted[j] = 2;
      }
    }
    std::vector<Record> answers, additionals;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (!wanted[i]) continue;
      Record r = all[i].record;
      if (legacy) {
        r.ttl = std::min(r.ttl, kLegacyUnicastMaxTtl);
        r.cache_flush = false;
      }
      (wanted[i] == 1 ? answers : additionals).push_back(std::move(r));
    }
    if (answers.empty()) continue;
    Message head;
    head.flags = kResponseFlags;
    if (legacy) {  // RFC 6762 section 6.7: the ID and the questions, as a DNS server would
      head.id = query->id;
      head.questions.assign(query->questions.begin(),
                            query->questions.begin() + static_cast<std::ptrdiff_t>(questions));
    }
    const bool unicast = how == 2;
    for (auto& bytes : pack(head, answers, additionals, !legacy)) {
      out.push_back(Outgoing{std::move(bytes), !unicast, unicast ? arrival.from : Peer{}});
    }
  }
  return out;
}

std::vector<Outgoing> MdnsResponder::announcement(std::span<const Ipv4Address> link) const {
  std::vector<Outgoing> out;
  Message head;
  head.flags = kResponseFlags;
  for (auto& bytes : pack(head, records(link), {}, true))
    out.push_back(Outgoing{std::move(bytes), true, {}});
  return out;
}

std::vector<Outgoing> MdnsResponder::goodbye(std::span<const Ipv4Address> link,
                                             const MdnsResponder* successor) const {
  std::vector<Record> leaving;
  const std::vector<Record> kept = successor ? successor->records(link) : std::vector<Record>{};
  for (auto& r : records(link)) {
    const bool still = std::any_of(kept.begin(), kept.end(), [&](const Record& k) {
      return k.type() == r.type() && same_name(k.name, r.name) && same_data(k.data, r.data);
    });
    if (still) continue;
    r.ttl = 0;
    leaving.push_back(std::move(r));
  }
  std::vector<Outgoing> out;
  Message head;
  head.flags = kResponseFlags;
  for (auto& bytes : pack(head, leaving, {}, true))
    out.push_back(Outgoing{std::move(bytes), true, {}});
  return out;
}

}  // namespace sluice::mdns
