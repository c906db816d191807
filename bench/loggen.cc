// loggen: deterministic, realistic multi-site web logs with injected incidents and a ground-truth
// file. Used by `make demo`, the golden and detection tests, and the end-to-end benchmark.
//
//   loggen --format nginx|caddy|envoy|ecs|combined --out FILE [--error-out FILE]
//          [--error-format error_text|json_error|caddy_error] [--sites N] [--rps R] [--duration D]
//          [--start RFC3339] [--seed S] [--bad-lines FRACTION] [--truth FILE]
//          [--incident KIND,SITE,AT,DURATION]...
//   KIND: latency (x8 latency), errors (25% 5xx), burn (4% 5xx: a slow error-budget burn, under
//   a 5% static threshold), drop (10% of traffic), error_spike (error-log lines at 40/s),
//   new_error (error-log lines, 1/s, with a message never written before: a new failure), blip
//   (a decoy: x10 latency for the given duration, meant to be < 1 minute).
//   --base-5xx P: the 5xx share outside incidents (default 0.002).
//   --latency-sigma S: request latencies are lognormal, median 40 ms, with this sigma (default
//     0.5; 1.0 is a heavy tail: one request in seven above three times the median).
//   --error-rps R: error-log lines per second and site outside incidents (default 0.05).
//   --live: write each second of traffic when the wall clock has passed it (timestamps are now;
//   --start is ignored), flushing per second: a live stream for `sitepulse run --input -`.
//   --slow-if PATH: while PATH's first word is "slow", site 0 answers 8x slower (a bad deploy in
//   the closed-loop demo; a rollback writes something else).
//   --rotate-sites D: each site slot takes a new name every D (staggered across slots, so names
//   leave and arrive all the time): a population that churns, for soak tests.
//   SITE is a site index (0-based), AT an offset from --start (e.g. 20m), DURATION e.g. 10m.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <ctime>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/time.h"

namespace sitepulse {
namespace {

struct Incident {
  std::string kind;
  int site = 0;
  EventTime start = 0, end = 0;
};

struct Options {
  std::string format = "nginx", out, error_out, error_format = "error_text", truth;
  int sites = 3;
  double rps = 20;
  DurationNs duration = 3600 * kNanosPerSecond;
  EventTime start = 1735689600LL * kNanosPerSecond;  // 2025-01-01T00:00:00Z
  uint64_t seed = 42;
  double bad_lines = 0;
  double base_5xx = 0.002;
  double latency_sigma = 0.5;
  double error_rps = 0.05;  // error-log lines per second and site outside incidents
  bool live = false;
  DurationNs rotate = 0;  // --rotate-sites
  std::string slow_if;
  std::vector<Incident> incidents;
};

bool FileSaysSlow(const std::string& path) {
  if (path.empty()) return false;
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return false;
  char word[16] = {0};
  const bool slow = std::fscanf(f, "%15s", word) == 1 && std::strcmp(word, "slow") == 0;
  std::fclose(f);
  return slow;
}

int64_t WallNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "loggen: %s\n", msg.c_str());
  std::exit(2);
}

DurationNs Dur(const std::string& s) {
  auto d = ParseDuration(s);
  if (!d.ok()) Die("bad duration '" + s + "'");
  return *d;
}

std::string SiteName(int i) {
  static const char* kNames[] = {"shop", "api", "auth", "search", "media", "blog", "docs", "cdn"};
  char buf[64];
  if (i < 8) {
    std::snprintf(buf, sizeof(buf), "%s.example.com", kNames[i]);
  } else {
    std::snprintf(buf, sizeof(buf), "site-%05d.example.com", i);
  }
  return buf;
}

// Time formats.
void TimeLocal(EventTime t, char* buf, size_t n) {
  std::string iso = FormatRfc3339(t - t % kNanosPerSecond);  // 2025-01-01T00:00:00Z
  static const char* kMon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int mon = std::atoi(iso.substr(5, 2).c_str());
  std::snprintf(buf, n, "%s/%s/%s:%s +0000", iso.substr(8, 2).c_str(), kMon[mon - 1],
                iso.substr(0, 4).c_str(), iso.substr(11, 8).c_str());
}

