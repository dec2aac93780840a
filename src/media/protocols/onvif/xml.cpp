#include "media/protocols/onvif/xml.hpp"

namespace sluice::media::onvif {
namespace {

Error bad(const std::string& what) {
  return Error::bad_request("XML: " + what);
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ':' || static_cast<unsigned char>(c) >= 0x80;
}

bool space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void append_utf8(unsigned code, std::string& out) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

// Decodes character data: the predefined entities and &#N; / &#xN;, nothing else.
Status decode(std::string_view raw, std::string& out) {
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out.push_back(raw[i]);
      continue;
    }
    const auto end = raw.find(';', i);
    if (end == std::string_view::npos || end - i > 12) return fail(bad("unterminated entity"));
    const std::string_view entity = raw.substr(i + 1, end - i - 1);
    if (entity == "amp")
      out.push_back('&');
    else if (entity == "lt")
      out.push_back('<');
    else if (entity == "gt")
      out.push_back('>');
    else if (entity == "quot")
      out.push_back('"');
    else if (entity == "apos")
      out.push_back('\'');
    else if (entity.size() > 1 && entity[0] == '#') {
      const bool hex = entity[1] == 'x';
      unsigned code = 0;
      const std::string_view digits = entity.substr(hex ? 2 : 1);
      if (digits.empty()) return fail(bad("empty character reference"));
      for (char c : digits) {
        int d = c >= '0' && c <= '9'          ? c - '0'
                : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                              : -1;
        if (d < 0) return fail(bad("bad character reference"));
        code = code * (hex ? 16 : 10) + static_cast<unsigned>(d);
        if (code > 0x10FFFF) return fail(bad("character reference out of range"));
      }
      if (code == 0) return fail(bad("character reference to NUL"));
      append_utf8(code, out);
    } else {
      return fail(bad("unknown entity &" + std::string(entity.substr(0, 16)) +
                      "; (only the predefined five; no DTD)"));
    }
    i = end;
  }
  return {};
}

void split_name(std::string_view qualified, XmlElement& e) {
  const auto colon = qualified.find(':');
  if (colon == std::string_view::npos) {
    e.name = std::string(qualified);
  } else {
    e.prefix = std::string(qualified.substr(0, colon));
    e.name = std::string(qualified.substr(colon + 1));
  }
}

std::string_view local(std::string_view qualified) {
  const auto colon = qualified.find(':');
  return colon == std::string_view::npos ? qualified : qualified.substr(colon + 1);
}

class Parser {
 public:
  explicit Parser(std::string_view text) : t_(text) {}

  Result<XmlElement> document() {
    if (auto ok = prolog(); !ok) return fail(ok.error());
    if (at_ >= t_.size() || t_[at_] != '<') return fail(bad("no root element"));
    XmlElement root;
    if (auto ok = element(root, 1); !ok) return fail(ok.error());
    if (auto ok = misc(); !ok) return fail(ok.error());
    if (at_ != t_.size()) return fail(bad("content after the root element"));
    return root;
  }

 private:
  bool starts(std::string_view s) const { return t_.substr(at_, s.size()) == s; }
  void skip_space() {
    while (at_ < t_.size() && space(t_[at_]))
      ++at_;
  }
  // Skips `<?…?>` and `<!--…-->` and white space.
  Status misc() {
    for (;;) {
      skip_space();
      if (starts("<?")) {
        const auto end = t_.find("?>", at_);
        if (end == std::string_view::npos) return fail(bad("unterminated processing instruction"));
        at_ = end + 2;
      } else if (starts("<!--")) {
        const auto end = t_.find("-->", at_ + 4);
        if (end == std::string_view::npos) return fail(bad("unterminated comment"));
        at_ = end + 3;
      } else {
        return {};
      }
    }
  }
  Status prolog() {
    if (starts("\xEF\xBB\xBF")) at_ += 3;  // UTF-8 byte order mark
    if (auto ok = misc(); !ok) return ok;
    if (starts("<!DOCTYPE") || starts("<!doctype")) {
      return fail(bad("a DOCTYPE is not accepted (no DTD, no entities)"));
    }
    return {};
  }
  std::string_view name() {
    const std::size_t begin = at_;
    while (at_ < t_.size() && name_char(t_[at_]))
      ++at_;
    return t_.substr(begin, at_ - begin);
  }

