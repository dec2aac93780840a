// The mDNS / DNS-SD responder's sans-I/O parts: DNS messages (round trips, name compression,
// malformed datagrams refused with a 400) and the answers (what goes where, with which records).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "mdns/dns_message.hpp"
#include "mdns/mdns_responder.hpp"

namespace sluice::mdns {
namespace {

using Bytes = std::vector<std::uint8_t>;

Name name(std::string_view dotted) {
  return *Name::from_dotted(dotted);
}

Question question(std::string_view dotted, RecordType type, bool unicast_response = false) {
  return Question{name(dotted), type, kClassIn, unicast_response};
}

Bytes query(std::vector<Question> questions, std::uint16_t id = 0, std::vector<Record> known = {}) {
  Message m;
  m.id = id;
  m.questions = std::move(questions);
  m.answers = std::move(known);
  return *build_message(m);
}

Message parsed(const Outgoing& o) {
  auto m = parse_message(o.datagram);
  EXPECT_TRUE(m.has_value()) << m.error().detail;
  return m.value_or(Message{});
}

Bytes with_header(std::uint16_t questions, std::uint16_t answers, Bytes body) {
  Bytes out = {
      0, 0, 0, 0, 0, static_cast<std::uint8_t>(questions), 0, static_cast<std::uint8_t>(answers),
      0, 0, 0, 0};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

void expect_refused(const Bytes& datagram, std::string_view says) {
  auto m = parse_message(datagram);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().status, 400);
  EXPECT_NE(m.error().detail.find(says), std::string::npos) << m.error().detail;
}

// ---------------------------------------------------------------------------------------------
// DNS messages

TEST(DnsMessage, RoundTripsEveryRecordKind) {
  Message m;
  m.id = 0x1234;
  m.flags = kFlagResponse | kFlagAuthoritative;
  m.questions = {question("_maestra._tcp.local", RecordType::ptr, true)};
  const Name instance = name("sluice host._maestra._tcp.local");
  m.answers = {
      Record{name("_maestra._tcp.local"), kClassIn, false, 4500, PtrData{instance}},
      Record{instance, kClassIn, true, 120, SrvData{1, 2, 8080, name("sluice-host.local")}},
      Record{instance, kClassIn, true, 4500, TxtData{{"api_url=http://x:8080", "", "k"}}},
  };
  m.authorities = {
      Record{name("x.local"), kClassIn, false, 7, OpaqueData{RecordType{99}, "\x01\x02"}}};
  m.additionals = {
      Record{name("sluice-host.local"), kClassIn, true, 120, AData{{192, 0, 2, 2}}},
      Record{name("sluice-host.local"), kClassIn, true, 120, AaaaData{{0xfe, 0x80, 15, 1}}},
      Record{
          name("sluice-host.local"), kClassIn, true, 120,
          NsecData{name("sluice-host.local"), {RecordType::a, RecordType::aaaa, RecordType{1234}}}},
  };
  auto bytes = build_message(m);
  ASSERT_TRUE(bytes.has_value()) << bytes.error().detail;
  auto back = parse_message(*bytes);
  ASSERT_TRUE(back.has_value()) << back.error().detail;
  EXPECT_EQ(*back, m);
  EXPECT_TRUE(back->is_response());
  EXPECT_TRUE(back->questions[0].unicast_response);
  EXPECT_TRUE(back->answers[1].cache_flush);
  EXPECT_FALSE(back->answers[0].cache_flush);
}

TEST(DnsMessage, CompressesNamesOnWrite) {
  Message m;
  m.answers = {Record{name("_maestra._tcp.local"), kClassIn, false, 4500,
                      PtrData{name("inst._maestra._tcp.local")}}};
  auto bytes = build_message(m);
  ASSERT_TRUE(bytes.has_value());
  // Header, the owner name in full (21 bytes), type/class/ttl/rdlength (10), then the target as
  // the label "inst" and a pointer to the owner name at offset 12.
  const Bytes rdata(bytes->begin() + 12 + 21 + 10, bytes->end());
  EXPECT_EQ(rdata, (Bytes{4, 'i', 'n', 's', 't', 0xC0, 12}));
  EXPECT_EQ((*bytes)[12 + 21 + 9], 7);  // rdlength
  EXPECT_EQ(parse_message(*bytes)->answers, m.answers);
}

TEST(DnsMessage, FollowsCompressionPointersOnRead) {
  // One question "a.local" then an A record whose name is "b" + pointer to "local" (offset 14).
  const Bytes datagram =
      with_header(1, 1, {1,  'a', 5, 'l',  'o', 'c', 'a', 'l', 0,   0, 1, 0,  1, 1, 'b', 0xC0,
                         14, 0,   1, 0x80, 1,   0,   0,   0,   120, 0, 4, 10, 0, 0, 1});
  auto m = parse_message(datagram);
  ASSERT_TRUE(m.has_value()) << m.error().detail;
  EXPECT_EQ(m->questions[0].name.to_dotted(), "a.local");
  EXPECT_EQ(m->answers[0].name.to_dotted(), "b.local");
  EXPECT_TRUE(m->answers[0].cache_flush);
  EXPECT_EQ(std::get<AData>(m->answers[0].data).address, (Ipv4Address{10, 0, 0, 1}));
}

TEST(DnsMessage, RefusesTruncatedAndOversizeDatagrams) {
  expect_refused({0, 0, 0}, "shorter than the header");
  expect_refused(Bytes(9001, 0), "over the 9000-byte limit");
  expect_refused(with_header(1, 0, {1, 'a', 0, 0, 1}), "cut short");
  expect_refused(with_header(1, 0, {3, 'a', 0, 0, 1, 0, 1}), "runs past the end");
  expect_refused(with_header(200, 0, {0, 0, 1, 0, 1}), "cannot fit");
  // An A record whose rdata runs past the end, and one of 5 bytes.
  expect_refused(with_header(0, 1, {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2}), "runs past the end");
  expect_refused(with_header(0, 1, {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5}),
                 "not 4 bytes");
  expect_refused(with_header(0, 1, {0, 0, 16, 0, 1, 0, 0, 0, 1, 0, 2, 5, 'a'}), "TXT");
  // A PTR whose target leaves bytes over in its rdata.
  expect_refused(with_header(0, 1, {0, 0, 12, 0, 1, 0, 0, 0, 1, 0, 3, 0, 7, 7}), "after its name");
  expect_refused(with_header(0, 1, {0, 0, 47, 0, 1, 0, 0, 0, 1, 0, 3, 0, 0, 0}), "bitmap");
}

TEST(DnsMessage, RefusesPointerLoopsAndForwardPointers) {
  expect_refused(with_header(1, 0, {0xC0, 12, 0, 1, 0, 1}), "does not point backwards");
  expect_refused(with_header(1, 0, {0xC0, 20, 0, 1, 0, 1, 0, 0}), "does not point backwards");
  // "a" then a pointer back to itself: a loop through a label.
  expect_refused(with_header(1, 0, {1, 'a', 0xC0, 12, 0, 1, 0, 1}), "does not point backwards");
  // Two questions whose names point at each other.
  expect_refused(with_header(2, 0, {1, 'a', 0xC0, 18, 0, 1, 0, 1, 1, 'b', 0xC0, 12, 0, 1, 0, 1}),
                 "does not point backwards");
  expect_refused(with_header(1, 0, {1, 'a', 1, 'b', 0xC0}), "cut short");
}

TEST(DnsMessage, RefusesBadLabelsAndLongNames) {
  expect_refused(with_header(1, 0, {0x40, 'a', 0, 0, 1, 0, 1}), "reserved kind");
  expect_refused(with_header(1, 0, {0x80, 'a', 0, 0, 1, 0, 1}), "reserved kind");
  Bytes long_name;
  for (int i = 0; i < 5; ++i) {
    long_name.push_back(60);
    long_name.insert(long_name.end(), 60, 'x');
  }
  long_name.insert(long_name.end(), {0, 0, 1, 0, 1});
  expect_refused(with_header(1, 0, long_name), "over 255 bytes");
}

TEST(DnsMessage, RefusesToWriteBadNames) {
  Message m;
  m.questions = {Question{Name{{std::string(64, 'x'), "local"}}, RecordType::a, kClassIn, false}};
  EXPECT_EQ(build_message(m).error().status, 400);
  m.questions = {Question{Name{{"", "local"}}, RecordType::a, kClassIn, false}};
  EXPECT_FALSE(build_message(m).has_value());
  m.questions.clear();
  m.answers = {Record{name("x.local"), kClassIn, false, 1, TxtData{{std::string(256, 'a')}}}};
  EXPECT_FALSE(build_message(m).has_value());
}

TEST(DnsMessage, NamesFromAndToText) {
  EXPECT_EQ(name("Sluice-Host.local.").labels, (std::vector<std::string>{"Sluice-Host", "local"}));
  EXPECT_TRUE(same_name(name("Sluice-Host.LOCAL"), name("sluice-host.local")));
  EXPECT_FALSE(same_name(name("sluice.local"), name("sluice.local.x")));
  EXPECT_FALSE(Name::from_dotted("a..local").has_value());
  EXPECT_FALSE(Name::from_dotted(std::string(64, 'a') + ".local").has_value());
  EXPECT_EQ((Name{{"my.cam\x01", "local"}}.to_dotted()), "my\\.cam\\001.local");
  EXPECT_EQ(Name{}.to_dotted(), ".");
}

// ---------------------------------------------------------------------------------------------
// The responder

class MdnsResponderTest : public ::testing::Test {
 protected:
  static ServiceInstance maestra() {
    return {"sluice-test",
            "_maestra._tcp",
            8080,
            {{"api_url", "http://192.0.2.2:8080"},
             {"nats_url", "nats://192.0.2.2:4222"},
             {"mqtt_broker", "192.0.2.2"},
             {"mqtt_port", "1883"}}};
  }
  static MdnsResponder make(std::vector<ServiceInstance> services) {
    auto r = MdnsResponder::create(ResponderConfig{"sluice-test", {{192, 0, 2, 2}}, services});
    EXPECT_TRUE(r.has_value()) << r.error().detail;
    return std::move(*r);
  }
  MdnsResponder responder = make({maestra(),
                                  {"sluice-test", "_sluice._tcp", 7400, {}},
                                  {"cam1", "_rtsp._tcp.local", 8554, {{"path", "/cam1"}}},
                                  {"sluice console", "_http._tcp", 8080, {{"path", "/"}}}});
  static constexpr Peer kQuerier{{192, 0, 2, 9}, 5353};