struct Request {
  EventTime t;
  int site;
  int status;
  double latency;
  uint64_t bytes;
  int path;
};

const char* kPaths[] = {"/", "/cart", "/api/v1/items?id=42", "/login", "/static/app.js",
                        "/search?q=shoes", "/checkout", "/img/logo.png"};
const char* kAgents[] = {
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "curl/8.5.0", "Googlebot/2.1 (+http://www.google.com/bot.html)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"};

// Epoch seconds as Go's zap writes Caddy's ts: the shortest float that reads back the same
// ("1735689600.0000737", 16 to 19 digits).
std::string GoEpochSeconds(EventTime t) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof(buf), static_cast<double>(t) / 1e9);
  return std::string(buf, res.ptr);
}

// Caddy's access log (http.log.access) as Caddy 2.7 writes it: ts as Go's shortest float, the
// request nested with its headers as arrays (which headers depends on the client, so lines
// come in a few shapes), TLS details, and response headers with Alt-Svc's escaped quotes.
void WriteCaddyAccess(FILE* f, const Request& r, const std::string& site, const char* agent,
                      unsigned ip) {
  const std::string ts = GoEpochSeconds(r.t);
  std::string headers = std::string("\"User-Agent\":[\"") + agent + "\"]";
  if (std::strncmp(agent, "curl", 4) == 0) {
    headers += ",\"Accept\":[\"*/*\"]";
  } else if (std::strncmp(agent, "Googlebot", 9) == 0) {
    headers += ",\"Accept\":[\"*/*\"],\"Accept-Encoding\":[\"gzip, deflate, br\"],"
               "\"From\":[\"googlebot(at)googlebot.com\"]";
  } else {
    headers += ",\"Accept\":[\"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\"],"
               "\"Accept-Encoding\":[\"gzip, deflate, br\"],\"Accept-Language\":[\"en-US,en;q=0.9\"]";
  }
  static const char* kTypes[] = {"text/html; charset=utf-8", "text/html; charset=utf-8",
                                 "application/json", "text/html; charset=utf-8",
                                 "text/javascript; charset=utf-8", "text/html; charset=utf-8",
                                 "text/html; charset=utf-8", "image/png"};
  std::fprintf(f,
               "{\"level\":\"%s\",\"ts\":%s,\"logger\":\"http.log.access.log0\",\"msg\":\"handled "
               "request\",\"request\":{\"remote_ip\":\"10.0.%u.%u\",\"remote_port\":\"%u\","
               "\"client_ip\":\"10.0.%u.%u\",\"proto\":\"HTTP/2.0\",\"method\":\"GET\","
               "\"host\":\"%s\",\"uri\":\"%s\",\"headers\":{%s},\"tls\":{\"resumed\":false,"
               "\"version\":772,\"cipher_suite\":4865,\"proto\":\"h2\",\"server_name\":\"%s\"}},"
               "\"bytes_read\":0,\"user_id\":\"\",\"duration\":%.9g,\"size\":%llu,\"status\":%d,"
               "\"resp_headers\":{\"Server\":[\"Caddy\"],\"Alt-Svc\":[\"h3=\\\":443\\\"; "
               "ma=2592000\"],\"Content-Type\":[\"%s\"]}}\n",
               r.status >= 500 ? "error" : "info", ts.c_str(), (ip >> 8) & 255, ip & 255,
               1024 + (ip >> 16) % 60000, (ip >> 8) & 255, ip & 255, site.c_str(), kPaths[r.path],
               headers.c_str(), site.c_str(), r.latency, static_cast<unsigned long long>(r.bytes),
               r.status, kTypes[r.path]);
}

