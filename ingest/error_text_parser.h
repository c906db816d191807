// Apache and nginx text error logs: the time and level of each line, and the site where nginx
// names it (host: "..." or server: ...). Apache error logs name no vhost: the input's default
// site applies (one error log per vhost is the usual layout).
//   Apache 2.4: [Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 1:tid 2] [client ...] msg
//   Apache 2.2: [Wed Oct 11 14:32:52 2000] [error] [client 1.2.3.4] msg
//   nginx:      2024/01/15 10:20:30 [error] 1234#0: *5 msg, client: 1.2.3.4, server: a.com, ...
#pragma once

#include "core/record.h"
#include "ingest/format.h"

namespace sitepulse {

class ErrorTextParser {
 public:
  explicit ErrorTextParser(const FormatSpec& format) : format_(format) {}
  RejectReason Parse(const char* line, size_t len, ParsedRecord* out) const;

 private:
  RejectReason ParseApache(std::string_view s, ParsedRecord* out) const;
  RejectReason ParseNginx(std::string_view s, ParsedRecord* out) const;
  FormatSpec format_;
};

}  // namespace sitepulse