  std::vector<Outgoing> answer(const Bytes& datagram, Peer from = kQuerier, bool to_group = true) {
    auto out = responder.answer(datagram, Arrival{from, to_group, {}});
    EXPECT_TRUE(out.has_value()) << out.error().detail;
    return out.value_or(std::vector<Outgoing>{});
  }
};

TEST_F(MdnsResponderTest, PtrQueryGetsPtrWithSrvTxtAndAddressAsAdditional) {
  auto out = answer(query({question("_maestra._tcp.local", RecordType::ptr)}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].multicast);
  const Message m = parsed(out[0]);
  EXPECT_TRUE(m.is_response());
  EXPECT_EQ(m.id, 0);
  EXPECT_TRUE(m.questions.empty());
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(std::get<PtrData>(m.answers[0].data).target.to_dotted(),
            "sluice-test._maestra._tcp.local");
  EXPECT_EQ(m.answers[0].ttl, kOtherRecordTtl);
  EXPECT_FALSE(m.answers[0].cache_flush);
  ASSERT_EQ(m.additionals.size(), 3u);
  const auto& srv = std::get<SrvData>(m.additionals[0].data);
  EXPECT_EQ(srv.port, 8080);
  EXPECT_EQ(srv.target.to_dotted(), "sluice-test.local");
  EXPECT_EQ(m.additionals[0].ttl, kHostRecordTtl);
  EXPECT_TRUE(m.additionals[0].cache_flush);
  const auto& txt = std::get<TxtData>(m.additionals[1].data).strings;
  EXPECT_EQ(txt, (std::vector<std::string>{"api_url=http://192.0.2.2:8080",
                                           "nats_url=nats://192.0.2.2:4222",
                                           "mqtt_broker=192.0.2.2", "mqtt_port=1883"}));
  EXPECT_EQ(m.additionals[2].name.to_dotted(), "sluice-test.local");
  EXPECT_EQ(std::get<AData>(m.additionals[2].data).address, (Ipv4Address{192, 0, 2, 2}));
}

TEST_F(MdnsResponderTest, EnumeratesServiceTypes) {
  auto out = answer(query({question("_services._dns-sd._udp.local", RecordType::ptr)}));
  ASSERT_EQ(out.size(), 1u);
  const Message m = parsed(out[0]);
  std::vector<std::string> types;
  for (const auto& r : m.answers)
    types.push_back(std::get<PtrData>(r.data).target.to_dotted());
  EXPECT_EQ(types, (std::vector<std::string>{"_maestra._tcp.local", "_sluice._tcp.local",
                                             "_rtsp._tcp.local", "_http._tcp.local"}));
  EXPECT_TRUE(m.additionals.empty());
}

TEST_F(MdnsResponderTest, AnswersSrvTxtAddressAndAnyQuestions) {
  auto srv =
      parsed(answer(query({question("sluice-test._maestra._tcp.local", RecordType::srv)}))[0]);
  ASSERT_EQ(srv.answers.size(), 1u);
  EXPECT_EQ(srv.answers[0].type(), RecordType::srv);
  ASSERT_EQ(srv.additionals.size(), 1u);
  EXPECT_EQ(srv.additionals[0].type(), RecordType::a);

  auto txt = parsed(answer(query({question("cam1._rtsp._tcp.local", RecordType::txt)}))[0]);
  ASSERT_EQ(txt.answers.size(), 1u);
  EXPECT_EQ(std::get<TxtData>(txt.answers[0].data).strings, std::vector<std::string>{"path=/cam1"});

  auto a = parsed(answer(query({question("SLUICE-TEST.local", RecordType::a)}))[0]);
  ASSERT_EQ(a.answers.size(), 1u);
  EXPECT_EQ(a.answers[0].ttl, kHostRecordTtl);

  auto any =
      parsed(answer(query({question("sluice console._http._tcp.local", RecordType::any)}))[0]);
  ASSERT_EQ(any.answers.size(), 2u);
  EXPECT_EQ(any.answers[0].type(), RecordType::srv);
  EXPECT_EQ(any.answers[1].type(), RecordType::txt);

  EXPECT_TRUE(answer(query({question("other.local", RecordType::a)})).empty());
  EXPECT_TRUE(answer(query({question("sluice-test.local", RecordType::aaaa)})).empty());
}

TEST_F(MdnsResponderTest, LegacyUnicastIsAnsweredByUnicastWithIdQuestionAndShortTtls) {
  const Peer legacy{{127, 0, 0, 1}, 40001};
  auto out = answer(query({question("_maestra._tcp.local", RecordType::ptr)}, 0xBEEF), legacy);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].multicast);
  EXPECT_EQ(out[0].to, legacy);
  const Message m = parsed(out[0]);
  EXPECT_EQ(m.id, 0xBEEF);
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_EQ(m.questions[0].name.to_dotted(), "_maestra._tcp.local");
  EXPECT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.additionals.size(), 3u);
  for (const auto* section : {&m.answers, &m.additionals}) {
    for (const auto& r : *section) {
      EXPECT_LE(r.ttl, kLegacyUnicastMaxTtl);
      EXPECT_FALSE(r.cache_flush);
    }
  }
}