  Status element(XmlElement& e, std::size_t depth) {
    if (depth > kMaxXmlDepth) return fail(Error{413, "XML: nested deeper than 32 elements", {}});
    if (++elements_ > kMaxXmlElements) {
      return fail(Error{413, "XML: more than 4096 elements", {}});
    }
    ++at_;  // '<'
    const std::string_view qualified = name();
    if (qualified.empty()) return fail(bad("an element without a name"));
    split_name(qualified, e);
    if (e.name.empty() || (e.prefix.empty() && qualified.front() == ':')) {
      return fail(bad("an element without a local name"));
    }
    for (;;) {
      skip_space();
      if (at_ >= t_.size())
        return fail(bad("unterminated start tag <" + std::string(qualified) + ">"));
      if (starts("/>")) {
        at_ += 2;
        return {};
      }
      if (t_[at_] == '>') {
        ++at_;
        break;
      }
      const std::string_view attr = name();
      if (attr.empty())
        return fail(bad("a malformed attribute in <" + std::string(qualified) + ">"));
      skip_space();
      if (at_ >= t_.size() || t_[at_] != '=') return fail(bad("an attribute without a value"));
      ++at_;
      skip_space();
      if (at_ >= t_.size() || (t_[at_] != '"' && t_[at_] != '\'')) {
        return fail(bad("an unquoted attribute value"));
      }
      const char quote = t_[at_++];
      const auto end = t_.find(quote, at_);
      if (end == std::string_view::npos) return fail(bad("an unterminated attribute value"));
      std::string value;
      if (auto ok = decode(t_.substr(at_, end - at_), value); !ok) return ok;
      e.attributes.emplace_back(std::string(attr), std::move(value));
      at_ = end + 1;
    }
    // Content: text, CDATA, comments, children, then the end tag.
    for (;;) {
      if (at_ >= t_.size()) return fail(bad("<" + std::string(qualified) + "> is not closed"));
      if (starts("</")) {
        at_ += 2;
        const std::string_view closing = name();
        if (closing != qualified) {
          return fail(bad("</" + std::string(closing.substr(0, 64)) + "> closes <" +
                          std::string(qualified) + ">"));
        }
        skip_space();
        if (at_ >= t_.size() || t_[at_] != '>') return fail(bad("a malformed end tag"));
        ++at_;
        return {};
      }
      if (starts("<![CDATA[")) {
        const auto end = t_.find("]]>", at_ + 9);
        if (end == std::string_view::npos) return fail(bad("unterminated CDATA"));
        e.text.append(t_.substr(at_ + 9, end - at_ - 9));
        at_ = end + 3;
      } else if (starts("<!--")) {
        const auto end = t_.find("-->", at_ + 4);
        if (end == std::string_view::npos) return fail(bad("unterminated comment"));
        at_ = end + 3;
      } else if (starts("<?")) {
        const auto end = t_.find("?>", at_);
        if (end == std::string_view::npos) return fail(bad("unterminated processing instruction"));
        at_ = end + 2;
      } else if (starts("<!")) {
        return fail(bad("a declaration inside an element"));
      } else if (t_[at_] == '<') {
        e.children.emplace_back();
        if (auto ok = element(e.children.back(), depth + 1); !ok) return ok;
      } else {
        const auto end = t_.find('<', at_);
        const std::size_t stop = end == std::string_view::npos ? t_.size() : end;
        if (auto ok = decode(t_.substr(at_, stop - at_), e.text); !ok) return ok;
        at_ = stop;
      }
    }
  }

  std::string_view t_;
  std::size_t at_ = 0;
  std::size_t elements_ = 0;
};

}  // namespace

const XmlElement* XmlElement::child(std::string_view wanted) const {
  for (const auto& c : children) {
    if (c.name == wanted) return &c;
  }
  return nullptr;
}

const XmlElement* XmlElement::find(std::string_view wanted) const {
  for (const auto& c : children) {
    if (c.name == wanted) return &c;
    if (const auto* deeper = c.find(wanted)) return deeper;
  }
  return nullptr;
}

const std::string* XmlElement::attribute(std::string_view wanted) const {
  for (const auto& [qualified, value] : attributes) {
    if (local(qualified) == wanted) return &value;
  }
  return nullptr;
}

Result<XmlElement> parse_xml(std::string_view text) {
  if (text.size() > kMaxXmlBytes) return fail(Error{413, "XML: larger than 64 KiB", {}});
  return Parser(text).document();
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace sluice::media::onvif
