// examples/api: reading requests and writing answers: the payload and parameter checks, and the
// service's JSON shape for every answer, httplib's own included.
#include "app.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>

namespace api {

namespace {

/// Code points of valid UTF-8 (nlohmann::json has checked it while parsing), or the first control
/// character that `allowed` does not admit.
struct TextShape {
  std::size_t characters = 0;
  bool badControl = false;
};
TextShape shapeOf(std::string_view s, std::string_view allowedControls) {
  TextShape shape;
  for (const char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte & 0xc0) != 0x80) ++shape.characters;  // not a continuation byte
    if ((byte < 0x20 || byte == 0x7f) && allowedControls.find(c) == std::string_view::npos) shape.badControl = true;
  }
  return shape;
}

/// Nesting depth of a JSON text, counted without parsing it (strings skipped).
int nesting(std::string_view text) {
  int depth = 0, deepest = 0;
  bool inString = false, escaped = false;
  for (const char c : text) {
    if (inString) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

/// A non-negative decimal integer that fits 63 bits, digits only: no sign, space, hex or exponent.
std::optional<std::int64_t> digits(std::string_view text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;  // past INT64_MAX
  return v;
}

/// An email address as this service stores it: ASCII (an internationalized domain in its xn--
/// form), one '@', a local part of at most 64 characters and a domain of dot-separated labels.
/// Comparing Unicode addresses would need case folding and normalization (ICU), which this example
/// does not carry: it refuses them rather than let two spellings of one address both register.
std::optional<std::string> emailProblem(std::string_view email) {
  if (email.size() > 254) return "must be at most 254 characters";
  const auto at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos)
    return "must be an address with one @, like ann@example.com";
  const std::string_view local = email.substr(0, at), domain = email.substr(at + 1);
  constexpr std::string_view localSpecials = "!#$%&'*+/=?^_`{|}~.-";
  for (const char c : email)
    if (static_cast<unsigned char>(c) >= 0x80) return "must be ASCII (write an internationalized domain in its xn-- form)";
  if (local.empty() || local.size() > 64 || local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return "must have a local part (before the @) of 1 to 64 characters, without leading, trailing or double dots";
  for (const char c : local)
    if (!std::isalnum(static_cast<unsigned char>(c)) && localSpecials.find(c) == std::string_view::npos)
      return "has a character an address cannot hold before the @";
  std::size_t dots = 0;
  for (std::string_view rest = domain;; ++dots) {
    const auto dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return "must have a domain like example.com after the @";
    for (const char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return "must have a domain like example.com after the @";
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  if (dots == 0) return "must have a domain like example.com after the @";
  return std::nullopt;
}

std::optional<std::string> valueProblem(const Field& field, const Json& value) {
  if (!value.is_string()) return std::string("must be a string, got ") + value.type_name();
  const auto& text = value.get_ref<const std::string&>();
  if (field.kind == Field::Email) return emailProblem(text);
  const TextShape shape = shapeOf(text, field.kind == Field::Text ? "\n\r\t" : "");
  if (shape.badControl)
    return field.kind == Field::Text ? "must not hold control characters other than line breaks and tabs"
                                     : "must not hold control characters";
  if (field.required && text.find_first_not_of(" \t\n\r") == std::string::npos) return "must not be empty";
  if (shape.characters > field.maxCharacters) return "must be at most " + std::to_string(field.maxCharacters) + " characters";
  return std::nullopt;
}

/// The request's JSON object, checked against what the route accepts; every problem found is
/// reported at once (422). `creating`: required fields must be present.
Json payload(const httplib::Request& req, std::span<const Field> fields, std::span<const std::string_view> readOnly, std::string_view what,
             bool creating) {
  const std::string type = req.get_header_value("Content-Type");
  if (type.substr(0, type.find(';')) != "application/json")
    throw BadRequest("send the body as JSON with the header Content-Type: application/json", 415);
  if (nesting(req.body) > maxNesting) throw BadRequest("the body is nested more than " + std::to_string(maxNesting) + " levels deep");
  Json body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) throw BadRequest("the body is not JSON (UTF-8)");
  if (!body.is_object()) throw Invalid({{"", std::string("expected a JSON object, got ") + body.type_name()}});
  std::vector<Problem> problems;
  for (const auto& item : body.items()) {
    const std::string& key = item.key();  // a named variable: clang 14 cannot capture structured bindings
    const Json& value = item.value();
    const auto field = std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.name == key; });
    if (field != fields.end()) {
      if (auto problem = valueProblem(*field, value)) problems.push_back({key, std::move(*problem)});
    } else if (std::find(readOnly.begin(), readOnly.end(), key) != readOnly.end()) {
      problems.push_back({key, "is set by the server and cannot be written"});
    } else {
      problems.push_back({key, "is not a field of " + std::string(what)});
    }
  }
  if (creating)
    for (const Field& f : fields)
      if (f.required && !body.contains(f.name)) problems.push_back({std::string(f.name), "is required"});
  if (!problems.empty()) throw Invalid(std::move(problems));
  return body;
}

/// A non-negative decimal integer that fits 63 bits, digits only: no sign, space, hex or exponent.

/// A query parameter that is an integer from `low` to `high`, or `fallback` when absent.
std::int64_t intParam(const httplib::Request& req, const char* name, std::int64_t fallback, std::int64_t low, std::int64_t high) {
  if (!req.has_param(name)) return fallback;
  const auto v = digits(req.get_param_value(name));
  if (!v || *v < low || *v > high)
    throw BadRequest(std::string("the query parameter ") + name + " must be a whole number from " + std::to_string(low) + " to " +
                     std::to_string(high));
  return *v;
}

/// The id in the path (the route's regex admits only digits): one no row can have is not found.
std::int64_t pathId(const httplib::Request& req) {
  const auto v = digits(req.matches[1].str());
  if (!v || *v < 1) throw kith::NotFound("no row has an id of 0 or past 64 bits");
  return *v;
}

std::int64_t pageParam(const httplib::Request& req) { return intParam(req, "page", 1, 1, std::numeric_limits<std::int64_t>::max()); }
std::int64_t perPageParam(const httplib::Request& req) { return intParam(req, "perPage", 20, 1, maxPerPage); }

void reply(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}
void error(httplib::Response& res, int status, const std::string& message, Json details) {
  Json body{{"error", message}};
  if (!details.is_null()) body["details"] = std::move(details);
  reply(res, status, body);
}

/// What went wrong, for the server's log only: never sent to the client.
void log(const httplib::Request& req, const char* kind, const std::exception& e) {
  std::fprintf(stderr, "%s %s: %s: %s\n", req.method.c_str(), req.path.c_str(), kind, e.what());
}

/// 503 with Retry-After: the database busy or unreachable, or no connection free in time.
void unavailable(const httplib::Request& req, httplib::Response& res, const std::exception& e, const char* kind, const char* retryAfter) {
  log(req, kind, e);
  res.set_header("Retry-After", retryAfter);
  error(res, 503, "the service is unavailable for a moment; try again");
}

void answerInJson(httplib::Server& server) {
  // httplib's own answers (no route, a malformed request, a body or URI too long) get the same
  // JSON shape as the service's; the answers above already have a body and are left as they are.
  server.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    switch (res.status) {
      case 404:
        error(res, 404, "no such route");
        break;
      case 413:
        error(res, 413, "the body is larger than " + std::to_string(maxBodyBytes) + " bytes");
        break;
      case 414:
        error(res, 414, "the URI is too long");
        break;
      default:
        error(res, res.status, res.status < 500 ? "the request could not be read" : "the server failed to answer this request");
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr thrown) {
    try {
      std::rethrow_exception(thrown);
    } catch (const std::exception& e) {
      log(req, "failed outside a route", e);
    } catch (...) {
      std::fprintf(stderr, "%s %s: failed outside a route\n", req.method.c_str(), req.path.c_str());
    }
    error(res, 500, "the server failed to answer this request");
  });
  server.set_payload_max_length(maxBodyBytes);
}

}  // namespace api