TEST_F(MdnsResponderTest, UnicastResponseQuestionsAreAnsweredByUnicast) {
  auto out = answer(query({question("sluice-test.local", RecordType::a, true),
                           question("_sluice._tcp.local", RecordType::ptr)}));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].multicast);
  EXPECT_EQ(parsed(out[0]).answers[0].type(), RecordType::ptr);
  EXPECT_FALSE(out[1].multicast);
  EXPECT_EQ(out[1].to, kQuerier);
  const Message unicast = parsed(out[1]);
  EXPECT_EQ(unicast.id, 0);
  EXPECT_TRUE(unicast.answers[0].cache_flush);
  EXPECT_EQ(unicast.answers[0].ttl, kHostRecordTtl);

  // A query sent straight to us (not to the group) from port 5353: unicast as well.
  auto direct = answer(query({question("sluice-test.local", RecordType::a)}), kQuerier, false);
  ASSERT_EQ(direct.size(), 1u);
  EXPECT_FALSE(direct[0].multicast);
}

TEST_F(MdnsResponderTest, IgnoresResponsesAndRefusesMalformedQueries) {
  Message response;
  response.flags = kFlagResponse;
  response.questions = {question("_maestra._tcp.local", RecordType::ptr)};
  EXPECT_TRUE(answer(*build_message(response)).empty());
  auto bad = responder.answer(Bytes{1, 2, 3}, Arrival{kQuerier, true, {}});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().status, 400);
}