void WriteAccess(FILE* f, const std::string& format, const Request& r, const std::string& site,
                 std::mt19937_64& rng) {
  char tbuf[64];
  const std::string iso = FormatRfc3339(r.t);
  const char* path = kPaths[r.path];
  const char* agent = kAgents[rng() % 4];
  const unsigned ip = static_cast<unsigned>(rng());
  if (format == "nginx") {
    std::fprintf(f,
                 "{\"time_iso8601\":\"%s\",\"remote_addr\":\"10.%u.%u.%u\",\"host\":\"%s\","
                 "\"request\":\"GET %s HTTP/1.1\",\"status\":\"%d\",\"body_bytes_sent\":\"%llu\","
                 "\"request_time\":\"%.3f\",\"http_user_agent\":\"%s\"}\n",
                 iso.c_str(), ip >> 24, (ip >> 16) & 255, ip & 255, site.c_str(), path, r.status,
                 static_cast<unsigned long long>(r.bytes), r.latency, agent);
  } else if (format == "caddy") {
    WriteCaddyAccess(f, r, site, agent, ip);
  } else if (format == "envoy") {
    std::fprintf(f,
                 "{\"start_time\":\"%s\",\"method\":\"GET\",\"path\":\"%s\",\"protocol\":\"HTTP/1.1\","
                 "\"response_code\":%d,\"response_flags\":\"-\",\"bytes_received\":0,\"bytes_sent\":%llu,"
                 "\"duration\":%lld,\"upstream_service_time\":\"%lld\",\"x_forwarded_for\":null,"
                 "\"user_agent\":\"%s\",\"request_id\":\"%016llx\",\"authority\":\"%s\"}\n",
                 iso.c_str(), path, r.status, static_cast<unsigned long long>(r.bytes),
                 static_cast<long long>(std::llround(r.latency * 1e3)),
                 static_cast<long long>(std::llround(r.latency * 1e3)), agent,
                 static_cast<unsigned long long>(rng()), site.c_str());
  } else if (format == "ecs") {
    std::fprintf(f,
                 "{\"@timestamp\":\"%s\",\"ecs\":{\"version\":\"8.11.0\"},\"log\":{\"file\":"
                 "{\"path\":\"/var/log/nginx/access.log\"}},\"agent\":{\"type\":\"filebeat\","
                 "\"version\":\"8.11.0\"},\"event\":{\"dataset\":\"nginx.access\",\"category\":"
                 "[\"web\"],\"duration\":%lld},\"source\":{\"ip\":\"10.%u.%u.%u\"},\"url\":"
                 "{\"domain\":\"%s\",\"path\":\"%s\"},\"http\":{\"version\":\"1.1\",\"request\":"
                 "{\"method\":\"GET\"},\"response\":{\"status_code\":%d,\"body\":{\"bytes\":%llu}}},"
                 "\"user_agent\":{\"original\":\"%s\"}}\n",
                 iso.c_str(), static_cast<long long>(std::llround(r.latency * 1e9)), ip >> 24,
                 (ip >> 16) & 255, ip & 255, site.c_str(), path, r.status,
                 static_cast<unsigned long long>(r.bytes), agent);
  } else {  // combined, with a leading vhost and a trailing request time
    TimeLocal(r.t, tbuf, sizeof(tbuf));
    std::fprintf(f, "%s:443 10.%u.%u.%u - - [%s] \"GET %s HTTP/1.1\" %d %llu \"-\" \"%s\" %.3f\n",
                 site.c_str(), ip >> 24, (ip >> 16) & 255, ip & 255, tbuf, path, r.status,
                 static_cast<unsigned long long>(r.bytes), agent, r.latency);
  }
}

