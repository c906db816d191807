// The command line: `sitepulse run|check|version|help`. Flags are read here and in main() only;
// everything below receives option structs.
#pragma once

#include <string>
#include <vector>

namespace sitepulse {

// Runs the CLI; returns the process exit code (0 ok, 1 failure, 2 usage error).
int RunCli(const std::vector<std::string>& args);

}  // namespace sitepulse