TEST_F(MdnsResponderTest, LeavesOutKnownAnswers) {
  const Record known{name("_maestra._tcp.local"), kClassIn, false, 4000,
                     PtrData{name("SLUICE-TEST._maestra._tcp.local")}};
  EXPECT_TRUE(
      answer(query({question("_maestra._tcp.local", RecordType::ptr)}, 0, {known})).empty());
  Record stale = known;
  stale.ttl = 100;  // under half of 4500: answered again
  EXPECT_EQ(answer(query({question("_maestra._tcp.local", RecordType::ptr)}, 0, {stale})).size(),
            1u);
}

TEST_F(MdnsResponderTest, AnswersWithTheAddressesOfTheReceivingLink) {
  const Ipv4Address loopback[] = {{127, 0, 0, 1}};
  auto out = responder.answer(query({question("sluice-test.local", RecordType::a)}),
                              Arrival{kQuerier, true, loopback});
  ASSERT_TRUE(out.has_value());
  const Message m = parsed((*out)[0]);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(std::get<AData>(m.answers[0].data).address, (Ipv4Address{127, 0, 0, 1}));
}

TEST_F(MdnsResponderTest, AnnouncesEveryRecordAndSaysGoodbyeWithTtlZero) {
  auto hello = responder.announcement({});
  ASSERT_EQ(hello.size(), 1u);
  EXPECT_TRUE(hello[0].multicast);
  const Message m = parsed(hello[0]);
  EXPECT_EQ(m.answers.size(), 4u + 4 * 3 + 1);  // enumeration, PTR/SRV/TXT each, A
  for (const auto& r : m.answers) {
    EXPECT_EQ(r.cache_flush, r.type() != RecordType::ptr);
    EXPECT_EQ(r.ttl, (r.type() == RecordType::srv || r.type() == RecordType::a) ? kHostRecordTtl
                                                                                : kOtherRecordTtl);
  }
  auto bye = responder.goodbye({});
  ASSERT_EQ(bye.size(), 1u);
  const Message b = parsed(bye[0]);
  EXPECT_EQ(b.answers.size(), m.answers.size());
  for (const auto& r : b.answers)
    EXPECT_EQ(r.ttl, 0u);

  // The services change: goodbye only for what goes (the RTSP camera: its type, PTR, SRV, TXT).
  const MdnsResponder next = make({maestra(),
                                   {"sluice-test", "_sluice._tcp", 7400, {}},
                                   {"sluice console", "_http._tcp", 8080, {{"path", "/"}}}});
  const Message gone = parsed(responder.goodbye({}, &next)[0]);
  ASSERT_EQ(gone.answers.size(), 4u);
  for (const auto& r : gone.answers) {
    const auto* ptr = std::get_if<PtrData>(&r.data);
    const std::string said = r.name.to_dotted() + " " + (ptr ? ptr->target.to_dotted() : "");
    EXPECT_NE(said.find("_rtsp"), std::string::npos) << said;
  }
}