// Caddy's own error log (logger http.log.error): the failed request nested, ts in epoch seconds.
void WriteCaddyError(FILE* f, EventTime t, const std::string& site, const char* level,
                     const std::string& msg, std::mt19937_64& rng) {
  const std::string ts = GoEpochSeconds(t);
  std::fprintf(f,
               "{\"level\":\"%s\",\"ts\":%s,\"logger\":\"http.log.error\",\"msg\":\"%s\","
               "\"request\":{\"remote_ip\":\"10.1.2.3\",\"remote_port\":\"%llu\",\"proto\":\"HTTP/2.0\","
               "\"method\":\"GET\",\"host\":\"%s\",\"uri\":\"/api\",\"headers\":{\"User-Agent\":"
               "[\"Mozilla/5.0\"]}},\"duration\":0.%03llu,\"status\":502,\"err_id\":\"%08llx\"}\n",
               level, ts.c_str(), msg.c_str(),
               static_cast<unsigned long long>(1024 + rng() % 60000), site.c_str(),
               static_cast<unsigned long long>(rng() % 1000),
               static_cast<unsigned long long>(rng() & 0xffffffffu));
}

void WriteError(FILE* f, const std::string& format, EventTime t, const std::string& site,
                const char* level, bool novel, std::mt19937_64& rng) {
  if (format == "caddy_error") {
    char msg[128];
    if (novel) {
      std::snprintf(msg, sizeof(msg), "dial tcp 10.0.%u.%u:8080: connect: connection refused",
                    static_cast<unsigned>(rng() % 250), static_cast<unsigned>(rng() % 250));
    } else {
      std::snprintf(msg, sizeof(msg), "reverseproxy: upstream timed out after %llu ms",
                    static_cast<unsigned long long>(rng() % 5000));
    }
    WriteCaddyError(f, t, site, level, msg, rng);
    return;
  }
  if (novel) {  // a failure the site never logged before: its upstream refuses connections
    const unsigned a = static_cast<unsigned>(rng() % 250), b = static_cast<unsigned>(rng() % 250);
    if (format == "json_error") {
      std::fprintf(f,
                   "{\"time\":\"%s\",\"level\":\"%s\",\"site\":\"%s\",\"msg\":\"connect() to "
                   "10.0.%u.%u:8080 failed (111: Connection refused)\"}\n",
                   FormatRfc3339(t).c_str(), level, site.c_str(), a, b);
      return;
    }
    std::string iso = FormatRfc3339(t - t % kNanosPerSecond);
    std::fprintf(f,
                 "%s/%s/%s %s [%s] 1234#0: *%llu connect() failed (111: Connection refused) while "
                 "connecting to upstream, client: 10.1.2.3, server: %s, request: \"GET /api "
                 "HTTP/1.1\", upstream: \"http://10.0.%u.%u:8080/api\", host: \"%s\"\n",
                 iso.substr(0, 4).c_str(), iso.substr(5, 2).c_str(), iso.substr(8, 2).c_str(),
                 iso.substr(11, 8).c_str(), level, static_cast<unsigned long long>(rng() % 100000),
                 site.c_str(), a, b, site.c_str());
    return;
  }
  if (format == "json_error") {
    std::fprintf(f,
                 "{\"time\":\"%s\",\"level\":\"%s\",\"site\":\"%s\",\"msg\":\"upstream timed out "
                 "after %llu ms\"}\n",
                 FormatRfc3339(t).c_str(), level, site.c_str(),
                 static_cast<unsigned long long>(rng() % 5000));
    return;
  }
  std::string iso = FormatRfc3339(t - t % kNanosPerSecond);
  std::fprintf(f,
               "%s/%s/%s %s [%s] 1234#0: *%llu upstream timed out (110: Connection timed out), "
               "client: 10.1.2.3, server: %s, request: \"GET /api HTTP/1.1\", host: \"%s\"\n",
               iso.substr(0, 4).c_str(), iso.substr(5, 2).c_str(), iso.substr(8, 2).c_str(),
               iso.substr(11, 8).c_str(), level, static_cast<unsigned long long>(rng() % 100000),
               site.c_str(), site.c_str());
}

