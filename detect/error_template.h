// Error-message templates: the text of an error-log message with its variable parts masked, so
// that "upstream timed out (110: ...) ... 10.0.0.7:8080" and the same failure at another
// address are one template, and a failure never seen before is a new one. The new_error_template
// detector (window_engine.h) flags the first appearance of a template per site.
//
// Masking, token by token (a token is a run of bytes between spaces and the delimiters
// , ; : ( ) [ ] { } < > = |):
//   - a quoted string ("..." or a '...' that starts a token) becomes "<*>" / '<*>';
//   - a token with a digit, a slash or a backslash (numbers, addresses, ports, ids, paths,
//     URLs, hex) becomes <*>, except an error code: 1 to 5 capital letters then digits
//     (AH01071, E11000), which names the failure and is kept;
//   - a token longer than 40 bytes becomes <*>;
//   - runs of spaces and tabs become one space.
// Only the first kMaxMessageBytes of a message count. Threading: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sitepulse {

inline constexpr size_t kMaxMessageBytes = 1024;
// Templates longer than this are cut (with "...") for events; the hash covers all of it.
inline constexpr size_t kMaxTemplateTextBytes = 240;

// Writes the masked template of `message` to `out` (replacing its contents; at most
// kMaxMessageBytes + a little) and returns its 64-bit hash (never 0). An empty or blank
// message has template "" and hash 0.
uint64_t MaskErrorTemplate(std::string_view message, std::string* out);

// `text` cut to kMaxTemplateTextBytes on a UTF-8 character boundary, "..." appended when cut.
std::string ShortTemplateText(std::string_view text);

}  // namespace sitepulse