TEST_F(MdnsResponderTest, SplitsLargeAnnouncementsAndTruncatesLegacyReplies) {
  std::vector<ServiceInstance> many;
  for (int i = 0; i < 64; ++i) {
    many.push_back({"camera number " + std::to_string(i),
                    "_svc" + std::to_string(i) + "._tcp",
                    static_cast<std::uint16_t>(9000 + i),
                    {{"path", "/camera/" + std::to_string(i)}}});
  }
  const MdnsResponder big = make(many);
  auto hello = big.announcement({});
  EXPECT_GT(hello.size(), 1u);
  std::size_t records = 0;
  for (const auto& o : hello) {
    EXPECT_LE(o.datagram.size(), kMaxResponseBytes);
    records += parsed(o).answers.size();
  }
  EXPECT_EQ(records, 64u * 4 + 1);

  auto legacy = big.answer(query({question("_services._dns-sd._udp.local", RecordType::ptr)}, 7),
                           Arrival{{{127, 0, 0, 1}, 50000}, true, {}});
  ASSERT_TRUE(legacy.has_value());
  ASSERT_EQ(legacy->size(), 1u);
  const Message m = parsed((*legacy)[0]);
  EXPECT_TRUE(m.flags & kFlagTruncated);
  EXPECT_LT(m.answers.size(), 64u);
  EXPECT_LE((*legacy)[0].datagram.size(), kMaxResponseBytes);
}