const char* kBadLines[] = {
    "{\"time_iso8601\":\"2025-01-01T00:00:00Z\",\"host\":\"shop.example.com\",\"status\":",
    "\x01\x02\xff\xfe garbage \x80\x81",
    "",
    "{\"host\":\"shop.example.com\",\"status\":\"abc\"}",
    "not a log line at all",
};

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--format") o.format = next();
    else if (a == "--out") o.out = next();
    else if (a == "--error-out") o.error_out = next();
    else if (a == "--error-rps") o.error_rps = std::atof(next().c_str());
    else if (a == "--error-format") o.error_format = next();
    else if (a == "--truth") o.truth = next();
    else if (a == "--sites") o.sites = std::atoi(next().c_str());
    else if (a == "--rps") o.rps = std::atof(next().c_str());
    else if (a == "--duration") o.duration = Dur(next());
    else if (a == "--seed") o.seed = std::strtoull(next().c_str(), nullptr, 10);
    else if (a == "--bad-lines") o.bad_lines = std::atof(next().c_str());
    else if (a == "--start") {
      if (!ParseRfc3339(next(), &o.start)) Die("bad --start");
    } else if (a == "--live") {
      o.live = true;
    } else if (a == "--rotate-sites") {
      o.rotate = Dur(next());
    } else if (a == "--slow-if") {
      o.slow_if = next();
    } else if (a == "--base-5xx") {
      o.base_5xx = std::atof(next().c_str());
    } else if (a == "--latency-sigma") {
      o.latency_sigma = std::atof(next().c_str());
    } else if (a == "--incident") {
      std::string spec = next();
      char kind[32], at[32], dur[32];
      int site;
      if (std::sscanf(spec.c_str(), "%31[^,],%d,%31[^,],%31s", kind, &site, at, dur) != 4) {
        Die("bad --incident '" + spec + "' (KIND,SITE,AT,DURATION)");
      }
      Incident in{kind, site, 0, 0};
      in.start = o.start + Dur(at);
      in.end = in.start + Dur(dur);
      o.incidents.push_back(in);
    } else {
      Die("unknown argument " + a);
    }
  }
  if (o.out.empty()) Die("--out is required");
  const std::vector<std::string> formats = {"nginx", "caddy", "envoy", "ecs", "combined"};
  if (std::find(formats.begin(), formats.end(), o.format) == formats.end()) Die("bad --format");
  FILE* out = o.out == "-" ? stdout : std::fopen(o.out.c_str(), "w");
  if (out == nullptr) Die("cannot open " + o.out);
  std::setvbuf(out, nullptr, _IOFBF, 1 << 20);
  FILE* err = o.error_out.empty() ? nullptr : std::fopen(o.error_out.c_str(), "w");

  if (o.live) o.start = WallNs() / kNanosPerSecond * kNanosPerSecond;
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> uni(0, 1);
  std::normal_distribution<double> normal(0, 1);
  std::vector<std::string> names;
  for (int s = 0; s < o.sites; ++s) names.push_back(SiteName(s));
  auto active = [&](const char* kind, int site, EventTime t) {
    for (const Incident& in : o.incidents) {
      if (in.kind == kind && in.site == site && t >= in.start && t < in.end) return true;
    }
    return false;
  };

  std::vector<Request> second;
  struct ErrLine {
    EventTime t;
    int site;
    const char* level;
    bool novel;
  };
  std::vector<ErrLine> errs;
  const int64_t seconds = o.duration / kNanosPerSecond;
  for (int64_t sec = 0; sec < seconds; ++sec) {
    const EventTime t0 = o.start + sec * kNanosPerSecond;
    if (o.live) {  // this second is written once it is over
      const int64_t wait = t0 + kNanosPerSecond - WallNs();
      if (wait > 0) {
        timespec ts{static_cast<time_t>(wait / kNanosPerSecond), static_cast<long>(wait % kNanosPerSecond)};
        nanosleep(&ts, nullptr);
      }
    }
    const bool slow_now = FileSaysSlow(o.slow_if);
    if (o.rotate > 0) {
      // Slot s takes name s + sites x generation; generations turn over staggered by slot.
      const int64_t period = std::max<int64_t>(1, o.rotate / kNanosPerSecond);
      for (int s = 0; s < o.sites; ++s) {
        const int64_t gen = (sec + s * period / o.sites) / period;
        names[static_cast<size_t>(s)] = SiteName(static_cast<int>(s + o.sites * gen));
      }
    }
    second.clear();
    errs.clear();
    for (int s = 0; s < o.sites; ++s) {
      // Sites differ in volume; a gentle daily-ish wave keeps rates from being flat.
      double rate = o.rps * (1.0 + 0.5 * (s % 3)) *
                    (1.0 + 0.1 * std::sin(2 * M_PI * static_cast<double>(sec) / 3600.0));
      if (active("drop", s, t0)) rate *= 0.1;
      std::poisson_distribution<int> pois(rate);
      const int n = pois(rng);
      for (int k = 0; k < n; ++k) {
        Request r;
        r.t = t0 + static_cast<EventTime>(uni(rng) * 1e9);
        r.site = s;
        double lat = 0.04 * std::exp(o.latency_sigma * normal(rng));
        if (active("latency", s, r.t) || (s == 0 && slow_now)) lat *= 8;
        if (active("blip", s, r.t)) lat *= 10;
        r.latency = std::min(lat, 60.0);
        const double u = uni(rng);
        const double p5xx = active("errors", s, r.t) ? 0.25 : active("burn", s, r.t) ? 0.04 : o.base_5xx;
        r.status = u < p5xx ? 502 + static_cast<int>(rng() % 2) : u < p5xx + 0.02 ? 404 : 200;
        r.bytes = r.status == 200 ? 500 + rng() % 50000 : 150;
        r.path = static_cast<int>(rng() % 8);
        second.push_back(r);
      }
      if (err != nullptr) {
        const double erate = active("error_spike", s, t0) ? 40 : o.error_rps;
        std::poisson_distribution<int> epois(erate);
        const int ne = epois(rng);
        for (int k = 0; k < ne; ++k) {
          errs.push_back({t0 + static_cast<EventTime>(uni(rng) * 1e9), s,
                          uni(rng) < 0.7 ? "error" : "warn", false});
        }
        if (active("new_error", s, t0)) {
          errs.push_back({t0 + static_cast<EventTime>(uni(rng) * 1e9), s, "error", true});
        }
      }
    }
    std::sort(second.begin(), second.end(),
              [](const Request& a, const Request& b) { return a.t < b.t; });
    for (const Request& r : second) {
      if (o.bad_lines > 0 && uni(rng) < o.bad_lines) {
        std::fprintf(out, "%s\n", kBadLines[rng() % 5]);
      }
      WriteAccess(out, o.format, r, names[static_cast<size_t>(r.site)], rng);
    }
    std::sort(errs.begin(), errs.end(),
              [](const ErrLine& a, const ErrLine& b) { return a.t < b.t; });
    for (const ErrLine& e : errs) {
      WriteError(err, o.error_format, e.t, names[static_cast<size_t>(e.site)], e.level, e.novel,
                 rng);
    }
    if (o.live && (std::fflush(out) != 0 || std::ferror(out))) break;  // the reader went away
  }
  if (out != stdout) std::fclose(out);
  if (err != nullptr) std::fclose(err);
  if (!o.truth.empty()) {
    FILE* tf = std::fopen(o.truth.c_str(), "w");
    if (tf == nullptr) Die("cannot open " + o.truth);
    for (const Incident& in : o.incidents) {
      std::fprintf(tf, "{\"kind\":\"%s\",\"site\":\"%s\",\"start\":\"%s\",\"end\":\"%s\",\"decoy\":%s}\n",
                   in.kind.c_str(), names[static_cast<size_t>(in.site)].c_str(),
                   FormatRfc3339(in.start).c_str(), FormatRfc3339(in.end).c_str(),
                   in.kind == "blip" ? "true" : "false");
    }
    std::fclose(tf);
  }
  return 0;
}

}  // namespace
}  // namespace sitepulse

int main(int argc, char** argv) { return sitepulse::Main(argc, argv); }
