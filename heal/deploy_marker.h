// A deploy marker: {"site","version","previous_version","at"} (at: RFC 3339), one JSON line per
// deploy, from a file, stdin or a topic. `when: {deploy_within}` rules and the rollback
// placeholders ({deploy.previous_version}) read them.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "heal/ledger.h"

namespace sitepulse {

// Strict: every field present and a string, `at` a valid RFC 3339 time.
absl::StatusOr<LedgerDeploy> DeployFromJson(std::string_view line);

}  // namespace sitepulse