// Packets python-zeroconf wrote (tests/fuzz/corpus/mdns_*.bin), names compressed its way.
TEST_F(MdnsResponderTest, AnswersWhatZeroconfSends) {
  auto seed = [](const char* file) {
    std::ifstream in(std::string(SLUICE_FUZZ_CORPUS) + "/" + file, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  auto info = answer(seed("mdns_qu_query.bin"));  // SRV, TXT and A, each QU
  ASSERT_EQ(info.size(), 1u);
  EXPECT_FALSE(info[0].multicast);
  const Message m = parsed(info[0]);
  ASSERT_EQ(m.answers.size(), 3u);
  EXPECT_EQ(m.answers[0].type(), RecordType::srv);
  EXPECT_EQ(m.answers[1].type(), RecordType::txt);
  EXPECT_EQ(m.answers[2].type(), RecordType::a);

  // A browse for _maestra._tcp and the service types, knowing another instance: both answered.
  auto browse = answer(seed("mdns_browse_query.bin"));
  ASSERT_EQ(browse.size(), 1u);
  EXPECT_EQ(parsed(browse[0]).answers.size(), 1u + 4);

  auto announcement = parse_message(seed("mdns_announcement.bin"));
  ASSERT_TRUE(announcement.has_value()) << announcement.error().detail;
  EXPECT_EQ(announcement->answers.size(), 4u);
  EXPECT_EQ(std::get<SrvData>(announcement->answers[1].data).target.to_dotted(), "cam.local");
  EXPECT_TRUE(answer(seed("mdns_announcement.bin")).empty());  // a response: not answered
}

TEST(MdnsResponder, RefusesBadConfiguration) {
  auto refused = [](ServiceInstance s) {
    auto r = MdnsResponder::create(ResponderConfig{"sluice-test.local", {}, {s}});
    return !r.has_value() && r.error().status == 400;
  };
  EXPECT_TRUE(refused({"x", "maestra._tcp", 1, {}}));
  EXPECT_TRUE(refused({"x", "_maestra._sctp", 1, {}}));
  EXPECT_TRUE(refused({"x", "_a._b._tcp", 1, {}}));
  EXPECT_TRUE(refused({"", "_maestra._tcp", 1, {}}));
  EXPECT_TRUE(refused({std::string(64, 'x'), "_maestra._tcp", 1, {}}));
  EXPECT_TRUE(refused({"bell\x07", "_maestra._tcp", 1, {}}));
  EXPECT_TRUE(refused({"x", "_maestra._tcp", 1, {{"a=b", "c"}}}));
  EXPECT_TRUE(refused({"x", "_maestra._tcp", 1, {{"", "c"}}}));
  EXPECT_TRUE(refused({"x", "_maestra._tcp", 1, {{"k", std::string(300, 'v')}}}));
  EXPECT_FALSE(refused({"Sluice Console (main)", "_http._tcp.local.", 1, {}}));
  ServiceInstance s{"x", "_maestra._tcp", 1, {}};
  EXPECT_FALSE(MdnsResponder::create(ResponderConfig{"sluice.local", {}, {s, s}}).has_value());
  EXPECT_FALSE(MdnsResponder::create(ResponderConfig{"bad..name", {}, {}}).has_value());
  auto ok = MdnsResponder::create(ResponderConfig{"sluice-x", {}, {}});
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->host_name().to_dotted(), "sluice-x.local");
}

}  // namespace
}  // namespace sluice::mdns
